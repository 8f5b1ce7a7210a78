r"""Stable Diffusion pipelines built from configuration values, with random weights.

Nothing here downloads anything. Two builders:

* :func:`build_tiny_pipeline` — a 64×64 pipeline small enough for tests and the
  lesson's examples (about a tenth of a second for a few steps on a laptop CPU);
* :func:`build_sd15_architecture` — the full-size Stable Diffusion 1.x network
  (U-Net 860 M parameters, VAE 84 M, CLIP text encoder 123 M), written from the
  public configuration values, for timing and memory on a GPU.

Both come with a byte-level CLIP tokenizer of our own (:func:`byte_level_tokenizer`):
every UTF-8 byte is one token, so it needs no vocabulary file from a model hub.
The real CLIP tokenizer learned 48,894 merges of byte pairs on top of exactly these
256 byte symbols; with no merges, every character is its own token.

Notation (code name ↔ lesson symbol ↔ diffusers name):

| code                   | symbol        | diffusers                                   |
|------------------------|---------------|---------------------------------------------|
| ``latent_factor``      | $f = 8$       | ``pipeline.vae_scale_factor``               |
| ``latent_channels``    | $c = 4$       | ``vae.config.latent_channels``              |
| ``text_hidden_size``   | $d_\text{text}$ | ``text_encoder.config.hidden_size``       |
| ``cross_attention_dim``| $d_\text{text}$ | ``unet.config.cross_attention_dim``       |
| ``scaling_factor``     | $\gamma$      | ``vae.config.scaling_factor`` (0.18215)     |
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .._checks import check_bool, check_int, check_output_path, check_seed
from ..diffusion._validate import check_device

__all__ = [
    "BOS_TOKEN",
    "EOS_TOKEN",
    "SD15_TEXT_CONFIG",
    "SD15_UNET_CONFIG",
    "SD15_VAE_CONFIG",
    "build_sd15_architecture",
    "build_tiny_pipeline",
    "byte_level_tokenizer",
    "byte_symbols",
    "save_tiny_pipeline",
]

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
#: CLIP reads at most 77 tokens (start, 75 text tokens, end).
MAX_TOKENS = 77

# Scheduler values of Stable Diffusion 1.x ("scaled_linear" betas from 0.00085 to 0.012).
_SD_BETAS = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
}


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------


def byte_symbols() -> list[str]:
    """One printable character for each of the 256 byte values, in byte order.

    Byte-level BPE (GPT-2, CLIP) needs every byte to be a visible character. Bytes that
    already print as themselves (``!``..``~``, ``¡``..``¬``, ``®``..``ÿ``) keep their
    character; the remaining 68 (space, control codes, ...) are given the characters
    from U+0100 upwards, in byte order.
    """
    visible = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    symbols: list[str] = []
    spare = 0x100
    for byte in range(256):
        if byte in visible:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(spare))
            spare += 1
    return symbols


def _byte_vocab() -> dict[str, int]:
    """Vocabulary: 256 byte symbols, the same with ``</w>``, then start and end."""
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + [BOS_TOKEN, EOS_TOKEN]
    return {token: i for i, token in enumerate(tokens)}


def byte_level_tokenizer(max_length: int = MAX_TOKENS) -> Any:
    """A ``CLIPTokenizer`` over bytes: 514 tokens, no merges, no file from a hub.

    Token ids: a byte with value ``b`` inside a word has id ``b`` (``"a"`` = 0x61 is
    97); the byte that ends a word has id ``b + 256`` (``"a"`` ending a word is 353);
    ``<|startoftext|>`` is 512 and ``<|endoftext|>`` is 513, which also pads the ids to
    ``max_length``.
    """
    from transformers import CLIPTokenizer

    max_length = check_int("max_length", max_length, minimum=2)
    # transformers 5 ignores vocab_file=; pass the dictionary itself.
    return CLIPTokenizer(vocab=_byte_vocab(), merges=[], model_max_length=max_length)


# --------------------------------------------------------------------------------------
# Tiny pipeline
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator inside the block, then restore its state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_tiny_pipeline(seed: int = 0) -> Any:
    r"""A complete ``StableDiffusionPipeline`` for 64×64 images, with random weights.

    Same parts and wiring as the real model, only narrower:

    * CLIP text encoder: 2 layers, hidden size $d_\text{text} = 32$, 77 positions,
      with :func:`byte_level_tokenizer`;
    * U-Net: ``block_out_channels=(32, 64)``, one cross-attention block each way,
      ``cross_attention_dim = 32`` (must equal $d_\text{text}$);
    * VAE: four resolution levels, so $f = 2^{4-1} = 8$ and 64×64×3 → 8×8×4, the same
      factor as 512×512×3 → 64×64×4;
    * DDIM scheduler with Stable Diffusion 1.x's betas and ``steps_offset=1``;
    * no safety checker.

    Args:
        seed: seeds the random weights; the same seed gives the same pipeline.

    Returns:
        A ``diffusers.StableDiffusionPipeline`` on the CPU in float32.
    """
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    # 0. Check the input at the door
    seed = check_seed(seed)

    # 1. Build the three networks from one seed, always in the same order
    tokenizer = byte_level_tokenizer()
    with _seeded(seed):
        unet = _tiny_unet()
        vae = _tiny_vae()
        text_encoder = _tiny_text_encoder(tokenizer)

    # 2. Add the DDIM scheduler and wire the pipeline, without a safety checker
    scheduler = DDIMScheduler(**_SD_BETAS, clip_sample=False, set_alpha_to_one=False)
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder.eval(),
        tokenizer=tokenizer,
        unet=unet.eval(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


#: $d_\text{text}$ of the miniature: the text encoder's width, which the U-Net's cross-attention must match.
_TEXT_HIDDEN_SIZE = 32


def _tiny_unet() -> Any:
    """The miniature's U-Net: two levels (32, 64 channels), cross-attention on the deeper one, 8×8×4 latents."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=_TEXT_HIDDEN_SIZE,
        attention_head_dim=8,
        norm_num_groups=16,
    )


def _tiny_vae() -> Any:
    """The miniature's VAE: four levels, so 64×64×3 images become 8×8×4 latents (f = 8)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 16, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=64,
    )


def _tiny_text_encoder(tokenizer: Any) -> Any:
    """The miniature's CLIP text encoder: 2 layers of width 32 over 77 positions of the byte-level tokenizer."""
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=_TEXT_HIDDEN_SIZE,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=MAX_TOKENS,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )


def save_tiny_pipeline(model_dir: str | Path, seed: int = 0) -> Path:
    """Build :func:`build_tiny_pipeline` and save it as a diffusers directory.

    The directory has the layout of a real checkpoint (``model_index.json`` and one
    folder per part, weights in safetensors), so :func:`~.load_pipeline` reads it
    exactly as it would read Stable Diffusion 1.5.

    Returns:
        The directory written.
    """
    target = check_output_path("model_dir", model_dir, kind="dir")  # before any work
    pipeline = build_tiny_pipeline(seed)
    pipeline.save_pretrained(target, safe_serialization=True)
    return target


# --------------------------------------------------------------------------------------
# Full-size Stable Diffusion 1.x, random weights
# --------------------------------------------------------------------------------------

#: U-Net of Stable Diffusion 1.x (the values of its public ``unet/config.json``).
SD15_UNET_CONFIG: dict[str, Any] = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "down_block_types": (
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ),
    "up_block_types": (
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ),
    "block_out_channels": (320, 640, 1280, 1280),
    "layers_per_block": 2,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "act_fn": "silu",
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "downsample_padding": 1,
}

#: The KL-regularised autoencoder with f = 8 and 4 latent channels.
SD15_VAE_CONFIG: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "act_fn": "silu",
    "sample_size": 512,
    "scaling_factor": 0.18215,
}

#: CLIP ViT-L/14's text transformer (Radford et al. 2021): 12 layers, width 768.
SD15_TEXT_CONFIG: dict[str, Any] = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": MAX_TOKENS,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
    "bos_token_id": 49406,
    "eos_token_id": 49407,
    "pad_token_id": 49407,
}


def build_sd15_architecture(
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    parts_only: bool = False,
) -> Any:
    r"""Stable Diffusion 1.x at full size, from its configuration values, random weights.

    No weights are downloaded: this is the *architecture* — the right shapes, the
    right number of parameters, the right cost per step — with meaningless weights.
    It answers "how long does one 512×512 image take on this GPU, how much memory?"
    without a model licence or a network.

    The tokenizer is :func:`byte_level_tokenizer` (ids 0–513 fit inside CLIP's 49,408).

    Args:
        seed: seeds the random weights.
        device: where to build the modules (``"meta"`` builds shapes only, no memory).
        dtype: parameter dtype, e.g. ``torch.float16`` on a GPU.
        parts_only: return ``{"unet": ..., "vae": ..., "text_encoder": ...}`` instead
            of a pipeline (useful with ``device="meta"`` to count parameters).

    Returns:
        A ``StableDiffusionPipeline`` (PNDM scheduler, as SD 1.5 ships), or the dict
        of parts.
    """
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    seed = check_seed(seed)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"`dtype` must be a torch.dtype, got {type(dtype).__name__}.")
    if not dtype.is_floating_point:
        raise ValueError(f"`dtype` must be a floating-point dtype, got {dtype}.")
    parts_only = check_bool("parts_only", parts_only)
    is_meta = device == "meta" or (isinstance(device, torch.device) and device.type == "meta")
    device = torch.device("meta") if is_meta else check_device(device)  # meta: shapes only, no memory
    with _seeded(seed), device:
        unet = UNet2DConditionModel(**SD15_UNET_CONFIG)
        vae = AutoencoderKL(**SD15_VAE_CONFIG)
        text_encoder = CLIPTextModel(CLIPTextConfig(**SD15_TEXT_CONFIG))
    parts = {"unet": unet.eval(), "vae": vae.eval(), "text_encoder": text_encoder.eval()}
    if dtype != torch.float32:
        parts = {name: module.to(dtype=dtype) for name, module in parts.items()}
    if parts_only:
        return parts
    scheduler = PNDMScheduler(**_SD_BETAS, skip_prk_steps=True, set_alpha_to_one=False)
    return StableDiffusionPipeline(
        **parts,
        tokenizer=byte_level_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
