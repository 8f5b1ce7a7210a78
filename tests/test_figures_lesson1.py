"""The figures of lesson 1: drawn in both languages, reproducible, and labelled in Japanese."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from site_tools.figures import render
from site_tools.lesson_figures import LANGUAGES, FigureSpec, discover
from site_tools.lesson_figures.lesson1 import FIGURES

SPECS = [spec for spec in discover() if spec.module == "lesson1"]
IDS = [spec.name for spec in SPECS]

# Hiragana, katakana and CJK ideographs.
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# Every figure the lesson page refers to.
EXPECTED = {
    "roadmap",
    "dose-response",
    "tangents",
    "gradient-arrows",
    "chain-rule",
    "backprop",
    "learning-cycle",
    "learning-rates",
    "line-fit",
    "loss-surface",
}


_FIRST_RENDER: dict[tuple[str, str], bytes] = {}


def first_render(spec: FigureSpec, lang: str) -> bytes:
    """Render once per figure and language; later tests reuse the bytes (rendering is the slow part)."""
    key = (spec.name, lang)
    if key not in _FIRST_RENDER:
        _FIRST_RENDER[key] = render(spec, lang)
    return _FIRST_RENDER[key]


def test_discover_finds_every_lesson1_figure():
    """The registry lists exactly the figures lesson 1 uses, all as SVG."""
    assert {spec.name for spec in SPECS} == EXPECTED == set(FIGURES)
    assert {spec.fmt for spec in SPECS} == {"svg"}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_figure_renders_as_well_formed_svg(spec, lang):
    """Each figure renders in each language to an SVG document that an XML parser accepts."""
    data = first_render(spec, lang)
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert len(data) > 1000


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_figure_is_deterministic(spec):
    """Two renders of the same figure in the same language are byte-identical."""
    for lang in LANGUAGES:
        assert render(spec, lang) == first_render(spec, lang)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_japanese_figure_has_japanese_labels_and_english_has_none(spec):
    """The ja render carries Japanese text, the en render none, so the labels follow the page's language."""
    ja = first_render(spec, "ja").decode("utf-8")
    en = first_render(spec, "en").decode("utf-8")
    assert JAPANESE.search(ja), f"{spec.name}: no Japanese text in the ja figure"
    assert not JAPANESE.search(en), f"{spec.name}: Japanese text in the en figure"
    assert ja != en


def test_unknown_language_is_rejected():
    """A language other than ja/en is refused with a message naming `lang`."""
    with pytest.raises(ValueError, match="`lang`"):
        FIGURES["roadmap"]("fr")
