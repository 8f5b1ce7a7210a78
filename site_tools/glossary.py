"""The bilingual glossary: the data in ``glossary.toml`` and the tables built from it.

The hook ``hooks/glossary.py`` replaces the line ``<!-- glossary-table -->`` of
``docs/glossary.{ja,en}.md`` with :func:`render_glossary` for the language being built;
``tests/test_glossary.py`` checks the data against the lesson pages.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .env import LANGUAGES, check_language

DATA = Path(__file__).with_name("glossary.toml")


@dataclass(frozen=True)
class Term:
    """One glossary entry (the fields are described at the top of ``glossary.toml``)."""

    ja: str
    en: str
    symbol: str
    definition_ja: str
    definition_en: str
    first_page: str
    ja_variants: tuple[str, ...] = ()
    en_variants: tuple[str, ...] = ()

    def forms(self, lang: str) -> tuple[str, ...]:
        """Every spelling that counts as the term on a page in ``lang``."""
        check_language(lang)
        return (self.ja, *self.ja_variants) if lang == "ja" else (self.en, *self.en_variants)

    def used_in(self, text: str, lang: str) -> bool:
        """True when ``text`` contains one of the term's forms for ``lang`` (English ignores case)."""
        if lang == "en":
            low = text.lower()
            return any(form.lower() in low for form in self.forms(lang))
        return any(form in text for form in self.forms(lang))


@dataclass(frozen=True)
class Glossary:
    """Every term, the lesson order, and the misspellings the docs must not use."""

    terms: tuple[Term, ...]
    lesson_order: tuple[str, ...]
    wrong_variants: dict[str, str]

    def terms_on_page(self, page: str) -> list[Term]:
        """The terms first taught on ``page`` (e.g. ``"lessons/gradient-descent.md"``)."""
        return [t for t in self.terms if t.first_page == page]


def load(path: Path = DATA) -> Glossary:
    """Read ``glossary.toml`` (or another file of the same shape)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    terms = tuple(
        Term(
            **{k: v for k, v in entry.items() if not k.endswith("_variants")},
            ja_variants=tuple(entry.get("ja_variants", ())),
            en_variants=tuple(entry.get("en_variants", ())),
        )
        for entry in data["term"]
    )
    return Glossary(terms, tuple(data["lesson_order"]), dict(data.get("wrong_variants", {})))


@cache
def glossary() -> Glossary:
    """The project's glossary, read once per process."""
    return load()


_HEAD = {
    "ja": ("用語", "English", "記号", "意味", "初出"),
    "en": ("Term", "日本語", "Symbol", "Meaning", "First taught in"),
}
_PENDING = {"ja": "準備中", "en": "in preparation"}
assert set(_HEAD) == set(LANGUAGES)


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def render_glossary(
    lang: str,
    *,
    title_of: Callable[[str], str | None] = lambda page: None,
    link_prefix: str = "",
    pages: Iterable[str] | None = None,
    data: Glossary | None = None,
) -> str:
    """The glossary as Markdown: one table per lesson, in teaching order.

    Args:
        lang: The language of the page being built.
        title_of: Returns a page's title in ``lang``, or None when the page does not exist
            yet; such a page is named "in preparation" and not linked (a link to a missing
            page would fail the strict build).
        link_prefix: Prepended to ``first_page`` to link it from the glossary page.
        pages: The pages to include, in order (default: the lesson order).
        data: The glossary (default: ``glossary.toml``).
    """
    check_language(lang)
    data = data or glossary()
    out: list[str] = []
    for page in data.lesson_order if pages is None else pages:
        terms = data.terms_on_page(page)
        if not terms:
            continue
        title = title_of(page)
        name = page.rsplit("/", 1)[-1].removesuffix(".md")
        heading = title or f"{name} ({_PENDING[lang]})"
        # The heading carries the full title; the column repeats only its first part.
        short = title.split(" — ")[0].strip() if title else ""
        link = f"[{_cell(short)}]({link_prefix}{page})" if title else _cell(heading)
        out += [f"## {heading}", "", "| " + " | ".join(_HEAD[lang]) + " |", "|---|---|---|---|---|"]
        for t in terms:
            first, other = (t.ja, t.en) if lang == "ja" else (t.en, t.ja)
            symbol = f"${t.symbol}$" if t.symbol else "—"
            definition = t.definition_ja if lang == "ja" else t.definition_en
            out.append(f"| **{_cell(first)}** | {_cell(other)} | {_cell(symbol)} | {_cell(definition)} | {link} |")
        out.append("")
    return "\n".join(out)


def page_title(markdown: str) -> str | None:
    """The first level-1 heading of a Markdown page, without attribute lists."""
    m = re.search(r"^# (.+?)\s*(?:\{[^}]*\})?\s*$", markdown, re.M)
    return m.group(1).strip() if m else None
