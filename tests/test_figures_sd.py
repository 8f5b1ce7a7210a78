"""The Stable Diffusion page's figures draw what the shipped miniature really does.

The guidance grid draws the samples the guidance explorer shows (one shared draw), so a test
checks the draw's layout against a fresh ``sample_digits``; the denoising and cross-attention figures share
one guided run, which must agree with the public functions the page calls.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from medai_lessons.stable_diffusion import (  # noqa: E402
    cross_attention_maps,
    cross_attention_over_steps,
    decode_latents,
    sample_digits,
)
from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES  # noqa: E402
from site_tools.lesson_figures import stable_diffusion as sd_figures  # noqa: E402


@pytest.fixture(scope="module")
def pipe():
    return sd_figures._pipe()


def test_guidance_samples_are_sample_digits_digit_major(pipe, monkeypatch):
    """guidance_samples() stacks sample_digits' output as (scale, digit, seed): the cell for digit 7,
    seed 0 is a fresh sample_digits draw of that digit and seed.

    One scale (s = 3) is enough to check the layout; test_explorer_data.py checks every scale of the
    shipped draw against sample_digits, and that the grid draws seed 0 of it, so this test does not
    draw all six scales a second time (uncached, ``__wrapped__``, with the scales cut to one).
    """
    from medai_lessons.stable_diffusion import guidance

    monkeypatch.setattr(guidance, "GUIDANCE_SCALES", (3.0,))
    shared = sd_figures.guidance_samples.__wrapped__()
    assert tuple(shared.shape) == (1, 10, len(sd_figures.GUIDANCE_SAMPLE_SEEDS), 3, 32, 32)
    fresh = sample_digits(pipe, [7], [0], guidance_scale=3.0, num_inference_steps=25)[0]
    cell = shared[0, 7, sd_figures.GUIDANCE_SAMPLE_SEEDS.index(0)]
    assert float((fresh - cell).abs().max()) < 1e-4  # batch size changes only float rounding
    other = shared[0, 7, sd_figures.GUIDANCE_SAMPLE_SEEDS.index(1)]
    assert float((fresh - other).abs().max()) > 0.1  # the seed axis is not the same draw twice


def test_guidance_grid_has_one_cell_per_digit_and_scale(monkeypatch):
    """Ten rows of digits by one column per guidance scale."""
    fake = torch.zeros(len(GUIDANCE_SCALES), 10, len(sd_figures.GUIDANCE_SAMPLE_SEEDS), 3, 32, 32)
    monkeypatch.setattr(sd_figures, "guidance_samples", lambda: fake)
    figure = sd_figures.guidance_grid("en")
    assert len(figure.axes) == 10 * len(GUIDANCE_SCALES)


def test_shared_run_gives_the_cross_attention_maps_of_the_public_function(pipe):
    """The figures' shared run records the same attention maps as cross_attention_maps."""
    run = sd_figures._seven_run()
    tokens, maps = cross_attention_maps(pipe, "a handwritten seven", seed=0, guidance_scale=3.0)
    assert run["tokens"] == tokens
    np.testing.assert_allclose(run["maps"], maps, atol=1e-6)


def test_denoising_figure_ends_at_the_generated_image(pipe):
    """The last latent of the denoising figure decodes to the image the run generated."""
    run = sd_figures._seven_run()
    assert sd_figures.DENOISE_STEPS[0] == 0 and sd_figures.DENOISE_STEPS[-1] == 25
    final = decode_latents(pipe, run["latents"][-1:], output_type="np")[0]
    np.testing.assert_allclose(final, run["image"], atol=1e-5)
    figure = sd_figures.denoising("en")
    assert len(figure.axes) == 2 * len(sd_figures.DENOISE_STEPS)


def test_shared_run_gives_the_per_step_attention_of_the_public_function(pipe):
    """The cross-attention figure draws what cross_attention_over_steps returns, on both grids."""
    run = sd_figures._seven_run()
    for grid in sd_figures.ATTENTION_GRIDS:
        tokens, maps = cross_attention_over_steps(pipe, "a handwritten seven", grid=grid, seed=0, guidance_scale=3.0)
        assert run["tokens"] == tokens
        assert maps.shape == (25, len(tokens), grid, grid)
        np.testing.assert_allclose(run["by_step"][grid], maps, atol=1e-6)
    assert run["slots"] == 32  # the miniature's text encoder has 32 token slots, so the even share is 1/32


def test_cross_attention_figure_maps_are_not_flat():
    """The <|endoftext|> maps the figure shows at steps 1, 7 and 13 are far from flat.

    Threshold: a flat map has spread 0, and the old figure's maps (every token, the 8×8 layers)
    spread less than one even share (1/32) across their positions. Here the highest position must
    give <|endoftext|> at least three even shares (3/32, 9.4 points) more than the lowest one, so
    the colours span most of the figure's scale. The "seven" row is the page's other claim: its
    share stays within a point of the even share at every step (so its maps are blank).
    """
    run = sd_figures._seven_run()
    words = [t.replace("</w>", "") for t in run["tokens"]]
    end, seven = words.index("<|endoftext|>"), words.index("seven")
    inner, outer = run["by_step"][4], run["by_step"][8]
    even = 1 / run["slots"]
    spread = inner.max(axis=(2, 3)) - inner.min(axis=(2, 3))  # (steps, tokens)
    for step in sd_figures.ATTENTION_STEPS[:3]:
        assert spread[step - 1, end] > 3 * even, step
    assert (outer.max(axis=(2, 3)) - outer.min(axis=(2, 3))).max() < even  # the old, flat maps
    assert np.abs(inner[:, seven].mean(axis=(1, 2)) - even).max() < 0.01
    assert inner[:, end].mean(axis=(1, 2)).max() > 6 * even  # <|endoftext|> is where the prompt is read


def test_cross_attention_figure_reads_at_column_width():
    """One text column (≤ 4.8 in) and no label under 10 pt (CONTRIBUTING, Figures), in both languages."""
    from matplotlib.text import Text

    for lang in ("ja", "en"):
        figure = sd_figures.cross_attention(lang)
        assert figure.get_figwidth() <= 4.8
        texts = [t for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]
        assert texts and min(t.get_fontsize() for t in texts) >= 10, lang
        # two rows of five maps, the share plot and the colour bar
        assert len(figure.axes) == 2 * len(sd_figures.ATTENTION_STEPS) + 2
