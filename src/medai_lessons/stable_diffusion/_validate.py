"""Input checks of the Stable Diffusion lesson, shared by the functions and the CLI.

They build on :mod:`medai_lessons._checks`: a value of the wrong kind raises
``TypeError``, a value of the right kind but out of range raises ``ValueError``,
and every message names the argument in backticks.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import limits
from .._checks import check_int, check_real
from .._deprecation import moved_names
from ..diffusion._validate import check_bounded_int

#: Height and width must be multiples of the VAE's down-sampling factor f = 8.
LATENT_FACTOR = 8


def check_prompt(name: str, value: Any, *, allow_none: bool = False) -> str | None:
    """Return ``value`` if it is a non-empty string (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise ValueError(f"`{name}` must not be empty, got {value!r}.")
    return value


def check_num_inference_steps(value: Any, name: str = "num_inference_steps", *, scheduler: Any = None) -> int:
    """Return $S$, the number of denoising steps: an integer >= 1 (and <= the scheduler's training timesteps)."""
    out = check_int(name, value, minimum=1)
    T = getattr(getattr(scheduler, "config", None), "num_train_timesteps", None)
    if isinstance(T, int) and out > T:
        raise ValueError(f"`{name}` must be <= the scheduler's {T} training timesteps, got {out}.")
    return out


def check_guidance(value: Any, name: str = "guidance_scale") -> float:
    """Return the guidance scale s, a finite float >= 0."""
    return check_real(name, value, non_negative=True)


def check_generator(value: Any, name: str = "generator", *, allow_none: bool = True) -> torch.Generator | None:
    """Return ``value`` if it is a ``torch.Generator`` (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, torch.Generator):
        raise TypeError(f"`{name}` must be a torch.Generator, got {type(value).__name__}.")
    return value


def check_dtype(value: Any, name: str = "dtype") -> torch.dtype:
    """Return ``value`` if it is a floating ``torch.dtype`` (float16, bfloat16, float32, float64)."""
    if not isinstance(value, torch.dtype):
        raise TypeError(f"`{name}` must be a torch.dtype, got {type(value).__name__}.")
    if not value.is_floating_point:
        raise ValueError(f"`{name}` must be a floating-point dtype, got {value}.")
    return value


#: Largest image side accepted: 8192 pixels (a 1024x1024 latent; SD 1.x is trained at 512).
MAX_SIDE = limits.MAX_SD_SIDE


def check_size(name: str, value: Any, factor: int = LATENT_FACTOR) -> int:
    """Return an image side (``height`` or ``width``): a multiple of ``factor`` in ``[factor, 8192]``."""
    out = check_bounded_int(name, value, minimum=factor, maximum=max(MAX_SIDE, factor), why="pixels per side")
    if out % factor:
        raise ValueError(f"`{name}` must be a multiple of {factor} (the VAE shrinks each side {factor}x), got {out}.")
    return out


def check_output_type(value: Any, name: str = "output_type") -> str:
    """Return ``"pil"`` or ``"np"``; any other choice is refused."""
    choices = ("pil", "np")
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, got {type(value).__name__}.")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}.")
    return value


def check_pipeline(value: Any, name: str = "pipeline") -> Any:
    """Return ``value`` if it looks like a Stable Diffusion pipeline (duck-typed)."""
    needed = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
    missing = [part for part in needed if getattr(value, part, None) is None]
    if missing:
        raise TypeError(
            f"`{name}` must be a Stable Diffusion pipeline with {', '.join(needed)}; "
            f"{type(value).__name__} lacks {', '.join(missing)}."
        )
    return value


#: Old names: ``check_steps`` (it checks $S$) is now ``check_num_inference_steps``.
__getattr__ = moved_names(__name__, {"check_steps": f"{__name__}:check_num_inference_steps"})
