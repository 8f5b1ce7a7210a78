"""MkDocs hook: pages start as Material's start-up would leave them (:mod:`site_tools.theme_startup`).

``on_post_page`` (and ``on_post_template`` for ``404.html``) writes the classes, the palette's
media and the color-scheme meta into each page; ``on_post_build`` patches the palette's start-up in
Material's bundle so that it changes nothing that is already in place.
"""

from __future__ import annotations

import logging

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.pages import Page

from site_tools.config import site_top
from site_tools.theme_startup import first_palette, patch_bundle, start_settled

log = logging.getLogger("mkdocs.hooks.theme_startup")


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return start_settled(output, first_palette(config.theme.get("palette")))


def on_post_template(output_content: str, template_name: str, config: MkDocsConfig) -> str:
    if not template_name.endswith(".html"):
        return output_content
    return start_settled(output_content, first_palette(config.theme.get("palette")))


@event_priority(-200)
def on_post_build(config: MkDocsConfig) -> None:
    for bundle in sorted(site_top(config.site_dir).glob("assets/javascripts/bundle.*.min.js")):
        if not patch_bundle(bundle):
            log.warning("theme_startup: Material's bundle changed; %s was not patched", bundle)
