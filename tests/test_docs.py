"""The Markdown sources: twins, identical examples, Sybil coverage, wording, originality."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from sybil import Document

from site_tools.env import LANGUAGES
from site_tools.pages import executable_parts, parsers, read_file, read_page, strip_comments

from .conftest import DOCS, ROOT

JA_PAGES = sorted(p for p in DOCS.rglob("*.ja.md"))
EN_PAGES = sorted(p for p in DOCS.rglob("*.en.md"))
LESSONS = sorted(p for p in (DOCS / "lessons").glob("*.ja.md"))


@cache
def blocks(page: Path):
    """The page as the one reader (Sybil's parsers) sees it; read once per test process."""
    return read_file(page)


def twin(page: Path) -> Path:
    return page.with_name(page.name.replace(".ja.md", ".en.md"))


def test_every_page_has_its_twin():
    """Each Japanese page has an English twin and vice versa (no silent fallback)."""
    ja = {p.relative_to(DOCS).as_posix().replace(".ja.md", "") for p in JA_PAGES}
    en = {p.relative_to(DOCS).as_posix().replace(".en.md", "") for p in EN_PAGES}
    assert ja == en
    untagged = [p for p in DOCS.rglob("*.md") if not any(p.name.endswith(f".{lang}.md") for lang in LANGUAGES)]
    assert untagged == []


@pytest.mark.parametrize("page", JA_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_both_languages_carry_the_same_examples(page):
    """Code (comments aside), expected outputs and Sybil directives are identical in ja and en."""
    ja, en = executable_parts(blocks(page)), executable_parts(blocks(twin(page)))
    assert len(ja) == len(en), f"{page.name}: {len(ja)} executable parts in ja, {len(en)} in en"
    for i, (a, b) in enumerate(zip(ja, en, strict=True)):
        assert a == b, f"{page.name}: part {i + 1} differs between languages"


def test_the_twin_comparison_ignores_comments_only():
    """A Japanese comment may replace an English one; a changed value or output still differs."""
    en = "```python\n# the slope\nx = 2  # metres\n```\n\n```python\n>>> x + 1  # add one\n3\n```\n"
    ja = "```python\n# 傾き\nx = 2  # メートル\n```\n\n```python\n>>> x + 1  # 1を足す\n3\n```\n"
    assert executable_parts(read_page(en)) == executable_parts(read_page(ja))
    assert executable_parts(read_page(en)) != executable_parts(read_page(en.replace("x = 2", "x = 3")))
    assert executable_parts(read_page(en)) != executable_parts(read_page(en.replace("\n3\n", "\n4\n")))
    assert strip_comments("s = '# not a comment'  # a comment") == "s = '# not a comment'"


@pytest.mark.parametrize(
    "page", [*JA_PAGES, *EN_PAGES], ids=lambda p: p.relative_to(DOCS).as_posix()
)
def test_sybil_collects_every_code_block(page):
    """No python-looking fence silently escapes Sybil, and the reader sees every example Sybil runs."""
    odd = [b.info for b in blocks(page) if b.kind == "text" and re.fullmatch(r"py|python3|pycon|python\s.+", b.info)]
    assert odd == [], f"fences Sybil would not run: {odd}"
    spans = [(b.start, b.end) for b in blocks(page) if b.kind != "text"]
    regions = Document.parse(str(page), *parsers()).regions
    missed = [start for start, _ in regions if not any(s <= start < e for s, e in spans)]
    assert missed == [], f"Sybil examples the reader does not see, at offsets {missed}"
    python = [b for b in blocks(page) if b.kind in {"code", "doctest"}]
    assert all(any(b.start <= start < b.end for start, _ in regions) for b in python)


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: p.name)
def test_every_lesson_is_mostly_proven_by_code(page):
    """A lesson page carries many executable examples, not a token few."""
    examples = [b for b in blocks(page) if b.kind == "doctest" or (b.kind == "code" and "\n" in b.source.strip())]
    assert len(examples) >= 10


@pytest.mark.parametrize("page", JA_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_known_wrong_japanese_terms_are_absent(page):
    """連鎖律 is the chain rule (連鎖率 is a common misprint); 勾配降下法, not a katakana loan."""
    text = page.read_text(encoding="utf-8")
    for wrong in ("グラデーションディセント",):
        assert wrong not in text
    # 連鎖率 may be quoted only when the page explains that it is a misprint
    for line in text.splitlines():
        if "連鎖率" in line:
            assert "連鎖律" in line, f"misprint 連鎖率 used as a term: {line.strip()[:80]}"


def test_no_page_keeps_a_preview_benchmark_marker():
    """benchmarks/bench_serve.py appends ``bench-serve-...`` lines to a page and restores it; one was
    once committed to lesson 1 (a run stopped half-way). No page may carry such a line."""
    leftovers = [f"{p.relative_to(DOCS)}:{n}" for p in sorted(DOCS.rglob("*.md"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "bench-serve-" in line]
    assert leftovers == []


def test_prose_is_our_own():
    """The originality checker finds no run copied from the reference lessons."""
    tool = ROOT.parent / "shared" / "tools" / "check_originality.py"
    if not tool.is_file():
        pytest.skip("../shared/tools/check_originality.py is not beside this checkout")
    proc = subprocess.run(
        [sys.executable, str(tool), "docs"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("0 copied runs")
