"""Noise schedules: properties, agreement with diffusers, validation."""

from __future__ import annotations

import pytest
import torch

from medai_lessons.diffusion import NoiseSchedule

diffusers = pytest.importorskip("diffusers")


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alpha_bar_decreases_strictly_from_below_one(kind):
    """ᾱ_t starts just below 1 and decreases strictly for both schedules."""
    a_bar = getattr(NoiseSchedule, kind)().alphas_cumprod
    assert a_bar[0] < 1
    assert (a_bar[1:] < a_bar[:-1]).all()
    assert a_bar[-1] > 0


def test_linear_alpha_bar_matches_diffusers(ddpm_reference):
    """Our float64 ᾱ_t equals diffusers' float32 alphas_cumprod to 1e-6 at every t."""
    ours = NoiseSchedule.linear().alphas_cumprod
    theirs = ddpm_reference.alphas_cumprod.double()
    assert torch.allclose(ours, theirs, atol=1e-6, rtol=0)


def test_linear_alpha_bar_golden_values():
    """ᾱ at t = 0, 499, 999 equals a plain-Python product of Ho et al.'s linear betas (Sec. 4)."""
    # Ho et al. 2020, Sec. 4: beta_t rises linearly from 1e-4 to 0.02 over T = 1000 steps;
    # alpha_bar_t = prod_{s <= t} (1 - beta_s) (Eq. (4)). Computed here without torch:
    T = 1000
    betas = [1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)]
    products, running = [], 1.0
    for beta in betas:
        running *= 1.0 - beta
        products.append(running)
    # The same three values, rounded, are what diffusers 0.42.1's float32 DDPMScheduler table holds
    # (0.9998999834, 0.0785872340, 4.0358303522e-05); test_linear_alpha_bar_matches_diffusers checks all t.
    expected = torch.tensor([products[0], products[499], products[999]], dtype=torch.float64)
    assert torch.allclose(expected, torch.tensor([0.9999, 0.0785872, 4.03583e-05], dtype=torch.float64), rtol=1e-5)
    a_bar = NoiseSchedule.linear().alphas_cumprod
    assert torch.allclose(a_bar[[0, 499, 999]], expected, atol=1e-12, rtol=1e-10)


def test_cosine_matches_diffusers_squaredcos_cap_v2():
    """The cosine betas equal diffusers' "squaredcos_cap_v2" schedule to float32 precision."""
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    ours = NoiseSchedule.cosine().betas
    assert torch.allclose(ours, ref.betas.double(), atol=1e-6, rtol=1e-5)


def test_alphas_are_one_minus_betas_and_cumprod():
    """α_t = 1 − β_t and ᾱ_t is their running product; tensors are float64."""
    s = NoiseSchedule.linear(num_train_timesteps=10)
    assert s.betas.dtype == torch.float64
    assert torch.equal(s.alphas, 1 - s.betas)
    assert torch.allclose(s.alphas_cumprod, torch.cumprod(s.alphas, 0))
    assert s.num_train_timesteps == len(s) == 10
    assert s.alphas_cumprod_prev[0] == 1 and torch.equal(s.alphas_cumprod_prev[1:], s.alphas_cumprod[:-1])


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_config_round_trip(kind):
    """A schedule rebuilt from its config has identical betas."""
    s = getattr(NoiseSchedule, kind)(num_train_timesteps=50)
    assert torch.equal(NoiseSchedule.from_config(s.config).betas, s.betas)
    assert kind in repr(s)


def test_custom_betas_round_trip():
    """A schedule given explicit betas keeps them and rebuilds from its config."""
    s = NoiseSchedule([0.1, 0.2, 0.3])
    assert NoiseSchedule.from_config(s.config).betas.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert "3 betas" in repr(s)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: NoiseSchedule.linear(num_train_timesteps=0), ValueError, r"`num_train_timesteps` must be >= 1, got 0"),
        (lambda: NoiseSchedule.cosine(num_train_timesteps=0), ValueError, r"`num_train_timesteps` must be >= 1"),
        (lambda: NoiseSchedule.linear(num_train_timesteps=2.5), TypeError, r"`num_train_timesteps` must be an integer"),
        (
            lambda: NoiseSchedule.linear(beta_end=1.0),
            ValueError,
            r"`beta_end` must lie strictly between 0 and 1",
        ),
        (
            lambda: NoiseSchedule.linear(beta_start=0.0),
            ValueError,
            r"`beta_start` must lie strictly",
        ),
        (
            lambda: NoiseSchedule.linear(beta_start="a"),
            TypeError,
            r"`beta_start` must be a real number",
        ),
        (lambda: NoiseSchedule.cosine(s=-0.1), ValueError, r"`s` must be >= 0"),
        (
            lambda: NoiseSchedule([0.1, 1.5]),
            ValueError,
            r"`betas` must lie strictly between 0 and 1, got 1.5",
        ),
        (lambda: NoiseSchedule([]), ValueError, r"`betas` must hold at least one value, got 0"),
        (lambda: NoiseSchedule([[0.1]]), ValueError, r"`betas` must be one-dimensional"),
        (lambda: NoiseSchedule([0.1, float("nan")]), ValueError, r"NaN"),
        (lambda: NoiseSchedule("0.1"), TypeError, r"`betas` must be a sequence"),
        (lambda: NoiseSchedule.from_config({"kind": "quadratic"}), ValueError, r"`config` must have a `kind` of"),
        (lambda: NoiseSchedule.from_config([1]), TypeError, r"`config` must be a dict"),
    ],
)
def test_schedule_validation(call, error, match):
    """Each bad schedule argument raises the documented error naming the argument."""
    with pytest.raises(error, match=match):
        call()
