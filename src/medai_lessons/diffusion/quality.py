r"""Quality is measured, not eyeballed: a digit classifier scores generated samples.

A multinomial logistic regression (scikit-learn, fixed seed) is fitted on 80 % of the
real digits, pixels in $[-1, 1]$. For a batch of generated images it reports

* ``confident_share``: the share of images whose largest class probability is
  $\ge$ ``threshold`` (0.9 by default), i.e. images the classifier would call a clear
  digit;
* ``class_entropy``: the entropy of the histogram of predicted classes divided by
  $\log 10$, so 1.0 means all ten digits appear equally often and 0.0 means the sampler
  collapsed onto one digit.

The same numbers for the 20 % of real digits held out from the classifier give the
ceiling a perfect generator would reach (:func:`real_digits_report`).

Notation
--------
===================  ====================================================================
code                 meaning
===================  ====================================================================
``probs``            $p(c \mid x)$ from the classifier, shape ``(n, 10)``
``confident_share``  $\frac1n\#\{i: \max_c p(c\mid x_i) \ge \tau\}$, $\tau$ = ``threshold``
``class_entropy``    $-\sum_c h_c \log h_c / \log 10$, $h_c$ = share predicted as $c$
===================  ====================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from medai_lessons._checks import check_real, check_seed
from medai_lessons.limits import MAX_QUALITY_IMAGES

__all__ = ["QualityReport", "digit_classifier", "quality_report", "real_digits_report"]


@dataclass(frozen=True)
class QualityReport:
    """Scores of one batch of images (see the module docstring)."""

    n: int
    confident_share: float
    class_entropy: float
    class_counts: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """Rounded values for JSON or printing."""
        return {
            "n": self.n,
            "confident_share": round(self.confident_share, 4),
            "class_entropy": round(self.class_entropy, 4),
            "class_counts": list(self.class_counts),
        }


@lru_cache(maxsize=1)
def _fit(seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.reshape(len(digits.images), -1) / 8.0 - 1.0
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, digits.target, test_size=0.2, random_state=seed, stratify=digits.target
    )
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on a small busy machine, OpenBLAS threads spin and make this 30x slower.
    with threadpool_limits(limits=1):
        clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed).fit(x_tr, y_tr)
    return clf, x_te, y_te


def digit_classifier(seed: int = 0) -> Any:
    """The fitted scikit-learn classifier (cached; the same ``seed`` gives the same model)."""
    return _fit(_check_seed(seed))[0]


def _check_seed(seed: Any) -> int:
    """scikit-learn's ``random_state`` takes 0 to 2**32 - 1."""
    return check_seed(seed, taker="scikit-learn")


def _as_pixels(images: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(images, torch.Tensor) and (images.is_nested or images.layout != torch.strided):
        raise TypeError("`images` must be a dense tensor (convert it with `.to_dense()`).")
    if isinstance(images, torch.Tensor | np.ndarray) and images.ndim >= 1 and images.shape[0] > MAX_QUALITY_IMAGES:
        raise ValueError(
            f"`images` must hold at most {MAX_QUALITY_IMAGES:,} images (a grid holds 64), got {images.shape[0]:,}."
        )
    if isinstance(images, np.ma.MaskedArray):
        raise TypeError("`images` must be a plain array; a masked array's hidden pixels would be scored.")
    if isinstance(images, torch.Tensor):
        if images.is_complex() or images.dtype == torch.bool or images.device.type == "meta":
            raise TypeError(f"`images` must hold real numbers on a real device, got {images.dtype} on {images.device}.")
        images = images.detach().to("cpu", torch.float64).numpy()
    if not isinstance(images, np.ndarray):
        raise TypeError(f"`images` must be a tensor or an array, got {type(images).__name__}.")
    if images.ndim < 2 or int(np.prod(images.shape[1:])) != 64:
        raise ValueError(f"`images` must be a batch of 8x8 digits, got shape {images.shape}.")
    if images.shape[0] < 1:
        raise ValueError("`images` must hold at least one image, got 0.")
    if not np.issubdtype(images.dtype, np.number) or np.iscomplexobj(images):
        raise TypeError(f"`images` must hold real numbers, got dtype {images.dtype}.")
    if not np.isfinite(images).all():
        raise ValueError("`images` must not contain NaN or infinity.")
    return np.clip(images.reshape(images.shape[0], 64), -1.0, 1.0)


def quality_report(images: torch.Tensor | np.ndarray, *, threshold: float = 0.9, seed: int = 0) -> QualityReport:
    """Score generated 8x8 digits in $[-1, 1]$ (values outside are clipped first).

    Args:
        images: ``(n, 1, 8, 8)`` or ``(n, 64)``.
        threshold: probability that counts as a confident recognition, in (0, 1].
        seed: which classifier (see :func:`digit_classifier`).
    """
    threshold = check_real("threshold", threshold, positive=True, maximum=1)
    x = _as_pixels(images)
    probs = digit_classifier(_check_seed(seed)).predict_proba(x)
    return _report(probs, threshold)


def _report(probs: np.ndarray, threshold: float) -> QualityReport:
    n = probs.shape[0]
    counts = np.bincount(probs.argmax(axis=1), minlength=10)
    h = counts[counts > 0] / n
    entropy = float(-(h * np.log(h)).sum() / math.log(10))
    confident = float((probs.max(axis=1) >= threshold).mean())
    return QualityReport(n, confident, entropy, tuple(int(c) for c in counts))


def real_digits_report(*, threshold: float = 0.9, seed: int = 0) -> QualityReport:
    """The same scores for the held-out real digits: what a perfect generator would get."""
    threshold = check_real("threshold", threshold, positive=True, maximum=1)
    clf, x_te, _ = _fit(_check_seed(seed))
    return _report(clf.predict_proba(x_te), threshold)
