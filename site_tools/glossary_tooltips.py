"""Hover definitions: every glossary term in a page's text becomes ``<abbr title="…">``.

Material's ``content.tooltips`` feature turns ``abbr[title]`` into its own tooltip, shown on
hover and on keyboard focus. Python-Markdown's ``abbr`` extension cannot do this job for
Japanese: it matches ``\\bterm\\b``, and between two kanji or kana there is no word boundary,
so ``微分の`` would never match ``微分``. This module works on the HTML instead (the hook
``hooks/glossary_tooltips.py`` calls :func:`annotate` in ``on_page_content``):

* only text is touched: code, ``pre``, links, headings, table headers, KaTeX's
  ``.arithmatex`` spans, buttons and the explorer widgets are left as they are;
* at one place the longest form wins (``勾配降下法`` before ``勾配``, ``偏微分`` before ``微分``);
* Japanese forms match anywhere; ASCII forms only as whole words, case-insensitively unless
  written in capitals (``CLIP`` is not "clip"), and an English word also in the plural;
* the title is ``headword — definition`` with TeX written as plain text
  (:func:`site_tools.tex_text.plain_math`);
* the first mark of each term on a page gets ``tabindex="0"``, so a keyboard reaches each
  definition once per page without a tab stop at every repetition.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .env import check_language
from .glossary import Glossary, Term, glossary
from .tex_text import plain_math

#: Elements whose text is never annotated.
SKIP_TAGS = frozenset({
    "a", "abbr", "button", "code", "h1", "h2", "h3", "h4", "h5", "h6", "head", "kbd", "label",
    "math", "option", "pre", "samp", "script", "select", "style", "svg", "textarea", "th", "title",
})
#: Elements with one of these classes are left alone too.
SKIP_CLASSES = frozenset({"arithmatex", "katex", "headerlink", "md-button", "glossary-term"})
_RAW = {"script", "style", "textarea"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_ENTITY = re.compile(r"(&#?\w+;)")


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern[str]
    terms: dict[str, Term]  # group name -> term


def _is_prose_form(form: str) -> bool:
    """Code-like spellings (``\\bar\\alpha``, ``guidance_scale``) stay out of the prose."""
    return "\\" not in form and "_" not in form and len(form) >= 2


def _form_pattern(form: str, lang: str) -> str:
    body = re.escape(form)
    if not form.isascii():
        return body
    if lang == "en" and form[-1].isalpha() and not form.isupper():
        body += "(?:e?s)?"
    if not form.isupper():
        body = f"(?i:{body})"
    return rf"(?<![A-Za-z0-9_]){body}(?![A-Za-z0-9_])"


_MATCHERS: dict[tuple[str, int], tuple[Glossary, _Matcher]] = {}


def _matcher(lang: str, data: Glossary) -> _Matcher:
    key = (lang, id(data))
    if key not in _MATCHERS or _MATCHERS[key][0] is not data:
        _MATCHERS[key] = (data, _build_matcher(lang, data))
    return _MATCHERS[key][1]


def _build_matcher(lang: str, data: Glossary) -> _Matcher:
    forms: list[tuple[str, int]] = []
    for k, term in enumerate(data.terms):
        for form in dict.fromkeys(term.forms(lang)):
            if _is_prose_form(form):
                forms.append((form, k))
    forms.sort(key=lambda f: -len(f[0]))
    names = {f"t{k}_{i}": data.terms[k] for i, (_, k) in enumerate(forms)}
    alternatives = [f"(?P<t{k}_{i}>{_form_pattern(form, lang)})" for i, (form, k) in enumerate(forms)]
    return _Matcher(re.compile("|".join(alternatives)), names)


def tooltip(term: Term, lang: str) -> str:
    """The text a reader sees on hover: ``headword — definition``, TeX as plain text."""
    check_language(lang)
    head = term.ja if lang == "ja" else term.en
    definition = term.definition_ja if lang == "ja" else term.definition_en
    return f"{head} — {plain_math(definition)}"


def _skips(name: str, attrs: str) -> bool:
    if name in SKIP_TAGS or "data-glossary-skip" in attrs:
        return True
    m = _CLASS.search(attrs)
    classes = set((m.group(1) or m.group(2) or m.group(3) or "").split()) if m else set()
    return bool(classes & SKIP_CLASSES) or any("explorer" in c for c in classes)


#: (page HTML, language, glossary) -> annotated HTML. ``mkdocs serve`` rebuilds every page on
#: each edit, and most come back unchanged: this keeps the preview's rebuild short.
_DONE: dict[tuple[str, str, int], str] = {}
_DONE_MAX = 256


def annotate(page_html: str, lang: str, data: Glossary | None = None) -> str:
    """``page_html`` with every glossary term of ``lang`` in its text wrapped in ``<abbr>``."""
    check_language(lang)
    data = data or glossary()
    key = (page_html, lang, id(data))
    if key not in _DONE:
        if len(_DONE) >= _DONE_MAX:
            _DONE.clear()
        _DONE[key] = _annotate(page_html, lang, data)
    return _DONE[key]


def _annotate(page_html: str, lang: str, data: Glossary) -> str:
    matcher = _matcher(lang, data)
    focusable: set[str] = set()

    def mark(m: re.Match[str]) -> str:
        term = matcher.terms[m.lastgroup or ""]
        first = term.en not in focusable
        focusable.add(term.en)
        tab = ' tabindex="0"' if first else ""
        title = html.escape(tooltip(term, lang), quote=True)
        return f'<abbr class="glossary-tip" title="{title}"{tab}>{m.group(0)}</abbr>'

    def text(chunk: str) -> str:
        parts = _ENTITY.split(chunk)
        return "".join(p if p.startswith("&") else matcher.pattern.sub(mark, p) for p in parts)

    out: list[str] = []
    stack: list[tuple[str, bool]] = []
    pos = 0
    lower = page_html.lower()
    while (m := _TAG.search(page_html, pos)) is not None:
        chunk = page_html[pos : m.start()]
        out.append(chunk if any(s for _, s in stack) else text(chunk))
        out.append(m.group(0))
        pos = m.end()
        if m.group(0).startswith("<!--"):
            continue
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        if closing:
            if any(n == name for n, _ in stack):
                while stack and stack.pop()[0] != name:
                    pass
        elif name in _RAW:
            end = lower.find(f"</{name}", pos)
            end = len(page_html) if end < 0 else end
            out.append(page_html[pos:end])
            pos = end
        elif name not in _VOID and not attrs.rstrip().endswith("/"):
            stack.append((name, _skips(name, attrs)))
    rest = page_html[pos:]
    out.append(rest if any(s for _, s in stack) else text(rest))
    return "".join(out)
