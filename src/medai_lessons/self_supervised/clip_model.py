r"""The miniature CLIP: transformers' own ``CLIPModel``, small enough to train on a laptop's CPU.

Two encoders map an image and a caption into one space of ``projection_dim`` numbers
(Radford et al. 2021, Fig. 3):

* the image tower is a vision transformer (Dosovitskiy et al. 2021): the 8×8 digit is cut
  into 2×2 patches, 16 tokens plus a class token, 2 layers of width 64;
* the text tower is a transformer over lesson 3's one-token-per-word vocabulary built on
  CLIP's real byte-pair merges (:func:`medai_lessons.stable_diffusion.word_tokenizer`);
* both end in a linear projection; the cosine of the two projections, times the learnt
  scale $t = e^{\log t}$, is the logit.

**Zero-shot classification** (Radford et al. 2021, Sec. 3.1.2): write one caption per class
from a template ("a handwritten {word}"), embed the captions once, and give each image the
class whose caption is most similar:

$$\hat y(x) = \arg\max_c \cos\bigl(f_\text{image}(x),\ f_\text{text}(\text{template}(c))\bigr).$$

Notation (code name ↔ symbol ↔ transformers name):

| code              | symbol                     | transformers                          |
|-------------------|----------------------------|---------------------------------------|
| ``image_embeds``  | $f_\text{image}(x)$        | ``model.get_image_features(...)``     |
| ``text_embeds``   | $f_\text{text}(y)$         | ``model.get_text_features(...)``      |
| ``logit_scale``   | $\log t$                   | ``model.logit_scale``                 |
| ``template``      | the prompt pattern         | —                                     |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_seed
from ..limits import MAX_CLIP_IMAGE_SIZE
from ..stable_diffusion.captioned_images import DIGIT_WORDS
from .data import CaptionedImages, held_out_digits, to_pil

__all__ = [
    "PLAIN_TEMPLATE",
    "ClipShape",
    "build_clip",
    "build_processor",
    "class_prompts",
    "digit_clip_path",
    "embed_images",
    "embed_texts",
    "load_digit_clip",
    "similarity_example",
    "zero_shot_accuracy",
    "zero_shot_predict",
]

#: the template the page's headline zero-shot accuracy uses
PLAIN_TEMPLATE = "a handwritten {word}"


@dataclass(frozen=True)
class ClipShape:
    """The sizes of the miniature; saved with the weights in ``config.json``."""

    image_size: int = 8
    patch_size: int = 2
    hidden_size: int = 64
    layers: int = 2
    heads: int = 2
    projection_dim: int = 32
    model_max_length: int = 16


def build_processor(tokenizer: Any, image_size: int = 8) -> Any:
    """A ``CLIPProcessor``: grey 8-bit PIL images → ``(N, 3, s, s)`` in $[-1, 1]$; captions → token ids.

    The images are resized to ``image_size`` only if they are not that size already, copied
    into three channels, scaled by 1/255 and normalised with mean 0.5 and std 0.5.
    """
    from transformers import CLIPImageProcessorPil, CLIPProcessor

    image_size = check_int("image_size", image_size, minimum=2, maximum=MAX_CLIP_IMAGE_SIZE, why="a miniature")
    images = CLIPImageProcessorPil(
        do_resize=True,
        size={"shortest_edge": image_size},
        do_center_crop=True,
        crop_size={"height": image_size, "width": image_size},
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_convert_rgb=True,
    )
    return CLIPProcessor(image_processor=images, tokenizer=tokenizer)


def build_clip(tokenizer: Any, shape: ClipShape | None = None, *, seed: int = 0) -> Any:
    """A fresh ``CLIPModel`` of the given ``shape`` for ``tokenizer``'s vocabulary, seeded."""
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPVisionConfig

    shape = ClipShape() if shape is None else shape
    if not isinstance(shape, ClipShape):
        raise TypeError(f"`shape` must be a ClipShape, got {type(shape).__name__}.")
    seed = check_seed(seed)
    if shape.image_size % shape.patch_size:
        raise ValueError(f"`shape`: image_size {shape.image_size} is not a multiple of patch_size {shape.patch_size}.")
    common = {
        "hidden_size": shape.hidden_size,
        "intermediate_size": 2 * shape.hidden_size,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "projection_dim": shape.projection_dim,
    }
    text = CLIPTextConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=shape.model_max_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **common,
    )
    vision = CLIPVisionConfig(image_size=shape.image_size, patch_size=shape.patch_size, num_channels=3, **common)
    torch.manual_seed(seed)
    config = CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=shape.projection_dim)
    return CLIPModel(config).eval()


def digit_clip_path() -> Path:
    """The folder of the shipped miniature CLIP (``config.json``, ``model.safetensors``, tokenizer, processor)."""
    return Path(str(resources.files("medai_lessons.self_supervised").joinpath("data/digit-clip")))


@lru_cache(maxsize=1)
def _load_digit_clip() -> tuple[Any, Any]:
    return load_digit_clip()


def load_digit_clip() -> tuple[Any, Any]:
    """The shipped miniature ``(CLIPModel, CLIPProcessor)``, offline, float32, in eval mode."""
    from transformers import CLIPModel, CLIPProcessor
    from transformers.utils import logging as hf_logging

    path = digit_clip_path()
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # 78 tiny tensors: a bar would only clutter the page
    try:
        model = CLIPModel.from_pretrained(path, local_files_only=True).float().eval()
        processor = CLIPProcessor.from_pretrained(path, local_files_only=True)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    return model, processor


def class_prompts(template: str = PLAIN_TEMPLATE) -> list[str]:
    """One caption per digit 0–9 from ``template`` (``{word}`` → "seven", ``{digit}`` → "7")."""
    if not isinstance(template, str):
        raise TypeError(f"`template` must be a string, got {type(template).__name__}.")
    if "{word}" not in template and "{digit}" not in template:
        raise ValueError(f"`template` must contain {{word}} or {{digit}}, got {template!r}.")
    try:
        return [template.format(word=w, digit=d) for d, w in enumerate(DIGIT_WORDS)]
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"`template` may use only {{word}} and {{digit}}, got {template!r} ({exc}).") from None


def _check_model(model: Any, processor: Any) -> None:
    if not all(hasattr(model, a) for a in ("get_image_features", "get_text_features", "logit_scale")):
        raise TypeError(f"`model` must be a transformers CLIPModel, got {type(model).__name__}.")
    if not callable(processor) or not hasattr(processor, "tokenizer"):
        raise TypeError(f"`processor` must be a CLIPProcessor, got {type(processor).__name__}.")


def _features(output: Any) -> torch.Tensor:
    """transformers 5 returns a model output with ``pooler_output``; older versions a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


@torch.no_grad()
def embed_texts(model: Any, processor: Any, prompts: Sequence[str]) -> torch.Tensor:
    """Unit-length text embeddings ``(len(prompts), projection_dim)``."""
    _check_model(model, processor)
    if isinstance(prompts, str) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise TypeError("`prompts` must be a non-empty list of strings.")
    length = model.config.text_config.max_position_embeddings
    ids = processor(text=list(prompts), padding="max_length", max_length=length, truncation=True, return_tensors="pt")
    out = _features(model.get_text_features(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]))
    return torch.nn.functional.normalize(out.float(), dim=1)


@torch.no_grad()
def embed_images(model: Any, processor: Any, pixels: np.ndarray, *, batch_size: int = 512) -> torch.Tensor:
    """Unit-length image embeddings of uint8 greyscale images ``(N, H, W)``."""
    _check_model(model, processor)
    images = to_pil(pixels)
    dtype = next(model.parameters()).dtype
    out = []
    for i in range(0, len(images), batch_size):
        values = processor(images=images[i : i + batch_size], return_tensors="pt")["pixel_values"]
        out.append(_features(model.get_image_features(pixel_values=values.to(dtype))).float())
    return torch.nn.functional.normalize(torch.cat(out), dim=1)


def zero_shot_predict(model: Any, processor: Any, pixels: np.ndarray, template: str = PLAIN_TEMPLATE) -> np.ndarray:
    """The digit each image is given by zero-shot classification with ``template`` (ints 0–9)."""
    prompts = class_prompts(template)
    similarity = embed_images(model, processor, pixels) @ embed_texts(model, processor, prompts).T
    return similarity.argmax(dim=1).numpy()


def zero_shot_accuracy(
    model: Any, processor: Any, template: str = PLAIN_TEMPLATE, data: CaptionedImages | None = None
) -> float:
    """Share of ``data`` (default: the 360 held-out digits) that zero-shot classification gets right."""
    data = held_out_digits() if data is None else data
    if not isinstance(data, CaptionedImages):
        raise TypeError(f"`data` must be CaptionedImages, got {type(data).__name__}.")
    predicted = zero_shot_predict(model, processor, data.pixels, template)
    return float((predicted == data.labels).mean())


def similarity_example(count: int = 8, template: str = PLAIN_TEMPLATE) -> dict[str, Any]:
    """The first held-out image of each digit ``0 .. count-1``, its caption, and the shipped model's cosines.

    Returns:
        ``{"pixels": uint8 (count, 8, 8), "labels": [...], "prompts": [...], "cosine": (count, count),
        "logit_scale": t, "image_embeds": (count, D), "text_embeds": (count, D)}``; row $i$ is image $i$,
        column $j$ caption $j$, the diagonal the matching pairs; the embeddings are unit length, and
        ``cosine = image_embeds @ text_embeds.T``.
    """
    count = check_int("count", count, minimum=2, maximum=10, why="ten digits")
    held = held_out_digits()
    rows = [int(np.flatnonzero(held.labels == d)[0]) for d in range(count)]
    model, processor = _load_digit_clip()  # shared, read only
    prompts = class_prompts(template)[:count]
    pixels = held.pixels[rows]
    image_embeds, text_embeds = embed_images(model, processor, pixels), embed_texts(model, processor, prompts)
    return {"pixels": pixels, "labels": list(range(count)), "prompts": prompts, "cosine": image_embeds @ text_embeds.T,
            "logit_scale": model.logit_scale.exp().item(), "image_embeds": image_embeds, "text_embeds": text_embeds}
