"""What a reader sees on a phone (390 × 844 CSS px, the size of a common phone held upright).

Touch targets of the explorers meet WCAG 2.2 AA (2.5.8: at least 24 × 24 px; the buttons, the
main actions, 44 px high), code blocks never scroll sideways and keep the copy button off the
code, and display maths scrolls inside its own box instead of widening the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import NET_MS, reach_widgets

PHONE = {"width": 390, "height": 844}
#: every control of the explorers that a finger may need to hit
CONTROLS = ("button", "input[type=range]", "input[type=radio]", "select")
WIDGETS = ".lr-explorer, .forward-explorer, .reverse-explorer, .guidance-explorer, .similarity-explorer"


@pytest.fixture(scope="module", params=["lessons/gradient-descent/", "lessons/diffusion/",
                                        "lessons/stable-diffusion/", "lessons/self-supervised/"])
def phone(request, shared_context, base_url) -> Iterator[Any]:
    """A lesson page in a phone-sized tab, its explorers started."""
    tab = shared_context[0].new_page()
    tab.set_viewport_size(PHONE)
    tab.goto(base_url + request.param, wait_until="load")
    reach_widgets(tab, WIDGETS)
    tab.wait_for_function(  # each widget adds <name>--ready once it has drawn
        "sel => { const ws = [...document.querySelectorAll(sel)]; return ws.length > 0 &&"
        " ws.every(e => [...e.classList].some(c => c.endsWith('--ready'))); }", arg=WIDGETS, timeout=NET_MS)
    yield tab
    tab.close()


def test_explorer_controls_are_big_enough_to_touch(phone):
    """No control of an explorer is smaller than 24 × 24 px, and every button is at least 44 px high."""
    sizes = phone.evaluate(
        """([widgets, selectors]) => [...document.querySelectorAll(widgets)].flatMap(w =>
             [...w.querySelectorAll(selectors.join(','))].map(e => {
               const r = e.getBoundingClientRect();
               const label = (e.textContent || e.name || '').trim();
               return {what: e.tagName + (e.type ? '[' + e.type + ']' : '') + ' ' + label,
                       button: e.tagName === 'BUTTON', w: r.width, h: r.height};
             }))""",
        [WIDGETS, list(CONTROLS)],
    )
    assert sizes, "no explorer controls found"
    small = [s for s in sizes if s["w"] < 24 or s["h"] < 24 or (s["button"] and s["h"] < 44)]
    assert small == []


def test_code_blocks_wrap_and_keep_clear_of_the_copy_button(phone):
    """No code block is wider than its box (long lines wrap), and the code's right padding is at
    least as wide as Material's copy button, so the button never covers a character."""
    boxes = phone.evaluate(
        """() => [...document.querySelectorAll('.md-typeset pre > code')].map(c => {
             const button = c.parentElement.querySelector('.md-clipboard') ||
                            c.closest('.highlight')?.querySelector('.md-clipboard');
             return {overflow: c.scrollWidth - c.clientWidth, padding: parseFloat(getComputedStyle(c).paddingRight),
                     button: button ? button.getBoundingClientRect().width : 0};
           })"""
    )
    assert len(boxes) >= 5
    assert [b for b in boxes if b["overflow"] > 1] == []
    assert [b for b in boxes if b["padding"] < b["button"]] == []


def test_display_maths_scrolls_in_its_own_box(phone):
    """The page is never wider than the phone: a long display formula scrolls inside its box."""
    widths = phone.evaluate(
        "() => ({page: document.documentElement.scrollWidth, view: window.innerWidth,"
        " maths: [...document.querySelectorAll('div.arithmatex')].map(e => getComputedStyle(e).overflowX)})"
    )
    assert widths["page"] <= widths["view"]
    assert widths["maths"] and set(widths["maths"]) == {"auto"}


def test_picture_and_slider_are_on_screen_together(phone):
    """With an explorer's picture at the top of the screen (below Material's header), its slider
    is on screen too: the controls stay at the bottom of the screen while the widget is in view."""
    pictures = {"forward-explorer": ".forward-explorer__image", "reverse-explorer": ".reverse-explorer__grid",
                "guidance-explorer": ".guidance-explorer__sample",
                "similarity-explorer": ".similarity-explorer__cosine"}
    seen = 0
    for widget, picture in pictures.items():
        if phone.locator(f".{widget}").count() == 0:
            continue
        seen += 1
        boxes = phone.evaluate(
            """([widget, picture]) => {
                 const header = document.querySelector('.md-header').getBoundingClientRect().bottom;
                 const img = document.querySelector(picture);
                 window.scrollBy(0, img.getBoundingClientRect().top - header);
                 const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
                 return {header, view: window.innerHeight, picture: box(img),
                         slider: box(document.querySelector('.' + widget + ' input[type=range]'))};
               }""",
            [widget, picture],
        )
        picture_box, slider_box = boxes["picture"], boxes["slider"]
        assert picture_box["top"] >= boxes["header"] - 1 and picture_box["bottom"] <= boxes["view"], boxes
        assert slider_box["top"] >= picture_box["bottom"] and slider_box["bottom"] <= boxes["view"], boxes
    assert seen >= 1 or phone.locator(".lr-explorer").count() == 1  # lesson 1's explorer fits a screen
