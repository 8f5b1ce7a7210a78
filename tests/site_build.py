"""The strict site build of a test run: started in the background as soon as the run is
collected, so the tests that need the built site find it ready instead of waiting for it.

``mkdocs build --strict`` takes about 30 s on a fresh clone, alone (it renders every figure). Run
inside the first test that asks for it, it stalls that worker and, under pytest-xdist, the
other worker too, since both ask for the site at about the same time. Started at the end of
collection (``start``), it runs beside the unit tests, which ``tests/scheduling.py`` orders
first, and ``wait`` returns its result.

One build per run: the first process to get the lock in the run's shared folder starts it;
the others find its marker. The child writes its result (``built-site.json``) atomically
when it ends, so a reader never sees half of it.

    python -m tests.site_build OUT RECORD    # the child: build into OUT, write RECORD
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from site_tools.env import ROOT, offline_env

#: Far longer than any build here (30 s alone on a fresh clone, up to a minute beside the tests).
TIMEOUT_S = 600


@dataclass(frozen=True)
class BuiltSite:
    path: Path
    log: str
    returncode: int


def _paths(shared: Path) -> tuple[Path, Path, Path]:
    return shared / "built-site", shared / "built-site.json", shared / "built-site.started"


def start(shared: Path) -> subprocess.Popen[bytes] | None:
    """Start the build in the background unless a process of this run already did; return
    the child when this call started it."""
    shared.mkdir(parents=True, exist_ok=True)
    out, record, started = _paths(shared)
    with (shared / "built-site.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if started.exists() or record.exists():
            return None
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.site_build", str(out), str(record)],
            cwd=ROOT, env=offline_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        started.write_text(str(child.pid), encoding="utf-8")
        return child


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait(shared: Path, timeout_s: float = TIMEOUT_S) -> BuiltSite:
    """The build's result, starting it first when nobody has (a run that selected only
    tests which need the site, or a plain ``pytest`` without the background start)."""
    out, record, started = _paths(shared)
    child = start(shared)
    pid = child.pid if child is not None else int(started.read_text(encoding="utf-8") or 0)
    deadline = time.monotonic() + timeout_s
    while not record.exists():
        ended = child.poll() is not None if child is not None else not _alive(pid)
        if ended and not record.exists():
            raise RuntimeError("the site build ended without writing its result")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the site build did not finish within {timeout_s} s")
        time.sleep(0.2)
    data = json.loads(record.read_text(encoding="utf-8"))
    return BuiltSite(path=out, log=data["log"], returncode=data["returncode"])


def build(out: Path, record: Path) -> int:
    """Run ``mkdocs build --strict`` into ``out`` and write its log and exit code to ``record``."""
    data = {"log": "the build was interrupted", "returncode": -1}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
            cwd=ROOT, env=offline_env(), capture_output=True, text=True, timeout=TIMEOUT_S,
        )
        data = {"log": proc.stdout + proc.stderr, "returncode": proc.returncode}
    except subprocess.TimeoutExpired as exc:
        data = {"log": f"timed out after {exc.timeout} s", "returncode": -1}
    finally:  # always a result, so no reader waits for one that never comes
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(record)
    return 0


# ----------------------------------------------------------------- the pytest plugin

_CHILD: list[subprocess.Popen[bytes]] = []


def shared_folder(config: pytest.Config) -> Path:
    """The run's temporary folder that every pytest-xdist worker of the run shares."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


def needs_site(item: pytest.Item) -> bool:
    """The test asks for ``built_site`` (directly or through another fixture)."""
    return "built_site" in getattr(item, "fixturenames", ())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the build as soon as the run is known to need it."""
    if session.config.option.collectonly:
        return
    if any(needs_site(item) for item in session.items):
        child = start(shared_folder(session.config))
        if child is not None:
            _CHILD.append(child)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Reap the build this process started (another worker may still be waiting for it)."""
    for child in _CHILD:
        try:
            child.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()


@pytest.fixture(scope="session")
def built_site(request: pytest.FixtureRequest) -> BuiltSite:
    """``mkdocs build --strict`` once per test run (started in the background; see above)."""
    return wait(shared_folder(request.config))


if __name__ == "__main__":
    sys.exit(build(Path(sys.argv[1]), Path(sys.argv[2])))
