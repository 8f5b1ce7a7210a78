"""Checks for tensor arguments, shared by the DDPM and the Stable Diffusion sub-packages.

One rule per property, so every public function words a bad tensor the same way: a
``TypeError`` for the wrong kind (not a tensor, sparse or nested, not floating point, wrong dtype) and a
``ValueError`` for the wrong value (the ``meta`` device, wrong shape or device, NaN or
infinity), each naming the argument in backticks.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_finite", "check_tensor"]


def check_tensor(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
    partner: str = "",
    finite: bool = True,
) -> torch.Tensor:
    """Return ``value`` if it is a finite floating tensor on a real device.

    With ``ndim``, ``dtype``, ``device`` or ``shape`` it must also match them; ``partner`` names
    what they come from (e.g. "the U-Net") for the message.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(value).__name__}.")
    if value.is_nested or value.layout != torch.strided:
        kind = "a nested tensor" if value.is_nested else f"layout {value.layout}"
        raise TypeError(f"`{name}` must be a dense tensor, got {kind} (convert it with `.to_dense()`).")
    if not value.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got dtype {value.dtype}.")
    if value.device.type == "meta":
        raise ValueError(f"`{name}` must hold data on a real device, got a tensor on 'meta'.")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"`{name}` must have {ndim} dimensions, got shape {tuple(value.shape)}.")
    of = f" of {partner}" if partner else ""
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"`{name}` must have the dtype{of} ({dtype}), got {value.dtype}.")
    if device is not None and value.device != device:
        raise ValueError(f"`{name}` must be on the device{of} ({device}), got {value.device}.")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(f"`{name}` must have the shape{of} {tuple(shape)}, got {tuple(value.shape)}.")
    return check_finite(value, f"`{name}` must not contain NaN or infinity.") if finite else value


def check_finite(value: torch.Tensor, message: str) -> torch.Tensor:
    """Return ``value`` if every entry is finite; otherwise raise ``ValueError(message)``.

    The one NaN/infinity test of the package's tensors: inputs (through :func:`check_tensor`)
    and results, where ``message`` says which argument drove the result out of range.
    """
    if not bool(torch.isfinite(value).all()):
        raise ValueError(message)
    return value
