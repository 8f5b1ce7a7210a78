"""MkDocs hook: the data of the DDPM page's explorers, made by the package at build time.

The arrays, their encoding and the cache live in :mod:`site_tools.explorer_data`; this hook
adds the cached files under ``assets/explorers`` and drops the explorers' scripts and
stylesheets from pages without their widget.
"""

from __future__ import annotations

from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_tools.explorer_data import explorer_files, strip_unused_assets

_FILES: dict[str, Path] | None = None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _FILES
    _FILES = None  # look again on every build (the cache makes it quick), so serve sees edits
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    global _FILES
    if _FILES is None or not all(p.is_file() for p in _FILES.values()):
        _FILES = explorer_files()
    for rel, path in _FILES.items():
        files.append(File.generated(config, rel, abs_src_path=str(path)))
    return files


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return strip_unused_assets(output)
