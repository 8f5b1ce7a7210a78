"""The two languages of the site, joined page by page and heading by heading.

**Hreflang in the sitemap, not in the page head.** mkdocs-static-i18n writes each page's twin
into ``<link rel="alternate" hreflang>`` in the head. Material's "alternate" integration reads
every such link as a language's *root* and fetches ``sitemap.xml`` next to it, so each page
load asked for ``<page>/sitemap.xml`` and ``en/<page>/sitemap.xml`` and got two 404s; and the
links were relative, which search engines ignore. The i18n plugin also writes an
alternate-aware ``sitemap.xml`` with absolute ``hreflang`` links for every page of both
languages, one of the three ways Google reads language versions. So :func:`drop_head_alternates`
removes the head links, Material asks for nothing, and the sitemap says which pages are twins.

**The switch keeps the reader's place.** The two languages slug their headings differently
(``#学習率`` against ``#learning-rate``), so a ``#anchor`` cannot be carried over as it is.
After the build, :func:`link_twin_headings` gives each heading of a page the id of the heading
at the same place in its twin (``data-twin``), and ``docs/javascripts/a11y.js`` adds that id to
the language switcher's link when it is clicked. The pages of a pair have their headings in the
same order (``tests/test_headings.py``), so the n-th heading of one is the n-th of the other.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Material's head link to a language version of the page (from ``extra.alternate``).
_HEAD_ALTERNATE = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')
_ARTICLE_START = re.compile(r"<article\b")
_HEADING = re.compile(r'<h([1-6]) id="([^"]+)"(?: data-twin="[^"]*")?')


def drop_head_alternates(html: str) -> str:
    """The page without its ``<link rel="alternate" hreflang>`` head links (see the module)."""
    return _HEAD_ALTERNATE.sub("", html)


def _article(html: str) -> tuple[int, int] | None:
    """Where the page's first ``<article>`` starts and ends (a string search: a lazy ``.*?``
    over a 600 kB page cost a tenth of a second a page)."""
    start = _ARTICLE_START.search(html)
    if start is None:
        return None
    end = html.find("</article>", start.end())
    return None if end < 0 else (start.start(), end + len("</article>"))


def heading_ids(html: str) -> list[str]:
    """The ids of the article's headings, in document order."""
    span = _article(html)
    return [m.group(2) for m in _HEADING.finditer(html, *span)] if span else []


def link_twin_headings(html: str, twin_ids: list[str]) -> str:
    """Give the n-th heading of the article ``data-twin="<twin_ids[n]>"``.

    Pages whose heading count differs from their twin's are returned unchanged: pairing by
    place would then send the reader to the wrong section.
    """
    span = _article(html)
    if span is None:
        return html
    start, end = span
    article = html[start:end]
    if len(_HEADING.findall(article)) != len(twin_ids):
        return html
    twins = iter(twin_ids)

    def tag(m: re.Match[str]) -> str:
        return f'<h{m.group(1)} id="{m.group(2)}" data-twin="{next(twins)}"'

    return html[:start] + _HEADING.sub(tag, article) + html[end:]


def page_pairs(site: Path, prefix: str) -> list[tuple[Path, Path]]:
    """Each default-language page of the built ``site`` with its twin under ``prefix`` (``en/``)."""
    pairs = []
    for page in sorted(site.rglob("index.html")):
        rel = page.relative_to(site)
        if rel.parts[0] in {prefix.strip("/"), "assets", "search"}:
            continue
        twin = site / prefix / rel
        if twin.is_file():
            pairs.append((page, twin))
    return pairs


def link_site_twins(site: Path, prefix: str) -> int:
    """Write ``data-twin`` into every heading of every page pair of ``site``; return the pairs
    joined. Idempotent: a second run writes the same attributes."""
    joined = 0
    for page, twin in page_pairs(site, prefix):
        html, twin_html = page.read_text(encoding="utf-8"), twin.read_text(encoding="utf-8")
        ids, twin_ids = heading_ids(html), heading_ids(twin_html)
        if len(ids) != len(twin_ids):
            continue
        page.write_text(link_twin_headings(html, twin_ids), encoding="utf-8")
        twin.write_text(link_twin_headings(twin_html, ids), encoding="utf-8")
        joined += 1
    return joined
