"""MkDocs hook: formulas typeset by KaTeX when the site is built (see :mod:`site_tools.katex`).

``on_config`` installs KaTeX with ``npm ci`` when ``node_modules`` does not match the lockfile,
``on_files`` adds its stylesheet, fonts and script under ``assets/vendor/katex``, and
``on_post_page`` typesets the page's formulas into HTML (pages without a formula or an
explorer then drop KaTeX's stylesheet or script: ``hooks/explorer_data.py``). It runs after
the search plugin has read the page, so search still indexes the formulas as text
(``hooks/search_text.py``).
"""

from __future__ import annotations

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from site_tools.katex import NpmMissingError, ensure_node_modules, katex_files, render_maths


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    try:
        ensure_node_modules()
    except NpmMissingError as err:
        raise PluginError(str(err)) from err
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for rel, src in katex_files().items():
        if not src.is_file():
            raise PluginError(f"KaTeX asset missing after `npm ci`: {src}")
        files.append(File.generated(config, rel, abs_src_path=str(src)))
    return files


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return render_maths(output)
