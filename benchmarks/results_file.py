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


def calibration(threads: tuple[int, ...] = (1,)) -> dict[str, float]:
    """How fast this machine is, so that times measured on different machines can be compared:
    seconds for 10 million Python additions, and GFLOP/s of a 2048² float32 matrix product on each
    number of torch ``threads`` (in a fresh process, so the caller's thread setting does not count).
    Keys: ``additions_s`` and ``matmul_<n>``."""
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    out = {"additions_s": time.perf_counter() - start}
    code = (
        "import time, torch; torch.set_num_threads({n}); a = torch.randn(2048, 2048); a @ a; "
        "t = time.perf_counter(); [a @ a for _ in range(5)]; "
        "print(5 * 2 * 2048**3 / (time.perf_counter() - t) / 1e9)"
    )
    for n in threads:
        done = subprocess.run([sys.executable, "-c", code.format(n=n)], capture_output=True, text=True, check=True)
        out[f"matmul_{n}"] = float(done.stdout)
    return out


def calibration_rows() -> list[dict]:
    """How fast and how busy the machine was when a benchmark started: 10 million Python additions,
    a 2048² float32 matrix product on one thread (:func:`calibration`), and the load average."""
    load = os.getloadavg()[0]
    speed = calibration()
    return [
        row("calibration: 10 million Python additions", round(speed["additions_s"], 2), "s"),
        row("calibration: 2048² float32 matrix product, one thread", round(speed["matmul_1"], 1), "GFLOP/s"),
        row("calibration: load average at the start", round(load, 2), "processes"),
    ]
