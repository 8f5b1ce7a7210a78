"""MkDocs hook: every lesson page is also offered as a Jupyter notebook in its language.

1. ``on_files``: each lesson page of the language being built
   (``docs/lessons/<slug>.<lang>.md``) is converted by :mod:`site_tools.notebooks` and
   written to ``.cache/notebooks/<lang>/``; the file is added to the site as
   ``notebooks/<slug>-<lang>.ipynb`` (served at ``/notebooks/…`` in Japanese and
   ``/en/notebooks/…`` in English). Its figures travel inside it, as cell attachments, so a
   downloaded notebook shows them offline. A page whose text and figures have not changed
   since the last build is not converted again. A file on disk, not in-memory content, because
   mkdocs-static-i18n needs a source path.
2. ``on_page_markdown``: a download button (with Material's notebook icon as inline SVG)
   and the one ``pip install`` line the lesson needs are put under the page title.

Needs ``jupytext`` and ``nbformat`` at build time.
"""

from __future__ import annotations

import hashlib
import posixpath
from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_tools.env import ROOT, build_language, page_language
from site_tools.figures import latest_figures
from site_tools.icons import material_icon
from site_tools.notebooks import convert_page, install_command, notebook_filename, write_notebook

CACHE = ROOT / ".cache" / "notebooks"

BUTTON = {
    "ja": ("このページをノートブックでダウンロード", "実行に必要なもの:"),
    "en": ("Download this page as a notebook", "To run it:"),
}
#: Material's notebook icon, inlined from the installed theme (an emoji shows as an empty box
#: where no emoji font is installed).
ICON = "notebook-outline"

_CONVERTED: dict[Path, str] = {}  # notebook -> hash of the page and site_url it was made from


def _site_path(slug: str, lang: str) -> str:
    return f"notebooks/{notebook_filename(slug, lang)}"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    lang = build_language(config)
    docs = Path(config.docs_dir)
    digest, figures = latest_figures()  # this build's figures (hooks/figures.py ran first): a notebook carries them
    for page in sorted((docs / "lessons").glob(f"*.{lang}.md")):
        slug = page.name[: -len(f".{lang}.md")]
        out = CACHE / lang / notebook_filename(slug, lang)
        key = hashlib.sha256(page.read_bytes() + str(config.site_url).encode() + digest.encode()).hexdigest()
        if _CONVERTED.get(out) != key or not out.is_file():
            write_notebook(convert_page(page, docs_dir=docs, site_url=config.site_url, figures=figures), out)
            _CONVERTED[out] = key
        files.append(File.generated(config, _site_path(slug, lang), abs_src_path=str(out)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    src = page.file.src_uri
    if not src.startswith("lessons/") or not src.endswith(".md"):
        return markdown
    try:
        lang = page_language(src)
    except ValueError:
        lang = build_language(config)
    slug = posixpath.basename(src).removesuffix(".md").removesuffix(f".{lang}")
    target = _site_path(slug, lang)
    href = posixpath.relpath(target, posixpath.dirname(src))
    label, needs = BUTTON[lang]
    banner = (
        f'[{material_icon(ICON)} {label}]({href}){{ .md-button download="{notebook_filename(slug, lang)}" }} '
        f"{needs} `{install_command(slug)}`"
    )
    lines = markdown.splitlines()
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("# ")), 0)
    return "\n".join([*lines[:at], "", banner, "", *lines[at:]])
