"""MkDocs hook: ``{{ bench("topic", "row", fmt, scale=...) }}`` in a page becomes the value
recorded in ``benchmarks/results/<topic>.json`` (see :mod:`site_tools.bench_numbers`)."""

from __future__ import annotations

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from site_tools.bench_numbers import BenchNumberError, clear_cache, expand


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "{{" not in markdown:
        return markdown
    clear_cache()  # `mkdocs serve` rebuilds after `nox -s bench` rewrites a results file
    try:
        return expand(markdown)
    except BenchNumberError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from exc
