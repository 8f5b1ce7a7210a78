"""How the suite shares two cores: which tests run together, and in what order.

``nox -s tests`` runs ``pytest -n 2``. This module (hooked in from the root ``conftest.py``)
gives pytest-xdist its scheduler: pytest-xdist's own ``LoadScopeScheduling``, which hands
whole groups to whichever worker is free, in the order collected, with our groups and order.
(Not ``--dist loadgroup`` with ``xdist_group`` marks: with pytest 9.2 those marks are silently
ignored, pytest-dev/pytest-xdist#1386, and our tests would lose their grouping without a word.)

* **Groups.** A test file is one group, as under ``--dist loadfile``: its module fixtures are
  built once, and a page's doc examples run in order in one namespace. The exception is
  ``tests/browser/test_pages.py``, which is one group per page, so its twenty pages spread
  over both workers (each page is loaded once, by the tests of its group).
* **Order.** The groups that need the built site go last, so the strict build (started in
  the background when collection ends, ``tests/site_build.py``) runs beside the unit tests
  instead of stalling a worker. Within each phase the longest group goes first (the classic
  longest-processing-time rule), with the seconds each group took in the last benchmark run
  (``tests/durations.json``, written by ``benchmarks/bench_suite.py``); a group missing from
  the file counts 0.05 s a test.

The order never changes what a test checks: every group still runs whole, on one worker.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.site_build import needs_site

DURATIONS = Path(__file__).with_name("durations.json")
#: Set to a path to record each group's seconds there at the end of the run (the benchmark does).
RECORD_ENV = "MEDAI_RECORD_DURATIONS"
PER_PAGE = "tests/browser/test_pages.py"
_PAGE_ID = re.compile(r"\[((?:ja|en)/[^\]]+)\]$")
DEFAULT_S = 0.05


def group_of(nodeid: str) -> str:
    """The group of a test: its file, or ``<file>:<page>`` for a page of test_pages.py."""
    path, _, rest = nodeid.partition("::")
    if path == PER_PAGE:
        found = _PAGE_ID.search(rest)
        return f"{path}:{found.group(1)}" if found else f"{path}:{rest.partition('[')[0]}"
    return path


def durations(path: Path = DURATIONS) -> dict[str, float]:
    """Seconds per group from the last benchmark run (empty when there is none)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.get("groups", {}).items()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, list[pytest.Item]] = defaultdict(list)
    for item in items:
        groups[group_of(item.nodeid)].append(item)
    known = durations()
    late = {name for name, members in groups.items() if any(needs_site(i) for i in members)}

    def key(name: str) -> tuple[bool, float]:
        seconds = known.get(name, DEFAULT_S * len(groups[name]))
        return (name in late, -seconds)

    ordered = sorted(groups, key=key)  # stable: equal keys keep the collection order
    items[:] = [item for name in ordered for item in groups[name]]


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's scope scheduler, with :func:`group_of` as the scope and the collection order kept."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    config.option.loadscopereorder = False  # our order, not "most tests first"
    return GroupScheduling(config, log)


# ------------------------------------------------------------------ recording the seconds

_SECONDS: dict[str, float] = defaultdict(float)
_MAIN = [False]  # this is the main process (not a pytest-xdist worker)


def pytest_configure(config: pytest.Config) -> None:
    _MAIN[0] = not hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _MAIN[0] and os.environ.get(RECORD_ENV):  # the main process sees every worker's reports
        _SECONDS[group_of(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RECORD_ENV)
    if not target or not _MAIN[0] or not _SECONDS:
        return
    data = {
        "about": "Seconds per test group in the last `python benchmarks/bench_suite.py` run; "
                 "tests/scheduling.py runs the longest groups first.",
        "groups": {name: round(s, 2) for name, s in sorted(_SECONDS.items(), key=lambda kv: -kv[1])},
    }
    Path(target).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
