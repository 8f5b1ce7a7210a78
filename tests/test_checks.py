"""Tests of medai_lessons._checks: one validation layer, one rule per kind of input."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medai_lessons import _checks as c


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (10**400, ValueError, r"`v` is too large to be a float .*about 401 digits"),
        (-(10**400), ValueError, "`v` is too large to be a float"),
        (Fraction(10**400, 3), ValueError, "`v` is too large to be a float"),
        (float("nan"), ValueError, "`v` must be finite"),
        (float("-inf"), ValueError, "`v` must be finite"),
        (True, TypeError, "`v` must be a real number, got bool"),
        (np.bool_(True), TypeError, "`v` must be a real number"),
        (1 + 2j, TypeError, "got complex"),
        (np.complex128(1), TypeError, "got complex128"),
        ("1.0", TypeError, "got str"),
        (["1", "2"], TypeError, "got list"),
        (None, TypeError, "got NoneType"),
    ],
)
def test_check_real_refuses_what_is_not_a_finite_float(value, error, match):
    """Huge integers are a ValueError (not OverflowError); bools, complex, strings, lists are TypeErrors."""
    with pytest.raises(error, match=match):
        c.check_real("v", value)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**1000), 2**1000))
def test_check_real_returns_the_same_number_as_float(value):
    """Any finite real that fits in a float64 comes back as that float."""
    assert c.check_real("v", value) == float(value)


def test_check_real_ranges():
    """positive, non_negative, minimum and maximum each name the bound."""
    with pytest.raises(ValueError, match=r"`v` must be > 0, got 0\.0"):
        c.check_real("v", 0, positive=True)
    with pytest.raises(ValueError, match="`v` must be >= 0"):
        c.check_real("v", -1e-300, non_negative=True)
    with pytest.raises(ValueError, match="`v` must be <= 1"):
        c.check_real("v", 1.5, maximum=1)
    with pytest.raises(ValueError, match="`v` must be >= -1"):
        c.check_real("v", -2, minimum=-1)
    assert c.check_real("v", np.float32(0.5), positive=True, maximum=1) == 0.5


def test_check_int_bounds_are_stated():
    """The default ceiling is the largest int64; a count's ceiling says why; floats are refused."""
    with pytest.raises(ValueError, match=r"`n` must be <= 9223372036854775807 \(the largest 64-bit integer\)"):
        c.check_int("n", 2**63)
    with pytest.raises(ValueError, match=r"an integer of 31 digits"):
        c.check_int("n", 10**30)
    with pytest.raises(ValueError, match=r"`epochs` must be <= 10000000 \(more would take minutes"):
        c.check_count("epochs", 10**12)
    with pytest.raises(ValueError, match="`epochs` must be >= 1, got 0"):
        c.check_count("epochs", 0)
    with pytest.raises(TypeError, match="`n` must be an integer, got float"):
        c.check_int("n", 2.0)
    with pytest.raises(TypeError, match="`n` must be an integer, got bool"):
        c.check_int("n", True)
    assert c.check_int("n", np.int64(3), minimum=0) == 3 and c.check_int("n", 2**70, maximum=None) == 2**70


@pytest.mark.parametrize(
    ("value", "taker", "error", "match"),
    [
        (-1, "torch", ValueError, r"^`seed` must be >= 0, got -1\.$"),
        (1.0, "torch", TypeError, r"^`seed` must be an integer, got float\.$"),
        (True, "torch", TypeError, r"^`seed` must be an integer, got bool\.$"),
        (2**64, "torch", ValueError,
         r"^`seed` must be <= 18,446,744,073,709,551,615 \(2\*\*64 - 1, what torch\.Generator takes\), "
         r"got 18,446,744,073,709,551,616\.$"),
        (2**32, "scikit-learn", ValueError,
         r"^`seed` must be <= 4,294,967,295 \(2\*\*32 - 1, what scikit-learn takes\), got 4,294,967,296\.$"),
    ],
)
def test_check_seed_refuses_what_its_generator_cannot_take(value, taker, error, match):
    """One seed check: an integer from 0 to the largest seed of the generator that takes it, the bound stated."""
    with pytest.raises(error, match=match):
        c.check_seed(value, taker=taker)


def test_check_seed_accepts_both_ends_of_each_range():
    """0 and 2**64 - 1 (torch.Generator.manual_seed's uint64) pass; scikit-learn's end is 2**32 - 1."""
    assert c.check_seed(0) == 0 and c.check_seed(np.uint64(2**64 - 1)) == 2**64 - 1 == c.MAX_SEED
    assert c.check_seed(2**32 - 1, "seeds", taker="scikit-learn") == 2**32 - 1


def test_check_bool_and_check_choice():
    """A flag must be a bool and a choice one of the listed strings."""
    assert c.check_bool("flag", np.bool_(False)) is False
    with pytest.raises(TypeError, match="`flag` must be True or False, got str"):
        c.check_bool("flag", "no")
    assert c.check_choice("kind", "linear", ("linear", "cosine")) == "linear"
    with pytest.raises(ValueError, match=r"`kind` must be one of \('linear', 'cosine'\), got 'other'"):
        c.check_choice("kind", "other", ("linear", "cosine"))
    with pytest.raises(TypeError, match="`kind` must be a string"):
        c.check_choice("kind", 1, ("linear",))


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (["1", "2"], TypeError, "`x` must contain only real numbers, got strings"),
        ([1 + 2j, 1.0], TypeError, "got complex numbers"),
        (np.array([1 + 2j]), TypeError, "got complex numbers"),
        ([True, False], TypeError, "got bools"),
        ([None, 1.0], TypeError, "got a NoneType"),
        ([10**400, 1], ValueError, "`x` holds an integer too large to be a float"),
        ([[1.0], [2.0, 3.0]], ValueError, "`x` must be a rectangular array"),
        ([[1.0, 2.0]], ValueError, "`x` must be one-dimensional"),
        ([], ValueError, "`x` must hold at least 1"),
        ([1.0, float("nan")], ValueError, "`x` must not contain NaN"),
        ("12", TypeError, "`x` must be a sequence of numbers, got str"),
        (5.0, TypeError, "got float"),
    ],
)
def test_check_vector_refuses_what_numpy_would_convert(value, error, match):
    """Strings, bools, complex numbers and None are refused instead of being read as numbers."""
    with pytest.raises(error, match=match):
        c.check_vector("x", value)


def test_check_array_shape_and_size():
    """A free dimension is None; a wrong shape or too many values is named."""
    arr = c.check_array("grid", [[1, 2, 3], [4, 5, 6]], shape=(None, 3))
    assert arr.dtype == np.float64 and arr.shape == (2, 3)
    with pytest.raises(ValueError, match=r"`grid` must have shape \(None, 2\), got \(2, 3\)"):
        c.check_array("grid", arr, shape=(None, 2))
    with pytest.raises(ValueError, match="`grid` must hold at most 4 values"):
        c.check_array("grid", arr, max_size=4)


def test_call_real_passes_the_caller_s_exceptions_through_and_names_f():
    """f's own ZeroDivisionError arrives unchanged; a string result is a TypeError naming f."""
    with pytest.raises(ZeroDivisionError):
        c.call_real("f", lambda v: v / 0, 1.0)
    with pytest.raises(TypeError, match="`f` must return a real number, got str"):
        c.call_real("f", lambda v: "x", 1.0)
    with pytest.raises(TypeError, match=r"`f` must return one real number, got an array of shape \(2,\)"):
        c.call_real("f", lambda v: np.ones(2), 1.0)
    assert c.call_real("f", lambda v: np.array([2.5]), 1.0) == 2.5
    assert c.call_real("f", lambda v: np.float32(0.5), 1.0) == 0.5


def test_guard_overflow_names_the_argument():
    """Python and NumPy overflow inside the block become a ValueError naming the argument."""
    with pytest.raises(ValueError, match="`x` is too large: the formula leaves"), c.guard_overflow("x"):
        (2.0 * 1e103) ** 3
    with pytest.raises(ValueError, match="`x` or `y` is too large"), c.guard_overflow(("x", "y")):
        np.array([1e200]) ** 2
    with pytest.raises(ValueError, match="`a` is too small"), c.guard_overflow("a", problem="too small"):
        1.0 / np.float64(0.0)


def test_check_finite_result():
    """A finite result comes back unchanged; inf or NaN is a ValueError naming the argument."""
    assert c.check_finite_result((1.0, 2.0), argument="a") == (1.0, 2.0)
    with pytest.raises(ValueError, match=r"`a` is too small: the result is not finite \(\(inf, inf\)\)"):
        c.check_finite_result((float("inf"),) * 2, argument="a", problem="too small")


def test_check_path_and_check_output_path(tmp_path):
    """Paths to read must exist with the right kind; paths to write need a writable directory above."""
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert c.check_path("path", str(a_file), kind="file") == a_file
    with pytest.raises(ValueError, match="`path` does not exist"):
        c.check_path("path", tmp_path / "missing")
    with pytest.raises(ValueError, match="`path` must be a directory, got a file"):
        c.check_path("path", a_file, kind="dir")
    with pytest.raises(TypeError, match="`path` must be a path"):
        c.check_path("path", 5)
    with pytest.raises(ValueError, match="`path` must not be empty"):
        c.check_path("path", "")
    with pytest.raises(ValueError, match="NUL byte"):
        c.check_path("path", "a\x00b")
    assert c.check_output_path("out", tmp_path / "new" / "deeper" / "x.png") == tmp_path / "new" / "deeper" / "x.png"
    with pytest.raises(ValueError, match="`out` lies inside a file"):
        c.check_output_path("out", a_file / "x.png")
    with pytest.raises(ValueError, match="`out` must be a file path, got an existing directory"):
        c.check_output_path("out", tmp_path)
    with pytest.raises(ValueError, match="`out` must be a directory, got an existing file"):
        c.check_output_path("out", a_file, kind="dir")
    if os.geteuid() != 0:  # root may write anywhere
        with pytest.raises(ValueError, match="`out` cannot be written"):
            c.check_output_path("out", "/proc/medai-out")
