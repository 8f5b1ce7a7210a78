"""Sybil: every ``python`` block in every Markdown page of both languages is a test.

A block whose first line starts with ``>>>`` is run as a doctest, any other block as
plain code; names carry over between blocks of the same page. Floats are compared to
the precision printed on the page (``NUMBER``).
"""

from __future__ import annotations

import os
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser

# Nothing in the docs may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

DOCTEST_FLAGS = NUMBER | ELLIPSIS | NORMALIZE_WHITESPACE


def _setup(namespace: dict) -> None:
    """Names every page may use without importing them."""
    try:
        import torch
    except ImportError:  # lesson 1 without the autograd extra
        namespace["HAS_CUDA"] = False
    else:
        namespace["HAS_CUDA"] = torch.cuda.is_available()


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=DOCTEST_FLAGS),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    patterns=["*.md"],
    path="docs",
    setup=_setup,
).pytest()
