r"""Text → image, two ways: diffusers' pipeline, and the same work written out stage by stage.

:func:`generate` calls ``StableDiffusionPipeline.__call__``. :func:`generate_stepwise`
chains the stages of :mod:`.stages` in the order of that ``__call__`` (its comments
are numbered the same way), and gives the same pixels for the same seed and scheduler.

Notation (code name ↔ symbol ↔ diffusers name):

| code               | symbol  | diffusers               |
|--------------------|---------|-------------------------|
| ``num_inference_steps`` | $S$ | ``num_inference_steps`` |
| ``guidance_scale`` | $s$     | ``guidance_scale``      |
| ``seed``           | —       | ``generator=torch.Generator().manual_seed(seed)`` |
| ``latents``        | $z_t$   | ``latents``             |
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import check_bool, check_seed
from .._deprecation import renamed_kwargs
from ._validate import (
    check_guidance,
    check_num_inference_steps,
    check_output_type,
    check_pipeline,
    check_prompt,
    check_size,
)
from .stages import decode_latents, denoise, encode_prompt, prepare_latents

__all__ = ["generate", "generate_stepwise", "make_generator"]


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``.

    The starting noise is always drawn on the CPU, so one seed gives one starting
    latent on every machine, GPU or not.
    """
    return torch.Generator(device="cpu").manual_seed(check_seed(seed))


def _check_call(
    pipeline: Any,
    prompt: Any,
    negative_prompt: Any,
    num_inference_steps: Any,
    guidance_scale: Any,
    seed: Any,
    height: Any,
    width: Any,
    output_type: Any,
    progress: Any,
) -> tuple[int, float, int, int, int, str]:
    """Check every argument of a generation call before any heavy work."""
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    check_prompt("negative_prompt", negative_prompt, allow_none=True)
    check_bool("progress", progress)
    factor = pipeline.vae_scale_factor
    return (
        check_num_inference_steps(num_inference_steps, scheduler=pipeline.scheduler),
        check_guidance(guidance_scale),
        check_seed(seed),
        check_size("height", height, factor),
        check_size("width", width, factor),
        check_output_type(output_type),
    )


@renamed_kwargs(steps="num_inference_steps")
def generate(
    pipeline: Any,
    prompt: str,
    *,
    negative_prompt: str | None = None,
    num_inference_steps: int = 30,
    guidance_scale: float = 7.5,
    seed: int = 0,
    height: int = 512,
    width: int = 512,
    output_type: str = "pil",
    progress: bool = True,
) -> list[Any] | np.ndarray:
    r"""Generate one image with diffusers' ``StableDiffusionPipeline``, seeded.

    Args:
        pipeline: from :func:`~.load_pipeline` or :func:`~.build_tiny_pipeline`.
        prompt: what to draw (non-empty).
        negative_prompt: what to steer away from; ``None`` = the empty prompt.
        num_inference_steps: number of denoising steps $S \ge 1$ (old keyword ``steps``,
            deprecated).
        guidance_scale: $s \ge 0$ of classifier-free guidance (7.5 is SD's default).
        seed: seeds the starting noise; same seed, same image.
        height: image height in pixels, a multiple of 8 (the VAE's factor).
        width: image width in pixels, a multiple of 8.
        output_type: ``"pil"`` (list of images) or ``"np"`` (array in [0, 1]).
        progress: show a tqdm progress bar.

    Returns:
        A list with one PIL image, or an array ``(1, height, width, 3)``.

    Raises:
        ValueError: a bad argument, or an image that came out NaN or infinite (for
            example with a huge ``guidance_scale``) instead of being saved as black.
    """
    num_inference_steps, guidance_scale, seed, height, width, output_type = _check_call(
        pipeline, prompt, negative_prompt, num_inference_steps, guidance_scale, seed, height, width, output_type,
        progress,
    )
    pipeline.set_progress_bar_config(disable=not progress, desc="denoising")
    result = pipeline(
        prompt,
        negative_prompt=negative_prompt,
        num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale,
        generator=make_generator(seed),
        height=height,
        width=width,
        output_type="np",
    )
    image = result.images
    if not np.isfinite(image).all():  # diffusers would save NaN as a black image
        raise ValueError(
            f"the generated image is not finite (NaN or infinity): `guidance_scale` = {guidance_scale:g} "
            f"is too large (Stable Diffusion uses about 7.5)."
        )
    # the same conversion diffusers' postprocess(output_type="pil") applies to this array
    return pipeline.image_processor.numpy_to_pil(image) if output_type == "pil" else image


@renamed_kwargs(steps="num_inference_steps")
def generate_stepwise(
    pipeline: Any,
    prompt: str,
    *,
    negative_prompt: str | None = None,
    num_inference_steps: int = 30,
    guidance_scale: float = 7.5,
    seed: int = 0,
    height: int = 512,
    width: int = 512,
    output_type: str = "pil",
    progress: bool = True,
) -> list[Any] | np.ndarray:
    r"""The same generation as :func:`generate`, written out as the lesson's stages.

    Same arguments and same result as :func:`generate` (equal to float rounding for the
    same seed and scheduler), but every stage is a function you can call, print and
    change on its own.
    """
    # 1. Check inputs, before any heavy work
    num_inference_steps, guidance_scale, seed, height, width, output_type = _check_call(
        pipeline, prompt, negative_prompt, num_inference_steps, guidance_scale, seed, height, width, output_type,
        progress,
    )
    # 2. One generator for everything random (starting noise, stochastic samplers)
    generator = make_generator(seed)
    # 3. Encode the prompt (and the negative/empty prompt) with CLIP: c = tau(y)
    prompt_embeds, negative_prompt_embeds = encode_prompt(
        pipeline, prompt, negative_prompt=negative_prompt, guidance_scale=guidance_scale
    )
    # 4.-5. Timesteps are set inside denoise; the start z_T ~ N(0, I) in latent space
    latents = prepare_latents(pipeline, generator=generator, height=height, width=width, dtype=prompt_embeds.dtype)
    # 6.-7. Denoising loop with classifier-free guidance: z_T -> z_0
    latents = denoise(
        pipeline,
        latents,
        prompt_embeds,
        negative_prompt_embeds,
        num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale,
        generator=generator,
        progress=progress,
    )
    # 8. Decode: x = D(z_0 / gamma)
    try:
        return decode_latents(pipeline, latents, output_type=output_type)
    except ValueError as exc:  # our own latents blew up: name the argument that did it
        raise ValueError(
            f"the denoised image is not finite: `guidance_scale` = {guidance_scale:g} is too large "
            f"(Stable Diffusion uses about 7.5). [{exc}]"
        ) from exc
