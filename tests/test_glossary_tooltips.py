"""Hover definitions (site_tools.glossary_tooltips): each glossary term in a page's text gets its
definition as an ``abbr`` title, which Material's ``content.tooltips`` shows on hover and focus."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from site_tools.glossary import glossary
from site_tools.glossary_tooltips import annotate, tooltip

from .conftest import load_hook

TERMS = {t.ja: t for t in glossary().terms}


def _marked(html: str) -> list[str]:
    """The words wrapped in a glossary abbr, in order."""
    return re.findall(r'<abbr class="glossary-tip"[^>]*>([^<]*)</abbr>', html)


def test_japanese_terms_match_inside_running_text_and_the_longest_wins():
    """No word boundaries in Japanese: 微分の matches 微分; 偏微分 and 勾配降下法 beat 微分 and 勾配."""
    out = annotate("<p>偏微分と微分の違い。勾配降下法は勾配を使う。</p>", "ja")
    assert _marked(out) == ["偏微分", "微分", "勾配降下法", "勾配"]


def test_english_terms_are_whole_words_plural_and_capitals_stay_capitals():
    """'Derivatives' and 'Chain Rule' match; 'clip' (a verb) is not CLIP, and 'bias' is not inside 'biased'."""
    out = annotate("<p>Derivatives and the Chain Rule; clip the CLIP text encoder. Biased, not bias.</p>", "en")
    assert _marked(out) == ["Derivatives", "Chain Rule", "CLIP", "text encoder", "bias"]


def test_an_ascii_term_in_japanese_text_needs_only_ascii_boundaries():
    """DDPMの matches DDPM, even though Unicode sees no word boundary between M and の."""
    assert _marked(annotate("<p>DDPMの損失関数</p>", "ja")) == ["DDPM", "損失関数"]


def test_code_headings_links_maths_and_scripts_are_left_alone():
    """Only prose is annotated; the markup of everything else is byte-for-byte the same."""
    untouched = (
        '<h2 id="x">勾配<a class="headerlink" href="#x">¶</a></h2>'
        "<pre><code>勾配 = 1</code></pre><p><code>勾配</code> <a href='#'>勾配</a> "
        '<span class="arithmatex">\\(\\nabla L\\) 勾配</span></p>'
        '<script>if (a<b && c>d) { s = "勾配" }</script>'
        '<div class="lr-explorer"><p>勾配</p></div><table><tr><th>勾配</th></tr></table>'
    )
    assert annotate(untouched, "ja") == untouched
    assert _marked(annotate(untouched + "<p>勾配</p>", "ja")) == ["勾配"]


def test_entities_and_attributes_are_never_split():
    """A term is never found inside an entity or inside a tag's attributes."""
    html = '<p title="gradient">&amp; <img alt="gradient"> gradient</p>'
    out = annotate(html, "en")
    assert out.startswith('<p title="gradient">&amp; <img alt="gradient"> <abbr')
    assert _marked(out) == ["gradient"]


def test_only_the_first_mark_of_each_term_is_a_tab_stop():
    """The keyboard reaches each definition once per page, not at every repetition."""
    out = annotate("<p>勾配、勾配、微分。</p><p>勾配</p>", "ja")
    assert out.count('tabindex="0"') == 2
    assert re.findall(r'<abbr[^>]*tabindex="0"[^>]*>([^<]*)<', out) == ["勾配", "微分"]


def test_the_title_is_the_headword_and_the_definition_with_tex_as_text():
    """導関数's definition says $x^2$ ... $2x$: the tooltip says x² ... 2x, and names the headword."""
    term = TERMS["導関数"]
    assert tooltip(term, "ja") == "導関数 — 各点での微分の値を、その点の関数として書いたもの。x² なら 2x。"
    assert tooltip(term, "en") == (
        "derivative function — The derivative written as a function of the point; for x² it is 2x."
    )
    out = annotate("<p>損失が下がる</p>", "ja")  # a variant shows its headword's definition
    assert f'title="{tooltip(TERMS["損失関数"], "ja")}"' in out
    assert "$" not in "".join(tooltip(t, lang) for t in TERMS.values() for lang in ("ja", "en"))


def test_code_like_variants_are_not_searched_in_prose():
    """guidance_scale and \\bar\\alpha are spellings for code and TeX, not words of the text."""
    assert _marked(annotate("<p>guidance_scale and alpha_bar</p>", "en")) == []


def test_unknown_language_is_refused():
    """Only the site's languages."""
    with pytest.raises(ValueError, match="`lang` must be one of"):
        annotate("<p>x</p>", "fr")


def test_hook_annotates_in_the_page_language():
    """hooks/glossary_tooltips.py uses the page's language, not the build's."""
    pytest.importorskip("mkdocs")
    hook = load_hook("glossary_tooltips")
    config = SimpleNamespace(theme={"language": "ja"})
    page = SimpleNamespace(file=SimpleNamespace(src_uri="lessons/x.en.md"))
    assert _marked(hook.on_page_content("<p>The gradient and 勾配</p>", page, config, None)) == ["gradient"]
