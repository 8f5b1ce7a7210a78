"""MkDocs hook: the search index holds formulas as plain text, not TeX.

Material's search plugin indexes the text of each ``.arithmatex`` element, which is the TeX
source (``\\(\\frac{df}{dx}\\)``): KaTeX typesets it only in the reader's browser, and the
plugin has no option to index anything else. After the build every ``search/search_index.json``
of the site is rewritten with each formula replaced by
:func:`site_tools.tex_text.plain_math` (``df/dx``), so search snippets read as text.

Each language then gets an index of its own pages (:func:`site_tools.search_index.split_by_language`):
the English site searches ``/en/search/search_index.json``, because :func:`on_post_page` points the
English pages' Material ``base`` at ``/en/``. One shared index made the English site list
Japanese pages and the Japanese site English ones.

Order matters: mkdocs-static-i18n builds the other languages and writes the merged index in
its own ``on_post_build`` at priority -100, so this one runs at -200, after it; it runs again
at the end of each language's inner build, which is harmless (the rewrite is idempotent).

The same plugin gathers every language's search entries into a list it never empties, and
``mkdocs serve`` keeps one plugin for the whole session, so each rebuild added a full copy
of the site to it and its duplicate removal (quadratic in that list) took minutes after a
few edits. :func:`on_pre_build` empties the list at the start of each outer build.
"""

from __future__ import annotations

import logging
from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.pages import Page

from site_tools.config import remember_site_top, site_top
from site_tools.env import LANGUAGES
from site_tools.glossary import glossary
from site_tools.search_index import (
    fix_query_segmentation,
    language_base,
    plain_search_index,
    split_by_language,
    without_duplicates,
)

#: the search locations of the languages other than the default one ("en/")
_PREFIXES = tuple(f"{code}/" for code in LANGUAGES[1:])
log = logging.getLogger("mkdocs.hooks.search_text")


def on_config(config: MkDocsConfig) -> None:
    remember_site_top(config.site_dir)


@event_priority(100)
def on_pre_build(config: MkDocsConfig) -> None:
    i18n = config.plugins.get("i18n")
    if i18n is not None and not getattr(i18n, "building", True):  # an outer build, not one language's
        i18n.search_entries = []


@event_priority(-200)
def on_post_build(config: MkDocsConfig) -> None:
    search = config.plugins.get("material/search") or config.plugins.get("search")
    i18n = config.plugins.get("i18n")
    index = getattr(search, "search_index", None)
    if index is not None and i18n is not None and not getattr(i18n, "building", True):
        # the outer build's index in memory (both languages): under `serve --dirty` it is the
        # next rebuild's starting point, so its repeats go now (the file is cleaned below)
        index.entries[:] = without_duplicates(index.entries, ())
    top_dir = site_top(config.site_dir)
    roots = {top_dir, Path(config.site_dir)}
    for path in sorted({p for root in roots for p in root.rglob("search/search_index.json")}):
        plain_search_index(path, ())  # exact repeats only: each language keeps its own API reference
    top = top_dir / "search" / "search_index.json"
    if top.is_file():
        # each language searches its own pages; Japanese glossary terms stay whole words
        terms = [form for term in glossary().terms for form in term.forms("ja")]
        split_by_language(top, _PREFIXES, whole_terms=terms)
    workers = sorted(top_dir.glob("assets/javascripts/workers/search.*.min.js"))
    for worker in workers:  # the query's last kanji word is searched whole (site_tools.search_index)
        if not fix_query_segmentation(worker):
            log.warning("search_text: Material's search worker changed; %s was not patched", worker)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """A page of another language looks for its search index under its own root (``/en/``)."""
    if page.url.startswith(_PREFIXES):
        return language_base(output)
    return output
