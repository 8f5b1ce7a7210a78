"""Input checks shared by every public function, one per kind of input.

Each check raises a ``TypeError`` for a value of the wrong kind and a ``ValueError``
for a value of the right kind but out of range. Messages name the argument in
backticks, say what was expected and what arrived, as in
"`learning_rate` must be > 0, got -1.0."

| kind of input            | check                                  |
|--------------------------|----------------------------------------|
| a real number            | :func:`check_real`                     |
| an integer, a count      | :func:`check_int`, :func:`check_count` |
| a seed                   | :func:`check_seed`                     |
| a flag                   | :func:`check_bool`                     |
| one of a few choices     | :func:`check_choice`                   |
| numbers in an array      | :func:`check_array`, :func:`check_vector` |
| a function of the caller | :func:`check_callable`, :func:`call_real` |
| a path to read or write  | :func:`check_path`, :func:`check_output_path` |
| a formula that overflows | :func:`guard_overflow`, :func:`check_finite_result` |
| JSON read from a file    | :func:`parse_json`                     |

The module needs only NumPy, so that lesson 1 never imports PyTorch; tensor checks
live beside the modules that need them.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numpy as np

T = TypeVar("T")

#: Largest integer the checks accept unless told otherwise: the largest 64-bit signed
#: integer, the most that NumPy and PyTorch can hold.
MAX_INT = 2**63 - 1

#: Default upper bound of :func:`check_count`: a count of loop iterations or array
#: entries above ten million takes minutes or gigabytes on one CPU, so it is refused
#: rather than started.
MAX_COUNT = 10_000_000

#: Largest finite float64.
MAX_FLOAT = float(np.finfo(np.float64).max)


def _describe_int(value: int) -> str:
    """A short text for an integer that may have thousands of digits."""
    digits = len(str(abs(value))) if abs(value) < 10**300 else None
    if digits is not None and digits <= 25:
        return str(value)
    sign = "-" if value < 0 else ""
    size = digits if digits is not None else f"about {int(abs(value).bit_length() * math.log10(2)) + 1}"
    return f"{sign}an integer of {size} digits"


# --------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------
def check_real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    non_negative: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float, optionally > 0, >= 0, or within [minimum, maximum].

    Accepts Python and NumPy reals. Refuses bools, complex numbers, strings and
    sequences (``TypeError``), NaN, infinities and integers too large for a float
    such as ``10**400`` (``ValueError``).
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.floating | np.integer):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(
            f"`{name}` is too large to be a float (|{name}| must be below {MAX_FLOAT:.4g}), "
            f"got {_describe_int(int(cast(Any, value)))}."
        ) from None
    if not math.isfinite(out):
        raise ValueError(f"`{name}` must be finite, got {out}.")
    if positive and out <= 0:
        raise ValueError(f"`{name}` must be > 0, got {out}.")
    if non_negative and out < 0:
        raise ValueError(f"`{name}` must be >= 0, got {out}.")
    if minimum is not None and out < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {out}.")
    if maximum is not None and out > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {out}.")
    return out


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = MAX_INT,
    why: str = "the largest 64-bit integer",
) -> int:
    """Return ``value`` as an int within ``[minimum, maximum]``.

    Accepts Python and NumPy integers, refuses bools and floats (even ``2.0``). The
    upper bound defaults to :data:`MAX_INT`; ``why`` says in the message where a
    tighter bound comes from.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral | np.integer):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}.")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {_describe_int(out)}.")
    if maximum is not None and out > maximum:
        raise ValueError(f"`{name}` must be <= {maximum} ({why}), got {_describe_int(out)}.")
    return out


def check_count(
    name: str,
    value: Any,
    *,
    minimum: int = 1,
    maximum: int = MAX_COUNT,
    why: str = "more would take minutes or gigabytes on one machine",
) -> int:
    """Return a count of steps, epochs or entries: an integer in ``[minimum, maximum]``.

    The upper bound is what one machine can do in reasonable time and memory; the
    message states it, so that a typo such as ``10**12`` fails at once instead of
    running for days.
    """
    return check_int(name, value, minimum=minimum, maximum=maximum, why=why)


#: Largest seed each random-number generator takes, and the words a refusal gives for it.
SEED_RANGES = {
    "torch": (2**64 - 1, "2**64 - 1, what torch.Generator takes"),
    "scikit-learn": (2**32 - 1, "2**32 - 1, what scikit-learn takes"),
}
#: Largest seed of ``torch.Generator.manual_seed`` (64-bit unsigned).
MAX_SEED = SEED_RANGES["torch"][0]


def check_seed(value: Any, name: str = "seed", *, taker: Literal["torch", "scikit-learn"] = "torch") -> int:
    """Return a seed: an integer from 0 to the largest that ``taker``'s generator accepts.

    Every seed of the package goes through this check, and so does the CLI's ``--seed``
    (:func:`medai_lessons.cli.seed_type`).
    """
    maximum, why = SEED_RANGES[taker]
    out = check_int(name, value, minimum=0, maximum=None)
    if out > maximum:
        raise ValueError(f"`{name}` must be <= {maximum:,} ({why}), got {out:,}.")
    return out


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (``"no"`` and ``0.5`` are refused, not read as truthy)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False, got {type(value).__name__}.")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``; nothing falls through."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string, one of {tuple(choices)}, got {type(value).__name__}.")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}.")
    return value


# --------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------
def _numeric_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a float64 array, refusing strings, bools, complex and None entries."""
    if isinstance(value, np.ma.MaskedArray) and np.ma.getmaskarray(value).any():
        raise TypeError(
            f"`{name}` is a masked array with masked entries; drop them (`.compressed()`) "
            "or fill them (`.filled(value)`) first."
        )
    if isinstance(value, np.ma.MaskedArray):
        value = value.data  # nothing is masked: the values are the array
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"`{name}` must be a sequence of numbers, got {type(value).__name__}.")
    try:
        raw = np.asarray(value)
    except ValueError as exc:  # ragged nesting
        raise ValueError(f"`{name}` must be a rectangular array of numbers: {exc}") from None
    if raw.dtype.kind == "O":
        flat = raw.ravel().tolist()
        for item in flat:
            if isinstance(item, bool) or not isinstance(item, Real | np.floating | np.integer):
                raise TypeError(f"`{name}` must contain only real numbers, got a {type(item).__name__}.")
        try:
            return np.array(flat, dtype=np.float64).reshape(raw.shape)
        except OverflowError:
            raise ValueError(
                f"`{name}` holds an integer too large to be a float (|value| must be below {MAX_FLOAT:.4g})."
            ) from None
    if raw.dtype.kind not in "iuf":
        kind = {"b": "bools", "c": "complex numbers", "U": "strings", "S": "bytes"}.get(raw.dtype.kind, str(raw.dtype))
        raise TypeError(f"`{name}` must contain only real numbers, got {kind}.")
    return raw.astype(np.float64)


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    min_size: int = 1,
    max_size: int = MAX_COUNT,
) -> np.ndarray:
    """Return ``value`` as a finite float64 array of the given ``ndim`` or ``shape``.

    ``shape`` may hold ``None`` for a free dimension. Entries must be real numbers:
    strings (``["1", "2"]``), bools, complex numbers and ``None`` are refused instead
    of being converted.
    """
    arr = _numeric_array(name, value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-dimensional, got shape {arr.shape}.")
    if shape is not None and (
        arr.ndim != len(shape)
        or any(want is not None and got != want for got, want in zip(arr.shape, shape, strict=True))
    ):
        raise ValueError(f"`{name}` must have shape {shape}, got {arr.shape}.")
    if arr.size < min_size:
        raise ValueError(f"`{name}` must hold at least {min_size} value(s), got {arr.size}.")
    if arr.size > max_size:
        raise ValueError(f"`{name}` must hold at most {max_size} values, got {arr.size}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must not contain NaN or infinity.")
    return arr


def check_vector(name: str, value: Any, *, min_size: int = 1, max_size: int = MAX_COUNT) -> np.ndarray:
    """Return ``value`` as a finite, one-dimensional float64 array."""
    arr = _numeric_array(name, value)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}.")
    if arr.size < min_size:
        raise ValueError(f"`{name}` must hold at least {min_size} value(s), got {arr.size}.")
    if arr.size > max_size:
        raise ValueError(f"`{name}` must hold at most {max_size} values, got {arr.size}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must not contain NaN or infinity.")
    return arr


# --------------------------------------------------------------------------------------
# The caller's own functions
# --------------------------------------------------------------------------------------
def check_callable(name: str, value: Any) -> Callable[..., Any]:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"`{name}` must be callable, got {type(value).__name__}.")
    return value


def as_real_result(name: str, result: Any) -> float:
    """Return what the caller's function ``name`` returned as a float.

    A number, a NumPy scalar, or a one-element array or tensor is accepted; anything
    else (a string, a list, a complex number) is a ``TypeError`` naming ``name``. A
    non-finite value is left to the caller, who knows where it was evaluated.
    """
    shape = getattr(result, "shape", None)
    if not isinstance(result, Real | np.generic) and hasattr(result, "item") and shape is not None:
        if math.prod(shape) != 1:
            raise TypeError(f"`{name}` must return one real number, got an array of shape {tuple(shape)}.")
        result = result.item()
    if isinstance(result, bool | np.bool_) or not isinstance(result, Real | np.floating | np.integer):
        raise TypeError(f"`{name}` must return a real number, got {type(result).__name__}.")
    try:
        return float(result)
    except OverflowError:
        raise ValueError(f"`{name}` returned an integer too large to be a float.") from None


def call_real(name: str, f: Callable[..., Any], *args: Any) -> float:
    """Call the caller's function ``f(*args)`` and return its value as a float.

    Exceptions raised inside ``f`` pass through unchanged (they are the caller's);
    a result that is not a real number is a ``TypeError`` naming ``name``.
    """
    return as_real_result(name, f(*args))


# --------------------------------------------------------------------------------------
# Formulas that overflow
# --------------------------------------------------------------------------------------
def _named(argument: str | Sequence[str]) -> str:
    """``"x"`` -> "`x`"; ``("a", "b", "c")`` -> "`a`, `b` or `c`"."""
    names = [argument] if isinstance(argument, str) else list(argument)
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@contextmanager
def guard_overflow(argument: str | Sequence[str], *, problem: str = "too large", detail: str = "") -> Iterator[None]:
    """Turn an overflow inside a formula into a ``ValueError`` naming the argument.

    Inside the block NumPy raises on overflow, division by zero and invalid results
    (``np.errstate``), and Python's ``OverflowError``/``ZeroDivisionError`` are caught.
    Only wrap the package's own arithmetic, never a call to the caller's function,
    whose exceptions must pass through unchanged.

        with guard_overflow("x"):
            y = (2.0 * x) ** 3
    """
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield
    except (OverflowError, ZeroDivisionError, FloatingPointError):
        hint = f" {detail}" if detail else ""
        raise ValueError(f"{_named(argument)} is {problem}: the formula leaves the float64 range.{hint}") from None


def check_finite_result(
    value: T, *, argument: str | Sequence[str], problem: str = "too large", detail: str = ""
) -> T:
    """Return ``value`` if every number in it is finite, else a ``ValueError`` naming ``argument``.

    For results of the package's own formulas: a float, a NumPy array, or anything
    with ``isfinite`` semantics through NumPy. ``detail`` adds a hint to the message.
    """
    finite = bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    if not finite:
        extra = f" {detail}" if detail else ""
        raise ValueError(f"{_named(argument)} is {problem}: the result is not finite ({value!r}).{extra}")
    return value


# --------------------------------------------------------------------------------------
# JSON read from a file
# --------------------------------------------------------------------------------------
def parse_json(name: str, text: str | bytes, *, what: str, max_bytes: int) -> Any:
    """Parse JSON that a file holds; every failure is a ``ValueError`` naming ``name``.

    ``what`` says which text it is (e.g. "model_index.json"). Refused: more than ``max_bytes``,
    bytes that are not UTF-8, invalid JSON, nesting deeper than Python's recursion limit and
    integers longer than Python's digit limit, each of which Python reports in its own words.
    """
    if len(text) > max_bytes:
        raise ValueError(f"`{name}`: {what} holds {len(text):,} bytes; at most {max_bytes:,} are read.")
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        return json.loads(decoded)
    except UnicodeDecodeError:
        raise ValueError(f"`{name}`: {what} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"`{name}`: {what} is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    except RecursionError:
        raise ValueError(f"`{name}`: {what} is nested too deeply to be a configuration.") from None
    except ValueError:  # an integer beyond Python's digit limit (sys.get_int_max_str_digits)
        raise ValueError(f"`{name}`: {what} holds an integer with too many digits.") from None


# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------
class PathNotFoundError(FileNotFoundError, ValueError):
    """A path argument that does not exist: a ``ValueError`` naming the argument, and still
    a ``FileNotFoundError`` for code that catches that."""


def check_path(
    name: str,
    value: Any,
    *,
    must_exist: bool = True,
    kind: Literal["file", "dir", "any"] = "any",
) -> Path:
    """Return ``value`` as a :class:`~pathlib.Path` to read from.

    ``TypeError`` unless it is a ``str`` or ``os.PathLike``; ``ValueError`` if it is
    empty, holds a NUL byte, does not exist (with ``must_exist``), or is not a file
    or a directory as ``kind`` asks.
    """
    if isinstance(value, bytes) or not isinstance(value, str | os.PathLike):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike), got {type(value).__name__}.")
    text = os.fspath(value)
    if not isinstance(text, str) or not text:
        raise ValueError(f"`{name}` must not be empty, got {text!r}.")
    if "\x00" in text:
        raise ValueError(f"`{name}` must not contain a NUL byte, got {text!r}.")
    path = Path(text)
    if must_exist:
        if not path.exists():
            raise PathNotFoundError(f"`{name}` does not exist: {path}.")
        if kind == "file" and not path.is_file():
            raise ValueError(f"`{name}` must be a file, got a directory or special file: {path}.")
        if kind == "dir" and not path.is_dir():
            raise ValueError(f"`{name}` must be a directory, got a file: {path}.")
    return path


def check_output_path(name: str, value: Any, *, kind: Literal["file", "dir"] = "file") -> Path:
    """Return ``value`` as a path that can be written, checked before any work.

    The path may not exist yet. It must not be the wrong kind of thing (a directory
    where a file is wanted, or the reverse), and its nearest existing ancestor must
    be a writable directory (so a path *inside a file*, or in a read-only place, is
    refused at once rather than after a long run).
    """
    path = check_path(name, value, must_exist=False)
    if path.exists():
        if kind == "file" and path.is_dir():
            raise ValueError(f"`{name}` must be a file path, got an existing directory: {path}.")
        if kind == "dir" and not path.is_dir():
            raise ValueError(f"`{name}` must be a directory, got an existing file: {path}.")
    ancestor = path if (kind == "dir" and path.is_dir()) else path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"`{name}` lies inside a file, not a directory: {ancestor}.")
    try:  # a real probe: permissions alone miss read-only mounts and /proc, even for root
        fd, probe = tempfile.mkstemp(prefix=".medai-write-probe-", dir=ancestor)
    except OSError as exc:
        raise ValueError(f"`{name}` cannot be written: {ancestor} is not writable ({exc.strerror}).") from None
    os.close(fd)
    os.unlink(probe)
    return path
