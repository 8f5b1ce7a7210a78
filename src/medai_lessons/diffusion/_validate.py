"""Input checks of the DDPM lesson: schedules, images, timesteps, devices, sampler arguments.

They build on :mod:`medai_lessons._checks`: a value of the wrong kind raises ``TypeError``,
a value of the right kind but out of range raises ``ValueError``, and every message names
the argument in backticks. The public functions call these once, before any work; the
sampling loops then call unchecked internals, so a 1000-step run is checked once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import torch

from medai_lessons import limits
from medai_lessons._checks import check_int, check_real
from medai_lessons._tensor_checks import check_finite, check_tensor
from medai_lessons.diffusion.schedule import NoiseSchedule

__all__ = [
    "MAX_NUMEL",
    "check_bounded_int",
    "check_clip",
    "check_device",
    "check_eta",
    "check_finite_result",
    "check_generator",
    "check_images",
    "check_noise_or_generator",
    "check_sample_shape",
    "check_schedule",
    "check_step",
    "check_timesteps",
]

#: Most values one sampling call may ask for (2**27 float32 values = 512 MiB): a bigger
#: request is refused before anything is allocated.
MAX_NUMEL = limits.MAX_NUMEL


def check_bounded_int(name: str, value: Any, *, minimum: int, maximum: int, why: str = "") -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``; the message states the bound."""
    out = check_int(name, value, minimum=minimum, maximum=None)
    if out > maximum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"`{name}` must be <= {maximum:,}{reason}, got {out:,}.")
    return out


def check_schedule(schedule: object) -> NoiseSchedule:
    """Return ``schedule`` if it is a :class:`NoiseSchedule`."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"`schedule` must be a NoiseSchedule, got {type(schedule).__name__}.")
    return schedule


def check_images(
    name: str,
    x: object,
    *,
    like: torch.Tensor | None = None,
    like_name: str = "the images",
    finite: bool = True,
) -> torch.Tensor:
    """Return ``x`` if it is a finite floating tensor with a batch dimension on a real device.

    With ``like``, ``x`` must also have ``like``'s shape, dtype and device.
    """
    x = check_tensor(name, x, finite=False)
    if x.ndim < 2:
        raise ValueError(f"`{name}` must have a batch dimension and at least one more, got shape {tuple(x.shape)}.")
    if like is not None:
        if x.shape != like.shape:
            raise ValueError(
                f"`{name}` must have the same shape as {like_name} {tuple(like.shape)}, got {tuple(x.shape)}."
            )
        if x.dtype != like.dtype:
            raise TypeError(f"`{name}` must have the same dtype as {like_name} ({like.dtype}), got {x.dtype}.")
        if x.device != like.device:
            raise ValueError(f"`{name}` must be on the same device as {like_name} ({like.device}), got {x.device}.")
    return check_finite(x, f"`{name}` must not contain NaN or infinity.") if finite else x


def check_timesteps(schedule: NoiseSchedule, t: object, batch: int, *, name: str = "t") -> torch.Tensor:
    """Return ``t`` as a CPU int64 tensor of shape ``(batch,)``, every value in ``[0, T)``.

    ``t`` is one integer (for the whole batch) or an integer tensor with one step per
    image. Floats (``1.5``), bools and values outside the schedule are refused before any
    tensor is made, so a huge integer cannot overflow.
    """
    T = schedule.num_train_timesteps
    out_of_range = f"`{name}` must lie in [0, {T - 1}] for a schedule of {T} steps, got {{}}."
    if isinstance(t, bool) or (isinstance(t, torch.Tensor) and t.dtype == torch.bool):
        raise TypeError(f"`{name}` must be an int or an integer tensor, got bool.")
    if isinstance(t, Integral):
        if not 0 <= int(t) < T:
            raise ValueError(out_of_range.format(int(t)))
        return torch.full((batch,), int(t), dtype=torch.int64)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"`{name}` must be an int or an integer tensor, got {type(t).__name__}.")
    if t.is_floating_point() or t.is_complex():
        raise TypeError(f"`{name}` must hold integers, got dtype {t.dtype}.")
    if t.device.type == "meta":
        raise ValueError(f"`{name}` must hold data on a real device, got a tensor on 'meta'.")
    t_vec = t.detach().to("cpu", torch.int64)
    if t_vec.ndim == 0:
        t_vec = t_vec.expand(batch)
    if t_vec.ndim != 1 or t_vec.numel() != batch:
        raise ValueError(f"`{name}` must be a scalar or hold one step per image ({batch}), got shape {tuple(t.shape)}.")
    if t_vec.numel() and (t_vec.min() < 0 or t_vec.max() >= T):
        raise ValueError(out_of_range.format(t_vec[(t_vec < 0) | (t_vec >= T)][0].item()))
    return t_vec


def check_step(schedule: NoiseSchedule, t: object, name: str = "t") -> int:
    """Return ``t`` as a plain int step in ``[0, T)`` (the samplers' one step per call)."""
    if isinstance(t, bool) or not isinstance(t, Integral):
        raise TypeError(f"`{name}` must be an int, got {type(t).__name__}.")
    check_timesteps(schedule, t, 1, name=name)
    return int(t)


def check_clip(clip_x0: object) -> float | None:
    r"""Return ``clip_x0`` (the clamp on $\hat x_0$) as a float > 0, or ``None``."""
    return None if clip_x0 is None else check_real("clip_x0", clip_x0, positive=True)


def check_eta(eta: object) -> float:
    r"""Return DDIM's $\eta$ in ``[0, 1]``: from deterministic DDIM (0) to DDPM's variance (1).

    Song et al. (2021), Eq. (16) defines the family for $\eta \in [0, 1]$; above 1 the
    noise would exceed what the step's variance allows.
    """
    out = check_real("eta", eta, non_negative=True)
    if out > 1:
        raise ValueError(f"`eta` must be <= 1 (Song et al. 2021: 0 is DDIM, 1 is DDPM's variance), got {out}.")
    return out


def check_noise_or_generator(noise: object, generator: object) -> None:
    """Refuse ``noise`` together with ``generator`` (as diffusers' schedulers do)."""
    if noise is not None and generator is not None:
        raise ValueError("`noise` and `generator` cannot both be given: pass the noise, or a generator to draw it.")
    check_generator(generator)


def check_generator(generator: object) -> torch.Generator | None:
    """Return ``generator`` if it is a ``torch.Generator`` or ``None``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}.")
    return generator


def check_sample_shape(shape: object) -> tuple[int, ...]:
    """Return ``shape`` as ``(batch, ...)`` of positive ints, at most :data:`MAX_NUMEL` values."""
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence | torch.Size):
        raise TypeError(f"`shape` must be a sequence of ints, got {type(shape).__name__}.")
    out = tuple(check_int("shape", s, minimum=1) for s in shape)
    if len(out) < 2:
        raise ValueError(f"`shape` must be (batch, ...) with at least 2 entries, got {out}.")
    numel = math.prod(out)
    if numel > MAX_NUMEL:
        raise ValueError(f"`shape` {out} asks for {numel:,} values; at most {MAX_NUMEL:,} (2**27) are allowed.")
    return out


_DEVICE_CHOICES = "'cpu', 'cuda', 'cuda:N' or 'mps'"


def check_device(device: object, *, name: str = "device", allow_auto: bool = False) -> torch.device:
    """Return ``device`` as a ``torch.device`` that exists on this machine.

    Accepts a string or ``torch.device`` of type cpu, cuda (``cuda:N`` with N below the
    number of GPUs) or mps, and ``"auto"`` (CUDA when present, else CPU) when
    ``allow_auto``. Unknown names (``"tpu"``), ``"meta"`` (no data) and a GPU this
    build or machine lacks are refused with a ``ValueError``.
    """
    choices = f"'auto', {_DEVICE_CHOICES}" if allow_auto else _DEVICE_CHOICES
    if isinstance(device, str):
        if allow_auto and device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"`{name}` must be {choices}, got {device!r}.") from exc
    elif not isinstance(device, torch.device):
        raise TypeError(f"`{name}` must be a string or torch.device, got {type(device).__name__}.")
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"`{name}` is {str(device)!r} but no CUDA device is available (CPU build or no GPU).")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"`{name}` is {str(device)!r} but only {torch.cuda.device_count()} GPU(s) exist.")
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"`{name}` is 'mps' but no Apple GPU is available.")
        return device
    raise ValueError(f"`{name}` must be {choices}, got {str(device)!r}.")


def check_finite_result(x: torch.Tensor, culprit: str) -> torch.Tensor:
    """Return ``x`` if it is finite; otherwise say which argument drove it to NaN or infinity."""
    return check_finite(x, f"the result is not finite (NaN or infinity); {culprit}.")
