"""The glossary: complete, used on the pages in both languages, free of known misprints."""

from __future__ import annotations

import re
import tomllib
from types import SimpleNamespace

import pytest

from site_tools.env import LANGUAGES
from site_tools.glossary import (
    DATA,
    Glossary,
    glossary,
    load,
    page_title,
    render_glossary,
    term_anchor,
    term_heading,
)

from .conftest import DOCS, ROOT, load_hook

GLOSSARY = glossary()
TERMS = GLOSSARY.terms
LESSON_ORDER = GLOSSARY.lesson_order
WRONG_VARIANTS = GLOSSARY.wrong_variants

GLOSSARY_PAGES = {DOCS / "glossary.ja.md", DOCS / "glossary.en.md"}

#: The terms the course promised to cover (Japanese form or one of its variants).
REQUIRED = [
    "微分", "導関数", "接線", "割線", "偏微分", "勾配", "損失関数", "平均二乗誤差", "パラメータ", "重み",
    "バイアス", "勾配降下法", "学習率", "エポック", "連鎖律", "誤差逆伝播法", "計算グラフ", "最小二乗法",
    "発散", "振動", "収束", "拡散モデル", "拡散過程", "復元過程", "ノイズスケジュール", "ᾱ_t(アルファバー)",
    "ガウスノイズ", "DDPM", "DDIM", "U-Net", "時刻埋め込み", "祖先サンプリング", "潜在空間", "潜在拡散",
    "VAE(変分オートエンコーダ)", "CLIP", "テキストエンコーダ", "クロスアテンション", "分類器なしガイダンス",
    "ガイダンススケール", "トークン", "プロンプト", "EMA",
]


#: Terms the glossary must keep but a lesson does not name yet: (headword, lang) -> what is missing.
#: The test is an expected failure until the page names the term; then it simply passes.
NOT_YET_NAMED = {
    ("導関数", "ja"): "lesson 1 writes f'(x) = 2x but never calls it 導関数",
    ("derivative function", "en"): "lesson 1 writes f'(x) = 2x but never says 'derivative function'",
}


def _pages(lang: str) -> dict:
    return {
        p: p.read_text(encoding="utf-8")
        for p in sorted(DOCS.rglob(f"*.{lang}.md"))
        if p not in GLOSSARY_PAGES
    }


def _first_page(term, lang: str):
    return DOCS / term.first_page.replace(".md", f".{lang}.md")


def test_every_promised_term_is_in_the_glossary():
    """Each term the course set out to define has an entry."""
    assert [t for t in REQUIRED if t not in {term.ja for term in TERMS}] == []


def test_terms_are_unique_in_each_language():
    """No Japanese or English headword appears twice."""
    assert len({t.ja for t in TERMS}) == len(TERMS)
    assert len({t.en.lower() for t in TERMS}) == len(TERMS)


def test_every_entry_is_complete_and_one_line():
    """Both definitions exist, each on one line, and first_page is a lesson in teaching order."""
    for t in TERMS:
        for definition in (t.definition_ja, t.definition_en):
            assert 10 <= len(definition) <= 200 and "\n" not in definition, t.ja
        assert t.first_page in LESSON_ORDER, t.ja
        assert "|" not in t.symbol, f"{t.ja}: a bare | would break the Markdown table"


def test_the_glossary_never_spells_a_term_the_wrong_way():
    """No headword, variant or definition uses a known misprint as a term."""
    for t in TERMS:
        for wrong, right in WRONG_VARIANTS.items():
            assert wrong not in (t.ja, *t.ja_variants), t.ja
            if wrong in t.definition_ja:  # quoted only to say it is a misprint
                assert right in t.definition_ja or right == t.ja, t.ja


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("term", TERMS, ids=lambda t: t.en)
def test_term_is_used_in_its_language_and_on_its_first_page(term, lang):
    """The term (or a listed variant) appears on the pages of that language, first_page included."""
    first = _first_page(term, lang)
    if not first.is_file():
        pytest.skip(f"{first.relative_to(ROOT)} does not exist yet (its lesson is being written)")
    pages = _pages(lang)
    used_somewhere = any(term.used_in(text, lang) for text in pages.values())
    used_first = term.used_in(pages[first], lang)
    head = term.ja if lang == "ja" else term.en
    if not (used_somewhere and used_first) and (head, lang) in NOT_YET_NAMED:
        pytest.xfail(NOT_YET_NAMED[head, lang])
    assert used_somewhere, f"{term.forms(lang)} appears on no {lang} page"
    assert used_first, f"{first.relative_to(ROOT)} never says {term.forms(lang)}"


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_known_misprints_appear_only_where_they_are_explained(page):
    """A wrong spelling (連鎖率, グラデーションディセント) may appear only on a line that also gives the right one."""
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for wrong, right in WRONG_VARIANTS.items():
            if wrong in line:
                assert right in line, f"{page.name}:{number}: {wrong} used without {right}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_glossary_page_exists_with_intro_and_marker(lang):
    """Each glossary page has a title, an introduction of its own, and the table marker."""
    text = (DOCS / f"glossary.{lang}.md").read_text(encoding="utf-8")
    assert text.startswith("# ") and text.count("<!-- glossary-table -->") == 1
    intro = text.split("<!-- glossary-table -->")[0]
    assert len(intro) > 300


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendered_glossary_gives_every_term_its_own_anchored_heading(lang):
    """Every term gets a level-3 heading with its own id (the search lands on it), its
    definition and a line that links the lesson teaching it; missing lessons are not linked."""

    def title_of(page):
        src = DOCS / page.replace(".md", f".{lang}.md")
        return page_title(src.read_text(encoding="utf-8")) if src.is_file() else None

    table = render_glossary(lang, title_of=title_of)
    headings = [line for line in table.splitlines() if line.startswith("### ")]
    assert len(headings) == len(TERMS)
    for t, heading in zip(TERMS, headings, strict=True):
        assert heading == f"### {term_heading(t, lang)} {{ #{term_anchor(t)} .glossary-term }}"
        assert "$" not in heading and "\\" not in heading  # no TeX in a heading
        assert (t.definition_ja if lang == "ja" else t.definition_en) in table
    for page in LESSON_ORDER:
        linked = f"]({page})" in table
        assert linked == (title_of(page) is not None), page


def test_term_anchors_are_unique_ascii_slugs_shared_by_both_languages():
    """One id per term, the same on both pages, readable in a URL: derivative, chain-rule, alpha-bar."""
    anchors = [term_anchor(t) for t in TERMS]
    assert len(set(anchors)) == len(TERMS)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a) for a in anchors), anchors
    by_en = {t.en: term_anchor(t) for t in TERMS}
    assert by_en["chain rule"] == "chain-rule"
    assert by_en["ᾱ_t (alpha-bar)"] == "alpha-bar"
    assert by_en["VAE (variational autoencoder)"] == "vae-variational-autoencoder"
    assert term_heading(TERMS[0], "ja") == "微分 · derivative"
    assert term_heading(TERMS[0], "en") == "derivative · 微分"
    ddpm = next(t for t in TERMS if t.ja == "DDPM")
    assert term_heading(ddpm, "en") == "DDPM"  # the same in both languages: said once


def test_render_rejects_an_unknown_language():
    """Only ja and en are rendered."""
    with pytest.raises(ValueError, match="`lang` must be one of"):
        render_glossary("fr")
    with pytest.raises(ValueError, match="`lang` must be one of"):
        TERMS[0].forms("de")


def test_the_data_file_is_plain_toml_with_every_field():
    """glossary.toml reads with the standard library; every entry has the six required fields."""
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))
    required = {"ja", "en", "symbol", "definition_ja", "definition_en", "first_page"}
    assert len(data["term"]) == len(TERMS) >= len(REQUIRED)
    for entry in data["term"]:
        assert required <= set(entry) <= required | {"ja_variants", "en_variants"}, entry.get("ja")


def test_load_reads_another_file_of_the_same_shape(tmp_path):
    """load() builds the Term tuple, the lesson order and the misprint map from any such file."""
    f = tmp_path / "g.toml"
    f.write_text(
        'lesson_order = ["a.md"]\n[wrong_variants]\n"x" = "y"\n'
        '[[term]]\nja = "項"\nen = "term"\nsymbol = \'\\alpha\'\ndefinition_ja = "定義"\n'
        'definition_en = "def"\nfirst_page = "a.md"\nen_variants = ["terms"]\n',
        encoding="utf-8",
    )
    g = load(f)
    assert isinstance(g, Glossary) and g.lesson_order == ("a.md",) and g.wrong_variants == {"x": "y"}
    assert g.terms[0].symbol == "\\alpha" and g.terms[0].forms("en") == ("term", "terms")
    assert g.terms_on_page("a.md") == list(g.terms)


def test_hook_replaces_the_marker_with_the_table_for_the_page_language():
    """hooks/glossary.py renders the Japanese glossary on the ja page and the English one on en."""
    pytest.importorskip("mkdocs")
    hook = load_hook("glossary")
    config = SimpleNamespace(docs_dir=str(DOCS), theme={"language": "ja"})
    for lang, header in [("ja", "### 微分 · derivative { #derivative"), ("en", "### derivative · 微分 { #derivative")]:
        page = SimpleNamespace(file=SimpleNamespace(src_uri=f"glossary.{lang}.md"))
        out = hook.on_page_markdown("Intro\n\n<!-- glossary-table -->\n", page, config, None)
        assert header in out and "<!--" not in out
        assert "](lessons/gradient-descent.md)" in out
