"""KaTeX served from the site itself, installed from the npm registry by the lockfile.

``npm ci`` runs when ``node_modules`` is missing or does not match ``package-lock.json``;
the files the pages need are then added to the site under ``assets/vendor/katex``.
Nothing is fetched from a CDN by the reader's browser, and no dist file is committed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
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


_SCRIPT = re.compile(r'<script src="[^"]*assets/vendor/katex/katex\.min\.js"></script>\s*')
_STYLE = re.compile(r'<link rel="stylesheet" href="[^"]*assets/vendor/katex/katex\.min\.css">\s*')


def drop_unused_katex(html: str) -> str:
    """A page without a formula does not load KaTeX (about 300 kB with its stylesheet)."""
    if 'class="arithmatex"' in html:
        return html
    return _STYLE.sub("", _SCRIPT.sub("", html))
