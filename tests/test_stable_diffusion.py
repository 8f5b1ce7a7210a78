"""Tests of medai_lessons.stable_diffusion on the CPU, with the tiny random-weight pipeline."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from medai_lessons import cli as hub_cli  # noqa: E402
from medai_lessons.stable_diffusion import (  # noqa: E402
    activation_bytes,
    build_cost_unet,
    build_sd15_architecture,
    build_tiny_pipeline,
    byte_level_tokenizer,
    check_model_dir,
    classifier_free_guidance,
    compare_pixel_latent,
    decode_latents,
    denoise,
    encode_image,
    encode_prompt,
    generate,
    generate_stepwise,
    latent_shape,
    load_pipeline,
    make_generator,
    prepare_latents,
    resolve_device_dtype,
    save_tiny_pipeline,
    tokenize_prompt,
    uses_guidance,
    value_ratio,
)
from medai_lessons.stable_diffusion.architecture import byte_symbols  # noqa: E402

SIZE = 64  # the tiny pipeline's native image side
PROMPT = "a chest x-ray"


@pytest.fixture(scope="module")
def pipe():
    """The tiny pipeline, built once per module (weights are never changed by a test)."""
    return build_tiny_pipeline(seed=0)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """The tiny pipeline saved as a diffusers directory."""
    return save_tiny_pipeline(tmp_path_factory.mktemp("sd") / "tiny")


def _np(pipeline, fn=generate, **kwargs):
    """Generate at the tiny size as a NumPy array, without a progress bar."""
    options = {"num_inference_steps": 3, "height": SIZE, "width": SIZE, "output_type": "np", "progress": False}
    options.update(kwargs)
    return fn(pipeline, options.pop("prompt", PROMPT), **options)


# --------------------------------------------------------------------------------------
# The stepwise generation is diffusers' generation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduler", "guidance_scale", "negative_prompt"),
    [
        ("DDIMScheduler", 7.5, None),
        ("DDIMScheduler", 7.5, "blurry"),
        ("DDIMScheduler", 1.0, None),
        ("EulerDiscreteScheduler", 7.5, None),
        ("DDPMScheduler", 7.5, None),  # stochastic: the shared generator must line up too
    ],
)
def test_stepwise_equals_diffusers_pipeline_to_1e5(pipe, scheduler, guidance_scale, negative_prompt):
    """generate_stepwise gives the pixels of StableDiffusionPipeline for the same seed and scheduler."""
    import diffusers

    pipeline = build_tiny_pipeline(seed=0)
    pipeline.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    kwargs = {"guidance_scale": guidance_scale, "negative_prompt": negative_prompt, "seed": 3}
    expected = _np(pipeline, generate, **kwargs)
    got = _np(pipeline, generate_stepwise, **kwargs)
    assert got.shape == expected.shape == (1, SIZE, SIZE, 3)
    assert np.abs(got - expected).max() < 1e-5


def test_generate_is_reproducible_for_a_seed_and_changes_with_it(pipe):
    """The same seed gives identical pixels; another seed gives different ones."""
    a, b, c = (_np(pipe, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_generate_returns_one_pil_image_of_the_requested_size(pipe):
    """The default output is a list with one RGB PIL image of height x width."""
    images = generate(pipe, PROMPT, num_inference_steps=2, height=SIZE, width=2 * SIZE, progress=False)
    assert len(images) == 1
    assert images[0].size == (2 * SIZE, SIZE)
    assert images[0].mode == "RGB"


def test_stepwise_shows_a_tqdm_progress_bar(pipe, capsys):
    """With progress=True the denoising loop reports on stderr, one tick per step."""
    generate_stepwise(pipe, PROMPT, num_inference_steps=2, height=SIZE, width=SIZE, progress=True)
    err = capsys.readouterr().err
    assert "denoising" in err
    assert "2/2" in err


# --------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------


def test_byte_symbols_are_256_distinct_visible_characters():
    """Every byte gets its own printable, non-space character; visible ASCII maps to itself."""
    symbols = byte_symbols()
    assert len(symbols) == len(set(symbols)) == 256
    assert all(s.isprintable() and not s.isspace() for s in symbols)
    assert symbols[ord("a")] == "a"
    assert symbols[ord(" ")] == "Ġ"  # space is the 33rd non-visible byte: U+0100 + 32


def test_tokenizer_ids_are_bytes_word_ends_plus_256_and_padding():
    """'a cat' -> start, a</w>, c, a, t</w>, end, then end-of-text padding to 77."""
    ids = byte_level_tokenizer()("a cat", padding="max_length", max_length=77).input_ids
    # ord('a')=97 -> a</w> = 97+256 = 353; c=99, a=97, t</w> = 116+256 = 372
    assert ids[:6] == [512, 353, 99, 97, 372, 513]
    assert ids[6:] == [513] * 71


def test_tokenize_prompt_returns_1x77_long_tensor(pipe):
    """tokenize_prompt pads to the tokenizer's 77 positions and encodes UTF-8 bytes."""
    ids = tokenize_prompt(pipe, "肺")
    assert ids.shape == (1, 77)
    assert ids.dtype == torch.long
    # 肺 is 3 UTF-8 bytes: e8 82 ba; the last one ends the word (+256)
    assert ids[0, :5].tolist() == [512, 0xE8, 0x82, 0xBA + 256, 513]


def test_tokenize_prompt_cuts_long_prompts_to_77(pipe):
    """A prompt longer than 75 tokens is truncated and still ends with <|endoftext|>."""
    ids = tokenize_prompt(pipe, "x " * 200)
    assert ids.shape == (1, 77)
    assert ids[0, -1].item() == 513


def test_encode_prompt_gives_one_vector_per_token(pipe):
    """Embeddings are (1, 77, 32); the negative embeddings exist only when s > 1."""
    cond, uncond = encode_prompt(pipe, PROMPT, guidance_scale=7.5)
    assert cond.shape == uncond.shape == (1, 77, 32)
    assert not torch.allclose(cond, uncond)
    cond1, none = encode_prompt(pipe, PROMPT, guidance_scale=1.0)
    assert none is None
    assert torch.equal(cond1, cond)


def test_negative_prompt_changes_the_unconditional_embeddings(pipe):
    """A negative prompt replaces the empty prompt in the second set of embeddings."""
    _, empty = encode_prompt(pipe, PROMPT)
    _, negative = encode_prompt(pipe, PROMPT, negative_prompt="blurry")
    assert not torch.allclose(empty, negative)


def test_prepare_latents_is_seeded_noise_of_latent_shape(pipe):
    """The start z_T has shape (1, 4, H/8, W/8), mean ~0, and repeats for a seed."""
    a = prepare_latents(pipe, generator=make_generator(0), height=512, width=256)
    b = prepare_latents(pipe, generator=make_generator(0), height=512, width=256)
    assert a.shape == (1, 4, 64, 32)
    assert torch.equal(a, b)
    assert abs(a.mean().item()) < 0.1
    assert abs(a.std().item() - 1.0) < 0.1


def test_classifier_free_guidance_endpoints_and_formula():
    """s=0 gives eps_u, s=1 gives eps_c, and s=7.5 gives the paper's (1+w) eps_c - w eps_u (w = s-1)."""
    g = torch.Generator().manual_seed(0)
    eps_u, eps_c = torch.randn(2, 1, 4, 8, 8, generator=g)
    assert torch.equal(classifier_free_guidance(eps_u, eps_c, 0.0), eps_u)
    assert torch.allclose(classifier_free_guidance(eps_u, eps_c, 1.0), eps_c, atol=1e-6)
    # Ho & Salimans 2022, Eq. (6) in the paper's own form, (1 + w) eps_c - w eps_u with w = s - 1,
    # worked by hand for s = 7.5 (w = 6.5): 7.5 * 3 - 6.5 * 1 = 16 and 7.5 * (-1) - 6.5 * 2 = -20.5.
    hand = classifier_free_guidance(torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0]), 7.5)
    assert hand.tolist() == [16.0, -20.5]
    w = 6.5
    paper = (1 + w) * eps_c.double() - w * eps_u.double()
    assert torch.allclose(classifier_free_guidance(eps_u, eps_c, 7.5).double(), paper, atol=1e-5)
    # linear in s: the step away from eps_u grows in proportion to s
    d2 = classifier_free_guidance(eps_u, eps_c, 2.0) - eps_u
    d4 = classifier_free_guidance(eps_u, eps_c, 4.0) - eps_u
    assert torch.allclose(d4, 2 * d2, atol=1e-6)


def test_uses_guidance_follows_diffusers_rule():
    """The unconditional pass runs only for s > 1, as diffusers' do_classifier_free_guidance."""
    assert [uses_guidance(s) for s in (0.0, 1.0, 1.01, 7.5)] == [False, False, True, True]


def test_denoise_then_decode_gives_an_image_in_0_1(pipe):
    """The loop keeps the latent shape and the decoder returns pixels in [0, 1]."""
    cond, uncond = encode_prompt(pipe, PROMPT)
    z = prepare_latents(pipe, generator=make_generator(0), height=SIZE, width=SIZE)
    z0 = denoise(pipe, z, cond, uncond, num_inference_steps=2, progress=False)
    assert z0.shape == z.shape
    image = decode_latents(pipe, z0, output_type="np")
    assert image.shape == (1, SIZE, SIZE, 3)
    assert 0.0 <= image.min() <= image.max() <= 1.0


def test_encode_image_compresses_by_8_per_side_to_4_channels(pipe):
    """The VAE encoder maps (1, 3, 64, 64) to (1, 4, 8, 8): 48 times fewer values."""
    x = torch.zeros(1, 3, SIZE, SIZE)
    z = encode_image(pipe, x)
    assert z.shape == (1, 4, 8, 8)
    assert x.numel() / z.numel() == 48.0


# --------------------------------------------------------------------------------------
# Offline loading
# --------------------------------------------------------------------------------------


def _block_network(monkeypatch) -> list:
    """Refuse every socket connection and switch the hub's offline mode OFF.

    ``huggingface_hub`` reads ``HF_HUB_OFFLINE`` once, at import (the test session sets it);
    turning the constant off here makes the hub behave as on a machine where nobody set it.
    Returns the list of connection attempts, which the refusal also records.
    """
    import huggingface_hub.constants

    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return attempts


def test_saved_tiny_pipeline_reloads_with_the_network_blocked(pipe, tiny_dir, monkeypatch):
    """With sockets refused and the hub's offline mode off, load_pipeline reads the folder: 0.0 difference."""
    attempts = _block_network(monkeypatch)
    loaded = load_pipeline(tiny_dir, device="cpu", dtype="float32")
    assert attempts == []
    for name in ("unet", "vae", "text_encoder"):
        original = getattr(pipe, name).state_dict()
        for key, value in getattr(loaded, name).state_dict().items():
            assert torch.equal(value, original[key]), f"{name}.{key}"
    assert np.abs(_np(loaded) - _np(pipe)).max() == 0.0
    assert loaded.tokenizer("a cat").input_ids == pipe.tokenizer("a cat").input_ids


def test_local_files_only_is_what_keeps_loading_offline(tiny_dir, monkeypatch):
    """Loading passes ``local_files_only=True``, and a hub id is refused before diffusers could dial out."""
    import diffusers

    seen = {}
    original = diffusers.StableDiffusionPipeline.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        seen["local_files_only"] = kwargs.get("local_files_only")
        return original(cls, *args, **kwargs)

    attempts = _block_network(monkeypatch)
    monkeypatch.setattr(diffusers.StableDiffusionPipeline, "from_pretrained", classmethod(spy))
    load_pipeline(tiny_dir, device="cpu")
    assert seen == {"local_files_only": True} and attempts == []
    # A path that is not a folder never reaches diffusers, so it cannot become a hub download.
    with pytest.raises(FileNotFoundError, match="`model_dir` does not exist"):
        load_pipeline("runwayml/stable-diffusion-v1-5", device="cpu")
    assert attempts == []


def test_resolve_device_dtype_auto_on_cpu_is_float32():
    """Without CUDA, 'auto' means CPU and float32; names map to torch dtypes."""
    if not torch.cuda.is_available():
        assert resolve_device_dtype() == (torch.device("cpu"), torch.float32)
    assert resolve_device_dtype("cpu", "fp16") == (torch.device("cpu"), torch.float16)
    assert resolve_device_dtype(torch.device("cpu"), torch.bfloat16)[1] == torch.bfloat16


@pytest.mark.parametrize(
    ("device", "dtype", "error", "match"),
    [
        ("cpu", "float64", ValueError, "`dtype` must be 'auto' or one of"),
        ("cpu", torch.float64, ValueError, "`dtype` must be float32, float16 or bfloat16"),
        ("cpu", 16, TypeError, "`dtype` must be a string or torch.dtype"),
        ("gpu0", "auto", ValueError, "`device` must be 'auto', 'cpu', 'cuda'"),
        (0, "auto", TypeError, "`device` must be a string or torch.device"),
    ],
)
def test_resolve_device_dtype_rejects_bad_choices(device, dtype, error, match):
    """Unknown devices and dtypes are refused with a message naming the argument."""
    with pytest.raises(error, match=match):
        resolve_device_dtype(device, dtype)


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_resolve_device_dtype_refuses_cuda_without_a_gpu():
    """Asking for CUDA on a machine without one is a ValueError, not a late crash."""
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device_dtype("cuda")


def _copy(tiny_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(tiny_dir, target)
    return target


def test_load_pipeline_rejects_a_missing_directory(tmp_path):
    """A path that does not exist says so and lists the expected layout."""
    with pytest.raises(FileNotFoundError, match=r"`model_dir` does not exist.*model_index.json"):
        load_pipeline(tmp_path / "nowhere")


def test_load_pipeline_rejects_a_file(tmp_path):
    """A file is not a checkpoint directory."""
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"")
    with pytest.raises(ValueError, match="`model_dir` must be a directory"):
        load_pipeline(f)


def test_load_pipeline_rejects_a_directory_without_model_index(tmp_path):
    """An empty directory is not a diffusers checkpoint."""
    with pytest.raises(ValueError, match=r"has no model_index\.json"):
        load_pipeline(tmp_path)


@pytest.mark.parametrize("part", ["unet", "vae", "text_encoder", "tokenizer", "scheduler"])
def test_load_pipeline_names_the_missing_part(tiny_dir, tmp_path, part):
    """A checkpoint without one of its five folders is incomplete, and the message names it."""
    broken = _copy(tiny_dir, tmp_path)
    shutil.rmtree(broken / part)
    with pytest.raises(ValueError, match=f"incomplete: missing {part}"):
        load_pipeline(broken)


def test_load_pipeline_rejects_another_kind_of_model(tiny_dir, tmp_path):
    """A model_index.json of another pipeline class (e.g. SDXL) is refused."""
    other = _copy(tiny_dir, tmp_path)
    index = json.loads((other / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionXLPipeline"
    (other / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"expected a Stable Diffusion 1\.x/2\.x checkpoint"):
        check_model_dir(other)


def test_load_pipeline_rejects_broken_json(tmp_path):
    """A model_index.json that is not JSON is reported as such."""
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_pipeline(tmp_path)


def test_load_pipeline_rejects_a_non_path():
    """model_dir must be a str or a Path."""
    with pytest.raises(TypeError, match="`model_dir` must be a path"):
        load_pipeline(42)


# --------------------------------------------------------------------------------------
# Validation of generation arguments (both paths share it)
# --------------------------------------------------------------------------------------

BAD_ARGS = [
    ({"prompt": ""}, ValueError, "`prompt` must not be empty"),
    ({"prompt": "   "}, ValueError, "`prompt` must not be empty"),
    ({"prompt": 3}, TypeError, "`prompt` must be a string"),
    ({"negative_prompt": ""}, ValueError, "`negative_prompt` must not be empty"),
    ({"num_inference_steps": 0}, ValueError, "`num_inference_steps` must be >= 1, got 0"),
    ({"num_inference_steps": 2.5}, TypeError, "`num_inference_steps` must be an integer"),
    ({"guidance_scale": -1.0}, ValueError, "`guidance_scale` must be >= 0"),
    ({"guidance_scale": float("nan")}, ValueError, "`guidance_scale` must be finite"),
    ({"guidance_scale": "7.5"}, TypeError, "`guidance_scale` must be a real number"),
    ({"seed": -1}, ValueError, "`seed` must be >= 0"),
    ({"height": 63}, ValueError, "`height` must be a multiple of 8"),
    ({"width": 100}, ValueError, "`width` must be a multiple of 8"),
    ({"width": 0}, ValueError, "`width` must be >= 8"),
    ({"output_type": "jpg"}, ValueError, "`output_type` must be one of"),
]


@pytest.mark.parametrize("fn", [generate, generate_stepwise], ids=["generate", "stepwise"])
@pytest.mark.parametrize(("bad", "error", "match"), BAD_ARGS)
def test_generation_rejects_bad_arguments(pipe, fn, bad, error, match):
    """Every generation argument is checked before any work, with the argument named."""
    with pytest.raises(error, match=match):
        _np(pipe, fn, **bad)


@pytest.mark.parametrize("fn", [generate, generate_stepwise], ids=["generate", "stepwise"])
def test_generation_rejects_something_that_is_not_a_pipeline(fn):
    """A non-pipeline is a TypeError that lists the missing parts."""
    with pytest.raises(TypeError, match="`pipeline` must be a Stable Diffusion pipeline"):
        fn(object(), PROMPT)


def test_denoise_needs_negative_embeddings_when_guided(pipe):
    """With s > 1 the loop refuses to run without the unconditional embeddings."""
    cond, _ = encode_prompt(pipe, PROMPT)
    z = prepare_latents(pipe, generator=make_generator(0), height=SIZE, width=SIZE)
    with pytest.raises(ValueError, match="`negative_prompt_embeds` is needed"):
        denoise(pipe, z, cond, None, num_inference_steps=2, guidance_scale=7.5)


def test_classifier_free_guidance_rejects_mismatched_shapes_and_bad_scale():
    """Shapes must match, s must be a finite number >= 0, inputs must be tensors."""
    a, b = torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 8, 4)
    with pytest.raises(ValueError, match="must have the same shape"):
        classifier_free_guidance(a, b, 7.5)
    with pytest.raises(ValueError, match="`guidance_scale` must be >= 0"):
        classifier_free_guidance(a, a, -0.5)
    with pytest.raises(TypeError, match=r"`eps_uncond` must be a torch\.Tensor"):
        classifier_free_guidance(a.numpy(), a, 1.0)


def test_stage_inputs_are_checked(pipe):
    """prepare_latents wants a torch.Generator; encode_image wants (N, 3, H, W) tensors."""
    with pytest.raises(TypeError, match=r"`generator` must be a torch\.Generator"):
        prepare_latents(pipe, generator=0)
    with pytest.raises(ValueError, match=r"`image` must have shape \(N, 3, H, W\)"):
        encode_image(pipe, torch.zeros(1, 1, SIZE, SIZE))
    with pytest.raises(TypeError, match=r"`image` must be a torch\.Tensor"):
        encode_image(pipe, np.zeros((1, 3, SIZE, SIZE)))
    with pytest.raises(ValueError, match="`image height` must be a multiple of 8"):
        encode_image(pipe, torch.zeros(1, 3, 60, SIZE))


# --------------------------------------------------------------------------------------
# Cost of pixel space against latent space
# --------------------------------------------------------------------------------------


def test_value_ratio_is_48_for_sd():
    """512x512x3 = 786,432 values against 64x64x4 = 16,384: 48 = 3 f^2 / c."""
    assert latent_shape(512, 512) == (4, 64, 64)
    assert 512 * 512 * 3 == 786_432 and 64 * 64 * 4 == 16_384
    assert value_ratio(512, 512) == 48.0
    assert value_ratio(768, 512) == 48.0  # independent of the image size
    assert value_ratio(512, 512, factor=4, latent_channels=3) == 16.0


def test_activation_memory_ratio_approaches_f_squared():
    """The same conv U-Net stores about 64 = 8^2 times more activations on pixels than latents."""
    cost = compare_pixel_latent(64, block_out_channels=(8, 16), repeats=1)
    assert cost.value_ratio == 48.0
    assert 55 < cost.memory_ratio < 64  # f^2 = 64, minus the 3-vs-4 channel input/output
    assert 55 < cost.flop_ratio < 64  # the same for the arithmetic (FlopCounterMode)
    assert cost.pixel.flops > 0
    assert cost.pixel.num_values == 3 * 64 * 64
    assert cost.latent.shape == (1, 4, 8, 8)
    assert cost.pixel.peak_bytes is None  # CPU: no CUDA peak reading


def test_activation_bytes_counts_leaf_outputs_by_shape_only():
    """Linear(4, 3) → ReLU → Linear(3, 5) on a (2, 4) input: leaves output 6 + 6 + 10 float32
    values = 88 bytes (the Sequential itself is not a leaf); a U-Net's count depends on the shapes,
    not on the weights or the values, and doubles with the batch."""
    assert activation_bytes(torch.nn.Linear(4, 3), torch.zeros(2, 4)) == 6 * 4
    chain = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 5))
    assert activation_bytes(chain, torch.zeros(2, 4)) == (6 + 6 + 10) * 4
    torch.manual_seed(0)
    net_a = build_cost_unet(4, block_out_channels=(8, 16))
    torch.manual_seed(1)
    net_b = build_cost_unet(4, block_out_channels=(8, 16))
    x, t = torch.zeros(1, 4, 16, 16), torch.tensor([10])
    one = activation_bytes(net_a, x, t)
    assert one > 0
    assert activation_bytes(net_b, torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0)), t) == one
    assert activation_bytes(net_a, torch.zeros(2, 4, 16, 16), torch.tensor([10, 10])) == 2 * one


def test_cost_functions_reject_bad_sizes():
    """Sizes must fit the factor and the number of resolution levels; widths must be positive."""
    with pytest.raises(ValueError, match="`height` must be a multiple of 8"):
        latent_shape(500, 512)
    with pytest.raises(ValueError, match="`size` must be a multiple of 64"):
        compare_pixel_latent(72, block_out_channels=(8, 16, 16, 16))
    with pytest.raises(ValueError, match="`block_out_channels` must be positive integers"):
        build_cost_unet(3, block_out_channels=(8, 0))


# --------------------------------------------------------------------------------------
# Full-size SD 1.x architecture (shapes only on the CPU)
# --------------------------------------------------------------------------------------


# -- SD 1.5's parameter counts, counted by hand from its architecture --------------------------
# The sizes are SD 1.5's published configuration (Rombach et al. 2022, appendix; the
# runwayml/stable-diffusion-v1-5 config files): U-Net widths (320, 640, 1280, 1280), two layers per
# block, cross-attention from 768-wide CLIP text states; autoencoder widths (128, 256, 512, 512) and
# 4 latent channels; CLIP ViT-L/14's text tower, 12 layers of width 768, 49,408 tokens, 77 positions.
# Each layer is counted with the plain formulas below, not with torch.


def _conv(cin, cout, k=3, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def _linear(cin, cout, bias=True):
    return cin * cout + (cout if bias else 0)


def _norm(c):
    return 2 * c  # GroupNorm / LayerNorm: a scale and a shift per channel


def _resnet(cin, cout, temb=0):
    n = _norm(cin) + _conv(cin, cout) + _norm(cout) + _conv(cout, cout)
    n += _linear(temb, cout) if temb else 0
    return n + (_conv(cin, cout, k=1) if cin != cout else 0)


def _transformer(c, context=768):
    attn1 = 3 * _linear(c, c, bias=False) + _linear(c, c)
    attn2 = _linear(c, c, bias=False) + 2 * _linear(context, c, bias=False) + _linear(c, c)
    ff = _linear(c, 8 * c) + _linear(4 * c, c)  # GEGLU: the first projection makes value and gate
    return _norm(c) + _conv(c, c, k=1) + 3 * _norm(c) + attn1 + attn2 + ff + _conv(c, c, k=1)


def _unet_count(ch=(320, 640, 1280, 1280), temb=1280):
    n = _conv(4, ch[0]) + _linear(ch[0], temb) + _linear(temb, temb)
    cin, skips = ch[0], [ch[0]]
    for i, c in enumerate(ch):  # down: 2 resnets (+ attention in the first three), then a strided conv
        for _ in range(2):
            n += _resnet(cin, c, temb) + (_transformer(c) if i < 3 else 0)
            cin = c
            skips.append(c)
        if i < 3:
            n += _conv(c, c)
            skips.append(c)
    n += 2 * _resnet(ch[-1], ch[-1], temb) + _transformer(ch[-1])  # middle
    prev = ch[-1]
    for i, c in enumerate(reversed(ch)):  # up: 3 resnets on [x, skip], attention in the last three
        for _ in range(3):
            n += _resnet(prev + skips.pop(), c, temb) + (_transformer(c) if i > 0 else 0)
            prev = c
        if i < 3:
            n += _conv(c, c)
    return n + _norm(ch[0]) + _conv(ch[0], 4)


def _vae_count(ch=(128, 256, 512, 512), latent=4):
    mid = 2 * _resnet(ch[-1], ch[-1]) + _norm(ch[-1]) + 4 * _linear(ch[-1], ch[-1])  # + one attention
    n, cin = _conv(3, ch[0]), ch[0]
    for i, c in enumerate(ch):  # encoder
        n += _resnet(cin, c) + _resnet(c, c) + (_conv(c, c) if i < 3 else 0)
        cin = c
    n += mid + _norm(ch[-1]) + _conv(ch[-1], 2 * latent) + _conv(2 * latent, 2 * latent, k=1)
    n += _conv(latent, latent, k=1) + _conv(latent, ch[-1]) + mid  # decoder
    prev = ch[-1]
    for i, c in enumerate(reversed(ch)):
        n += _resnet(prev, c) + 2 * _resnet(c, c) + (_conv(c, c) if i < 3 else 0)
        prev = c
    return n + _norm(ch[0]) + _conv(ch[0], 3)


def _clip_text_count(vocab=49408, positions=77, width=768, layers=12):
    layer = 2 * _norm(width) + 4 * _linear(width, width) + _linear(width, 4 * width) + _linear(4 * width, width)
    return vocab * width + positions * width + layers * layer + _norm(width)


def test_sd15_architecture_has_the_published_parameter_counts():
    """Built on the meta device (no memory), the parts have SD 1.5's parameter counts, as counted by hand."""
    parts = build_sd15_architecture(device="meta", parts_only=True)
    counts = {name: sum(p.numel() for p in m.parameters()) for name, m in parts.items()}
    by_hand = {"unet": _unet_count(), "vae": _vae_count(), "text_encoder": _clip_text_count()}
    assert counts == by_hand == {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480}
    assert parts["unet"].config.cross_attention_dim == parts["text_encoder"].config.hidden_size


def test_build_sd15_architecture_checks_its_arguments():
    """dtype must be a torch.dtype and seed an integer >= 0."""
    with pytest.raises(TypeError, match=r"`dtype` must be a torch\.dtype"):
        build_sd15_architecture(device="meta", dtype="fp16")
    with pytest.raises(ValueError, match="`seed` must be >= 0"):
        build_sd15_architecture(device="meta", seed=-1)


def test_build_tiny_pipeline_is_deterministic_in_its_seed():
    """The same seed gives the same weights, another seed different ones."""
    a, b, c = (build_tiny_pipeline(seed=s).unet.conv_in.weight for s in (1, 1, 2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def test_cli_make_tiny_then_generate_writes_a_png(tmp_path, capsys):
    """`sd make-tiny DIR` then `sd generate --model DIR` writes the image and says where."""
    from PIL import Image

    model = tmp_path / "tiny"
    assert hub_cli.main(["sd", "make-tiny", str(model)]) == 0
    out = tmp_path / "img" / "x.png"
    argv = ["sd", "generate", "--model", str(model), "--prompt", PROMPT, "--num-inference-steps", "2"]
    argv += ["--height", "64", "--width", "64", "--seed", "1", "--out", str(out)]
    assert hub_cli.main(argv) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out
    assert "denoising" in captured.err  # the progress bar
    with Image.open(out) as image:
        assert image.size == (64, 64)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--prompt", ""], "`--prompt` must not be empty"),
        (["--prompt", "x", "--steps", "0"], "`--num-inference-steps` must be >= 1"),
        (["--prompt", "x", "--guidance-scale", "-2"], "`--guidance-scale` must be >= 0"),
        (["--prompt", "x", "--height", "60"], "`--height` must be a multiple of 8"),
        (["--prompt", "x", "--out", "x.jpg"], "`--out` must end in .png"),
    ],
)
def test_cli_generate_reports_bad_arguments(tmp_path, capsys, extra, match):
    """Bad CLI values exit with status 2 and the library's message naming the flag, before loading a model."""
    argv = ["sd", "generate", "--model", str(tmp_path / "nowhere"), *extra]
    assert hub_cli.main(argv) == 2
    assert match in capsys.readouterr().err


def test_cli_generate_reports_a_missing_model(tmp_path, capsys):
    """A missing model directory exits with status 2 and says what was expected."""
    argv = ["sd", "generate", "--model", str(tmp_path / "nowhere"), "--prompt", "x"]
    assert hub_cli.main(argv) == 2
    assert "`--model` does not exist" in capsys.readouterr().err
