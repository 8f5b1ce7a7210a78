"""MkDocs hook, ``mkdocs serve`` only: a page whose examples fail shows a warning banner.

After each rebuild, every page whose text has no stored outcome yet is queued; a background
thread runs its examples through Sybil (:mod:`site_tools.examples`, the reader the tests use)
in a fresh interpreter and stores the outcome by a hash of the page's text, so an unchanged
page is never run again. The runs are debounced (a page saved again within a second is run
once, in its newest text) and niced, so the preview's rebuilds keep the CPU. When a failure
arrives, the page's built file is removed and one small file in the watched folder
``.cache/examples-failed`` is rewritten: the server rebuilds that page (also under
``--dirty``), and it carries a banner naming the line and the error. Every outcome, passing or
failing, is stored in ``.cache/examples``, which is not watched: a pass changes no page, so it
rebuilds nothing. (On a fresh clone every page's first run used to rebuild the preview once,
six rebuilds in the first minute.) The build itself never waits for the examples, so an edit
still shows at once. ``mkdocs build`` (and so the published site and the tests) is untouched.
"""

from __future__ import annotations

import html
import queue
import threading
import time
from pathlib import Path

import _root  # noqa: F401  (site_tools on sys.path)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

from site_tools.env import page_language
from site_tools.examples import CACHE, cached, content_key, run_isolated, stop_all, store

_TEXT = {
    "ja": ("このページの例が失敗しています", "{line} 行目", "修正するまで公開の検査(pytest)も失敗します。"),
    "en": ("An example on this page fails", "line {line}", "pytest fails on it too until it is fixed."),
}

_serving = False
_queue: queue.Queue[tuple[Path, str, Path]] = queue.Queue()
_pending: set[str] = set()
_latest: dict[Path, str] = {}  # the newest text seen of each page
_worker: threading.Thread | None = None
DEBOUNCE_S = 1.0  # an author saving again within this time supersedes the older text


def on_startup(command: str, dirty: bool) -> None:
    global _serving
    _serving = command == "serve"


#: Rewritten when a page's examples fail; the preview server watches it and rebuilds.
FAILED = CACHE.parent / "examples-failed"


def on_serve(server, config: MkDocsConfig, builder):
    FAILED.mkdir(parents=True, exist_ok=True)
    server.watch(str(FAILED))  # a failing outcome rebuilds the pages whose built file is gone
    return server


def on_shutdown() -> None:
    stop_all()  # no example run outlives the server


def _work() -> None:
    while True:
        path, text, built = _queue.get()
        time.sleep(DEBOUNCE_S)
        try:
            outcome = run_isolated(path) if _latest.get(path) == text else None
            if outcome is not None:  # None: superseded, stopped or too slow; nothing to show
                store(text, outcome)
                if not outcome.ok:
                    built.unlink(missing_ok=True)  # so that a --dirty rebuild renders it again
                    # the watched folder changes (one small file, rewritten): the server rebuilds
                    FAILED.mkdir(parents=True, exist_ok=True)
                    (FAILED / "last-failure").write_text(content_key(text), encoding="utf-8")
        finally:
            _pending.discard(text)


def _schedule(path: Path, text: str, built: Path) -> None:
    global _worker
    _latest[path] = text
    if text in _pending:
        return
    _pending.add(text)
    _queue.put((path, text, built))
    if _worker is None or not _worker.is_alive():
        _worker = threading.Thread(target=_work, name="page-examples", daemon=True)
        _worker.start()


def banner(lang: str, line: int | None, error: str) -> str:
    title, where, note = _TEXT.get(lang, _TEXT["en"])
    place = f" ({where.format(line=line)})" if line else ""
    return (
        f'<div class="admonition failure medai-example-failure" role="alert">'
        f'<p class="admonition-title">{title}{place}</p>'
        f"<pre><code>{html.escape(error)}</code></pre><p>{note}</p></div>"
    )


def on_page_content(output: str, page: Page, config: MkDocsConfig, files) -> str:
    if not _serving or page.file.abs_src_path is None:
        return output
    text = page.file.content_string
    if "```python" not in text and "invisible-code-block" not in text:
        return output
    outcome = cached(text)
    if outcome is None:
        _schedule(Path(page.file.abs_src_path), text, Path(page.file.abs_dest_path))
        return output
    if outcome.ok:
        return output
    try:
        lang = page_language(page.file.src_uri)
    except ValueError:
        lang = "en"
    return banner(lang, outcome.line, outcome.error) + output
