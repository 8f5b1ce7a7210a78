"""How much of the package is checking, and how long its functions are (issue 22's count).

Run: ``python scripts/code_stats.py [src/medai_lessons] [--top 5] [--markdown]``.

A *code line* is a non-blank line of a ``.py`` file that is neither a comment nor part of a
docstring (module, class or function). A code line is a *checking line* when it is

1. in a checks module (``_checks.py``, ``_validate.py``, ``_tensor_checks.py``, ``_check_*.py``), or
2. inside an ``if …:`` block whose body is only ``raise`` statements (the test and the raise), or
3. inside any ``raise`` statement, or
4. inside a statement that calls a function whose name starts with ``check_`` or ``_check``.

Each line counts once. The share is checking lines over code lines.
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

CHECK_MODULES = {"_checks.py", "_validate.py", "_tensor_checks.py"}
#: Statements with a body: a call inside their body is counted on its own statement, not the whole block.
_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)


def _is_check_module(path: Path) -> bool:
    return path.name in CHECK_MODULES or path.name.startswith("_check_")


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def code_lines(source: str) -> set[int]:
    """Line numbers holding code: not blank, not only a comment, not a docstring."""
    tree = ast.parse(source)
    with_tokens: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.ENDMARKER:
            continue
        with_tokens.update(range(tok.start[0], tok.end[0] + 1))
    return with_tokens - _docstring_lines(tree)


def _span(node: ast.AST) -> range:
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)  # type: ignore[attr-defined]


def _called_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return ""


def checking_lines(source: str) -> set[int]:
    """Line numbers that check arguments, by rules 2-4 of the module docstring."""
    tree = ast.parse(source)
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and node.body and all(isinstance(s, ast.Raise) for s in node.body):
            lines.update(range(node.lineno, (node.body[-1].end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.Raise):
            lines.update(_span(node))
        elif isinstance(node, ast.stmt) and not isinstance(node, _COMPOUND):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Call) and _called_name(sub).startswith(("check_", "_check")):
                    lines.update(_span(node))
                    break
    return lines


@dataclass
class Stats:
    files: int = 0
    physical_lines: int = 0
    code: int = 0
    checking: int = 0
    functions: list[tuple[int, str]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.checking / self.code if self.code else 0.0


def measure(root: Path) -> Stats:
    stats = Stats()
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        stats.files += 1
        stats.physical_lines += len(source.splitlines())
        code = code_lines(source)
        stats.code += len(code)
        checks = code if _is_check_module(path) else checking_lines(source) & code
        stats.checking += len(checks)
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                stats.functions.append((len(_span(node)), f"{rel}::{node.name}"))
    stats.functions.sort(key=lambda t: (-t[0], t[1]))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="src/medai_lessons", type=Path)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args(argv)
    s = measure(args.root)
    print(f"files: {s.files}")
    print(f"lines (physical, all .py): {s.physical_lines}")
    print(f"code lines (no blanks, comments, docstrings): {s.code}")
    print(f"checking lines: {s.checking} ({100 * s.share:.1f} %)")
    print(f"biggest {args.top} functions (lines, def to last line):")
    for n, name in s.functions[: args.top]:
        print(f"  {n:4d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
