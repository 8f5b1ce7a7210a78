r"""Real images that ship inside installed packages, so nothing is downloaded.

* ``load_digits_images``: the 1,797 hand-written digits of scikit-learn's
  ``load_digits`` (UCI, CC BY 4.0), 8x8 pixels with grey levels 0-16, scaled to
  $[-1, 1]$ as DDPM expects ($x_0 = v/8 - 1$).
* ``load_ct_slice``: the 128x128 axial CT slice ``CT_small.dcm`` bundled with pydicom,
  converted to Hounsfield units and windowed into $[-1, 1]$.
* ``load_mr_slice``: the 64x64 ``MR_small.dcm``, min-max scaled to $[-1, 1]$.

Notation: ``x0`` is $x_0$; images are ``(batch, 1, height, width)`` float32 tensors.
"""

from __future__ import annotations

from typing import Literal, overload

import torch

from medai_lessons._checks import check_bool, check_real
from medai_lessons.limits import MAX_HU

__all__ = ["load_ct_slice", "load_digits_images", "load_mr_slice"]


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
