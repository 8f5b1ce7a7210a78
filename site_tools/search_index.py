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


def plain_search_index(path: Path) -> None:
    """Rewrite the index file at ``path`` in place (atomically: temp file + rename)."""
    data = plain_index_data(json.loads(path.read_text(encoding="utf-8")))
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
