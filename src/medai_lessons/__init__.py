"""medai-lessons: the mathematics behind medical AI, with every claim checked by code.

Lesson 1 lives in :mod:`medai_lessons.calculus`, :mod:`medai_lessons.backprop` and
:mod:`medai_lessons.gradient_descent` and needs only NumPy. Lesson 2 lives in
:mod:`medai_lessons.diffusion` and :mod:`medai_lessons.stable_diffusion` (install
the ``diffusion`` or ``sd`` extra); they are imported on demand, so that a reader
of lesson 1 never loads PyTorch.
"""

from importlib.metadata import PackageNotFoundError, version

from . import backprop, calculus, gradient_descent

try:
    __version__ = version("medai-lessons")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__", "backprop", "calculus", "gradient_descent"]
