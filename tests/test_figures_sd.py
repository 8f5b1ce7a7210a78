"""The Stable Diffusion page's figures draw what the shipped miniature really does.

The guidance grid draws the samples the guidance explorer shows (one shared draw), so a test
checks one cell against a fresh ``sample_digits``; the denoising and cross-attention figures share
one guided run, which must agree with the public functions the page calls.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from medai_lessons.figures import stable_diffusion as sd_figures  # noqa: E402
from medai_lessons.stable_diffusion import cross_attention_maps, decode_latents, sample_digits  # noqa: E402
from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES  # noqa: E402


@pytest.fixture(scope="module")
def pipe():
    return sd_figures._pipe()


def test_guidance_grid_draws_seed_0_of_the_shared_samples(pipe):
    """The grid's cell for digit 7 at s = 3 is seed 0 of guidance_samples(), which is sample_digits' output."""
    shared = sd_figures.guidance_samples()
    assert tuple(shared.shape) == (len(GUIDANCE_SCALES), 10, len(sd_figures.GUIDANCE_SAMPLE_SEEDS), 3, 32, 32)
    fresh = sample_digits(pipe, [7], [0], guidance_scale=3.0, num_inference_steps=25)[0]
    cell = shared[GUIDANCE_SCALES.index(3.0), 7, sd_figures.GUIDANCE_SAMPLE_SEEDS.index(0)]
    assert float((fresh - cell).abs().max()) < 1e-4  # batch size changes only float rounding
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
