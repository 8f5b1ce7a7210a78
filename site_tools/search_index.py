"""Material's search index with TeX written as plain text (used by ``hooks/search_text.py``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .tex_text import plain_math


def plain_index_data(data: dict) -> dict:
    """``data`` (the parsed ``search_index.json``) with every formula in titles and texts as text."""
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if isinstance(doc.get(key), str):
                doc[key] = plain_math(doc[key], escaped=True, dollars=False)
    return data


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
