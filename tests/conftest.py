"""Shared fixtures and helpers of the tests (the built site is ``built_site`` in tests/site_build.py)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest

from site_tools.env import DOCS, ROOT, offline_env  # noqa: F401  (DOCS and ROOT: for the test modules)

#: The libraries whose log handler is made once, on first import, around whatever ``sys.stderr``
#: is at that moment.
_LIBRARY_LOGGERS = ("diffusers", "transformers")


@pytest.fixture(autouse=True)
def _library_log_handlers_outlive_capture():
    """diffusers and transformers make their stderr handler once, on first import, around the
    ``sys.stderr`` of that moment (and its ``flush``). When that first import happens inside a
    test that captures stderr (``capsys``), the handler keeps the capture's stream, which pytest
    closes after the test; every later library warning in that process then printed "--- Logging
    error --- Traceback" instead, and a test that checks stderr has no traceback failed, or not,
    depending on which test imported the library first. After each test, a handler left with a
    closed stream is given the current ``sys.stderr`` back."""
    yield
    for name in _LIBRARY_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.__dict__.pop("flush", None)  # the library bound flush to the old stream
                handler.stream = sys.stderr


@pytest.fixture(scope="session")
def run_folder(request) -> Path:
    """A temporary folder of this test run that every pytest-xdist worker of the run shares:
    heavy set-up made by one worker is saved there for the others (pytest keeps the last few runs)."""
    from tests.site_build import shared_folder

    return shared_folder(request.config) / "shared"


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
