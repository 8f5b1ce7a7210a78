r"""Stable Diffusion taken apart: the stages that ``StableDiffusionPipeline.__call__`` chains.

Generation runs entirely in the VAE's latent space $z \in \mathbb{R}^{4 \times H/8
\times W/8}$ (Rombach et al. 2022, Sec. 3):

1. :func:`tokenize_prompt` — text → 77 token ids;
2. :func:`encode_prompt` — ids → CLIP embeddings $c = \tau_\theta(y)$, one vector per
   token (77 × $d_\text{text}$), for the prompt and for the negative (or empty) prompt;
3. :func:`prepare_latents` — pure noise $z_T \sim \mathcal{N}(0, I)$, seeded;
4. :func:`denoise` — for each timestep, the U-Net predicts the noise twice (with $c$
   and with the empty prompt $\varnothing$), classifier-free guidance mixes the two,
   and the scheduler takes one step $z_t \to z_{t-1}$;
5. :func:`decode_latents` — the VAE decoder $D$ turns $z_0$ into pixels.

:func:`encode_image` is the VAE encoder $E$ used during training (image → latent).

Classifier-free guidance (Ho & Salimans 2022, Eq. 6, written with the noise):

$$\hat\epsilon = \epsilon_\theta(z_t, \varnothing) + s\,\bigl(\epsilon_\theta(z_t, c) -
\epsilon_\theta(z_t, \varnothing)\bigr).$$

Notation (code name ↔ symbol ↔ diffusers name):

| code                     | symbol                         | diffusers                          |
|--------------------------|--------------------------------|------------------------------------|
| ``token_ids``            | $y$ (as ids)                   | ``text_inputs.input_ids``          |
| ``prompt_embeds``        | $c = \tau_\theta(y)$           | ``prompt_embeds``                  |
| ``negative_prompt_embeds``| $\varnothing$ (empty/negative) | ``negative_prompt_embeds``        |
| ``latents``              | $z_t$                          | ``latents``                        |
| ``eps_uncond``           | $\epsilon_u$                   | ``noise_pred_uncond``              |
| ``eps_cond``             | $\epsilon_c$                   | ``noise_pred_text``                |
| ``eps_hat``              | $\hat\epsilon$                 | ``noise_pred`` after guidance      |
| ``guidance_scale``       | $s$                            | ``guidance_scale``                 |
| ``scaling_factor``       | $\gamma$ (0.18215 in SD 1.x)   | ``vae.config.scaling_factor``      |
| ``num_inference_steps``  | $S$, number of denoising steps | ``num_inference_steps``            |
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .._checks import check_bool
from .._deprecation import renamed_kwargs
from .._tensor_checks import check_finite, check_tensor
from ._validate import (
    check_dtype,
    check_generator,
    check_guidance,
    check_num_inference_steps,
    check_output_type,
    check_pipeline,
    check_prompt,
    check_size,
)

__all__ = [
    "classifier_free_guidance",
    "decode_latents",
    "denoise",
    "encode_image",
    "encode_prompt",
    "prepare_latents",
    "tokenize_prompt",
    "uses_guidance",
]


def uses_guidance(guidance_scale: float) -> bool:
    r"""Whether the unconditional pass is run at all: ``guidance_scale > 1``.

    This is diffusers' rule (``do_classifier_free_guidance``). With $s = 1$ the formula
    gives $\epsilon_c$ exactly, so the second U-Net pass is skipped. diffusers also
    skips it for $0 \le s < 1$ and then uses $\epsilon_c$ alone, although the formula
    would give a blend towards $\epsilon_u$ (and $\epsilon_u$ itself at $s = 0$).
    """
    return check_guidance(guidance_scale) > 1.0


def tokenize_prompt(pipeline: Any, prompt: str) -> torch.Tensor:
    """Token ids of ``prompt``, padded (or cut) to the tokenizer's 77 positions.

    The ids start with ``<|startoftext|>``, end with ``<|endoftext|>``, and the rest is
    padding; CLIP reads all 77 positions.

    Returns:
        A ``(1, 77)`` ``torch.long`` tensor.
    """
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    tokenizer = pipeline.tokenizer
    return tokenizer(
        prompt,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids


def _text_embeddings(pipeline: Any, text: str) -> torch.Tensor:
    """CLIP's last hidden state for ``text`` (may be empty): ``(1, 77, d_text)``."""
    tokenizer = pipeline.tokenizer
    ids = tokenizer(
        text,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    device = pipeline.text_encoder.device
    with torch.no_grad():
        hidden = pipeline.text_encoder(ids.to(device))[0]  # last_hidden_state
    return hidden.to(dtype=pipeline.text_encoder.dtype)


def encode_prompt(
    pipeline: Any,
    prompt: str,
    *,
    negative_prompt: str | None = None,
    guidance_scale: float = 7.5,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""CLIP embeddings $c = \tau_\theta(y)$ of the prompt, and of the negative prompt.

    The U-Net never sees words, only these 77 vectors; it reads them through
    cross-attention in every ``CrossAttn*`` block (Rombach et al. 2022, Eq. 3).

    Args:
        prompt: the text to draw.
        negative_prompt: what guidance should steer *away* from; ``None`` means the
            empty prompt $\varnothing$.
        guidance_scale: $s$; the negative embeddings are only computed when
            :func:`uses_guidance` is true.

    Returns:
        ``(prompt_embeds, negative_prompt_embeds)``, each ``(1, 77, d_text)``; the
        second is ``None`` when guidance is off.
    """
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    check_prompt("negative_prompt", negative_prompt, allow_none=True)
    prompt_embeds = _text_embeddings(pipeline, prompt)
    if not uses_guidance(guidance_scale):
        return prompt_embeds, None
    negative_prompt_embeds = _text_embeddings(pipeline, negative_prompt or "")
    return prompt_embeds, negative_prompt_embeds


def prepare_latents(
    pipeline: Any,
    *,
    generator: torch.Generator,
    height: int = 512,
    width: int = 512,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    r"""The starting point $z_T \sim \mathcal{N}(0, I)$ of shape ``(1, 4, H/8, W/8)``.

    The noise is drawn on the generator's device (the CPU for a CPU generator, so the
    same seed gives the same start on every machine), moved to the U-Net's device,
    and multiplied by the scheduler's ``init_noise_sigma`` (1 for DDPM/DDIM/PNDM).
    """
    check_pipeline(pipeline)
    check_generator(generator, allow_none=False)
    factor = pipeline.vae_scale_factor
    height = check_size("height", height, factor)
    width = check_size("width", width, factor)
    unet = pipeline.unet
    dtype = unet.dtype if dtype is None else check_dtype(dtype)
    shape = (1, unet.config.in_channels, height // factor, width // factor)
    noise = torch.randn(shape, generator=generator, device=generator.device, dtype=dtype)
    return noise.to(unet.device) * pipeline.scheduler.init_noise_sigma


def classifier_free_guidance(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    r"""Mix the two noise predictions: $\hat\epsilon = \epsilon_u + s(\epsilon_c - \epsilon_u)$.

    Ho & Salimans 2022, Eq. (6). $s = 0$ gives $\epsilon_u$ (the prompt is ignored),
    $s = 1$ gives $\epsilon_c$ (plain conditioning), $s > 1$ pushes *past* $\epsilon_c$,
    away from $\epsilon_u$, which makes the image follow the prompt harder.
    """
    check_tensor("eps_uncond", eps_uncond)
    check_tensor("eps_cond", eps_cond, dtype=eps_uncond.dtype, device=eps_uncond.device, partner="`eps_uncond`")
    if eps_uncond.shape != eps_cond.shape:
        raise ValueError(
            f"`eps_uncond` and `eps_cond` must have the same shape, got "
            f"{tuple(eps_uncond.shape)} and {tuple(eps_cond.shape)}."
        )
    s = check_guidance(guidance_scale)
    return _check_guided(_guide(eps_uncond, eps_cond, s), s)


def _guide(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, s: float) -> torch.Tensor:
    return eps_uncond + s * (eps_cond - eps_uncond)  # Ho & Salimans 2022, Eq. (6)


def _check_guided(x: torch.Tensor, guidance_scale: float, what: str = "the guided noise") -> torch.Tensor:
    """Refuse a non-finite result, blaming ``guidance_scale`` when it is large."""
    return check_finite(
        x, f"{what} is not finite (NaN or infinity): `guidance_scale` = {guidance_scale:g} is too large "
        f"for these predictions (Stable Diffusion uses about 7.5)."
    )


def _step_kwargs(scheduler: Any, generator: torch.Generator | None) -> dict[str, Any]:
    """``eta=0`` and ``generator`` for the schedulers whose ``step`` takes them."""
    params = inspect.signature(scheduler.step).parameters
    kwargs: dict[str, Any] = {}
    if "eta" in params:
        kwargs["eta"] = 0.0  # DDIM's η = 0: deterministic
    if "generator" in params:
        kwargs["generator"] = generator
    return kwargs


@renamed_kwargs(steps="num_inference_steps")
def denoise(
    pipeline: Any,
    latents: torch.Tensor,
    prompt_embeds: torch.Tensor,
    negative_prompt_embeds: torch.Tensor | None = None,
    *,
    num_inference_steps: int = 30,
    guidance_scale: float = 7.5,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> torch.Tensor:
    r"""The denoising loop in latent space: $z_T \to z_{T-1} \to \dots \to z_0$.

    At each timestep $t$ chosen by the scheduler:

    1. the U-Net predicts the noise with the prompt, $\epsilon_c = \epsilon_\theta(z_t,
       t, c)$, and — when guidance is on — without it, $\epsilon_u = \epsilon_\theta(z_t,
       t, \varnothing)$, both in one batch of two;
    2. :func:`classifier_free_guidance` gives $\hat\epsilon$;
    3. the scheduler turns $(z_t, \hat\epsilon)$ into $z_{t-1}$ (for DDIM, Song et al.
       2021, Eq. 12 with η = 0).

    Returns:
        The clean latent $z_0$, same shape as ``latents``.
    """
    # 0. Check the inputs at the door
    num_inference_steps, guidance_scale, progress = _check_denoise_inputs(
        pipeline, latents, prompt_embeds, negative_prompt_embeds, num_inference_steps, guidance_scale, generator,
        progress,
    )
    unet, scheduler = pipeline.unet, pipeline.scheduler
    guided = uses_guidance(guidance_scale)

    # 1. Prepare the timesteps, the scheduler's extra arguments and the text conditioning (unconditional first)
    scheduler.set_timesteps(num_inference_steps, device=latents.device)
    step_kwargs = _step_kwargs(scheduler, generator)
    text = (
        torch.cat([negative_prompt_embeds, prompt_embeds])
        if guided and negative_prompt_embeds is not None
        else prompt_embeds
    )

    # 2. The denoising loop: predict the noise, guide it, let the scheduler step back
    for t in tqdm(scheduler.timesteps, desc="denoising", disable=not progress):
        eps = _predict_noise(unet, scheduler, latents, t, text, guidance_scale if guided else None)
        latents = scheduler.step(eps, t, latents, **step_kwargs, return_dict=False)[0]

    # 3. Refuse a latent that is no longer finite
    if not guided:
        if not bool(torch.isfinite(latents).all()):
            raise ValueError("the denoised latent is not finite: the values of `latents` are too large.")
        return latents
    return _check_guided(latents, guidance_scale, "the denoised latent")


def _check_denoise_inputs(
    pipeline: Any,
    latents: Any,
    prompt_embeds: Any,
    negative_prompt_embeds: Any,
    num_inference_steps: Any,
    guidance_scale: Any,
    generator: Any,
    progress: Any,
) -> tuple[int, float, bool]:
    """:func:`denoise`'s ``check_inputs``: S, the guidance scale and ``progress``, checked and normalised."""
    check_pipeline(pipeline)
    unet, scheduler = pipeline.unet, pipeline.scheduler
    num_inference_steps = check_num_inference_steps(num_inference_steps, scheduler=scheduler)
    guidance_scale = check_guidance(guidance_scale)
    guided = uses_guidance(guidance_scale)
    _check_latents(latents, unet, unet.config.in_channels, "U-Net")
    check_tensor("prompt_embeds", prompt_embeds, ndim=3, device=unet.device, partner="the U-Net")
    if guided and negative_prompt_embeds is None:
        raise ValueError(
            "`negative_prompt_embeds` is needed when `guidance_scale` > 1; "
            "get it from encode_prompt(..., guidance_scale=...)."
        )
    if negative_prompt_embeds is not None and guided:
        check_tensor(
            "negative_prompt_embeds",
            negative_prompt_embeds,
            dtype=prompt_embeds.dtype,
            device=prompt_embeds.device,
            shape=prompt_embeds.shape,
            partner="`prompt_embeds`",
        )
    check_generator(generator)
    progress = check_bool("progress", progress)
    if unet.config.time_cond_proj_dim is not None:
        raise ValueError("`pipeline` has a guidance-embedding U-Net (LCM); not covered here.")
    return num_inference_steps, guidance_scale, progress


def _check_latents(latents: Any, net: Any, channels: int, who: str) -> None:
    """``latents`` for the U-Net or the VAE (``who``): a finite batch of ``channels``-channel latents."""
    check_tensor("latents", latents, ndim=4, dtype=net.dtype, device=net.device, partner=f"the {who}")
    if latents.shape[1] != channels:
        raise ValueError(f"`latents` must have the {who}'s {channels} channels, got shape {tuple(latents.shape)}.")
    if latents.shape[0] < 1:
        raise ValueError(f"`latents` must hold at least one latent, got shape {tuple(latents.shape)}.")


def _predict_noise(
    unet: Any, scheduler: Any, latents: torch.Tensor, t: torch.Tensor, text: torch.Tensor, guidance_scale: float | None
) -> torch.Tensor:
    r"""$\hat\epsilon$ at timestep ``t``: one U-Net call on a batch of two when guiding (``guidance_scale`` set)."""
    guided = guidance_scale is not None
    model_input = torch.cat([latents] * 2) if guided else latents
    model_input = scheduler.scale_model_input(model_input, t)
    with torch.no_grad():
        eps = unet(model_input, t, encoder_hidden_states=text, return_dict=False)[0]
    if guidance_scale is not None:
        eps_uncond, eps_cond = eps.chunk(2)
        eps = _guide(eps_uncond, eps_cond, guidance_scale)
    return eps


def decode_latents(pipeline: Any, latents: torch.Tensor, *, output_type: str = "pil") -> list[Any] | np.ndarray:
    r"""Pixels from the clean latent: $x = D(z_0 / \gamma)$, mapped from [-1, 1] to [0, 1].

    The VAE was trained on latents that were multiplied by $\gamma$ (0.18215 in SD 1.x)
    so that they have roughly unit variance; decoding divides it out first. If the
    pipeline has a safety checker, it runs here, as in diffusers.

    Returns:
        A list of PIL images (``output_type="pil"``) or an array ``(N, H, W, 3)`` in
        [0, 1] (``"np"``).
    """
    check_pipeline(pipeline)
    output_type = check_output_type(output_type)
    vae = pipeline.vae
    _check_latents(latents, vae, vae.config.latent_channels, "VAE")
    with torch.no_grad():
        image = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
    check_finite(image, "`latents` decode to NaN or infinity: their values are too large for the VAE.")
    if getattr(pipeline, "safety_checker", None) is not None:
        with torch.no_grad():
            image, _ = pipeline.run_safety_checker(image, image.device, latents.dtype)
    return pipeline.image_processor.postprocess(image, output_type=output_type, do_denormalize=[True] * image.shape[0])


def encode_image(pipeline: Any, image: torch.Tensor) -> torch.Tensor:
    r"""The VAE encoder: pixels in [-1, 1], ``(N, 3, H, W)`` → latent ``(N, 4, H/8, W/8)``.

    Returns the mean of the encoder's Gaussian times $\gamma$: $z = \gamma\,\mu_E(x)$,
    the latent that training adds noise to.
    """
    check_pipeline(pipeline)
    check_tensor("image", image)
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"`image` must have shape (N, 3, H, W), got {tuple(image.shape)}.")
    factor = pipeline.vae_scale_factor
    check_size("image height", image.shape[2], factor)
    check_size("image width", image.shape[3], factor)
    vae = pipeline.vae
    with torch.no_grad():
        posterior = vae.encode(image.to(device=vae.device, dtype=vae.dtype)).latent_dist
    latent = posterior.mean * vae.config.scaling_factor
    if not bool(torch.isfinite(latent).all()):
        raise ValueError("`image` encodes to NaN or infinity: its values are too large (pixels belong in [-1, 1]).")
    return latent
