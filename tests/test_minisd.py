"""Tests of the miniature text-to-image Stable Diffusion: tokenizers, data, training, the shipped model, guidance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from medai_lessons import cli as hub_cli  # noqa: E402
from medai_lessons.stable_diffusion import (  # noqa: E402
    clip_tokenizer,
    cross_attention_maps,
    cross_attention_over_steps,
    digit_pipeline_path,
    digit_prompts,
    faithfulness,
    generate,
    generate_stepwise,
    load_captioned_images,
    load_digit_pipeline,
    sample_digits,
    variety,
    word_tokenizer,
)
from medai_lessons.stable_diffusion.captioned_images import (  # noqa: E402
    TEMPLATES,
    drop_prompts,
    load_medmnist_npz,
    to_classifier_pixels,
    training_words,
    upsample,
)
from medai_lessons.stable_diffusion.tokenizer import _clip_merges, bpe_split  # noqa: E402
from medai_lessons.stable_diffusion.train_digits import DigitSDConfig, train_digit_pipeline  # noqa: E402

ALL_PROMPTS = tuple(digit_prompts(d) for d in range(10))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pipe():
    return load_digit_pipeline(device="cpu")


# ----------------------------------------------------------------------------- tokenizers


def test_clip_tokenizer_gives_sd_ids_for_a_photo_of_a_cat():
    """The rebuilt vocabulary gives SD 1.x's ids (open_clip's tokenizer on the same file gives these)."""
    assert clip_tokenizer()("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(clip_tokenizer()) == 49408


def test_clip_tokenizer_splits_pneumothorax_into_four_pieces():
    """A clinical word missing from CLIP's vocabulary falls apart into sub-word pieces."""
    tok = clip_tokenizer()
    ids = tok("pneumothorax").input_ids
    assert tok.convert_ids_to_tokens(ids[1:-1]) == ["pneu", "mo", "thor", "ax</w>"]
    # and our own BPE loop agrees with the tokenizers library on the same merges
    assert bpe_split("pneumothorax", _clip_merges()) == ["pneu", "mo", "thor", "ax</w>"]
    assert tok.convert_ids_to_tokens(tok("pneumonia").input_ids[1:-1]) == ["pneumonia</w>"]


def test_word_tokenizer_makes_every_training_word_one_token():
    """Each word of each training prompt (Japanese included) becomes exactly one token."""
    tok = word_tokenizer(training_words(ALL_PROMPTS))
    for prompt in training_words(ALL_PROMPTS):
        n_words = len(prompt.split()) if prompt[0].isascii() else 2  # 手書きの + digit
        assert len(tok(prompt).input_ids) == n_words + 2, prompt
    pieces = tok.convert_ids_to_tokens(tok("a handwritten seven").input_ids)
    assert pieces == ["<|startoftext|>", "a</w>", "handwritten</w>", "seven</w>", "<|endoftext|>"]
    assert len(tok) < 600  # 512 byte pieces + merges + 2 specials


def test_word_tokenizer_checks_its_arguments():
    """Bad `words` or `model_max_length` raise errors that name them."""
    with pytest.raises(TypeError, match="`words`"):
        word_tokenizer("seven")
    with pytest.raises(ValueError, match="`words`"):
        word_tokenizer(["", "x"])
    with pytest.raises(ValueError, match="`model_max_length`"):
        word_tokenizer(["seven"], model_max_length=2)


# ----------------------------------------------------------------------------- data


def test_prompts_cover_every_template_and_japanese():
    """Seven prompts per digit; the word, the numeral and the Japanese form all appear."""
    assert digit_prompts(7)[:3] == ("a handwritten seven", "the digit 7", "7")
    assert "手書きの7" in digit_prompts(7)
    assert len(digit_prompts(0)) == len(TEMPLATES)
    with pytest.raises(ValueError, match="`digit`"):
        digit_prompts(10)


def test_upsampled_digits_read_back_by_the_classifier():
    """8x8 -> 32x32 -> 8x8 keeps the digits readable: the classifier reads >= 95 % correctly."""
    data = load_captioned_images("digits")
    assert data.images.shape == (1797, 3, 32, 32)
    assert float(data.images.min()) >= -1 and float(data.images.max()) <= 1
    share = faithfulness(data.images[:400], data.labels[:400].tolist())
    assert share >= 0.95


def test_prompt_dropout_rate_matches_p():
    """About p of the prompts become empty (10,000 draws, 4 sigma band)."""
    g = torch.Generator().manual_seed(0)
    out = drop_prompts(["x"] * 10_000, 0.15, g)
    rate = out.count("") / 10_000
    assert abs(rate - 0.15) < 4 * (0.15 * 0.85 / 10_000) ** 0.5
    with pytest.raises(ValueError, match="`p_uncond`"):
        drop_prompts(["x"], 1.5, g)


def test_unknown_dataset_names_are_refused():
    """Unknown names and MedMNIST without the package raise ValueError naming `data`."""
    with pytest.raises(ValueError, match="`data`"):
        load_captioned_images("mnist")
    with pytest.raises(ValueError, match="`data`"):
        load_captioned_images("medmnist:nosuchmnist")
    with pytest.raises(TypeError, match="`data`"):
        load_captioned_images(3)


def test_medmnist_loader_reads_the_npz_layout(tmp_path):
    """A small file in MedMNIST's own layout loads as 32x32 images in [-1, 1] with its prompts."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 6), ("val", 2), ("test", 2)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, size=(n, 1), dtype=np.uint8)
    arrays["train_images"][0] = 255
    path = tmp_path / "pneumoniamnist.npz"
    np.savez(path, **arrays)
    data = load_medmnist_npz(path, flag="pneumoniamnist")
    assert data.images.shape == (6, 3, 32, 32)
    assert torch.allclose(data.images[0], torch.ones(3, 32, 32))
    assert data.labels.tolist() == arrays["train_labels"].reshape(-1).tolist()
    assert data.prompts[1][0] == "a chest x-ray with pneumonia"
    assert load_medmnist_npz(path, flag="pneumoniamnist", split="test").images.shape[0] == 2
    with pytest.raises(ValueError, match="`flag`"):
        load_medmnist_npz(path, flag="bloodmnist")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_medmnist_npz(tmp_path / "missing.npz", flag="pneumoniamnist")
    np.savez(tmp_path / "bad.npz", images=arrays["train_images"])
    with pytest.raises(ValueError, match="`path`"):
        load_medmnist_npz(tmp_path / "bad.npz", flag="pneumoniamnist")


def test_classifier_pixels_checks_shapes():
    """Wrong shapes and types are refused with the argument named."""
    with pytest.raises(ValueError, match="`images`"):
        to_classifier_pixels(torch.zeros(2, 1, 32, 32))
    with pytest.raises(TypeError, match="`images`"):
        to_classifier_pixels([1, 2])
    with pytest.raises(ValueError, match="`images`"):
        upsample(torch.zeros(2, 3, 8, 8))


# ----------------------------------------------------------------------------- training

TINY = {"vae_steps": 2, "unet_steps": 2, "batch_size": 8, "unet_channels": (32, 32), "vae_channels": (8, 8, 8)}


def test_training_is_bit_identical_and_loadable(tmp_path):
    """Two short runs with one seed write identical weights, and diffusers loads the result."""
    from diffusers import StableDiffusionPipeline

    data = load_captioned_images("digits")
    small = type(data)(data.name, data.images[:64], data.labels[:64], data.prompts)
    for name in ("a", "b"):
        summary = train_digit_pipeline(tmp_path / name, DigitSDConfig(**TINY), data=small)
    assert summary["config"]["unet_steps"] == 2
    for weights in sorted((tmp_path / "a").rglob("*.safetensors")):
        assert weights.read_bytes() == (tmp_path / "b" / weights.relative_to(tmp_path / "a")).read_bytes()
    pipe = StableDiffusionPipeline.from_pretrained(tmp_path / "a", local_files_only=True)
    assert pipe.vae_scale_factor == 4 and pipe.unet.config.sample_size == 8
    assert not any(p.name.startswith(".a") for p in tmp_path.iterdir())  # no temporary directory left


def test_training_refuses_a_used_output_and_bad_config(tmp_path):
    """A non-empty `out` and out-of-range settings raise before any training."""
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(ValueError, match="`out`"):
        train_digit_pipeline(tmp_path / "used", DigitSDConfig(**TINY))
    with pytest.raises(ValueError, match="`p_uncond`"):
        DigitSDConfig(p_uncond=1.5)
    with pytest.raises(ValueError, match="`unet_steps`"):
        DigitSDConfig(unet_steps=0)
    with pytest.raises(ValueError, match="`cpu_threads`"):
        DigitSDConfig(cpu_threads=0)
    with pytest.raises(ValueError, match="`device`"):
        train_digit_pipeline(tmp_path / "new", DigitSDConfig(**TINY), device="tpu")


def test_cli_train_digits_reports_bad_input_without_traceback(tmp_path, capsys):
    """`sd train-digits` with an unknown data set or a used folder exits 2 with one line."""
    assert hub_cli.main(["sd", "train-digits", "--out", str(tmp_path / "m"), "--data", "cifar"]) == 2
    assert "data" in capsys.readouterr().err
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    assert hub_cli.main(["sd", "train-digits", "--out", str(tmp_path / "used")]) == 2
    assert "out" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the shipped model


def test_shipped_pipeline_is_a_complete_small_diffusers_directory():
    """model_index.json and the five parts are there, in fp16 safetensors, <= 16 MB in all."""
    path = digit_pipeline_path()
    index = json.loads((path / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusionPipeline"
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        assert (path / part).is_dir()
    assert not list(path.rglob("*.bin")) and not list(path.rglob("*.pkl"))
    # the three weighted parts are safetensors files whose every tensor is stored in float16
    from medai_lessons._files import read_safetensors_header

    weights = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.safetensors"))
    assert weights == ["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors",
                       "vae/diffusion_pytorch_model.safetensors"]
    for name in weights:
        _, shapes, dtypes = read_safetensors_header(path / name)
        assert shapes and set(dtypes.values()) == {"F16"}, name
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size <= 16e6


def test_diffusers_draws_a_readable_seven_from_the_shipped_model():
    """StableDiffusionPipeline.from_pretrained(digit_pipeline_path()) turns "a handwritten seven" into 7s."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(digit_pipeline_path(), local_files_only=True, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    gens = [torch.Generator().manual_seed(s) for s in range(4)]
    images = pipe(["a handwritten seven"] * 4, num_inference_steps=25, guidance_scale=3.0, height=32, width=32,
                  generator=gens, output_type="np").images
    assert images.shape == (4, 32, 32, 3)
    assert faithfulness(to_classifier_pixels(images) .repeat(1, 3, 1, 1), [7] * 4) >= 0.75


def test_generate_and_stepwise_agree_on_the_shipped_model(pipe):
    """generate (diffusers) and generate_stepwise (the lesson's stages) give the same pixels."""
    kwargs = dict(
        num_inference_steps=5, guidance_scale=3.0, seed=1, height=32, width=32, output_type="np", progress=False
    )
    a = generate(pipe, "a handwritten three", **kwargs)
    b = generate_stepwise(pipe, "a handwritten three", **kwargs)
    assert np.abs(a - b).max() < 1e-5


def test_cli_generate_writes_a_png_of_a_three(tmp_path):
    """`sd generate --model <shipped> --prompt "a handwritten three"` writes a 32x32 PNG the classifier reads as 3."""
    from PIL import Image

    out = tmp_path / "three.png"
    code = hub_cli.main(["sd", "generate", "--model", str(digit_pipeline_path()), "--prompt", "a handwritten three",
                         "--height", "32", "--width", "32", "--num-inference-steps", "25",
                         "--guidance-scale", "3", "--seed", "0",
                         "--device", "cpu", "--dtype", "float32", "--out", str(out)])
    assert code == 0
    image = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32)[None] / 255
    assert image.shape == (1, 32, 32, 3)
    assert faithfulness(to_classifier_pixels(image).repeat(1, 3, 1, 1), [3]) == 1.0


def test_shipped_model_rejects_bad_input(pipe):
    """Empty prompts, negative or NaN guidance and sizes off the VAE grid raise errors naming the argument."""
    with pytest.raises(ValueError, match="`prompt`"):
        generate(pipe, "  ", height=32, width=32)
    with pytest.raises(ValueError, match="`guidance_scale`"):
        generate(pipe, "7", guidance_scale=-1.0, height=32, width=32)
    with pytest.raises(ValueError, match="`guidance_scale`"):
        generate(pipe, "7", guidance_scale=float("nan"), height=32, width=32)
    with pytest.raises(ValueError, match="`height`"):
        generate(pipe, "7", height=30, width=32)
    with pytest.raises(ValueError, match="`num_inference_steps`"):
        generate(pipe, "7", num_inference_steps=0, height=32, width=32)


def test_partial_model_directory_is_refused(tmp_path):
    """A copy of the shipped model without its U-Net is refused with `model_dir` named."""
    import shutil

    from medai_lessons.stable_diffusion import load_pipeline

    target = tmp_path / "partial"
    shutil.copytree(digit_pipeline_path(), target)
    shutil.rmtree(target / "unet")
    with pytest.raises(ValueError, match=r"`model_dir`.*unet"):
        load_pipeline(target)


# ----------------------------------------------------------------------------- guidance


def test_variety_is_zero_for_copies_and_positive_for_real_digits():
    """Identical images have variety 0; real digits of one class have a positive spread."""
    data = load_captioned_images("digits")
    copies = data.images[:1].repeat(4, 1, 1, 1)
    assert variety(copies, [0, 0, 1, 1]) == 0.0
    sevens = data.images[data.labels == 7][:4]
    assert variety(sevens, [7] * 4) > 1.0
    with pytest.raises(ValueError, match="`groups`"):
        variety(sevens, [7, 7, 7])


def test_guidance_raises_faithfulness_over_no_guidance(pipe):
    """On 10 digits x 2 seeds, s = 3 reads as the prompted digit more often than s = 1, and >= 80 %."""
    digits = list(range(10))
    labels = [d for d in digits for _ in range(2)]
    plain = faithfulness(sample_digits(pipe, digits, [0, 1], guidance_scale=1.0, num_inference_steps=10), labels)
    guided = faithfulness(sample_digits(pipe, digits, [0, 1], guidance_scale=3.0, num_inference_steps=10), labels)
    assert guided >= 0.8
    assert guided >= plain


def test_guidance_scale_zero_ignores_the_prompt(pipe):
    """At s = 0 (eps_hat = eps_u) every digit's prompt gives the same image for a seed, the empty prompt's,
    so faithfulness over the ten digits is exactly chance: each seed's image matches one digit of ten."""
    digits = list(range(10))
    images = sample_digits(pipe, digits, [0, 1], guidance_scale=0.0, num_inference_steps=4)
    by_digit = images.reshape(10, 2, *images.shape[1:])
    assert torch.equal(by_digit[0], by_digit[7])
    pipe.set_progress_bar_config(disable=True)
    empty = pipe([""], num_inference_steps=4, guidance_scale=1.0, generator=[torch.Generator().manual_seed(1)],
                 height=32, width=32, output_type="np").images
    gap = (by_digit[3, 1] - (torch.as_tensor(empty[0]).permute(2, 0, 1) * 2 - 1)).abs().max()
    assert gap < 1e-4, gap  # batch of 20 against batch of 1: float32 rounding only
    assert faithfulness(images, [d for d in digits for _ in range(2)]) == 0.1


def test_sample_digits_checks_its_arguments(pipe):
    """Digits outside 0..9, no seeds and bad templates are refused."""
    with pytest.raises(ValueError, match="`digits`"):
        sample_digits(pipe, [10], [0], guidance_scale=1.0)
    with pytest.raises(ValueError, match="`seeds`"):
        sample_digits(pipe, [1], [], guidance_scale=1.0)
    with pytest.raises(ValueError, match="`template`"):
        sample_digits(pipe, [1], [0], guidance_scale=1.0, template="seven")


def test_cross_attention_maps_have_one_8x8_map_per_token(pipe):
    """One non-negative 8x8 map per token; at each latent position the shares over all slots are <= 1."""
    tokens, maps = cross_attention_maps(pipe, "a handwritten seven", num_inference_steps=4)
    assert tokens == ["<|startoftext|>", "a</w>", "handwritten</w>", "seven</w>", "<|endoftext|>"]
    assert maps.shape == (5, 8, 8)
    assert maps.min() >= 0 and maps.sum(axis=0).max() <= 1 + 1e-6
    with pytest.raises(ValueError, match="`prompt`"):
        cross_attention_maps(pipe, "")


def test_cross_attention_over_steps_keeps_the_steps_and_grids_apart(pipe):
    """One map per step and token on the chosen grid; a position's shares over all slots sum to <= 1;
    averaging the full-grid steps gives cross_attention_maps; a grid the U-Net lacks is refused."""
    tokens, inner = cross_attention_over_steps(pipe, "a handwritten seven", grid=4, num_inference_steps=3)
    assert len(tokens) == 5 and inner.shape == (3, 5, 4, 4)
    assert inner.min() >= 0 and inner.sum(axis=1).max() <= 1 + 1e-6
    _, outer = cross_attention_over_steps(pipe, "a handwritten seven", num_inference_steps=3)
    _, averaged = cross_attention_maps(pipe, "a handwritten seven", num_inference_steps=3)
    np.testing.assert_allclose(outer.mean(axis=0), averaged, atol=1e-6)
    with pytest.raises(ValueError, match="`grid` must be the side of one of the U-Net's grids, one of \\[8, 4\\]"):
        cross_attention_over_steps(pipe, "a handwritten seven", grid=2)
    with pytest.raises(TypeError, match="`grid`"):
        cross_attention_over_steps(pipe, "a handwritten seven", grid=4.0)


def test_shipped_tokenizer_knows_the_japanese_prompt(pipe):
    """「手書きの7」 is two tokens in the shipped tokenizer: a word the model was trained on, and 7."""
    ids = pipe.tokenizer("手書きの7").input_ids
    assert len(ids) == 4
    assert pipe.tokenizer.convert_ids_to_tokens(ids[2:3]) == ["7</w>"]


def test_training_json_records_the_recipe():
    """The shipped model says how it was made: steps, seed, prompt dropout."""
    info = json.loads((Path(digit_pipeline_path()) / "training.json").read_text())
    assert info["config"]["p_uncond"] == 0.15
    # the shipped model used the default recipe, and the benchmark timed that same run
    # (benchmarks/results/minisd.json, rows train_vae_steps and train_unet_steps); the lesson says why
    # the count matters: "a run with half as many U-Net updates learnt nothing about the prompt"
    # (docs/lessons/stable-diffusion.en.md, "Budget by the number of updates")
    defaults = DigitSDConfig()
    bench = {r["name"]: r["value"] for r in json.loads((ROOT / "benchmarks/results/minisd.json").read_text())["rows"]}
    assert info["config"]["unet_steps"] == defaults.unet_steps == bench["train_unet_steps"]
    assert info["config"]["vae_steps"] == defaults.vae_steps == bench["train_vae_steps"]


def test_sd_trainer_ema_is_diffusers_emamodel_with_its_first_decay_kept():
    """The SD trainer's EMA (kept because the shipped miniature was trained with it) follows diffusers'
    ``EMAModel.step`` update by update, once ``EMAModel``'s decay at the first update is 1/10 instead of 0;
    from the second update on the two warm-ups give the same decay, min(d, (1+k)/(10+k))."""
    import copy

    from diffusers.training_utils import EMAModel

    from medai_lessons.stable_diffusion.train_digits import _ema_step, _warmup_decay

    class FirstDecayKept(EMAModel):
        def get_decay(self, optimization_step: int) -> float:
            stock = super().get_decay(optimization_step)
            return 0.1 if optimization_step == 1 else stock

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    ours = copy.deepcopy(model).requires_grad_(False)
    reference = FirstDecayKept(model.parameters(), decay=0.75)
    stock = EMAModel(model.parameters(), decay=0.75)
    decays = []
    for k in range(40):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        decays.append(_warmup_decay(k, 0.75))
        _ema_step(ours, model, decays[-1])
        reference.step(model.parameters())
        stock.step(model.parameters())
        assert reference.cur_decay_value == decays[-1]
        if k == 0:  # the stock EMAModel copies at the first update, so its average differs from the trainer's
            assert stock.cur_decay_value == 0.0
            assert not torch.allclose(ours.weight, stock.shadow_params[0], atol=1e-3)
        else:
            assert stock.cur_decay_value == decays[-1]
        for mine, theirs in zip(ours.parameters(), reference.shadow_params, strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
    assert decays[:2] == [0.1, 2 / 11] and decays[-1] == 0.75  # warm-up, then the configured d
