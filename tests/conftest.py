"""Shared fixtures: the strictly built site, and the docs folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class BuiltSite:
    path: Path
    log: str
    returncode: int


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> BuiltSite:
    """``mkdocs build --strict`` once per test session, into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return BuiltSite(path=out, log=proc.stdout + proc.stderr, returncode=proc.returncode)


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
