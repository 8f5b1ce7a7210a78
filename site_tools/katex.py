"""KaTeX, installed from the npm registry by the lockfile, run when the site is built.

``npm ci`` runs when ``node_modules`` is missing or does not match ``package-lock.json``.
:func:`render_maths` then typesets every formula of a page into HTML at build time (one
``node`` process for the whole build, :file:`katex_render.cjs`), so a reader's browser only
lays out HTML: no TeX is typeset on the reader's phone. The pages load KaTeX's stylesheet and
fonts from ``assets/vendor/katex`` where they have a formula, and the script only where they
have an explorer, which draws its formulas live (both rules: ``ASSET_MARKERS`` in
:mod:`site_tools.explorer_data`, the one table of which page loads which asset). Nothing is
fetched from a CDN, and no dist file is committed.
"""

from __future__ import annotations

import atexit
import hashlib
import html
import json
import logging
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .env import ROOT

log = logging.getLogger("mkdocs.hooks.katex")

NODE_MODULES = ROOT / "node_modules"
KATEX_DIST = NODE_MODULES / "katex" / "dist"
SITE_DIR = "assets/vendor/katex"


class NpmMissingError(RuntimeError):
    """``npm`` is not on the PATH."""


def _lock_digest() -> str:
    return hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()


def ensure_node_modules() -> None:
    """Run ``npm ci`` when the installed assets do not match the lockfile."""
    stamp = NODE_MODULES / ".medai-lock-sha256"
    digest = _lock_digest()
    if KATEX_DIST.is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise NpmMissingError(
            "KaTeX is installed from the npm registry at build time, but `npm` was not found. "
            "Install Node.js (e.g. `apt-get install nodejs npm`) and build again."
        )
    log.info("Installing pinned browser assets with `npm ci` (package-lock.json)")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True
    )
    stamp.write_text(digest)


def katex_files() -> dict[str, Path]:
    """Site path -> source file for the parts of KaTeX the pages load."""
    out = {
        f"{SITE_DIR}/katex.min.js": KATEX_DIST / "katex.min.js",
        f"{SITE_DIR}/katex.min.css": KATEX_DIST / "katex.min.css",
        f"{SITE_DIR}/LICENSE": KATEX_DIST.parent / "LICENSE",
    }
    # Every browser that runs the site reads woff2; the css lists it first.
    for font in sorted((KATEX_DIST / "fonts").glob("*.woff2")):
        out[f"{SITE_DIR}/fonts/{font.name}"] = font
    return out


#: what pymdownx.arithmatex (generic mode) writes: \(...\) in a span, \[...\] in a div
_MATHS = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.DOTALL)


class _Renderer:
    """One ``node`` process that typesets TeX with KaTeX, kept for the whole build (and serve).

    It remembers what it typeset: KaTeX gives the same HTML for the same TeX, so a formula seen
    before (on the other language's page, or in an earlier preview rebuild) is not sent again.
    """

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise NpmMissingError("KaTeX typesets the formulas at build time, but `node` was not found.")
        script = Path(__file__).with_name("katex_render.cjs")
        self.proc = subprocess.Popen(
            [node, str(script), str(NODE_MODULES / "katex")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )
        self.typeset: dict[tuple[str, bool], str] = {}
        atexit.register(self.close)

    def render(self, items: list[tuple[str, bool]]) -> list[str]:
        """The HTML of each ``(tex, display)``; only formulas not typeset before go to ``node``."""
        new = list(dict.fromkeys(item for item in items if item not in self.typeset))
        if new:
            self.typeset.update(zip(new, self._typeset(new), strict=True))
        return [self.typeset[item] for item in items]

    def _typeset(self, items: list[tuple[str, bool]]) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(items) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"the KaTeX renderer stopped (exit status {self.proc.poll()})")
        return json.loads(reply)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=60)


@lru_cache(maxsize=1)
def _renderer() -> _Renderer:
    return _Renderer()


def _strip_delimiters(tex: str, display: bool) -> str:
    t = tex.strip()
    opening, closing = (r"\[", r"\]") if display else (r"\(", r"\)")
    if t.startswith(opening) and t.endswith(closing):
        return t[2:-2]
    if t.startswith("$$") and t.endswith("$$"):
        return t[2:-2]
    return t


def render_maths(page_html: str) -> str:
    """``page_html`` with every arithmatex formula typeset by KaTeX (the element and its class stay).

    Bad TeX is drawn in red with the class ``katex-error``, which the browser tests look for.
    """
    found = list(_MATHS.finditer(page_html))
    if not found:
        return page_html
    items = [(_strip_delimiters(html.unescape(m.group(2)), m.group(1) == "div"), m.group(1) == "div") for m in found]
    parts, end = [], 0
    for m, typeset in zip(found, _renderer().render(items), strict=True):  # the TeX, replaced in place
        parts += [page_html[end : m.start(2)], typeset]
        end = m.end(2)
    return "".join(parts) + page_html[end:]
