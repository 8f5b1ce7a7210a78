"""MkDocs hook: the line ``<!-- glossary-table -->`` becomes the glossary in the page's language.

The terms live in ``site_tools/glossary.toml``; :mod:`site_tools.glossary` renders one table
per lesson, linking each term to the lesson that first teaches it. A lesson that does not
exist yet is named but not linked, so the strict build never sees a broken link.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from site_tools.env import build_language, page_language
from site_tools.glossary import page_title, render_glossary

MARKER = "<!-- glossary-table -->"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if MARKER not in markdown:
        return markdown
    try:
        lang = page_language(page.file.src_uri)
    except ValueError:
        lang = build_language(config)
    docs = Path(config.docs_dir)

    def title_of(target: str) -> str | None:
        src = docs / target.replace(".md", f".{lang}.md")
        return page_title(src.read_text(encoding="utf-8")) if src.is_file() else None

    prefix = posixpath.relpath(".", posixpath.dirname(page.file.src_uri) or ".")
    prefix = "" if prefix == "." else prefix + "/"
    return markdown.replace(MARKER, render_glossary(lang, title_of=title_of, link_prefix=prefix))
