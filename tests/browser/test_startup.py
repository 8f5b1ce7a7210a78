"""Material starts without restyling the page: its palette finds everything in place and changes
nothing, yet still switches when the reader or the system asks (site_tools/theme_startup.py)."""

from __future__ import annotations

import pytest

from .conftest import LANGS, LESSON, NET_MS

#: installed before the page's own scripts: every change to <html>'s class and <body>'s attributes,
#: recorded as it happens
RECORDER_JS = """(() => {
  window.__startup = {classes: [], body: []};
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target === document.documentElement && r.attributeName === 'class'
          && r.oldValue !== document.documentElement.className)
        window.__startup.classes.push([r.oldValue, document.documentElement.className, !!document.body]);
      if (r.type === 'attributes' && r.target === document.body
          && r.oldValue !== r.target.getAttribute(r.attributeName))
        window.__startup.body.push(r.attributeName);
    }
  }).observe(document, {subtree: true, attributes: true, attributeOldValue: true, childList: true});
})()"""

STATE_JS = """() => ({
  startup: window.__startup,
  metas: [...document.querySelectorAll('meta[name=color-scheme]')].map(m => m.content),
  scheme: document.body.getAttribute('data-md-color-scheme'),
  switching: document.body.hasAttribute('data-md-color-switching'),
  classes: document.documentElement.className,
})"""

_READY = "() => document.documentElement.classList.contains('js') && !!document.querySelector('.md-header__title')"


@pytest.mark.parametrize("lang", LANGS)
def test_a_light_reader_s_page_starts_as_it_stays(new_context, base_url, lang):
    """For a reader whose system is light: one color-scheme meta, "light", from the page itself; the
    classes moved before <body> existed; no attribute of <body> changed while the page started."""
    context, traffic = new_context(color_scheme="light")
    tab = context.new_page()
    tab.add_init_script(RECORDER_JS)
    tab.goto(base_url + ("" if lang == "ja" else "en/") + LESSON, wait_until="load")
    tab.wait_for_function(_READY, timeout=NET_MS)
    tab.wait_for_timeout(0)
    state = tab.evaluate(STATE_JS)
    tab.close()
    assert state["metas"] == ["light"]  # Material's own start-up would have appended a second one
    assert state["scheme"] == "default" and not state["switching"]
    assert state["startup"]["body"] == []
    changes = state["startup"]["classes"]  # the swap and the added class, both before <body> existed
    assert changes[0][0] == "no-js" and [seen_body for *_, seen_body in changes] == [False] * len(changes)
    assert {"js", "js-focus-visible"} <= set(state["classes"].split()) and "no-js" not in state["classes"]
    assert traffic.off_host == []


def test_a_dark_reader_and_the_toggle_still_switch_the_scheme(new_context, base_url):
    """A reader whose system is dark gets the slate scheme and the meta says "dark"; the palette toggle
    then switches back to light, meta and all (the palette still acts when a value changes)."""
    context, _ = new_context(color_scheme="dark")
    tab = context.new_page()
    tab.goto(base_url + LESSON, wait_until="load")
    tab.wait_for_function("() => document.body.getAttribute('data-md-color-scheme') === 'slate'", timeout=NET_MS)
    tab.wait_for_function("() => document.querySelector('meta[name=color-scheme]').content === 'dark'",
                          timeout=NET_MS)
    tab.locator("form[data-md-component=palette] label:visible").first.click()
    tab.wait_for_function("() => document.body.getAttribute('data-md-color-scheme') === 'default'", timeout=NET_MS)
    tab.wait_for_function("() => document.querySelector('meta[name=color-scheme]').content === 'light'",
                          timeout=NET_MS)
    state = tab.evaluate(STATE_JS)
    tab.close()
    assert state["metas"] == ["light"]


#: what the lesson's start-up left: tooltips built, and the rendering of the blocks that matter here
LEAN_JS = """() => {
  const article = document.querySelector('.md-content__inner');
  const blocks = [...article.children];
  const firstH2 = blocks.findIndex(e => e.tagName === 'H2');
  const cv = e => e ? getComputedStyle(e).contentVisibility : null;
  const below = blocks.slice(firstH2 + 1);
  return {
    tooltips: document.querySelectorAll('.md-tooltip2').length,
    terms: article.querySelectorAll('abbr.glossary-tip[title]').length,
    intro: blocks.slice(0, firstH2).map(cv),
    paragraph: cv(below.find(e => e.tagName === 'P' && !e.querySelector('pre, table'))),
    explorer: cv(below.find(e => /-explorer\\b/.test(e.className))),
    code: cv(below.find(e => e.querySelector('pre'))),
    table: cv(below.find(e => e.querySelector('table'))),
    formulaBox: cv(below.find(e => e.matches('div.arithmatex'))),
    formula: cv(below.find(e => e.matches('div.arithmatex'))?.querySelector('.katex-display')),
  };
}"""


@pytest.mark.parametrize("lang", LANGS)
def test_a_lesson_starts_lean_and_builds_a_tooltip_when_asked(new_context, base_url, lang):
    """Lesson 1 loads without building its 300-odd tooltips, and lays out below its first section
    heading only the blocks near the screen (extra.css), except the explorers, tables, each display
    formula's scrolling box and, wider than a phone, code; hovering a term then builds its one
    tooltip (theme_startup)."""
    context, traffic = new_context(color_scheme="light")
    tab = context.new_page()
    tab.goto(base_url + ("" if lang == "ja" else "en/") + LESSON, wait_until="networkidle")
    tab.wait_for_function(_READY, timeout=NET_MS)
    state = tab.evaluate(LEAN_JS)
    assert state["tooltips"] == 0 and state["terms"] > 100
    assert set(state["intro"]) == {"visible"}
    assert state["paragraph"] == "auto" and state["formula"] == "auto"
    assert state["explorer"] == state["code"] == state["table"] == state["formulaBox"] == "visible"
    tab.set_viewport_size({"width": 390, "height": 844})  # on a phone code wraps: it waits too
    phone = tab.evaluate(LEAN_JS)
    assert phone["code"] == phone["paragraph"] == "auto"
    assert phone["explorer"] == phone["table"] == phone["formulaBox"] == "visible"
    term = tab.locator("abbr.glossary-tip[title]").first
    term.scroll_into_view_if_needed()
    term.hover()
    tab.wait_for_function("() => document.querySelectorAll('.md-tooltip2').length === 1", timeout=NET_MS)
    tab.close()
    assert traffic.off_host == []
