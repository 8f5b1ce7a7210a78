"""MkDocs hook: a page line ``<!-- bench-table: NAME -->`` becomes the table of
``benchmarks/results/NAME.json`` in the page's language (see :mod:`site_tools.bench_tables`)."""

from __future__ import annotations

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from site_tools.bench_tables import fill_bench_tables
from site_tools.env import build_language


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return fill_bench_tables(markdown, build_language(config))
