"""Issue 10's bad inputs to the Stable Diffusion stages: clear errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from medai_lessons.stable_diffusion import (  # noqa: E402
    activation_bytes,
    build_cost_unet,
    build_tiny_pipeline,
    classifier_free_guidance,
    compare_pixel_latent,
    decode_latents,
    denoise,
    encode_image,
    encode_prompt,
    generate,
    generate_stepwise,
    make_generator,
    measure_step,
    prepare_latents,
    resolve_device_dtype,
)

SIZE = 64


@pytest.fixture(scope="module")
def pipe():
    """The tiny pipeline, built once per module."""
    return build_tiny_pipeline(seed=0)


@pytest.fixture(scope="module")
def parts(pipe):
    """Prompt embeddings and a starting latent for the stage functions."""
    cond, uncond = encode_prompt(pipe, "a")
    latents = prepare_latents(pipe, generator=make_generator(0), height=SIZE, width=SIZE)
    return cond, uncond, latents


def _nan(x):
    y = x.clone()
    y.view(-1)[0] = float("nan")
    return y


STAGE_CALLS = [
    (lambda p, c, u, z: denoise(p, "latents", c, u), TypeError, r"`latents` must be a torch.Tensor, got str"),
    (lambda p, c, u, z: denoise(p, _nan(z), c, u), ValueError, r"`latents` must not contain NaN"),
    (lambda p, c, u, z: denoise(p, z[0], c, u), ValueError, r"`latents` must have 4 dimensions"),
    (lambda p, c, u, z: denoise(p, z[:0], c, u), ValueError, r"`latents` must hold at least one latent"),
    (lambda p, c, u, z: denoise(p, z, c, u[:, :5]), ValueError, r"`negative_prompt_embeds` must have the shape"),
    (lambda p, c, u, z: denoise(p, z, c.double(), u), TypeError, r"`negative_prompt_embeds` must have the dtype"),
    (lambda p, c, u, z: denoise(p, z, c, u, generator=0), TypeError, r"`generator` must be a torch.Generator"),
    (lambda p, c, u, z: denoise(p, z, c, u, num_inference_steps=1001), ValueError, r"`num_inference_steps` must be <="),
    (lambda p, c, u, z: decode_latents(p, z.half()), TypeError, r"`latents` must have the dtype of the VAE"),
    (lambda p, c, u, z: decode_latents(p, z[:, :3]), ValueError, r"`latents` must have the VAE's 4 channels"),
    (lambda p, c, u, z: decode_latents(p, z * 1e30), ValueError, r"`latents` decode to NaN or infinity"),
    (lambda p, c, u, z: encode_image(p, _nan(torch.zeros(1, 3, 64, 64))), ValueError, r"`image` must not contain NaN"),
    (lambda p, c, u, z: prepare_latents(p, generator=make_generator(0), dtype=torch.int64), ValueError, r"`dtype`"),
    (lambda p, c, u, z: make_generator(2**64), ValueError, r"`seed` must be <= 18,446,744,073,709,551,615"),
    (lambda p, c, u, z: classifier_free_guidance(z, z.double(), 7.5), TypeError, r"`eps_cond` must have the dtype"),
    (lambda p, c, u, z: classifier_free_guidance(z, z + 1, 1e308), ValueError, r"`guidance_scale` = 1e\+308"),
]


@pytest.mark.parametrize(("call", "error", "match"), STAGE_CALLS)
def test_stage_functions_refuse_bad_input(pipe, parts, call, error, match):
    """Each bad stage input raises ValueError/TypeError naming the argument."""
    with pytest.raises(error, match=match):
        call(pipe, *parts)


@pytest.mark.parametrize("fn", [generate, generate_stepwise])
def test_huge_guidance_is_refused_instead_of_a_black_image(pipe, fn):
    """``guidance_scale=1e30`` drives the latent to NaN/inf; generation raises naming `guidance_scale`."""
    with pytest.raises(ValueError, match=r"`guidance_scale` = 1e\+30 is too large"):
        fn(pipe, "a", num_inference_steps=2, guidance_scale=1e30, height=SIZE, width=SIZE, progress=False)


def test_generate_pil_is_diffusers_conversion_of_the_array(pipe):
    """The PIL image equals the [0, 1] array scaled to bytes (diffusers' ``numpy_to_pil``)."""
    kw = dict(num_inference_steps=2, height=SIZE, width=SIZE, progress=False)
    (image,) = generate(pipe, "a", **kw)
    array = generate(pipe, "a", output_type="np", **kw)[0]
    pixels = np.asarray(image)  # (SIZE, SIZE, 3) bytes, without Pillow's deprecated getdata()
    assert pixels.shape == (SIZE, SIZE, 3)
    assert (pixels == (array * 255).round()).all()


COST_CALLS = [
    (lambda: measure_step(torch.nn.Identity(), (1, 4, 8, 8)), TypeError, r"`unet` must have parameters"),
    (lambda: measure_step("unet", (1, 4, 8, 8)), TypeError, r"`unet` must be a torch.nn.Module"),
    (lambda: build_cost_unet(4, layers_per_block=2**63), ValueError, r"`layers_per_block` must be <= 8"),
    (lambda: build_cost_unet(4, block_out_channels=(8, 12)), ValueError, r"`norm_num_groups` must divide"),
    (lambda: build_cost_unet(4, block_out_channels=(8, 10**6)), ValueError, r"`block_out_channels` must each"),
    (lambda: compare_pixel_latent(64, device="tpu"), ValueError, r"`device` must be 'cpu'"),
    (lambda: compare_pixel_latent(64, dtype="float32"), TypeError, r"`dtype` must be a torch.dtype"),
    (lambda: compare_pixel_latent(2**40), ValueError, r"`size` must be <= 8,192"),
    (lambda: activation_bytes(None), TypeError, r"`module` must be a torch.nn.Module"),
    (lambda: resolve_device_dtype("meta"), ValueError, r"`device` must be 'auto', 'cpu'.* got 'meta'"),
    (lambda: resolve_device_dtype("tpu"), ValueError, r"`device` must be 'auto', 'cpu'"),
]


@pytest.mark.parametrize(("call", "error", "match"), COST_CALLS)
def test_cost_and_device_functions_refuse_bad_input(call, error, match):
    """Bad networks, sizes and devices are refused before any work, naming the argument."""
    with pytest.raises(error, match=match):
        call()
