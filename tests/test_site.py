"""The built site: strict build, both languages, nothing loaded from another host."""

from __future__ import annotations

import json
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

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


def test_lesson_maths_is_typeset_when_the_site_is_built(built_site):
    """Every formula reaches the reader as KaTeX's HTML (with MathML for screen readers): no TeX is
    left for the browser, and a page without an explorer loads no KaTeX script."""
    for lesson in ("gradient-descent", "diffusion"):
        html = (built_site.path / "lessons" / lesson / "index.html").read_text(encoding="utf-8")
        spans = re.findall(r'<(span|div) class="arithmatex">(.{0,40})', html)
        assert len(spans) >= 20
        assert all(body.startswith('<span class="katex') for _, body in spans), spans[:3]
        assert "katex-error" not in html
        assert "katex.min.css" in html
    home = (built_site.path / "index.html").read_text(encoding="utf-8")
    assert "katex.min.js" not in home and "arithmatex" not in home


def _index(site: Path, lang: str) -> dict:
    """The search index of one language's site (``search/`` for ja, ``en/search/`` for en), as
    the reader sees it: without the zero-width breaks around Japanese terms (search_index.WORD_BREAK)."""
    from site_tools.search_index import WORD_BREAK

    text = (site / _lang_prefix(lang) / "search" / "search_index.json").read_text(encoding="utf-8")
    return json.loads(text.replace(WORD_BREAK, ""))


@pytest.mark.parametrize(("word", "lang"), [("勾配", "ja"), ("gradient", "en")])
def test_each_language_searches_only_its_own_pages(built_site, word, lang):
    """Each language has an index of its own pages (locations relative to that language's root),
    and it finds the lesson; no entry of the other language is in it."""
    index = _index(built_site.path, lang)
    assert "ja" in index["config"]["lang"]
    locations = [d["location"] for d in index["docs"]]
    assert not any(loc.startswith("en/") for loc in locations)
    hits = [d["location"] for d in index["docs"]
            if word in d["text"].lower() + d["title"].lower() and d["location"].startswith("lessons/gradient-descent/")]
    assert hits
    titles = {d["title"] for d in index["docs"] if d["location"] == "glossary/"}
    assert titles == ({"用語集"} if lang == "ja" else {"Glossary"})


def test_english_pages_point_materials_search_at_the_english_root(built_site):
    """Material loads ``<base>/search/search_index.json``: an English page's base is /en/."""
    from urllib.parse import urljoin

    for page, root in [("en/", "/en/"), ("en/lessons/gradient-descent/", "/en/"), ("en/glossary/", "/en/"),
                       ("", "/"), ("lessons/gradient-descent/", "/")]:
        html = (built_site.path / page / "index.html").read_text(encoding="utf-8")
        base = re.search(r'"base": "([^"]*)"', html).group(1)
        assert urljoin(f"/{page}", base + "/") == root, (page, base)


def test_search_index_split_and_base_helpers():
    """split_by_language moves each prefixed entry to its language's index, prefix dropped, and
    keeps a language's index when called again on an index already split; language_base goes
    up one level."""
    from site_tools.search_index import language_base, split_by_language

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "search" / "search_index.json"
        root.parent.mkdir()
        docs = [{"location": "a/", "title": "あ", "text": ""}, {"location": "en/a/#x", "title": "A", "text": ""}]
        root.write_text(json.dumps({"config": {"lang": ["ja", "en"]}, "docs": docs}), encoding="utf-8")
        paths = split_by_language(root, ("en/",))
        en = json.loads(paths["en/"].read_text(encoding="utf-8"))
        assert [d["location"] for d in en["docs"]] == ["a/#x"] and en["config"] == {"lang": ["ja", "en"]}
        assert [d["location"] for d in json.loads(root.read_text(encoding="utf-8"))["docs"]] == ["a/"]
        split_by_language(root, ("en/",))  # again: nothing to move, the English index stays
        assert json.loads(paths["en/"].read_text(encoding="utf-8")) == en
    assert language_base('x {"base": "../..", "features": []}') == 'x {"base": "..", "features": []}'
    assert language_base('{"base": ".."}') == '{"base": "."}'


# ------------------------------------------------------------------ issue 12 §5: site details


def _lang_prefix(lang: str) -> str:
    return "" if lang == LANGUAGES[0] else f"{lang}/"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_search_index_reads_formulas_as_text(built_site, lang):
    """No TeX in the search index: every formula is plain text (hooks/search_text.py), so a
    snippet shows df/dx, not \\(\\frac{df}{dx}\\)."""
    index = _index(built_site.path, lang)
    texts = [d["title"] + " " + d["text"] for d in index["docs"]]
    tex = [t[:200] for t in texts if re.search(r"\\[(\[]|\\(frac|bar|alpha|sqrt|partial|nabla)\b", t)]
    assert tex == []
    assert any("df/dx" in t for t in texts)  # the glossary's symbol of the derivative, from \frac{df}{dx}
    assert any("ᾱₜ" in t for t in texts)  # \bar\alpha_t, as lesson 2 writes it
    mode = (built_site.path / _lang_prefix(lang) / "search" / "search_index.json").stat().st_mode & 0o777
    assert mode == 0o644  # rewritten atomically, still readable by a web server


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_glossary_term_has_its_own_anchor_and_search_entry(built_site, lang):
    """Every term is a heading with its own id on the glossary page, and the search index has
    an entry at that id whose title names the term and whose text is its definition."""
    from site_tools.glossary import glossary, term_anchor

    prefix = _lang_prefix(lang)
    html = (built_site.path / prefix / "glossary" / "index.html").read_text(encoding="utf-8")
    entries = {d["location"]: d for d in _index(built_site.path, lang)["docs"]}
    for t in glossary().terms:
        anchor = term_anchor(t)
        assert re.search(rf'<h3 class="glossary-term" id="{anchor}">', html), anchor
        entry = entries[f"glossary/#{anchor}"]
        assert (t.ja if lang == "ja" else t.en) in entry["title"]
        definition = (t.definition_ja if lang == "ja" else t.definition_en).split("$")[0]
        assert definition[:20] in entry["text"], anchor


@pytest.mark.parametrize("lang", LANGUAGES)
def test_lesson_terms_carry_their_definition_for_materials_tooltips(built_site, lang):
    """Glossary terms in a lesson are abbr elements titled with their definition (Material's
    content.tooltips draws them); the maths and the code of the page are untouched."""
    from site_tools.glossary import glossary
    from site_tools.glossary_tooltips import tooltip

    assert "content.tooltips" in (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    prefix = _lang_prefix(lang)
    html = (built_site.path / prefix / "lessons" / "gradient-descent" / "index.html").read_text(encoding="utf-8")
    titles = set(re.findall(r'<abbr class="glossary-tip" title="([^"]*)"', html))
    chain = next(t for t in glossary().terms if t.en == "chain rule")
    assert tooltip(chain, lang).replace("'", "&#x27;") in titles
    assert len(titles) >= 15
    # Nothing inside a formula or a code block was wrapped.
    for block in re.findall(r'<span class="arithmatex">(.*?)</span>', html) + re.findall(r"<pre.*?</pre>", html, re.S):
        assert "glossary-tip" not in block


@pytest.mark.parametrize("lang", LANGUAGES)
def test_notebook_button_uses_materials_icon_not_an_emoji(built_site, lang):
    """The download button carries Material's notebook icon as inline SVG; no emoji on the page."""
    prefix = _lang_prefix(lang)
    html = (built_site.path / prefix / "lessons" / "gradient-descent" / "index.html").read_text(encoding="utf-8")
    button = re.search(r'<a class="md-button"[^>]*\.ipynb"[^>]*>(.*?)</a>', html, re.S)
    assert button, "no notebook button"
    assert '<span class="twemoji"><svg aria-hidden="true"' in button.group(1)
    assert "📓" not in html


def test_search_index_repeats_are_dropped_in_one_pass():
    """A repeated (location, title, text) keeps its last copy; an English section identical to the
    Japanese one at the same place (the API reference) is dropped; anything else is kept in order."""
    from site_tools.search_index import without_duplicates

    ja_ref = {"location": "reference/#f", "title": "f", "text": "Docstring."}
    en_ref = {"location": "en/reference/#f", "title": "f", "text": "Docstring."}
    en_lesson = {"location": "en/lessons/x/", "title": "Lesson", "text": "English."}
    ja_lesson = {"location": "lessons/x/", "title": "レッスン", "text": "日本語。"}
    stacked = [ja_lesson, ja_ref, en_lesson, en_ref, dict(ja_lesson), dict(en_lesson)]
    assert without_duplicates(stacked, ("en/",)) == [ja_ref, ja_lesson, en_lesson]
    assert without_duplicates(stacked * 50, ("en/",)) == [ja_ref, ja_lesson, en_lesson]  # no growth


@pytest.mark.parametrize("lang", LANGUAGES)
def test_search_index_has_no_repeated_entry(built_site, lang):
    """Each language's index holds each (location, title, text) once; the English one keeps the
    API reference, which reads the same in both languages (its docstrings are English)."""
    keys = [(d["location"], d["title"], d["text"]) for d in _index(built_site.path, lang)["docs"]]
    assert len(keys) == len(set(keys))
    assert any(loc.startswith("reference/") for loc, _, _ in keys)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_figures_reserve_their_space_and_load_lazily(built_site, lang):
    """Every figure's <img> has the width and height of its file, so nothing jumps as it loads
    (layout shift), and every figure after a page's first loads only when the reader nears it."""
    from PIL import Image

    for lesson in ("gradient-descent", "diffusion", "stable-diffusion"):
        folder = built_site.path / _lang_prefix(lang) / "lessons" / lesson
        imgs = re.findall(r"<img [^>]*assets/figures/[^>]*>", (folder / "index.html").read_text(encoding="utf-8"))
        assert len(imgs) >= 6, lesson
        light = [tag for tag in imgs if "#only-light" in tag]
        dark = [tag for tag in imgs if "#only-dark" in tag]
        assert len(light) == len(dark) == len(imgs) / 2, "each figure is a light and a dark twin"
        for tag in imgs:
            src = re.search(r'src="([^"#]+)', tag).group(1)
            width, height = (int(re.search(rf'\b{n}="(\d+)"', tag).group(1)) for n in ("width", "height"))
            if src.endswith(".png"):
                assert Image.open(folder / src).size == (width, height), src
            else:
                assert 100 <= width <= 2000 and 50 <= height <= 3000, (src, width, height)
            # the first light figure loads at once; the rest, and every dark twin, when needed
            assert ('loading="lazy"' in tag) == (tag is not light[0]), tag


def test_no_page_head_carries_hreflang_links(built_site):
    """No page's head has ``<link rel="alternate" hreflang>``: Material fetched ``sitemap.xml``
    next to each one (two 404s per page load), and relative ones are ignored by search engines.
    The sitemap carries them instead (next test)."""
    heads = {p: p.read_text(encoding="utf-8").split("</head>")[0] for p in _pages(built_site.path)}
    assert [p for p, head in heads.items() if "hreflang" in head] == []


def test_sitemap_names_both_languages_of_every_page_absolutely(built_site):
    """``sitemap.xml`` lists every page with an absolute ``hreflang`` link to each language."""
    from xml.etree import ElementTree

    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ElementTree.parse(built_site.path / "sitemap.xml").getroot()
    urls = root.findall("s:url", ns)
    pages = list(DOCS.rglob("*.ja.md"))
    assert len(urls) == len(pages) * len(LANGUAGES)
    for url in urls:
        links = {a.get("hreflang"): a.get("href") for a in url.findall("x:link", ns)}
        assert set(links) == set(LANGUAGES), url.findtext("s:loc", namespaces=ns)
        assert all(href.startswith(("https://", "http://")) for href in links.values()), links


def test_every_heading_knows_its_twin_in_the_other_language(built_site):
    """Each heading of a page pair carries the id of the heading at the same place in the other
    language, both ways (the language switch keeps the reader's section)."""
    from site_tools.languages import heading_ids, page_pairs

    twin_attr = re.compile(r'<h[1-6] id="([^"]+)" data-twin="([^"]+)"')
    pairs = page_pairs(built_site.path, "en/")
    assert len(pairs) == len(list(DOCS.rglob("*.ja.md")))
    for ja, en in pairs:
        ja_html, en_html = ja.read_text(encoding="utf-8"), en.read_text(encoding="utf-8")
        ja_ids, en_ids = heading_ids(ja_html), heading_ids(en_html)
        assert len(ja_ids) == len(en_ids) > 0, ja
        assert dict(twin_attr.findall(ja_html)) == dict(zip(ja_ids, en_ids, strict=True)), ja
        assert dict(twin_attr.findall(en_html)) == dict(zip(en_ids, ja_ids, strict=True)), en


def test_twin_headings_helpers():
    """Pairing is by place, idempotent, and refused when the heading counts differ."""
    from site_tools.languages import drop_head_alternates, heading_ids, link_twin_headings

    article = '<article><h1 id="a">A</h1><h2 id="b">B</h2></article>'
    page = '<head><link rel="alternate" href="./" hreflang="ja"></head>' + article
    assert drop_head_alternates(page) == "<head></head>" + article
    twinned = link_twin_headings(page, ["x", "y"])
    assert '<h1 id="a" data-twin="x">' in twinned and '<h2 id="b" data-twin="y">' in twinned
    assert link_twin_headings(twinned, ["x", "y"]) == twinned
    assert heading_ids(twinned) == ["a", "b"]
    assert link_twin_headings(page, ["x"]) == page


def test_japanese_terms_are_whole_words_in_the_search_index():
    """Glossary terms are set apart by zero-width breaks, longest first, idempotently."""
    from site_tools.search_index import WORD_BREAK, keep_terms_whole

    data = {"docs": [{"location": "x/", "title": "学習率", "text": "学習率が大きいと勾配降下法は発散する"}]}
    once = keep_terms_whole(data, ["学習率", "勾配", "勾配降下法"])
    b = WORD_BREAK
    assert once["docs"][0]["text"] == f"{b}学習率{b}が大きいと{b}勾配降下法{b}は発散する"
    assert keep_terms_whole(once, ["学習率", "勾配", "勾配降下法"]) == once


def test_materials_query_segmentation_is_patched(built_site, tmp_path):
    """The built search worker tries words that end a run of kanji (学習率 is not searched as 学習*);
    the patch refuses a worker whose code it does not recognise."""
    from site_tools.search_index import QUERY_SPLIT_BUG, QUERY_SPLIT_FIX, fix_query_segmentation

    (worker,) = built_site.path.glob("assets/javascripts/workers/search.*.min.js")
    text = worker.read_text(encoding="utf-8")
    assert QUERY_SPLIT_FIX in text and QUERY_SPLIT_BUG not in text
    other = tmp_path / "search.min.js"
    other.write_text("function fe(t,e){}", encoding="utf-8")
    assert fix_query_segmentation(other) is False


def test_materials_palette_start_up_is_patched_and_pages_start_settled(built_site):
    """The built bundle holds every palette patch and none of the originals (site_tools/theme_startup.py);
    each lesson page starts with the classes, the color-scheme meta and the palette's media in place."""
    from site_tools.theme_startup import BUNDLE_PATCHES, EARLY_CLASSES

    (bundle,) = built_site.path.glob("assets/javascripts/bundle.*.min.js")
    text = bundle.read_text(encoding="utf-8")
    assert all(new in text and old not in text for old, new in BUNDLE_PATCHES)
    for page in sorted(built_site.path.glob("**/lessons/*/index.html")):
        html = page.read_text(encoding="utf-8")
        assert html.count(EARLY_CLASSES) == 1 and html.count('<meta name="color-scheme" content="light">') == 1
        assert '<body data-md-color-media="(prefers-color-scheme: light)" ' in html
