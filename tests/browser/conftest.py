"""Fixtures of the browser tests: the built site on a local server, driven by Chromium.

* The site is the strict build of the session fixture ``built_site`` (tests/conftest.py),
  served by a ``ThreadingHTTPServer`` on 127.0.0.1 at a random port.
* One Debian Chromium (``/usr/bin/chromium``) per session through Playwright; Playwright
  never downloads a browser of its own.
* Every browser context aborts each request to a host other than the local server and
  records it, so a test can assert that a page asked for nothing outside.

The whole folder is skipped, with the reason, where Chromium or Playwright is missing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from site_tools import site_server
from site_tools.env import DOCS, LANGUAGES, ROOT
from site_tools.site_server import CHROMIUM_ARGS, HOST, serve, site_prefix

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(site_server.CHROMIUM)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "build" / "screenshots"
LANGS = LANGUAGES
#: How long a browser test waits for an event (a widget starting, a frame advancing, a tooltip
#: showing) before it fails: a safety net many times the normal wait, never an expectation.
#: Tests wait on the event itself, so a slow or loaded machine only makes them slower.
NET_MS = 60_000
#: resolves after the next two frames: whatever the page did before has then been laid out and painted
NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def in_one_language(fixture: str) -> pytest.MarkDecorator:
    """Run a check that does not depend on the page's language (a widget's numbers, its keyboard
    handling) on the Japanese page only, through the module's per-language ``fixture``.

    Both languages' pages load the same script and the same data file: the tests marked
    ``both_languages_share_the_widget`` prove it, in each language, so running the language-free
    checks on the English page as well would repeat them. Labels, console errors, axe and the
    dark scheme are still checked in both languages.
    """
    return pytest.mark.parametrize(fixture, ["ja"], indirect=True)


def widget_assets(tab: Any) -> dict[str, list[str]]:
    """The absolute URLs of the explorer scripts a page loaded, and of the explorer data it fetched."""
    return tab.evaluate(
        """() => ({
          scripts: [...document.scripts].map(s => s.src).filter(s => /explorer/.test(s)).sort(),
          data: performance.getEntriesByType('resource').map(e => e.name)
                  .filter(n => n.includes('/assets/explorers/')).sort(),
        })""",
    )


def _missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run `bash scripts/install-browser.sh` (Debian chromium + fonts-noto-cjk)"
    if importlib.util.find_spec("playwright") is None:
        return "the Python package `playwright` is missing: `pip install playwright` (never `playwright install`)"
    return None


MISSING = _missing_reason()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``browser``; skip them all when the browser is missing."""
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if MISSING:
            item.add_marker(pytest.mark.skip(reason=MISSING))


# ------------------------------------------------------------------------------ pages


@dataclass(frozen=True)
class SitePage:
    """One page of the site in one language."""

    lang: str
    rel: str  # "" for the home page, else "lessons/gradient-descent/"

    @property
    def path(self) -> str:
        """URL path below the site's root (the ``base_url`` fixture)."""
        return ("" if self.lang == "ja" else "en/") + self.rel

    @property
    def name(self) -> str:
        """A file-name friendly name: ``index``, ``lessons-gradient-descent``."""
        return self.rel.strip("/").replace("/", "-") or "index"

    @property
    def id(self) -> str:
        return f"{self.lang}/{self.name}"


def source_pages() -> list[SitePage]:
    """Every page the docs folder defines (``*.ja.md`` with its ``*.en.md`` twin), both languages."""
    rels = []
    for src in sorted(DOCS.rglob("*.ja.md")):
        rel = src.relative_to(DOCS).as_posix().removesuffix(".ja.md")
        if rel == "index":
            rels.append("")
        elif rel.endswith("/index"):
            rels.append(rel.removesuffix("index"))
        else:
            rels.append(rel + "/")
    return [SitePage(lang, rel) for lang in LANGS for rel in rels]


PAGES = source_pages()
LESSON = "lessons/gradient-descent/"


# ----------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def site_root(built_site) -> Path:
    """The built site's folder; fails (not skips) when the strict build failed."""
    if built_site.returncode != 0:
        pytest.fail("mkdocs build --strict failed:\n" + built_site.log[-3000:])
    return built_site.path


@pytest.fixture(scope="session")
def base_url(site_root: Path) -> Iterator[str]:
    """``http://127.0.0.1:<port>/<prefix>/`` serving the built site for the whole session."""
    server, url = serve(site_root, site_prefix(site_root))
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def is_local(url: str) -> bool:
    """True for the local server (and for data:/blob: URLs, which never leave the page)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname == HOST


@dataclass
class Traffic:
    """What one browser context asked for."""

    off_host: list[str] = field(default_factory=list)


def _context(browser: Any) -> tuple[Any, Traffic]:
    """A new browser context whose off-host requests are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    traffic = Traffic()

    def block(route: Any) -> None:
        traffic.off_host.append(route.request.url)
        route.abort("blockedbyclient")

    context.route(lambda url: not is_local(url), block)
    return context, traffic


#: Preferences a tab can take on its own (``Page.emulate_media``), without a context of its own.
MEDIA_OPTIONS = {"color_scheme", "reduced_motion"}


@dataclass
class TabsWithMedia:
    """Stands in for a browser context with media preferences: ``new_page()`` opens a tab of
    the shared context that emulates them, and records the tab's requests to other hosts.

    A context of its own costs a renderer process per tab (about 1 CPU-second a page load on
    the 2-core machine); a tab of a context that already shows the site reuses its process.
    """

    context: Any
    media: dict[str, str]
    traffic: Traffic

    def new_page(self) -> Any:
        tab = self.context.new_page()
        tab.emulate_media(**self.media)  # before the first load: the page reads it as it starts
        tab.on("request", lambda r: None if is_local(r.url) else self.traffic.off_host.append(r.url))
        return tab


_FORGET_PALETTE_JS = """try {
  for (const key of Object.keys(localStorage)) if (key.endsWith("__palette")) localStorage.removeItem(key);
} catch (e) {}"""


@pytest.fixture(scope="session")
def shared_context(browser, base_url) -> Iterator[tuple[Any, Traffic]]:
    """One context for the whole session of a worker, with a tab kept on the home page so
    that new tabs of the site reuse its renderer process instead of starting one each."""
    context, traffic = _context(browser)
    # Material keeps the colour scheme it chose in localStorage, and the tabs of one context
    # share it: every load here starts without it, so each tab's own (emulated) preference
    # decides, as for a first-time reader.
    context.add_init_script(_FORGET_PALETTE_JS)
    keeper = context.new_page()
    keeper.goto(base_url, wait_until="load")
    yield context, traffic
    context.close()


@pytest.fixture(scope="session")
def new_context(shared_context) -> Callable[..., tuple[TabsWithMedia, Traffic]]:
    """``new_context(**media)`` -> (something with ``new_page()``, its off-host ``Traffic``): tabs
    of the shared context that emulate a dark scheme or reduced motion (``TabsWithMedia``)."""

    def make(**media: str) -> tuple[TabsWithMedia, Traffic]:
        unknown = set(media) - MEDIA_OPTIONS
        if unknown:
            raise TypeError(f"`new_context` takes only {sorted(MEDIA_OPTIONS)}, got {sorted(unknown)}")
        traffic = Traffic()
        return TabsWithMedia(shared_context[0], dict(media), traffic), traffic

    return make


@pytest.fixture(scope="session")
def reused_tab(shared_context) -> Iterator[Any]:
    """One tab of the shared context for the whole session of a worker.

    A new tab in a context of its own starts a renderer process: about 1 CPU-second a page
    load on the 2-core machine, against about 0.6 s for a load in a tab that is already open
    (measured with Playwright on the built site; ``benchmarks/results/suite.json`` has the
    suite's time).
    """
    context, _ = shared_context
    tab = context.new_page()
    yield tab
    tab.close()


@pytest.fixture
def page(reused_tab) -> Iterator[Any]:
    """The reused tab, left on a blank page with the mouse in the corner after each test."""
    yield reused_tab
    reused_tab.mouse.move(0, 0)
    reused_tab.goto("about:blank")


def reach_widgets(tab: Any, selector: str) -> None:
    """Scroll to each element matching ``selector``, as a reader does, then back to the top: an
    explorer starts when it comes near the screen (explorer-kit.js)."""
    for widget in tab.locator(selector).all():
        widget.scroll_into_view_if_needed()
        # the observer reports after the next rendering: two frames, then the widget has started
        tab.evaluate(NEXT_FRAMES)
    tab.evaluate("() => window.scrollTo(0, 0)")


def refusal(tab: Any, api: str, call: str) -> str | None:
    """The message of the error that ``<api>.<call>`` throws in ``tab`` (None when it throws none):
    the explorers' test hooks name the argument they refuse, as the package does."""
    return tab.evaluate(f"() => {{ try {{ {api}.{call}; }} catch (e) {{ return e.message; }} return null; }}")


def widget_screenshot(tab: Any, selector: str, name: str, lang: str) -> Path:
    """Save a screenshot of the widget ``selector``, scrolled to the middle of the screen, as
    ``build/screenshots/<lang>/<name>.png`` for people to look at; return its path.

    A widget taller than the screen is shot with the screen made tall enough for it, and the
    screen's size put back afterwards: Chromium's capture beyond the screen came back blank (3 kB of
    white) for the 911 px similarity explorer on a 900 px screen, with every core busy."""
    out = SCREENSHOTS / lang / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    widget = tab.locator(selector)
    screen = tab.viewport_size
    height = widget.evaluate("e => Math.ceil(e.getBoundingClientRect().height)")
    if screen and height + 40 > screen["height"]:
        tab.set_viewport_size({"width": screen["width"], "height": height + 40})
    try:
        widget.evaluate("e => e.scrollIntoView({block: 'center'})")
        # two frames after the scroll, so the widget has been painted where it now stands
        tab.evaluate(NEXT_FRAMES)
        widget.screenshot(path=str(out))
    finally:
        if screen:
            tab.set_viewport_size(screen)
    return out


def axe_widgets_js(*selectors: str) -> str:
    """JavaScript that runs axe-core inside ``selectors`` only and returns its violations."""
    include = ", ".join(f"['{s}']" for s in selectors)
    return f"""async () => {{
  const r = await axe.run({{include: [{include}]}}, {{resultTypes: ['violations']}});
  return r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '').slice(0, 300))}}));
}}"""


def open_with_widgets(context: Any, url: str, widgets: dict[str, str], ready: str) -> tuple[Any, list[str]]:
    """Open ``url`` and wait until each widget has started; return the tab and its console errors.

    ``widgets`` maps a widget's CSS selector to the JavaScript expression of its first instance
    (``window.medaiForwardExplorer.instances[0]``); ``ready`` is a promise expression that the
    widgets resolve once their data is drawn. Every console error is recorded.
    """
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    tab.goto(url, wait_until="load")
    for selector, api in widgets.items():
        if tab.locator(selector).count() != 1:
            tab.close()
            pytest.fail(f'expected one <div class="{selector[1:]}"> on {url}')
        registry = api.removesuffix(".instances[0]")
        try:
            tab.wait_for_function(f"() => {registry} && {registry}.instances.length > 0 && !!{api}.slider",
                                  timeout=NET_MS)
        except Exception:
            tab.close()
            pytest.fail(f"{selector[1:]} did not start: is its script in extra_javascript? errors: {errors}")
    tab.evaluate(f"{ready}.then(() => true)")
    return tab, errors


def open_recorded(new_context: Callable[..., tuple[Any, Traffic]], opener: Callable[[Any], tuple[Any, list[str]]],
                  lang: str) -> Any:
    """A tab opened by ``opener(context)`` in a fresh context, carrying ``lang``, its console
    ``errors`` and its ``traffic`` (requests to other hosts) as attributes."""
    context, traffic = new_context()
    tab, errors = opener(context)
    tab.lang, tab.errors, tab.traffic = lang, errors, traffic
    return tab
