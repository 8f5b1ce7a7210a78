"""The one Markdown reader: Sybil's parsers plus ``doctest.DocTestParser``.

The tests (root ``conftest.py``), the twin test, the notebook converter and the serve-mode
example check all read a page through :func:`read_page`, so a notebook runs exactly the code
the tests run, and the ja/en comparison sees exactly what Sybil executes.

A page becomes a list of :class:`Block`, in page order:

=========  ===================================================================
kind       what Sybil does with it
=========  ===================================================================
``code``   a ```` ```python ```` block (or ``<!-- invisible-code-block: python``) run as code
``doctest``  the same, when its first line starts with ``>>>``: examples checked by doctest
``skip``   ``<!-- skip: next|start|end ... -->``
``clear``  ``<!-- clear-namespace -->``
``text``   any other fenced block (```` ```bash ````): never run
=========  ===================================================================
"""

from __future__ import annotations

import doctest
import io
import re
import tokenize
from dataclasses import dataclass
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from pathlib import Path

from sybil import Document, Region, Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from .env import DOCS

#: Floats are compared to the precision printed on the page.
DOCTEST_FLAGS = NUMBER | ELLIPSIS | NORMALIZE_WHITESPACE


def parsers() -> list:
    """Fresh instances of the parsers Sybil runs on every page."""
    return [PythonCodeBlockParser(doctest_optionflags=DOCTEST_FLAGS), SkipParser(), ClearNamespaceParser()]


def setup_namespace(namespace: dict) -> None:
    """Names every page may use without importing them (the notebooks' setup cell does the same)."""
    try:
        import torch
    except ImportError:  # lesson 1 without the autograd extra
        namespace["HAS_CUDA"] = False
    else:
        namespace["HAS_CUDA"] = torch.cuda.is_available()


def sybil(path: Path = DOCS, patterns: tuple[str, ...] = ("*.md",), **options) -> Sybil:
    """The Sybil that runs every ```` ```python ```` block of the pages below ``path`` matching ``patterns``."""
    return Sybil(parsers=parsers(), patterns=list(patterns), path=str(path), setup=setup_namespace, **options)


@dataclass(frozen=True)
class Block:
    """One thing Sybil (or a reader) sees on a page; see the module table for ``kind``."""

    kind: str
    start: int
    end: int
    source: str  # the code (prefix stripped), the doctest block, or the directive's arguments
    hidden: bool = False  # inside <!-- invisible-code-block: python -->
    examples: tuple[doctest.Example, ...] = ()  # for ``doctest``
    info: str = ""  # the fence's info string, for ``text``

    @property
    def skip_action(self) -> str:
        """``next``, ``start`` or ``end`` for a ``skip`` block."""
        return self.source.split(None, 1)[0] if self.source else ""

    @property
    def skip_reason(self) -> str | None:
        m = re.search(r'reason\s*=\s*"(?P<r>[^"]*)"|^\w+\s+"(?P<p>[^"]*)"', self.source)
        return (m.group("r") or m.group("p")) if m else None


_ANY_FENCE = RawFencedCodeBlockLexer(info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE))


def read_page(text: str, path: str | Path = "<page>") -> list[Block]:
    """Every block of a page, in order, as Sybil parses it.

    Args:
        text: The page's Markdown.
        path: Its path (shown in errors, and the doctest examples' file name).
    """
    document = Document(text, str(path))
    python = parsers()[0]
    blocks: list[Block] = []
    for region in python.codeblock_parser(document):
        hidden = "directive" in region.lexemes
        source = str(region.parsed)
        if source.startswith(">>>"):
            examples = tuple(r.parsed for r in python.doctest_parser(source, str(path)))
            blocks.append(Block("doctest", region.start, region.end, source, hidden, examples))
        else:
            blocks.append(Block("code", region.start, region.end, source, hidden))
    for region in SkipParser()(document):
        action, arguments = region.parsed
        blocks.append(Block("skip", region.start, region.end, " ".join(filter(None, (action, arguments)))))
    blocks.extend(Block("clear", r.start, r.end, "") for r in ClearNamespaceParser()(document))
    for region in blocks:  # Sybil's own overlap check
        document.add(Region(region.start, region.end))
    taken = [(b.start, b.end) for b in blocks]
    for region in _ANY_FENCE(document):
        if not any(s <= region.start < e for s, e in taken):
            blocks.append(
                Block("text", region.start, region.end, str(region.lexemes["source"]), info=region.lexemes["info"])
            )
    return sorted(blocks, key=lambda b: b.start)


def read_file(path: Path) -> list[Block]:
    """:func:`read_page` of a file."""
    return read_page(path.read_text(encoding="utf-8"), path)


def strip_comments(source: str) -> str:
    """Python source without its comments; a line that held only a comment disappears.

    Code, strings and expected outputs are unchanged, so the two languages may comment
    their examples in their own language and still be compared exactly.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    lines = source.splitlines()
    comment_only: set[int] = set()
    for tok in reversed(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            line = lines[row - 1]
            lines[row - 1] = line[:col].rstrip()
            if not lines[row - 1].strip():
                comment_only.add(row - 1)
    return "\n".join(line for i, line in enumerate(lines) if i not in comment_only)


def executable_parts(blocks: list[Block]) -> list[tuple]:
    """What Sybil executes and checks, comments stripped: the ja and en twins must agree on it."""
    out: list[tuple] = []
    for b in blocks:
        if b.kind == "code":
            out.append(("code", b.hidden, strip_comments(b.source)))
        elif b.kind == "doctest":
            examples = tuple(
                (strip_comments(e.source), e.want, e.exc_msg, tuple(sorted(e.options.items())))
                for e in b.examples
            )
            out.append(("doctest", b.hidden, examples))
        elif b.kind in {"skip", "clear"}:
            out.append((b.kind, b.source))
    return out
