"""MkDocs hook: pages start as Material's start-up would leave them (:mod:`site_tools.theme_startup`).

``on_post_page`` (and ``on_post_template`` for ``404.html``) writes the classes, the palette's
media and the color-scheme meta into each page and wraps its tables as Material would;
``on_post_build`` patches Material's bundle so that its start-up changes nothing already in place.
"""

from __future__ import annotations

import logging

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.pages import Page

from site_tools.config import site_top
from site_tools.theme_startup import first_palette, patch_bundle, start_settled, wrap_tables

log = logging.getLogger("mkdocs.hooks.theme_startup")


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return wrap_tables(start_settled(output, first_palette(config.theme.get("palette"))))


def on_post_template(output_content: str, template_name: str, config: MkDocsConfig) -> str:
    if not template_name.endswith(".html"):
        return output_content
    return start_settled(output_content, first_palette(config.theme.get("palette")))


@event_priority(-200)
def on_post_build(config: MkDocsConfig) -> None:
    for bundle in sorted(site_top(config.site_dir).glob("assets/javascripts/bundle.*.min.js")):
        if not patch_bundle(bundle):
            log.warning("theme_startup: Material's bundle changed; %s was not patched", bundle)
