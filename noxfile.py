"""Automation for medai-lessons: ``nox -l`` lists the sessions.

Every session installs the CPU build of PyTorch first, pinned by ``constraints.txt``,
so that no dependency can pull the multi-GB CUDA build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))
from site_tools.env import OFFLINE_ENV  # noqa: E402  (standard library only)

PYPROJECT = nox.project.load_toml("pyproject.toml")
CONSTRAINTS = ("-c", "constraints.txt")
OFFLINE = dict(OFFLINE_ENV)
#: How ``nox -s tests`` spreads the suite over two cores (tests/scheduling.py explains the groups).
XDIST = ("-n", "2")


def install(session: nox.Session, *groups: str, extras: str = "all") -> None:
    """CPU torch first, then the project with ``extras`` and the named dependency groups."""
    session.install(*CONSTRAINTS, "torch==2.13.0")
    deps = [dep for group in groups for dep in nox.project.dependency_groups(PYPROJECT, group)]
    session.install(*CONSTRAINTS, "-e", f".[{extras}]", *deps)


def browser_ready() -> bool:
    return Path("/usr/bin/chromium").exists()


def ensure_browser(session: nox.Session) -> None:
    """Install Debian's Chromium and CJK fonts with apt-get (never `playwright install`)."""
    if browser_ready():
        return
    session.run("bash", "scripts/install-browser.sh", external=True)


#: the dependency groups of the one environment that ``tests`` and ``typecheck`` share
SUITE_GROUPS = ("test", "docs", "browser", "notebooks", "typecheck")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole CPU suite: unit and property tests, every page pair's examples, the strict
    site build, and the browser tests (Chromium is installed when missing)."""
    install(session, *SUITE_GROUPS)
    if os.environ.get("MEDAI_SKIP_BROWSER") != "1":
        ensure_browser(session)
    # Both cores. A file's tests stay on one worker (module fixtures are built once; each page
    # of the browser's page checks is a group of its own), the longest groups go first, and
    # the strict site build runs once, in the background (tests/scheduling.py, tests/site_build.py).
    args = session.posargs or ["-m", "not gpu", "-q", *XDIST]
    session.run("pytest", *args, env=OFFLINE)


@nox.session
def contract(session: nox.Session) -> None:
    """The bad-input contract test with many examples per public callable, then the
    outcome counts in issue 10's categories (``nox -s contract -- 200`` for 200 examples)."""
    install(session, "test")
    examples = session.posargs[0] if session.posargs else "100"
    session.run("pytest", "tests/test_contract.py", "-q", "-n", "2",
                env=OFFLINE | {"MEDAI_CONTRACT_EXAMPLES": examples})
    session.run("python", "scripts/contract_report.py", "--examples", examples,
                "--out", "build/contract-report.json", env=OFFLINE)


@nox.session
def tail(session: nox.Session) -> None:
    """The two reliability reports, run by hand before a release (not in CI: about two minutes):
    issue 21's tail families (``scripts/tail_report.py``), then the bad-input contract's outcome
    counts (``scripts/contract_report.py``). Fails when a row that must show zero does not."""
    install(session, "test")
    session.run("python", "scripts/tail_report.py", "--out", "build/tail-report.json", env=OFFLINE)
    session.run("python", "scripts/contract_report.py", "--check", "--out", "build/contract-report.json", env=OFFLINE)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the bilingual site with ``--strict`` into ``site/``."""
    install(session, "docs")
    session.run("mkdocs", "build", "--strict", *session.posargs, env=OFFLINE)


@nox.session
def serve(session: nox.Session) -> None:
    """Build and serve the site at http://127.0.0.1:8000 with live reload.

    Not strict: a broken link is a warning in the log, and the preview keeps serving
    (``nox -s docs`` and the tests stay strict). Examples that fail get a banner on their page.
    Full rebuilds (edit to visible: ``benchmarks/results/serve.json``); ``nox -s serve -- --dirty``
    rebuilds only the changed page.
    """
    install(session, "docs")
    args = list(session.posargs)
    session.run(
        "mkdocs", "serve", "--dev-addr", "127.0.0.1:8000", "--livereload", "--no-strict", *args,
        env=OFFLINE | {"SITE_URL": "http://127.0.0.1:8000/"},
    )


@nox.session
def browser(session: nox.Session) -> None:
    """Only the browser tests (Playwright driving Debian's Chromium)."""
    install(session, "test", "docs", "browser")
    ensure_browser(session)
    session.run("pytest", "-m", "browser", *session.posargs, env=OFFLINE)


@nox.session
def gpu(session: nox.Session) -> None:
    """Tests that need CUDA; each skips with its reason where no device exists."""
    install(session, "test")
    session.run("pytest", "-m", "gpu", "-rs", *session.posargs, env=OFFLINE)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check over the package, tests, hooks, benchmarks and scripts."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run(
        "ruff", "check", "src", "tests", "hooks", "site_tools", "benchmarks", "scripts", "noxfile.py", "conftest.py"
    )


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy on the package (``src/``), in the ``tests`` session's environment.

    mypy needs every optional dependency installed for its types, which is exactly the test
    environment; one install serves both (a second one cost 1-3 minutes of README command 2).
    """
    python = ROOT / ".nox" / "tests" / "bin" / "python"
    ready = python.exists() and subprocess.run([python, "-c", "import mypy, medai_lessons"],
                                               capture_output=True).returncode == 0
    if not ready:  # made here by the tests session itself, which then reuses it
        session.run(sys.executable, "-m", "nox", "-s", "tests", "--install-only", external=True)
    session.run(str(python), "-m", "mypy", *(session.posargs or ["src"]), external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark and record results in ``benchmarks/results/``
    (``nox -s bench -- ddpm`` runs only the scripts whose name contains ``ddpm``)."""
    install(session, "test", "docs", "browser", "notebooks")  # bench_suite runs the tests
    ensure_browser(session)
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if session.posargs:
        scripts = [s for s in scripts if any(p in s.name for p in session.posargs)]
    for script in scripts:
        session.run("python", str(script.relative_to(ROOT)), env=OFFLINE)


@nox.session
def notebooks(session: nox.Session) -> None:
    """Build every lesson notebook from its page and run it top to bottom on the CPU (nbclient)."""
    install(session, "notebooks")
    session.run("python", "scripts/run_notebooks.py", *session.posargs, env=OFFLINE)


@nox.session
def figures(session: nox.Session) -> None:
    """Render every figure in both languages into ``build/figures/``."""
    install(session, extras="all")
    out = ROOT / "build" / "figures"
    if out.exists():
        shutil.rmtree(out)
    session.run(
        "python", "-c",
        "import sys, pathlib; from site_tools.figures import write_all; "
        "paths = write_all(pathlib.Path(sys.argv[1])); print(len(paths), 'files in', sys.argv[1])",
        str(out), env=OFFLINE,
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run this file with nox")
