"""Run one page's examples through Sybil, as the tests do, and remember the outcome by content hash.

Used by the serve-mode hook ``hooks/examples.py``: an author sees on the page itself when one
of its examples fails, without running pytest. ``python -m site_tools.examples PAGE...`` runs
pages in a fresh interpreter and prints one JSON result per page.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import unittest
from dataclasses import asdict, dataclass
from pathlib import Path

from .env import ROOT, offline_env

CACHE = ROOT / ".cache" / "examples"


@dataclass(frozen=True)
class Outcome:
    """The result of one page's examples."""

    ok: bool
    examples: int  # Sybil regions evaluated before the first failure (directives included, skipped ones not)
    line: int | None = None  # line of the first failing example
    error: str = ""


def content_key(text: str) -> str:
    """The cache key of a page: a hash of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def run_page(path: Path) -> Outcome:
    """Evaluate every example of ``path`` in order in one namespace; stop at the first failure."""
    from sybil import Document

    from .pages import parsers, setup_namespace

    document = Document.parse(str(path), *parsers())
    setup_namespace(document.namespace)
    count = 0
    for example in document:
        try:
            example.evaluate()
        except unittest.SkipTest:
            continue
        except Exception as err:  # a failing example is the result, not a crash
            text = str(err) if err.__class__.__name__ == "SybilFailure" else f"{type(err).__name__}: {err}"
            return Outcome(False, count, example.line, text.strip()[-1500:])
        count += 1
    return Outcome(True, count)


def cached(text: str, cache: Path = CACHE) -> Outcome | None:
    """The stored outcome for a page with this text, if any."""
    file = cache / f"{content_key(text)}.json"
    if not file.is_file():
        return None
    try:
        return Outcome(**json.loads(file.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        return None


def _lower_priority() -> None:
    """In the child: yield the CPU to the preview's rebuilds (the examples are not urgent)."""
    if hasattr(os, "nice"):
        os.nice(10)


#: Runs in progress, so that the server can stop them when it shuts down.
RUNNING: set[subprocess.Popen] = set()


def run_isolated(path: Path, *, timeout: float = 900) -> Outcome | None:
    """Run ``path``'s examples in a fresh interpreter at low priority (one page cannot disturb the server).

    Returns None when the run did not finish within ``timeout`` seconds or was stopped: that
    says nothing about the examples, so nothing should be stored or shown.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "site_tools.examples", str(path)],
        # one torch thread: the run is background work, and two threads fighting the server's
        # rebuild for two cores slowed both (the same reason as the test workers, conftest.py)
        cwd=ROOT, env=offline_env() | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_lower_priority,
    )
    RUNNING.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    finally:
        RUNNING.discard(proc)
    if proc.returncode < 0:  # stopped by a signal (the server shutting down)
        return None
    lines = stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return Outcome(**json.loads(lines[-1]))
    return Outcome(False, 0, None, (stderr or stdout).strip()[-1500:] or f"exit status {proc.returncode}")


def stop_all() -> None:
    """Stop every run in progress."""
    for proc in list(RUNNING):
        proc.terminate()


def store(text: str, outcome: Outcome, cache: Path = CACHE) -> Path:
    """Remember ``outcome`` for a page with this text (atomic write)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{content_key(text)}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(outcome), ensure_ascii=False), encoding="utf-8")
    tmp.replace(target)
    return target


def run_and_store(path: Path, text: str, *, timeout: float = 900, cache: Path = CACHE) -> Outcome | None:
    """:func:`run_isolated`, then :func:`store` a finished run's outcome."""
    outcome = run_isolated(path, timeout=timeout)
    if outcome is not None:
        store(text, outcome, cache)
    return outcome


def main(argv: list[str]) -> int:
    for name in argv:
        print(json.dumps(asdict(run_page(Path(name))), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
