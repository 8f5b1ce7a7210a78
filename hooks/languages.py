"""MkDocs hook: the two languages joined page by page (:mod:`site_tools.languages`).

Each page loses its head ``hreflang`` links (the alternate-aware ``sitemap.xml`` carries them,
absolute), and after the build each heading learns the id of its twin in the other language,
so the language switcher keeps the reader's section. Runs after mkdocs-static-i18n has built
every language (priority -200, as ``hooks/search_text.py``).
"""

from __future__ import annotations

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.pages import Page

from site_tools.config import remember_site_top, site_top
from site_tools.env import LANGUAGES
from site_tools.languages import drop_head_alternates, link_site_twins


def on_config(config: MkDocsConfig) -> None:
    remember_site_top(config.site_dir)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    return drop_head_alternates(output)


@event_priority(-200)
def on_post_build(config: MkDocsConfig) -> None:
    top = site_top(config.site_dir)
    for code in LANGUAGES[1:]:
        link_site_twins(top, f"{code}/")


def on_post_template(output_content: str, template_name: str, config: MkDocsConfig) -> str:
    """The theme's own pages (``404.html``) lose them too."""
    return drop_head_alternates(output_content)
