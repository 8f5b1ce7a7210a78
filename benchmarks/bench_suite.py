"""Benchmark of the test suite: pytest's wall time on a fresh clone, as README command 2 runs it.

    python benchmarks/bench_suite.py [--serial]

Clones the repository's committed ``HEAD`` into a temporary folder (no ``.cache``, no
``node_modules``, no built site: the build runs ``npm ci`` and renders every figure, as on
a fresh clone), then runs there, with this interpreter (the ``nox -s tests`` environment),
exactly the pytest command of ``nox -s tests``: ``-m "not gpu" -q -n 2`` (groups and order: tests/scheduling.py).
The wall time covers pytest only, not the creation of the virtual environment; pytest's
output is kept in ``build/bench-suite-pytest.log``.
``--serial`` also times the same suite without pytest-xdist, in a second fresh clone.

Writes ``benchmarks/results/suite.json``, and each test group's seconds to ``tests/durations.json``
(the order ``tests/scheduling.py`` runs the groups in).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import machine, row, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from site_tools.env import offline_env  # noqa: E402

TARGET_S = 90
DURATIONS = ROOT / "tests" / "durations.json"
PYTEST = ["-m", "not gpu", "-q", "-p", "no:cacheprovider"]
XDIST = ["-n", "2"]


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (all processes, ``/proc/stat``):
    Chromium's processes are not children that ``time`` would count, so this is the honest total."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_in_fresh_clone(extra: list[str], record: bool = False) -> tuple[float, dict[str, int], str, float]:
    """Seconds, outcome counts, the summary line and the machine's busy CPU-seconds of one pytest
    run in a fresh clone; with ``record``, each test group's seconds go to ``tests/durations.json``
    (the suite's schedule)."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "medai-lessons"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        env = offline_env()
        if record:
            env["MEDAI_RECORD_DURATIONS"] = str(DURATIONS)
        start, busy = time.perf_counter(), busy_cpu_seconds()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST, *extra], cwd=clone, env=env, capture_output=True, text=True,
        )
        seconds, busy = time.perf_counter() - start, busy_cpu_seconds() - busy
    log = ROOT / "build" / "bench-suite-pytest.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")  # which tests failed, if any
    summary = next((line for line in reversed(proc.stdout.splitlines()) if " in " in line), proc.stdout[-300:])
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", summary)}
    return seconds, counts, summary.strip("= "), busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serial", action="store_true", help="also time the suite without xdist")
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)

    seconds, counts, summary, busy = run_in_fresh_clone(XDIST, record=True)
    print(summary)
    ok = counts.get("failed", 0) == 0 and counts.get("error", 0) + counts.get("errors", 0) == 0
    rows = [
        row(f"pytest wall time, fresh clone, `-n 2` ({summary})", round(seconds, 1), "s",
            f"≤ {TARGET_S} s, no test dropped", ok and seconds <= TARGET_S),
        row("CPU time the machine spent on the run (every process, Chromium's included; /proc/stat)",
            round(busy), "CPU-s"),
        row("share of the cores busy during the run", round(100 * busy / (seconds * (os.cpu_count() or 1))), "%"),
        row("tests passed", counts.get("passed", 0), "tests"),
        row("tests skipped (with their reasons)", counts.get("skipped", 0), "tests"),
        row("tests failed or errored", counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
            "tests", "= 0", ok),
    ]
    if args.serial:
        serial, _, serial_summary, _ = run_in_fresh_clone([])
        print(serial_summary)
        rows.insert(1, row(f"pytest wall time, fresh clone, one process ({serial_summary})", round(serial, 1), "s"))
    write(
        "suite",
        "The CPU test suite (README command 2's pytest) on a fresh clone",
        machine(f"commit {head.stdout.strip()}", f"load average {os.getloadavg()[0]:.1f} at the end"),
        rows,
    )


if __name__ == "__main__":
    main()
