r"""The lessons' images, at their native size: the bottom of the package (it imports no lesson).

Three ship inside installed packages, so nothing is downloaded:

* ``load_digits_images``: the 1,797 hand-written digits of scikit-learn's
  ``load_digits`` (UCI, CC BY 4.0), 8x8 pixels with grey levels 0-16, scaled to
  $[-1, 1]$ as DDPM expects ($x_0 = v/8 - 1$).
* ``load_ct_slice``: the 128x128 axial CT slice ``CT_small.dcm`` bundled with pydicom,
  converted to Hounsfield units and windowed into $[-1, 1]$.
* ``load_mr_slice``: the 64x64 ``MR_small.dcm``, min-max scaled to $[-1, 1]$.

A MedMNIST set is downloaded once by the ``medmnist`` package (readers with internet):

* ``read_medmnist_npz``: a MedMNIST ``.npz`` (28x28 grey images, one label each), scaled to $[-1, 1]$.
* ``load_medmnist``: the same, found in (or downloaded to) ``~/.medmnist`` (for the commands'
  ``--data medmnist:<set>``, which check the name first).

Lesson 2 trains on these as they are; lesson 3 resizes them for its autoencoder
(:mod:`medai_lessons.stable_diffusion.captioned_images`).

Two ways to draw training batches of indices from a seeded ``torch.Generator``, one per trainer kind:

* ``_next_epoch_batch``: epochs without replacement (the DDPM and Stable Diffusion trainers): a
  fresh permutation of the $n$ images each epoch, read ``batch_size`` at a time; the last
  short batch of an epoch is dropped.
* ``_random_batch``: a fresh random subset each step (SimCLR and CLIP): an image may come back
  in the next step, as contrastive training does not care about epochs.

Notation: ``x0`` is $x_0$; images are ``(batch, 1, height, width)`` float32 tensors.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Literal, overload

import numpy as np
import torch

from medai_lessons._checks import check_bool, check_path, check_real
from medai_lessons.limits import MAX_HU

__all__ = [
    "MEDMNIST_CLASSES",
    "load_ct_slice",
    "load_digits_images",
    "load_mr_slice",
    "read_medmnist_npz",
]

#: The MedMNIST sets the lessons know, with their number of classes (labels 0..n-1).
MEDMNIST_CLASSES = {"pneumoniamnist": 2}


@overload
def load_digits_images(*, return_labels: Literal[False] = ...) -> torch.Tensor: ...
@overload
def load_digits_images(*, return_labels: Literal[True]) -> tuple[torch.Tensor, torch.Tensor]: ...
def load_digits_images(*, return_labels: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""scikit-learn's digits as a ``(1797, 1, 8, 8)`` float32 tensor in $[-1, 1]$.

    Args:
        return_labels: also return the digit labels (int64, ``(1797,)``).
    """
    from sklearn.datasets import load_digits

    return_labels = check_bool("return_labels", return_labels)
    digits = load_digits()
    x0 = torch.as_tensor(digits.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    if return_labels:
        return x0, torch.as_tensor(digits.target, dtype=torch.int64)
    return x0


def _dicom_path(name: str) -> str:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:  # pragma: no cover - only if pydicom's wheel lacks the file
        raise FileNotFoundError(f"pydicom's bundled test file {name!r} was not found.")
    return str(path)


def load_ct_slice(*, center: float = 40.0, width: float = 400.0) -> torch.Tensor:
    r"""pydicom's ``CT_small.dcm`` as a ``(1, 1, 128, 128)`` tensor in $[-1, 1]$.

    Pixel values become Hounsfield units with the file's rescale slope and intercept
    (HU = slope x value + intercept), then a display window maps
    ``[center - width/2, center + width/2]`` onto $[-1, 1]$ (values outside are clipped).
    The default W400/L40 is a soft-tissue window.

    Args:
        center: window level in HU, within ±65,536 (:data:`~medai_lessons.limits.MAX_HU`).
        width: window width in HU, in [1, 131,072].
    """
    center = check_real("center", center, minimum=-MAX_HU, maximum=MAX_HU)  # 16-bit pixels hold every CT number
    width = check_real("width", width, positive=True, maximum=2 * MAX_HU)
    if width < 1:  # CT numbers are whole Hounsfield units; a narrower window divides by ~0
        raise ValueError(f"`width` must be >= 1 HU, got {width}.")
    import pydicom

    ds = pydicom.dcmread(_dicom_path("CT_small.dcm"))
    hu = torch.as_tensor(ds.pixel_array.astype("float32"))
    hu = hu * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    x0 = ((hu - center) / (width / 2)).clamp(-1.0, 1.0)
    return x0[None, None]


def load_mr_slice() -> torch.Tensor:
    r"""pydicom's ``MR_small.dcm`` as a ``(1, 1, 64, 64)`` tensor, min-max scaled to $[-1, 1]$."""
    import pydicom

    ds = pydicom.dcmread(_dicom_path("MR_small.dcm"))
    v = torch.as_tensor(ds.pixel_array.astype("float32"))
    x0 = 2 * (v - v.min()) / (v.max() - v.min()) - 1
    return x0[None, None]


def read_medmnist_npz(
    path: str | os.PathLike[str], *, flag: str, split: str = "train"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a MedMNIST ``.npz`` (keys ``{split}_images`` uint8 ``(N, H, W)``, ``{split}_labels`` ``(N, 1)``).

    Returns:
        ``(x0, labels)``: float32 ``(N, 1, H, W)`` in $[-1, 1]$ ($x_0 = v/127.5 - 1$) and int64 ``(N,)``.
    """
    path = check_path("path", path, kind="file")
    if not isinstance(flag, str) or flag not in MEDMNIST_CLASSES:
        raise ValueError(f"`flag` must be one of {sorted(MEDMNIST_CLASSES)}, got {flag!r}.")
    if not isinstance(split, str) or split not in ("train", "val", "test"):
        raise ValueError(f"`split` must be 'train', 'val' or 'test', got {split!r}.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in (f"{split}_images", f"{split}_labels") if k not in npz]
            if missing:
                raise ValueError(f"`path` {path} is not a MedMNIST file: missing {', '.join(missing)}.")
            images = npz[f"{split}_images"]
            labels = npz[f"{split}_labels"].reshape(-1)
    except (OSError, EOFError, zipfile.BadZipFile, TypeError, AttributeError) as exc:
        raise ValueError(f"`path` {path} is not a readable .npz file ({exc}).") from None
    except ValueError as exc:
        if str(exc).startswith("`path`"):
            raise
        raise ValueError(f"`path` {path} is not a MedMNIST .npz file ({exc}).") from None
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"`path`: expected greyscale images (N, H, W) and N labels, got {images.shape}, {labels.shape}."
        )
    n_classes = MEDMNIST_CLASSES[flag]
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"`path`: labels must be in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}.")
    x0 = torch.as_tensor(images, dtype=torch.float32)[:, None] / 127.5 - 1.0
    return x0, torch.as_tensor(labels, dtype=torch.int64)


def load_medmnist(
    flag: str, *, root: str | os.PathLike[str] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The training split of a MedMNIST set, downloaded once into ``root`` (default ``~/.medmnist``).

    A ``<flag>.npz`` already in ``root`` is read without the ``medmnist`` package or a network.
    Returns what :func:`read_medmnist_npz` returns. The caller (``--data medmnist:<flag>``) has
    checked ``flag`` and ``root``.
    """
    folder = Path(root or Path.home() / ".medmnist")
    if not (folder / f"{flag}.npz").is_file():
        try:
            import medmnist
        except ImportError as exc:
            raise ValueError(
                "`data` medmnist:... needs the medmnist package (pip install medmnist); it downloads the data."
            ) from exc
        folder.mkdir(parents=True, exist_ok=True)
        info = medmnist.INFO[flag]
        getattr(medmnist, info["python_class"])(split="train", download=True, root=str(folder), size=28)
    return read_medmnist_npz(folder / f"{flag}.npz", flag=flag)


def _next_epoch_batch(
    perm: torch.Tensor, pos: int, n: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The next ``batch_size`` indices of the epoch permutation ``perm``, read from ``pos``.

    When fewer than ``batch_size`` are left (and at the start, with an empty ``perm``), the rest
    of the epoch is dropped and a new permutation of ``range(n)`` is drawn from ``generator``.
    Returns ``(indices, perm, next_pos)``; the caller keeps ``perm`` and ``next_pos`` (a trainer
    stores them in its checkpoint, so that a resumed run draws the same batches).
    """
    if pos + batch_size > perm.numel():
        perm, pos = torch.randperm(n, generator=generator), 0
    return perm[pos : pos + batch_size], perm, pos + batch_size


def _random_batch(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    """``batch_size`` distinct indices of ``range(n)``, drawn afresh from ``generator`` at every step."""
    return torch.randperm(n, generator=generator)[:batch_size]
