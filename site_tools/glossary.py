"""The bilingual glossary: the data in ``glossary.toml`` and the tables built from it.

The hook ``hooks/glossary.py`` replaces the line ``<!-- glossary-table -->`` of
``docs/glossary.{ja,en}.md`` with :func:`render_glossary` for the language being built;
``hooks/glossary_tooltips.py`` gives every term on every page its definition on hover and focus
(:mod:`site_tools.glossary_tooltips`);
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


_LABELS = {
    "ja": {"symbol": "記号", "first": "初出"},
    "en": {"symbol": "Symbol", "first": "First taught in"},
}
_PENDING = {"ja": "準備中", "en": "in preparation"}
assert set(_LABELS) == set(_PENDING) == set(LANGUAGES)


def term_anchor(term: Term) -> str:
    """The term's ``id`` on both glossary pages: its English headword as an ASCII slug.

    The same in both languages, so ``glossary/#chain-rule`` and ``en/glossary/#chain-rule``
    point at the same entry.
    """
    ascii_only = re.sub(r"[^\x00-\x7f](?:_\w)?", "", term.en)  # "ᾱ_t (alpha-bar)" -> "alpha-bar"
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    if not slug:
        raise ValueError(f"`term` {term.en!r} has no ASCII letters to make an anchor from.")
    return slug


def term_heading(term: Term, lang: str) -> str:
    """``微分 · derivative`` on the Japanese page, ``derivative · 微分`` on the English one."""
    check_language(lang)
    first, other = (term.ja, term.en) if lang == "ja" else (term.en, term.ja)
    return first if first == other else f"{first} · {other}"


def render_glossary(
    lang: str,
    *,
    title_of: Callable[[str], str | None] = lambda page: None,
    link_prefix: str = "",
    pages: Iterable[str] | None = None,
    data: Glossary | None = None,
) -> str:
    """The glossary as Markdown: a section per lesson, in teaching order, and in it one small
    heading per term with its own anchor (:func:`term_anchor`), so that the search index has
    an entry per term and a search lands on the term.

    Each entry is the heading (both languages), the one-line definition, then a line with the
    symbol and the lesson that first teaches the term.

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
    labels = _LABELS[lang]
    out: list[str] = []
    for page in data.lesson_order if pages is None else pages:
        terms = data.terms_on_page(page)
        if not terms:
            continue
        title = title_of(page)
        name = page.rsplit("/", 1)[-1].removesuffix(".md")
        heading = title or f"{name} ({_PENDING[lang]})"
        # The section heading carries the full title; each entry repeats only its first part.
        short = title.split(" — ")[0].strip() if title else ""
        link = f"[{short}]({link_prefix}{page})" if title else heading
        out += [f"## {heading}", ""]
        for t in terms:
            definition = t.definition_ja if lang == "ja" else t.definition_en
            meta = [f"{labels['symbol']}: ${t.symbol}$"] if t.symbol else []
            meta.append(f"{labels['first']}: {link}")
            out += [
                f"### {term_heading(t, lang)} {{ #{term_anchor(t)} .glossary-term }}",
                "",
                definition,
                "",
                " · ".join(meta),
                "{ .glossary-meta }",
                "",
            ]
    return "\n".join(out)


def page_title(markdown: str) -> str | None:
    """The first level-1 heading of a Markdown page, without attribute lists."""
    m = re.search(r"^# (.+?)\s*(?:\{[^}]*\})?\s*$", markdown, re.M)
    return m.group(1).strip() if m else None
