"""The preview's rebuild remembers unchanged work (hooks/serve_cache.py) and still writes the same site.

Three builds of the whole site, both languages, as ``mkdocs serve`` runs them: the configuration
is loaded again for each rebuild, as the server does on every edit.

* The second build follows no edit. Every page, the search indexes, the sitemap and the objects
  inventory must be byte for byte what the first build wrote, and none of the remembered work may
  run again: no page converted from Markdown, no code block sent to Pygments, no API block
  rendered, no page parsed for search, no template compiled, no theme folder listed, no formula
  sent to KaTeX.
* The third build follows an edit of one page (a line added to lesson 1's English source, as an
  author would). Only that page and its language's search index may change, the line must be
  on the page, and only that page is converted and parsed for search again.

It runs in a child process: the hook patches MkDocs, mkdocstrings, pymdown-extensions and
Material for the life of the process, and the other tests' builds must stay untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys

from site_tools.env import ROOT, offline_env

SCRIPT = r"""
import collections, json, sys, tempfile
from pathlib import Path

import jinja2
import markdown
import pymdownx.highlight
from material.plugins.search import plugin as search
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.structure.pages import Page
from mkdocstrings_handlers.python._internal import rendering

from site_tools import katex

calls = collections.Counter()

def counting(owner, name, key, only=None):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        if only is None or isinstance(args[0], only):
            calls[key] += 1
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)

material_parser = search.Parser
counting(pymdownx.highlight, "highlight", "code blocks coloured by Pygments")
counting(rendering, "do_get_template", "API blocks rendered")
counting(jinja2.Environment, "compile", "templates compiled")
counting(material_parser.__mro__[1], "feed", "pages parsed for search", only=material_parser)
counting(markdown.Markdown, "convert", "pages converted from Markdown")
counting(jinja2.Environment, "list_templates", "theme folders listed")
EDIT = "Serve-cache edit marker, typed by an author."

site = Path(tempfile.mkdtemp())
url = "http://127.0.0.1:8000/"

def config():
    c = load_config(site_dir=str(site), strict=False)
    c.site_url = url
    return c

first = config()
first.plugins.on_startup(command="build", dirty=False)  # the other hooks as in a plain build
sys.modules["hooks/serve_cache.py"].on_startup(command="serve", dirty=False)
build(first, serve_url=url, dirty=False)
wrote = {p: p.read_bytes() for p in site.rglob("*") if p.suffix in {".html", ".json", ".xml", ".inv"}}
first_calls = dict(calls)

sent = []
typeset = katex._renderer()._typeset
katex._renderer()._typeset = lambda items: sent.append(len(items)) or typeset(items)

def rebuild():
    calls.clear()
    sent.clear()
    build(config(), serve_url=url, dirty=False)
    now = {p: p.read_bytes() for p in site.rglob("*") if p.suffix in {".html", ".json", ".xml", ".inv"}}
    return {
        "changed": sorted(str(p.relative_to(site)) for p in wrote if now.get(p) != wrote[p]),
        "new": sorted(str(p.relative_to(site)) for p in now if p not in wrote),
        "calls": dict(calls),
        "formulas sent": sum(sent),
        "edit shown": EDIT.encode() in now.get(site / "en/lessons/gradient-descent/index.html", b""),
    }

second = rebuild()
read_source = Page.read_source
def edited(page, config):
    read_source(page, config)
    if page.file.src_uri == "lessons/gradient-descent.en.md":
        page.markdown += "\n\n" + EDIT + "\n"
Page.read_source = edited
third = rebuild()
print(json.dumps({"files": len(wrote), "first": first_calls, "second": second, "third": third}))
"""


def test_a_preview_rebuild_writes_the_same_site_without_repeating_remembered_work():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=offline_env() | {"MPLBACKEND": "Agg"},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["files"] >= 22  # 18 pages, the 404 page, both languages' search indexes, the sitemap
    # the first build did each kind of work (so a zero below is the cache, not a counter that never counts)
    first = report["first"]
    assert first["pages converted from Markdown"] >= 18
    assert first["code blocks coloured by Pygments"] > 100
    assert first["API blocks rendered"] >= 10
    assert first["templates compiled"] > 50
    assert first["pages parsed for search"] >= 18
    assert first["theme folders listed"] >= 1

    second = report["second"]
    assert second["changed"] == [] and second["new"] == []
    assert second["calls"] == {} and second["formulas sent"] == 0

    third = report["third"]
    assert third["edit shown"]
    assert third["changed"] == ["en/lessons/gradient-descent/index.html", "en/search/search_index.json"]
    assert third["new"] == [] and third["formulas sent"] == 0
    assert third["calls"] == {"pages converted from Markdown": 1, "pages parsed for search": 1}
