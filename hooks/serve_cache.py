"""MkDocs hook, ``mkdocs serve`` only: remember work that every rebuild repeats unchanged.

The reference page's API signatures are formatted by mkdocstrings-python, which runs a
``ruff format`` subprocess for each signature longer than ``line_length``: about 90 processes
on every preview rebuild, for the same text each time. In serve mode the formatting function
is wrapped in a cache, so a rebuild formats only a signature it has not seen. ``mkdocs build``
(the published site and the tests) is untouched. The function is private to mkdocstrings-python;
if a future version renames it, this hook does nothing and the preview is only slower.
"""

from __future__ import annotations

import functools


def on_startup(command: str, dirty: bool) -> None:
    if command != "serve":
        return
    try:
        from mkdocstrings_handlers.python._internal import rendering
    except ImportError:
        return
    original = getattr(rendering, "_format_signature", None)
    if callable(original) and not hasattr(original, "cache_info"):
        rendering._format_signature = functools.lru_cache(maxsize=4096)(original)
