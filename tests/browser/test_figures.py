"""Figures as a reader sees them: labels large enough on a desktop and on a phone, and the
dark scheme showing the dark twins (site_tools/figures.py, docs/javascripts/figure-zoom.js).

A figure is an ``<img>`` of an SVG, so its labels are not in the page: the SVG file is read,
placed out of sight at the size the ``<img>`` is shown, and each ``<text>``'s font size is
multiplied by the scale the browser draws it at (``getScreenCTM``). A label's size is its
largest run: sub- and superscripts are smaller by design, as in the page's maths.

Targets (issue 19): every label at least 10 px at 1366 px; on a 390 px phone either at least
9 px in the page, or, opened by a tap, at least 9 px (an opened PNG is shown at its own size,
one image pixel per CSS pixel: its labels are as drawn, 8 pt and up at 110 dpi = 12 px).
One tab for everything; the widths are reached by resizing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from site_tools.env import DOCS
from site_tools.glossary import glossary

from .conftest import LANGS, NET_MS, reach_widgets

#: every lesson, in teaching order (glossary.toml's lesson_order, as the Lighthouse benchmark reads it)
LESSONS = tuple(page.removesuffix(".md") + "/" for page in glossary().lesson_order)
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
DESKTOP_MIN_PX = 10.0
PHONE_MIN_PX = 9.0
FIGURES = 'article img[src*="assets/figures/"]'

#: For each shown figure matching the selector: its file, shown width, and smallest label in px.
LABELS_JS = """async (selector) => {
  const out = [];
  for (const img of document.querySelectorAll(selector)) {
    if (!img.offsetWidth) continue;                 // the hidden twin of the other scheme
    const style = getComputedStyle(img);
    const width = parseFloat(style.width), height = parseFloat(style.height);
    const fig = {src: (img.currentSrc || img.src).split('#')[0], width, drawn: Number(img.getAttribute('width')),
                 min: null, text: null};
    if (fig.src.endsWith('.svg')) {
      const doc = new DOMParser().parseFromString(await (await fetch(fig.src)).text(), 'image/svg+xml');
      const svg = document.importNode(doc.documentElement, true);
      svg.setAttribute('width', width);
      svg.setAttribute('height', height);
      const box = document.createElement('div');
      box.style.cssText = 'position:absolute;left:0;top:0;visibility:hidden;pointer-events:none';
      box.appendChild(svg);
      document.body.appendChild(box);
      for (const t of svg.querySelectorAll('text')) {
        if (!t.textContent.trim()) continue;
        const m = t.getScreenCTM();
        const runs = [t, ...t.querySelectorAll('tspan')].filter(e => e.textContent.trim());
        const px = Math.max(...runs.map(e => parseFloat(getComputedStyle(e).fontSize))) * Math.hypot(m.a, m.b);
        if (fig.min === null || px < fig.min) { fig.min = px; fig.text = t.textContent.trim().slice(0, 40); }
      }
      box.remove();
    }
    out.push(fig);
  }
  return out;
}"""


def _figures_in_source(lesson: str, lang: str) -> int:
    """How many figures the lesson's Markdown source shows (one ``<img>`` each, its dark twin hidden)."""
    return (DOCS / f"{lesson.rstrip('/')}.{lang}.md").read_text(encoding="utf-8").count("](../assets/figures/")


def _name(src: str) -> str:
    return src.rsplit("/assets/figures/", 1)[-1]


@pytest.fixture
def tab(reused_tab) -> Iterator[Any]:
    """The session's reused tab; its size and colour scheme are put back afterwards."""
    yield reused_tab
    reused_tab.set_viewport_size({"width": 1280, "height": 900})
    reused_tab.emulate_media(color_scheme="light")
    reused_tab.goto("about:blank")


_OPENED_STATE_JS = """() => { const d = document.querySelector('dialog.figure-zoom__dialog');
  const i = d && d.querySelector('img');
  return {dialog: !!d, open: !!(d && d.open), src: i && i.getAttribute('src'), complete: i && i.complete,
          naturalWidth: i && i.naturalWidth, focused: document.activeElement && document.activeElement.className,
          scrollY: window.scrollY}; }"""


def _open(tab: Any, button: Any) -> list[dict[str, Any]]:
    """Tap a figure, measure the opened figure, close it with Esc. Waits in two steps (the dialog,
    then its image) and, if either never comes, fails with what the page showed (a fresh-clone run
    once timed out here and could not be reproduced: the next failure says more)."""
    label = button.get_attribute("aria-label")
    button.scroll_into_view_if_needed()
    button.click()
    for step, ready in (("the dialog to open", "() => !!document.querySelector('dialog[open]')"),
                        ("its image to load", "() => { const i = document.querySelector('dialog[open] img');"
                                              " return !!i && i.complete && i.naturalWidth > 0; }")):
        try:
            tab.wait_for_function(ready, timeout=NET_MS)
        except Exception as err:  # Playwright's TimeoutError: say what the page showed instead
            raise AssertionError(f"waiting for {step} after a tap on {label!r}: "
                                 f"{tab.evaluate(_OPENED_STATE_JS)}") from err
    opened = tab.evaluate(LABELS_JS, "dialog[open] img")
    tab.keyboard.press("Escape")
    tab.wait_for_function("() => !document.querySelector('dialog[open]')", timeout=NET_MS)
    return opened


@pytest.mark.parametrize("lang", LANGS)
def test_figure_labels_are_readable_on_a_desktop_and_on_a_phone(tab, base_url, lang):
    """Every SVG label is at least 10 px at 1366 px. At 390 px each figure is at least 9 px in the
    page, or a tap opens it where it is: SVG labels at least 9 px, a PNG at its own size."""
    small_desktop, unreadable_phone, seen = [], [], []
    for lesson in LESSONS:
        tab.set_viewport_size(DESKTOP)
        tab.goto(base_url + ("" if lang == "ja" else "en/") + lesson, wait_until="load")
        for fig in tab.evaluate(LABELS_JS, FIGURES):
            seen.append(fig["src"])
            if fig["min"] is not None and fig["min"] < DESKTOP_MIN_PX:
                small_desktop.append((_name(fig["src"]), round(fig["min"], 1), fig["text"]))
        tab.set_viewport_size(PHONE)
        inline = {f["src"]: f for f in tab.evaluate(LABELS_JS, FIGURES)}
        buttons = tab.locator(".figure-zoom")
        assert buttons.count() == len(inline), "every figure is a button that opens it"
        for i in range(buttons.count()):
            fig = inline[buttons.nth(i).evaluate(
                "b => { const i = [...b.querySelectorAll('img')].find(e => e.offsetWidth);"
                " return (i.currentSrc || i.src).split('#')[0]; }")]
            if fig["min"] is not None and fig["min"] >= PHONE_MIN_PX:
                continue
            [opened] = _open(tab, buttons.nth(i))
            assert opened["src"] == fig["src"]
            if fig["src"].endswith(".png"):
                ok = abs(opened["width"] - opened["drawn"]) < 1  # one image pixel per CSS pixel
            else:
                ok = opened["min"] >= PHONE_MIN_PX
            if not ok:
                unreadable_phone.append((_name(fig["src"]), round(fig["min"] or 0, 1), opened))
    assert len([s for s in seen if s.endswith(".svg")]) >= 17 and len(seen) >= 24
    assert small_desktop == []
    assert unreadable_phone == []


_SHOWN_JS = """async (figures) => Promise.all([...document.querySelectorAll(figures)]
  .filter(img => img.offsetWidth > 0)
  .map(async img => {
    img.loading = 'eager';
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 4;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 8, 8, 4, 4, 0, 0, 4, 4);   // near the top left corner (inside a rounded card)
    const [r, g, b, a] = ctx.getImageData(1, 1, 1, 1).data;
    return {src: img.src, corner: a < 250 ? null : (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255};
  }))"""

_FETCHED_DARK_JS = """() => performance.getEntriesByType('resource').map(e => e.name)
  .filter(n => n.includes('/assets/figures/') && /-dark\\.(svg|png)$/.test(n))"""


@pytest.mark.parametrize("lang", LANGS)
def test_the_dark_scheme_shows_the_dark_figures(tab, base_url, lang):
    """In the light scheme every figure shown is the light file on a white ground, and no dark
    twin is downloaded; after Material's palette toggle (it sets ``data-md-color-scheme`` on
    <body>, whatever the system prefers) every figure shown is its dark twin, on a dark ground."""
    tab.set_viewport_size(DESKTOP)
    for lesson in LESSONS:
        tab.emulate_media(color_scheme="light")
        tab.goto(base_url + ("" if lang == "ja" else "en/") + lesson, wait_until="load")
        assert tab.evaluate(_FETCHED_DARK_JS) == []
        light = tab.evaluate(_SHOWN_JS, FIGURES)
        assert len(light) == _figures_in_source(lesson, lang)
        assert [f for f in light if "-dark." in f["src"] or f["corner"] is None or f["corner"] < 0.9] == []
        # the palette toggle, as a reader uses it
        tab.locator("form[data-md-component=palette] label:visible").first.click()
        tab.wait_for_function("() => document.body.getAttribute('data-md-color-scheme') === 'slate'",
                              timeout=NET_MS)
        dark = tab.evaluate(_SHOWN_JS, FIGURES)
        assert len(dark) == len(light)
        assert [f for f in dark if "-dark." not in f["src"] or f["corner"] is None or f["corner"] > 0.25] == []


_CHART_LABELS_JS = """() => Math.min(...[...document.querySelectorAll('.lr-explorer svg text')]
  .filter(t => t.textContent.trim())
  .map(t => { const m = t.getScreenCTM(); return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); }))"""


def test_learning_rate_explorer_chart_labels_are_readable(tab, base_url):
    """The chart's tick and axis labels: at least 10 px at 1366 px and at least 9 px on a phone
    (the chart is shrunk to about half there, so its font grows as the screen narrows)."""
    tab.set_viewport_size(PHONE)
    tab.goto(base_url + "lessons/gradient-descent/", wait_until="load")
    reach_widgets(tab, ".lr-explorer")
    tab.wait_for_function("() => !!document.querySelector('.lr-explorer--ready svg text')", timeout=NET_MS)
    phone = tab.evaluate(_CHART_LABELS_JS)
    tab.set_viewport_size(DESKTOP)
    desktop = tab.evaluate(_CHART_LABELS_JS)
    assert phone >= PHONE_MIN_PX and desktop >= DESKTOP_MIN_PX, (phone, desktop)
