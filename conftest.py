"""Sybil: every ``python`` block in every Markdown page of both languages is a test.

A block whose first line starts with ``>>>`` is run as a doctest, any other block as
plain code; names carry over between blocks of the same page. Floats are compared to
the precision printed on the page (``NUMBER``). The parsers and the page setup are
:mod:`site_tools.pages`, the reader the notebooks and the twin test use too.
"""

from __future__ import annotations

from site_tools import pages
from site_tools.env import DOCS, apply_offline_env

# Nothing in the docs may reach a model hub.
apply_offline_env()

DOCTEST_FLAGS = pages.DOCTEST_FLAGS

pytest_collect_file = pages.sybil(DOCS).pytest()
