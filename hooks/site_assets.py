"""MkDocs hook: everything the site serves that is not written by hand in docs/.

1. KaTeX, from the npm registry through the pinned ``package.json`` and
   ``package-lock.json``: ``npm ci`` runs when ``node_modules`` is missing or stale,
   and the files the pages need are added to the site under ``assets/vendor/katex``.
   Nothing is fetched from a CDN by the reader's browser, and no dist file is
   committed.
2. Figures, drawn by :mod:`medai_lessons.figures` in both languages and added under
   ``assets/figures``. A rendered figure is cached on disk, keyed by a hash of the
   package's source, so ``mkdocs serve`` stays quick between edits.
3. Benchmark tables: a page line ``<!-- bench-table: NAME -->`` is replaced by the
   rows of ``benchmarks/results/NAME.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.site_assets")

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
KATEX_DIST = NODE_MODULES / "katex" / "dist"
RESULTS = ROOT / "benchmarks" / "results"
CACHE = ROOT / ".cache" / "figures"

# Offline by construction: figure code must never reach a model hub.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")


# ----------------------------------------------------------------------------- KaTeX


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
        raise PluginError(
            "KaTeX is installed from the npm registry at build time, but `npm` was not found. "
            "Install Node.js (e.g. `apt-get install nodejs npm`) and build again."
        )
    log.info("Installing pinned browser assets with `npm ci` (package-lock.json)")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def katex_files() -> dict[str, Path]:
    """Site path -> source file for the parts of KaTeX the pages load."""
    out = {
        "assets/vendor/katex/katex.min.js": KATEX_DIST / "katex.min.js",
        "assets/vendor/katex/katex.min.css": KATEX_DIST / "katex.min.css",
        "assets/vendor/katex/LICENSE": KATEX_DIST.parent / "LICENSE",
    }
    # Every browser that runs the site reads woff2; the css lists it first.
    for font in sorted((KATEX_DIST / "fonts").glob("*.woff2")):
        out[f"assets/vendor/katex/fonts/{font.name}"] = font
    return out


# --------------------------------------------------------------------------- figures


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "src" / "medai_lessons").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json", ".safetensors", ".svg"}:
            h.update(path.relative_to(ROOT).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def figure_files() -> dict[str, Path]:
    """Site path -> rendered file of every figure in both languages (cached on disk)."""
    from medai_lessons import figures

    digest = _source_digest()
    cache = CACHE / digest
    out: dict[str, Path] = {}
    for spec in figures.discover():
        for lang in figures.LANGUAGES:
            rel = spec.path(lang)
            cached = cache / rel
            if not cached.is_file():
                data = figures.render(spec, lang)
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(data)
            out[rel] = cached
    # keep only the current cache generation
    if CACHE.is_dir():
        for old in CACHE.iterdir():
            if old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
    return out


# ------------------------------------------------------------------------- mkdocs


_FIGURES: dict[str, Path] | None = None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    global _FIGURES
    ensure_node_modules()
    _FIGURES = None  # re-render (from cache) on every build, so serve picks up edits
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    global _FIGURES
    for rel, src in katex_files().items():
        if not src.is_file():
            raise PluginError(f"KaTeX asset missing after `npm ci`: {src}")
        files.append(File.generated(config, rel, abs_src_path=str(src)))
    if _FIGURES is None:
        _FIGURES = figure_files()
    # Files on disk (not in-memory content): mkdocs-static-i18n needs a source path.
    for rel, path in _FIGURES.items():
        files.append(File.generated(config, rel, abs_src_path=str(path)))
    return files


def _bench_table(name: str, lang: str) -> str:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        msg = {
            "ja": f"ベンチマーク結果 `{name}` はまだ記録されていません(`nox -s bench`)。",
            "en": f"No results recorded for benchmark `{name}` yet (`nox -s bench`).",
        }
        return f'!!! warning ""\n    {msg.get(lang, msg["en"])}\n'
    data = json.loads(path.read_text(encoding="utf-8"))
    head = {
        "ja": ("項目", "値", "単位", "目標", "達成"),
        "en": ("Measure", "Value", "Unit", "Target", "Met"),
    }.get(lang, ("Measure", "Value", "Unit", "Target", "Met"))
    lines = [
        f"*{data.get('title', name)}* — {data.get('machine', '?')}, {data.get('date', '?')}",
        "",
        "| " + " | ".join(head) + " |",
        "|---|---:|---|---|---|",
    ]
    yes, no = ("達成", "未達") if lang == "ja" else ("yes", "no")

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|")  # a pipe inside a cell would split it

    for row in data.get("rows", []):
        value = row.get("value")
        if isinstance(value, float):
            value = f"{value:.4g}"
        met = row.get("met")
        met_s = "—" if met is None else (yes if met else f"**{no}**")
        lines.append(
            f"| {cell(row.get('name', ''))} | {cell(value)} | {cell(row.get('unit', ''))} "
            f"| {cell(row.get('target') or '—')} | {met_s} |"
        )
    return "\n".join(lines) + "\n"


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Pages without a formula do not download KaTeX (about 300 kB with its stylesheet)."""
    if 'class="arithmatex"' in output:
        return output
    output = re.sub(r'<script src="[^"]*assets/vendor/katex/katex\.min\.js"></script>\s*', "", output)
    output = re.sub(r'<link rel="stylesheet" href="[^"]*assets/vendor/katex/katex\.min\.css">\s*', "", output)
    return output


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if "<!-- bench-table:" not in markdown:
        return markdown
    lang = config.theme.get("language", "en")
    out = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!-- bench-table:") and stripped.endswith("-->"):
            name = stripped[len("<!-- bench-table:") : -len("-->")].strip()
            out.append(_bench_table(name, lang))
        else:
            out.append(line)
    return "\n".join(out)
