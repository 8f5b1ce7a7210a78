"""Tests of medai_lessons.backprop: hand-made chain rule against autograd."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medai_lessons import backprop
from medai_lessons.calculus import central_difference

torch = pytest.importorskip("torch")

small = st.floats(min_value=-2, max_value=2, allow_nan=False)


def _autograd_slope(fn, at: float) -> float:
    """d fn / d v at ``at``, computed by torch.autograd in float64 (independent of the module)."""
    v = torch.tensor(at, dtype=torch.float64, requires_grad=True)
    fn(v).backward()
    return v.grad.item()


@settings(deadline=None)  # the first autograd call may warm torch up
@given(x=st.floats(-10, 10))
def test_chain_rule_gives_24_x_squared(x):
    """Each factor of the chain rule is the slope autograd finds for its own step, and dy/dx = 24x²."""
    r = backprop.chain_rule_example(x)
    assert (r.u, r.y) == (2 * x, pytest.approx((2 * x) ** 3))
    assert r.du_dx == pytest.approx(_autograd_slope(lambda v: 2 * v, x))  # inner step u = 2x
    assert r.dy_du == pytest.approx(_autograd_slope(lambda v: v**3, r.u))  # outer step y = u³
    assert r.dy_dx == pytest.approx(_autograd_slope(lambda v: (2 * v) ** 3, x))  # the whole composition
    assert r.dy_dx == pytest.approx(24 * x * x)  # by hand: 3(2x)²·2


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


@settings(max_examples=40, deadline=None)
@given(x=small, target=small, w1=small, w2=small, w3=small)
def test_every_local_derivative_is_the_slope_of_its_own_stage(x, target, w1, w2, w3):
    """Each local derivative equals autograd's slope of that one stage, with the other inputs held fixed."""
    r = backprop.backprop_chain(x, target, w1, w2, w3)
    a, b, p = r.a, r.b, r.p
    expected = {
        "dloss_dp": _autograd_slope(lambda v: (v - target) ** 2, p),
        "dp_db": _autograd_slope(lambda v: w3 * v, b),
        "dp_dw3": _autograd_slope(lambda v: v * b, w3),
        "db_da": _autograd_slope(lambda v: torch.tanh(w2 * v), a),
        "db_dw2": _autograd_slope(lambda v: torch.tanh(v * a), w2),
        "da_dw1": _autograd_slope(lambda v: torch.tanh(v * x), w1),
    }
    assert {name: getattr(r, name) for name in expected} == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_backprop_chain_at_the_lesson_s_point_matches_finite_differences():
    """At the page's example point, every weight gradient agrees with a central difference of the loss."""
    point = {"x": 0.8, "target": 1.0, "w1": 0.5, "w2": -1.2, "w3": 2.0}
    r = backprop.backprop_chain(**point)
    for weight, grad in (("w1", r.dloss_dw1), ("w2", r.dloss_dw2), ("w3", r.dloss_dw3)):

        def loss(v, weight=weight):
            return backprop.backprop_chain(**(point | {weight: v})).loss

        assert grad == pytest.approx(central_difference(loss, point[weight], h=1e-5), rel=1e-7)


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


def test_overflow_names_the_argument():
    """(2·1e103)³ and a loss of (1e308)² overflow float64: a ValueError naming the arguments, not OverflowError."""
    with pytest.raises(ValueError, match=r"`x` is too large.*2\.8e102"):
        backprop.chain_rule_example(1e103)
    with pytest.raises(ValueError, match="`target`"):
        backprop.backprop_chain(0.8, -1e308, 0.5, -1.2, 2.0)
