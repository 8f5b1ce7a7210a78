"""Benchmark of the test suite: the CPU work of README command 2's pytest, against a baseline.

    python benchmarks/bench_suite.py [--baseline COMMIT] [--profile]

Machines differ by about 3x, so the target is a ratio measured side by side on one machine,
not a number of seconds. For each of ``--baseline`` (default f67a670, the suite before issue
18) and ``HEAD``, the script clones the commit into a temporary folder (no ``.cache``, no
``node_modules``, no built site: the build runs ``npm ci`` and renders every figure, as on a
fresh clone) and runs there, with this interpreter (the ``nox -s tests`` environment), exactly
the pytest command of ``nox -s tests``: ``-m "not gpu" -q -n 2`` (tests/scheduling.py). It
records pytest's wall time and the machine's busy CPU-seconds over the run (``/proc/stat``, so
Chromium's processes count too), and a calibration of the machine beside them: 10 million
Python additions, and a 2048x2048 float32 matrix product on one and on two threads.

Run it on a quiet machine: anything else running is counted as the suite's work.
``--profile`` also runs HEAD in one process with ``cpu_profile.py`` and writes each test
group's busy CPU-seconds to ``build/suite-cpu-profile.json``.

Writes ``benchmarks/results/suite.json``, and HEAD's seconds per test group to
``tests/durations.json`` (the order ``tests/scheduling.py`` runs the groups in).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import calibration, machine, row, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.cpu_profile import busy_cpu_seconds  # noqa: E402
from site_tools.env import offline_env  # noqa: E402

BASELINE = "f67a670"  # main when issue 18 was filed: 2,001 passed, 3 skipped
TARGET_RATIO = 0.5
DURATIONS = ROOT / "tests" / "durations.json"
PYTEST = ["-m", "not gpu", "-q", "-p", "no:cacheprovider"]
XDIST = ["-n", "2"]


def run_in_fresh_clone(commit: str, extra: list[str], env_extra: dict[str, str] | None = None
                       ) -> tuple[float, dict[str, int], str, float]:
    """Seconds, outcome counts, the summary line and the machine's busy CPU-seconds of one pytest
    run in a fresh clone of ``commit``."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "medai-lessons"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", commit], cwd=clone, check=True)
        # the clone's own package, not the editable install's (which points at this checkout)
        env = offline_env() | {"PYTHONPATH": os.pathsep.join([str(clone / "src"), str(ROOT / "benchmarks")])}
        env |= env_extra or {}
        start, busy = time.perf_counter(), busy_cpu_seconds()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST, *extra], cwd=clone, env=env, capture_output=True, text=True,
            # Ctrl-C's default action, which a background job lacks: the baseline's interrupt
            # tests rely on it, and without it they wait out their timeouts and fail
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        seconds, busy = time.perf_counter() - start, busy_cpu_seconds() - busy
    log = ROOT / "build" / f"bench-suite-{commit}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")  # which tests failed, if any
    summary = next((line for line in reversed(proc.stdout.splitlines()) if " in " in line), proc.stdout[-300:])
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?)", summary)}
    return seconds, counts, summary.strip("= "), busy


def _failed(counts: dict[str, int]) -> int:
    return counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"commit to compare with (default {BASELINE})")
    parser.add_argument("--profile", action="store_true", help="also profile HEAD's CPU per test group")
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()

    calib = calibration(threads=(1, 2))
    print(f"calibration: {calib}")
    base_s, _, base_summary, base_busy = run_in_fresh_clone(args.baseline, XDIST)
    print(f"{args.baseline}: {base_summary}, {base_busy:.0f} CPU-s")
    head_s, counts, summary, busy = run_in_fresh_clone(
        "HEAD", XDIST, {"MEDAI_RECORD_DURATIONS": str(DURATIONS)})
    print(f"{head}: {summary}, {busy:.0f} CPU-s")
    if args.profile:
        target = ROOT / "build" / "suite-cpu-profile.json"
        run_in_fresh_clone("HEAD", ["-p", "cpu_profile"], {"MEDAI_CPU_PROFILE": str(target)})
        print(f"wrote {target}")
    ratio = busy / base_busy
    ok = _failed(counts) == 0
    rows = [
        row(f"busy CPU of the suite now ({head}) over before ({args.baseline}), same machine, back to back",
            round(ratio, 3), "ratio", f"≤ {TARGET_RATIO}", ok and ratio <= TARGET_RATIO),
        row(f"CPU the machine spent on the run, {head} (every process, Chromium's included; /proc/stat)",
            round(busy), "CPU-s"),
        row(f"CPU the machine spent on the run, {args.baseline} ({base_summary})", round(base_busy), "CPU-s"),
        row(f"pytest wall time, fresh clone, `-n 2`, {head} ({summary})", round(head_s, 1), "s"),
        row(f"pytest wall time, fresh clone, `-n 2`, {args.baseline}", round(base_s, 1), "s"),
        row("share of the cores busy during the run", round(100 * busy / (head_s * (os.cpu_count() or 1))), "%"),
        row("tests passed", counts.get("passed", 0), "tests"),
        row("tests skipped (with their reasons)", counts.get("skipped", 0), "tests"),
        row("tests failed or errored", _failed(counts), "tests", "= 0", ok),
        row("calibration: 10 million Python additions", round(calib["additions_s"], 2), "s"),
        row("calibration: 2048² float32 matrix product, one thread", round(calib["matmul_1"], 1), "GFLOP/s"),
        row("calibration: 2048² float32 matrix product, two threads", round(calib["matmul_2"], 1), "GFLOP/s"),
    ]
    write(
        "suite",
        "The CPU test suite (README command 2's pytest) on a fresh clone, against the suite before issue 18",
        machine(f"commit {head}", f"load average {os.getloadavg()[0]:.1f} at the end"),
        rows,
    )


if __name__ == "__main__":
    main()
