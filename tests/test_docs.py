"""The Markdown sources: twins, identical examples, Sybil coverage, wording, originality."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sybil import Sybil

from .conftest import DOCS, ROOT

JA_PAGES = sorted(p for p in DOCS.rglob("*.ja.md"))
EN_PAGES = sorted(p for p in DOCS.rglob("*.en.md"))
LESSONS = sorted(p for p in (DOCS / "lessons").glob("*.ja.md"))

# A fenced ```python block, or one of Sybil's directives written as HTML comments.
EXECUTABLE = re.compile(
    r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$"
    r"|<!--\s*(?:invisible-code-block: python|skip:[^>]*|clear-namespace)\s*-->",
    re.M | re.S,
)


def executable_parts(page: Path) -> list[str]:
    """Every code block and Sybil directive of a page, dedented, in order."""
    out = []
    for m in EXECUTABLE.finditer(page.read_text(encoding="utf-8")):
        if m.group("body") is None:
            out.append(re.sub(r"\s+", " ", m.group(0)))
        else:
            indent = len(m.group("indent"))
            out.append("\n".join(line[indent:] for line in m.group("body").splitlines()))
    return out


def twin(page: Path) -> Path:
    return page.with_name(page.name.replace(".ja.md", ".en.md"))


def test_every_page_has_its_twin():
    """Each Japanese page has an English twin and vice versa (no silent fallback)."""
    ja = {p.relative_to(DOCS).as_posix().replace(".ja.md", "") for p in JA_PAGES}
    en = {p.relative_to(DOCS).as_posix().replace(".en.md", "") for p in EN_PAGES}
    assert ja == en
    untagged = [p for p in DOCS.rglob("*.md") if not re.search(r"\.(ja|en)\.md$", p.name)]
    assert untagged == []


@pytest.mark.parametrize("page", JA_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_both_languages_carry_the_same_examples(page):
    """Code blocks, expected outputs and Sybil directives are identical in ja and en."""
    ja, en = executable_parts(page), executable_parts(twin(page))
    assert len(ja) == len(en), f"{page.name}: {len(ja)} executable parts in ja, {len(en)} in en"
    for i, (a, b) in enumerate(zip(ja, en, strict=True)):
        assert a == b, f"{page.name}: part {i + 1} differs between languages"


def _sybil_examples(page: Path) -> list:
    from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser

    from conftest import DOCTEST_FLAGS  # the root conftest that wires Sybil

    sybil = Sybil(
        parsers=[PythonCodeBlockParser(doctest_optionflags=DOCTEST_FLAGS), SkipParser(), ClearNamespaceParser()],
        path=str(page.parent),
    )
    return list(sybil.parse(page))


@pytest.mark.parametrize(
    "page", [*JA_PAGES, *EN_PAGES], ids=lambda p: p.relative_to(DOCS).as_posix()
)
def test_sybil_collects_every_code_block(page):
    """No ```python block silently escapes Sybil (e.g. a fence with a title)."""
    text = page.read_text(encoding="utf-8")
    odd = re.findall(r"^[ \t]*```(?:py|python3|pycon|python .+)[ \t]*$", text, re.M)
    assert odd == [], f"fences Sybil would not run: {odd}"
    starts = sorted(example.start for example in _sybil_examples(page))
    missed = []
    for m in re.finditer(r"^[ \t]*```python[ \t]*\n.*?^[ \t]*```[ \t]*$", text, re.M | re.S):
        if not any(m.start() <= s < m.end() for s in starts):
            missed.append(text.count("\n", 0, m.start()) + 1)
    assert missed == [], f"python fences at lines {missed} yield no Sybil example"


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: p.name)
def test_every_lesson_is_mostly_proven_by_code(page):
    """A lesson page carries many executable examples, not a token few."""
    assert sum(1 for part in executable_parts(page) if "\n" in part or ">>>" in part) >= 10


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
