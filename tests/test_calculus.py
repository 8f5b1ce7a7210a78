"""Tests of medai_lessons.calculus: numerical derivatives against exact ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medai_lessons import calculus

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(("x", "slope"), [(1.0, 2.0), (3.0, 6.0), (-2.0, -4.0), (0.0, 0.0)])
def test_central_difference_matches_the_lesson_table(x, slope):
    """The x² table of lesson 1: f'(x) = 2x at x = 1, 3, −2, 0."""
    assert calculus.central_difference(lambda v: v**2, x) == pytest.approx(slope, abs=1e-8)


@given(x=finite, a=st.floats(-5, 5), b=st.floats(-5, 5), c=st.floats(-5, 5))
def test_central_difference_is_exact_for_quadratics(x, a, b, c):
    """A central difference has no truncation error on a quadratic: only rounding remains."""
    f = lambda v: a * v**2 + b * v + c  # noqa: E731
    scale = 1 + abs(a) * x * x + abs(b * x) + abs(c)
    assert calculus.central_difference(f, x) == pytest.approx(2 * a * x + b, abs=1e-9 * scale / 1e-5)


@given(x=st.floats(-3, 3))
def test_central_difference_error_shrinks_like_h_squared(x):
    """Halving h cuts the error on sin by about four (second-order accuracy)."""
    exact = math.cos(x)
    e1 = abs(calculus.central_difference(math.sin, x, h=1e-2) - exact)
    e2 = abs(calculus.central_difference(math.sin, x, h=5e-3) - exact)
    if e1 > 1e-9:  # away from the zeros of sin''' the ratio is clean
        assert e2 / e1 == pytest.approx(0.25, rel=0.01)


def test_secant_differs_from_tangent_on_the_dose_response_curve():
    """Lesson 1's picture: secant 1→2 mg is 16.67 %/mg, the tangent at 1 mg is 22.22 %/mg."""
    secant = calculus.secant_slope(calculus.dose_response, 1.0, 2.0)
    tangent = calculus.dose_response_slope(1.0)
    assert secant == pytest.approx(50.0 / 3.0)  # (50 − 33.33) / 1
    assert tangent == pytest.approx(200.0 / 9.0)  # E_max·ED50 / (ED50 + 1)² = 100·2/9
    assert calculus.central_difference(calculus.dose_response, 1.0) == pytest.approx(tangent)


@given(d=st.floats(0.01, 100))
def test_dose_response_slope_is_its_derivative(d):
    """The closed-form Emax slope equals the numerical derivative at any dose."""
    assert calculus.central_difference(calculus.dose_response, d, h=min(1e-5, d / 2)) == (
        pytest.approx(calculus.dose_response_slope(d), rel=1e-6, abs=1e-9)
    )


@given(w=st.lists(st.floats(-10, 10), min_size=1, max_size=6))
def test_gradient_of_sum_of_squares_is_twice_the_point(w):
    """∇(Σ w_i²) = 2w."""
    grad = calculus.gradient(lambda v: float(np.sum(v**2)), w)
    np.testing.assert_allclose(grad, 2 * np.array(w), atol=1e-6)


def test_partial_derivative_holds_other_coordinates_fixed():
    """∂/∂w₂ of w₁·w₂² at (3, 2) is 2·w₁·w₂ = 12; ∂/∂w₁ is w₂² = 4."""
    f = lambda v: v[0] * v[1] ** 2  # noqa: E731
    assert calculus.partial_derivative(f, [3.0, 2.0], 1) == pytest.approx(12.0)
    assert calculus.partial_derivative(f, [3.0, 2.0], 0) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: calculus.central_difference(42, 1.0), TypeError, "`f` must be callable"),
        (lambda: calculus.central_difference(abs, "1"), TypeError, "`x` must be a real number"),
        (lambda: calculus.central_difference(abs, float("nan")), ValueError, "`x` must be finite"),
        (lambda: calculus.central_difference(abs, 1.0, h=0), ValueError, "`h` must be > 0"),
        (lambda: calculus.central_difference(abs, 1.0, h=-1e-3), ValueError, "`h` must be > 0"),
        (lambda: calculus.central_difference(math.log, 0.0), ValueError, "non-finite|math domain"),
        (lambda: calculus.secant_slope(abs, 2.0, 2.0), ValueError, "`a` and `b` must differ"),
        (lambda: calculus.gradient(sum, []), ValueError, "`point` must hold at least 1"),
        (lambda: calculus.gradient(sum, [1.0, float("inf")]), ValueError, "`point` must not contain"),
        (lambda: calculus.gradient(sum, "12"), TypeError, "`point` must be a sequence"),
        (lambda: calculus.gradient(sum, [[1.0]]), ValueError, "`point` must be one-dimensional"),
        (lambda: calculus.partial_derivative(sum, [1.0], 1), ValueError, "`index` must be < 1"),
        (lambda: calculus.partial_derivative(sum, [1.0], -1), ValueError, "`index` must be >= 0"),
        (lambda: calculus.partial_derivative(sum, [1.0], 0.5), TypeError, "`index` must be an integer"),
        (lambda: calculus.dose_response(-1.0), ValueError, "`dose` must be >= 0"),
        (lambda: calculus.dose_response(1.0, ed50=0), ValueError, "`ed50` must be > 0"),
        (lambda: calculus.dose_response_slope(1.0, e_max=True), TypeError, "`e_max` must be a real"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    """Every check raises the documented error type with the argument's name."""
    with pytest.raises(error, match=match):
        call()


@given(m=st.floats(-20, 20), c=st.floats(-20, 20), a=finite, gap=st.floats(0.01, 10))
def test_secant_of_a_straight_line_is_its_slope(m, c, a, gap):
    """Any secant of y = m·x + c has slope m: a line has no difference between average and instant."""
    tolerance = 1e-6 * (1 + abs(c) + abs(m * a))
    assert calculus.secant_slope(lambda v: m * v + c, a, a + gap) == pytest.approx(m, abs=tolerance)


@given(p=st.lists(st.floats(-5, 5), min_size=1, max_size=5), data=st.data())
def test_partial_derivative_of_a_weighted_sum_is_its_weight(p, data):
    """∂/∂w_i of Σ_j c_j·w_j is c_i whatever the other coordinates are."""
    c = data.draw(st.lists(st.floats(-5, 5), min_size=len(p), max_size=len(p)))
    i = data.draw(st.integers(0, len(p) - 1))
    f = lambda v: float(np.dot(c, v))  # noqa: E731
    assert calculus.partial_derivative(f, p, i) == pytest.approx(c[i], abs=1e-6)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calculus.dose_response(10**400), "`dose` is too large to be a float"),
        (lambda: calculus.dose_response(1e308, e_max=10.0), "`dose` or `e_max` is too large"),
        (lambda: calculus.dose_response_slope(0.0, ed50=1e-200), "`ed50` is too small"),
        (lambda: calculus.central_difference(math.sin, 1e308, h=1e308), "`x` or `h` is too large"),
        (lambda: calculus.secant_slope(math.sin, -1e308, 1e308), "`a` or `b` is too large"),
        (lambda: calculus.secant_slope(lambda v: float("nan"), 0.0, 1.0), "`f` returned a non-finite value"),
    ],
)
def test_overflowing_formulas_name_the_argument(call, match):
    """Issue 10's reproducers: no OverflowError, ZeroDivisionError or inf, a ValueError naming the argument."""
    with pytest.raises(ValueError, match=match):
        call()


def test_the_caller_s_function_is_blamed_only_for_what_it_returns():
    """f raising passes through unchanged; f returning a string is a TypeError naming `f`."""
    with pytest.raises(ZeroDivisionError):
        calculus.central_difference(lambda v: 1 / 0, 1.0)
    with pytest.raises(TypeError, match="`f` must return a real number, got str"):
        calculus.gradient(lambda v: "x", [1.0, 2.0])
    assert calculus.central_difference(lambda v: np.float32(v) * 2, 1.0, h=1e-2) == pytest.approx(2.0, rel=1e-4)
