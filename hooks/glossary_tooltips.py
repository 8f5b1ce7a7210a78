"""MkDocs hook: every glossary term on a page shows its one-line definition on hover and focus.

:func:`site_tools.glossary_tooltips.annotate` wraps each term of the page's language (from
``site_tools/glossary.toml``) in ``<abbr title="…">``; Material's ``content.tooltips`` feature
(``mkdocs.yml``) draws the title as its tooltip. Code, headings, links and maths are untouched.
"""

from __future__ import annotations

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from site_tools.env import build_language, page_language
from site_tools.glossary_tooltips import annotate


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    try:
        lang = page_language(page.file.src_uri)
    except ValueError:
        lang = build_language(config)
    return annotate(html, lang)
