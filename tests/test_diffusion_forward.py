"""The forward process, the posterior and one reverse step, checked against diffusers."""

from __future__ import annotations

import math

import pytest
import torch

from medai_lessons.diffusion import (
    NoiseSchedule,
    ddpm_loss,
    p_sample_step,
    posterior_mean_variance,
    predict_x0,
    q_sample,
    q_step,
)

from .conftest import diffusers_ddpm_scheduler

diffusers = pytest.importorskip("diffusers")

SCHEDULE = NoiseSchedule.linear()


def _batch(seed: int, shape=(6, 1, 8, 8)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_q_sample_equals_diffusers_add_noise(ddpm_reference):
    """q_sample gives the same x_t as DDPMScheduler.add_noise for mixed timesteps."""
    x0, noise = _batch(0).clamp(-1, 1), _batch(1)
    t = torch.tensor([0, 1, 10, 499, 998, 999])
    ours = q_sample(SCHEDULE, x0, t, noise)
    theirs = ddpm_reference.add_noise(x0, noise, t)
    assert (ours - theirs).abs().max() < 1e-5


@pytest.mark.parametrize("t", [999, 750, 500, 100, 30, 0])
def test_reverse_step_equals_diffusers_step_with_same_generator(ddpm_reference, t):
    """p_sample_step with a generator reproduces DDPMScheduler.step with the same seed to 1e-5."""
    x_t, eps = _batch(2), _batch(3)
    ours = p_sample_step(SCHEDULE, eps, x_t, t, generator=torch.Generator().manual_seed(7))
    theirs = ddpm_reference.step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
    assert (ours - theirs).abs().max() < 1e-5


@pytest.mark.parametrize("t", [1, 2, 5, 23])
def test_reverse_step_at_small_t_differs_only_by_float32_rounding(ddpm_reference, t):
    """For t < 24 diffusers' float32 ᾱ loses digits (β_t ≈ 1e-4), so only a tolerance of 5e-4 holds.

    The gap is float32 rounding, not a different formula: the next test runs diffusers' step on our
    float64 ᾱ and agrees to 1e-10.
    """
    x_t, eps = _batch(2), _batch(3)
    ours = p_sample_step(SCHEDULE, eps, x_t, t, generator=torch.Generator().manual_seed(7))
    theirs = ddpm_reference.step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
    assert (ours - theirs).abs().max() < 5e-4


def test_reverse_step_equals_diffusers_in_float64_at_every_small_t():
    """Given our float64 ᾱ and float64 inputs, diffusers' step equals ours to 1e-10: same formula."""
    ref = diffusers_ddpm_scheduler()
    ref.alphas_cumprod = SCHEDULE.alphas_cumprod.clone()
    ref.one = torch.tensor(1.0, dtype=torch.float64)
    x_t, eps = _batch(2).double(), _batch(3).double()
    for t in [0, 1, 2, 3, 10, 23, 500, 999]:
        ours = p_sample_step(SCHEDULE, eps, x_t, t, generator=torch.Generator().manual_seed(7))
        theirs = ref.step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
        assert (ours - theirs).abs().max() < 1e-10


def test_reverse_step_with_explicit_noise_equals_mean_plus_scaled_noise():
    """Passing z explicitly gives μ̃(x_t, x̂_0) + sqrt(β̃_t) z, Ho et al. Eq. (6)-(7)."""
    x_t, eps, z = _batch(4), _batch(5), _batch(6)
    t = 300
    mean, var = posterior_mean_variance(SCHEDULE, predict_x0(SCHEDULE, x_t, t, eps), x_t, t)
    out = p_sample_step(SCHEDULE, eps, x_t, t, noise=z)
    assert torch.allclose(out, mean + var.sqrt() * z, atol=1e-6)


def test_reverse_step_matches_algorithm_2_form():
    """The posterior form equals Algorithm 2's 1/√α_t (x_t − β_t/√(1−ᾱ_t) ε) + σ_t z."""
    x_t, eps, z = _batch(4).double(), _batch(5).double(), _batch(6).double()
    t = 123
    beta, alpha, a_bar = (SCHEDULE.betas[t], SCHEDULE.alphas[t], SCHEDULE.alphas_cumprod[t])
    sigma = ((1 - SCHEDULE.alphas_cumprod[t - 1]) / (1 - a_bar) * beta).sqrt()
    algo2 = (x_t - beta / (1 - a_bar).sqrt() * eps) / alpha.sqrt() + sigma * z
    assert torch.allclose(p_sample_step(SCHEDULE, eps, x_t, t, noise=z), algo2, atol=1e-12)


def test_last_reverse_step_adds_no_noise():
    """At t=0 the step is deterministic and returns x̂_0 whatever the generator."""
    x_t, eps = _batch(2), _batch(3)
    a = p_sample_step(SCHEDULE, eps, x_t, 0, generator=torch.Generator().manual_seed(1))
    b = p_sample_step(SCHEDULE, eps, x_t, 0, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert torch.allclose(a, predict_x0(SCHEDULE, x_t, 0, eps), atol=1e-6)


def test_iterated_q_step_matches_closed_form_moments():
    """Iterating q_step t+1 times has the mean √ᾱ_t x0 and variance 1−ᾱ_t of q(x_t|x_0).

    20,000 chains per pixel: the standard error of a mean is ≤ 1/√20000 ≈ 0.007 and of a
    variance ≈ √(2/20000) ≈ 0.01, so 0.03 is three to four standard errors.
    """
    gen = torch.Generator().manual_seed(0)
    t_last = 149
    x0 = torch.tensor([-1.0, 0.8]).reshape(1, 1, 1, 2).expand(20_000, 1, 1, 2).contiguous()
    x = x0.double()
    for t in range(t_last + 1):
        x = q_step(SCHEDULE, x, t, torch.randn(x.shape, generator=gen, dtype=x.dtype))
    a_bar = SCHEDULE.alphas_cumprod[t_last]
    assert torch.allclose(x.mean(0), a_bar.sqrt() * x0[0].double(), atol=0.03)
    assert torch.allclose(x.var(0), (1 - a_bar).expand(1, 1, 2), atol=0.03)


def test_last_step_is_close_to_standard_normal():
    """After all 1000 steps √ᾱ_T ≈ 0.006, so x_T from any image has mean ≈ 0, std ≈ 1."""
    gen = torch.Generator().manual_seed(0)
    x0 = torch.ones(4096, 1, 8, 8)  # the brightest possible image
    x_T = q_sample(SCHEDULE, x0, 999, torch.randn(x0.shape, generator=gen))
    assert abs(x_T.mean().item()) < 0.02  # 262,144 values: standard error 0.002 + bias 0.0064
    assert abs(x_T.std().item() - 1) < 0.01


def test_posterior_mean_variance_matches_bayes_on_gaussians():
    """The posterior of Eq. (6)-(7) equals the Gaussian product q(x_t|x_{t-1}) q(x_{t-1}|x_0) by hand."""
    t = 50
    a_bar_prev = SCHEDULE.alphas_cumprod[t - 1]
    beta = SCHEDULE.betas[t]
    x0 = torch.tensor([[0.7]], dtype=torch.float64)
    x_t = torch.tensor([[0.2]], dtype=torch.float64)
    # prior N(m0, v0) for x_{t-1}, likelihood x_t ~ N(√(1−β) x_{t-1}, β): precision-weighted mean
    m0, v0 = a_bar_prev.sqrt() * x0, 1 - a_bar_prev
    a = (1 - beta).sqrt()
    precision = 1 / v0 + a**2 / beta
    mean_by_hand = (m0 / v0 + a * x_t / beta) / precision
    mean, var = posterior_mean_variance(SCHEDULE, x0, x_t, t)
    assert torch.allclose(mean, mean_by_hand, atol=1e-12)
    assert torch.allclose(var.squeeze(), 1 / precision, atol=1e-12)


def test_posterior_variance_is_zero_at_first_step():
    """β̃_0 = 0 because ᾱ_{-1} = 1: the last reverse step is deterministic."""
    _, var = posterior_mean_variance(SCHEDULE, _batch(0), _batch(1), 0)
    assert torch.all(var == 0)


def test_predict_x0_inverts_q_sample():
    """With the true noise, x̂_0 from Eq. (15) recovers x_0."""
    x0, noise = _batch(0), _batch(1)
    t = torch.tensor([5, 100, 400, 700, 900, 999])
    x_t = q_sample(SCHEDULE, x0, t, noise)
    assert torch.allclose(predict_x0(SCHEDULE, x_t, t, noise), x0, atol=2e-3)


def test_ddpm_loss_is_zero_for_an_oracle_and_one_for_zero_prediction():
    """L_simple is 0 when ε_θ returns the true ε, and E‖ε‖²/d ≈ 1 when it returns zeros."""
    x0, noise = _batch(0, (64, 1, 8, 8)), _batch(1, (64, 1, 8, 8))
    oracle = ddpm_loss(lambda x_t, t: noise, SCHEDULE, x0, noise=noise, t=10)
    assert oracle.item() == 0.0
    zero = ddpm_loss(
        lambda x_t, t: torch.zeros_like(x_t),
        SCHEDULE,
        x0,
        generator=torch.Generator().manual_seed(0),
    )
    assert zero.item() == pytest.approx(1.0, abs=0.05)  # 4096 squared N(0,1) values: sd 0.022


def test_ddpm_loss_passes_x_t_from_closed_form_and_t_to_model():
    """The model receives x_t = q_sample(x0, t, ε) and the int64 steps."""
    x0, noise = _batch(0), _batch(1)
    seen = {}

    def model(x_t, t):
        seen["x_t"], seen["t"] = x_t, t
        return torch.zeros_like(x_t)

    ddpm_loss(model, SCHEDULE, x0, t=torch.arange(6) * 100, noise=noise)
    assert seen["t"].dtype == torch.int64
    assert torch.allclose(seen["x_t"], q_sample(SCHEDULE, x0, torch.arange(6) * 100, noise))


def test_ddpm_loss_is_reproducible_with_a_generator():
    """Two generators with one seed draw the same t and ε, hence the same loss."""
    x0 = _batch(0)
    model = lambda x_t, t: x_t * 0.5  # noqa: E731
    a = ddpm_loss(model, SCHEDULE, x0, generator=torch.Generator().manual_seed(3))
    b = ddpm_loss(model, SCHEDULE, x0, generator=torch.Generator().manual_seed(3))
    assert a.item() == b.item() and math.isfinite(a.item())


X = torch.zeros(2, 1, 8, 8)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: q_sample(SCHEDULE, X, 1000, X),
            ValueError,
            r"`t` must lie in \[0, 999\].*got 1000",
        ),
        (lambda: q_sample(SCHEDULE, X, -1, X), ValueError, r"`t` must lie in \[0, 999\]"),
        (lambda: q_sample(SCHEDULE, X, torch.tensor([1, 1000]), X), ValueError, r"got 1000"),
        (
            lambda: q_sample(SCHEDULE, X, torch.tensor([1, 2, 3]), X),
            ValueError,
            r"one step per image \(2\)",
        ),
        (lambda: q_sample(SCHEDULE, X, 1.5, X), TypeError, r"`t` must be an int"),
        (lambda: q_sample(SCHEDULE, X, True, X), TypeError, r"`t` must be an int"),
        (
            lambda: q_sample(SCHEDULE, X, torch.tensor([0.5, 1.0]), X),
            TypeError,
            r"`t` must hold integers",
        ),
        (
            lambda: q_sample(SCHEDULE, X, 1, torch.zeros(2, 1, 4, 4)),
            ValueError,
            r"`noise` must have the same shape",
        ),
        (lambda: q_sample(SCHEDULE, X.numpy(), 1, X), TypeError, r"`x0` must be a torch.Tensor"),
        (lambda: q_sample(SCHEDULE, X.long(), 1, X), TypeError, r"`x0` must be a floating-point"),
        (
            lambda: q_sample(SCHEDULE, torch.zeros(3), 1, torch.zeros(3)),
            ValueError,
            r"`x0` must have a batch",
        ),
        (lambda: q_sample("linear", X, 1, X), TypeError, r"`schedule` must be a NoiseSchedule"),
        (lambda: q_step(SCHEDULE, X, 1000, X), ValueError, r"`t` must lie in"),
        (
            lambda: posterior_mean_variance(SCHEDULE, torch.zeros(3, 1, 8, 8), X, 1),
            ValueError,
            r"`x0` must have the same shape",
        ),
        (lambda: p_sample_step(SCHEDULE, X, X, torch.tensor(3)), TypeError, r"`t` must be an int"),
        (
            lambda: p_sample_step(SCHEDULE, torch.zeros(2, 1, 4, 4), X, 3),
            ValueError,
            r"`eps_theta` must have the same shape",
        ),
        (lambda: p_sample_step(SCHEDULE, X, X, 3, clip_x0=0), ValueError, r"`clip_x0` must be > 0"),
        (lambda: ddpm_loss("model", SCHEDULE, X), TypeError, r"`model` must be callable"),
        (
            lambda: ddpm_loss(lambda x, t: x[:1], SCHEDULE, X),
            ValueError,
            r"`model` must return a tensor shaped like `x0`",
        ),
    ],
)
def test_forward_validation(call, error, match):
    """Each bad argument raises the documented error naming the argument."""
    with pytest.raises(error, match=match):
        call()
