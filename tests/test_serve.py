"""The authors' preview: page examples run through Sybil, outcomes cached by content, a banner in serve only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from site_tools import examples
from site_tools.env import ROOT

from .conftest import load_hook

pytest.importorskip("mkdocs")

PASSING = "# T\n\n```python\n>>> 1 + 1\n2\n```\n"
FAILING = "# T\n\n```python\nx = 2\n```\n\nText.\n\n```python\n>>> x + 1\n4\n```\n"


def test_run_page_reports_the_first_failing_example_with_its_line(tmp_path):
    """A doctest whose output differs fails on its own line, after the examples before it ran."""
    page = tmp_path / "p.en.md"
    page.write_text(FAILING, encoding="utf-8")
    outcome = examples.run_page(page)
    assert (outcome.ok, outcome.examples, outcome.line) == (False, 1, 10)  # the line of its `>>>`
    assert "Expected:" in outcome.error and "4" in outcome.error and "Got:" in outcome.error


def test_run_page_passes_a_correct_page_and_counts_its_examples(tmp_path):
    """Every example of a correct page runs (the doctest and the skip directive); the skipped one does not."""
    page = tmp_path / "p.en.md"
    page.write_text(PASSING + '\n<!-- skip: next "not here" -->\n```python\nraise SystemExit\n```\n', encoding="utf-8")
    assert examples.run_page(page) == examples.Outcome(True, 2)


def test_outcomes_are_stored_by_page_text(tmp_path):
    """run_and_store runs the page in a fresh interpreter; the outcome is found again by the same text only."""
    page = tmp_path / "p.en.md"
    page.write_text(FAILING, encoding="utf-8")
    cache = tmp_path / "cache"
    stored = examples.run_and_store(page, FAILING, cache=cache)
    assert not stored.ok and stored.line == 10
    assert examples.cached(FAILING, cache) == stored
    assert examples.cached(FAILING + " ", cache) is None


def _page(src_uri: str, abs_src: str) -> SimpleNamespace:
    text = (ROOT / "docs" / src_uri).read_text(encoding="utf-8") if abs_src == "docs" else abs_src
    return SimpleNamespace(file=SimpleNamespace(
        src_uri=src_uri, abs_src_path="/nonexistent/" + src_uri, abs_dest_path="/nonexistent/out.html",
        content_string=text,
    ))


def test_banner_only_in_serve_mode_and_only_on_a_failing_page(tmp_path, monkeypatch):
    """mkdocs build never changes a page; in serve a stored failure adds the banner in the page's language."""
    hook = load_hook("examples")
    monkeypatch.setattr(hook, "cached", lambda text: examples.Outcome(False, 0, 7, "Expected 4, got 3 <b>"))
    page = _page("lessons/x.ja.md", FAILING)
    hook.on_startup(command="build", dirty=False)
    assert hook.on_page_content("<p>body</p>", page, None, None) == "<p>body</p>"
    hook.on_startup(command="serve", dirty=True)
    out = hook.on_page_content("<p>body</p>", page, None, None)
    assert out.endswith("<p>body</p>") and "medai-example-failure" in out
    assert "このページの例が失敗しています" in out and "7 行目" in out and "&lt;b&gt;" in out
    monkeypatch.setattr(hook, "cached", lambda text: examples.Outcome(True, 3))
    assert hook.on_page_content("<p>body</p>", page, None, None) == "<p>body</p>"


def test_a_page_without_a_stored_outcome_is_queued_once_and_not_waited_for(monkeypatch):
    """The build returns at once; the page is queued for the background runner a single time."""
    hook = load_hook("examples")
    queued = []
    monkeypatch.setattr(hook, "cached", lambda text: None)
    monkeypatch.setattr(hook, "_schedule", lambda *args: queued.append(args))
    hook.on_startup(command="serve", dirty=True)
    assert hook.on_page_content("<p>b</p>", _page("lessons/x.en.md", FAILING), None, None) == "<p>b</p>"
    assert hook.on_page_content("<p>b</p>", _page("index.en.md", "# Home, no code\n"), None, None) == "<p>b</p>"
    assert len(queued) == 1 and queued[0][1] == FAILING
