r"""Stable Diffusion taken apart: latent diffusion, CLIP conditioning, classifier-free guidance.

Lesson 3. The package follows diffusers' own split of
``StableDiffusionPipeline.__call__``:

* :mod:`.stages` — ``tokenize_prompt`` → ``encode_prompt`` → ``prepare_latents`` →
  ``denoise`` (with ``classifier_free_guidance``) → ``decode_latents``;
* :mod:`.pipeline` — ``generate`` (diffusers' pipeline, seeded) and
  ``generate_stepwise`` (the stages chained; same pixels);
* :mod:`.loading` — ``load_pipeline``: a local checkpoint, offline only;
* :mod:`.architecture` — ``build_tiny_pipeline`` (random weights, 64×64, for tests and
  the lesson) and ``build_sd15_architecture`` (full size, random weights, for GPUs);
* :mod:`.cost` — one U-Net step on pixels against latents, measured;
* :mod:`.cli` — ``medai-lessons sd generate``, ``sd make-tiny`` and ``sd train-digits``;
* :mod:`.digit_pipeline` — ``digit_pipeline_path`` / ``load_digit_pipeline``: the miniature
  text-to-image SD trained on the digits, shipped in the package;
* :mod:`.captioned_images`, :mod:`.tokenizer`, :mod:`.train_digits` — its images with their
  prompts (``load_captioned_images``), its tokenizers (and the real CLIP vocabulary, offline),
  and its training;
* :mod:`.guidance` — classifier-free guidance measured: faithfulness against variety,
  and cross-attention maps.

Notation (code name ↔ symbol ↔ diffusers name):

| code               | symbol                      | diffusers                    |
|--------------------|-----------------------------|------------------------------|
| ``latents``        | $z_t$                       | ``latents``                  |
| ``prompt_embeds``  | $c = \tau_\theta(y)$        | ``prompt_embeds``            |
| ``eps_cond``       | $\epsilon_c$                | ``noise_pred_text``          |
| ``eps_uncond``     | $\epsilon_u$                | ``noise_pred_uncond``        |
| ``guidance_scale`` | $s$                         | ``guidance_scale``           |
| ``num_inference_steps`` | $S$, denoising steps   | ``num_inference_steps``      |
| ``factor``         | $f = 8$                     | ``vae_scale_factor``         |
"""

from .._deprecation import moved_names
from . import _quiet_notices  # noqa: F401  (first: the modules below import diffusers and transformers)
from .architecture import (
    build_sd15_architecture,
    build_tiny_pipeline,
    byte_level_tokenizer,
    save_tiny_pipeline,
)
from .captioned_images import digit_prompts, load_captioned_images
from .cost import (
    activation_bytes,
    build_cost_unet,
    compare_pixel_latent,
    latent_shape,
    measure_step,
    value_ratio,
)
from .digit_pipeline import digit_pipeline_path, load_digit_pipeline
from .guidance import (
    GUIDANCE_SCALES,
    cross_attention_maps,
    cross_attention_over_steps,
    faithfulness,
    guidance_sweep,
    sample_digits,
    variety,
)
from .loading import check_model_dir, load_pipeline, resolve_device_dtype
from .pipeline import generate, generate_stepwise, make_generator
from .stages import (
    classifier_free_guidance,
    decode_latents,
    denoise,
    encode_image,
    encode_prompt,
    prepare_latents,
    tokenize_prompt,
    uses_guidance,
)
from .tokenizer import clip_tokenizer, word_tokenizer

#: Old names: ``load_dataset`` is now ``load_captioned_images``.
__getattr__ = moved_names(__name__, {"load_dataset": f"{__name__}.captioned_images:load_captioned_images"})

__all__ = [
    "GUIDANCE_SCALES",
    "activation_bytes",
    "build_cost_unet",
    "build_sd15_architecture",
    "build_tiny_pipeline",
    "byte_level_tokenizer",
    "check_model_dir",
    "classifier_free_guidance",
    "clip_tokenizer",
    "compare_pixel_latent",
    "cross_attention_maps",
    "cross_attention_over_steps",
    "decode_latents",
    "denoise",
    "digit_pipeline_path",
    "digit_prompts",
    "encode_image",
    "encode_prompt",
    "faithfulness",
    "generate",
    "generate_stepwise",
    "guidance_sweep",
    "latent_shape",
    "load_captioned_images",
    "load_digit_pipeline",
    "load_pipeline",
    "make_generator",
    "measure_step",
    "prepare_latents",
    "resolve_device_dtype",
    "sample_digits",
    "save_tiny_pipeline",
    "tokenize_prompt",
    "uses_guidance",
    "value_ratio",
    "variety",
    "word_tokenizer",
]
