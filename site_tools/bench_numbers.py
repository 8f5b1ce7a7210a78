"""Benchmark numbers in the prose come from ``benchmarks/results/*.json``.

A page never types a measured number by hand. It writes a placeholder instead, and the
build (``hooks/bench_numbers.py``) and the notebooks (:mod:`site_tools.notebooks`) replace
it with the value recorded by ``nox -s bench``:

    DDIM-50 is {{ bench("ddpm", "DDIM-50 speed-up over DDPM-1000", ".1f") }} times faster.

``bench(topic, row, fmt=".4g", scale=1)``:

* ``topic``: the results file ``benchmarks/results/<topic>.json``;
* ``row``: the row's ``name`` in that file, or its slug (lower case, every run of
  characters other than letters and digits replaced by ``_``: ``ddim_50_speed_up_over_ddpm_1000``);
* ``fmt``: a Python format spec for the number (``".1f"``, ``".0f"``, ``",.0f"``, ``".2g"``);
* ``scale``: a factor applied before formatting, e.g. ``100`` to print a fraction as a percentage.

An unknown file or row, or a malformed placeholder, raises :class:`BenchNumberError` and stops
the build, so a
renamed benchmark row cannot leave a stale or empty number behind. ``tests/test_bench_numbers.py``
checks that no page carries a benchmark number typed by hand.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from .env import ROOT

RESULTS = ROOT / "benchmarks" / "results"


class BenchNumberError(ValueError):
    """A placeholder names no results file or row, or is malformed; the build stops."""


#: ``{{ bench(...) }}`` with anything but braces between the parentheses.
PLACEHOLDER = re.compile(r"\{\{\s*(bench\([^{}]*\))\s*\}\}")


def slug(name: str) -> str:
    """The row name in lower case with every run of non-alphanumerics turned into ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


@cache
def _rows(topic: str, results: Path = RESULTS) -> dict[str, float]:
    path = results / f"{topic}.json"
    if not path.is_file():
        raise BenchNumberError(f"bench(): no results file {path.relative_to(ROOT)} (run `nox -s bench`).")
    data = json.loads(path.read_text(encoding="utf-8"))
    rows: dict[str, float] = {}
    for row in data.get("rows", []):
        rows[row["name"]] = row["value"]
        rows.setdefault(slug(row["name"]), row["value"])
    return rows


def bench(topic: str, row: str, fmt: str = ".4g", scale: float = 1, *, results: Path = RESULTS) -> str:
    """The value of ``row`` in ``benchmarks/results/<topic>.json``, times ``scale``, formatted by ``fmt``."""
    if not isinstance(topic, str) or not isinstance(row, str) or not isinstance(fmt, str):
        raise BenchNumberError("bench(): `topic`, `row` and `fmt` must be strings.")
    rows = _rows(topic, results)
    if row not in rows:
        raise BenchNumberError(f"bench(): no row {row!r} in benchmarks/results/{topic}.json.")
    value = rows[row]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise BenchNumberError(f"bench(): row {row!r} of {topic}.json has no numeric value.")
    return format(value * scale, fmt)


def _call(source: str) -> tuple[list[Any], dict[str, Any]]:
    """The literal arguments of ``bench(...)``; anything but literals is refused."""
    try:
        node = ast.parse(source, mode="eval").body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "bench"):
            raise ValueError(source)
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("fmt", "scale")}
        if len(kwargs) != len(node.keywords):
            raise ValueError(source)
    except (SyntaxError, ValueError) as exc:
        raise BenchNumberError(f"malformed benchmark placeholder {{{{ {source} }}}}") from exc
    return args, kwargs


def expand(markdown: str, results: Path = RESULTS) -> str:
    """Replace every ``{{ bench(...) }}`` in ``markdown`` by its recorded value."""

    def one(match: re.Match[str]) -> str:
        args, kwargs = _call(match.group(1))
        return bench(*args, **kwargs, results=results)

    return PLACEHOLDER.sub(one, markdown)


def clear_cache() -> None:
    """Forget the results files read so far (they may have been rewritten)."""
    _rows.cache_clear()
