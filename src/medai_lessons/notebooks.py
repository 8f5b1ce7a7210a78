r"""Lesson pages as Jupyter notebooks: the same prose and code, runnable in Jupyter.

A lesson page (``docs/lessons/<slug>.<lang>.md``) is written for MkDocs and tested by
Sybil. This module turns it into a notebook in the page's language, so that a reader can
download it and run every example:

================================  =========================================================
page (MkDocs + Sybil)             notebook
================================  =========================================================
prose, headings, maths            markdown cells (``$...$`` and ``$$...$$`` render in Jupyter)
```` ```python ```` plain block   code cell
doctest block (``>>>``)           code cells without prompts or expected output; an example
                                  whose expected output is a traceback gets its own cell
                                  tagged ``raises-exception``
``<!-- invisible-code-block -->`` code cell tagged ``hide-input`` with its source collapsed
``<!-- skip: next ... -->``       fenced code inside a markdown cell (not executed)
``<!-- clear-namespace -->``      hidden ``%reset -f`` cell, then the page setup again
``!!! note "T"``, ``=== "T"``     a bold line **T**, body dedented (code inside stays code)
attribute lists ``{ .x }``        removed
relative image or page link       absolute URL on the published site (or plain text)
================================  =========================================================

The cells are written out as jupytext Markdown and read back with :func:`jupytext.reads`,
so ``jupytext`` and ``nbformat`` are needed only here (``pip install jupytext``); the rest
of the package does not import this module.
"""

from __future__ import annotations

import ast
import json
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "LANGUAGES",
    "LESSON_EXTRAS",
    "Cell",
    "convert_page",
    "doctest_to_sources",
    "install_command",
    "lesson_pages",
    "notebook_filename",
    "page_language",
    "page_to_cells",
    "site_url_from_config",
    "write_notebook",
]

LANGUAGES = ("ja", "en")

#: The ``pip`` extra each lesson needs (``pip install "medai-lessons[<extra>]"``).
LESSON_EXTRAS = {
    "gradient-descent": "autograd",
    "diffusion": "diffusion",
    "stable-diffusion": "sd",
}

_TEXT = {
    "ja": {
        "generated": "このノートブックは、ウェブ版のページ {url} から自動で作りました。",
        "install": "実行の前に、次のコマンドで必要なパッケージを入れてください。",
        "order": "セルは上から順に実行してください(隠れたセルは、後のセルが使う準備です)。",
        "skipped": "次のコードはウェブ版のテストで省略されるため、ここでは実行しません",
        "reason": "理由",
    },
    "en": {
        "generated": "This notebook was generated from the web page {url}.",
        "install": "Before running it, install what it needs:",
        "order": "Run the cells from top to bottom (hidden cells set up names that later cells use).",
        "skipped": "The web page's tests skip the next code, so it is not run here",
        "reason": "reason",
    },
}

#: Run before the first cell, as Sybil's ``setup`` does for every page (root conftest.py).
SETUP_SOURCE = """\
# Page setup (the website's tests define the same names for every page).
import os

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")  # the lessons never download models
try:
    import torch
except ImportError:
    HAS_CUDA = False
else:
    HAS_CUDA = torch.cuda.is_available()"""

_HIDDEN_META = {"tags": ["hide-input"], "jupyter": {"source_hidden": True}}


@dataclass(frozen=True)
class Cell:
    """One notebook cell before it becomes JSON.

    Attributes:
        kind: ``"markdown"`` or ``"code"``.
        source: The cell text, without a trailing newline.
        metadata: Cell metadata (``tags``, ``jupyter.source_hidden``).
    """

    kind: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags", []))


# ------------------------------------------------------------------------- page facts


def page_language(path: str | Path) -> str:
    """``"ja"`` or ``"en"`` from a page name such as ``gradient-descent.ja.md``."""
    name = PurePosixPath(str(path)).name
    for lang in LANGUAGES:
        if name.endswith(f".{lang}.md"):
            return lang
    raise ValueError(f"`path` must end in .ja.md or .en.md, got {name!r}.")


def _slug(path: str | Path) -> str:
    name = PurePosixPath(str(path)).name
    return name[: -len(".xx.md")]


def notebook_filename(slug: str, lang: str) -> str:
    """The notebook's file name on the site: ``<slug>-<lang>.ipynb``."""
    if lang not in LANGUAGES:
        raise ValueError(f"`lang` must be one of {LANGUAGES}, got {lang!r}.")
    return f"{slug}-{lang}.ipynb"


def install_command(slug: str) -> str:
    """``pip install "medai-lessons[<extra>]"`` for a lesson (plain package if none)."""
    extra = LESSON_EXTRAS.get(slug)
    return f'pip install "medai-lessons[{extra}]"' if extra else "pip install medai-lessons"


def lesson_pages(docs_dir: Path) -> list[Path]:
    """Every lesson page of both languages, sorted."""
    return sorted(p for lang in LANGUAGES for p in (docs_dir / "lessons").glob(f"*.{lang}.md"))


def site_url_from_config(mkdocs_yml: Path) -> str | None:
    """``site_url`` of ``mkdocs.yml``, following ``!ENV [VAR, "default"]`` as MkDocs does.

    Read with regular expressions: the file holds Python tags that a safe YAML loader rejects.
    """
    if not mkdocs_yml.is_file():
        return None
    text = mkdocs_yml.read_text(encoding="utf-8")
    m = re.search(r"^site_url:[ \t]*(.*?)[ \t]*(?:#.*)?$", text, re.M)
    if not m or not m.group(1):
        return None
    value = m.group(1)
    env = re.fullmatch(r"!ENV\s+\[?\s*([^\]]*?)\s*\]?", value)
    if env:
        names = [part.strip().strip("'\"") for part in env.group(1).split(",")]
        for name in names[:-1] if len(names) > 1 else names:
            if os.environ.get(name):
                return os.environ[name]
        return names[-1] if len(names) > 1 else None
    return value.strip("'\"") or None


# ------------------------------------------------------------------------- doctests

_PS1 = re.compile(r"^>>>(?: |$)")
_PS2 = re.compile(r"^\.\.\.(?: |$)")
_DOCTEST_DIRECTIVE = re.compile(r"\s*#\s*doctest:\s*(\S.*)$")


def _shows_value(source: str) -> bool:
    """True when a doctest example is a bare expression that Jupyter would display only last."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return False
    value = tree.body[0].value
    return not (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print"
    )


def doctest_to_sources(block: str) -> list[tuple[str, bool]]:
    """Split a doctest block into code-cell sources, prompts and expected output removed.

    A new cell starts after every example whose value the doctest shows (a bare
    expression), so that Jupyter displays it too, and every example expected to raise
    gets a cell of its own.

    Args:
        block: The text of a ```` ```python ```` block whose first line starts with ``>>>``.

    Returns:
        ``(source, raises)`` pairs; ``raises`` is True for an example whose expected
        output is a traceback.
    """
    examples: list[tuple[list[str], list[str]]] = []
    for line in textwrap.dedent(block).splitlines():
        if _PS1.match(line):
            examples.append(([line[4:]], []))
        elif examples and not examples[-1][1] and _PS2.match(line):
            examples[-1][0].append(line[4:])
        elif examples and line.strip():
            examples[-1][1].append(line)
    out: list[tuple[str, bool]] = []
    current: list[str] = []
    for src_lines, want in examples:
        src_lines = [_DOCTEST_DIRECTIVE.sub("", s) if "doctest:" in s else s for s in src_lines]
        source = "\n".join(src_lines).rstrip()
        raises = bool(want) and want[0].startswith("Traceback (")
        if raises:
            if current:
                out.append(("\n".join(current), False))
                current = []
            out.append((source, True))
            continue
        current.append(source)
        if want and _shows_value(source):
            out.append(("\n".join(current), False))
            current = []
    if current:
        out.append(("\n".join(current), False))
    return out


# ------------------------------------------------------------------------- markdown

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
_TAB = re.compile(r'^(?P<indent>[ \t]*)===\+?[ \t]+"(?P<title>[^"]*)"[ \t]*$')
_COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")
_INVISIBLE_OPEN = re.compile(r"^\s*<!--+\s*invisible-code-block:\s*python\s*$")
_INVISIBLE_MARK = re.compile(r"^\s*<!--+\s*invisible-code-block:\s*python\s*--+>\s*$")
_SKIP = re.compile(r"^\s*<!--+\s*skip:\s*(?P<action>next|start|end)\b(?P<rest>.*?)--+>\s*$")
_CLEAR = re.compile(r"^\s*<!--+\s*clear-namespace\s*--+>\s*$")
_IMAGE = re.compile(r'!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+"[^"]*")?\)(?:\{[^}\n]*\})?')
_LINK = re.compile(r'(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)(?:\s+"[^"]*")?\)(?:\{[^}\n]*\})?')
_HEADING_ATTRS = re.compile(r"^(#{1,6}\s.*?)\s*\{\s*:?\s*[#.][^}]*\}\s*$")
_REASON = re.compile(r'reason\s*=\s*"(?P<reason>[^"]*)"|^\s*"(?P<plain>[^"]*)"')


def _indent_of(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def _dedent_line(line: str, n: int) -> str:
    line = line.expandtabs(4)
    return line[min(n, _indent_of(line)) :]


class _Context:
    """Where the page lives, to turn relative links into absolute ones."""

    def __init__(self, page: str, lang: str, site_url: str | None) -> None:
        self.page = PurePosixPath(page)  # e.g. lessons/gradient-descent.md (no language)
        self.lang = lang
        self.site_url = site_url.rstrip("/") + "/" if site_url else None

    def resolve(self, target: str) -> str | None:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return target
        if self.site_url is None:
            return None
        path, _, anchor = target.partition("#")
        parts: list[str] = list(self.page.parent.parts)
        for part in PurePosixPath(path).parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        rel = "/".join(parts)
        anchor = f"#{anchor}" if anchor else ""
        if rel.endswith(".md"):
            rel = re.sub(r"\.(ja|en)\.md$", ".md", rel)[: -len(".md")]
            rel = "" if rel in {"index", ""} else (rel.removesuffix("/index") + "/")
            prefix = "" if self.lang == LANGUAGES[0] else f"{self.lang}/"
            return f"{self.site_url}{prefix}{rel}{anchor}"
        return f"{self.site_url}{rel}{anchor}"

    def page_url(self) -> str | None:
        return self.resolve(self.page.name)


def _rewrite_markdown_line(line: str, ctx: _Context) -> str:
    def image(m: re.Match[str]) -> str:
        url = ctx.resolve(m.group("target"))
        return f"![{m.group('alt')}]({url})" if url else f"*{m.group('alt')}*"

    def link(m: re.Match[str]) -> str:
        url = ctx.resolve(m.group("target"))
        return f"[{m.group('text')}]({url})" if url else m.group("text")

    line = _IMAGE.sub(image, line)
    line = _LINK.sub(link, line)
    return _HEADING_ATTRS.sub(r"\1", line)


def page_to_cells(
    markdown: str, *, page: str, lang: str, site_url: str | None = None
) -> list[Cell]:
    """Turn the Markdown of one lesson page into notebook cells (see the module table).

    Args:
        markdown: The page source.
        page: The page's path inside ``docs/`` without the language, e.g.
            ``"lessons/gradient-descent.md"``; relative links are resolved against it.
        lang: ``"ja"`` or ``"en"``: the language of the page (and of links to other pages).
        site_url: The published site's root URL; without it relative links become text.

    Returns:
        The cells in page order, starting with a hidden setup cell.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"`lang` must be one of {LANGUAGES}, got {lang!r}.")
    ctx = _Context(page, lang, site_url)
    cells: list[Cell] = [Cell("code", SETUP_SOURCE, dict(_HIDDEN_META))]
    text: list[str] = []
    lines = markdown.splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter
        end = next((i for i, s in enumerate(lines[1:], 1) if s.strip() == "---"), 0)
        lines = lines[end + 1 :]

    def flush() -> None:
        body = "\n".join(text).strip("\n")
        body = re.sub(r"\n{3,}", "\n\n", body)
        if body.strip():
            cells.append(Cell("markdown", body))
        text.clear()

    def code(source: str, metadata: dict[str, Any] | None = None) -> None:
        flush()
        if source.strip():
            cells.append(Cell("code", source.strip("\n"), dict(metadata or {})))

    def not_run(source: str, reason: str | None) -> None:
        note = _TEXT[lang]["skipped"]
        if reason:
            note += f"({_TEXT['ja']['reason']}: {reason})" if lang == "ja" else f" (reason: {reason})"
        note += "。" if lang == "ja" else "."
        text.extend(["", f"*{note}*", "", "```python", source.strip("\n"), "```", ""])

    containers: list[int] = []  # content indent of each open admonition / tab
    pending: str | None = None  # "invisible" or "skip" for the next python block
    pending_reason: str | None = None
    skipping = False
    i = 0
    while i < len(lines):
        raw = lines[i].expandtabs(4)
        if raw.strip():
            while containers and _indent_of(raw) < containers[-1]:
                containers.pop()
        strip = containers[-1] if containers else 0
        line = _dedent_line(raw, strip)

        fence = _FENCE.match(raw)
        if fence:
            indent = len(fence.group("indent").expandtabs(4))
            marker = fence.group("fence")
            body: list[str] = []
            j = i + 1
            while j < len(lines):
                close = _FENCE.match(lines[j].expandtabs(4))
                if (
                    close
                    and close.group("fence")[0] == marker[0]
                    and len(close.group("fence")) >= len(marker)
                    and not close.group("info").strip()
                ):
                    break
                body.append(_dedent_line(lines[j], indent))
                j += 1
            info = fence.group("info").strip()
            source = "\n".join(body)
            if info == "python":
                if skipping or pending == "skip":
                    not_run(source, pending_reason)
                elif pending == "invisible":
                    code(source, _HIDDEN_META)
                elif source.lstrip().startswith(">>>"):
                    for src, raises in doctest_to_sources(source):
                        code(src, {"tags": ["raises-exception"]} if raises else None)
                else:
                    code(textwrap.dedent(source))
                pending, pending_reason = None, None
            else:
                text.append(_dedent_line(raw, strip))
                text.extend(_dedent_line(b, max(strip - indent, 0)) for b in body)
                if j < len(lines):
                    text.append(_dedent_line(lines[j], strip))
            i = j + 1
            continue

        if _INVISIBLE_OPEN.match(raw):  # Sybil's form: the code sits inside the comment
            body = []
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*--+>\s*$", lines[j]):
                body.append(lines[j])
                j += 1
            code(textwrap.dedent("\n".join(body)), _HIDDEN_META)
            i = j + 1
            continue
        if _INVISIBLE_MARK.match(raw):  # a marker line before a visible fence
            pending = "invisible"
            i += 1
            continue
        skip = _SKIP.match(raw)
        if skip:
            action = skip.group("action")
            reason_m = _REASON.search(skip.group("rest"))
            reason = (reason_m.group("reason") or reason_m.group("plain")) if reason_m else None
            if action == "next":
                pending, pending_reason = "skip", reason
            elif action == "start":
                skipping, pending_reason = True, reason
            else:
                skipping, pending_reason = False, None
            i += 1
            continue
        if _CLEAR.match(raw):
            code("%reset -f", _HIDDEN_META)
            cells.append(Cell("code", SETUP_SOURCE, dict(_HIDDEN_META)))
            i += 1
            continue
        if _COMMENT_LINE.match(raw):
            i += 1
            continue

        admonition = _ADMONITION.match(raw) or _TAB.match(raw)
        if admonition:
            title = admonition.group("title")
            if title is None:
                title = admonition.groupdict().get("kind", "").capitalize()
            text.extend(["", f"**{title}**" if title else "", ""])
            containers.append(_indent_of(raw) + 4)
            i += 1
            continue

        text.append(_rewrite_markdown_line(line, ctx))
        i += 1
    flush()

    # The notice goes right after the title (or first, when the page has none).
    url = ctx.page_url() or PurePosixPath(page).as_posix()
    notice = "\n".join(
        [
            f"> 📓 {_TEXT[lang]['generated'].format(url=url)}",
            f"> {_TEXT[lang]['install']}",
            ">",
            f"> `{install_command(PurePosixPath(page).stem)}`",
            ">",
            f"> {_TEXT[lang]['order']}",
        ]
    )
    first_md = next((k for k, c in enumerate(cells) if c.kind == "markdown"), None)
    if first_md is not None and cells[first_md].source.startswith("# "):
        title, _, rest = cells[first_md].source.partition("\n")
        cells[first_md] = Cell("markdown", title)
        cells.insert(first_md + 1, Cell("markdown", notice))
        if rest.strip():
            cells.insert(first_md + 2, Cell("markdown", rest.strip("\n")))
    else:
        cells.insert(0, Cell("markdown", notice))
    return cells


# ------------------------------------------------------------------------- notebook


def _jupytext_markdown(cells: list[Cell]) -> str:
    """The cells as jupytext Markdown: regions for markdown, fences for code."""
    chunks = []
    for cell in cells:
        if cell.kind == "code":
            opts = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in cell.metadata.items())
            chunks.append(f"```python{' ' + opts if opts else ''}\n{cell.source}\n```")
        else:
            chunks.append(f"<!-- #region -->\n{cell.source}\n<!-- #endregion -->")
    return "\n\n".join(chunks) + "\n"


def convert_page(path: Path, *, docs_dir: Path, site_url: str | None = None) -> Any:
    """Read a lesson page and return it as an :mod:`nbformat` v4 notebook.

    Args:
        path: ``docs/lessons/<slug>.<lang>.md``.
        docs_dir: The ``docs`` folder (links are resolved relative to it).
        site_url: The published site's root URL (``site_url`` of mkdocs.yml).
    """
    import jupytext  # only the notebook build needs it

    lang = page_language(path)
    rel = path.resolve().relative_to(docs_dir.resolve()).as_posix()
    page = re.sub(r"\.(ja|en)\.md$", ".md", rel)
    cells = page_to_cells(path.read_text(encoding="utf-8"), page=page, lang=lang, site_url=site_url)
    nb = jupytext.reads(_jupytext_markdown(cells), fmt="md")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["medai_lessons"] = {"page": page, "lang": lang, "install": install_command(_slug(path))}
    return nb


def write_notebook(nb: Any, path: Path) -> Path:
    """Write a notebook as JSON (stable key order, so unchanged pages give identical bytes)."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path
