r"""The forward (noising) process of DDPM and its training loss.

Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models". Timesteps are
counted from 0 as in diffusers (code ``t`` = paper step $t+1$, see
:mod:`medai_lessons.diffusion.schedule`).

Notation
--------
=================  ==========================================  ==============================
code               lesson symbol                               diffusers name
=================  ==========================================  ==============================
``x0``             $x_0$, a clean image                        ``original_samples``
``x_t``            $x_t$, the image after step $t$             ``sample`` / ``noisy_samples``
``x_prev``         $x_{t-1}$                                   ``prev_sample``
``noise``          $\varepsilon \sim \mathcal N(0, I)$         ``noise``
``eps_theta``      $\varepsilon_\theta(x_t, t)$                ``model_output``
``x0_hat``         $\hat x_0$, the clean image implied by eps  ``pred_original_sample``
``alpha_bar_t``    $\bar\alpha_t$                              ``alpha_prod_t``
``posterior_mean`` $\tilde\mu_t(x_t, x_0)$                     ``pred_prev_sample`` (no noise)
``posterior_var``  $\tilde\beta_t$                             ``_get_variance(t)``
=================  ==========================================  ==============================

Images are batches shaped ``(batch, channels, height, width)`` (any number of trailing
dimensions works; the first is always the batch). ``t`` is an ``int`` (one step for the
whole batch) or an integer tensor of shape ``(batch,)``. Every public function checks its
inputs (:mod:`._validate`) and then calls an unchecked ``_``-twin that the samplers reuse
inside their loops, so a sampling run is checked once, not once per step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's usual alias)

from medai_lessons._checks import check_callable
from medai_lessons.diffusion._validate import (
    check_generator,
    check_images,
    check_noise_or_generator,
    check_schedule,
    check_timesteps,
)
from medai_lessons.diffusion.schedule import NoiseSchedule

__all__ = [
    "ddpm_loss",
    "posterior_mean_variance",
    "predict_x0",
    "q_sample",
    "q_step",
]


# -- helpers -----------------------------------------------------------------------------
#: ddpm_loss refuses images beyond this magnitude (they are scaled to [-1, 1]); squares of
#: larger values overflow float32 inside the network long before the loss is formed.
MAX_ABS_PIXEL = 1e4


def _check_magnitude(name: str, x: torch.Tensor, what: str) -> None:
    """Refuse values so large that the squared error of Eq. (14) would overflow."""
    largest = float(x.abs().max()) if x.numel() else 0.0
    if largest > MAX_ABS_PIXEL:
        raise ValueError(
            f"`{name}` must hold {what}; its largest |value| is {largest:.3g} "
            f"(more than {MAX_ABS_PIXEL:g} would overflow the loss)."
        )

def gather(coef: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``coef[t]`` shaped ``(batch, 1, 1, ...)`` in ``like``'s dtype and device."""
    # index on the schedule's device (a CPU schedule may serve a CUDA batch), then move
    out = coef[t.to(coef.device)].to(device=like.device, dtype=like.dtype)
    return out.reshape(-1, *([1] * (like.ndim - 1)))


def _draw_noise(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    r"""$\varepsilon \sim \mathcal N(0, I)$ shaped like ``like``, drawn from ``generator``."""
    return torch.randn(like.shape, generator=generator, device=like.device, dtype=like.dtype)


# -- the forward process ---------------------------------------------------------------
def q_sample(
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    t: int | torch.Tensor,
    noise: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Jump straight from $x_0$ to $x_t$: a sample of $q(x_t \mid x_0)$.

    $$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,
    \qquad q(x_t\mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I\big)$$

    Ho et al. (2020), Eq. (4); diffusers' ``DDPMScheduler.add_noise``.

    Args:
        schedule: the noise schedule.
        x0: clean images, ``(batch, ...)``.
        t: step index in ``[0, T)``, one int or one per image.
        noise: $\varepsilon$, the same shape, dtype and device as ``x0``; drawn from
            $\mathcal N(0, I)$ when omitted.
        generator: the random source for ``noise`` (not together with ``noise``).
    """
    check_schedule(schedule)
    check_images("x0", x0)
    check_noise_or_generator(noise, generator)
    if noise is not None:
        check_images("noise", noise, like=x0, like_name="`x0`")
    t_vec = check_timesteps(schedule, t, x0.shape[0])
    return _q_sample(schedule, x0, t_vec, _draw_noise(x0, generator) if noise is None else noise)


def _q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t_vec: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    a_bar = schedule.alphas_cumprod
    # Ho et al. 2020, Eq. (4)
    return gather(a_bar.sqrt(), t_vec, x0) * x0 + gather((1 - a_bar).sqrt(), t_vec, x0) * noise


def q_step(schedule: NoiseSchedule, x_prev: torch.Tensor, t: int | torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    r"""One forward step: a sample of $q(x_t \mid x_{t-1})$.

    $$x_t = \sqrt{1-\beta_t}\,x_{t-1} + \sqrt{\beta_t}\,\varepsilon$$

    Ho et al. (2020), Eq. (2). With code step ``t = 0`` the input is $x_0$ itself.

    Args:
        schedule: the noise schedule.
        x_prev: $x_{t-1}$, ``(batch, ...)``.
        t: step index in ``[0, T)``.
        noise: $\varepsilon$, the same shape as ``x_prev``.
    """
    check_schedule(schedule)
    check_images("x_prev", x_prev)
    check_images("noise", noise, like=x_prev, like_name="`x_prev`")
    t_vec = check_timesteps(schedule, t, x_prev.shape[0])
    beta = schedule.betas
    # Ho et al. 2020, Eq. (2)
    return gather((1 - beta).sqrt(), t_vec, x_prev) * x_prev + gather(beta.sqrt(), t_vec, x_prev) * noise


def predict_x0(schedule: NoiseSchedule, x_t: torch.Tensor, t: int | torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r"""The clean image implied by $x_t$ and a noise estimate: Eq. (4) solved for $x_0$.

    $$\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon}{\sqrt{\bar\alpha_t}}$$

    Ho et al. (2020), Eq. (15); diffusers' ``pred_original_sample``.
    """
    check_schedule(schedule)
    check_images("x_t", x_t)
    check_images("eps", eps, like=x_t, like_name="`x_t`")
    t_vec = check_timesteps(schedule, t, x_t.shape[0])
    return _predict_x0(schedule, x_t, t_vec, eps)


def _predict_x0(schedule: NoiseSchedule, x_t: torch.Tensor, t_vec: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    a_bar = schedule.alphas_cumprod
    # Ho et al. 2020, Eq. (15)
    return (x_t - gather((1 - a_bar).sqrt(), t_vec, x_t) * eps) / gather(a_bar.sqrt(), t_vec, x_t)


def posterior_mean_variance(
    schedule: NoiseSchedule, x0: torch.Tensor, x_t: torch.Tensor, t: int | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of the forward posterior $q(x_{t-1} \mid x_t, x_0)$.

    $$\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
      + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t,
    \qquad \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$$

    Ho et al. (2020), Eqs. (6)-(7), with $\bar\alpha_{-1} = 1$ so that $\tilde\beta_0 = 0$
    (diffusers' ``variance_type="fixed_small"``).

    Returns:
        ``(mean, variance)``: the mean has ``x_t``'s shape; the variance is shaped
        ``(batch, 1, 1, ...)`` so that it broadcasts.
    """
    check_schedule(schedule)
    check_images("x_t", x_t)
    check_images("x0", x0, like=x_t, like_name="`x_t`")
    t_vec = check_timesteps(schedule, t, x_t.shape[0])
    return _posterior_mean_variance(schedule, x0, x_t, t_vec)


def _posterior_mean_variance(
    schedule: NoiseSchedule, x0: torch.Tensor, x_t: torch.Tensor, t_vec: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    beta, alpha = schedule.betas, schedule.alphas
    a_bar, a_bar_prev = schedule.alphas_cumprod, schedule.alphas_cumprod_prev
    # Ho et al. 2020, Eq. (7)
    coef_x0 = a_bar_prev.sqrt() * beta / (1 - a_bar)
    coef_xt = alpha.sqrt() * (1 - a_bar_prev) / (1 - a_bar)
    mean = gather(coef_x0, t_vec, x_t) * x0 + gather(coef_xt, t_vec, x_t) * x_t
    variance = gather((1 - a_bar_prev) / (1 - a_bar) * beta, t_vec, x_t)
    return mean, variance


# -- the training objective ------------------------------------------------------------
def ddpm_loss(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    *,
    t: int | torch.Tensor | None = None,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""The simplified DDPM loss on one batch (Ho et al. 2020, Eq. (14), Algorithm 1).

    $$L_\text{simple} = \mathbb E_{t, x_0, \varepsilon}
      \big\|\varepsilon - \varepsilon_\theta(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\varepsilon,\ t)\big\|^2$$

    averaged over pixels and images (a mean squared error).

    Args:
        model: $\varepsilon_\theta$, called as ``model(x_t, t)`` with ``t`` an int64 tensor
            of shape ``(batch,)``.
        schedule: the noise schedule.
        x0: a batch of clean images.
        t: steps to use; drawn uniformly from ``[0, T)`` when omitted.
        noise: $\varepsilon$ to use; drawn from $\mathcal N(0, I)$ when omitted.
        generator: the random source for ``t`` and ``noise`` (on ``x0``'s device). With
            ``noise`` given it draws only ``t``.

    Returns:
        A scalar tensor that can be back-propagated.
    """
    check_callable("model", model)
    check_schedule(schedule)
    check_images("x0", x0)
    if x0.shape[0] < 1:
        raise ValueError(f"`x0` must hold at least one image, got shape {tuple(x0.shape)}.")
    _check_magnitude("x0", x0, "images scaled to about [-1, 1]")
    check_generator(generator)
    batch = x0.shape[0]
    if t is None:
        t_vec = torch.randint(0, schedule.num_train_timesteps, (batch,), generator=generator, device=x0.device)
    else:
        t_vec = check_timesteps(schedule, t, batch).to(x0.device)
    if noise is None:
        noise = _draw_noise(x0, generator)
    else:
        check_images("noise", noise, like=x0, like_name="`x0`")
        _check_magnitude("noise", noise, "standard normal noise")
    # Ho et al. 2020, Eq. (4): x_t from x_0 in one jump
    x_t = _q_sample(schedule, x0, t_vec, noise)
    eps_theta = model(x_t, t_vec)
    if not isinstance(eps_theta, torch.Tensor):
        raise TypeError(f"`model` must return a tensor, got {type(eps_theta).__name__}.")
    if eps_theta.shape != x0.shape:
        shape = tuple(eps_theta.shape)
        raise ValueError(f"`model` must return a tensor shaped like `x0` {tuple(x0.shape)}, got {shape}.")
    # Ho et al. 2020, Eq. (14). The inputs are finite, so a non-finite loss comes from the model.
    loss = F.mse_loss(eps_theta, noise)
    if not bool(torch.isfinite(loss)):
        raise ValueError("`model` returned NaN, infinity or values too large to square, so the loss is not finite.")
    return loss
