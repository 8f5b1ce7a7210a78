"""Imports run one way: data and files at the bottom, lesson 2 below lesson 3 below lesson 4, the site beside
the package.

Read from the sources with ``ast`` (nothing is imported), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "medai_lessons"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module that ``path`` imports (relative imports resolved, names from ``from x import y``
    counted as ``x.y`` as well, since ``y`` may be a submodule)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _sources(sub: str) -> list[Path]:
    root = PACKAGE / sub
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


def _offenders(sources: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for path in sources:
        bad = sorted(m for m in imports_of(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        if bad:
            out[_module_name(path)] = bad
    return out


def test_the_import_reader_resolves_relative_imports():
    """``from ..data import x`` inside ``stable_diffusion/captioned_images.py`` is ``medai_lessons.data``."""
    found = imports_of(PACKAGE / "stable_diffusion" / "captioned_images.py")
    assert "medai_lessons.data" in found and "medai_lessons._checks" in found


def test_lesson_2_never_imports_lesson_3():
    """``medai_lessons.diffusion`` imports nothing from ``medai_lessons.stable_diffusion``."""
    assert _offenders(_sources("diffusion"), ("medai_lessons.stable_diffusion",)) == {}


@pytest.mark.parametrize("earlier", ["diffusion", "stable_diffusion"])
def test_an_earlier_lesson_never_imports_lesson_4(earlier):
    """Lesson 4 (``self_supervised``) builds on lessons 2 and 3; neither imports it back."""
    assert _offenders(_sources(earlier), ("medai_lessons.self_supervised",)) == {}


@pytest.mark.parametrize("bottom", ["data", "_files", "limits", "_checks", "_tensor_checks", "_deprecation"])
def test_the_bottom_modules_import_no_lesson(bottom):
    """The images, the file helpers and the checks import no lesson package."""
    lessons = ("medai_lessons.diffusion", "medai_lessons.stable_diffusion", "medai_lessons.gradient_descent",
               "medai_lessons.calculus", "medai_lessons.backprop", "medai_lessons.cli",
               "medai_lessons.self_supervised")
    assert _offenders(_sources(bottom), lessons) == {}


def test_the_package_never_imports_the_site_tooling():
    """Nothing in the wheel imports ``site_tools`` (figures, notebooks, glossary) or ``hooks``."""
    assert _offenders(sorted(PACKAGE.rglob("*.py")), ("site_tools", "hooks")) == {}


def test_lesson_3_reads_its_images_from_the_data_module():
    """The SD data set (captioned images) is built on ``medai_lessons.data``, not on lesson 2's modules."""
    found = imports_of(PACKAGE / "stable_diffusion" / "captioned_images.py")
    assert "medai_lessons.data.load_digits_images" in found
    assert not any(m.startswith("medai_lessons.diffusion") for m in found)
