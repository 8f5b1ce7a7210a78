"""Material's start-up without restyling the whole page again and again.

On every page load Material's bundle changes three things that each make the browser recompute the
style of *every* element on the page (Chromium's invalidation records; lesson 1, 15,000 elements,
had about 82,000 elements styled per load, and had about 20,000 with this module, before
``content-visibility`` in ``docs/stylesheets/extra.css`` took it to about 5,500: the rows
"elements styled on load" of ``benchmarks/results/pages.json``):

1. it swaps ``no-js`` for ``js`` on ``<html>`` and adds ``js-focus-visible`` (its CSS has rules for
   both);
2. its palette toggle appends ``<meta name="color-scheme">`` and then sets its content (Chromium
   restyles everything on each), and sets then removes ``data-md-color-switching`` on ``<body>``
   (its CSS: ``[data-md-color-switching] *``), even when the reader's palette is already in place;
3. it sets each ``data-md-color-*`` attribute of ``<body>`` again to the value it already has;
4. it moves every table into two ``<div>`` that let it scroll sideways (the article's whole subtree,
   10,700 elements on lesson 1, is restyled).

Two more parts of its start-up were most of Lighthouse's "total blocking time" on a lesson
(``benchmarks/results/lighthouse.json``; with ``content-visibility`` in
``docs/stylesheets/extra.css`` they took lesson pages from 70-85 to 90 and above on a phone):

5. each code block reads its own width as it is mounted, between writes to the page, so the browser
   lays out the whole page once per code block (about 30 per lesson);
6. it builds a tooltip, with its observers, for every glossary term (300-odd on a lesson) and
   every copy button at load, and asks the browser twice per code block whether it can copy.

What this module does, so that a page starts as it will stay:

* :func:`start_settled` gives each page, when it is built, the state the bundle would set: a
  one-line script at the top of ``<head>`` that swaps the classes before ``<body>`` exists (a page
  read without JavaScript keeps ``no-js``), the first palette's ``data-md-color-media`` on
  ``<body>`` and its ``<meta name="color-scheme">``;
* :func:`wrap_tables` puts each table in those two ``<div>`` when the page is built;
* :func:`patch_bundle` makes the palette's start-up change an attribute, raise the "switching"
  flag and write the meta only when a value really changes (a reader who picks the dark palette
  still gets all three), leaves a table that is already wrapped where it is, lets a
  ``ResizeObserver`` tell each code block its width, and builds a term's tooltip when the reader
  first points at or focuses the term.

Both are checked against the exact code of the installed Material; if it changes, the build warns
(``--strict``: fails), as :func:`site_tools.search_index.fix_query_segmentation` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: the palette's start-up in Material's bundle (9.x, minified), and the same code acting only on a change
BUNDLE_PATCHES: tuple[tuple[str, str], ...] = (
    (  # the "switching" flag is no longer raised before looking ...
        'if(document.body.setAttribute("data-md-color-switching",""),s.color.media==="(prefers-color-scheme)")',
        'if(s.color.media==="(prefers-color-scheme)")',
    ),
    (  # ... but just before an attribute that really changes
        "for(let[a,c]of Object.entries(s.color))document.body.setAttribute(`data-md-color-${a}`,c);",
        "for(let[a,c]of Object.entries(s.color))document.body.getAttribute(`data-md-color-${a}`)!==c&&"
        '(document.body.setAttribute("data-md-color-switching",""),document.body.setAttribute(`data-md-color-${a}`,c));',
    ),
    (  # the page's own color-scheme meta is used, not a second one appended
        'let o=x("meta",{name:"color-scheme"});document.head.appendChild(o);',
        'let o=document.querySelector("meta[name=color-scheme]")'
        '||document.head.appendChild(x("meta",{name:"color-scheme"}));',
    ),
    (  # and written only when the scheme changes
        "return o.content=a.colorScheme,",
        "return o.content!==a.colorScheme&&(o.content=a.colorScheme),",
    ),
    (  # a table wrapped when the page was built (wrap_tables) stays where it is
        'M("table:not([class])",e).map(i=>ti(i))',
        'M("table:not([class])",e).filter(i=>!i.parentElement.classList.contains("md-typeset__table")).map(i=>ti(i))',
    ),
    (  # a code block learns whether it scrolls sideways from a ResizeObserver, after the browser's
        # own layout, instead of reading its width at mount (each read laid out the whole page again)
        'function es(e){return Le(e).pipe(m(({width:t})=>({scrollable:At(e).width>t})),ne("scrollable"))}',
        "function es(e){return Ia.pipe(O(r=>r.observe(e)),b(r=>cn.pipe(g(o=>o.target===e),"
        'A(()=>r.unobserve(e)))),m(()=>({scrollable:e.scrollWidth>e.offsetWidth})),ne("scrollable"))}',
    ),
    (  # a tooltip (a glossary term's definition) is built when the reader first points at or
        # focuses its term, not for all 300-odd terms at load; it then starts from the hover or
        # focus that built it (Material reads ":hover" and the focused element when it mounts one)
        'M("[title]:not([data-preview])",e).filter(()=>V("content.tooltips")).map(i=>Xe(i,{viewport$:r}))',
        'M("[title]:not([data-preview])",e).filter(()=>V("content.tooltips")).map(i=>L(h(i,"mouseenter"),'
        'h(i,"focusin")).pipe(Ee(1),b(()=>Xe(i,{viewport$:r}))))',
    ),
    (  # the same for each code block's copy button
        's.push(d),V("content.tooltips")&&l.push(Xe(d,{viewport$}))',
        's.push(d),V("content.tooltips")&&l.push(L(h(d,"mouseenter"),h(d,"focusin")).pipe(Ee(1),b(()=>Xe(d,{viewport$}))))',
    ),
    (  # whether the browser can copy is asked once, not twice per code block (each question made
        # Chromium bring the page's style up to date, between the blocks' writes)
        'if(Kn.default.isSupported()&&(e.closest(".copy")',
        'if((Kn.supported===void 0&&(Kn.supported=Kn.default.isSupported()),Kn.supported)&&(e.closest(".copy")',
    ),
)

#: Material's wrapper of a table (its ``Un``), so that a wide table scrolls inside the article
TABLE_WRAP = ('<div class="md-typeset__scrollwrap"><div class="md-typeset__table">', "</div></div>")

#: runs before ``<body>`` exists, so no element is restyled; the bundle's own swap then changes nothing
EARLY_CLASSES = (
    '<script>document.documentElement.classList.replace("no-js","js");'
    'document.documentElement.classList.add("js-focus-visible")</script>'
)

#: Material's two schemes and the CSS ``color-scheme`` each sets (``[data-md-color-scheme=...]``)
COLOR_SCHEMES = {"default": "light", "slate": "dark"}


def patch_bundle(bundle: Path) -> bool:
    """Apply :data:`BUNDLE_PATCHES` to Material's ``bundle`` in place; True when it holds all of them.

    Idempotent. False, with the file unchanged, when any original is not found exactly once (and
    not already patched): Material's code changed, look again.
    """
    text = bundle.read_text(encoding="utf-8")
    patched = text
    for old, new in BUNDLE_PATCHES:
        if new in patched and old not in patched:
            continue
        if patched.count(old) != 1:
            return False
        patched = patched.replace(old, new)
    if patched != text:
        bundle.write_text(patched, encoding="utf-8")
    return True


def wrap_tables(page_html: str) -> str:
    """Every plain ``<table>`` (no attributes: Markdown's) in :data:`TABLE_WRAP`, unless already in it."""
    opening, closing = TABLE_WRAP
    return re.sub(
        r"(?<!" + re.escape(opening) + r")<table>(.*?)</table>",
        lambda m: f"{opening}<table>{m.group(1)}</table>{closing}",
        page_html,
        flags=re.S,
    )


def first_palette(palette: Any) -> Mapping[str, Any] | None:
    """The palette a first visit starts with (``theme.palette``: a mapping, or a list whose first entry)."""
    if isinstance(palette, Mapping):
        return palette
    if isinstance(palette, Sequence) and not isinstance(palette, str) and palette:
        first = palette[0]
        return first if isinstance(first, Mapping) else None
    return None


def start_settled(page_html: str, palette: Mapping[str, Any] | None) -> str:
    """``page_html`` as Material's start-up would leave it (see the module docstring); unchanged when
    it is not a Material page (no ``<html class="no-js">``) or was already done."""
    if EARLY_CLASSES in page_html or not re.search(r'<html[^>]*class="no-js"', page_html):
        return page_html
    early = EARLY_CLASSES
    if palette is not None and 'name="color-scheme"' not in page_html:
        scheme = COLOR_SCHEMES.get(str(palette.get("scheme", "default")), "light")
        early = f'<meta name="color-scheme" content="{scheme}">' + early
    charset = re.search(r"<meta charset=[^>]*>", page_html)  # the charset stays the head's first element
    at = charset.end() if charset else page_html.index("<head>") + len("<head>")
    html = page_html[:at] + early + page_html[at:]
    if palette is None:
        return html
    media = palette.get("media")
    if media and "data-md-color-media=" not in (re.search(r"<body[^>]*>", html) or [""])[0]:
        html = html.replace("<body ", f'<body data-md-color-media="{media}" ', 1)
    return html
