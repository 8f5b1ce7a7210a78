r"""Turning noise into images: the DDPM ancestral sampler and the DDIM sampler.

* DDPM (Ho et al. 2020, Algorithm 2) walks back through all $T$ steps; each step removes
  the predicted noise and adds a little fresh noise.
* DDIM (Song, Meng & Ermon 2021, Eq. (12)) reuses the same trained network but jumps
  over steps; with $\eta = 0$ it adds no fresh noise, so one starting $x_T$ always gives
  the same image.

Notation
--------
=====================  =============================================  ==========================
code                   lesson symbol                                  diffusers name
=====================  =============================================  ==========================
``eps_theta``          $\varepsilon_\theta(x_t, t)$                   ``model_output``
``x_t``, ``x_prev``    $x_t$, $x_{t-1}$ (DDIM: $x_{\tau_{i-1}}$)      ``sample``, ``prev_sample``
``x0_hat``             $\hat x_0$                                     ``pred_original_sample``
``alpha_bar_t``        $\bar\alpha_t$                                 ``alpha_prod_t``
``alpha_bar_prev``     $\bar\alpha_{t-1}$ ($\bar\alpha_{\tau_{i-1}}$) ``alpha_prod_t_prev``
``sigma_t``            $\sigma_t$                                     ``std_dev_t`` (DDIM)
``eta``                $\eta$                                         ``eta``
``num_inference_steps`` number of network calls $S$ (DDIM)            ``num_inference_steps``
``num_train_timesteps`` $T$, the schedule's length                     ``num_train_timesteps``
=====================  =============================================  ==========================

Every random draw goes through ``generator=``; the draws happen in the same order and
with the same shapes as in diffusers' ``DDPMScheduler.step``, so one generator state
gives the same numbers in both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from medai_lessons._checks import check_int, check_real
from medai_lessons._deprecation import renamed_kwargs
from medai_lessons.diffusion.forward import (
    check_images,
    check_schedule,
    check_timesteps,
    posterior_mean_variance,
    predict_x0,
)
from medai_lessons.diffusion.schedule import NoiseSchedule

__all__ = [
    "ddim_sample",
    "ddim_step",
    "ddim_timesteps",
    "ddpm_sample",
    "p_sample_step",
]

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_step(schedule: NoiseSchedule, t: object) -> int:
    if isinstance(t, bool) or not isinstance(t, int):
        raise TypeError(f"`t` must be an int, got {type(t).__name__}.")
    check_timesteps(schedule, t, 1)
    return t


def _check_clip(clip_x0: float | None) -> float | None:
    return None if clip_x0 is None else check_real("clip_x0", clip_x0, positive=True)


def p_sample_step(
    schedule: NoiseSchedule,
    eps_theta: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    *,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    clip_x0: float | None = None,
) -> torch.Tensor:
    r"""One reverse DDPM step: $x_t \mapsto x_{t-1}$ (Ho et al. 2020, Algorithm 2, line 4).

    $$\hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta}{\sqrt{\bar\alpha_t}},\qquad
      x_{t-1} = \tilde\mu_t(x_t, \hat x_0) + \sqrt{\tilde\beta_t}\,z,\quad z\sim\mathcal N(0, I)$$

    which equals Algorithm 2's
    $\frac{1}{\sqrt{\alpha_t}}\big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon_\theta\big) + \sigma_t z$
    with $\sigma_t^2 = \tilde\beta_t$ (Eqs. (6), (7), (11), (15)). At ``t = 0`` no noise is
    added and the result is $\hat x_0$. Same as diffusers' ``DDPMScheduler.step`` with
    ``variance_type="fixed_small"`` and ``clip_sample=False``.

    Args:
        schedule: the noise schedule the network was trained with.
        eps_theta: the network's noise prediction for ``x_t``.
        x_t: the current images.
        t: the current step, an int in ``[0, T)``.
        generator: random source for $z$ (drawn like diffusers: ``randn(x_t.shape)``).
        noise: $z$ itself, instead of drawing it.
        clip_x0: if given, clamp $\hat x_0$ to ``[-clip_x0, clip_x0]`` (diffusers'
            ``clip_sample``); ``None`` follows the plain formulas.
    """
    check_schedule(schedule)
    check_images("x_t", x_t)
    check_images("eps_theta", eps_theta, like=x_t)
    t = _check_step(schedule, t)
    clip_x0 = _check_clip(clip_x0)
    if noise is not None:
        check_images("noise", noise, like=x_t)
    x0_hat = predict_x0(schedule, x_t, t, eps_theta)  # Eq. (15)
    if clip_x0 is not None:
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
    mean, variance = posterior_mean_variance(schedule, x0_hat, x_t, t)  # Eqs. (6)-(7)
    if t == 0:
        return mean  # the last step adds no noise (Algorithm 2: z = 0 when t = 1)
    if noise is None:
        noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
    return mean + variance.sqrt() * noise


@renamed_kwargs(num_train_steps="num_train_timesteps", num_steps="num_inference_steps")
def ddim_timesteps(num_train_timesteps: int, num_inference_steps: int) -> list[int]:
    r"""The sub-sequence $\tau$ of steps DDIM visits, largest first.

    Evenly spaced with stride $\lfloor T/S\rfloor$ starting at 0 (diffusers'
    ``timestep_spacing="leading"``): for $T=1000$, $S=50$: 980, 960, ..., 20, 0.

    Args:
        num_train_timesteps: $T$ (old keyword ``num_train_steps``, deprecated).
        num_inference_steps: $S$, ``1 <= S <= T`` (old keyword ``num_steps``, deprecated).
    """
    T = check_int("num_train_timesteps", num_train_timesteps, minimum=1)
    S = check_int("num_inference_steps", num_inference_steps, minimum=1)
    if S > T:
        raise ValueError(f"`num_inference_steps` must be <= the schedule's {T} training timesteps, got {S}.")
    stride = T // S
    return [i * stride for i in reversed(range(S))]


def ddim_step(
    schedule: NoiseSchedule,
    eps_theta: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    t_prev: int,
    *,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    clip_x0: float | None = None,
) -> torch.Tensor:
    r"""One DDIM update from step ``t`` to the earlier step ``t_prev`` (Song et al. 2021, Eq. (12)).

    $$x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0
      + \sqrt{1-\bar\alpha_{t'}-\sigma_t^2}\;\varepsilon_\theta + \sigma_t z,\qquad
      \sigma_t = \eta\sqrt{\tfrac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}}\sqrt{1-\tfrac{\bar\alpha_t}{\bar\alpha_{t'}}}$$

    with $t' =$ ``t_prev`` and $\bar\alpha_{t'} = 1$ when ``t_prev < 0`` (the final jump to a
    clean image). $\eta = 0$ is deterministic; $\eta = 1$ with every step visited is DDPM.

    Args:
        t_prev: the step to jump to, ``-1 <= t_prev < t``.
        eta: $\eta \ge 0$.
    """
    check_schedule(schedule)
    check_images("x_t", x_t)
    check_images("eps_theta", eps_theta, like=x_t)
    t = _check_step(schedule, t)
    if isinstance(t_prev, bool) or not isinstance(t_prev, int):
        raise TypeError(f"`t_prev` must be an int, got {type(t_prev).__name__}.")
    if not -1 <= t_prev < t:
        raise ValueError(f"`t_prev` must satisfy -1 <= t_prev < t = {t}, got {t_prev}.")
    eta = check_real("eta", eta, non_negative=True)
    clip_x0 = _check_clip(clip_x0)
    a_bar = schedule.alphas_cumprod
    alpha_bar_t = a_bar[t].item()
    alpha_bar_prev = a_bar[t_prev].item() if t_prev >= 0 else 1.0
    x0_hat = predict_x0(schedule, x_t, t, eps_theta)
    if clip_x0 is not None:
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
    # Song et al. 2021, Eq. (16)
    sigma_t = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)) ** 0.5
    direction = max(1 - alpha_bar_prev - sigma_t**2, 0.0) ** 0.5 * eps_theta
    x_prev = alpha_bar_prev**0.5 * x0_hat + direction  # Song et al. 2021, Eq. (12)
    if sigma_t > 0:
        if noise is None:
            noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
        else:
            check_images("noise", noise, like=x_t)
        x_prev = x_prev + sigma_t * noise
    return x_prev


def _check_sampling(model: object, schedule: NoiseSchedule, shape: object) -> tuple[int, ...]:
    if not callable(model):
        raise TypeError(f"`model` must be callable, got {type(model).__name__}.")
    check_schedule(schedule)
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence):
        raise TypeError(f"`shape` must be a sequence of ints, got {type(shape).__name__}.")
    shape = tuple(check_int("shape", s, minimum=1) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"`shape` must be (batch, ...) with at least 2 entries, got {shape}.")
    return shape


def _device_dtype(model: object) -> tuple[torch.device, torch.dtype]:
    if isinstance(model, torch.nn.Module):
        p = next(model.parameters(), None)
        if p is not None:
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def _initial_noise(
    shape: tuple[int, ...],
    x_T: torch.Tensor | None,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    r"""$x_T \sim \mathcal{N}(0, I)$ drawn from ``generator``, or the caller's ``x_T`` checked."""
    if x_T is None:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    x = check_images("x_T", x_T).to(device, dtype)
    if tuple(x.shape) != shape:
        raise ValueError(f"`x_T` must have shape {shape}, got {tuple(x.shape)}.")
    return x


@torch.no_grad()
def ddpm_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
    clip_x0: float | None = None,
    progress: bool = True,
    return_intermediates: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    r"""Ancestral sampling through every step (Ho et al. 2020, Algorithm 2).

    Draw $x_T\sim\mathcal N(0, I)$, then for $t = T-1, \dots, 0$ apply :func:`p_sample_step`
    with $\varepsilon_\theta(x_t, t)$ from ``model``.

    Args:
        model: $\varepsilon_\theta$, called as ``model(x_t, t)`` with ``t`` of shape ``(batch,)``.
        schedule: the schedule the model was trained with.
        shape: ``(batch, channels, height, width)`` of the images to make.
        generator: random source for $x_T$ and every step's noise (on the model's device).
        x_T: the starting noise, instead of drawing it.
        clip_x0: clamp $\hat x_0$ to ``[-clip_x0, clip_x0]`` at each step (``None``: no clamp).
        progress: show a tqdm progress bar.
        return_intermediates: also return ``[(t, x_t), ...]`` for every step, ending
            with ``(-1, x_0)``.
    """
    shape = _check_sampling(model, schedule, shape)
    device, dtype = _device_dtype(model)
    if isinstance(model, torch.nn.Module):
        model.eval()
    x = _initial_noise(shape, x_T, generator, device, dtype)
    trail: list[tuple[int, torch.Tensor]] = []
    for t in tqdm(range(schedule.num_train_timesteps - 1, -1, -1), desc="DDPM", disable=not progress):
        if return_intermediates:
            trail.append((t, x.cpu()))
        t_batch = torch.full((shape[0],), t, device=device, dtype=torch.int64)
        eps_theta = model(x, t_batch)
        x = p_sample_step(schedule, eps_theta, x, t, generator=generator, clip_x0=clip_x0)
    if return_intermediates:
        trail.append((-1, x.cpu()))
        return x, trail
    return x


@renamed_kwargs(num_steps="num_inference_steps")
@torch.no_grad()
def ddim_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    num_inference_steps: int = 50,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
    clip_x0: float | None = None,
    progress: bool = True,
    return_intermediates: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    r"""DDIM sampling with ``num_inference_steps`` network calls (Song, Meng & Ermon 2021, Eq. (12)).

    Visits the steps of :func:`ddim_timesteps` and applies :func:`ddim_step` between
    consecutive ones, ending with a jump to ``t_prev = -1``. Arguments as in
    :func:`ddpm_sample`, plus ``num_inference_steps`` ($S$, at most $T$; the old keyword
    ``num_steps`` is a deprecated alias) and ``eta`` ($\eta$).
    """
    shape = _check_sampling(model, schedule, shape)
    taus = ddim_timesteps(schedule.num_train_timesteps, num_inference_steps)
    eta = check_real("eta", eta, non_negative=True)
    device, dtype = _device_dtype(model)
    if isinstance(model, torch.nn.Module):
        model.eval()
    x = _initial_noise(shape, x_T, generator, device, dtype)
    trail: list[tuple[int, torch.Tensor]] = []
    for i, t in enumerate(tqdm(taus, desc="DDIM", disable=not progress)):
        if return_intermediates:
            trail.append((t, x.cpu()))
        t_prev = taus[i + 1] if i + 1 < len(taus) else -1
        t_batch = torch.full((shape[0],), t, device=device, dtype=torch.int64)
        eps_theta = model(x, t_batch)
        x = ddim_step(schedule, eps_theta, x, t, t_prev, eta=eta, generator=generator, clip_x0=clip_x0)
    if return_intermediates:
        trail.append((-1, x.cpu()))
        return x, trail
    return x
