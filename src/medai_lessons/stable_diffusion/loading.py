r"""Load a Stable Diffusion checkpoint from local disk, and never from the network.

A diffusers checkpoint is a directory::

    model_index.json        which class to build, and which class each part is
    unet/                   the noise predictor ε_θ(z_t, t, c)
    vae/                    the autoencoder: encoder E, decoder D
    text_encoder/           CLIP's text transformer τ_θ
    tokenizer/              CLIP's byte-pair tokenizer
    scheduler/              the noise schedule and sampler
    safety_checker/, feature_extractor/   optional

:func:`load_pipeline` checks that layout first and says exactly what is missing,
then loads with ``local_files_only=True``, so a mistyped path can never turn into a
download, whether or not ``HF_HUB_OFFLINE`` was set before diffusers was imported.

Notation (code name ↔ symbol ↔ diffusers name):

| code           | symbol             | diffusers                        |
|----------------|--------------------|----------------------------------|
| ``unet``       | $\epsilon_\theta$  | ``pipeline.unet``                |
| ``vae``        | $E$, $D$           | ``pipeline.vae`` (encode/decode) |
| ``text_encoder``| $\tau_\theta$     | ``pipeline.text_encoder``        |
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..diffusion._validate import check_device

__all__ = ["REQUIRED_PARTS", "check_model_dir", "load_pipeline", "resolve_device_dtype"]

#: The folders every Stable Diffusion checkpoint must have.
REQUIRED_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


class ModelDirNotFoundError(FileNotFoundError, ValueError):
    """``model_dir`` does not exist: a ``FileNotFoundError`` that is also a ``ValueError``,
    so that both ``except`` clauses, and the package's bad-input promise, hold."""


def check_model_dir(model_dir: Any) -> Path:
    """Return ``model_dir`` as a ``Path`` if it holds a Stable Diffusion checkpoint.

    Raises:
        TypeError: ``model_dir`` is not a ``str`` or ``Path``.
        ModelDirNotFoundError: the directory does not exist (a ``FileNotFoundError`` and
            a ``ValueError``).
        ValueError: it is not a diffusers Stable Diffusion directory; the message
            lists what was expected and what is missing.
    """
    if not isinstance(model_dir, str | os.PathLike):
        raise TypeError(f"`model_dir` must be a path, got {type(model_dir).__name__}.")
    path = Path(model_dir).expanduser()
    expected = "model_index.json and the folders " + ", ".join(REQUIRED_PARTS)
    if not path.exists():
        raise ModelDirNotFoundError(
            f"`model_dir` does not exist: {path}. Expected a local diffusers Stable "
            f"Diffusion directory with {expected}."
        )
    if not path.is_dir():
        raise ValueError(f"`model_dir` must be a directory with {expected}, got a file: {path}.")
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise ValueError(
            f"`model_dir` {path} has no model_index.json, so it is not a diffusers checkpoint. Expected {expected}."
        )
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"`model_dir`: {index_file} is not valid JSON ({exc}).") from exc
    class_name = str(index.get("_class_name", ""))
    if "StableDiffusion" not in class_name or "XL" in class_name or "3" in class_name:
        raise ValueError(
            f"`model_dir` {path} holds a {class_name or 'unnamed'} model; expected a "
            f"Stable Diffusion 1.x/2.x checkpoint (_class_name StableDiffusionPipeline)."
        )
    missing = [part for part in REQUIRED_PARTS if part not in index or not (path / part).is_dir()]
    if missing:
        raise ValueError(f"`model_dir` {path} is incomplete: missing {', '.join(missing)}. Expected {expected}.")
    return path


def resolve_device_dtype(
    device: str | torch.device = "auto", dtype: str | torch.dtype = "auto"
) -> tuple[torch.device, torch.dtype]:
    """Turn ``"auto"`` into CUDA + float16 when a GPU is present, else CPU + float32.

    ``device`` may be ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a
    ``torch.device`` (:func:`medai_lessons.diffusion._validate.check_device`: unknown names,
    ``"meta"`` and a GPU the machine lacks are refused); ``dtype`` may be ``"auto"``, ``"float32"``/``"fp32"``,
    ``"float16"``/``"fp16"``, ``"bfloat16"``/``"bf16"`` or a ``torch.dtype``.
    """
    device = check_device(device, allow_auto=True)
    if isinstance(dtype, str):
        if dtype == "auto":
            dtype = torch.float16 if device.type == "cuda" else torch.float32
        elif dtype in _DTYPES:
            dtype = _DTYPES[dtype]
        else:
            raise ValueError(f"`dtype` must be 'auto' or one of {sorted(_DTYPES)}, got {dtype!r}.")
    elif not isinstance(dtype, torch.dtype):
        raise TypeError(f"`dtype` must be a string or torch.dtype, got {type(dtype).__name__}.")
    if dtype not in set(_DTYPES.values()):
        raise ValueError(f"`dtype` must be float32, float16 or bfloat16, got {dtype}.")
    return device, dtype


def load_pipeline(
    model_dir: str | os.PathLike[str],
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
) -> Any:
    """Load a diffusers Stable Diffusion directory from local disk only.

    Args:
        model_dir: a directory saved by ``save_pretrained`` (or
            :func:`~.save_tiny_pipeline`), e.g. a local copy of Stable Diffusion 1.5.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ...
        dtype: ``"auto"`` (float16 on CUDA, float32 on CPU), or an explicit dtype.

    Returns:
        A ``diffusers.StableDiffusionPipeline`` on ``device``. A checkpoint without a
        ``safety_checker`` folder is loaded without one.

    Raises:
        FileNotFoundError, ValueError, TypeError: see :func:`check_model_dir` and
            :func:`resolve_device_dtype`; all are raised before anything is loaded.
    """
    path = check_model_dir(model_dir)
    device, dtype = resolve_device_dtype(device, dtype)
    from diffusers import StableDiffusionPipeline

    extra: dict[str, Any] = {}
    if not (path / "safety_checker").is_dir():
        extra = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    # local_files_only=True is what keeps this offline: diffusers and transformers read
    # HF_HUB_OFFLINE once, at import, so setting it here would change nothing.
    pipeline = StableDiffusionPipeline.from_pretrained(path, local_files_only=True, dtype=dtype, **extra)
    return pipeline.to(device)
