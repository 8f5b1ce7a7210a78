"""No heading carries TeX, so the table of contents and the search results read as plain text."""

from __future__ import annotations

import re

import pytest

from .conftest import DOCS

PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
ATX = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<text>.*?)[ \t#]*$", re.M)
SETEXT = re.compile(r"^(?P<text>[^\n|>`-][^\n]*)\n {0,3}(?:=+|-{2,})[ \t]*$", re.M)
TEX = re.compile(r"\$|\\\(|\\\[")


def headings(markdown: str) -> list[str]:
    """The text of every ATX (``## x``) and setext (``x`` over ``===``) heading outside code."""
    text = FENCE.sub("", markdown)
    return [m.group("text") for m in ATX.finditer(text)] + [m.group("text") for m in SETEXT.finditer(text)]


def test_heading_scanner_sees_tex_and_skips_code():
    """The scanner finds TeX in ATX and setext headings and ignores a comment inside code."""
    page = "# Plain\n## Step $t$\nWith \\(x\\)\n===\n```python\n# not $a$ heading\n```\n"
    found = [h for h in headings(page) if TEX.search(h)]
    assert found == ["Step $t$", "With \\(x\\)"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_no_heading_carries_tex(page):
    """Headings use plain text or Unicode (xₜ, ᾱ, √), never $...$, \\(...\\) or \\[...\\]."""
    bad = [h for h in headings(page.read_text(encoding="utf-8")) if TEX.search(h)]
    assert bad == [], f"{page.relative_to(DOCS)}: TeX in headings {bad}"
