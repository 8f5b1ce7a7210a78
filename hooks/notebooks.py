"""MkDocs hook: every lesson page is also offered as a Jupyter notebook in its language.

1. ``on_files``: each lesson page of the language being built
   (``docs/lessons/<slug>.<lang>.md``) is converted by :mod:`medai_lessons.notebooks` and
   written to ``.cache/notebooks/<lang>/``; the file is added to the site as
   ``notebooks/<slug>-<lang>.ipynb`` (served at ``/notebooks/…`` in Japanese and
   ``/en/notebooks/…`` in English). A file on disk, not in-memory content, because
   mkdocs-static-i18n needs a source path.
2. ``on_page_markdown``: a download button and the one ``pip install`` line the lesson
   needs are put under the page title.

Register in mkdocs.yml: ``hooks: [hooks/site_assets.py, hooks/notebooks.py]``.
Needs ``jupytext`` and ``nbformat`` at build time.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from medai_lessons.notebooks import (
    LANGUAGES,
    convert_page,
    install_command,
    notebook_filename,
    page_language,
    write_notebook,
)

log = logging.getLogger("mkdocs.hooks.notebooks")

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "notebooks"

BUTTON = {
    "ja": ("📓 このページをノートブックでダウンロード", "実行に必要なもの:"),
    "en": ("📓 Download this page as a notebook", "To run it:"),
}


def _lang(config: MkDocsConfig) -> str:
    lang = config.theme.get("language", LANGUAGES[0])
    return lang if lang in LANGUAGES else LANGUAGES[0]


def _site_path(slug: str, lang: str) -> str:
    return f"notebooks/{notebook_filename(slug, lang)}"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    lang = _lang(config)
    docs = Path(config.docs_dir)
    for page in sorted((docs / "lessons").glob(f"*.{lang}.md")):
        slug = page.name[: -len(f".{lang}.md")]
        nb = convert_page(page, docs_dir=docs, site_url=config.site_url)
        out = CACHE / lang / notebook_filename(slug, lang)
        write_notebook(nb, out)
        files.append(File.generated(config, _site_path(slug, lang), abs_src_path=str(out)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    if not src.startswith("lessons/") or not src.endswith(".md"):
        return markdown
    try:
        lang = page_language(src)
    except ValueError:
        lang = _lang(config)
    slug = posixpath.basename(src).removesuffix(".md").removesuffix(f".{lang}")
    target = _site_path(slug, lang)
    href = posixpath.relpath(target, posixpath.dirname(src))
    label, needs = BUTTON[lang]
    banner = (
        f'[{label}]({href}){{ .md-button download="{notebook_filename(slug, lang)}" }} '
        f"{needs} `{install_command(slug)}`"
    )
    lines = markdown.splitlines()
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
    return "\n".join([*lines[:at], "", banner, "", *lines[at:]])
