r"""Gradient descent: the update rule, the learning rate, and a line fit.

The update rule of lesson 1,

$$w \leftarrow w - \eta\,\nabla L(w),$$

is applied here to two losses the lesson studies:

* a one-dimensional quadratic $f(\theta) = a\theta^2$, where the fate of every
  learning rate can be predicted exactly, and
* the mean squared error of a straight line $\hat y = wx + b$ fitted to
  dose/response data.

Notation:

| code              | lesson            | meaning                                    |
|-------------------|-------------------|--------------------------------------------|
| ``learning_rate`` | $\eta$ or $\alpha$ | step size                                 |
| ``a``             | $a$               | curvature of $f(\theta) = a\theta^2$       |
| ``theta``         | $\theta$          | the single parameter of the quadratic       |
| ``w``, ``b``      | $w$, $b$          | slope and intercept of the fitted line      |
| ``y_hat``         | $\hat y$          | the line's prediction $wx + b$              |
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ._checks import check_count, check_finite_result, check_real, check_vector, guard_overflow
from .limits import MAX_FIT_EPOCHS, MAX_FIT_WORK

__all__ = [
    "LineFit",
    "QuadraticDescent",
    "Regime",
    "descend_quadratic",
    "fit_line",
    "learning_rate_thresholds",
    "least_squares_line",
    "line_fit_gradients",
    "max_stable_learning_rate",
    "mse",
    "quadratic_regime",
]

Regime = Literal["converges", "oscillates", "diverges"]

#: A loss above this is treated as a run that has blown up.
_DIVERGED = 1e100
#: A position beyond this is treated as divergence (θ² must still fit in a float64).
_MAX_THETA = 1e150


# --------------------------------------------------------------------------------------
# 1-D quadratic: f(theta) = a * theta**2
# --------------------------------------------------------------------------------------


def learning_rate_thresholds(a: float) -> tuple[float, float]:
    r"""The two critical learning rates of $f(\theta) = a\theta^2$.

    One step multiplies $\theta$ by $r = 1 - 2a\eta$. Hence

    * $\eta < \frac{1}{2a}$: $0 < r < 1$, monotone convergence;
    * $\frac{1}{2a} < \eta < \frac{1}{a}$: $-1 < r < 0$, the sign flips every
      step but the size shrinks (oscillating convergence);
    * $\eta > \frac{1}{a}$: $|r| > 1$, divergence.

    Returns:
        ``(1 / (2a), 1 / a)``.
    """
    a = check_real("a", a, positive=True)
    thresholds = (1.0 / (2.0 * a), 1.0 / a)
    return check_finite_result(
        thresholds, argument="a", problem="too small", detail="1/(2a) must fit in a float64: use a >= 2.8e-308."
    )


def quadratic_regime(a: float, learning_rate: float) -> Regime:
    r"""Name what gradient descent does on $a\theta^2$ with this learning rate.

    ``"converges"`` for $\eta \le \frac{1}{2a}$ (no overshoot), ``"oscillates"`` for
    $\frac{1}{2a} < \eta \le \frac{1}{a}$ (overshoots every step; at exactly
    $\frac{1}{a}$ it bounces between $\pm\theta_0$ for ever), ``"diverges"`` above
    $\frac{1}{a}$.
    """
    a = check_real("a", a, positive=True)
    learning_rate = check_real("learning_rate", learning_rate, positive=True)
    r = 1.0 - 2.0 * a * learning_rate  # the factor one step multiplies theta by
    if r >= 0.0:
        return "converges"
    if r >= -1.0:
        return "oscillates"
    return "diverges"


@dataclass(frozen=True)
class QuadraticDescent:
    """The path of gradient descent on $f(\\theta) = a\\theta^2$."""

    a: float
    learning_rate: float
    trajectory: np.ndarray  # theta_0, theta_1, ..., theta_n
    losses: np.ndarray  # f(theta_k) for each entry of the trajectory
    regime: Regime


def descend_quadratic(
    a: float, learning_rate: float, start: float, num_steps: int
) -> QuadraticDescent:
    r"""Run ``num_steps`` steps of $\theta \leftarrow \theta - \eta \cdot 2a\theta$.

    Args:
        a: Curvature of the loss $f(\theta) = a\theta^2$; must be > 0.
        learning_rate: Step size $\eta$; must be > 0.
        start: Initial position $\theta_0$.
        num_steps: How many updates to make; must be >= 0.

    Returns:
        The whole trajectory (``num_steps + 1`` positions), the loss at each, and
        the regime predicted by :func:`quadratic_regime`.
    """
    a = check_real("a", a, positive=True)
    learning_rate = check_real("learning_rate", learning_rate, positive=True)
    start = check_real("start", start)
    num_steps = check_count("num_steps", num_steps, minimum=0)
    if abs(start) > _MAX_THETA:
        raise ValueError(f"`start` must satisfy |start| <= {_MAX_THETA:.0e} so that θ² fits in a float64, got {start}.")
    theta = start
    path = [theta]
    for step in range(num_steps):
        grad = 2.0 * a * theta  # f'(theta)
        theta = theta - learning_rate * grad
        if not abs(theta) <= _MAX_THETA:
            raise ValueError(
                f"`learning_rate`={learning_rate} diverged after {step + 1} steps "
                f"(|theta| > {_MAX_THETA:.0e}); use fewer `num_steps` to watch it blow up."
            )
        path.append(theta)
    trajectory = np.array(path)
    losses = check_finite_result(
        a * trajectory**2, argument=("a", "start"), detail="The loss a·θ² must fit in a float64."
    )
    return QuadraticDescent(
        a=a,
        learning_rate=learning_rate,
        trajectory=trajectory,
        losses=losses,
        regime=quadratic_regime(a, learning_rate),
    )


# --------------------------------------------------------------------------------------
# Straight-line fit by gradient descent on the mean squared error
# --------------------------------------------------------------------------------------


_XYWB = ("x", "y", "w", "b")
_XYWB_TEXT = "`x`, `y`, `w` or `b`"


def _check_xy(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray):
    x_arr = check_vector("x", x)
    y_arr = check_vector("y", y)
    if x_arr.shape != y_arr.shape:
        raise ValueError(f"`x` and `y` must have the same length, got {x_arr.size} and {y_arr.size}.")
    return x_arr, y_arr


def mse(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, w: float, b: float) -> float:
    r"""Mean squared error $L(w, b) = \frac{1}{N}\sum_i (w x_i + b - y_i)^2$."""
    x_arr, y_arr = _check_xy(x, y)
    w = check_real("w", w)
    b = check_real("b", b)
    with guard_overflow(_XYWB, detail="The squared errors must fit in a float64."):
        return float(np.mean((w * x_arr + b - y_arr) ** 2))


def line_fit_gradients(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, w: float, b: float
) -> tuple[float, float]:
    r"""The hand-derived gradient of the MSE.

    By the chain rule through $\hat y_i = w x_i + b$:

    $$\frac{\partial L}{\partial w} = \frac{1}{N}\sum_i 2(\hat y_i - y_i)\,x_i, \qquad
      \frac{\partial L}{\partial b} = \frac{1}{N}\sum_i 2(\hat y_i - y_i).$$

    Returns:
        ``(dL/dw, dL/db)``.
    """
    x_arr, y_arr = _check_xy(x, y)
    w = check_real("w", w)
    b = check_real("b", b)
    residual = w * x_arr + b - y_arr  # y_hat - y
    grads = float(np.mean(2.0 * residual * x_arr)), float(np.mean(2.0 * residual))
    if not (math.isfinite(grads[0]) and math.isfinite(grads[1])):
        raise ValueError(f"{_XYWB_TEXT} is too large: the residuals and gradients must fit in a float64, got {grads}.")
    return grads


def least_squares_line(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    r"""The exact minimiser of the MSE, where both partial derivatives are zero.

    $$w^\star = \frac{\sum_i (x_i - \bar x)(y_i - \bar y)}{\sum_i (x_i - \bar x)^2},
      \qquad b^\star = \bar y - w^\star \bar x.$$
    """
    x_arr, y_arr = _check_xy(x, y)
    if x_arr.size < 2:
        raise ValueError(f"`x` must hold at least 2 values to fit a line, got {x_arr.size}.")
    with guard_overflow(("x", "y"), detail="Sums of squares and products of `x` and `y` must fit in a float64."):
        dx = x_arr - x_arr.mean()
        sxx = float(np.sum(dx**2))
        if sxx == 0.0:
            raise ValueError("`x` must not be constant: at least two different doses are needed to fit a slope.")
        w = float(np.sum(dx * (y_arr - y_arr.mean())) / sxx)
        b = float(y_arr.mean() - w * x_arr.mean())
    return check_finite_result((w, b), argument=("x", "y"), detail="The slope and intercept must fit in a float64.")


def max_stable_learning_rate(x: Sequence[float] | np.ndarray) -> float:
    r"""Largest learning rate for which gradient descent on the line-fit MSE converges.

    The MSE is a quadratic bowl whose curvature is the Hessian
    $H = \frac{2}{N}\begin{pmatrix}\sum x_i^2 & \sum x_i\\ \sum x_i & N\end{pmatrix}$.
    Along its steepest axis (eigenvalue $\lambda_{\max}$) one step multiplies the
    error by $1 - \eta\lambda_{\max}$, so descent converges exactly when
    $\eta < 2/\lambda_{\max}$ (the 2-D version of the $1/a$ threshold above).
    """
    x_arr = check_vector("x", x)
    n = x_arr.size
    with guard_overflow("x", detail="Σx² must fit in a float64."):
        hessian = (2.0 / n) * np.array([[np.sum(x_arr**2), np.sum(x_arr)], [np.sum(x_arr), n]])
    return float(2.0 / np.linalg.eigvalsh(hessian).max())


@dataclass(frozen=True)
class LineFit:
    """Result of :func:`fit_line`.

    ``losses[k]`` is the MSE measured during epoch ``k + 1``, *before* that epoch's
    update (as a training loop logs it); ``ws[k]`` and ``bs[k]`` are the parameters
    *after* the update of epoch ``k + 1``.
    """

    w: float
    b: float
    losses: np.ndarray
    ws: np.ndarray = field(repr=False)
    bs: np.ndarray = field(repr=False)

    def predict(self, x: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """The fitted line's prediction $wx + b$."""
        detail = "w·x + b must fit in a float64."
        if np.ndim(x) == 0:
            return check_finite_result(self.w * check_real("x", x) + self.b, argument="x", detail=detail)
        with guard_overflow("x", detail=detail):
            return self.w * check_vector("x", x) + self.b


def fit_line(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    learning_rate: float = 0.01,
    epochs: int = 1000,
    init: tuple[float, float] = (0.0, 0.0),
) -> LineFit:
    r"""Fit $\hat y = wx + b$ by full-batch gradient descent on the MSE.

    Each epoch: predict, measure the loss, take the gradient of
    :func:`line_fit_gradients`, then update $w \leftarrow w - \eta\,\partial L/\partial w$
    and $b \leftarrow b - \eta\,\partial L/\partial b$.

    Args:
        x: Inputs (doses), at least one value.
        y: Targets (responses), the same length as ``x``.
        learning_rate: Step size $\eta$; must be > 0.
        epochs: Number of updates; must be >= 1.
        init: Starting ``(w, b)``.

    Raises:
        ValueError: on bad input, or if the loss blows up (``learning_rate`` too
            large for this data; see :func:`max_stable_learning_rate`).
    """
    x_arr, y_arr = _check_xy(x, y)
    learning_rate = check_real("learning_rate", learning_rate, positive=True)
    epochs = check_count("epochs", epochs, minimum=1, maximum=MAX_FIT_EPOCHS,
                         why="each epoch is a pass over the data; more would run for minutes")
    if x_arr.size * epochs > MAX_FIT_WORK:
        raise ValueError(
            f"`epochs` ({epochs:,}) times the {x_arr.size:,} points of `x` must be <= {MAX_FIT_WORK:,} "
            "(lesson 1 needs at most 100,000: 5 points, 20,000 epochs); more would run for minutes."
        )
    if not isinstance(init, tuple | list) or len(init) != 2:
        raise TypeError(f"`init` must be a pair (w0, b0), got {init!r}.")
    w = check_real("init[0]", init[0])
    b = check_real("init[1]", init[1])
    losses = np.empty(epochs)
    ws = np.empty(epochs)
    bs = np.empty(epochs)
    for epoch in range(epochs):
        loss = _loss_or_diverged(x_arr, y_arr, w, b, learning_rate, f"by epoch {epoch + 1}")  # 1. predict, 2. loss
        grad_w, grad_b = line_fit_gradients(x_arr, y_arr, w, b)  # 3. gradient
        w -= learning_rate * grad_w  # 4. update
        b -= learning_rate * grad_b
        losses[epoch], ws[epoch], bs[epoch] = loss, w, b
    _loss_or_diverged(x_arr, y_arr, w, b, learning_rate, f"after the last epoch ({epochs})")  # the last update too
    return LineFit(w=w, b=b, losses=losses, ws=ws, bs=bs)


def _loss_or_diverged(x: np.ndarray, y: np.ndarray, w: float, b: float, learning_rate: float, when: str) -> float:
    """The MSE at ``(w, b)``, or a ValueError blaming ``learning_rate`` if the fit has blown up."""
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up becomes the ValueError below, not a warning
        loss = float(np.mean((w * x + b - y) ** 2))
    if not loss < _DIVERGED:
        limit = max_stable_learning_rate(x)
        raise ValueError(
            f"`learning_rate`={learning_rate} made the fit diverge {when} "
            f"(loss > {_DIVERGED:.0e}); for this `x` it must be < {limit:.4g}."
        )
    return loss
