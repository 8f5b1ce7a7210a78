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
gives the same numbers in both. The step functions check their inputs when called
directly; the samplers check everything once and then loop over unchecked twins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, overload

import torch
from tqdm.auto import tqdm

from medai_lessons._checks import check_bool, check_callable, check_int
from medai_lessons._deprecation import renamed_kwargs
from medai_lessons.diffusion._validate import (
    check_clip,
    check_eta,
    check_finite_result,
    check_generator,
    check_images,
    check_noise_or_generator,
    check_sample_shape,
    check_schedule,
    check_step,
)
from medai_lessons.diffusion.forward import _posterior_mean_variance, _predict_x0
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.limits import MAX_TRAIN_TIMESTEPS

__all__ = [
    "ddim_sample",
    "ddim_step",
    "ddim_timesteps",
    "ddpm_sample",
    "p_sample_step",
]

Model = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_step_inputs(
    schedule: NoiseSchedule,
    eps_theta: object,
    x_t: object,
    t: object,
    noise: object,
    generator: object,
    clip_x0: object,
) -> tuple[int, float | None]:
    """The checks shared by :func:`p_sample_step` and :func:`ddim_step`."""
    check_schedule(schedule)
    x_t = check_images("x_t", x_t)
    check_images("eps_theta", eps_theta, like=x_t, like_name="`x_t`")
    step = check_step(schedule, t)
    clip = check_clip(clip_x0)
    check_noise_or_generator(noise, generator)
    if noise is not None:
        check_images("noise", noise, like=x_t, like_name="`x_t`")
    return step, clip


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
        eps_theta: the network's noise prediction for ``x_t`` (same shape, dtype, device).
        x_t: the current images.
        t: the current step, an int in ``[0, T)``.
        generator: random source for $z$ (drawn like diffusers: ``randn(x_t.shape)``).
        noise: $z$ itself, instead of drawing it (not together with ``generator``).
        clip_x0: if given, clamp $\hat x_0$ to ``[-clip_x0, clip_x0]`` (diffusers'
            ``clip_sample``); ``None`` follows the plain formulas.
    """
    step, clip = _check_step_inputs(schedule, eps_theta, x_t, t, noise, generator, clip_x0)
    x_prev = _p_sample_step(schedule, eps_theta, x_t, step, generator, noise, clip)
    return check_finite_result(x_prev, "the values of `eps_theta` or `x_t` are too large")


def _p_sample_step(
    schedule: NoiseSchedule,
    eps_theta: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    generator: torch.Generator | None,
    noise: torch.Tensor | None,
    clip_x0: float | None,
) -> torch.Tensor:
    t_vec = torch.full((x_t.shape[0],), t, dtype=torch.int64)
    x0_hat = _predict_x0(schedule, x_t, t_vec, eps_theta)  # Eq. (15)
    if clip_x0 is not None:
        x0_hat = _clamp(x0_hat, clip_x0)
    mean, variance = _posterior_mean_variance(schedule, x0_hat, x_t, t_vec)  # Eqs. (6)-(7)
    if t == 0:
        return mean  # the last step adds no noise (Algorithm 2: z = 0 when t = 1)
    if noise is None:
        noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
    return mean + variance.sqrt() * noise


def _clamp(x: torch.Tensor, bound: float) -> torch.Tensor:
    """``x`` clamped to ``[-bound, bound]``; a bound beyond the dtype's range clamps nothing."""
    return x if bound >= torch.finfo(x.dtype).max else x.clamp(-bound, bound)


@renamed_kwargs(num_train_steps="num_train_timesteps", num_steps="num_inference_steps")
def ddim_timesteps(num_train_timesteps: int, num_inference_steps: int) -> list[int]:
    r"""The sub-sequence $\tau$ of steps DDIM visits, largest first.

    Evenly spaced with stride $\lfloor T/S\rfloor$ starting at 0 (diffusers'
    ``timestep_spacing="leading"``): for $T=1000$, $S=50$: 980, 960, ..., 20, 0.

    Args:
        num_train_timesteps: $T$ (old keyword ``num_train_steps``, deprecated).
        num_inference_steps: $S$, ``1 <= S <= T`` (old keyword ``num_steps``, deprecated).
    """
    T = check_int("num_train_timesteps", num_train_timesteps, minimum=1, maximum=MAX_TRAIN_TIMESTEPS,
                  why="the longest schedule; DDPM uses 1,000")
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
        eta: $\eta \in [0, 1]$.
        generator: the source of $z$ (not together with ``noise``).
        noise: $z$ itself (not together with ``generator``).
    """
    step, clip = _check_step_inputs(schedule, eps_theta, x_t, t, noise, generator, clip_x0)
    if isinstance(t_prev, bool) or not isinstance(t_prev, int):
        raise TypeError(f"`t_prev` must be an int, got {type(t_prev).__name__}.")
    if not -1 <= t_prev < step:
        raise ValueError(f"`t_prev` must satisfy -1 <= t_prev < t = {step}, got {t_prev}.")
    eta = check_eta(eta)
    x_prev = _ddim_step(schedule, eps_theta, x_t, step, t_prev, eta, generator, noise, clip)
    return check_finite_result(x_prev, _culprit(eta))


def _culprit(eta: float, source: str = "the values of `eps_theta` or `x_t` are too large") -> str:
    """What to blame for a non-finite result: a large ``eta``, or the inputs."""
    return f"`eta` = {eta} may be too large, or {source}" if eta > 0 else source


def _ddim_step(
    schedule: NoiseSchedule,
    eps_theta: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    t_prev: int,
    eta: float,
    generator: torch.Generator | None,
    noise: torch.Tensor | None,
    clip_x0: float | None,
) -> torch.Tensor:
    a_bar = schedule.alphas_cumprod
    alpha_bar_t = a_bar[t].item()
    alpha_bar_prev = a_bar[t_prev].item() if t_prev >= 0 else 1.0
    x0_hat = _predict_x0(schedule, x_t, torch.full((x_t.shape[0],), t, dtype=torch.int64), eps_theta)
    if clip_x0 is not None:
        x0_hat = _clamp(x0_hat, clip_x0)
    # Song et al. 2021, Eq. (16)
    sigma_t = eta * ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)) ** 0.5
    direction = max(1 - alpha_bar_prev - sigma_t * sigma_t, 0.0) ** 0.5 * eps_theta  # no OverflowError for huge eta
    x_prev = alpha_bar_prev**0.5 * x0_hat + direction  # Song et al. 2021, Eq. (12)
    if sigma_t > 0:
        if noise is None:
            noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
        x_prev = x_prev + sigma_t * noise
    return x_prev


def _device_dtype(model: object) -> tuple[torch.device, torch.dtype]:
    if isinstance(model, torch.nn.Module):
        p = next(model.parameters(), None)
        if p is not None:
            return p.device, p.dtype
    return torch.device("cpu"), torch.float32


def _check_sampling(
    model: object, schedule: object, shape: object, generator: object, x_T: object, clip_x0: object
) -> tuple[tuple[int, ...], float | None]:
    """Everything a sampler needs checked, once, before the first network call."""
    check_callable("model", model)
    check_schedule(schedule)
    out = check_sample_shape(shape)
    config = getattr(model, "config", None)
    if isinstance(model, torch.nn.Module) and isinstance(config, dict) and "in_channels" in config:
        c, factor = config["in_channels"], 2 ** (len(config.get("channels", [0])) - 1)
        if len(out) != 4 or out[1] != c or out[2] % factor or out[3] % factor:
            raise ValueError(
                f"`shape` must be (batch, {c}, height, width) with sides divisible by {factor} for this "
                f"`model`, got {out}."
            )
    check_generator(generator)
    if x_T is not None:
        x = check_images("x_T", x_T)
        if tuple(x.shape) != out:
            raise ValueError(f"`x_T` must have shape {out}, got {tuple(x.shape)}.")
    return out, check_clip(clip_x0)


def _initial_noise(
    shape: tuple[int, ...],
    x_T: torch.Tensor | None,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    r"""$x_T \sim \mathcal{N}(0, I)$ drawn from ``generator``, or the caller's (checked) ``x_T``."""
    if x_T is None:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    return x_T.to(device, dtype)


def _eps(model: Model, x: torch.Tensor, t: int) -> torch.Tensor:
    r"""$\varepsilon_\theta(x_t, t)$ for the whole batch, its type and shape checked (cheap)."""
    eps_theta = model(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.int64))
    if not isinstance(eps_theta, torch.Tensor):
        raise TypeError(f"`model` must return a tensor, got {type(eps_theta).__name__}.")
    if eps_theta.shape != x.shape:
        shape = tuple(eps_theta.shape)
        raise ValueError(f"`model` must return a tensor shaped like x_t {tuple(x.shape)}, got {shape}.")
    return eps_theta.to(x.dtype)


Trail = list[tuple[int, torch.Tensor]]


@overload
def ddpm_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: Literal[False] = ...,
) -> torch.Tensor: ...
@overload
def ddpm_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: Literal[True],
) -> tuple[torch.Tensor, Trail]: ...
@overload
def ddpm_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: bool,
) -> torch.Tensor | tuple[torch.Tensor, Trail]: ...
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
) -> torch.Tensor | tuple[torch.Tensor, Trail]:
    r"""Ancestral sampling through every step (Ho et al. 2020, Algorithm 2).

    Draw $x_T\sim\mathcal N(0, I)$, then for $t = T-1, \dots, 0$ apply :func:`p_sample_step`
    with $\varepsilon_\theta(x_t, t)$ from ``model``. The arguments are checked once, before
    the first step.

    Args:
        model: $\varepsilon_\theta$, called as ``model(x_t, t)`` with ``t`` of shape ``(batch,)``.
        schedule: the schedule the model was trained with.
        shape: ``(batch, channels, height, width)`` of the images to make (at most 2**27 values).
        generator: random source for $x_T$ and every step's noise (on the model's device).
        x_T: the starting noise, instead of drawing it.
        clip_x0: clamp $\hat x_0$ to ``[-clip_x0, clip_x0]`` at each step (``None``: no clamp).
        progress: show a tqdm progress bar.
        return_intermediates: also return ``[(t, x_t), ...]`` for every step, ending
            with ``(-1, x_0)``.
    """
    shape, clip = _check_sampling(model, schedule, shape, generator, x_T, clip_x0)
    progress = check_bool("progress", progress)
    return_intermediates = check_bool("return_intermediates", return_intermediates)
    device, dtype = _device_dtype(model)
    if isinstance(model, torch.nn.Module):
        model.eval()
    x = _initial_noise(shape, x_T, generator, device, dtype)
    trail: list[tuple[int, torch.Tensor]] = []
    for t in tqdm(range(schedule.num_train_timesteps - 1, -1, -1), desc="DDPM", disable=not progress):
        if return_intermediates:
            trail.append((t, x.cpu()))
        x = _p_sample_step(schedule, _eps(model, x, t), x, t, generator, None, clip)
    check_finite_result(x, "`model` returned NaN, infinity or too large values")
    if return_intermediates:
        trail.append((-1, x.cpu()))
        return x, trail
    return x


@overload
def ddim_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    num_inference_steps: int = ...,
    eta: float = ...,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: Literal[False] = ...,
) -> torch.Tensor: ...
@overload
def ddim_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    num_inference_steps: int = ...,
    eta: float = ...,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: Literal[True],
) -> tuple[torch.Tensor, Trail]: ...
@overload
def ddim_sample(
    model: Model,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    num_inference_steps: int = ...,
    eta: float = ...,
    generator: torch.Generator | None = ...,
    x_T: torch.Tensor | None = ...,
    clip_x0: float | None = ...,
    progress: bool = ...,
    return_intermediates: bool,
) -> torch.Tensor | tuple[torch.Tensor, Trail]: ...
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
) -> torch.Tensor | tuple[torch.Tensor, Trail]:
    r"""DDIM sampling with ``num_inference_steps`` network calls (Song, Meng & Ermon 2021, Eq. (12)).

    Visits the steps of :func:`ddim_timesteps` and applies :func:`ddim_step` between
    consecutive ones, ending with a jump to ``t_prev = -1``. Arguments as in
    :func:`ddpm_sample`, plus ``num_inference_steps`` ($S$, at most $T$; the old keyword
    ``num_steps`` is a deprecated alias) and ``eta`` ($\eta$).
    """
    shape, clip = _check_sampling(model, schedule, shape, generator, x_T, clip_x0)
    progress = check_bool("progress", progress)
    return_intermediates = check_bool("return_intermediates", return_intermediates)
    taus = ddim_timesteps(schedule.num_train_timesteps, num_inference_steps)
    eta = check_eta(eta)
    device, dtype = _device_dtype(model)
    if isinstance(model, torch.nn.Module):
        model.eval()
    x = _initial_noise(shape, x_T, generator, device, dtype)
    trail: list[tuple[int, torch.Tensor]] = []
    for i, t in enumerate(tqdm(taus, desc="DDIM", disable=not progress)):
        if return_intermediates:
            trail.append((t, x.cpu()))
        t_prev = taus[i + 1] if i + 1 < len(taus) else -1
        x = _ddim_step(schedule, _eps(model, x, t), x, t, t_prev, eta, generator, None, clip)
    check_finite_result(x, _culprit(eta, "`model` returned NaN, infinity or too large values"))
    if return_intermediates:
        trail.append((-1, x.cpu()))
        return x, trail
    return x
