"""The figure registry (site_tools/lesson_figures) and its rendering and cache (site_tools/figures.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from site_tools import figures as rendering
from site_tools import lesson_figures as figures
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


def test_the_figures_and_the_site_have_the_same_languages():
    """Figure functions draw exactly the languages the site is built in."""
    assert figures.LANGUAGES == LANGUAGES


def test_cache_renders_once_and_reuses_the_file(tmp_path, monkeypatch):
    """A second call finds every figure in the cache and renders nothing."""
    calls = []
    spec = figures.FigureSpec("demo", "box", lambda lang: calls.append(lang) or f"<svg>{lang}</svg>")
    monkeypatch.setattr(rendering, "discover", lambda: iter([spec]))
    first = rendering.cached_figures(tmp_path)
    second = rendering.cached_figures(tmp_path)
    assert first == second and calls == list(LANGUAGES)
    assert first["assets/figures/demo/box-en.svg"].read_text() == "<svg>en</svg>"
    assert first["assets/figures/demo/box-en-dark.svg"].read_text() == rendering.dark_svg("<svg>en</svg>")


# ------------------------------------------------------------------ the dark twins


def test_dark_colour_turns_white_into_the_slate_background_and_black_into_its_text():
    """Material's slate palette: background hsl(225, 15 %, 14 %), text hsl(225, 15 %, 90 %)."""
    import colorsys

    assert rendering._hex(rendering.dark_colour((1.0, 1.0, 1.0))) == rendering._hex(
        colorsys.hls_to_rgb(225 / 360, 0.14, 0.15))
    assert rendering._hex(rendering.dark_colour((0.0, 0.0, 0.0))) == rendering._hex(
        colorsys.hls_to_rgb(225 / 360, 0.90, 0.15))


@pytest.mark.parametrize("ink", ["#c62828", "#1565c0", "#2e7d32", "#ef6c00", "#607d8b", "#263238"])
def test_dark_ink_keeps_its_hue_and_reads_on_the_slate_background(ink):
    """A line or label colour stays the same hue and has at least 4.5:1 against the background."""
    import colorsys

    rgb = tuple(int(ink[i : i + 2], 16) / 255 for i in (1, 3, 5))
    dark = rendering.dark_colour(rgb)
    bg = rendering.dark_colour((1.0, 1.0, 1.0))
    assert rendering._contrast(dark, bg) >= 4.5
    h0, _, s0 = colorsys.rgb_to_hls(*rgb)
    h1, _, _ = colorsys.rgb_to_hls(*dark)
    if s0 > 0.3:
        assert min(abs(h0 - h1), 1 - abs(h0 - h1)) < 0.02


def test_pastel_fill_becomes_a_dark_tint():
    """A box fill such as #e0f2f1 turns dark, so the light text on it reads (7:1 or more, AAA)."""
    tint = rendering.dark_colour((0xE0 / 255, 0xF2 / 255, 0xF1 / 255))
    assert rendering._contrast(rendering.dark_colour((0.0, 0.0, 0.0)), tint) >= 7


def test_dark_svg_recolours_colours_but_not_ids_and_keeps_marked_groups():
    svg = ('<svg width="10"><rect fill="#ffffff"/><path style="stroke: #000; fill: none" '
           'marker-end="url(#abc)"/><use href="#fed"/>'
           '<g id="keep-colours"><g><path style="fill: #808080"/></g></g><text fill="#c62828">a</text></svg>')
    out = rendering.dark_svg(svg)
    bg, ink = rendering._hex(rendering.dark_colour((1, 1, 1))), rendering._hex(rendering.dark_colour((0, 0, 0)))
    assert f'<svg fill="{ink}" width="10">' in out  # text with no colour of its own
    assert f'<rect fill="{bg}"/>' in out and f"stroke: {ink}" in out
    assert "url(#abc)" in out and 'href="#fed"' in out
    assert '<g id="keep-colours"><g><path style="fill: #808080"/></g></g>' in out
    assert "#c62828" not in out


def test_dark_svg_refuses_an_unclosed_kept_group():
    with pytest.raises(ValueError, match="keep-colours"):
        rendering.dark_svg('<svg><g id="keep-colours"><path/></svg>')


def test_each_figure_on_a_page_gets_its_dark_twin(tmp_path):
    """One figure reference becomes a light ``#only-light`` and a lazy dark ``#only-dark`` image."""
    light, dark = tmp_path / "a-en.svg", tmp_path / "a-en-dark.svg"
    for path in (light, dark):
        path.write_text('<svg width="300" height="100"></svg>', encoding="utf-8")
    figures_map = {"assets/figures/m/a-en.svg": light, "assets/figures/m/a-en-dark.svg": dark}
    html = rendering.size_images('<p><img alt="A" src="../assets/figures/m/a-en.svg" /></p>', figures_map)
    assert html == ('<p><img alt="A" src="../assets/figures/m/a-en.svg#only-light" width="300" height="100"'
                    ' decoding="async" /><img alt="A" src="../assets/figures/m/a-en-dark.svg#only-dark"'
                    ' width="300" height="100" loading="lazy" decoding="async" /></p>')
