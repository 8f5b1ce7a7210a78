r"""Contrastive losses: InfoNCE (van den Oord et al. 2018) and CLIP's symmetric loss (Radford et al. 2021).

Both start from the **similarity matrix** of two batches of $N$ vectors. Each row $i$ is a
query $q_i$, each column $j$ a key $k_j$, and the pair on the diagonal, $(q_i, k_i)$, belongs
together (two views of one image, or an image and its caption). With unit vectors
$\hat q = q / \lVert q \rVert$,

$$s_{ij} = \frac{\hat q_i \cdot \hat k_j}{\tau}, \qquad
\mathcal{L}_\text{InfoNCE} = -\frac{1}{N}\sum_{i=1}^{N}
\log \frac{e^{s_{ii}}}{\sum_{j=1}^{N} e^{s_{ij}}}$$

(van den Oord et al. 2018, Eq. 4; Chen et al. 2020, Eq. 1 with the batch's other keys as
negatives). It is the cross-entropy of a softmax over each row with the diagonal as the
right answer, so $\mathcal{L} \ge 0$, and $\mathcal{L} = \log N$ when every similarity is equal.

CLIP (Radford et al. 2021, Fig. 3) multiplies by a learnt scale $t = e^{\log t}$ instead of
dividing by $\tau$, and averages the loss over the rows (images → texts) and the columns
(texts → images):

$$\mathcal{L}_\text{CLIP} = \tfrac12\bigl(\mathrm{CE}(t\,\hat I \hat T^\top) +
\mathrm{CE}(t\,\hat T \hat I^\top)\bigr).$$

Notation (code name ↔ symbol ↔ transformers name):

| code            | symbol                 | transformers                    |
|-----------------|------------------------|---------------------------------|
| ``queries``     | $q_i$, rows            | —                               |
| ``keys``        | $k_j$, columns         | —                               |
| ``temperature`` | $\tau$                 | —                               |
| ``logit_scale`` | $t = 1/\tau$           | ``model.logit_scale.exp()``     |
| ``image_embeds``| $I$                    | ``image_embeds``                |
| ``text_embeds`` | $T$                    | ``text_embeds``                 |
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .._checks import check_real
from .._tensor_checks import check_tensor
from ..limits import MAX_NUMEL

__all__ = ["clip_loss", "cosine_similarity_matrix", "info_nce"]

#: smallest τ accepted (largest scale 1/τ = 1,000); CLIP itself caps its scale at 100 (Radford et al. 2021, Sec. 2.5)
MIN_TEMPERATURE = 1e-3


def _check_pair(first: str, a: Any, second: str, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two ``(N, D)`` float tensors of one shape, dtype and device, with at least one row."""
    a = check_tensor(first, a, ndim=2)
    b = check_tensor(second, b, ndim=2, dtype=a.dtype, device=a.device, shape=a.shape, partner=f"`{first}`")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"`{first}` must hold at least one row of at least one value, got {tuple(a.shape)}.")
    if a.numel() > MAX_NUMEL or a.shape[0] ** 2 > MAX_NUMEL:
        raise ValueError(f"`{first}` is too large: at most {MAX_NUMEL:,} values and an N x N matrix within it.")
    for name, x in ((first, a), (second, b)):
        if bool((x.norm(dim=1) == 0).any()):
            raise ValueError(f"`{name}` has a row of zeros, which has no direction (cosine is undefined).")
    return a, b


def cosine_similarity_matrix(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    r"""The $N \times N$ matrix of cosines $\hat q_i \cdot \hat k_j$ (rows: queries, columns: keys)."""
    queries, keys = _check_pair("queries", queries, "keys", keys)
    return F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).T


def info_nce(queries: torch.Tensor, keys: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""InfoNCE: the mean cross-entropy of each row's softmax of $\cos(q_i, k_j)/\tau$, the diagonal as targets.

    Args:
        queries: ``(N, D)``, not necessarily unit length (normalised here).
        keys: ``(N, D)``; ``keys[i]`` is the positive of ``queries[i]``, the other rows its negatives.
        temperature: $\tau > 0$; small values sharpen the softmax.

    Returns:
        A 0-d tensor, differentiable; $\log N$ when all similarities are equal.
    """
    queries, keys = _check_pair("queries", queries, "keys", keys)
    tau = check_real("temperature", temperature, positive=True)
    if tau < MIN_TEMPERATURE:
        raise ValueError(f"`temperature` must be >= {MIN_TEMPERATURE}, got {tau}.")
    logits = F.normalize(queries, dim=1) @ F.normalize(keys, dim=1).T / tau
    targets = torch.arange(len(logits), device=logits.device)
    return F.cross_entropy(logits, targets)


def clip_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale: Any) -> torch.Tensor:
    r"""CLIP's symmetric loss: the mean of InfoNCE over images → texts and texts → images.

    Args:
        image_embeds: ``(N, D)``; row $i$ belongs with ``text_embeds[i]``.
        text_embeds: ``(N, D)``.
        logit_scale: the multiplier $t$, already exponentiated (``model.logit_scale.exp()``),
            a positive number or a 0-d tensor (then the loss is differentiable in it).

    Returns:
        A 0-d tensor equal to ``CLIPModel(..., return_loss=True).loss`` for the same embeddings.
    """
    image_embeds, text_embeds = _check_pair("image_embeds", image_embeds, "text_embeds", text_embeds)
    scale: torch.Tensor | float
    if isinstance(logit_scale, torch.Tensor):
        scale = check_tensor("logit_scale", logit_scale)
        if scale.numel() != 1:
            raise ValueError(f"`logit_scale` must be one number, got shape {tuple(scale.shape)}.")
        if not bool(scale.reshape(()) > 0):
            raise ValueError(f"`logit_scale` must be > 0 (it is exp of the learnt log-scale), got {scale.item()}.")
        scale = scale.reshape(()).to(image_embeds.dtype)
    else:
        scale = check_real("logit_scale", logit_scale, positive=True)
        if scale > 1 / MIN_TEMPERATURE:
            raise ValueError(f"`logit_scale` must be <= {1 / MIN_TEMPERATURE:g}, got {scale}.")
    image = image_embeds / image_embeds.norm(dim=1, keepdim=True)
    text = text_embeds / text_embeds.norm(dim=1, keepdim=True)
    logits_per_text = scale * text @ image.T
    targets = torch.arange(len(image), device=image.device)
    return (F.cross_entropy(logits_per_text, targets) + F.cross_entropy(logits_per_text.T, targets)) / 2
