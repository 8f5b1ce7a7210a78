r"""Derivatives, partial derivatives and gradients, computed numerically.

Lesson 1 explains a derivative as an *instantaneous slope*. This module turns that
picture into numbers: a central difference measures the slope of a curve over a tiny
interval centred on the point of interest, which is what ``df/dx`` means once the
interval shrinks towards zero.

Notation used in the lesson and in the code:

| code              | lesson            | meaning                                     |
|-------------------|-------------------|---------------------------------------------|
| ``f``             | $f$               | the function (dose → response, loss, ...)   |
| ``x``             | $x$               | the point where the slope is wanted          |
| ``h``             | $h$               | half-width of the interval, the step size    |
| ``point``         | $(w_1,\dots,w_n)$ | where a gradient is taken                    |
| ``gradient(...)`` | $\nabla L$        | vector of all partial derivatives           |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._checks import call_real, check_callable, check_finite_result, check_int, check_real, check_vector
from .limits import MAX_GRADIENT_PARAMETERS

__all__ = [
    "DEFAULT_STEP",
    "central_difference",
    "dose_response",
    "dose_response_slope",
    "gradient",
    "partial_derivative",
    "secant_slope",
]

_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)

#: Default step size ``h``. With float64 (about 16 significant digits) a central
#: difference has truncation error ~ h² |f'''| / 6 and rounding error ~ ε |f| / h;
#: the two balance near h ≈ ε^(1/3) ≈ 6e-6, so 1e-5 keeps both near 1e-10.
DEFAULT_STEP = 1e-5


def central_difference(f: Callable[[float], float], x: float, *, h: float = DEFAULT_STEP) -> float:
    r"""Slope of ``f`` at ``x`` by the central difference.

    $$f'(x) \approx \frac{f(x+h) - f(x-h)}{2h}$$

    The symmetric interval cancels the $h$ term of the Taylor series, so the error
    shrinks like $h^2$ rather than $h$ (the one-sided difference's rate).

    Args:
        f: A function of one real number.
        x: The point where the slope is wanted.
        h: Half-width of the interval; must be > 0. See ``DEFAULT_STEP``.

    Returns:
        The estimated derivative $f'(x)$.
    """
    check_callable("f", f)
    x = check_real("x", x)
    h = check_real("h", h, positive=True)
    _check_step_fits(x, h, "x")
    slope = (call_real("f", f, x + h) - call_real("f", f, x - h)) / (2.0 * h)
    return _check_slope(slope, f"near x={x}")


def _check_slope(slope: float, where: str) -> float:
    """A difference quotient, refused when ``f`` returned NaN or infinity (the inputs were finite)."""
    if not np.isfinite(slope):
        raise ValueError(f"`f` returned a non-finite value {where}.")
    return slope


def _check_step_fits(x: float, h: float, name: str) -> None:
    """``x ± h`` and ``2h`` must stay finite, or the difference quotient is meaningless."""
    check_finite_result(
        (x + h, x - h, 2.0 * h), argument=(name, "h"), detail=f"`{name}` ± `h` and 2·`h` must fit in a float64."
    )


def secant_slope(f: Callable[[float], float], a: float, b: float) -> float:
    r"""Average rate of change of ``f`` between ``a`` and ``b``: $\frac{f(b)-f(a)}{b-a}$."""
    check_callable("f", f)
    a = check_real("a", a)
    b = check_real("b", b)
    if a == b:
        raise ValueError(f"`a` and `b` must differ, got a = b = {a}.")
    check_finite_result(b - a, argument=("a", "b"), detail="`b` − `a` must fit in a float64.")
    slope = (call_real("f", f, b) - call_real("f", f, a)) / (b - a)
    return _check_slope(slope, f"between a={a} and b={b}")


def partial_derivative(
    f: Callable[[np.ndarray], float],
    point: Sequence[float] | np.ndarray,
    index: int,
    *,
    h: float = DEFAULT_STEP,
) -> float:
    r"""Partial derivative $\partial f / \partial w_i$ at ``point``.

    Every coordinate except ``index`` is held fixed, as when one fader on a mixing
    desk is moved and the others stay put; then the one-variable central difference
    is applied along coordinate ``index``.
    """
    check_callable("f", f)
    p = check_vector("point", point)
    index = check_int("index", index, minimum=0)
    if index >= p.size:
        raise ValueError(f"`index` must be < {p.size} (the length of `point`), got {index}.")
    return _partial(f, p, index, check_real("h", h, positive=True))


def _partial(f: Callable[[np.ndarray], float], p: np.ndarray, index: int, h: float) -> float:
    """:func:`partial_derivative` on checked arguments (:func:`gradient` calls it once per coordinate)."""
    _check_step_fits(float(p[index]), h, "point")
    step = np.zeros_like(p)
    step[index] = h
    slope = (call_real("f", f, p + step) - call_real("f", f, p - step)) / (2.0 * h)
    return _check_slope(slope, f"near point={p.tolist()}")


def gradient(
    f: Callable[[np.ndarray], float],
    point: Sequence[float] | np.ndarray,
    *,
    h: float = DEFAULT_STEP,
) -> np.ndarray:
    r"""Gradient $\nabla f = (\partial f/\partial w_1, \dots, \partial f/\partial w_n)$ at ``point``.

    The vector points in the direction in which ``f`` increases fastest; gradient
    descent therefore steps against it. ``point`` holds at most 10,000 numbers
    (:data:`~medai_lessons.limits.MAX_GRADIENT_PARAMETERS`): each needs two calls of ``f``.
    """
    p = check_vector("point", point, max_size=MAX_GRADIENT_PARAMETERS)  # 2n calls of f: the work grows as n²
    check_callable("f", f)
    h = check_real("h", h, positive=True)
    return np.array([_partial(f, p, i, h) for i in range(p.size)])


def _check_dose_inputs(dose: float, e_max: float, ed50: float) -> tuple[float, float, float]:
    """The Emax model's door: a dose >= 0, and E_max and ED50 > 0."""
    dose = check_real("dose", dose, non_negative=True)
    e_max = check_real("e_max", e_max, positive=True)
    ed50 = check_real("ed50", ed50, positive=True)
    return dose, e_max, ed50


def dose_response(dose: float, *, e_max: float = 100.0, ed50: float = 2.0) -> float:
    r"""Effect (in % of maximum) of a drug dose under the Emax model.

    $$E(d) = \frac{E_{\max}\, d}{\mathrm{ED}_{50} + d}$$

    A standard pharmacological curve: the effect rises steeply at low doses and
    flattens as it approaches $E_{\max}$; half the maximum is reached at
    $d = \mathrm{ED}_{50}$. Lesson 1 uses it for the secant-versus-tangent picture.
    """
    dose, e_max, ed50 = _check_dose_inputs(dose, e_max, ed50)
    effect = e_max * dose / (ed50 + dose)
    return check_finite_result(effect, argument=("dose", "e_max"), detail="E_max·d must fit in a float64.")


def dose_response_slope(dose: float, *, e_max: float = 100.0, ed50: float = 2.0) -> float:
    r"""Exact derivative of :func:`dose_response`: $E'(d) = E_{\max}\,\mathrm{ED}_{50} / (\mathrm{ED}_{50} + d)^2$."""
    dose, e_max, ed50 = _check_dose_inputs(dose, e_max, ed50)
    denominator = (ed50 + dose) * (ed50 + dose)
    if denominator < _SMALLEST_NORMAL:  # (ED50 + d)² underflows: digits lost, or a division by 0
        raise ValueError(
            f"`ed50` is too small: (ED50 + d)² underflows float64 (ed50={ed50}, dose={dose}); "
            "`ed50` + `dose` must be at least 1.5e-154."
        )
    slope = e_max * ed50 / denominator
    return check_finite_result(
        slope, argument=("ed50", "e_max"), problem="out of range",
        detail="E_max·ED50 / (ED50 + d)² must fit in a float64.",
    )
