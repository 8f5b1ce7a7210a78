r"""Captioned images for the miniature Stable Diffusion: scikit-learn's digits, or MedMNIST, each with its prompts.

The digits (1,797 images, 8×8, UCI, CC BY 4.0) ship with scikit-learn, so the default needs
no download. They are upsampled to 32×32 (bilinear) so that an autoencoder with
$f = 4$ has something to compress, and copied into 3 channels, as SD's VAE expects:
$x \in [-1, 1]^{3 \times 32 \times 32}$.

Each label has several prompts (:data:`TEMPLATES`), so the text encoder has to learn that
"a handwritten seven", "the digit 7" and "手書きの7" mean one thing. During training the
prompt is replaced by the empty string with probability $p_\text{uncond}$, so that one
network learns both $\epsilon_\theta(z_t, c)$ and $\epsilon_\theta(z_t, \varnothing)$
(Ho & Salimans 2022, Algorithm 1, line 3).

Readers with internet may train on a MedMNIST data set instead:
``load_captioned_images("medmnist:pneumoniamnist")`` downloads it with the ``medmnist`` package
(28×28 chest X-rays, labels normal / pneumonia) and reads the ``.npz`` it stores.

Notation (code name ↔ symbol):

| code          | symbol                                            |
|---------------|---------------------------------------------------|
| ``images``    | $x_0 \in [-1, 1]^{N \times 3 \times 32 \times 32}$ |
| ``labels``    | the class $y$ of each image                        |
| ``p_uncond``  | $p_\text{uncond}$, the prompt-dropout probability  |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from .. import limits
from .._checks import check_int, check_real
from ..data import load_digits_images, load_medmnist, read_medmnist_npz

__all__ = [
    "DIGIT_WORDS",
    "IMAGE_SIZE",
    "MEDMNIST_PROMPTS",
    "TEMPLATES",
    "CaptionedImages",
    "digit_prompts",
    "drop_prompts",
    "load_captioned_images",
    "load_medmnist_npz",
    "to_classifier_pixels",
    "training_words",
    "upsample",
]

#: Side of the images the miniature SD draws.
IMAGE_SIZE = 32
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Prompt templates per digit; ``{word}`` is "seven", ``{digit}`` is "7". The last is Japanese.
TEMPLATES = (
    "a handwritten {word}",
    "the digit {digit}",
    "{digit}",
    "the number {word}",
    "a {word}",
    "handwritten digit {digit}",
    "手書きの{digit}",
)
#: Prompts of the MedMNIST sets that :func:`load_captioned_images` knows, one list per label.
MEDMNIST_PROMPTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "pneumoniamnist": (
        ("a normal chest x-ray", "a chest x-ray without pneumonia", "normal"),
        ("a chest x-ray with pneumonia", "pneumonia", "an abnormal chest x-ray"),
    ),
}


@dataclass(frozen=True)
class CaptionedImages:
    """Images in $[-1, 1]$, ``(N, 3, 32, 32)``; integer labels; the prompts of each label.

    (Called ``Dataset`` before; the new name does not clash with ``torch.utils.data.Dataset``
    or Hugging Face's ``datasets``.)
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    prompts: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def digit_prompts(digit: int) -> tuple[str, ...]:
    """Every training prompt of one digit, e.g. ``digit_prompts(7)[0] == "a handwritten seven"``."""
    digit = check_int("digit", digit, minimum=0)
    if digit > 9:
        raise ValueError(f"`digit` must be in 0..9, got {digit}.")
    return tuple(t.format(word=DIGIT_WORDS[digit], digit=digit) for t in TEMPLATES)


def training_words(prompts: tuple[tuple[str, ...], ...]) -> list[str]:
    """All prompts in one flat list (the words a tokenizer must keep whole)."""
    if isinstance(prompts, str) or not isinstance(prompts, tuple | list):
        raise TypeError(f"`prompts` must be a sequence of prompt tuples, got {type(prompts).__name__}.")
    if not all(isinstance(per, tuple | list) and all(isinstance(p, str) for p in per) for per in prompts):
        raise TypeError("`prompts` must hold one tuple of strings per label.")
    return [p for per_label in prompts for p in per_label]


def upsample(images: torch.Tensor, size: int = IMAGE_SIZE) -> torch.Tensor:
    """Bilinear resize of ``(N, 1, h, w)`` to ``(N, 3, size, size)``, the grey copied into 3 channels."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"`images` must be a torch tensor, got {type(images).__name__}.")
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"`images` must have shape (N, 1, H, W), got {tuple(images.shape)}.")
    size = check_int("size", size, minimum=1, maximum=limits.MAX_RESIZE_SIDE, why="pixels per side")
    if not images.is_floating_point() or images.device.type == "meta":
        raise TypeError(f"`images` must be a floating-point tensor with data, got {images.dtype} on {images.device}.")
    if not bool(torch.isfinite(images).all()):
        raise ValueError("`images` must not contain NaN or infinity.")
    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False)
    return out.clamp(-1.0, 1.0).repeat(1, 3, 1, 1)


def to_classifier_pixels(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    r"""Generated images → the 8×8 digits the classifier of :mod:`medai_lessons.diffusion.quality` reads.

    Accepts ``(N, 3, H, W)`` in $[-1, 1]$ or the pipeline's ``(N, H, W, 3)`` in $[0, 1]$
    (``output_type="np"``); averages the channels and each $H/8 \times W/8$ block.
    """
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"`images` as an array must be (N, H, W, 3) in [0, 1], got {images.shape}.")
        x = torch.as_tensor(images, dtype=torch.float32).permute(0, 3, 1, 2) * 2 - 1
    elif isinstance(images, torch.Tensor):
        if not images.is_floating_point() or images.device.type == "meta":
            raise TypeError(f"`images` must be a floating-point tensor with data, got {images.dtype}, {images.device}.")
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"`images` as a tensor must be (N, 3, H, W), got {tuple(images.shape)}.")
        x = images.detach().float().cpu()
    else:
        raise TypeError(f"`images` must be a tensor or an array, got {type(images).__name__}.")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("`images` must not contain NaN or infinity.")
    if x.shape[2] % 8 or x.shape[3] % 8:
        raise ValueError(f"`images` height and width must be multiples of 8, got {tuple(x.shape[2:])}.")
    return F.adaptive_avg_pool2d(x.mean(dim=1, keepdim=True), 8).clamp(-1.0, 1.0)


def drop_prompts(prompts: list[str], p_uncond: float, generator: torch.Generator) -> list[str]:
    r"""Replace each prompt by ``""`` with probability $p_\text{uncond}$ (Ho & Salimans 2022, Alg. 1)."""
    if isinstance(prompts, str) or not isinstance(prompts, list | tuple) or not all(
        isinstance(p, str) for p in prompts
    ):
        raise TypeError(f"`prompts` must be a list of strings, got {type(prompts).__name__}.")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}.")
    p_uncond = check_real("p_uncond", p_uncond, non_negative=True)
    if p_uncond > 1:
        raise ValueError(f"`p_uncond` must be <= 1, got {p_uncond}.")
    drop = torch.rand(len(prompts), generator=generator) < p_uncond
    return ["" if d else p for p, d in zip(prompts, drop.tolist(), strict=True)]


def _digits() -> CaptionedImages:
    x0, labels = load_digits_images(return_labels=True)
    prompts = tuple(digit_prompts(d) for d in range(10))
    return CaptionedImages("digits", upsample(x0), labels, prompts)


def load_medmnist_npz(path: str | os.PathLike[str], *, flag: str, split: str = "train") -> CaptionedImages:
    """A MedMNIST ``.npz`` (:func:`medai_lessons.data.read_medmnist_npz`) resized to 32×32, with its prompts."""
    x0, labels = read_medmnist_npz(path, flag=flag, split=split)
    return CaptionedImages(f"medmnist:{flag}", upsample(x0), labels, MEDMNIST_PROMPTS[flag])


def load_captioned_images(data: str = "digits", *, root: str | os.PathLike[str] | None = None) -> CaptionedImages:
    """The training set named by ``data``: ``"digits"`` (offline) or ``"medmnist:pneumoniamnist"``.

    (Called ``load_dataset`` before, a name that clashed with Hugging Face's ``datasets``.)

    Args:
        data: the data set's name.
        root: where MedMNIST stores its download (default ``~/.medmnist``); a ``<flag>.npz``
            already there is read without the ``medmnist`` package. Unused for digits.
    """
    if not isinstance(data, str):
        raise TypeError(f"`data` must be a string, got {type(data).__name__}.")
    if root is not None and not isinstance(root, str | os.PathLike):
        raise TypeError(f"`root` must be a folder path or None, got {type(root).__name__}.")
    if data == "digits":
        return _digits()
    if data.startswith("medmnist:"):
        flag = data.split(":", 1)[1]
        if flag not in MEDMNIST_PROMPTS:
            raise ValueError(f"`data`: unknown MedMNIST set {flag!r}; known: {sorted(MEDMNIST_PROMPTS)}.")
        x0, labels = load_medmnist(flag, root=root)
        return CaptionedImages(data, upsample(x0), labels, MEDMNIST_PROMPTS[flag])
    known = ["digits", *(f"medmnist:{f}" for f in MEDMNIST_PROMPTS)]
    raise ValueError(f"`data` must be one of {known}, got {data!r}.")


def as_array(x: Any) -> np.ndarray:
    """A tensor or array as a float64 NumPy array (helper for figures)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)
