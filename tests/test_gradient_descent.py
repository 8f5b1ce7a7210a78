"""Tests of medai_lessons.gradient_descent: regimes, the line fit and its optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medai_lessons import gradient_descent as gd

X = [1.0, 2.0, 3.0, 4.0, 5.0]
Y = [2.1, 3.9, 6.2, 8.0, 9.8]
START = (0.9501, 0.7320)  # the reference lesson's printed random start

curvature = st.floats(min_value=0.01, max_value=10)
rate_factor = st.floats(min_value=0.01, max_value=3)


@given(a=curvature, k=rate_factor, start=st.floats(-6, 6).filter(lambda s: abs(s) > 1e-3))
def test_regime_matches_what_the_trajectory_does(a, k, start):
    """Below 1/(2a) no overshoot; between 1/(2a) and 1/a overshoot but shrink; above 1/a grow."""
    learning_rate = k / a  # k/(2a)... sweeps across both thresholds
    run = gd.descend_quadratic(a, learning_rate, start, 30)
    theta = run.trajectory
    if abs(2 * a * learning_rate - 1) < 1e-9 or abs(a * learning_rate - 1) < 1e-9:
        return  # exactly on a threshold; covered by its own test
    if run.regime == "converges":
        assert np.all(np.sign(theta) == np.sign(start)) and np.all(np.diff(np.abs(theta)) < 0)
    elif run.regime == "oscillates":
        assert np.all(np.sign(theta[1:]) != np.sign(theta[:-1]))
        assert np.all(np.diff(np.abs(theta)) < 0)
    else:
        assert run.regime == "diverges" and np.all(np.diff(np.abs(theta)) > 0)


def test_thresholds_of_the_explorer_loss():
    """For f = 0.35θ² the limits are 1/(2a) = 1.4286 and 1/a = 2.8571 (lesson 1's presets)."""
    low, high = gd.learning_rate_thresholds(0.35)
    assert (round(low, 4), round(high, 4)) == (1.4286, 2.8571)
    presets = {0.01: "converges", 0.5: "converges", 2.5: "oscillates", 3.0: "diverges"}
    assert {lr: gd.quadratic_regime(0.35, lr) for lr in presets} == presets


def test_regime_on_the_exact_thresholds():
    """At η = 1/(2a) one step lands on the minimum; at η = 1/a it bounces for ever."""
    one_step = gd.descend_quadratic(0.5, 1.0, 4.0, 3)  # r = 1 − 2·0.5·1 = 0
    assert one_step.regime == "converges" and one_step.trajectory.tolist() == [4.0, 0.0, 0.0, 0.0]
    bounce = gd.descend_quadratic(0.5, 2.0, 4.0, 3)  # r = −1
    assert bounce.regime == "oscillates" and bounce.trajectory.tolist() == [4.0, -4.0, 4.0, -4.0]


@given(a=curvature, lr=st.floats(0.001, 1), start=st.floats(-6, 6), n=st.integers(0, 40))
def test_trajectory_follows_the_closed_form(a, lr, start, n):
    """θ_n = θ_0 (1 − 2aη)^n, and losses are a·θ²."""
    run = gd.descend_quadratic(a, lr, start, n)
    expected = start * (1 - 2 * a * lr) ** np.arange(n + 1)
    np.testing.assert_allclose(run.trajectory, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(run.losses, a * run.trajectory**2)


def _plain_python_descent(x, y, lr, epochs, init):
    """(loss before the update, w after, b after) per epoch, with no NumPy and no package code."""
    w, b = init
    n, log = len(x), []
    for _ in range(epochs):
        residuals = [w * xi + b - yi for xi, yi in zip(x, y, strict=True)]
        loss = sum(r * r for r in residuals) / n
        grad_w = sum(2 * r * xi for r, xi in zip(residuals, x, strict=True)) / n
        grad_b = sum(2 * r for r in residuals) / n
        w, b = w - lr * grad_w, b - lr * grad_b
        log.append((loss, w, b))
    return log


def test_fit_line_trains_with_line_fit_gradients(monkeypatch):
    """The gradient the tests verify is the one that trains: fit_line calls line_fit_gradients each epoch."""
    calls = []
    original = gd.line_fit_gradients

    def spy(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(gd, "line_fit_gradients", spy)
    gd.fit_line(X, Y, learning_rate=0.01, epochs=7, init=START)
    assert len(calls) == 7


def test_fit_line_reproduces_the_corrected_training_log():
    """From the reference's start, epochs 100 and 1000 give the values a plain-Python loop gives."""
    fit = gd.fit_line(X, Y, learning_rate=0.01, epochs=1000, init=START)
    # the golden values are recomputed here by a plain-Python loop written from the update rule
    log = _plain_python_descent(X, Y, 0.01, 1000, START)
    assert [round(v, 4) for v in log[99]] == [0.0742, 1.7925, 0.7186]
    assert [round(v, 4) for v in log[999]] == [0.0151, 1.9425, 0.177]
    assert [round(v, 4) for v in (fit.losses[99], fit.ws[99], fit.bs[99])] == [0.0742, 1.7925, 0.7186]
    assert [round(v, 4) for v in (fit.losses[-1], fit.w, fit.b)] == [0.0151, 1.9425, 0.177]
    np.testing.assert_allclose(np.c_[fit.losses, fit.ws, fit.bs], log, rtol=1e-12)
    assert round(fit.predict(6.0), 4) == 11.8321
    assert np.all(np.diff(fit.losses) < 0)


def test_least_squares_optimum_is_w_1_95_b_0_15():
    """The closed form: w = 19.5/10, b = 6 − 3w, MSE 0.075/5."""
    w, b = gd.least_squares_line(X, Y)
    assert (w, b) == pytest.approx((1.95, 0.15))
    assert gd.mse(X, Y, w, b) == pytest.approx(0.015)


@pytest.mark.parametrize(("lr", "epochs"), [(0.01, 20000), (0.04, 1000)])
def test_more_epochs_or_a_larger_stable_rate_reach_the_optimum(lr, epochs):
    """Gradient descent ends at the least-squares line when given enough steps."""
    fit = gd.fit_line(X, Y, learning_rate=lr, epochs=epochs, init=START)
    assert (fit.w, fit.b) == pytest.approx((1.95, 0.15), abs=1e-5)


@given(
    xy=st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=2, max_size=8),
    w=st.floats(-5, 5),
    b=st.floats(-5, 5),
)
def test_hand_gradients_match_central_differences(xy, w, b):
    """mean(2(ŷ−y)x) and mean(2(ŷ−y)) are the partial derivatives of the MSE."""
    from medai_lessons.calculus import gradient

    x, y = (list(t) for t in zip(*xy, strict=True))
    numeric = gradient(lambda p: gd.mse(x, y, p[0], p[1]), [w, b], h=1e-4)
    np.testing.assert_allclose(gd.line_fit_gradients(x, y, w, b), numeric, rtol=1e-6, atol=1e-6)


def test_max_stable_learning_rate_is_the_divergence_boundary():
    """2/λ_max = 0.0845 for X = 1..5: just below it converges, just above it blows up."""
    limit = gd.max_stable_learning_rate(X)
    assert round(limit, 4) == 0.0845
    below = gd.fit_line(X, Y, learning_rate=0.98 * limit, epochs=3000, init=START)
    assert (below.w, below.b) == pytest.approx((1.95, 0.15), abs=1e-4)
    with pytest.raises(ValueError, match=r"`learning_rate`=0\.09 made the fit diverge"):
        gd.fit_line(X, Y, learning_rate=0.09, epochs=5000, init=START)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": []}, ValueError, "`x` must hold at least 1"),
        ({"x": [1.0, 2.0]}, ValueError, "`x` and `y` must have the same length"),
        ({"y": [1, 2, 3, 4, float("nan")]}, ValueError, "`y` must not contain NaN"),
        ({"x": "12345"}, TypeError, "`x` must be a sequence"),
        ({"learning_rate": 0}, ValueError, "`learning_rate` must be > 0"),
        ({"learning_rate": -1.0}, ValueError, "`learning_rate` must be > 0, got -1.0"),
        ({"epochs": 0}, ValueError, "`epochs` must be >= 1"),
        ({"epochs": 10.0}, TypeError, "`epochs` must be an integer"),
        ({"init": (1.0,)}, TypeError, "`init` must be a pair"),
        ({"init": (1.0, float("inf"))}, ValueError, "`init\\[1\\]` must be finite"),
    ],
)
def test_fit_line_rejects_bad_input_by_name(kwargs, error, match):
    """Empty, mismatched, non-finite inputs and bad hyper-parameters get named errors."""
    args = {"x": X, "y": Y} | kwargs
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(error, match=match):
        gd.fit_line(x, y, **args)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gd.descend_quadratic(0, 0.1, 1.0, 5), ValueError, "`a` must be > 0"),
        (lambda: gd.descend_quadratic(1, 0.1, 1.0, -1), ValueError, "`num_steps` must be >= 0"),
        (lambda: gd.descend_quadratic(1, 5.0, 1.0, 10_000), ValueError, "diverged after"),
        (lambda: gd.quadratic_regime(1, float("nan")), ValueError, "`learning_rate` must be finite"),
        (lambda: gd.least_squares_line([2.0, 2.0], [1.0, 3.0]), ValueError, "`x` must not be constant"),
        (lambda: gd.least_squares_line([2.0], [1.0]), ValueError, "at least 2 values"),
        (lambda: gd.max_stable_learning_rate([]), ValueError, "`x` must hold at least 1"),
    ],
)
def test_other_functions_reject_bad_input_by_name(call, error, match):
    """Every public function checks its arguments."""
    with pytest.raises(error, match=match):
        call()


@given(a=curvature)
def test_thresholds_are_one_half_and_one_over_a(a):
    """The monotone limit is half the divergence limit, and both scale like 1/a."""
    low, high = gd.learning_rate_thresholds(a)
    assert high == pytest.approx(2 * low) and high == pytest.approx(1 / a)
    assert gd.quadratic_regime(a, 0.99 * low) == "converges"
    assert gd.quadratic_regime(a, 1.01 * low) == "oscillates"
    assert gd.quadratic_regime(a, 1.01 * high) == "diverges"


line = st.tuples(st.floats(-5, 5), st.floats(-5, 5))
# distinct doses on a 0.5 grid: well-conditioned, like real dosing schedules
xs = st.lists(st.integers(-20, 20), min_size=2, max_size=8, unique=True).map(lambda v: [i / 2 for i in v])


@given(wb=line, x=xs)
def test_least_squares_recovers_an_exact_line(wb, x):
    """Points that lie on w·x + b give back w and b, with zero loss and zero gradient."""
    w, b = wb
    y = [w * v + b for v in x]
    w_fit, b_fit = gd.least_squares_line(x, y)
    assert (w_fit, b_fit) == pytest.approx((w, b), abs=1e-6)
    assert gd.mse(x, y, w_fit, b_fit) == pytest.approx(0, abs=1e-9)
    assert gd.line_fit_gradients(x, y, w_fit, b_fit) == pytest.approx((0, 0), abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(x=xs, shift=st.floats(-5, 5))
def test_max_stable_learning_rate_is_two_over_the_largest_curvature(x, shift):
    """2/λ_max of the MSE's Hessian; numerically, λ_max bounds the second difference of the loss.

    The MSE is quadratic, so its second difference along a unit direction d is dᵀHd at any
    point: never above λ_max, and equal to it along the steepest direction. The point
    (w, b) = (shift, −shift) is arbitrary; the sweep of directions finds the maximum.
    """
    limit = gd.max_stable_learning_rate(x)
    n, sx, sxx = len(x), sum(x), sum(v * v for v in x)
    trace, det = 2 * (sxx + n) / n, 4 * (sxx * n - sx * sx) / n**2
    lam_max = trace / 2 + ((trace / 2) ** 2 - det) ** 0.5  # larger root of λ² − trace·λ + det
    assert limit == pytest.approx(2 / lam_max, rel=1e-6)
    y = [0.5 * v for v in x]
    w0, b0, h = shift, -shift, 1e-3
    curvatures = []
    for angle in np.linspace(0, np.pi, 181):  # every degree
        dw, db = np.cos(angle), np.sin(angle)
        second = (
            gd.mse(x, y, w0 + h * dw, b0 + h * db) - 2 * gd.mse(x, y, w0, b0) + gd.mse(x, y, w0 - h * dw, b0 - h * db)
        ) / h**2
        curvatures.append(second)
    assert max(curvatures) <= lam_max * (1 + 1e-4) + 1e-4
    assert max(curvatures) == pytest.approx(lam_max, rel=1e-3)


@given(x=xs, y_noise=st.lists(st.floats(-1, 1), min_size=8, max_size=8), frac=st.floats(0.05, 0.45))
def test_fit_line_loss_never_rises_below_the_monotone_rate(x, y_noise, frac):
    """With η below 1/λ_max every epoch lowers the MSE (up to rounding)."""
    y = [2 * v + 1 + e for v, e in zip(x, y_noise, strict=False)]
    lr = frac * gd.max_stable_learning_rate(x)  # = 2·frac/λ_max < 1/λ_max
    fit = gd.fit_line(x, y, learning_rate=lr, epochs=50)
    assert np.all(np.diff(fit.losses) <= 1e-9 * (1 + fit.losses[:-1]))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gd.learning_rate_thresholds(5e-324), "`a` is too small"),
        (lambda: gd.least_squares_line([1e200, -1e200], [1e200, -1e200]), "`x` or `y` is too large"),
        (lambda: gd.fit_line(X, Y, learning_rate=1e200, epochs=1), r"`learning_rate`=1e\+200 made the fit diverge"),
        (lambda: gd.fit_line(X, Y, epochs=10**12), r"`epochs` must be <= 1000000"),
        (lambda: gd.descend_quadratic(0.35, 0.5, 1e200, 3), r"`start` must satisfy \|start\| <= 1e\+150"),
        (lambda: gd.mse(X, Y, 1e308, 0.0), "`x`, `y`, `w` or `b` is too large"),
        (lambda: gd.max_stable_learning_rate([1e200, 1.0]), "`x` is too large"),
        (lambda: gd.fit_line(["1", "2"], ["3", "4"]), "`x` must contain only real numbers, got strings"),
    ],
)
def test_overflow_and_bad_values_name_the_argument(call, match):
    """Issue 10's reproducers: each is a ValueError/TypeError naming the argument, never inf, NaN or OverflowError."""
    with pytest.raises((ValueError, TypeError), match=match):
        call()
