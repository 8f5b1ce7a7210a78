r"""Contrastive pre-training on images alone (SimCLR-style), the linear probe, and the baselines.

**Pre-training** (Chen et al. 2020, Alg. 1, simplified): each step draws $N$ unlabelled
images, makes two random views of each (:func:`augment`: a shift of up to one pixel, a change
of contrast, noise and a few dropped pixels), passes both through the encoder $f$ and a small
head $g$, and lowers the symmetric InfoNCE between the two batches of $z = g(f(x))$:

$$\mathcal{L} = \tfrac12\bigl(\mathrm{InfoNCE}(z^{(1)}, z^{(2)}; \tau) +
\mathrm{InfoNCE}(z^{(2)}, z^{(1)}; \tau)\bigr).$$

The negatives of a view are the *other* view's images (SimCLR also uses its own view's,
$2N - 2$ in all; one view's $N - 1$ keep the code to the page's formula). The head $g$ is thrown
away afterwards; the features are $h = f(x)$ (Chen et al. 2020, Sec. 4.2).

**Linear probe**: a frozen encoder, then multinomial logistic regression on $h$ with the
labelled images only. The baselines are the same logistic regression on the 64 raw pixels,
and the same network as the encoder plus a linear layer, trained from scratch on the labels.

Notation (code name ↔ symbol):

| code            | symbol                             |
|-----------------|------------------------------------|
| ``encoder``     | $f$, 8×8 image → 64 features $h$   |
| ``head``        | $g$, $h$ → $z$ (32 numbers)        |
| ``temperature`` | $\tau$                             |
| ``fraction``    | share of the training labels used  |
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn
from tqdm.auto import tqdm

from medai_lessons import interrupts
from medai_lessons.data import _random_batch

from .._checks import check_int, check_real, check_seed
from ..limits import MAX_CONTRASTIVE_BATCH, MAX_SIMCLR_STEPS
from .contrastive import info_nce

__all__ = [
    "DigitEncoder",
    "PretrainResult",
    "augment",
    "encode",
    "label_subset",
    "linear_probe_accuracy",
    "pretrain_simclr",
    "scratch_accuracy",
]

FEATURES = 64


class DigitEncoder(nn.Module):
    """Two convolutions and a linear layer: ``(N, 1, 8, 8)`` in $[0, 1]$ → ``(N, 64)`` features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU()
        )
        self.fc = nn.Linear(32 * 4 * 4, FEATURES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))


@dataclass
class PretrainResult:
    """The trained encoder $f$ (the head is dropped), the loss every 25 steps, and the seconds it took."""

    encoder: DigitEncoder
    history: list[dict[str, float]]
    seconds: float
    cpu_seconds: float


def _as_images(name: str, pixels: np.ndarray) -> torch.Tensor:
    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"`{name}` must be a NumPy array, got {type(pixels).__name__}.")
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[1:] != (8, 8) or len(pixels) < 1:
        raise ValueError(f"`{name}` must be uint8 digits of shape (N, 8, 8), got {pixels.dtype} {pixels.shape}.")
    return torch.as_tensor(pixels, dtype=torch.float32)[:, None] / 255.0


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random view of each image in ``x`` ``(N, 1, 8, 8)``: shift ≤ 1 px, contrast, noise, dropped pixels."""
    n = x.shape[0]
    padded = F.pad(x, (1, 1, 1, 1))
    dy, dx = torch.randint(0, 3, (2, n), generator=generator).tolist()
    view = torch.stack([padded[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8] for i in range(n)])
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=generator)
    keep = (torch.rand(view.shape, generator=generator) > 0.15).float()
    noise = 0.1 * torch.randn(view.shape, generator=generator)
    return (view * contrast * keep + noise).clamp(0.0, 1.5)


def pretrain_simclr(
    pixels: np.ndarray,
    *,
    steps: int = 600,
    batch_size: int = 256,
    temperature: float = 0.2,
    learning_rate: float = 3e-3,
    seed: int = 0,
    progress: bool = False,
) -> PretrainResult:
    """Train an encoder on unlabelled digits by matching two views of each image (symmetric InfoNCE).

    Args:
        pixels: uint8 ``(N, 8, 8)``, e.g. ``training_digits().pixels`` (labels are never read).
        steps, batch_size, learning_rate: the optimiser's work (Adam).
        temperature: $\tau$ of the InfoNCE.
        seed: seeds the weights, the batches and the views.
        progress: show a tqdm bar.
    """
    x = _as_images("pixels", pixels)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_SIMCLR_STEPS, why="a miniature")
    batch_size = check_int("batch_size", batch_size, minimum=2, maximum=MAX_CONTRASTIVE_BATCH,
                           why="an N x N matrix per step")
    tau = check_real("temperature", temperature, positive=True)
    lr = check_real("learning_rate", learning_rate, positive=True)
    seed = check_seed(seed)
    torch.manual_seed(seed)
    encoder = DigitEncoder()
    head = nn.Sequential(nn.Linear(FEATURES, FEATURES), nn.ReLU(), nn.Linear(FEATURES, 32))
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    t0, cpu0 = time.perf_counter(), time.process_time()
    with interrupts.stop_at_step_boundaries():
        for step in tqdm(range(steps), desc="SimCLR", disable=not progress):
            interrupts.check()
            batch = x[_random_batch(len(x), batch_size, generator)]
            z1 = head(encoder(augment(batch, generator)))
            z2 = head(encoder(augment(batch, generator)))
            loss = (info_nce(z1, z2, tau) + info_nce(z2, z1, tau)) / 2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % 25 == 0 or step == steps - 1:
                history.append({"step": step, "loss": round(loss.item(), 6)})
    return PretrainResult(encoder.eval(), history, time.perf_counter() - t0, time.process_time() - cpu0)


@torch.no_grad()
def encode(encoder: nn.Module, pixels: np.ndarray) -> np.ndarray:
    """The frozen features $h = f(x)$ of uint8 digits ``(N, 8, 8)``, as a float64 array ``(N, 64)``."""
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"`encoder` must be a torch module, got {type(encoder).__name__}.")
    return encoder.eval()(_as_images("pixels", pixels)).double().numpy()


def label_subset(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices of a labelled subset: ``round(fraction * n_c)`` images of each class $c$ (at least one), seeded."""
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise TypeError("`labels` must be a 1-d integer NumPy array.")
    fraction = check_real("fraction", fraction, positive=True, maximum=1.0)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(rng.choice(members, size=max(1, round(fraction * len(members))), replace=False))
    return np.sort(np.concatenate(chosen))


def _check_split(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray) -> None:
    for name, a, b in (("train_labels", train, train_labels), ("test_labels", test, test_labels)):
        if not isinstance(b, np.ndarray) or b.ndim != 1 or len(b) != len(a):
            raise ValueError(f"`{name}` must be a 1-d array with one label per row, got {getattr(b, 'shape', b)}.")


def linear_probe_accuracy(
    train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray
) -> float:
    """Fit multinomial logistic regression on ``train`` (features or flattened pixels); accuracy on ``test``.

    The features are standardised with the training rows' mean and spread; L2 penalty $C = 1$.
    """
    from sklearn.linear_model import LogisticRegression

    for name, a in (("train", train), ("test", test)):
        if not isinstance(a, np.ndarray) or a.ndim != 2:
            raise ValueError(f"`{name}` must be a 2-d array (rows: images), got {getattr(a, 'shape', type(a))}.")
    _check_split(train, train_labels, test, test_labels)
    mean, spread = train.mean(axis=0), train.std(axis=0) + 1e-6
    classifier = LogisticRegression(C=1.0, max_iter=2000)
    classifier.fit((train - mean) / spread, train_labels)
    return float((classifier.predict((test - mean) / spread) == test_labels).mean())


def scratch_accuracy(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    *,
    steps: int = 500,
    seed: int = 0,
) -> float:
    """Train :class:`DigitEncoder` plus a linear layer on the labelled digits alone (Adam, with the same views)."""
    x, xt = _as_images("train", train), _as_images("test", test)
    _check_split(train, train_labels, test, test_labels)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_SIMCLR_STEPS, why="a miniature")
    seed = check_seed(seed)
    torch.manual_seed(seed)
    net = nn.Sequential(DigitEncoder(), nn.ReLU(), nn.Linear(FEATURES, 10))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    y = torch.as_tensor(train_labels, dtype=torch.int64)
    for _ in range(steps):
        interrupts.check()
        idx = _random_batch(len(x), 128, generator)
        loss = F.cross_entropy(net(augment(x[idx], generator)), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = net.eval()(xt).argmax(dim=1).numpy()
    return float((predicted == test_labels).mean())
