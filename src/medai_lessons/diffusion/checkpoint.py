r"""Saving and loading trained U-Nets as safetensors files (no pickle).

A checkpoint is one ``.safetensors`` file: the weights as tensors, and in the file's
string metadata three JSON documents that rebuild everything else:

==================  ==============================================================
metadata key        content
==================  ==============================================================
``model_config``    the :class:`~medai_lessons.diffusion.unet.UNet` arguments
``schedule``        :attr:`NoiseSchedule.config <medai_lessons.diffusion.schedule.NoiseSchedule.config>`
``train_config``    how it was trained (steps, batch size, seed, ...), may be ``{}``
``format``          ``"medai-lessons-ddpm/1"``
==================  ==============================================================

Loading never executes code from the file, unlike ``torch.load`` on a pickle.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from medai_lessons.diffusion._validate import check_device
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.diffusion.unet import UNet

__all__ = [
    "PRETRAINED_DIGITS",
    "load_checkpoint",
    "load_pretrained_digits",
    "load_pretrained_history",
    "save_checkpoint",
]

FORMAT = "medai-lessons-ddpm/1"
#: file name of the committed digits checkpoint inside ``medai_lessons/diffusion/data``
PRETRAINED_DIGITS = "digits-ddpm.safetensors"
PRETRAINED_HISTORY = "digits-ddpm-history.json"


def save_checkpoint(
    path: str | Path,
    model: UNet,
    schedule: NoiseSchedule,
    *,
    train_config: dict[str, Any] | None = None,
) -> Path:
    """Write ``model``'s weights and the configs as a safetensors file; return the path."""
    from safetensors.torch import save_file

    if not isinstance(model, UNet):
        raise TypeError(f"`model` must be a UNet, got {type(model).__name__}.")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"`schedule` must be a NoiseSchedule, got {type(schedule).__name__}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "model_config": json.dumps(model.config, sort_keys=True),
        "schedule": json.dumps(schedule.config, sort_keys=True),
        "train_config": json.dumps(train_config or {}, sort_keys=True),
    }
    save_file(state, str(path), metadata=metadata)
    return path


def load_checkpoint(
    path: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[UNet, NoiseSchedule, dict[str, Any]]:
    """Read a file written by :func:`save_checkpoint`.

    Returns:
        ``(model, schedule, train_config)``, the model in eval mode on ``device``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a medai-lessons DDPM checkpoint.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    if not isinstance(path, str | Path):
        raise TypeError(f"`path` must be a str or Path, got {type(path).__name__}.")
    device = check_device(device)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"`path` is not a safetensors file: {path} ({exc})") from exc
    if metadata.get("format") != FORMAT:
        raise ValueError(f"`path` is not a medai-lessons DDPM checkpoint (format {metadata.get('format')!r}): {path}")
    model = UNet(**json.loads(metadata["model_config"]))
    model.load_state_dict(load_file(str(path)))
    schedule = NoiseSchedule.from_config(json.loads(metadata["schedule"]))
    return model.to(device).eval(), schedule, json.loads(metadata["train_config"])


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
    """The loss history (JSON) recorded while the pretrained digits model was trained."""
    return json.loads(_data_file(PRETRAINED_HISTORY).read_text(encoding="utf-8"))
