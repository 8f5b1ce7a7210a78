"""Shared fixtures: the strictly built site, and the docs folder."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from site_tools.env import DOCS, ROOT, offline_env  # noqa: F401  (DOCS and ROOT: for the test modules)


@dataclass(frozen=True)
class BuiltSite:
    path: Path
    log: str
    returncode: int


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, worker_id) -> BuiltSite:
    """``mkdocs build --strict`` once per test run, into a temporary folder.

    Under pytest-xdist every worker asks for it; the first one builds under a file lock in
    the run's shared temporary folder and the others read its result, so the strict build
    runs once, not once per worker.
    """
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the folder all workers of this run share
    out, record = shared / "built-site", shared / "built-site.json"
    with (shared / "built-site.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.is_file():
            proc = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                cwd=ROOT, env=offline_env(), capture_output=True, text=True, timeout=600,
            )
            data = {"log": proc.stdout + proc.stderr, "returncode": proc.returncode}
            record.write_text(json.dumps(data), encoding="utf-8")
        data = json.loads(record.read_text(encoding="utf-8"))
    return BuiltSite(path=out, log=data["log"], returncode=data["returncode"])


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    """pytest-xdist's worker name (``gw0``...), or ``master`` without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "master")


def load_hook(name: str) -> ModuleType:
    """Import ``hooks/<name>.py`` the way MkDocs does (its folder on sys.path while it loads)."""
    path = ROOT / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    old = sys.path.copy()
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = old
    return module


def diffusers_ddpm_scheduler():
    """Lesson 2's reference: diffusers' DDPMScheduler with Ho et al.'s linear schedule, no clipping.

    A fresh instance each call, for tests that modify it; read-only tests use ``ddpm_reference``.
    """
    diffusers = pytest.importorskip("diffusers")
    return diffusers.DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        clip_sample=False,
    )


@pytest.fixture(scope="session")
def ddpm_reference():
    """One shared, unmodified :func:`diffusers_ddpm_scheduler`."""
    return diffusers_ddpm_scheduler()
