"""MkDocs hook: every figure of ``site_tools.lesson_figures`` in every language, under ``assets/figures``.

Rendered by :mod:`site_tools.figures` and cached on disk by a hash of the package's sources,
so a page edit renders nothing and ``mkdocs serve`` stays quick. Files on disk, not
in-memory content, because mkdocs-static-i18n needs a source path. On each page, every
figure's ``<img>`` gets its size and lazy loading (:func:`site_tools.figures.size_images`).
"""

from __future__ import annotations

from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_tools.figures import current_figures, size_images

_LAST: tuple[str, dict[str, Path]] | None = None  # (digest, files) of this build


def on_files(files: Files, config: MkDocsConfig) -> Files:
    global _LAST
    _LAST = current_figures()
    for rel, path in _LAST[1].items():
        files.append(File.generated(config, rel, abs_src_path=str(path)))
    return files


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Each figure's <img> gets its width and height, and those below the first load lazily."""
    return size_images(output, _LAST[1]) if _LAST is not None else output
