"""Every page of the built site, in both languages, as Chromium shows it.

Each page is loaded once (``visit``); the tests below then check one claim each about
what the visit recorded: console, network, maths, images, accessibility. A screenshot of
each page's first screen goes to ``build/screenshots/<lang>/<page>.jpg`` for people to look
at; ``MEDAI_PAGE_SCREENSHOTS=full`` takes the whole page instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import AXE, LANGS, LESSON, PAGES, SCREENSHOTS, SitePage, is_local

#: Whole-page screenshots for people, on request: ``MEDAI_PAGE_SCREENSHOTS=full``.
FULL_PAGE_SCREENSHOTS = os.environ.get("MEDAI_PAGE_SCREENSHOTS") == "full"

#: axe-core impacts that fail a page.
BLOCKING = ("serious", "critical")


@dataclass
class Visit:
    """What one page load produced."""

    page: SitePage
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    off_host: list[str] = field(default_factory=list)
    maths: dict[str, Any] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    axe: list[dict[str, Any]] = field(default_factory=list)


_MATHS_JS = """() => {
  const all = [...document.querySelectorAll('.arithmatex')];
  return {
    count: all.length,
    unrendered: all.filter(e => !e.querySelector('.katex')).map(e => e.textContent.slice(0, 80)),
    errors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent.slice(0, 80)),
  };
}"""

_LOAD_LAZY_IMAGES_JS = """() => Promise.all([...document.images].map(img => {
  img.loading = 'eager';
  return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
}))"""

_IMAGES_JS = """() => [...document.images].map(i => ({
  src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth, alt: i.alt,
}))"""

_AXE_JS = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 200)),
  }));
}"""


def _visit(tab: Any, base_url: str, site_page: SitePage) -> Visit:
    """Load ``site_page`` in ``tab`` and record what the load produced.

    The listeners live for this one visit; the tab is the worker's ``reused_tab``.
    """
    visit = Visit(site_page)
    errors: list[tuple[str, str]] = []  # (text, url of the resource it is about)

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append((message.text, message.location.get("url", "")))

    def on_page_error(error: Any) -> None:
        errors.append((f"uncaught: {error}", ""))

    def on_request(request: Any) -> None:
        if not is_local(request.url):
            visit.off_host.append(request.url)

    def on_failed(request: Any) -> None:
        if is_local(request.url):
            visit.failed.append(f"{request.url} ({request.failure})")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            visit.failed.append(f"{response.url} (HTTP {response.status})")

    listeners = {"console": on_console, "pageerror": on_page_error, "request": on_request,
                 "requestfailed": on_failed, "response": on_response}
    for event, listener in listeners.items():
        tab.on(event, listener)
    try:
        tab.goto(base_url + site_page.path, wait_until="networkidle")
        tab.evaluate("document.fonts.ready.then(() => true)")
        visit.maths = tab.evaluate(_MATHS_JS)
        # Figures below the first load lazily, when a reader scrolls near them: ask for all of
        # them now and wait until each has arrived (or failed), so every one is checked.
        tab.evaluate(_LOAD_LAZY_IMAGES_JS)
        visit.images = tab.evaluate(_IMAGES_JS)
        # For people: the first screen a reader sees. The whole page (up to 50,000 px tall, 1.4 s
        # for the reference) only on request, as no test reads below the first screen.
        out = SCREENSHOTS / site_page.lang / f"{site_page.name}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(out), full_page=FULL_PAGE_SCREENSHOTS, type="jpeg", quality=80)
        tab.add_script_tag(path=str(AXE))
        visit.axe = tab.evaluate(_AXE_JS)
        # A block far below is laid out only when it nears the screen (extra.css), so the fonts its
        # formulas use are fetched when axe measures it: let them arrive before the next page's
        # navigation, which would abort them and count against that page.
        tab.evaluate("document.fonts.ready.then(() => true)")
        visit.console_errors += [text for text, _url in errors]
    finally:
        for event, listener in listeners.items():
            tab.remove_listener(event, listener)
    return visit


@pytest.fixture(scope="session")
def visit(reused_tab, base_url):
    """``visit(site_page)``: load the page once per session and return what it produced."""
    cache: dict[SitePage, Visit] = {}

    def get(site_page: SitePage) -> Visit:
        if site_page not in cache:
            cache[site_page] = _visit(reused_tab, base_url, site_page)
        return cache[site_page]

    return get


by_page = pytest.mark.parametrize("site_page", PAGES, ids=[p.id for p in PAGES])


def test_every_built_page_is_checked(site_root):
    """The pages checked here are exactly the index.html pages the build wrote."""
    built = {
        p.relative_to(site_root).as_posix().removesuffix("index.html")
        for p in site_root.rglob("index.html")
        if "assets" not in p.relative_to(site_root).parts
        and p.relative_to(site_root).parts[:1] != ("search",)
    }
    expected = {p.path.lstrip("/") for p in PAGES}
    assert built == expected


@by_page
def test_page_logs_no_console_error(visit, site_page):
    """Loading the page logs no console error and throws no uncaught exception."""
    assert visit(site_page).console_errors == []


@by_page
def test_page_has_no_failed_request(visit, site_page):
    """Every request of the page succeeds: no 4xx/5xx (Material's sitemap probes included), no network failure."""
    assert visit(site_page).failed == []


@by_page
def test_page_asks_no_other_host(visit, site_page):
    """The page requests nothing from any host but the local server."""
    assert visit(site_page).off_host == []


@by_page
def test_page_maths_is_rendered_by_katex(visit, site_page):
    """Every ``.arithmatex`` element holds KaTeX output and none is a ``.katex-error``."""
    maths = visit(site_page).maths
    assert maths["errors"] == []
    assert maths["unrendered"] == []


@by_page
def test_page_images_all_load(visit, site_page):
    """Every <img> finished loading with a non-zero natural width."""
    broken = [i for i in visit(site_page).images if not (i["complete"] and i["width"] > 0)]
    assert broken == []


@by_page
def test_page_has_no_serious_accessibility_violation(visit, site_page):
    """axe-core finds no violation of impact serious or critical."""
    blocking = [v for v in visit(site_page).axe if v["impact"] in BLOCKING]
    assert blocking == [], "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n  {v['nodes']}" for v in blocking)


@by_page
def test_page_screenshot_is_saved(visit, site_page):
    """A screenshot of the page's first screen is written for people to look at."""
    visit(site_page)
    shot = SCREENSHOTS / site_page.lang / f"{site_page.name}.jpg"
    assert shot.stat().st_size > 5_000


def test_lesson_pages_exist_in_both_languages():
    """The lesson the widget lives on is among the checked pages in both languages."""
    assert {p.lang for p in PAGES if p.rel == LESSON} == set(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_lesson_in_dark_mode_has_no_serious_accessibility_violation(new_context, base_url, lang):
    """In the dark (slate) scheme the lesson, widget included, has no serious axe violation."""
    context, traffic = new_context(color_scheme="dark")
    tab = context.new_page()
    try:
        tab.goto(base_url + ("" if lang == "ja" else "en/") + LESSON, wait_until="networkidle")
        assert tab.evaluate("document.body.dataset.mdColorScheme") == "slate"
        widget = tab.locator(".lr-explorer")
        if widget.count():
            widget.evaluate("e => e.scrollIntoView({block: 'center'})")
            out = SCREENSHOTS / lang / "lr-explorer-dark.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            widget.screenshot(path=str(out))
        tab.add_script_tag(path=str(AXE))
        blocking = [v for v in tab.evaluate(_AXE_JS) if v["impact"] in BLOCKING]
    finally:
        tab.close()
    assert blocking == [], "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n  {v['nodes']}" for v in blocking)
    assert traffic.off_host == []
