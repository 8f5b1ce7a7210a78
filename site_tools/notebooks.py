r"""Lesson pages as Jupyter notebooks: the same prose and code, runnable in Jupyter.

A lesson page (``docs/lessons/<slug>.<lang>.md``) is read by :func:`site_tools.pages.read_page`,
the reader the tests use, and turned into a notebook in the page's language:

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
figure of the site (``assets/``)  a cell attachment: the notebook shows it offline
                                  (the dark variant, ``#only-dark``, is left out)
other relative image or page link absolute URL on the published site (or plain text)
================================  =========================================================

The cells are written out as jupytext Markdown and read back with :func:`jupytext.reads`.
"""

from __future__ import annotations

import ast
import base64
import doctest
import hashlib
import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .bench_numbers import expand as expand_bench
from .env import DEFAULT_LANGUAGE, HUB_OFFLINE_ENV, LANGUAGES, check_language, page_language, page_without_language
from .pages import Block, read_page

#: The ``pip`` extra each lesson needs (``pip install "medai-lessons[<extra>]"``).
LESSON_EXTRAS = {
    "gradient-descent": "autograd",
    "diffusion": "diffusion",
    "stable-diffusion": "sd",
    "self-supervised": "sd",
}

_TEXT = {
    "ja": {
        "generated": "このノートブックは、ウェブ版のページ {url} から自動で作りました。",
        "install": "実行の前に、次のコマンドで必要なパッケージを入れてください。",
        "order": "セルは上から順に実行してください(隠れたセルは、後のセルが使う準備です)。",
        "skipped": "次のコードはウェブ版のテストで省略されるため、ここでは実行しません",
        "reason": "({reason_word}: {reason})",
        "reason_word": "理由",
        "end": "。",
    },
    "en": {
        "generated": "This notebook was generated from the web page {url}.",
        "install": "Before running it, install what it needs:",
        "order": "Run the cells from top to bottom (hidden cells set up names that later cells use).",
        "skipped": "The web page's tests skip the next code, so it is not run here",
        "reason": " ({reason_word}: {reason})",
        "reason_word": "reason",
        "end": ".",
    },
}
assert set(_TEXT) == set(LANGUAGES)

#: Run before the first cell, as Sybil's ``setup`` does for every page (site_tools.pages.setup_namespace).
SETUP_SOURCE = f"""\
# Page setup (the website's tests define the same names for every page).
import os

for _name, _value in {dict(HUB_OFFLINE_ENV)!r}.items():
    os.environ.setdefault(_name, _value)  # the lessons never download models
try:
    import torch
except ImportError:
    HAS_CUDA = False
else:
    HAS_CUDA = torch.cuda.is_available()"""

_HIDDEN_META = {"tags": ["hide-input"], "jupyter": {"source_hidden": True}}


@dataclass(frozen=True)
class Cell:
    """One notebook cell before it becomes JSON."""

    kind: str  # "markdown" or "code"
    source: str  # without a trailing newline
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> list[str]:
        return list(self.metadata.get("tags", []))


# ------------------------------------------------------------------------- page facts


def notebook_filename(slug: str, lang: str) -> str:
    """The notebook's file name on the site: ``<slug>-<lang>.ipynb``."""
    check_language(lang)
    return f"{slug}-{lang}.ipynb"


def install_command(slug: str) -> str:
    """``pip install "medai-lessons[<extra>]"`` for a lesson (plain package if none)."""
    extra = LESSON_EXTRAS.get(slug)
    return f'pip install "medai-lessons[{extra}]"' if extra else "pip install medai-lessons"


def lesson_pages(docs_dir: Path) -> list[Path]:
    """Every lesson page of every language, sorted."""
    return sorted(p for lang in LANGUAGES for p in (docs_dir / "lessons").glob(f"*.{lang}.md"))


# ------------------------------------------------------------------------- doctests


def _shows_value(source: str) -> bool:
    """True when a doctest example is a bare expression that Jupyter would display only last."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return False
    value = tree.body[0].value
    return not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print")


def doctest_to_sources(examples: tuple[doctest.Example, ...] | list[doctest.Example]) -> list[tuple[str, bool]]:
    """Group doctest examples into code-cell sources (prompts and expected output are gone).

    A new cell starts after every example whose value the doctest shows (a bare
    expression), so that Jupyter displays it too, and every example expected to raise
    gets a cell of its own.

    Returns:
        ``(source, raises)`` pairs; ``raises`` is True for an example whose expected
        output is a traceback.
    """
    out: list[tuple[str, bool]] = []
    current: list[str] = []
    for example in examples:
        source = re.sub(r"[ \t]*#\s*doctest:.*$", "", example.source.rstrip("\n"), flags=re.M)
        if example.exc_msg is not None:
            if current:
                out.append(("\n".join(current), False))
                current = []
            out.append((source, True))
            continue
        current.append(source)
        if example.want and _shows_value(source):
            out.append(("\n".join(current), False))
            current = []
    if current:
        out.append(("\n".join(current), False))
    return out


# ------------------------------------------------------------------------- prose

_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<kind>[\w-]+)(?:[ \t]+"(?P<title>[^"]*)")?[ \t]*$'
)
_TAB = re.compile(r'^(?P<indent>[ \t]*)===\+?[ \t]+"(?P<title>[^"]*)"[ \t]*$')
_COMMENT_LINE = re.compile(r"^\s*<!--.*-->\s*$")
_IMAGE = re.compile(r'!\[(?P<alt>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+"[^"]*")?\)(?:\{[^}\n]*\})?')
_LINK = re.compile(r'(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)(?:\s+"[^"]*")?\)(?:\{[^}\n]*\})?')
_HEADING_ATTRS = re.compile(r"^(#{1,6}\s.*?)\s*\{\s*:?\s*[#.][^}]*\}\s*$")


def _indent_of(line: str) -> int:
    line = line.expandtabs(4)
    return len(line) - len(line.lstrip(" "))


def attachment_name(rel: str) -> str:
    """The attachment name of the site file ``rel`` (``assets/figures/lesson1/x-ja.svg`` ->
    ``lesson1-x-ja.svg``): unique, and without slashes."""
    return rel.removeprefix("assets/figures/").replace("/", "-")


_MIME = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class _Links:
    """Where the page lives, to turn relative links into absolute ones and figures into attachments."""

    def __init__(self, page: str, lang: str, site_url: str | None,
                 figures: Mapping[str, Path] | None = None) -> None:
        self.page = PurePosixPath(page)  # e.g. lessons/gradient-descent.md (no language)
        self.lang = lang
        self.site_url = site_url.rstrip("/") + "/" if site_url else None
        self.figures = figures or {}

    def site_path(self, target: str) -> tuple[str, str]:
        """The target's path from the site root, and its ``#anchor`` (without ``#``)."""
        path, _, anchor = target.partition("#")
        parts: list[str] = list(self.page.parent.parts)
        for part in PurePosixPath(path).parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        return "/".join(parts), anchor

    def resolve(self, target: str) -> str | None:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return target
        if self.site_url is None:
            return None
        rel, anchor = self.site_path(target)
        anchor = f"#{anchor}" if anchor else ""
        if rel.endswith(".md"):
            rel = re.sub(r"\.(" + "|".join(LANGUAGES) + r")\.md$", ".md", rel)[: -len(".md")]
            rel = "" if rel in {"index", ""} else (rel.removesuffix("/index") + "/")
            prefix = "" if self.lang == DEFAULT_LANGUAGE else f"{self.lang}/"
            return f"{self.site_url}{prefix}{rel}{anchor}"
        return f"{self.site_url}{rel}{anchor}"

    def rewrite(self, line: str) -> str:
        def image(m: re.Match[str]) -> str:
            target = m.group("target")
            rel, anchor = self.site_path(target)
            if rel in self.figures:  # the notebook carries the figure itself
                return "" if anchor == "only-dark" else f"![{m.group('alt')}](attachment:{attachment_name(rel)})"
            url = self.resolve(target)
            return f"![{m.group('alt')}]({url})" if url else f"*{m.group('alt')}*"

        def link(m: re.Match[str]) -> str:
            url = self.resolve(m.group("target"))
            return f"[{m.group('text')}]({url})" if url else m.group("text")

        return _HEADING_ATTRS.sub(r"\1", _LINK.sub(link, _IMAGE.sub(image, line)))


class _Prose:
    """Prose between blocks: admonitions and tabs become bold titles, their bodies are dedented."""

    def __init__(self, links: _Links) -> None:
        self.links = links
        self.containers: list[int] = []  # content indent of each open admonition / tab

    def _strip(self, raw: str) -> str:
        raw = raw.expandtabs(4)
        if raw.strip():
            while self.containers and _indent_of(raw) < self.containers[-1]:
                self.containers.pop()
        n = self.containers[-1] if self.containers else 0
        return raw[min(n, _indent_of(raw)) :]

    def lines(self, text: str) -> list[str]:
        out = []
        for raw in text.splitlines():
            line = self._strip(raw)
            if _COMMENT_LINE.match(raw):
                continue
            container = _ADMONITION.match(raw) or _TAB.match(raw)
            if container:
                title = container.group("title")
                if title is None:
                    title = container.groupdict().get("kind", "").capitalize()
                out.extend(["", f"**{title}**" if title else "", ""])
                self.containers.append(_indent_of(raw) + 4)
                continue
            out.append(self.links.rewrite(expand_bench(line) if "{{" in line else line))
        return out

    def verbatim(self, block: Block, page: str) -> list[str]:
        """A non-python fence, kept as it is (dedented to its container)."""
        first = page[block.start : page.index("\n", block.start)] if "\n" in page[block.start :] else ""
        fence = self._strip(first).strip()
        marker = re.match(r"`{3,}|~{3,}", fence)
        close = marker.group(0) if marker else "```"
        return [fence, *block.source.rstrip("\n").splitlines(), close]


# ------------------------------------------------------------------------- cells


def page_to_cells(markdown: str, *, page: str, lang: str, site_url: str | None = None,
                  figures: Mapping[str, Path] | None = None) -> list[Cell]:
    """Turn the Markdown of one lesson page into notebook cells (see the module table).

    Args:
        markdown: The page source.
        page: The page's path inside ``docs/`` without the language, e.g.
            ``"lessons/gradient-descent.md"``; relative links are resolved against it.
        lang: The language of the page (and of links to other pages).
        site_url: The published site's root URL; without it relative links become text.
        figures: Site path -> file of each figure the site serves
            (:func:`site_tools.figures.cached_figures`); those become cell attachments.

    Returns:
        The cells in page order, starting with a hidden setup cell.
    """
    check_language(lang)
    words = _TEXT[lang]
    if markdown.startswith("---\n"):  # YAML front matter
        end = markdown.find("\n---\n", 3)
        markdown = markdown[end + 5 :] if end != -1 else markdown
    links = _Links(page, lang, site_url, figures)
    prose = _Prose(links)
    cells: list[Cell] = [Cell("code", SETUP_SOURCE, dict(_HIDDEN_META))]
    text: list[str] = []

    def flush() -> None:
        body = re.sub(r"\n{3,}", "\n\n", "\n".join(text).strip("\n"))
        if body.strip():
            cells.append(Cell("markdown", body))
        text.clear()

    def code(source: str, metadata: dict[str, Any] | None = None) -> None:
        flush()
        if source.strip():
            cells.append(Cell("code", source.strip("\n"), dict(metadata or {})))

    def not_run(source: str, reason: str | None) -> None:
        note = words["skipped"]
        if reason:
            note += words["reason"].format(reason_word=words["reason_word"], reason=reason)
        text.extend(["", f"*{note}{words['end']}*", "", "```python", source.strip("\n"), "```", ""])

    skip_next, skipping, reason = False, False, None
    at = 0
    for block in read_page(markdown, page):
        text.extend(prose.lines(markdown[at : block.start]))
        at = block.end
        if block.kind == "text":
            text.extend(prose.verbatim(block, markdown))
        elif block.kind == "skip":
            action = block.skip_action
            if action == "next":
                skip_next, reason = True, block.skip_reason
            elif action == "start":
                skipping, reason = True, block.skip_reason
            else:
                skipping, reason = False, None
        elif block.kind == "clear":
            code("%reset -f", _HIDDEN_META)
            cells.append(Cell("code", SETUP_SOURCE, dict(_HIDDEN_META)))
        elif skipping or skip_next:
            not_run(block.source, reason)
            skip_next = False
            if not skipping:
                reason = None
        elif block.hidden:
            if block.kind == "doctest":
                code("\n".join(s for s, _ in doctest_to_sources(block.examples)), _HIDDEN_META)
            else:
                code(textwrap.dedent(block.source), _HIDDEN_META)
        elif block.kind == "doctest":
            for source, raises in doctest_to_sources(block.examples):
                code(source, {"tags": ["raises-exception"]} if raises else None)
        else:
            code(textwrap.dedent(block.source))
    text.extend(prose.lines(markdown[at:]))
    flush()

    # The notice goes right after the title (or first, when the page has none).
    url = links.resolve(PurePosixPath(page).name) or PurePosixPath(page).as_posix()
    notice = "\n".join(
        [
            f"> 📓 {words['generated'].format(url=url)}",
            f"> {words['install']}",
            ">",
            f"> `{install_command(PurePosixPath(page).stem)}`",
            ">",
            f"> {words['order']}",
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


def attach_figures(nb: Any, figures: Mapping[str, Path]) -> Any:
    """Put each figure a markdown cell of ``nb`` shows (``attachment:<name>``) into that cell."""
    by_name = {attachment_name(rel): path for rel, path in figures.items()}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        names = re.findall(r"\(attachment:([^)\s]+)\)", cell.source)
        if names:
            cell["attachments"] = {
                name: {_MIME[by_name[name].suffix]: base64.b64encode(by_name[name].read_bytes()).decode("ascii")}
                for name in dict.fromkeys(names)
            }
    return nb


def _name_cells(nb: Any) -> None:
    """Give each cell an id made from its place and its text, instead of nbformat's random one, so
    the same page gives the same notebook, byte for byte, on every build (``c<place>-<hash>``)."""
    for place, cell in enumerate(nb.cells):
        digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode(), usedforsecurity=False).hexdigest()
        cell.id = f"c{place:03d}-{digest[:8]}"


def convert_page(path: Path, *, docs_dir: Path, site_url: str | None = None,
                 figures: Mapping[str, Path] | None = None) -> Any:
    """Read a lesson page and return it as an :mod:`nbformat` v4 notebook.

    Args:
        path: ``docs/lessons/<slug>.<lang>.md``.
        docs_dir: The ``docs`` folder (links are resolved relative to it).
        site_url: The published site's root URL (``site_url`` of mkdocs.yml).
        figures: Site path -> file of each figure (:func:`site_tools.figures.cached_figures`):
            the notebook carries them as attachments, so it shows them offline.
    """
    import jupytext  # only the notebook build needs it

    lang = page_language(path)
    page = page_without_language(path.resolve().relative_to(docs_dir.resolve()).as_posix())
    cells = page_to_cells(path.read_text(encoding="utf-8"), page=page, lang=lang, site_url=site_url,
                          figures=figures)
    nb = attach_figures(jupytext.reads(_jupytext_markdown(cells), fmt="md"), figures or {})
    _name_cells(nb)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    slug = PurePosixPath(page).stem
    nb.metadata["medai_lessons"] = {"page": page, "lang": lang, "install": install_command(slug)}
    return nb


def write_notebook(nb: Any, path: Path) -> Path:
    """Write a notebook as JSON (stable key order, so unchanged pages give identical bytes); atomic."""
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
