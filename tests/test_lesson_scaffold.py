"""A teacher's scaffold on every lesson page (issue 20).

Each lesson opens with what the reader will learn and what they need to know first, closes its
main text with a summary and what comes next, and reads as prose with examples rather than as a
program: main-flow code stays at most 15 % of its lines.

The measure of main-flow code:

    main-flow code share = (lines of code in visible ```python fences that are not inside a
                            collapsed ``??? `` admonition)
                           / (all non-blank lines of the page)

* A code line is a non-blank line between a ```` ```python ```` fence and its closing fence, the
  fences themselves not counted. The blocks are found by :func:`site_tools.pages.read_page`, the
  reader Sybil runs; invisible setup blocks (``<!-- invisible-code-block: python``) are not shown
  and are not counted.
* A collapsed block is a ``??? `` admonition (``??? note``, ``??? success``, ``??? info``...): the
  reader sees its title only, and opens it on demand. Its body is every following line that is
  blank or indented deeper than the ``???`` marker. ``???+`` opens expanded and ``!!!`` cannot be
  closed, so code inside them is main flow.
* Fenced blocks of other languages (```` ```bash ````, ```` ```text ````) are not Python and are
  not counted as code; their lines count as page lines like any other.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from site_tools import pages

from .conftest import DOCS

LIMIT = 0.15
LESSONS = sorted((DOCS / "lessons").glob("*.md"))
COLLAPSED = re.compile(r"^(?P<indent>[ \t]*)\?\?\?(?!\+)\s")


def collapsed_lines(lines: list[str]) -> set[int]:
    """0-based numbers of the lines that lie inside a collapsed ``??? `` admonition."""
    inside: set[int] = set()
    marker: int | None = None  # indent of the open ``???`` marker
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if marker is not None and line.strip() and indent <= marker:
            marker = None  # a line back at (or left of) the marker's column ends the body
        if marker is not None:
            inside.add(i)
        elif m := COLLAPSED.match(line):
            marker = len(m.group("indent"))
    return inside


def code_share(text: str) -> tuple[int, int]:
    """(main-flow code lines, non-blank lines) of a page, as the module docstring defines them."""
    lines = text.splitlines()
    hidden = collapsed_lines(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    code = 0
    for block in pages.read_page(text):
        if block.kind not in {"code", "doctest"} or block.hidden:
            continue
        first = max(i for i, o in enumerate(offsets) if o <= block.start)  # the opening fence
        last = max(i for i, o in enumerate(offsets) if o < block.end)  # the closing fence
        body = range(first + 1, last)
        code += sum(1 for i in body if lines[i].strip() and lines[i].strip() != "```" and i not in hidden)
    return code, sum(1 for line in lines if line.strip())


def test_the_measure_counts_visible_code_only():
    """Code in the main flow and in a `!!!` box counts; code in a `???` box, an invisible block or bash does not."""
    page = "\n".join(
        [
            "# Page",
            "",
            "Some prose.",
            "",
            "```python",
            ">>> 1 + 1",
            "2",
            "```",
            "",
            "??? note \"Proof\"",
            "    ```python",
            "    >>> 2 + 2",
            "    4",
            "    ```",
            "",
            "!!! note \"Shown\"",
            "    ```python",
            "    x = 3",
            "    ```",
            "",
            "<!-- invisible-code-block: python",
            "y = 4",
            "-->",
            "",
            "```bash",
            "echo hi",
            "```",
            "More prose.",
        ]
    )
    code, total = code_share(page)
    assert code == 3  # ">>> 1 + 1", "2" and "x = 3"
    assert total == 22


def test_a_collapsed_box_ends_at_the_first_line_back_at_its_column():
    """Text after a `???` box, at the box's own indentation, is main flow again."""
    lines = ["??? note \"a\"", "    inside", "", "    inside too", "outside", "???+ note \"open\"", "    shown"]
    assert collapsed_lines(lines) == {1, 2, 3}


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: p.name)
def test_main_flow_code_is_at_most_15_percent_of_a_lesson(page: Path):
    """Each lesson page keeps its main-flow code at or below 15 % of its non-blank lines."""
    code, total = code_share(page.read_text(encoding="utf-8"))
    assert code / total <= LIMIT, f"{page.name}: {code} of {total} lines are main-flow code ({code / total:.1%})"


#: (goals, prerequisites, summary, what comes next) as each language writes them
SCAFFOLD = {
    "ja": ("**学習目標**", "**前提知識:**", "## まとめ", "## 次に学ぶこと"),
    "en": ("**What you will learn**", "**Prerequisites:**", "## Summary", "## What comes next"),
}


@pytest.mark.parametrize("page", LESSONS, ids=lambda p: p.name)
def test_a_lesson_opens_with_its_goals_and_closes_with_what_comes_next(page: Path):
    """Goals and prerequisites come before the first section; the summary is followed by what comes next."""
    goals, prerequisites, summary, after = SCAFFOLD[page.name.split(".")[-2]]
    lines = page.read_text(encoding="utf-8").splitlines()
    first_section = next(i for i, line in enumerate(lines) if line.startswith("## "))
    opening = lines[:first_section]
    assert any(line.strip() == goals for line in opening), f"{page.name}: no {goals} before the first section"
    assert any(line.startswith(prerequisites) for line in opening), f"{page.name}: no {prerequisites}"
    at_summary = next(i for i, line in enumerate(lines) if line.startswith(summary))
    next_heading = next(line for line in lines[at_summary + 1 :] if line.startswith("## "))
    assert next_heading == after, f"{page.name}: the section after the summary is {next_heading!r}"
