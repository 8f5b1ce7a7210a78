"""The Stable Diffusion page's figures draw what the shipped miniature really does.

The guidance grid draws stored samples (sampling its 60 cells takes minutes on 2 cores), so
these tests check that the stored file belongs to the shipped model and that a cell sampled
afresh matches it; the denoising and cross-attention figures share one guided run, which
must agree with the public functions the page calls.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from safetensors import safe_open  # noqa: E402

from medai_lessons.figures import stable_diffusion as sd_figures  # noqa: E402
from medai_lessons.stable_diffusion import cross_attention_maps, decode_latents, sample_digits  # noqa: E402
from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES  # noqa: E402


@pytest.fixture(scope="module")
def pipe():
    return sd_figures._pipe()


def test_stored_guidance_grid_belongs_to_the_shipped_model():
    """The stored grid is keyed by the digest of the shipped model's files and holds 6 scales x 10 digits."""
    with safe_open(str(sd_figures.GRID_FILE), framework="pt") as f:
        meta = f.metadata()
        images = f.get_tensor("images")
    assert meta["pipeline_digest"] == sd_figures.pipeline_digest()
    assert meta["scales"] == ",".join(f"{s:g}" for s in GUIDANCE_SCALES)
    assert (meta["num_inference_steps"], meta["seed"]) == ("25", "0")
    assert images.dtype == torch.uint8 and tuple(images.shape) == (len(GUIDANCE_SCALES), 10, 32, 32)


def test_stored_guidance_grid_matches_a_fresh_sample(pipe):
    """Digit 7 at s = 3, sampled again now, is the stored cell up to 8-bit rounding and batch-size noise."""
    fresh = sample_digits(pipe, [7], [0], guidance_scale=3.0, num_inference_steps=25)[0, 0]
    stored = sd_figures._grid_images()[GUIDANCE_SCALES.index(3.0), 7].float() / 127.5 - 1
    diff = (fresh - stored).abs()
    assert float(diff.max()) < 0.05  # 8-bit rounding alone is 1/255 on this [-1, 1] scale


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
