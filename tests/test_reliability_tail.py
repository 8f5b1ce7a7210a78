"""Issue 21's tail: the documented one-line load, safetensors only, no silent NaN, bounded work,
errors that name the right argument, and interrupts that never block the next run.

Every refusal names its argument in backticks; interrupts are real signals this process sends to
itself at a chosen point of a real command, so nothing waits on a guessed time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from medai_lessons import interrupts, limits
from medai_lessons.cli import main

TINY = ["--batch-size", "32", "--channels", "8,8", "--time-dim", "8", "--warmup-steps", "1",
        "--num-train-timesteps", "20", "--cpu", "--no-progress"]
main_thread_only = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                      reason="signal handlers need the main thread")


def _our_lines(capsys) -> list[str]:
    """The command's own lines on stderr (library notices and progress bars aside)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("medai-lessons")]


# -- the documented one-line load ------------------------------------------------------------
@pytest.fixture(scope="module")
def digit_dir():
    pytest.importorskip("diffusers")
    from medai_lessons.stable_diffusion import digit_pipeline_path

    return digit_pipeline_path()


def test_the_bare_documented_call_loads_and_generates_on_the_cpu(digit_dir):
    """`StableDiffusionPipeline.from_pretrained(digit_pipeline_path(), local_files_only=True)`, with no
    other argument, loads every part in float32 and draws a finite 32x32 image."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(digit_dir, local_files_only=True)
    assert {pipe.text_encoder.dtype, pipe.unet.dtype, pipe.vae.dtype} == {torch.float32}
    pipe.set_progress_bar_config(disable=True)
    image = pipe("a 3", num_inference_steps=2, height=32, width=32, output_type="np",
                 generator=torch.Generator().manual_seed(0)).images
    assert image.shape == (1, 32, 32, 3) and np.isfinite(image).all()


def test_the_shipped_text_encoder_stays_float16_on_disk(digit_dir):
    """Only the load dtype changed: the weights on disk are still float16 (the size target holds)."""
    from safetensors import safe_open

    with safe_open(str(digit_dir / "text_encoder" / "model.safetensors"), framework="pt") as f:
        assert {f.get_slice(k).get_dtype() for k in f.keys()} == {"F16"}  # noqa: SIM118
    assert json.loads((digit_dir / "text_encoder" / "config.json").read_text())["dtype"] == "float32"


# -- tampered Stable Diffusion folders ----------------------------------------------------------------
def _copy(digit_dir, tmp_path, name="sd"):
    target = tmp_path / name
    shutil.copytree(digit_dir, target)
    return target


def _edit(path, **change):
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda d: os.replace(d / "unet/diffusion_pytorch_model.safetensors", d / "unet/diffusion_pytorch_model.bin"),
         r"`model_dir`: .*unet holds pickle weights only \(diffusion_pytorch_model.bin\); this package loads "
         r"safetensors only and never unpickles"),
        (lambda d: os.remove(d / "vae/diffusion_pytorch_model.safetensors"), r"`model_dir`: .*vae has no weights"),
        (lambda d: _edit(d / "model_index.json", _class_name="NotStableDiffusionEvil"),
         r"`model_dir` .* holds a NotStableDiffusionEvil model; expected a Stable Diffusion 1.x/2.x checkpoint"),
        (lambda d: (d / "model_index.json").write_text("[1, 2]"),
         r"`model_dir`: .*must hold a JSON object, got a list"),
        (lambda d: (d / "model_index.json").write_bytes(b"\xff\xfe{}"), r"`model_dir`: .*is not UTF-8 text"),
        (lambda d: (d / "scheduler/scheduler_config.json").write_text("[" * 100_000 + "]" * 100_000),
         r"`model_dir`: .*is nested too deeply"),
        (lambda d: (d / "model_index.json").write_text('{"x": ' + "9" * 5000 + "}"),
         r"`model_dir`: .*holds an integer with too many digits"),
        (lambda d: _edit(d / "text_encoder/config.json", hidden_size=10**6),
         r"`model_dir`: .*describes a text encoder of about [\d,]+ weights; at most 1,000,000,000"),
        (lambda d: _edit(d / "text_encoder/config.json", hidden_size=128),
         r"`model_dir` .*: the checkpoint cannot be loaded"),
    ],
    ids=["bin-only", "no-weights", "class-substring", "index-list", "utf8", "nested", "digits", "huge-te",
         "mismatched-te"],
)
def test_load_pipeline_refuses_a_tampered_folder_by_name(digit_dir, tmp_path, tamper, match):
    """Pickle-only parts, missing weights, an unsupported class, malformed JSON and a text encoder
    config that is huge or does not match its weights: a ValueError naming `model_dir`."""
    from medai_lessons.stable_diffusion.loading import load_pipeline

    folder = _copy(digit_dir, tmp_path)
    tamper(folder)
    with pytest.raises(ValueError, match=match):
        load_pipeline(folder, device="cpu")


def test_load_pipeline_asks_diffusers_for_safetensors_only(digit_dir, monkeypatch):
    """diffusers is called with use_safetensors=True and local_files_only=True, so it never falls back to a pickle."""
    from diffusers import StableDiffusionPipeline

    from medai_lessons.stable_diffusion.loading import load_pipeline

    seen = {}

    def record(path, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here")

    monkeypatch.setattr(StableDiffusionPipeline, "from_pretrained", record)
    with pytest.raises(ValueError, match=r"`model_dir` .*: the checkpoint cannot be loaded \(stop here\)"):
        load_pipeline(digit_dir, device="cpu")
    assert seen["use_safetensors"] is True and seen["local_files_only"] is True


def test_only_the_supported_pipeline_class_is_accepted(digit_dir, tmp_path):
    """`_class_name` must be exactly StableDiffusionPipeline: SDXL, a list, or a look-alike are refused."""
    from medai_lessons.stable_diffusion.loading import SUPPORTED_PIPELINES, check_model_dir

    assert SUPPORTED_PIPELINES == ("StableDiffusionPipeline",)
    folder = _copy(digit_dir, tmp_path)
    for name in ("StableDiffusionXLPipeline", ["StableDiffusionPipeline"], "StableDiffusionPipelineX"):
        _edit(folder / "model_index.json", _class_name=name)
        with pytest.raises(ValueError, match=r"`model_dir` .* expected a Stable Diffusion 1\.x/2\.x checkpoint"):
            check_model_dir(folder)


def test_sd_generate_refuses_a_pickle_only_model_in_one_line(digit_dir, tmp_path, capsys):
    """The CLI's word-for-word message for a `.bin`-only part, naming `--model`; nothing is written."""
    folder = _copy(digit_dir, tmp_path)
    os.replace(folder / "text_encoder/model.safetensors", folder / "text_encoder/pytorch_model.bin")
    out = tmp_path / "x.png"
    assert main(["sd", "generate", "--model", str(folder), "--prompt", "a 3", "--height", "32", "--width", "32",
                 "--device", "cpu", "--no-progress", "--out", str(out)]) == 2
    assert _our_lines(capsys) == [
        f"medai-lessons sd generate: error: `--model`: {folder / 'text_encoder'} holds pickle weights only "
        "(pytorch_model.bin); this package loads safetensors only and never unpickles. "
        "Convert them with a tool you trust."
    ]
    assert not out.exists()


# -- silent NaN / inf ---------------------------------------------------------------------------------
def test_ct_window_is_bounded_so_it_never_returns_nan():
    """A window beyond 16-bit CT numbers is refused by name; the widest allowed one is finite."""
    from medai_lessons.data import load_ct_slice

    with pytest.raises(ValueError, match=r"`center` must be <= 65536, got 1e\+308"):
        load_ct_slice(center=1e308, width=1e308)
    with pytest.raises(ValueError, match=r"`width` must be <= 131072"):
        load_ct_slice(width=1e12)
    x = load_ct_slice(center=-limits.MAX_HU, width=2 * limits.MAX_HU)
    assert torch.isfinite(x).all() and x.shape == (1, 1, 128, 128)


def _schedule():
    from medai_lessons.diffusion import NoiseSchedule

    return NoiseSchedule.linear(20)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e30])
def test_ddpm_loss_refuses_a_model_that_returns_nan_inf_or_overflow(bad):
    """A model returning NaN, infinity or values too large to square: a ValueError naming `model`."""
    from medai_lessons.diffusion import ddpm_loss

    with pytest.raises(ValueError, match=r"`model` returned NaN, infinity or values too large to square"):
        ddpm_loss(lambda x, t: torch.full_like(x, bad), _schedule(), torch.zeros(2, 1, 8, 8), t=3)


def test_ddpm_loss_refuses_an_empty_batch():
    """No images, no mean: a ValueError naming `x0` instead of a NaN loss."""
    from medai_lessons.diffusion import ddpm_loss

    with pytest.raises(ValueError, match=r"`x0` must hold at least one image, got shape \(0, 1, 8, 8\)"):
        ddpm_loss(lambda x, t: x, _schedule(), torch.zeros(0, 1, 8, 8))


def test_ema_update_refuses_nan_weights():
    """NaN weights would stay in the average forever: refused by name, the average untouched."""
    from medai_lessons.diffusion.train import ema_update

    ema, model = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = ema.weight.detach().clone()
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"`model` has NaN or infinite weights"):
        ema_update(ema, model, 0.9)
    assert torch.equal(ema.weight, before)


@pytest.mark.parametrize("betas", [[1e-300] * 50, [1e-20] * 50, [1e-10] * 5])
def test_betas_below_the_smallest_are_refused_and_the_smallest_samples(betas):
    """Betas whose 1 - alpha_bar rounds to 0 are refused by name (DDIM divided by zero before);
    a schedule of the smallest allowed betas samples finite images."""
    from medai_lessons.diffusion import NoiseSchedule, ddim_sample

    with pytest.raises(ValueError, match=r"`betas` must be >= 1e-09"):
        NoiseSchedule(betas)
    with pytest.raises(ValueError, match=r"`beta_start` must be >= 1e-09"):
        NoiseSchedule.linear(10, beta_start=1e-12, beta_end=0.02)
    out = ddim_sample(lambda x, t: torch.zeros_like(x), NoiseSchedule([limits.MIN_BETA] * 50), (2, 1, 4, 4),
                      num_inference_steps=5, eta=1.0, generator=torch.Generator().manual_seed(0), progress=False)
    assert torch.isfinite(out).all()


# -- work and memory bounded before they start ---------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: __import__("medai_lessons.diffusion.unet", fromlist=["x"]).timestep_embedding(
            torch.arange(10**6), 4096), r"`t` \(1,000,000 steps\) times `dim` \(4096\) asks for [\d,]+ values; "
                                        r"at most 134,217,728"),
        (lambda: __import__("medai_lessons.diffusion", fromlist=["x"]).NoiseSchedule(range(10**9)),
         r"`betas` must hold at most 100,000 values \(DDPM uses 1,000\), got 1,000,000,000"),
        (lambda: __import__("medai_lessons.diffusion.quality", fromlist=["x"]).quality_report(
            torch.zeros(1, 1, 8, 8).expand(10**7, 1, 8, 8)), r"`images` must hold at most 65,536 images"),
        (lambda: __import__("medai_lessons.diffusion", fromlist=["x"]).UNet(1, (1,) * 100_000, 8, 4),
         r"`channels` must hold at most 8 widths \(one per level; the digits use 2\), got 100,000"),
        (lambda: __import__("medai_lessons.calculus", fromlist=["x"]).gradient(
            lambda v: float(v[0]), np.zeros(200_000)), r"`point` must hold at most 10000 values, got 200000"),
        (lambda: __import__("medai_lessons.gradient_descent", fromlist=["x"]).fit_line(
            np.ones(10**5), np.ones(10**5), epochs=10**4),
         r"`epochs` \(10,000\) times the 100,000 points of `x` must be <= 100,000,000"),
        (lambda: __import__("medai_lessons.diffusion", fromlist=["x"]).ddim_timesteps(10**12, 5),
         r"`num_train_timesteps` must be <= 100000 \(the longest schedule; DDPM uses 1,000\)"),
    ],
    ids=["timestep_embedding", "NoiseSchedule", "quality_report", "UNet-levels", "gradient", "fit_line",
         "ddim_timesteps"],
)
def test_large_requests_are_refused_before_the_work_with_the_limit(call, match):
    """Each request beyond a lesson's needs is refused at the door, and the message states the limit."""
    with pytest.raises(ValueError, match=match):
        call()


# -- errors that name the right argument ---------------------------------------------------------------
@pytest.fixture(scope="module")
def pretrained_parts():
    from safetensors import safe_open

    from medai_lessons.diffusion.checkpoint import PRETRAINED_DIGITS, _data_file

    with safe_open(str(_data_file(PRETRAINED_DIGITS)), framework="pt") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def _variant(tmp_path, parts, change=None, scale=1.0):
    from safetensors.torch import save_file

    meta, tensors = parts
    path = tmp_path / "ckpt.safetensors"
    save_file({k: v * scale for k, v in tensors.items()}, str(path), metadata={**meta, **(change or {})})
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"model_config": "[" * 100_000 + "]" * 100_000}, r"`path`: .*`model_config` metadata is nested too deeply"),
        ({"train_config": "{" + '"a":' * 1 + "[" * 100_000 + "]" * 100_000 + "}"}, r"`path`: .*nested too deeply"),
        ({"model_config": '{"in_channels": ' + "9" * 5000 + "}"}, r"`path`: .*holds an integer with too many digits"),
        ({"schedule": json.dumps({"kind": "custom", "betas": [1e-300] * 50})},
         r"`path` .*: the schedule metadata is invalid \(`betas` must be >= 1e-09"),
    ],
    ids=["nested-model-config", "nested-train-config", "5000-digits", "tiny-betas"],
)
def test_checkpoint_metadata_errors_name_path(tmp_path, pretrained_parts, change, match):
    """Deep nesting, a 5,000-digit integer and betas too small: a ValueError naming `path`, not
    RecursionError, Python's digit-limit message or `betas`."""
    from medai_lessons.diffusion import load_checkpoint

    with pytest.raises(ValueError, match=match):
        load_checkpoint(_variant(tmp_path, pretrained_parts, change))


def test_read_sample_size_refuses_a_superscript_two(tmp_path, pretrained_parts):
    """'²' is a digit to str.isdigit but not to int(): refused naming `path`."""
    from medai_lessons.diffusion.checkpoint import read_sample_size

    with pytest.raises(ValueError, match=r"`path` .*: `sample_size` in the metadata must be an integer, got '²'"):
        read_sample_size(_variant(tmp_path, pretrained_parts, {"sample_size": "²"}))


def test_weights_of_1e30_are_blamed_on_the_checkpoint_and_the_model(tmp_path, pretrained_parts):
    """A file with 1e30 weights is refused naming `path`; such a model in memory is blamed as
    `model`, not the images `x_t`."""
    from medai_lessons.diffusion import UNet, ddim_sample, load_checkpoint

    with pytest.raises(ValueError, match=r"`path` .*: a weight reaches [\d.e+]+; a trained U-Net's stay far "
                                         r"below 10000, and larger"):
        load_checkpoint(_variant(tmp_path, pretrained_parts, scale=1e30))
    model = UNet(1, (8, 8), 8)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e30)
    with pytest.raises(ValueError, match=r"the U-Net's weights are too large \(largest \|weight\| 1e\+30\), so "
                                         r"`model` cannot be used"):
        ddim_sample(model, _schedule(), (1, 1, 8, 8), num_inference_steps=2, progress=False)


def test_a_channel_mismatch_in_shape_is_blamed_on_shape():
    """Three channels for a one-channel U-Net: the sampler names `shape` before the first call."""
    from medai_lessons.diffusion import UNet, ddpm_sample

    with pytest.raises(ValueError, match=r"`shape` must be \(batch, 1, height, width\) with sides divisible by 2"):
        ddpm_sample(UNet(1, (8, 8), 8), _schedule(), (2, 3, 8, 8), progress=False)


def test_noise_schedule_kind_and_params_are_checked_by_name():
    """`kind` must be one of the three labels, `params` a dict."""
    from medai_lessons.diffusion import NoiseSchedule

    with pytest.raises(TypeError, match=r"`kind` must be a string, one of \('linear', 'cosine', 'custom'\)"):
        NoiseSchedule([0.1], kind=3)
    with pytest.raises(ValueError, match=r"`kind` must be one of"):
        NoiseSchedule([0.1], kind="quadratic")
    with pytest.raises(TypeError, match=r"`params` must be a dict or None, got str"):
        NoiseSchedule([0.1], params="x")


def test_a_masked_array_is_refused_when_something_is_masked():
    """Masked entries are never silently unmasked; an array with nothing masked is used as it is."""
    from medai_lessons.gradient_descent import mse

    masked = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"`x` is a masked array with masked entries"):
        mse(masked, [1.0, 2.0, 3.0], 1.0, 0.0)
    assert mse(np.ma.array([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0], 1.0, 0.0) == 0.0


def _inference_copy(x):
    with torch.inference_mode():
        return x.clone()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda x: x.to("meta"), ValueError, r"`x_t` must be on the model's device"),
        (lambda x: x.half(), TypeError, r"`x_t` must have the model's dtype torch.float32, got torch.float16"),
        (lambda x: x.to_sparse(), TypeError, r"`x_t` must be a dense tensor"),
        (lambda x: torch.nested.nested_tensor(list(x)), TypeError, r"`x_t` must be a dense tensor"),
        (_inference_copy, TypeError, r"`x_t` was made under torch.inference_mode\(\)"),
    ],
    ids=["meta", "half", "sparse", "nested", "inference"],
)
def test_unusual_tensors_are_refused_by_name(make, error, match):
    """Meta, half-precision, sparse, nested and inference-mode tensors never reach torch's own errors."""
    from medai_lessons.diffusion import UNet

    with pytest.raises(error, match=match):
        UNet(1, (8, 8), 8)(make(torch.zeros(2, 1, 8, 8)), 3)


@pytest.mark.parametrize("make", [lambda b: b.to_sparse(), lambda b: torch.nested.nested_tensor([b])],
                         ids=["sparse", "nested"])
def test_sparse_and_nested_betas_and_images_are_refused(make):
    """The schedule and the quality report refuse sparse and nested tensors with a TypeError naming them."""
    from medai_lessons.diffusion import NoiseSchedule
    from medai_lessons.diffusion.quality import quality_report

    with pytest.raises(TypeError, match=r"`betas` must be a dense tensor"):
        NoiseSchedule(make(torch.full((10,), 0.01)))
    with pytest.raises(TypeError, match=r"`images` must be a dense tensor"):
        quality_report(make(torch.zeros(2, 1, 8, 8)))


# -- interrupts ----------------------------------------------------------------------------------------
@main_thread_only
def test_a_signal_noted_after_the_final_check_is_not_lost(monkeypatch):
    """A signal that lands between the loop's last check and the end of the block (the window
    where a loaded machine lost it before) still stops the run."""
    real_check, calls = interrupts.check, []

    def check_then_signal() -> None:
        real_check()
        calls.append(1)
        os.kill(os.getpid(), signal.SIGINT)  # noted, not raised: the block is still deferring

    monkeypatch.setattr(interrupts, "check", check_then_signal)
    with pytest.raises(interrupts.StopRequested), interrupts.stop_at_step_boundaries():
        pass
    assert calls == [1]


@main_thread_only
def test_an_empty_partial_from_an_interrupted_start_does_not_block_the_next_run(tmp_path, capsys):
    """A killed start leaves an empty <out>.partial: the same command starts afresh and says so in one line."""
    out = tmp_path / "run"
    partial = tmp_path / "run.partial"
    partial.mkdir()
    (partial / "leftover.tmp").write_text("half")
    assert main(["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *TINY, "--out", str(out)]) == 0
    assert _our_lines(capsys) == [
        f"medai-lessons ddpm train: {partial} holds an interrupted start with nothing to resume; starting afresh"
    ]
    assert (out / "digits-ddpm.safetensors").is_file() and not partial.exists()
    assert not (out / "leftover.tmp").exists()


@main_thread_only
def test_a_ctrl_c_during_data_loading_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the images load: exit 130, one line, no <out>.partial, and the same command runs."""
    import medai_lessons.diffusion.cli as ddpm_cli

    real = ddpm_cli._training_images

    def interrupted(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args)

    monkeypatch.setattr(ddpm_cli, "_training_images", interrupted)
    out = tmp_path / "run"
    argv = ["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *TINY, "--out", str(out)]
    assert main(argv) == 130
    assert _our_lines(capsys) == [
        f"medai-lessons ddpm train: interrupted before training started; nothing was written to {out}"
    ]
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(ddpm_cli, "_training_images", real)
    assert main(argv) == 0


def _lock_holder(folder):
    """A separate process that holds the run lock on ``folder`` until its stdin closes."""
    code = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); "
            "print('locked', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"  # an event, not a guessed time
    return proc


@main_thread_only
def test_a_second_run_into_the_same_out_is_refused_while_the_first_holds_it(tmp_path, capsys):
    """Another process owns <out>.partial: the second run is refused at once with one line, and the
    folder is left alone; once the owner is gone the same command starts afresh."""
    pytest.importorskip("fcntl")
    out, partial = tmp_path / "run", tmp_path / "run.partial"
    partial.mkdir()
    (partial / "theirs.txt").write_text("in use")
    owner = _lock_holder(partial)
    argv = ["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *TINY, "--out", str(out)]
    try:
        assert main(argv) == 2
        assert _our_lines(capsys) == [
            f"medai-lessons ddpm train: error: `--out` {out}: another run is writing to {partial} right now; "
            "wait for it to finish or choose another --out."
        ]
        assert (partial / "theirs.txt").read_text() == "in use"
    finally:
        owner.stdin.close()
        owner.wait(timeout=300)
    assert main(argv) == 0 and (out / "digits-ddpm.safetensors").is_file()


@main_thread_only
def test_a_stop_after_the_run_was_published_exits_130_and_keeps_it(tmp_path, capsys, monkeypatch):
    """The decision for a late Ctrl-C: too late to undo, so the run is kept, the exit status is
    still 130 (a stop asked for is never reported as success), and the line says where it is."""
    import medai_lessons.diffusion.cli as ddpm_cli

    real = ddpm_cli.publish_dir

    def publish_then_interrupt(stage, target):
        done = real(stage, target)
        os.kill(os.getpid(), signal.SIGINT)
        return done

    monkeypatch.setattr(ddpm_cli, "publish_dir", publish_then_interrupt)
    out = tmp_path / "run"
    assert main(["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *TINY, "--out", str(out)]) == 130
    assert _our_lines(capsys) == [
        f"medai-lessons ddpm train: interrupted after the run was complete; it is kept in {out}"
    ]
    assert (out / "digits-ddpm.safetensors").is_file() and (out / "samples-ddim.png").is_file()


@main_thread_only
def test_resume_after_a_real_signal_right_after_a_checkpoint_is_bit_identical(tmp_path, capsys, monkeypatch):
    """SIGINT the moment checkpoint 2 is written: resuming from it ends bit for bit where a run
    never interrupted ends (weights, EMA and losses)."""
    from safetensors.torch import load_file

    import medai_lessons.diffusion.train as train

    argv = ["ddpm", "train", "--train-steps", "4", "--checkpoint-every", "2", *TINY]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    real = train._save_train_state

    def save_then_interrupt(*args, **kwargs):
        folder = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # noted; acted on at the next step boundary
        return folder

    monkeypatch.setattr(train, "_save_train_state", save_then_interrupt)
    out = tmp_path / "run"
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 130
    checkpoint = tmp_path / "run.partial" / "checkpoints" / "step-0000002"
    assert _our_lines(capsys) == [
        f"medai-lessons ddpm train: interrupted at step 2; the last complete checkpoint is {checkpoint} "
        f"(continue with: medai-lessons ddpm train --resume {checkpoint} --out {out})"
    ]
    monkeypatch.setattr(train, "_save_train_state", real)
    assert main(["ddpm", "train", "--resume", str(checkpoint), "--no-progress", "--cpu", "--out", str(out)]) == 0
    for name in ["digits-ddpm.safetensors", "digits-ddpm-raw.safetensors"]:
        a, b = load_file(str(out / name)), load_file(str(tmp_path / "full" / name))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    losses = [json.loads((d / "digits-ddpm-history.json").read_text())["losses"] for d in (out, tmp_path / "full")]
    assert losses[0] == losses[1]


def _sd_points():
    import diffusers

    import medai_lessons.stable_diffusion.captioned_images as captioned_images
    import medai_lessons.stable_diffusion.train_digits as train_digits

    return {
        "data-loading": (captioned_images, "load_captioned_images", True),
        "start-up": (train_digits, "build_digit_components", False),
        "autoencoder": (train_digits, "_latents", True),
        "unet": (train_digits, "_train_unet", True),
        "saving": (diffusers.StableDiffusionPipeline, "save_pretrained", False),
    }


@main_thread_only
@pytest.mark.parametrize("point", ["data-loading", "start-up", "autoencoder", "unet", "saving"])
def test_sd_train_digits_interrupted_at_any_point_writes_nothing(tmp_path, capsys, monkeypatch, point):
    """A real SIGINT at each stage of `sd train-digits` (data, start-up, both phases, the save):
    exit 130, one line, neither the model folder nor a temporary one."""
    pytest.importorskip("diffusers")
    module, name, before = _sd_points()[point]
    real = getattr(module, name)

    def hooked(*args, **kwargs):
        if before:
            os.kill(os.getpid(), signal.SIGINT)
        result = real(*args, **kwargs)
        if not before:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(module, name, hooked)
    out = tmp_path / "model"
    assert main(["sd", "train-digits", "--vae-steps", "1", "--unet-steps", "1", "--cpu-threads", "1",
                 "--out", str(out)]) == 130
    assert _our_lines(capsys) == [
        f"medai-lessons sd train-digits: interrupted before the model was complete; nothing was written to {out}"
    ]
    assert list(tmp_path.iterdir()) == []


@main_thread_only
def test_sd_train_digits_stopped_after_the_model_was_published_keeps_it(tmp_path, capsys, monkeypatch):
    """A stop after the rename is too late to undo: exit 130, and the line says the model is kept."""
    pytest.importorskip("diffusers")
    import medai_lessons.stable_diffusion.train_digits as train_digits

    real = train_digits.train_digit_pipeline

    def train_then_interrupt(*args, **kwargs):
        summary = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return summary

    monkeypatch.setattr(train_digits, "train_digit_pipeline", train_then_interrupt)
    out = tmp_path / "model"
    assert main(["sd", "train-digits", "--vae-steps", "1", "--unet-steps", "1", "--cpu-threads", "1",
                 "--out", str(out)]) == 130
    assert _our_lines(capsys) == [
        f"medai-lessons sd train-digits: interrupted after the model was complete; it is kept in {out}"
    ]
    assert (out / "model_index.json").is_file()
