"""Keep transformers' torchvision notice out of the reader's way.

The course installs the CPU build of torch and never torchvision (README: PyPI's torchvision is
a CUDA build that breaks diffusers beside the CPU torch). transformers 5 then falls back to its
PIL image processors, which is the intended setup, and says so on every run, twice in every
notebook. That one notice only worries a reader, so this filter drops it; every other message
of the logger still shows.
"""

from __future__ import annotations

import logging


class QuietTorchvisionFallback(logging.Filter):
    """Drop the "requires torchvision (not installed); falling back to ...Pil" notice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "requires torchvision (not installed)" not in record.getMessage()


logging.getLogger("transformers.utils.import_utils").addFilter(QuietTorchvisionFallback())
