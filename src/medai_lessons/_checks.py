"""Input checks shared by every public function.

Each check raises a ``TypeError`` for a value of the wrong kind and a ``ValueError``
for a value of the right kind but out of range. Messages name the argument in
backticks, say what was expected and what arrived, as in
"`learning_rate` must be > 0, got -1.0."
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"`{name}` must be callable, got {type(value).__name__}.")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    non_negative: bool = False,
) -> float:
    """Return ``value`` as a finite float, optionally > 0 or >= 0."""
    if isinstance(value, bool) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"`{name}` must be finite, got {out}.")
    if positive and out <= 0:
        raise ValueError(f"`{name}` must be > 0, got {out}.")
    if non_negative and out < 0:
        raise ValueError(f"`{name}` must be >= 0, got {out}.")
    return out


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int, optionally >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}.")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {out}.")
    return out


def check_vector(name: str, value: Any, *, min_size: int = 1) -> np.ndarray:
    """Return ``value`` as a finite, one-dimensional float64 array."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(
            f"`{name}` must be a sequence of numbers, got {type(value).__name__}."
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must contain only numbers.") from exc
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    if arr.size < min_size:
        raise ValueError(f"`{name}` must hold at least {min_size} value(s), got {arr.size}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must not contain NaN or infinity.")
    return arr
