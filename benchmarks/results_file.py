"""The one format every benchmark writes: ``benchmarks/results/<topic>.json``.

``{"title", "machine", "date", "rows": [{"name", "value", "unit", "target", "met"}]}``.
The MkDocs hook turns each file into a table on the performance page.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def row(name: str, value: Any, unit: str, target: str | None = None, met: bool | None = None) -> dict:
    """One measured value, with its target (in words) and whether it was met."""
    return {"name": name, "value": value, "unit": unit, "target": target, "met": met}


def machine(*extra: str) -> str:
    """``x86_64, 2 CPU cores`` followed by whatever else the benchmark depends on."""
    return ", ".join([platform.machine(), f"{os.cpu_count()} CPU cores", *extra])


def write(topic: str, title: str, machine_text: str, rows: list[dict]) -> Path:
    """Write ``results/<topic>.json``, print every row, and return the path."""
    out = RESULTS / f"{topic}.json"
    data = {"title": title, "machine": machine_text, "date": datetime.date.today().isoformat(), "rows": rows}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for r in rows:
        met = "" if r["met"] is None else f"  met={r['met']}"
        print(f"{r['name']:<64} {r['value']!s:>12} {r['unit']}{met}")
    print(f"wrote {out}")
    return out


def merge(topic: str, title: str, machine_text: str, rows: list[dict]) -> Path:
    """Like :func:`write`, but keep the rows of ``results/<topic>.json`` that ``rows`` do not replace.

    The GPU tests use it: each test adds its own rows to one file per topic.
    """
    out = RESULTS / f"{topic}.json"
    names = {r["name"] for r in rows}
    old = json.loads(out.read_text(encoding="utf-8")).get("rows", []) if out.exists() else []
    return write(topic, title, machine_text, [r for r in old if r["name"] not in names] + rows)
