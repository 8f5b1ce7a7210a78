"""Sybil: every ``python`` block of every page pair is a test, run once on the Japanese page.

A block whose first line starts with ``>>>`` is run as a doctest, any other block as
plain code; names carry over between blocks of the same page. Floats are compared to
the precision printed on the page (``NUMBER``). The parsers and the page setup are
:mod:`site_tools.pages`, the reader the notebooks and the twin test use too.
"""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist each worker already has a core of its own: one torch thread per
    # worker. Two workers of two threads each on a 2-core machine made the Stable Diffusion
    # page's examples 17x slower (590 s against 35 s, measured on 2026-11-25 with another
    # job running). Set before torch is imported, so subprocesses (the CLI tests) inherit it.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import sys

    if "torch" in sys.modules:  # imported already by a plugin: set it directly too
        sys.modules["torch"].set_num_threads(1)

from site_tools import pages
from site_tools.env import DOCS, apply_offline_env

# Nothing in the docs may reach a model hub.
apply_offline_env()

DOCTEST_FLAGS = pages.DOCTEST_FLAGS

# Each page pair's examples run once, on the Japanese page (the default language). The English
# page carries the same examples: tests/test_docs.py proves that the code, the expected outputs
# and the Sybil directives of the two are identical, comments aside, so running them again in
# English would repeat a check already made (CONTRIBUTING.md, "What runs once per page pair").
pytest_collect_file = pages.sybil(DOCS, patterns=("*.ja.md",)).pytest()

# The strict site build (started in the background when collection ends) and how the suite
# shares two cores under pytest-xdist: tests/site_build.py and tests/scheduling.py.
pytest_plugins = ["tests.site_build", "tests.scheduling"]
