r"""The chain rule and backpropagation, one local derivative at a time.

Two walk-throughs from lesson 1, each returning every intermediate value so that
the page can show (and test) the bookkeeping that autograd normally hides.

1. ``chain_rule_example``: $u = 2x$, $y = u^3$, so
   $\frac{dy}{dx} = \frac{dy}{du}\cdot\frac{du}{dx} = 3u^2 \cdot 2 = 24x^2$.
2. ``backprop_chain``: a four-stage model of an imaging network,
   image $x$ → feature A → feature B → prediction → loss, with one weight per
   stage:

   | code  | lesson | formula                          |
   |-------|--------|----------------------------------|
   | ``a`` | feature A  | $a = \tanh(w_1 x)$           |
   | ``b`` | feature B  | $b = \tanh(w_2 a)$           |
   | ``p`` | prediction | $p = w_3 b$                  |
   | ``loss`` | loss $L$ | $L = (p - t)^2$             |

   Backpropagation multiplies the local derivatives from the loss backwards:
   $\frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial p}\,
   \frac{\partial p}{\partial b}\,\frac{\partial b}{\partial a}\,
   \frac{\partial a}{\partial w_1}$.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._checks import check_finite_result, check_real, guard_overflow

__all__ = ["BackpropChain", "ChainRuleExample", "backprop_chain", "chain_rule_example"]


@dataclass(frozen=True)
class ChainRuleExample:
    """Every quantity of the $u = 2x$, $y = u^3$ example at one point ``x``."""

    x: float
    u: float
    y: float
    du_dx: float
    dy_du: float
    dy_dx: float


def chain_rule_example(x: float) -> ChainRuleExample:
    r"""Differentiate $y = (2x)^3$ through the chain rule.

    The inner step $u = 2x$ has local slope $du/dx = 2$; the outer step $y = u^3$ has
    $dy/du = 3u^2$. Their product is $dy/dx$, which equals $24x^2$.
    """
    x = check_real("x", x)
    fits = "|x| must be below 2.8e102 so that (2x)³ fits in a float64."
    with guard_overflow("x", detail=fits):
        u = 2.0 * x
        y = u**3
        du_dx = 2.0
        dy_du = 3.0 * u**2
        dy_dx = dy_du * du_dx
    check_finite_result((u, y, dy_du, dy_dx), argument="x", detail=fits)
    return ChainRuleExample(x=x, u=u, y=y, du_dx=du_dx, dy_du=dy_du, dy_dx=dy_dx)


@dataclass(frozen=True)
class BackpropChain:
    """Forward values, local derivatives and weight gradients of the four-stage chain."""

    # forward pass
    a: float
    b: float
    p: float
    loss: float
    # local derivatives, named d<output>_d<input>
    dloss_dp: float
    dp_db: float
    db_da: float
    da_dw1: float
    db_dw2: float
    dp_dw3: float
    # gradients of the loss with respect to each weight (products of the above)
    dloss_dw1: float
    dloss_dw2: float
    dloss_dw3: float


def backprop_chain(
    x: float, target: float, w1: float, w2: float, w3: float
) -> BackpropChain:
    r"""Run the forward pass, then backpropagate the loss to every weight by hand.

    Args:
        x: The input (a single image intensity, say).
        target: The label $t$ the prediction should match.
        w1: Weight of stage 1 (image to feature A).
        w2: Weight of stage 2 (feature A to feature B).
        w3: Weight of stage 3 (feature B to prediction).

    Returns:
        A :class:`BackpropChain` with every intermediate value; ``dloss_dw1`` is the
        product ``dloss_dp * dp_db * db_da * da_dw1``.
    """
    x = check_real("x", x)
    target = check_real("target", target)
    w1 = check_real("w1", w1)
    w2 = check_real("w2", w2)
    w3 = check_real("w3", w3)
    culprits = ("x", "target", "w1", "w2", "w3")
    fits = "The loss and every gradient must fit in a float64; use values of smaller magnitude."
    with guard_overflow(culprits, detail=fits):
        # forward
        a = math.tanh(w1 * x)
        b = math.tanh(w2 * a)
        p = w3 * b
        loss = (p - target) ** 2
        # local derivatives; d tanh(z)/dz = 1 - tanh(z)^2
        dloss_dp = 2.0 * (p - target)
        dp_db = w3
        dp_dw3 = b
        db_da = (1.0 - b**2) * w2
        db_dw2 = (1.0 - b**2) * a
        da_dw1 = (1.0 - a**2) * x
        # backward: multiply from the loss towards the input
        dloss_db = dloss_dp * dp_db
        dloss_da = dloss_db * db_da
    result = BackpropChain(
        a=a,
        b=b,
        p=p,
        loss=loss,
        dloss_dp=dloss_dp,
        dp_db=dp_db,
        db_da=db_da,
        da_dw1=da_dw1,
        db_dw2=db_dw2,
        dp_dw3=dp_dw3,
        dloss_dw1=dloss_da * da_dw1,
        dloss_dw2=dloss_db * db_dw2,
        dloss_dw3=dloss_dp * dp_dw3,
    )
    check_finite_result(list(vars(result).values()), argument=culprits, detail=fits)
    return result
