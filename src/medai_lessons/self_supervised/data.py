r"""The images and captions of lesson 4: scikit-learn's digits split by index, or a MedMNIST set.

**The split.** Image $i$ of ``load_digits`` (1,797 images, 8×8, values 0–16) is for training
when $i \bmod 5 \ne 0$ (1,437 images) and held out when $i \bmod 5 = 0$ (360 images). The
miniature CLIP and the self-supervised encoder never see a held-out image; every accuracy on the
page is measured on them.

**Pixels.** A digit becomes an 8-bit greyscale picture, ink bright on black:
$p = \mathrm{round}(255\,v/16)$. That is what ``CLIPProcessor`` receives, as a PIL image.

**Captions.** The same templates and words as lesson 3's miniature Stable Diffusion
(:data:`medai_lessons.stable_diffusion.captioned_images.TEMPLATES`): "a handwritten seven", "the digit 7",
"手書きの7", ... A MedMNIST set takes its captions from the label names
(:data:`~medai_lessons.stable_diffusion.captioned_images.MEDMNIST_PROMPTS`), e.g. "a chest x-ray with pneumonia".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..data import load_digits_images
from ..stable_diffusion.captioned_images import MEDMNIST_PROMPTS, digit_prompts

__all__ = [
    "HELD_OUT_EVERY",
    "CaptionedImages",
    "digit_pixels",
    "held_out_digits",
    "load_captioned",
    "to_pil",
    "training_digits",
]

#: image i is held out when i % HELD_OUT_EVERY == 0
HELD_OUT_EVERY = 5


@dataclass(frozen=True)
class CaptionedImages:
    """Greyscale 8-bit images ``(N, H, W)``, integer labels ``(N,)`` and the captions of each label."""

    name: str
    pixels: np.ndarray
    labels: np.ndarray
    prompts: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return int(self.pixels.shape[0])


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    images, targets = load_digits_images(return_labels=True)  # grey levels v/8 - 1, v in 0..16
    levels = (images[:, 0].double().numpy() + 1.0) * 8.0
    pixels = np.rint(levels * (255.0 / 16.0)).astype(np.uint8)
    pixels.setflags(write=False)
    labels = targets.numpy().astype(np.int64)
    labels.setflags(write=False)
    return pixels, labels


def digit_pixels() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as uint8 ``(N, 8, 8)`` (ink bright, 0–255) and their labels 0–9 (read-only)."""
    return _digits()


def _subset(held_out: bool) -> CaptionedImages:
    pixels, labels = _digits()
    keep = (np.arange(len(labels)) % HELD_OUT_EVERY == 0) == held_out
    prompts = tuple(digit_prompts(d) for d in range(10))
    return CaptionedImages("digits:held-out" if held_out else "digits", pixels[keep], labels[keep], prompts)


def training_digits() -> CaptionedImages:
    """The 1,437 digits with index ``i % 5 != 0``: the only ones any model of lesson 4 trains on."""
    return _subset(False)


def held_out_digits() -> CaptionedImages:
    """The 360 digits with index ``i % 5 == 0``: never trained on; every accuracy is measured here."""
    return _subset(True)


def to_pil(pixels: np.ndarray) -> list[Any]:
    """uint8 ``(N, H, W)`` (or one ``(H, W)`` image) → a list of greyscale PIL images (mode ``L``)."""
    from PIL import Image

    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"`pixels` must be a NumPy array, got {type(pixels).__name__}.")
    if pixels.dtype != np.uint8:
        raise TypeError(f"`pixels` must be uint8 (0-255), got {pixels.dtype}.")
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3 or min(pixels.shape) < 1:
        raise ValueError(f"`pixels` must have shape (N, H, W) or (H, W), got {pixels.shape}.")
    return [Image.fromarray(np.ascontiguousarray(p), mode="L") for p in pixels]


def load_captioned(data: str = "digits", *, root: str | os.PathLike[str] | None = None) -> CaptionedImages:
    """The training images named by ``data``: ``"digits"`` (the ``i % 5 != 0`` split) or ``"medmnist:<set>"``.

    A MedMNIST set is read by lesson 3's loader (its ``<set>.npz`` in ``root``, default
    ``~/.medmnist``, or downloaded by the ``medmnist`` package) and used at 32×32.
    """
    if not isinstance(data, str):
        raise TypeError(f"`data` must be a string, got {type(data).__name__}.")
    if data == "digits":
        return training_digits()
    if data.startswith("medmnist:"):
        from ..stable_diffusion.captioned_images import load_captioned_images

        set_ = load_captioned_images(data, root=root)  # refuses unknown sets, naming `data`
        pixels = ((set_.images[:, 0] + 1.0) * 127.5).round().clamp(0, 255).byte()
        return CaptionedImages(set_.name, pixels.numpy(), set_.labels.numpy(), set_.prompts)
    known = ["digits", *(f"medmnist:{f}" for f in MEDMNIST_PROMPTS)]
    raise ValueError(f"`data` must be one of {known}, got {data!r}.")
