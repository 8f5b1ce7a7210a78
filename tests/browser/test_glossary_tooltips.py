"""Hover definitions in Chromium: a glossary term in a lesson shows its definition in
Material's tooltip on hover and on keyboard focus (issue 12 §5), in both languages."""

from __future__ import annotations

import pytest

from site_tools.glossary import glossary
from site_tools.glossary_tooltips import tooltip

from .conftest import LANGS, LESSON, NET_MS

CHAIN_RULE = next(t for t in glossary().terms if t.en == "chain rule")

#: The text of the tooltip Material shows for an abbr (it moves the title into a
#: ``.md-tooltip2`` element at the end of the body, linked by ``aria-describedby``).
_SHOWN_JS = """(el) => {
  const id = el.getAttribute('aria-describedby');
  const tip = id && document.getElementById(id);
  return tip ? {text: tip.textContent.trim(), visible: tip.classList.contains('md-tooltip2--active')
                                         || getComputedStyle(tip).opacity !== '0'} : null;
}"""


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("how", ["hover", "focus"])
def test_a_term_shows_its_definition_on_hover_and_focus(page, base_url, lang, how):
    """The chain rule's first mark (the one that is a tab stop) shows the glossary's line."""
    page.goto(base_url + ("" if lang == "ja" else "en/") + LESSON, wait_until="networkidle")
    term = page.locator('abbr.glossary-tip[tabindex="0"]', has_text=CHAIN_RULE.ja if lang == "ja" else "chain rule")
    term = term.first
    term.scroll_into_view_if_needed()
    term.hover() if how == "hover" else term.focus()
    # Material shows the tooltip after a short delay: wait for it to be shown, not for a time
    page.wait_for_function(f"el => {{ const s = ({_SHOWN_JS})(el); return s && s.visible; }}",
                           arg=term.element_handle(), timeout=NET_MS)
    shown = term.evaluate(_SHOWN_JS)
    assert shown is not None, f"no tooltip on {how}"
    assert shown["text"] == tooltip(CHAIN_RULE, lang)
    assert shown["visible"]
