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

import os
from pathlib import Path
from typing import Any

import torch

from .. import limits
from .._checks import parse_json
from ..diffusion._validate import check_device

__all__ = ["REQUIRED_PARTS", "check_model_dir", "load_pipeline", "resolve_device_dtype"]

#: The folders every Stable Diffusion checkpoint must have.
REQUIRED_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
#: The parts that hold weights, and the names (without suffix) diffusers and transformers give them.
WEIGHTED_PARTS = ("unet", "vae", "text_encoder")
WEIGHT_STEMS = ("diffusion_pytorch_model", "model")
#: Weight files that are pickles, which ``torch.load`` would unpickle.
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
#: The pipeline classes the lesson supports, exactly (not every name that contains them).
SUPPORTED_PIPELINES = ("StableDiffusionPipeline",)

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
    """Return ``model_dir`` as a ``Path`` if it holds a Stable Diffusion checkpoint in safetensors.

    Raises:
        TypeError: ``model_dir`` is not a ``str`` or ``Path``.
        ModelDirNotFoundError: the directory does not exist (a ``FileNotFoundError`` and
            a ``ValueError``).
        ValueError: it is not a diffusers Stable Diffusion directory (``_class_name`` one of
            :data:`SUPPORTED_PIPELINES`), a part is missing, a part's weights are not
            safetensors (pickle files are never loaded), or a config is not a JSON object or
            describes a text encoder beyond :data:`~medai_lessons.limits.MAX_TEXT_ENCODER_PARAMETERS`;
            the message lists what was expected and what is wrong.
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
    index = _read_config(index_file)
    class_name = index.get("_class_name")
    if class_name not in SUPPORTED_PIPELINES:
        raise ValueError(
            f"`model_dir` {path} holds a {str(class_name)[:80] if class_name else 'unnamed'} model; expected a "
            f"Stable Diffusion 1.x/2.x checkpoint (_class_name StableDiffusionPipeline)."
        )
    missing = [part for part in REQUIRED_PARTS if part not in index or not (path / part).is_dir()]
    if missing:
        raise ValueError(f"`model_dir` {path} is incomplete: missing {', '.join(missing)}. Expected {expected}.")
    for part in WEIGHTED_PARTS:
        _check_weights(path / part)
    for config in ("unet/config.json", "vae/config.json", "scheduler/scheduler_config.json"):
        if (path / config).exists():
            _read_config(path / config)
    _check_text_encoder_size(path / "text_encoder")
    return path


def _read_config(file: Path) -> dict[str, Any]:
    """A part's JSON config as a dict; anything else is a ``ValueError`` naming ``model_dir``."""
    if not file.is_file():
        raise ValueError(f"`model_dir`: {file} is missing.")
    if file.stat().st_size > limits.MAX_JSON_BYTES:
        raise ValueError(f"`model_dir`: {file} holds more than {limits.MAX_JSON_BYTES:,} bytes; not a config.")
    config = parse_json("model_dir", file.read_bytes(), what=str(file), max_bytes=limits.MAX_JSON_BYTES)
    if not isinstance(config, dict):
        raise ValueError(f"`model_dir`: {file} must hold a JSON object, got a {type(config).__name__}.")
    return config


def _check_weights(folder: Path) -> None:
    """Refuse a part whose weights are missing or are pickle files only (never unpickled)."""
    names = {f.name for f in folder.iterdir() if f.is_file()}
    if any(f"{stem}.safetensors" in names or f"{stem}.safetensors.index.json" in names for stem in WEIGHT_STEMS):
        return
    pickled = sorted(n for n in names if n.endswith(PICKLE_SUFFIXES))
    if pickled:
        raise ValueError(
            f"`model_dir`: {folder} holds pickle weights only ({pickled[0]}); this package loads "
            "safetensors only and never unpickles. Convert them with a tool you trust."
        )
    raise ValueError(
        f"`model_dir`: {folder} has no weights (expected {WEIGHT_STEMS[0]}.safetensors or model.safetensors)."
    )


def _check_text_encoder_size(folder: Path) -> None:
    """Refuse a text encoder config that describes more weights than any SD text encoder has."""
    config = _read_config(folder / "config.json")
    sizes = {}
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "max_position_embeddings"):
        value = config.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**9:
            raise ValueError(f"`model_dir`: `{key}` in {folder / 'config.json'} must be an integer in [1, 1e9].")
        sizes[key] = value
    h, layers = sizes["hidden_size"], sizes["num_hidden_layers"]
    # embeddings, then per layer attention (4 h x h) and the MLP (2 h x intermediate)
    weights = (sizes["vocab_size"] + sizes["max_position_embeddings"]) * h
    weights += layers * (4 * h * h + 2 * h * sizes["intermediate_size"])
    if weights > limits.MAX_TEXT_ENCODER_PARAMETERS:
        raise ValueError(
            f"`model_dir`: {folder / 'config.json'} describes a text encoder of about {weights:,} weights; "
            f"at most {limits.MAX_TEXT_ENCODER_PARAMETERS:,} are loaded (SD 2's has 354 million)."
        )


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
            :func:`resolve_device_dtype`; all are raised before anything is loaded. A file that
            passes those checks but that diffusers cannot load (weights that do not match
            their config, a truncated file) is a ``ValueError`` naming ``model_dir``.
    """
    path = check_model_dir(model_dir)
    device, dtype = resolve_device_dtype(device, dtype)
    from diffusers import StableDiffusionPipeline

    extra: dict[str, Any] = {}
    if not (path / "safety_checker").is_dir():
        extra = {"safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    # local_files_only=True is what keeps this offline: diffusers and transformers read
    # HF_HUB_OFFLINE once, at import, so setting it here would change nothing.
    # use_safetensors=True: never fall back to a pickle (.bin) file, whatever the folder holds.
    try:
        pipeline = StableDiffusionPipeline.from_pretrained(
            path, local_files_only=True, use_safetensors=True, dtype=dtype, **extra
        )
    except (OSError, RuntimeError, KeyError, AttributeError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"`model_dir` {path}: the checkpoint cannot be loaded ({first[:300]}).") from exc
    return pipeline.to(device)
