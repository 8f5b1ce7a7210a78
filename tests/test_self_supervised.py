"""Tests of lesson 4: InfoNCE, CLIP's loss, the digit split, the miniature CLIP, its CLI, SimCLR and the probe."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from medai_lessons import cli as hub_cli  # noqa: E402
from medai_lessons import interrupts  # noqa: E402
from medai_lessons.self_supervised import (  # noqa: E402
    build_clip,
    build_processor,
    class_prompts,
    clip_loss,
    cosine_similarity_matrix,
    digit_clip_path,
    held_out_digits,
    info_nce,
    load_captioned,
    load_digit_clip,
    to_pil,
    training_digits,
    zero_shot_accuracy,
)
from medai_lessons.self_supervised.train_clip import (  # noqa: E402
    ClipTrainingConfig,
    ClipTrainingInterrupted,
    train_clip,
)
from medai_lessons.stable_diffusion.captioned_images import digit_prompts, training_words  # noqa: E402
from medai_lessons.stable_diffusion.tokenizer import word_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _pairs(n: int = 6, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.fixture(scope="module")
def shipped():
    return load_digit_clip()


# ----------------------------------------------------------------------------- InfoNCE


def test_info_nce_is_the_cross_entropy_written_out():
    """info_nce equals -mean log softmax of the diagonal, computed by hand from the cosines."""
    q, k = _pairs()
    tau = 0.3
    cos = np.array([[float(a @ b / (a.norm() * b.norm())) for b in k] for a in q])
    s = cos / tau
    by_hand = -np.mean([s[i, i] - math.log(np.exp(s[i]).sum()) for i in range(len(s))])
    assert info_nce(q, k, tau).item() == pytest.approx(by_hand, abs=1e-12)


def test_info_nce_is_log_n_when_every_similarity_is_equal():
    """Identical keys give equal similarities in every row: the loss is log N, chance level."""
    q = torch.randn(8, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    k = torch.ones(8, 4, dtype=torch.float64)
    assert info_nce(q, k, 0.1).item() == pytest.approx(math.log(8), abs=1e-12)


def test_info_nce_ignores_length_and_falls_towards_zero_for_matched_orthogonal_pairs():
    """Scaling inputs changes nothing; orthonormal matched pairs at small tau give a loss near 0."""
    q, k = _pairs()
    assert info_nce(3.0 * q, 0.5 * k, 0.2).item() == pytest.approx(info_nce(q, k, 0.2).item(), abs=1e-12)
    eye = torch.eye(4, dtype=torch.float64)
    assert info_nce(eye, eye, 0.05).item() == pytest.approx(3 * math.exp(-20), rel=1e-6)  # log(1 + 3e^{-1/τ})


def test_info_nce_is_never_negative_and_gradients_flow():
    """The loss is >= 0 for random inputs and differentiable in the queries."""
    q, k = _pairs(seed=3)
    q.requires_grad_(True)
    loss = info_nce(q, k, 0.5)
    loss.backward()
    assert loss.item() >= 0
    assert q.grad is not None and bool(torch.isfinite(q.grad).all()) and q.grad.abs().sum() > 0


def test_cosine_similarity_matrix_has_unit_diagonal_for_equal_inputs():
    """The cosine of a vector with itself is 1, whatever its length."""
    q, _ = _pairs()
    assert torch.allclose(cosine_similarity_matrix(q, 2 * q).diagonal(), torch.ones(6, dtype=torch.float64))


# ----------------------------------------------------------------------------- CLIP loss


def test_clip_loss_is_the_mean_of_info_nce_both_ways():
    """CLIP's loss = (InfoNCE(images -> texts) + InfoNCE(texts -> images)) / 2 with tau = 1 / scale."""
    i, t = _pairs(seed=4)
    both = (info_nce(i, t, 0.25) + info_nce(t, i, 0.25)) / 2
    assert clip_loss(i, t, 4.0).item() == pytest.approx(both.item(), abs=1e-12)


def test_clip_loss_equals_transformers_clipmodel_return_loss():
    """For a tiny real CLIPModel, clip_loss of its embeddings equals its own return_loss=True loss to 1e-6."""
    tokenizer = word_tokenizer(["a handwritten seven", "the digit 3"], model_max_length=8)
    model = build_clip(tokenizer, seed=5)
    processor = build_processor(tokenizer)
    rng = np.random.default_rng(5)
    images = to_pil(rng.integers(0, 256, size=(4, 8, 8), dtype=np.uint8))
    inputs = processor(text=["a handwritten seven", "the digit 3", "seven", "3"], images=images,
                       padding="max_length", max_length=8, return_tensors="pt")
    with torch.no_grad():
        model.logit_scale.fill_(math.log(7.0))
        out = model(**inputs, return_loss=True)
        ours = clip_loss(out.image_embeds, out.text_embeds, model.logit_scale.exp())
    assert abs(ours.item() - out.loss.item()) < 1e-6
    assert out.loss.item() > 0.1  # a random model: far from a perfect match, so the check is not trivial


def test_clip_loss_accepts_a_float_scale_and_a_differentiable_tensor_scale():
    """A Python float and a 0-d tensor scale give the same loss; the tensor gets a gradient."""
    i, t = _pairs(seed=6)
    scale = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    loss = clip_loss(i, t, scale)
    loss.backward()
    assert loss.item() == pytest.approx(clip_loss(i, t, 5.0).item(), abs=1e-12)
    assert scale.grad is not None and scale.grad.item() != 0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda q, k: info_nce(q.numpy(), k, 0.1), TypeError, "`queries` must be a torch.Tensor"),
        (lambda q, k: info_nce(q, k[:3], 0.1), ValueError, "`keys` must have the shape of `queries`"),
        (lambda q, k: info_nce(q[0], k[0], 0.1), ValueError, "`queries` must have 2 dimensions"),
        (lambda q, k: info_nce(q, k.float(), 0.1), TypeError, "`keys` must have the dtype"),
        (lambda q, k: info_nce(q.long(), k, 0.1), TypeError, "`queries` must be a floating-point"),
        (lambda q, k: info_nce(q, k, 0.0), ValueError, "`temperature` must be > 0"),
        (lambda q, k: info_nce(q, k, 1e-6), ValueError, "`temperature` must be >= 0.001"),
        (lambda q, k: info_nce(q, k, "0.1"), TypeError, "`temperature` must be a real number"),
        (lambda q, k: info_nce(q * float("nan"), k, 0.1), ValueError, "`queries` must not contain NaN"),
        (lambda q, k: info_nce(q, k * 0, 0.1), ValueError, "`keys` has a row of zeros"),
        (lambda q, k: info_nce(q[:0], k[:0], 0.1), ValueError, "`queries` must hold at least one row"),
        (lambda q, k: clip_loss(q, k, -1.0), ValueError, "`logit_scale` must be > 0"),
        (lambda q, k: clip_loss(q, k, torch.ones(2)), ValueError, "`logit_scale` must be one number"),
        (lambda q, k: clip_loss(q, k, torch.tensor(-2.0)), ValueError, "`logit_scale` must be > 0"),
        (lambda q, k: clip_loss(q, k, 1e9), ValueError, "`logit_scale` must be <= 1000"),
        (lambda q, k: clip_loss(q, k.to_sparse(), 1.0), TypeError, "`text_embeds` must be a dense tensor"),
        (lambda q, k: clip_loss(q, [1, 2], 1.0), TypeError, "`text_embeds` must be a torch.Tensor"),
    ],
)
def test_bad_inputs_raise_named_errors(call, error, match):
    """Every bad argument is refused at the door with a ValueError or TypeError naming it."""
    q, k = _pairs()
    with pytest.raises(error, match=match):
        call(q, k)


# ----------------------------------------------------------------------------- data and prompts


def test_the_split_trains_on_i_mod_5_not_0_and_holds_out_the_rest():
    """1,437 training and 360 held-out digits; together they are load_digits, with no image in both."""
    from sklearn.datasets import load_digits

    train, held = training_digits(), held_out_digits()
    assert (len(train), len(held)) == (1437, 360)
    digits = load_digits()
    expected = np.rint(digits.images[np.arange(1797) % 5 == 0] * 255 / 16).astype(np.uint8)
    assert np.array_equal(held.pixels, expected)
    assert held.labels.tolist() == digits.target[::5].tolist()
    assert train.prompts[7] == digit_prompts(7)


def test_class_prompts_fill_word_and_digit_and_refuse_a_template_without_either():
    """A template gives ten captions; one with no {word} or {digit} is refused by name."""
    assert class_prompts()[7] == "a handwritten seven"
    assert class_prompts("手書きの{digit}")[3] == "手書きの3"
    with pytest.raises(ValueError, match="`template` must contain"):
        class_prompts("a digit")
    with pytest.raises(ValueError, match="`template` may use only"):
        class_prompts("{word} {colour}")
    with pytest.raises(TypeError, match="`template` must be a string"):
        class_prompts(7)


def test_load_captioned_refuses_unknown_sets_by_name():
    """An unknown data name is a ValueError naming `data`."""
    with pytest.raises(ValueError, match="`data` must be one of"):
        load_captioned("cifar")
    with pytest.raises(ValueError, match="`data`: unknown MedMNIST set"):
        load_captioned("medmnist:nosuchmnist")


# ----------------------------------------------------------------------------- the shipped model


def test_shipped_clip_loads_with_transformers_alone_in_float32_and_is_small():
    """CLIPModel and CLIPProcessor load the folder offline; float32 on the CPU; at most 4 MB on disk."""
    from transformers import CLIPModel, CLIPProcessor

    path = digit_clip_path()
    model = CLIPModel.from_pretrained(path, local_files_only=True)
    processor = CLIPProcessor.from_pretrained(path, local_files_only=True)
    assert next(model.parameters()).dtype == torch.float32
    assert sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) <= 4_000_000
    assert not list(path.rglob("*.bin")) and not list(path.rglob("*.pt"))  # safetensors only
    values = processor(images=to_pil(held_out_digits().pixels[:2]), return_tensors="pt")["pixel_values"]
    assert tuple(values.shape) == (2, 3, 8, 8)
    assert float(values.min()) == -1.0 and float(values.max()) == 1.0  # black ink background and full ink
    assert processor.tokenizer.tokenize("a handwritten seven") == ["a</w>", "handwritten</w>", "seven</w>"]


def test_shipped_clip_uses_one_token_per_word():
    """Every training caption is one token per word, as in lesson 3's vocabulary."""
    _, processor = load_digit_clip()
    for prompt in training_words(tuple(digit_prompts(d) for d in range(10))):
        assert len(processor.tokenizer(prompt).input_ids) == 2 + len(processor.tokenizer.tokenize(prompt))
    assert len(processor.tokenizer.tokenize("a handwritten seven")) == 3


def test_shipped_clip_classifies_held_out_digits_zero_shot(shipped):
    """Zero-shot accuracy on the 360 held-out digits with the plain template is at least 90 % (the target)."""
    model, processor = shipped
    accuracy = zero_shot_accuracy(model, processor)
    assert accuracy >= 0.90
    recorded = json.loads((ROOT / "benchmarks/results/ssl.json").read_text(encoding="utf-8"))
    row = next(r for r in recorded["rows"] if r["name"] == "zero-shot accuracy, plain template")
    assert accuracy == pytest.approx(row["value"], abs=1e-9)  # bench_ssl.py measured the same model


def test_shipped_clip_was_trained_on_the_training_split_only():
    """training.json records the digits split with 1,437 images, the rule i % 5 != 0."""
    summary = json.loads((digit_clip_path() / "training.json").read_text(encoding="utf-8"))
    assert summary["data"] == "digits" and summary["images"] == 1437


# ----------------------------------------------------------------------------- training and the CLI


def _tiny_config(**kw):
    return ClipTrainingConfig(steps=kw.pop("steps", 3), batch_size=8, warmup_steps=1, **kw)


def test_training_is_bit_reproducible_for_a_seed():
    """Two runs with the same seed and thread count give identical weights; another seed differs."""
    data = training_digits()
    a = train_clip(data, _tiny_config(), progress=False).model.state_dict()
    b = train_clip(data, _tiny_config(), progress=False).model.state_dict()
    c = train_clip(data, _tiny_config(seed=1), progress=False).model.state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not all(torch.equal(a[key], c[key]) for key in a)


def test_interrupted_training_names_the_last_complete_checkpoint(tmp_path, monkeypatch):
    """A stop at step 5 with checkpoints every 2 steps keeps step-0000004, a loadable CLIPModel."""
    from transformers import CLIPModel

    calls = {"n": 0}

    def check() -> None:
        calls["n"] += 1
        if calls["n"] == 6:
            raise interrupts.StopRequested()

    monkeypatch.setattr(interrupts, "check", check)
    with pytest.raises(ClipTrainingInterrupted) as info:
        train_clip(training_digits(), _tiny_config(steps=10), progress=False, checkpoint_dir=tmp_path,
                   checkpoint_every=2)
    assert info.value.checkpoint == tmp_path / "step-0000004"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000002", "step-0000004"]
    CLIPModel.from_pretrained(info.value.checkpoint, local_files_only=True)


def _medmnist_npz(root: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 12), ("val", 2), ("test", 2)):
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, size=(n, 1), dtype=np.uint8)
    np.savez(root / "pneumoniamnist.npz", **arrays)


def test_cli_trains_on_a_medmnist_file_and_publishes_a_loadable_model(tmp_path, capsys):
    """`ssl train-clip --data medmnist:pneumoniamnist` reads a small file in MedMNIST's layout and writes a CLIP."""
    from transformers import CLIPModel, CLIPProcessor

    _medmnist_npz(tmp_path)
    out = tmp_path / "chest-clip"
    code = hub_cli.main(["ssl", "train-clip", "--out", str(out), "--data", "medmnist:pneumoniamnist",
                         "--data-root", str(tmp_path), "--steps", "2", "--batch-size", "4", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    model = CLIPModel.from_pretrained(out, local_files_only=True)
    processor = CLIPProcessor.from_pretrained(out, local_files_only=True)
    assert model.config.vision_config.image_size == 32
    # one token per word, and CLIP's rule splits "x-ray" into x, -, ray
    assert len(processor.tokenizer.tokenize("a chest x-ray with pneumonia")) == 7
    assert not (tmp_path / "chest-clip.partial").exists()
    assert json.loads((out / "training.json").read_text())["data"] == "medmnist:pneumoniamnist"


def test_cli_refuses_a_full_out_folder_and_bad_flags_in_one_line(tmp_path, capsys):
    """A non-empty --out and a zero --train-steps (or its old name --steps) are one-line errors with exit
    status 2, naming the flag."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert hub_cli.main(["ssl", "train-clip", "--out", str(tmp_path / "full")]) == 2
    assert "`--out`" in capsys.readouterr().err
    assert hub_cli.main(["ssl", "train-clip", "--out", str(tmp_path / "new"), "--train-steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "`--train-steps` must be >= 1" in err and "Traceback" not in err
    # the old flag still works, says its new name, and the refusal names the flag given today's name
    assert hub_cli.main(["ssl", "train-clip", "--out", str(tmp_path / "new"), "--steps", "0"]) == 2
    err = capsys.readouterr().err
    assert "use `--train-steps` instead" in err and "`--train-steps` must be >= 1" in err
