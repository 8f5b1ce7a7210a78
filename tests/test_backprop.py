"""Tests of medai_lessons.backprop: hand-made chain rule against autograd."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medai_lessons import backprop
from medai_lessons.calculus import central_difference

torch = pytest.importorskip("torch")

small = st.floats(min_value=-2, max_value=2, allow_nan=False)


@given(x=st.floats(-10, 10))
def test_chain_rule_gives_24_x_squared(x):
    """dy/dx of y = (2x)³ is 24x², and equals dy/du · du/dx."""
    r = backprop.chain_rule_example(x)
    assert r.dy_dx == pytest.approx(24 * x * x)
    assert r.dy_dx == pytest.approx(r.dy_du * r.du_dx)
    assert r.u == 2 * x and r.y == pytest.approx((2 * x) ** 3)


@given(x=st.floats(-5, 5))
def test_chain_rule_matches_a_central_difference(x):
    """The chain-rule slope agrees with the numerical slope of (2x)³."""
    numeric = central_difference(lambda v: (2 * v) ** 3, x, h=1e-4)
    assert backprop.chain_rule_example(x).dy_dx == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def _autograd(x, target, w1, w2, w3):
    w = torch.tensor([w1, w2, w3], dtype=torch.float64, requires_grad=True)
    a = torch.tanh(w[0] * x)
    b = torch.tanh(w[1] * a)
    loss = (w[2] * b - target) ** 2
    loss.backward()
    return loss.item(), w.grad.tolist()


@settings(max_examples=60, deadline=None)
@given(x=small, target=small, w1=small, w2=small, w3=small)
def test_backprop_chain_equals_autograd(x, target, w1, w2, w3):
    """The product of local derivatives is exactly what torch.autograd computes."""
    r = backprop.backprop_chain(x, target, w1, w2, w3)
    loss, grads = _autograd(x, target, w1, w2, w3)
    assert r.loss == pytest.approx(loss, rel=1e-12, abs=1e-15)
    assert [r.dloss_dw1, r.dloss_dw2, r.dloss_dw3] == pytest.approx(grads, rel=1e-9, abs=1e-12)


def test_dloss_dw1_is_the_product_of_the_four_local_derivatives():
    """∂L/∂w₁ = ∂L/∂p · ∂p/∂b · ∂b/∂a · ∂a/∂w₁, written out."""
    r = backprop.backprop_chain(0.8, 1.0, 0.5, -1.2, 2.0)
    assert r.dloss_dw1 == pytest.approx(r.dloss_dp * r.dp_db * r.db_da * r.da_dw1, rel=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": "a"}, TypeError, "`x` must be a real number"),
        ({"target": float("nan")}, ValueError, "`target` must be finite"),
        ({"w3": None}, TypeError, "`w3` must be a real number"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    """Each argument is checked by name."""
    args = {"x": 1.0, "target": 0.0, "w1": 1.0, "w2": 1.0, "w3": 1.0} | kwargs
    with pytest.raises(error, match=match):
        backprop.backprop_chain(**args)
    with pytest.raises(TypeError, match="`x` must be a real number"):
        backprop.chain_rule_example("2")
