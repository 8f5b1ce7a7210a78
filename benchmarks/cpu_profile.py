"""A pytest plugin for ``bench_suite.py --profile``: the machine's busy CPU-seconds per test group.

Run the suite in one process (no ``-n``) with ``-p cpu_profile`` and ``MEDAI_CPU_PROFILE=<file>``:
the whole machine's busy time (``/proc/stat``, so Chromium's and the CLI subprocesses' work is
counted too) is measured around each test and added to the test's group (tests/scheduling.py).
The strict site build, which normally runs in the background beside the first groups, is
waited for before the first test, so its CPU is a row of its own, ``(strict site build)``;
``(outside tests)`` holds collection, start-up and whatever ran between tests.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

from tests.scheduling import group_of
from tests.site_build import shared_folder, wait

_CPU: dict[str, float] = defaultdict(float)
_TESTS: dict[str, float] = {}
_START: list[float] = []


def busy_cpu_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (``/proc/stat``, idle and iowait excluded)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def pytest_sessionstart(session: pytest.Session) -> None:
    _START.append(busy_cpu_seconds())


@pytest.hookimpl(trylast=True)  # after tests/site_build.py has started the build
def pytest_collection_finish(session: pytest.Session) -> None:
    before = busy_cpu_seconds()
    wait(shared_folder(session.config))
    _CPU["(strict site build)"] += busy_cpu_seconds() - before


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    before = busy_cpu_seconds()
    yield
    spent = busy_cpu_seconds() - before
    _CPU[group_of(item.nodeid)] += spent
    _TESTS[item.nodeid] = spent


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("MEDAI_CPU_PROFILE")
    if not target or not _START:
        return
    total = busy_cpu_seconds() - _START[0]
    groups = dict(sorted(_CPU.items(), key=lambda kv: -kv[1]))
    groups["(outside tests)"] = total - sum(_CPU.values())
    tests = dict(sorted(_TESTS.items(), key=lambda kv: -kv[1])[:60])
    data = {"total_busy_cpu_s": round(total, 1), "groups": {k: round(v, 2) for k, v in groups.items()},
            "costliest_tests": {k: round(v, 2) for k, v in tests.items()}}
    Path(target).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
