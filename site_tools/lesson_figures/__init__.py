"""Figures of the lessons, drawn by code so that every picture is reproducible.

They live beside the site, not in the package: no page or notebook imports them, and some
read files of the repository (``benchmarks/results``) that an installed wheel does not have.
They import the package (``medai_lessons``); the package never imports them.

Each module in this package (``lesson1``, ``diffusion``, ``stable_diffusion``, ...)
defines ``FIGURES``, a mapping from a figure name to a function ``make(lang)`` that
returns a matplotlib ``Figure`` or SVG text, with labels in ``lang`` (``"ja"`` or
``"en"``). From the repository's root::

    from site_tools.lesson_figures import lesson1
    fig = lesson1.FIGURES["tangents"]("en")   # a matplotlib Figure

The site's build (``site_tools/figures.py``) renders them into
``assets/figures/<module>/<name>-<lang>.<ext>``, so a figure can never go stale;
``nox -s figures`` writes the same files to a folder for people who want them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["LANGUAGES", "FigureSpec", "discover"]

LANGUAGES = ("ja", "en")


@dataclass(frozen=True)
class FigureSpec:
    """One figure: where it lives in the site and how to draw it."""

    module: str
    name: str
    make: Callable[[str], Any]
    fmt: str = "svg"  # "svg" or "png"

    def path(self, lang: str, *, dark: bool = False) -> str:
        """Site-relative path of this figure in language ``lang`` (``dark``: its twin for the
        site's dark colour scheme)."""
        return f"assets/figures/{self.module}/{self.name}-{lang}{'-dark' if dark else ''}.{self.fmt}"


def discover() -> Iterator[FigureSpec]:
    """Every figure of every module in this package, in a stable order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        formats = getattr(module, "FORMATS", {})
        for name, make in getattr(module, "FIGURES", {}).items():
            yield FigureSpec(info.name, name, make, formats.get(name, "svg"))
