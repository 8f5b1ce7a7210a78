"""The preview's rebuild remembers unchanged work (hooks/serve_cache.py) and still writes the same site.

Two builds of the whole site, both languages, as ``mkdocs serve`` runs them: the configuration is
loaded again for the second, as the server does on every edit. The second build is checked for
two things. Every page, the search index, the sitemap and the objects inventory must be byte
for byte what the first build wrote. And none of the remembered work may run again: no code
block sent to Pygments, no API block rendered, no page parsed for search, no template compiled,
no formula sent to KaTeX.

It runs in a child process: the hook patches mkdocstrings, pymdown-extensions and Material for
the life of the process, and the other tests' builds must stay untouched.
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
import pymdownx.highlight
from material.plugins.search import plugin as search
from mkdocs.commands.build import build
from mkdocs.config import load_config
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

calls.clear()
sent = []
typeset = katex._renderer()._typeset
katex._renderer()._typeset = lambda items: sent.append(len(items)) or typeset(items)
build(config(), serve_url=url, dirty=False)
again = {p: p.read_bytes() for p in site.rglob("*") if p.suffix in {".html", ".json", ".xml", ".inv"}}
print(json.dumps({
    "files": len(wrote),
    "changed": sorted(str(p.relative_to(site)) for p in wrote if again.get(p) != wrote[p]),
    "new": sorted(str(p.relative_to(site)) for p in again if p not in wrote),
    "first": first_calls,
    "second": dict(calls),
    "formulas_sent_second": sum(sent),
}))
"""


def test_a_preview_rebuild_writes_the_same_site_without_repeating_remembered_work():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=offline_env() | {"MPLBACKEND": "Agg"},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["files"] >= 22  # 18 pages, the 404 page, both languages' search indexes, the sitemap
    assert report["changed"] == [] and report["new"] == []
    # the first build did each kind of work (so a zero below is the cache, not a counter that never counts)
    first = report["first"]
    assert first["code blocks coloured by Pygments"] > 100
    assert first["API blocks rendered"] >= 10
    assert first["templates compiled"] > 50
    assert first["pages parsed for search"] >= 18
    assert report["second"] == {}
    assert report["formulas_sent_second"] == 0
