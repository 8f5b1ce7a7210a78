"""The wheel holds what a reader imports, and works once installed away from the repository.

One module fixture builds the wheel (``pip wheel --no-deps --no-build-isolation .``: hatchling
comes from the ``test`` dependency group, so nothing is downloaded) and installs it into a fresh
virtual environment; the tests share them (a few seconds in all).

The fresh environment has no pip and no packages of its own: a ``.pth`` file lends it this
environment's site-packages (torch, diffusers, ... ) without their ``.pth`` files, so the editable
install of the repository is not active there, and it runs isolated (``python -I``: no
``PYTHONPATH``, no current folder). ``medai_lessons.__file__`` proves which copy was imported.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

#: Every file the wheel may hold, and must hold: the lessons' modules and their shipped data.
#: A new module or data file is added here on purpose; site tooling (figures, notebooks,
#: glossary) never is.
ALLOWED = {
    "medai_lessons/__init__.py",
    "medai_lessons/_checks.py",
    "medai_lessons/_deprecation.py",
    "medai_lessons/_files.py",
    "medai_lessons/_tensor_checks.py",
    "medai_lessons/backprop.py",
    "medai_lessons/calculus.py",
    "medai_lessons/cli.py",
    "medai_lessons/data.py",
    "medai_lessons/gradient_descent.py",
    "medai_lessons/interrupts.py",
    "medai_lessons/limits.py",
    "medai_lessons/py.typed",
    "medai_lessons/diffusion/__init__.py",
    "medai_lessons/diffusion/_validate.py",
    "medai_lessons/diffusion/checkpoint.py",
    "medai_lessons/diffusion/cli.py",
    "medai_lessons/diffusion/data.py",
    "medai_lessons/diffusion/forward.py",
    "medai_lessons/diffusion/grid.py",
    "medai_lessons/diffusion/quality.py",
    "medai_lessons/diffusion/samplers.py",
    "medai_lessons/diffusion/schedule.py",
    "medai_lessons/diffusion/train.py",
    "medai_lessons/diffusion/unet.py",
    "medai_lessons/diffusion/data/digits-ddpm-history.json",
    "medai_lessons/diffusion/data/digits-ddpm.safetensors",
    "medai_lessons/stable_diffusion/__init__.py",
    "medai_lessons/stable_diffusion/_quiet_notices.py",
    "medai_lessons/stable_diffusion/_validate.py",
    "medai_lessons/stable_diffusion/architecture.py",
    "medai_lessons/stable_diffusion/captioned_images.py",
    "medai_lessons/stable_diffusion/cli.py",
    "medai_lessons/stable_diffusion/cost.py",
    "medai_lessons/stable_diffusion/digit_pipeline.py",
    "medai_lessons/stable_diffusion/digits.py",  # old import path of captioned_images (moved_names)
    "medai_lessons/stable_diffusion/guidance.py",
    "medai_lessons/stable_diffusion/loading.py",
    "medai_lessons/stable_diffusion/miniature.py",  # old import path of digit_pipeline (moved_names)
    "medai_lessons/stable_diffusion/pipeline.py",
    "medai_lessons/stable_diffusion/stages.py",
    "medai_lessons/stable_diffusion/tokenizer.py",
    "medai_lessons/stable_diffusion/train_digits.py",
    "medai_lessons/self_supervised/__init__.py",
    "medai_lessons/self_supervised/cli.py",
    "medai_lessons/self_supervised/clip_model.py",
    "medai_lessons/self_supervised/contrastive.py",
    "medai_lessons/self_supervised/data.py",
    "medai_lessons/self_supervised/data/digit-clip/config.json",
    "medai_lessons/self_supervised/data/digit-clip/model.safetensors",
    "medai_lessons/self_supervised/data/digit-clip/processor_config.json",
    "medai_lessons/self_supervised/data/digit-clip/tokenizer.json",
    "medai_lessons/self_supervised/data/digit-clip/tokenizer_config.json",
    "medai_lessons/self_supervised/data/digit-clip/training.json",
    "medai_lessons/self_supervised/simclr.py",
    "medai_lessons/self_supervised/train_clip.py",
    "medai_lessons/stable_diffusion/data/clip-bpe/LICENSE.txt",
    "medai_lessons/stable_diffusion/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz",
    "medai_lessons/stable_diffusion/data/digit-pipeline/model_index.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/training.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/scheduler/scheduler_config.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/text_encoder/config.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/text_encoder/model.safetensors",
    "medai_lessons/stable_diffusion/data/digit-pipeline/tokenizer/tokenizer.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/tokenizer/tokenizer_config.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/unet/config.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/unet/diffusion_pytorch_model.safetensors",
    "medai_lessons/stable_diffusion/data/digit-pipeline/vae/config.json",
    "medai_lessons/stable_diffusion/data/digit-pipeline/vae/diffusion_pytorch_model.safetensors",
    "medai_lessons-0.1.0.dist-info/METADATA",
    "medai_lessons-0.1.0.dist-info/WHEEL",
    "medai_lessons-0.1.0.dist-info/entry_points.txt",
    "medai_lessons-0.1.0.dist-info/licenses/LICENSE",
    "medai_lessons-0.1.0.dist-info/RECORD",
}


def _public_modules(names: set[str]) -> list[str]:
    """Dotted names of the wheel's modules that a reader may import (no ``_private`` part)."""
    modules = []
    for name in sorted(names):
        if not name.endswith(".py"):
            continue
        parts = name[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            modules.append(".".join(parts))
    return modules


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.skip("hatchling (dependency group `test`) is not installed: the wheel cannot be built offline")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (path,) = out.glob("medai_lessons-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The python of a fresh venv holding the wheel (and borrowing this one's third-party packages)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip())
    lent = {p for p in sys.path if Path(p).name in {"site-packages", "dist-packages"}}
    (purelib / "_lent_site_packages.pth").write_text("\n".join(sorted(lent)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)],
        check=True, capture_output=True, text=True,
    )
    return python


def test_the_wheel_holds_exactly_the_allowed_files(wheel):
    """The wheel's file list equals the allow-list: no figure, site tool or stray file, nothing missing."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(names - ALLOWED) == [], "files in the wheel that the allow-list does not name"
    assert sorted(ALLOWED - names) == [], "files of the allow-list missing from the wheel"


def test_no_module_in_the_wheel_locates_files_through_its_own_path(wheel):
    """No module uses ``__file__`` (a path beside the source may be the repository's, not the wheel's):
    shipped data is read through ``importlib.resources``."""
    with zipfile.ZipFile(wheel) as z:
        offenders = [
            name for name in z.namelist()
            if name.endswith(".py")
            and any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(ast.parse(z.read(name))))
        ]
    assert offenders == []


def test_every_public_module_imports_and_its_data_loads_from_the_installed_wheel(wheel, installed, tmp_path):
    """Each public module imports in the fresh venv from the wheel's copy, not the repository's, and
    the shipped data (DDPM weights, miniature pipeline, CLIP merges, miniature CLIP) is found inside that copy."""
    modules = _public_modules(set(zipfile.ZipFile(wheel).namelist()))
    assert len(modules) >= 30 and "medai_lessons.stable_diffusion.pipeline" in modules
    script = (
        "import importlib, json, sys\n"
        f"mods = {modules!r}\n"
        "files = {m: importlib.import_module(m).__file__ for m in mods}\n"
        "from medai_lessons.diffusion import load_pretrained_digits\n"
        "from medai_lessons.stable_diffusion import digit_pipeline_path, tokenizer\n"
        "from medai_lessons.self_supervised import digit_clip_path\n"
        "T = load_pretrained_digits()[1].num_train_timesteps\n"
        "data = {'T': T, 'pipeline': str(digit_pipeline_path()), 'merges': len(tokenizer._clip_merges()),\n"
        "        'clip': str(digit_clip_path())}\n"
        "print(json.dumps({'files': files, 'prefix': sys.prefix, 'data': data}))\n"
    )
    done = subprocess.run([str(installed), "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    prefix = Path(report["prefix"]).resolve()
    assert prefix == installed.parent.parent.resolve()
    places = {m: Path(f).resolve() for m, f in report["files"].items()}
    places["digit-pipeline"] = Path(report["data"]["pipeline"]).resolve()
    places["digit-clip"] = Path(report["data"]["clip"]).resolve()
    outside = {m: str(f) for m, f in places.items() if not f.is_relative_to(prefix)}
    assert outside == {}, "imported or read from outside the fresh venv"
    # the same numbers as the repository's copy gives in this process
    from medai_lessons.diffusion import load_pretrained_digits
    from medai_lessons.stable_diffusion import tokenizer

    assert report["data"]["T"] == load_pretrained_digits()[1].num_train_timesteps
    assert report["data"]["merges"] == len(tokenizer._clip_merges()) == tokenizer._NUM_CLIP_MERGES
