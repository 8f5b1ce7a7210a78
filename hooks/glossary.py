"""MkDocs hook: the line ``<!-- glossary-table -->`` becomes the glossary in the page's language.

The terms live in :mod:`medai_lessons.glossary` (one tuple, both languages); this hook
only renders them, one table per lesson, linking each term to the lesson that first
teaches it. A lesson that does not exist yet is named but not linked, so the strict
build never sees a broken link.

Register in mkdocs.yml: ``hooks: [..., hooks/glossary.py]``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from medai_lessons.glossary import page_title, render_glossary

MARKER = "<!-- glossary-table -->"
LANGUAGES = ("ja", "en")


def _page_language(page: Page, config: MkDocsConfig) -> str:
    name = page.file.src_uri
    for lang in LANGUAGES:
        if name.endswith(f".{lang}.md"):
            return lang
    lang = config.theme.get("language", "ja")
    return lang if lang in LANGUAGES else "ja"


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if MARKER not in markdown:
        return markdown
    lang = _page_language(page, config)
    docs = Path(config.docs_dir)

    def title_of(target: str) -> str | None:
        src = docs / target.replace(".md", f".{lang}.md")
        return page_title(src.read_text(encoding="utf-8")) if src.is_file() else None

    prefix = posixpath.relpath(".", posixpath.dirname(page.file.src_uri) or ".")
    prefix = "" if prefix == "." else prefix + "/"
    table = render_glossary(lang, title_of=title_of, link_prefix=prefix)
    return markdown.replace(MARKER, table)
