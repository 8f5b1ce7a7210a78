"""Benchmark tables: a page line ``<!-- bench-table: NAME -->`` becomes ``benchmarks/results/NAME.json``."""

from __future__ import annotations

import json
from pathlib import Path

from .env import ROOT, check_language

RESULTS = ROOT / "benchmarks" / "results"
MARKER = "<!-- bench-table:"

_HEAD = {"ja": ("項目", "値", "単位", "目標", "達成"), "en": ("Measure", "Value", "Unit", "Target", "Met")}
_MET = {"ja": ("達成", "未達"), "en": ("yes", "no")}
_MISSING = {
    "ja": "ベンチマーク結果 `{name}` はまだ記録されていません(`nox -s bench`)。",
    "en": "No results recorded for benchmark `{name}` yet (`nox -s bench`).",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")  # a pipe inside a cell would split it


def bench_table(name: str, lang: str, results: Path = RESULTS) -> str:
    """The Markdown table of ``results/<name>.json`` in ``lang`` (a warning when it is missing)."""
    check_language(lang)
    path = results / f"{name}.json"
    if not path.is_file():
        return f'!!! warning ""\n    {_MISSING[lang].format(name=name)}\n'
    data = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        f"*{data.get('title', name)}* — {data.get('machine', '?')}, {data.get('date', '?')}",
        "",
        "| " + " | ".join(_HEAD[lang]) + " |",
        "|---|---:|---|---|---|",
    ]
    yes, no = _MET[lang]
    for row in data.get("rows", []):
        value = row.get("value")
        if isinstance(value, float):
            value = f"{value:.4g}"
        met = row.get("met")
        met_s = "—" if met is None else (yes if met else f"**{no}**")
        lines.append(
            f"| {_cell(row.get('name', ''))} | {_cell(value)} | {_cell(row.get('unit', ''))} "
            f"| {_cell(row.get('target') or '—')} | {met_s} |"
        )
    return "\n".join(lines) + "\n"


def fill_bench_tables(markdown: str, lang: str, results: Path = RESULTS) -> str:
    """Replace every ``<!-- bench-table: NAME -->`` line of a page by its table."""
    if MARKER not in markdown:
        return markdown
    out = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith(MARKER) and stripped.endswith("-->"):
            out.append(bench_table(stripped[len(MARKER) : -len("-->")].strip(), lang, results))
        else:
            out.append(line)
    return "\n".join(out)
