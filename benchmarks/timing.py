"""Timing loops for the benchmarks, on ``torch.utils.benchmark.Timer``.

The Timer runs warm-up calls first, keeps torch's thread count fixed while it measures,
and synchronises an accelerator (CUDA, MPS) around each measurement, so GPU work is
counted in full. Used for every repeated measurement; one-shot runs of many seconds
(a whole 1000-step sampling) are timed once with ``time.perf_counter``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.benchmark import Timer


def seconds_per_call(fn: Callable[[], Any], *, runs: int) -> float:
    """Mean wall-clock seconds of one ``fn()`` over ``runs`` timed calls (after Timer's warm-up)."""
    timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    return timer.timeit(runs).mean
