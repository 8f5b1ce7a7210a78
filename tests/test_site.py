"""The built site: strict build, both languages, nothing loaded from another host."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from site_tools.config import i18n_languages
from site_tools.env import LANGUAGES

from .conftest import DOCS


class _Refs(HTMLParser):
    """Collect every URL a page would load (scripts, styles, images, frames, fonts)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"script", "img", "iframe", "audio", "video", "source"} and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel") in {"stylesheet", "preload", "icon", "modulepreload"}:
            self.loads.append(a["href"])


def _pages(site):
    return sorted(site.rglob("*.html"))


def test_the_site_languages_are_defined_once_and_match_mkdocs_yml():
    """site_tools.env.LANGUAGES (default first) is what the i18n plugin builds, read by MkDocs' loader."""
    pytest.importorskip("mkdocs_static_i18n")
    assert i18n_languages() == LANGUAGES


def test_site_builds_strictly_without_warnings(built_site):
    """``mkdocs build --strict`` succeeds and logs no warning."""
    assert built_site.returncode == 0, built_site.log[-4000:]
    assert "WARNING" not in built_site.log, built_site.log[-4000:]


def test_every_page_is_served_in_both_languages(built_site):
    """Japanese at /, English at /en/, for every source page."""
    for page in DOCS.rglob("*.ja.md"):
        rel = page.relative_to(DOCS).as_posix().removesuffix(".ja.md")
        rel = "" if rel == "index" else rel + "/"
        assert (built_site.path / rel / "index.html").is_file(), rel
        assert (built_site.path / "en" / rel / "index.html").is_file(), rel
    en_home = (built_site.path / "en" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in en_home
    assert '<html lang="ja"' in (built_site.path / "index.html").read_text(encoding="utf-8")


def test_no_page_loads_anything_from_another_host(built_site):
    """Every script, stylesheet, image and font is served by the site itself."""
    offenders = []
    for page in _pages(built_site.path):
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        offenders += [f"{page}: {u}" for u in parser.loads if re.match(r"^(https?:)?//", u)]
    for css in built_site.path.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{css}: {u}" for u in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", text)]
        offenders += [f"{css}: @import" for _ in re.findall(r"@import\s+url\(\s*['\"]?https?:", text)]
    assert offenders == []


def test_katex_is_served_with_its_fonts(built_site):
    """KaTeX's script, stylesheet and every woff2 font its stylesheet names are in the site."""
    vendor = built_site.path / "assets" / "vendor" / "katex"
    assert (vendor / "katex.min.js").stat().st_size > 100_000
    css = (vendor / "katex.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+\.woff2)\)", css))
    assert len(fonts) >= 15
    assert all((vendor / f).is_file() for f in fonts)


def test_lesson_maths_is_left_for_katex(built_site):
    """Formulas reach the page as arithmatex spans for KaTeX to render."""
    html = (built_site.path / "lessons" / "gradient-descent" / "index.html").read_text(encoding="utf-8")
    assert html.count('class="arithmatex"') >= 20
    assert "katex-init.js" in html


@pytest.mark.parametrize(("word", "lang"), [("勾配", "ja"), ("gradient", "en")])
def test_search_index_holds_both_languages(built_site, word, lang):
    """The shared search index has Japanese and English entries for the lesson."""
    index = json.loads((built_site.path / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "ja" in index["config"]["lang"]
    prefix = "en/" if lang == "en" else ""
    hits = [
        d["location"] for d in index["docs"]
        if word in d["text"].lower() + d["title"].lower()
        and d["location"].startswith(prefix + "lessons/gradient-descent/")
    ]
    assert hits
