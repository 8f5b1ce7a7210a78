"""Moving around the site: the language switcher and the search box."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .conftest import LESSON, NET_MS


def _switch(tab, hreflang: str) -> None:
    """Open the header's language menu and choose ``hreflang``."""
    tab.locator(".md-header__option .md-select").first.hover()
    tab.locator(f'.md-select__link[hreflang="{hreflang}"]').first.click()
    tab.wait_for_load_state("load")


def test_language_switcher_keeps_the_reader_on_the_lesson(page, base_url):
    """Japanese lesson → English lesson → Japanese lesson, never the home page."""
    page.goto(base_url + LESSON, wait_until="load")
    assert page.evaluate("document.documentElement.lang") == "ja"
    _switch(page, "en")
    assert page.url == base_url + "en/" + LESSON
    assert page.evaluate("document.documentElement.lang") == "en"
    _switch(page, "ja")
    assert page.url == base_url + LESSON
    assert page.evaluate("document.documentElement.lang") == "ja"


def test_language_switcher_on_the_home_page(page, base_url):
    """The switcher on the home page leads to the other language's home page."""
    page.goto(base_url, wait_until="load")
    _switch(page, "en")
    assert page.url == base_url + "en/"


def _search(tab, query: str) -> list[str]:
    """Type ``query`` into Material's search box and return the result links."""
    box = tab.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")  # Material searches on keyup
    tab.locator(".md-search-result__item").first.wait_for(timeout=NET_MS)
    return tab.locator(".md-search-result__item > a").evaluate_all("els => els.map(e => e.href)")


@pytest.mark.parametrize(
    ("prefix", "query"),
    [("", "勾配"), ("", "勾配降下法"), ("en/", "gradient"), ("en/", "learning rate")],
    ids=["ja-勾配", "ja-勾配降下法", "en-gradient", "en-learning-rate"],
)
def test_search_finds_the_lesson(page, base_url, prefix, query):
    """Searching from a page finds the gradient-descent lesson in that page's language."""
    page.goto(base_url + prefix, wait_until="load")
    links = _search(page, query)
    pages = {urlsplit(link)._replace(query="", fragment="").geturl() for link in links}
    assert base_url + prefix + LESSON in pages, sorted(pages)
