"""The figure registry (in the package) and its rendering and cache (site_tools/figures.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from medai_lessons import figures
from site_tools import figures as rendering
from site_tools.env import LANGUAGES

PIL = pytest.importorskip("PIL.Image")


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    PIL.fromarray(rgb, mode="RGB").convert("RGBA").save(out, format="png")
    return out.getvalue()


def test_grey_png_becomes_8_bit_with_the_same_pixels():
    """A colourless image is stored as mode L, smaller, and pixel for pixel the same."""
    grey = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    data = _png(np.stack([grey] * 3, axis=-1))
    small = rendering.shrink_png(data)
    image = PIL.open(io.BytesIO(small))
    assert image.mode == "L" and len(small) < len(data)
    np.testing.assert_array_equal(np.asarray(image), grey)


def test_colour_png_is_left_alone():
    """One coloured pixel is enough to keep the original bytes."""
    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    data = _png(rgb)
    assert rendering.shrink_png(data) == data


def test_every_figure_has_a_unique_site_path_per_language():
    """Figure names do not collide, and each language gets its own file."""
    paths = [spec.path(lang) for spec in figures.discover() for lang in figures.LANGUAGES]
    assert len(paths) == len(set(paths)) >= 2 * 15
    assert all(p.startswith("assets/figures/") and p.rsplit(".", 1)[1] in {"svg", "png"} for p in paths)


def test_unknown_language_is_refused():
    """Only ja and en exist."""
    spec = next(figures.discover())
    with pytest.raises(ValueError, match="`lang` must be one of"):
        rendering.render(spec, "fr")


def test_the_package_and_the_site_have_the_same_languages():
    """Figure functions draw exactly the languages the site is built in."""
    assert figures.LANGUAGES == LANGUAGES


def test_the_wheel_carries_no_site_machinery():
    """Rendering, caching, notebooks and the glossary data live beside the site, not in the package."""
    assert not hasattr(figures, "render") and not hasattr(figures, "write_all")
    import importlib.util

    assert importlib.util.find_spec("medai_lessons.notebooks") is None
    assert importlib.util.find_spec("medai_lessons.glossary") is None


def test_cache_renders_once_and_reuses_the_file(tmp_path, monkeypatch):
    """A second call finds every figure in the cache and renders nothing."""
    calls = []
    spec = figures.FigureSpec("demo", "box", lambda lang: calls.append(lang) or f"<svg>{lang}</svg>")
    monkeypatch.setattr(rendering, "discover", lambda: iter([spec]))
    first = rendering.cached_figures(tmp_path)
    second = rendering.cached_figures(tmp_path)
    assert first == second and calls == list(LANGUAGES)
    assert first["assets/figures/demo/box-en.svg"].read_text() == "<svg>en</svg>"
