"""What every figure module shares: matplotlib set up for a language, and torch on one thread.

One place for both, so that the figures of every lesson are drawn the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import LANGUAGES


def pyplot(lang: str) -> Any:
    """Matplotlib's pyplot on the file-only Agg backend, with a Japanese font loaded for ``"ja"``."""
    if lang not in LANGUAGES:
        raise ValueError(f"`lang` must be one of {LANGUAGES}, got {lang!r}.")
    import matplotlib

    matplotlib.use("Agg")
    if lang == "ja":
        import matplotlib_fontja  # noqa: F401  (registers a Japanese font)
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (as the benchmarks do).

    The lesson models are tiny: on a busy 2-core machine two threads spent most of their time
    waiting for each other (a 25-step run took 10-25 s instead of under 1 s).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
