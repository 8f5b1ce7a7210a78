r"""Saving and loading trained U-Nets as safetensors files (no pickle).

A checkpoint is one ``.safetensors`` file: the weights as tensors, and in the file's
string metadata three JSON documents that rebuild everything else:

==================  ==============================================================
metadata key        content
==================  ==============================================================
``model_config``    the :class:`~medai_lessons.diffusion.unet.UNet` arguments
``schedule``        :attr:`NoiseSchedule.config <medai_lessons.diffusion.schedule.NoiseSchedule.config>`
``train_config``    how it was trained (train steps, batch size, seed, ...), may be ``{}``
``format``          ``"medai-lessons-ddpm/1"``
==================  ==============================================================

Loading never executes code from the file, unlike ``torch.load`` on a pickle, and it
checks the metadata against the stored weight shapes, within size limits, *before* a
model is built: a file that claims a huge network fails at once, with no allocation.
Files are written atomically (a temporary name in the same folder, then a rename), so
a reader never sees half a checkpoint.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from medai_lessons import _files, limits
from medai_lessons._checks import check_int, check_output_path, check_path, parse_json
from medai_lessons._deprecation import moved_names
from medai_lessons.diffusion._validate import check_device, check_schedule
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.diffusion.unet import UNet

__all__ = [
    "PRETRAINED_DIGITS",
    "load_checkpoint",
    "load_pretrained_digits",
    "load_pretrained_history",
    "read_sample_size",
    "save_checkpoint",
]

FORMAT = "medai-lessons-ddpm/1"
#: file name of the committed digits checkpoint inside ``medai_lessons/diffusion/data``
PRETRAINED_DIGITS = "digits-ddpm.safetensors"
PRETRAINED_HISTORY = "digits-ddpm-history.json"

#: Limits on what a checkpoint's metadata may claim (a lesson U-Net is far below them).
MAX_PARAMETERS = limits.MAX_CHECKPOINT_PARAMETERS
MAX_WIDTH = limits.MAX_CHANNELS
MAX_LEVELS = limits.MAX_UNET_LEVELS
MAX_IN_CHANNELS = 64
MAX_TIME_DIM = limits.MAX_TIME_DIM
MAX_TRAIN_TIMESTEPS = limits.MAX_TRAIN_TIMESTEPS
#: largest image side ``ddpm sample`` draws (MedMNIST runs use 32)
MAX_SAMPLE_SIZE = 256

class CheckpointNotFoundError(FileNotFoundError, ValueError):
    """A checkpoint path that does not exist: bad input (a ``ValueError``) and a missing file alike."""


#: Old ``train_config`` keys (before the diffusers vocabulary) -> current keys.
OLD_TRAIN_KEYS = {"steps": "train_steps", "num_train_steps": "num_train_timesteps", "lr": "learning_rate"}


def normalize_train_config(config: dict[str, Any]) -> dict[str, Any]:
    """Rename the old ``train_config`` keys (``steps``, ``num_train_steps``, ``lr``) to the current ones."""
    out = dict(config)
    for old, new in OLD_TRAIN_KEYS.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def save_checkpoint(
    path: str | Path,
    model: UNet,
    schedule: NoiseSchedule,
    *,
    train_config: dict[str, Any] | None = None,
    sample_size: int | None = None,
) -> Path:
    """Write ``model``'s weights and the configs as a safetensors file (atomically); return the path.

    ``sample_size`` (the side of the training images, 8 for the digits) is stored so that
    ``ddpm sample`` draws images of the size the model was trained on.
    """
    from safetensors.torch import save_file

    path = check_output_path("path", path, kind="file")
    if not isinstance(model, UNet):
        raise TypeError(f"`model` must be a UNet, got {type(model).__name__}.")
    check_schedule(schedule)
    if train_config is not None and not isinstance(train_config, dict):
        raise TypeError(f"`train_config` must be a dict or None, got {type(train_config).__name__}.")
    if sample_size is not None:
        sample_size = check_int("sample_size", sample_size, minimum=1, maximum=MAX_SAMPLE_SIZE)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "model_config": json.dumps(model.config, sort_keys=True),
        "schedule": json.dumps(schedule.config, sort_keys=True),
        "train_config": json.dumps(train_config or {}, sort_keys=True, allow_nan=False),
    }
    if sample_size is not None:
        metadata["sample_size"] = str(sample_size)
    with _files.write_atomically(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return path


def read_sample_size(path: str | Path) -> int:
    """The image side a checkpoint was trained on (8, the digits, when the file does not say)."""
    path = check_path("path", path, kind="file")
    text = _files.read_safetensors_header(path)[0].get("sample_size", "8")
    if not (text.isascii() and text.isdigit() and len(text) <= 6):  # '²' is a digit to str.isdigit
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"`path` {path}: `sample_size` in the metadata must be an integer, got {shown!r}.")
    return _check_int_field(int(text), "sample_size", path, 1, MAX_SAMPLE_SIZE)


# -- reading and checking, before any model is built ------------------------------------
def _json_field(metadata: dict[str, str], key: str, path: Path) -> Any:
    if key not in metadata:
        raise ValueError(f"`path` {path} is not a complete DDPM checkpoint: its metadata lacks `{key}`.")
    return parse_json("path", metadata[key], what=f"{path}'s `{key}` metadata", max_bytes=limits.MAX_JSON_BYTES)


def _check_int_field(value: Any, key: str, path: Path, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"`path` {path}: `{key}` in the metadata must be an integer, got {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"`path` {path}: `{key}` in the metadata must lie in [{low}, {high}], got {value}.")
    return value


def check_model_config(config: Any, path: Path) -> dict[str, Any]:
    """Check a ``model_config`` read from a file: the right keys, integers within the limits."""
    if not isinstance(config, dict):
        raise ValueError(f"`path` {path}: `model_config` must be a JSON object, got {type(config).__name__}.")
    allowed = {"in_channels", "channels", "time_dim", "groups"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"`path` {path}: `model_config` has unknown keys {unknown}.")
    bounds = {"in_channels": (1, MAX_IN_CHANNELS), "time_dim": (2, MAX_TIME_DIM), "groups": (1, MAX_WIDTH)}
    out: dict[str, Any] = {k: _check_int_field(config[k], k, path, *bounds[k]) for k in bounds if k in config}
    if "channels" in config:
        channels = config["channels"]
        if not isinstance(channels, list) or not 1 <= len(channels) <= MAX_LEVELS:
            raise ValueError(f"`path` {path}: `channels` in the metadata must be a list of 1 to {MAX_LEVELS} widths.")
        out["channels"] = [_check_int_field(c, "channels", path, 1, MAX_WIDTH) for c in channels]
    return out


def check_schedule_config(config: Any, path: Path) -> NoiseSchedule:
    """Rebuild the schedule stored in a file, refusing sizes beyond :data:`MAX_TRAIN_TIMESTEPS`."""
    if not isinstance(config, dict):
        raise ValueError(f"`path` {path}: `schedule` must be a JSON object, got {type(config).__name__}.")
    params = dict(config)
    kind = params.pop("kind", None)
    if kind == "custom":
        betas = params.get("betas")
        if not isinstance(betas, list) or not 1 <= len(betas) <= MAX_TRAIN_TIMESTEPS:
            raise ValueError(f"`path` {path}: a custom schedule needs 1 to {MAX_TRAIN_TIMESTEPS} `betas`.")
        try:
            return NoiseSchedule(betas)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`path` {path}: the schedule metadata is invalid ({exc})") from None
    if kind not in ("linear", "cosine"):
        raise ValueError(f"`path` {path}: the schedule `kind` must be 'linear', 'cosine' or 'custom', got {kind!r}.")
    # the horizon T was stored as `num_steps` before the diffusers vocabulary; both load
    key = "num_train_timesteps" if "num_train_timesteps" in params else "num_steps"
    if key not in params:
        raise ValueError(f"`path` {path}: the schedule metadata lacks `num_train_timesteps`.")
    T = _check_int_field(params.pop(key), "num_train_timesteps", path, 1, MAX_TRAIN_TIMESTEPS)
    allowed = {"beta_start", "beta_end"} if kind == "linear" else {"s"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"`path` {path}: the {kind} schedule metadata has unknown keys {unknown}.")
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"`path` {path}: `{k}` in the schedule metadata must be a finite number, got {v!r}.")
    if kind == "linear":
        return NoiseSchedule.linear(T, **params)
    return NoiseSchedule.cosine(T, **params)


def read_checkpoint_header(path: str | Path) -> tuple[dict[str, Any], NoiseSchedule, dict[str, Any], dict[str, Any]]:
    """Read and check a checkpoint's metadata and weight shapes without loading any weights.

    Returns:
        ``(model_config, schedule, train_config, shapes)`` where ``shapes`` maps each stored
        tensor to its shape.

    Raises:
        CheckpointNotFoundError: ``path`` does not exist (a ``FileNotFoundError`` and a ``ValueError``).
        ValueError: not a safetensors file, not a DDPM checkpoint, metadata missing, malformed,
            beyond the size limits, or not matching the stored weights.
    """
    path = check_path("path", path, must_exist=False)
    if not path.is_file():
        raise CheckpointNotFoundError(f"`path`: checkpoint file not found: {path}")
    metadata, shapes, dtypes = _files.read_safetensors_header(path)
    if metadata.get("format") != FORMAT:
        raise ValueError(f"`path` is not a medai-lessons DDPM checkpoint (format {metadata.get('format')!r}): {path}")
    model_config = check_model_config(_json_field(metadata, "model_config", path), path)
    schedule = check_schedule_config(_json_field(metadata, "schedule", path), path)
    train_config = _json_field(metadata, "train_config", path) if "train_config" in metadata else {}
    if not isinstance(train_config, dict):
        raise ValueError(f"`path` {path}: `train_config` must be a JSON object.")
    # the shapes the metadata implies, computed on the meta device (no memory is allocated)
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in UNet(**model_config).state_dict().items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`path` {path}: `model_config` does not describe a UNet ({exc}).") from exc
    n_params = sum(math.prod(s) for s in expected.values())
    if n_params > MAX_PARAMETERS:
        raise ValueError(
            f"`path` {path}: `model_config` claims {n_params:,} weights, more than the limit {MAX_PARAMETERS:,}."
        )
    if expected != shapes:
        missing = sorted(set(expected) - set(shapes))
        extra = sorted(set(shapes) - set(expected))
        wrong = sorted(k for k in set(expected) & set(shapes) if expected[k] != shapes[k])
        detail = (
            f"missing {missing[:3]}" if missing
            else f"unexpected {extra[:3]}" if extra
            else f"{wrong[0]} is {shapes[wrong[0]]} but `model_config` implies {expected[wrong[0]]}"
        )
        raise ValueError(f"`path` {path}: the weights do not match `model_config` ({detail}).")
    bad = sorted(k for k, d in dtypes.items() if d not in ("F32", "F16", "BF16", "F64"))
    if bad:
        raise ValueError(f"`path` {path}: weight {bad[0]} has dtype {dtypes[bad[0]]}, not a float type.")
    return model_config, schedule, train_config, shapes


def load_checkpoint(
    path: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[UNet, NoiseSchedule, dict[str, Any]]:
    """Read a file written by :func:`save_checkpoint`.

    The metadata is checked against the stored weight shapes before the model is built.
    ``train_config`` comes back as stored; checkpoints written with its old keys
    (``steps``, ``num_train_steps``) load too, and :meth:`TrainConfig.from_dict
    <medai_lessons.diffusion.train.TrainConfig.from_dict>` reads either spelling.

    Returns:
        ``(model, schedule, train_config)``, the model in eval mode on ``device``.

    Raises:
        CheckpointNotFoundError: ``path`` does not exist (a ``FileNotFoundError`` and a ``ValueError``).
        ValueError: the file is not a valid medai-lessons DDPM checkpoint, or ``device`` is unusable.
    """
    from safetensors.torch import load_file

    target = check_device(device)
    model_config, schedule, train_config, _ = read_checkpoint_header(path)
    try:
        state = load_file(str(path))
    except Exception as exc:  # a truncated file passes the header check but fails here
        raise ValueError(f"`path` {path}: the weights cannot be read ({exc}).") from exc
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise ValueError(f"`path` {path}: the weights contain NaN or infinity.")
    largest = max((v.abs().max().item() for v in state.values() if v.numel()), default=0.0)
    if largest > limits.MAX_WEIGHT:
        raise ValueError(
            f"`path` {path}: a weight reaches {largest:.3g}; a trained U-Net's stay far below "
            f"{limits.MAX_WEIGHT:g}, and larger ones overflow the network."
        )
    model = UNet(**model_config)
    model.load_state_dict(state)
    return model.to(target).eval(), schedule, train_config


def _data_file(name: str) -> Path:
    return Path(str(resources.files("medai_lessons.diffusion") / "data" / name))


def load_pretrained_digits(*, device: str | torch.device = "cpu") -> tuple[UNet, NoiseSchedule]:
    """The EMA weights trained on scikit-learn's digits that ship with the package.

    Returns:
        ``(model, schedule)``; the training command is in the checkpoint's ``train_config``.
    """
    model, schedule, _ = load_checkpoint(_data_file(PRETRAINED_DIGITS), device=device)
    return model, schedule


def load_pretrained_history() -> dict[str, Any]:
    """The loss history (JSON) recorded while the pretrained digits model was trained.

    Its ``config`` uses the current key names (``train_steps``, ``num_train_timesteps``).
    """
    history = json.loads(_data_file(PRETRAINED_HISTORY).read_text(encoding="utf-8"))
    history["config"] = normalize_train_config(history.get("config", {}))
    return history


#: Old import paths: the atomic writes moved to :mod:`medai_lessons._files`.
__getattr__ = moved_names(__name__, dict.fromkeys(("default_mode", "write_atomically"), "medai_lessons._files"))
