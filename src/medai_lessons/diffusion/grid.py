r"""One helper that tiles a batch of small grey-scale images into a grid.

Both the ``ddpm`` command (its PNG of samples) and the lesson figures use it, so a
grid on the page and a grid written by a training run look alike.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from medai_lessons._checks import check_int, check_output_path

__all__ = ["image_grid", "save_grid"]


def image_grid(images: torch.Tensor, nrow: int | None = None, *, pad: int = 1) -> torch.Tensor:
    r"""Tile ``(n, 1, h, w)`` images in $[-1, 1]$ into one ``(H, W)`` tensor in $[0, 1]$.

    Args:
        images: the batch; values are clamped to $[-1, 1]$ and mapped by $(x + 1)/2$.
        nrow: images per row; $\lceil\sqrt n\rceil$ when omitted.
        pad: white pixels between tiles and around the edge.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 1 or images.shape[0] < 1:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"`images` must be shaped (n, 1, height, width) with n >= 1, got {shape}.")
    if not images.is_floating_point():
        raise TypeError(f"`images` must be a real floating-point tensor, got {images.dtype}.")
    if images.device.type == "meta":
        raise ValueError("`images` must hold data; got a tensor on the meta device.")
    if not torch.isfinite(images).all():
        raise ValueError("`images` must be finite; it contains NaN or infinity.")
    n, _, h, w = images.shape
    nrow = math.ceil(math.sqrt(n)) if nrow is None else check_int("nrow", nrow, minimum=1)
    nrow = min(nrow, n)  # more columns than images would only add white space (or terabytes of it)
    pad = check_int("pad", pad, minimum=0, maximum=64, why="white pixels around each tile")
    ncol = math.ceil(n / nrow)
    grid = torch.ones(ncol * (h + pad) + pad, nrow * (w + pad) + pad)
    x = ((images.detach().cpu().float().clamp(-1, 1) + 1) / 2)[:, 0]
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = x[i]
    return grid


def save_grid(images: torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    """Write :func:`image_grid` as a grey-scale PNG (upscaled so tiny digits are viewable, written atomically)."""
    from matplotlib import image as mpimg

    from medai_lessons._files import write_atomically

    path = check_output_path("path", path, kind="file")
    grid = image_grid(images, nrow)
    scale = max(1, 160 // max(images.shape[2], images.shape[3]))
    big = grid.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
    with write_atomically(path) as tmp:
        mpimg.imsave(tmp, big.numpy(), cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return path
