"""Benchmark of the authors' preview (``nox -s serve``): how long an edit takes to show.

    python benchmarks/bench_serve.py [--edits N] [--settle SECONDS]

Starts ``mkdocs serve`` on 127.0.0.1 at a free port, twice:

* ``--no-strict --dirty``: opt-in with ``nox -s serve -- --dirty`` (only the changed page is rebuilt);
* ``--no-strict``: a full rebuild of both languages on every edit, what ``nox -s serve`` runs.

For each, after the first build (and after the serve-mode example runs it starts have
settled, at most ``--settle`` seconds), it appends a new line to
``docs/lessons/gradient-descent.en.md`` ``--edits`` times and polls the served page every
20 ms until the line is there: the edit-to-visible time, median of the edits. On a shared
machine that wall time mostly measures the other load, so the CPU seconds the server process
spent from the edit until the page was visible are recorded too (``/proc/<pid>/stat``, median).
The page file is restored afterwards, whatever happens.

Two more rows, with the ``--dirty`` server: a page that gains a broken link is still
served (the strict build would stop), and a page that gains a failing example shows the
warning banner (seconds from the edit until the banner is served).

Writes ``benchmarks/results/serve.json``, with the machine's calibration (``results_file``) first.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from results_file import calibration_rows, machine, row, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from site_tools.env import offline_env  # noqa: E402

PAGE = ROOT / "docs" / "lessons" / "gradient-descent.en.md"
URL_PATH = "en/lessons/gradient-descent/"
TARGET_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def wait_for(url: str, needle: str, timeout: float, poll: float = 0.02) -> float | None:
    """Seconds until ``url`` serves a page containing ``needle`` (None on timeout)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        body = fetch(url)
        if body is not None and needle in body:
            return time.perf_counter() - start
        time.sleep(poll)
    return None


def examples_settled(timeout: float) -> None:
    """Wait until no serve-mode example run (``python -m site_tools.examples``) is alive."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        busy = subprocess.run(["pgrep", "-f", "site_tools.examples"], capture_output=True).returncode == 0
        if not busy:
            return
        time.sleep(1)


class Server:
    """``mkdocs serve`` in a child process, stopped on exit."""

    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        env = offline_env() | {"SITE_URL": self.base}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{self.port}", *flags],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> Server:
        if wait_for(self.base + URL_PATH, "</html>", timeout=900, poll=0.5) is None:
            raise RuntimeError("mkdocs serve did not come up within 900 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def edit_to_visible(server: Server, original: str, edits: int, tag: str) -> tuple[list[float], list[float]]:
    """Wall seconds and server CPU seconds from each edit until the page shows it."""
    times, cpu = [], []
    for i in range(edits):
        marker = f"bench-serve-{tag}-{os.getpid()}-{i}"
        time.sleep(1.5)  # let the watcher (and the previous rebuild) settle between edits
        cpu_start, start = server.cpu_seconds(), time.perf_counter()
        PAGE.write_text(original + f"\n\n{marker}\n", encoding="utf-8")
        seen = wait_for(server.base + URL_PATH, marker, timeout=300)
        if seen is None:
            raise RuntimeError(f"edit {i} never became visible")
        times.append(time.perf_counter() - start)
        cpu.append(server.cpu_seconds() - cpu_start)
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--settle", type=float, default=600, help="longest wait for the first example runs")
    args = parser.parse_args()

    original = PAGE.read_text(encoding="utf-8")
    # a plain `kill` must restore the page too (a stopped run once left a marker line in lesson 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = calibration_rows()  # before the servers start, so that their first builds do not count
    try:
        with Server("--no-strict", "--dirty") as server:
            examples_settled(args.settle)
            dirty, dirty_cpu = edit_to_visible(server, original, args.edits, "dirty")

            # A broken link: the strict build would stop; the preview keeps serving the edit.
            broken = "bench-serve-broken-link"
            PAGE.write_text(original + f"\n\n[{broken}](no-such-page.md)\n", encoding="utf-8")
            served = wait_for(server.base + URL_PATH, broken, timeout=300) is not None and server.alive

            # A failing example: the banner appears once the page's examples have run.
            start = time.perf_counter()
            PAGE.write_text(original + "\n\n```python\n>>> 1 + 1\n3\n```\n", encoding="utf-8")
            banner = wait_for(server.base + URL_PATH, "medai-example-failure", timeout=600, poll=0.2)
            banner_s = None if banner is None else time.perf_counter() - start
            PAGE.write_text(original, encoding="utf-8")
        with Server("--no-strict") as server:
            examples_settled(args.settle)
            full, full_cpu = edit_to_visible(server, original, args.edits, "full")
    finally:
        PAGE.write_text(original, encoding="utf-8")

    median_dirty, median_full = statistics.median(dirty), statistics.median(full)
    rows += [
        row(f"edit to visible, `nox -s serve -- --dirty` (median of {len(dirty)}, "
            f"range {min(dirty):.2f}-{max(dirty):.2f} s)", round(median_dirty, 2), "s",
            f"≤ {TARGET_S:g} s", median_dirty <= TARGET_S),
        row(f"edit to visible, `nox -s serve` (full rebuild of both languages; median of {len(full)}, "
            f"range {min(full):.2f}-{max(full):.2f} s)", round(median_full, 2), "s",
            f"≤ {TARGET_S:g} s", median_full <= TARGET_S),
        row("server CPU time per edit, `nox -s serve -- --dirty` (median)",
            round(statistics.median(dirty_cpu), 2), "s"),
        row("server CPU time per edit, `nox -s serve` (full rebuild; median)",
            round(statistics.median(full_cpu), 2), "s"),
        row("a page with a broken link is still served (1 = yes)", int(served), "", "= 1", served),
        row("edit that breaks an example to warning banner on the page",
            None if banner_s is None else round(banner_s, 1), "s", "banner shown", banner_s is not None),
    ]
    load = os.getloadavg()[0]
    write(
        "serve",
        "Authors' preview (mkdocs serve): edit-to-visible time of a lesson page, measured by HTTP polling",
        machine(f"load average {load:.1f} at the end"),
        rows,
    )


if __name__ == "__main__":
    main()
