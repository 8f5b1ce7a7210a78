"""Material's search index with TeX written as plain text (used by ``hooks/search_text.py``)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .tex_text import plain_math


def plain_index_data(data: dict) -> dict:
    """``data`` (the parsed ``search_index.json``) with every formula in titles and texts as text."""
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if isinstance(doc.get(key), str):
                doc[key] = plain_math(doc[key], escaped=True, dollars=False)
    return data


#: Inserted around whole terms in the Japanese index; mkdocs.yml's search ``separator`` splits on it.
WORD_BREAK = "\u200b"


def keep_terms_whole(data: dict, terms: list[str]) -> dict:
    """``data`` (a parsed Japanese ``search_index.json``) with each of ``terms`` set apart by
    :data:`WORD_BREAK` (zero width: search snippets look the same).

    Japanese has no spaces, so Material splits it into words with TinySegmenter, which decides
    from the neighbouring characters: "学習率" typed alone stays one word, but inside
    "学習率が大きすぎると" it becomes "学習" + "率". The query then never met the page's own
    word, and 学習率 found lesson 1's learning-rate section sixth, after every page that says
    学習. Set apart, a glossary term is split exactly as the reader's query is.
    """
    if not terms:
        return data
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)))
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if isinstance(doc.get(key), str):
                text = doc[key].replace(WORD_BREAK, "")  # idempotent: the hook may run twice
                doc[key] = pattern.sub(lambda m: WORD_BREAK + m.group(0) + WORD_BREAK, text)
    return data


#: Material 9.8's search worker splits a run of kanji in the query into words of the index, but
#: its loop never tries a word that reaches the end of the run (``o < t.length``), so the
#: query's last word lost its last character: 学習率 was searched as 学習*, 連鎖律 as 連鎖*.
QUERY_SPLIT_BUG = "for(let o=s+1;o<t.length;o++)t.slice(s,o)in e"
QUERY_SPLIT_FIX = "for(let o=s+1;o<=t.length;o++)t.slice(s,o)in e"


def fix_query_segmentation(worker: Path) -> bool:
    """Patch Material's search worker at ``worker`` (:data:`QUERY_SPLIT_BUG`); return True when
    the file holds the fixed loop afterwards. False means Material's code changed: look again."""
    text = worker.read_text(encoding="utf-8")
    if QUERY_SPLIT_FIX in text:
        return True
    if text.count(QUERY_SPLIT_BUG) != 1:
        return False
    worker.write_text(text.replace(QUERY_SPLIT_BUG, QUERY_SPLIT_FIX), encoding="utf-8")
    return True


def without_duplicates(entries: list[dict], prefixes: tuple[str, ...]) -> list[dict]:
    """``entries`` with repeats dropped, in one pass (order kept, the last copy wins).

    Two kinds of repeat: the same (location, title, text) twice, which ``serve --dirty`` stacks
    up as mkdocs-static-i18n merges each rebuild's entries into the previous index; and a page
    of another language (``prefixes``, e.g. ``("en/",)``) whose section has the same title and
    text as the default language's (the English API reference under both ``/`` and ``/en/``),
    which the i18n plugin's own check removes in quadratic time.
    """
    default = {
        (e.get("location"), e.get("title"), e.get("text"))
        for e in entries if not str(e.get("location", "")).startswith(prefixes)
    }
    seen: dict[tuple, dict] = {}
    for e in entries:
        location = str(e.get("location", ""))
        prefix = next((p for p in prefixes if location.startswith(p)), None)
        if prefix is not None and (location[len(prefix):], e.get("title"), e.get("text")) in default:
            continue
        key = (location, e.get("title"), e.get("text"))
        seen.pop(key, None)
        seen[key] = e
    return list(seen.values())


def plain_search_index(path: Path, prefixes: tuple[str, ...] = ()) -> None:
    """Rewrite the index file at ``path`` in place (atomically: temp file + rename), formulas as
    text and repeats dropped (:func:`without_duplicates`, with the other languages' ``prefixes``)."""
    data = plain_index_data(json.loads(path.read_text(encoding="utf-8")))
    data["docs"] = without_duplicates(data.get("docs", []), prefixes)
    write_index(path, data)


def split_by_language(path: Path, prefixes: tuple[str, ...], whole_terms: Sequence[str] = ()) -> dict[str, Path]:
    """Give each language a search index of its own pages only.

    mkdocs-static-i18n writes one index for the whole site, so the English site found Japanese
    pages and the Japanese site English ones. Each other language's entries (``prefixes``, e.g.
    ``("en/",)``) move to ``<prefix>search/search_index.json`` with their locations relative to
    that language's root; what stays in ``path`` is the default language's. The pages of a
    language read their own index because :func:`language_base` points them at their root.
    ``whole_terms`` are kept whole in the default language's index (:func:`keep_terms_whole`).
    Returns the prefix -> index path of each language ("" for the default one).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    docs = data.get("docs", [])
    written = {}
    for prefix in prefixes:
        mine = [dict(d, location=str(d["location"])[len(prefix):]) for d in docs
                if str(d.get("location", "")).startswith(prefix)]
        if not mine:  # split already (the i18n build calls the hook again): keep that language's index
            continue
        target = path.parent.parent / prefix / "search" / "search_index.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_index(target, dict(data, docs=mine))
        written[prefix] = target
    default = [d for d in docs if not str(d.get("location", "")).startswith(prefixes)]
    write_index(path, keep_terms_whole(dict(data, docs=default), list(whole_terms)))
    written[""] = path
    return written


_BASE = re.compile(r'("base":\s*")([^"]*)(")')


def language_base(page_html: str) -> str:
    """A page of a non-default language with Material's ``base`` set to its language's root.

    Material loads ``<base>/search/search_index.json`` and resolves search results against
    ``base``; for ``/en/lessons/x/`` the i18n build writes ``"base": "../.."`` (the site's root),
    and this makes it ``".."`` (``/en/``), where :func:`split_by_language` put the English index.
    """
    def one_level_up(m: re.Match) -> str:
        parts = [p for p in m.group(2).split("/") if p not in ("", ".")]
        return m.group(1) + ("/".join(parts[1:]) or ".") + m.group(3)

    return _BASE.sub(one_level_up, page_html, count=1)


def write_index(path: Path, data: dict) -> None:
    """Write ``data`` as JSON at ``path`` atomically (temp file + rename), readable by a web server."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".search_index.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a web server must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
