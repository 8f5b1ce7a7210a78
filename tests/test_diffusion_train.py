"""Training runs: renamed settings, diffusers' EMA and schedule, resumable checkpoints, several processes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import medai_lessons.diffusion.train as train
from medai_lessons.diffusion import TrainConfig, ema_update, load_checkpoint, load_digits_images, train_ddpm
from medai_lessons.diffusion.grid import image_grid, save_grid

TINY = {"batch_size": 32, "channels": (8, 8), "time_dim": 8, "warmup_steps": 2, "num_train_timesteps": 20}


# -- names ---------------------------------------------------------------------------------
def test_train_config_old_names_warn_and_map():
    """`steps=` and `num_train_steps=` still work, warn, and set `train_steps` / `num_train_timesteps`."""
    with pytest.warns(FutureWarning, match="`steps` is deprecated .* use `train_steps` instead"):
        cfg = TrainConfig(steps=7)
    with pytest.warns(FutureWarning, match="`num_train_steps` is deprecated .* use `num_train_timesteps` instead"):
        cfg2 = TrainConfig(num_train_steps=50)
    assert cfg.train_steps == 7 and cfg2.num_train_timesteps == 50
    with pytest.warns(FutureWarning, match=r"`TrainConfig\.steps` is deprecated .* use `TrainConfig\.train_steps`"):
        assert cfg.steps == 7
    with pytest.raises(TypeError, match="pass `train_steps` only, not also its deprecated alias `steps`"):
        TrainConfig(steps=3, train_steps=4)


def test_train_config_lr_is_the_old_name_of_learning_rate():
    """`lr=` and `.lr` still work and warn, naming `learning_rate`, the name `DigitSDConfig` uses too."""
    with pytest.warns(FutureWarning, match="`lr` is deprecated .* use `learning_rate` instead"):
        cfg = TrainConfig(lr=5e-4)
    assert cfg.learning_rate == 5e-4 and cfg == TrainConfig(learning_rate=5e-4)
    with pytest.warns(FutureWarning, match=r"`TrainConfig\.lr` is deprecated .* use `TrainConfig\.learning_rate`"):
        assert cfg.lr == 5e-4
    with pytest.raises(TypeError, match="pass `learning_rate` only, not also its deprecated alias `lr`"):
        TrainConfig(lr=1e-3, learning_rate=1e-3)


def test_train_config_written_with_lr_rebuilds_quietly():
    """A config saved before the rename (keys `steps`, `lr`, `num_train_steps`) rebuilds without a warning."""
    old = {"steps": 30, "batch_size": 8, "lr": 0.01, "warmup_steps": 1, "ema_decay": 0.9, "seed": 2,
           "channels": [8, 8], "time_dim": 8, "schedule": "cosine", "num_train_steps": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = TrainConfig.from_dict(old)
    assert cfg == TrainConfig(train_steps=30, batch_size=8, learning_rate=0.01, warmup_steps=1, ema_decay=0.9,
                              seed=2, channels=(8, 8), time_dim=8, schedule="cosine", num_train_timesteps=20)


def test_shipped_checkpoint_with_old_keys_still_loads():
    """The packaged checkpoint stores `steps`/`num_train_steps` (old keys); it loads and its config rebuilds."""
    from medai_lessons.diffusion.checkpoint import PRETRAINED_DIGITS, _data_file

    model, schedule, stored = load_checkpoint(_data_file(PRETRAINED_DIGITS))
    assert stored["steps"] == 2000 and stored["num_train_steps"] == 1000  # written before the rename
    assert stored["lr"] == 0.002
    cfg = TrainConfig.from_dict(stored)
    assert (cfg.train_steps, cfg.num_train_timesteps, cfg.channels) == (2000, 1000, (32, 32))
    assert cfg.learning_rate == 0.002
    assert len(schedule) == 1000 and model.config["channels"] == [32, 32]


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"train_steps": 0}, ValueError, r"`train_steps` must be >= 1"),
        ({"train_steps": 10**12}, ValueError, r"`train_steps` must be <= 10000000"),
        ({"num_train_timesteps": 0}, ValueError, r"`num_train_timesteps` must be >= 1"),
        ({"seed": 2**64}, ValueError, r"`seed` must be <= 18,446,744,073,709,551,615 \(2\*\*64 - 1, what torch"),
        ({"learning_rate": float("nan")}, ValueError, r"`learning_rate` must be finite"),
        ({"channels": "32,32"}, TypeError, r"`channels` must be a sequence of integers"),
        ({"time_dim": 7}, ValueError, r"`time_dim` must be even"),
        ({"learning_rate": -1.0}, ValueError, r"`learning_rate` must be > 0"),
        ({"ema_decay": 1.0}, ValueError, r"`ema_decay` must lie in \[0, 1\)"),
        ({"schedule": "quadratic"}, ValueError, r"`schedule` must be 'linear' or 'cosine'"),
        ({"batch_size": 2.0}, TypeError, r"`batch_size` must be an integer"),
    ],
)
def test_train_config_refuses_bad_settings(kw, error, match):
    """Bad settings are refused when the config is made, naming the setting."""
    with pytest.raises(error, match=match):
        TrainConfig(**kw)


# -- EMA -----------------------------------------------------------------------------------
def test_ema_update_matches_diffusers_ema_model():
    """Our lesson `ema_update` at decay d gives diffusers' `EMAModel.step` with the decay pinned to d."""
    from diffusers.training_utils import EMAModel

    torch.manual_seed(0)
    model, ours = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    ours.load_state_dict(model.state_dict())
    theirs = EMAModel(model.parameters(), decay=0.9, min_decay=0.9)  # min_decay = decay: no warm-up
    theirs.step(model.parameters())  # diffusers' first step copies the weights (decay 0): here a no-op
    for _ in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        ema_update(ours, model, 0.9)
        theirs.step(model.parameters())
    for a, b in zip(ours.parameters(), theirs.shadow_params, strict=True):
        # lerp_ vs sub_(one_minus_decay * diff): two float32 roundings of the same formula
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_ema_update_moves_toward_weights_by_one_minus_decay():
    """EMA with decay d becomes d·θ̄ + (1−d)·θ: from 0 toward 1 with d = 0.9 gives 0.1."""
    a, b = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        a.weight.fill_(0.0)
        b.weight.fill_(1.0)
    ema_update(a, b, 0.9)
    assert a.weight.item() == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((None, "model", 0.9), TypeError, "`ema_model` must be a torch.nn.Module"),
        (("ema", None, 0.9), TypeError, "`model` must be a torch.nn.Module"),
        (("ema", "model", float("nan")), ValueError, "`decay` must be finite"),
        (("ema", "model", 5.0), ValueError, r"`decay` must lie in \[0, 1\], got 5.0"),
        (("ema", "model", "0.9"), TypeError, "`decay` must be a real number"),
        (("ema", "other", 0.9), ValueError, "`ema_model` must have the same parameter shapes as `model`"),
    ],
)
def test_ema_update_rejects_bad_arguments(args, error, match):
    """None models, NaN or out-of-range decay, and mismatched models are refused; nothing becomes NaN."""
    ema, model, other = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.Linear(3, 2)
    before = [p.clone() for p in ema.parameters()]
    named = {"ema": ema, "model": model, "other": other}
    with pytest.raises(error, match=match):
        ema_update(*(named.get(a, a) if isinstance(a, str) and a in named else a for a in args))
    assert all(torch.equal(a, b) for a, b in zip(before, ema.parameters(), strict=True))


def test_training_ema_follows_diffusers_warmup_decay():
    """diffusers' EMA copies the weights at step 1 (decay 0), then averages with decay (1+k)/(10+k) at step k+1."""
    data = load_digits_images()[:64]
    one = train_ddpm(data, TrainConfig(train_steps=1, **TINY), progress=False, cpu=True)
    for e, p in zip(one.ema_model.parameters(), one.model.parameters(), strict=True):
        assert torch.equal(e, p)
    two = train_ddpm(data, TrainConfig(train_steps=2, **TINY), progress=False, cpu=True)
    d = 2 / 11  # k = 1
    for e, p1, p2 in zip(two.ema_model.parameters(), one.model.parameters(), two.model.parameters(), strict=True):
        torch.testing.assert_close(e, d * p1 + (1 - d) * p2, rtol=1e-5, atol=1e-6)


def test_learning_rate_follows_diffusers_cosine_with_warmup(monkeypatch):
    """The learning rate of each step is diffusers' `get_cosine_schedule_with_warmup` (warm-up 2 of 6 steps)."""
    import math

    seen: list[float] = []
    real_step = torch.optim.AdamW.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    config = TrainConfig(train_steps=6, learning_rate=1e-3, **TINY)
    train_ddpm(load_digits_images()[:64], config, progress=False, cpu=True)
    # diffusers: k / W during warm-up, then 0.5 (1 + cos(pi (k - W) / (N - W)))
    expected = [1e-3 * (k / 2 if k < 2 else 0.5 * (1 + math.cos(math.pi * (k - 2) / 4))) for k in range(6)]
    assert seen == pytest.approx(expected, rel=1e-12)


# -- failures ------------------------------------------------------------------------------
def test_train_ddpm_rejects_nan_data():
    """NaN in the training images is refused up front, naming `data`."""
    data = load_digits_images()[:64].clone()
    data[3, 0, 2, 2] = float("nan")
    with pytest.raises(ValueError, match="`data` must not contain NaN or infinity"):
        train_ddpm(data, TrainConfig(train_steps=2, **TINY), progress=False, cpu=True)


def test_train_ddpm_stops_at_the_first_non_finite_loss():
    """A learning rate of 1e30 blows up; training stops with a ValueError that suggests a smaller `learning_rate`."""
    cfg = TrainConfig(train_steps=20, learning_rate=1e30, **TINY)
    with pytest.raises(ValueError, match=r"the loss became NaN or infinite at step \d+, so training stopped; "
                                         r"try a smaller `learning_rate` \(got 1e\+30\)"):
        train_ddpm(load_digits_images()[:64], cfg, progress=False, cpu=True)


def test_interrupt_keeps_the_last_complete_checkpoint_and_resume_is_bit_identical(tmp_path, monkeypatch):
    """Ctrl-C at step 8 keeps step 6; resuming from it reproduces an uninterrupted run exactly on the CPU."""
    data = load_digits_images()[:256]
    cfg = TrainConfig(train_steps=12, seed=3, **TINY)
    full = train_ddpm(data, cfg, progress=False, cpu=True)
    real_loss, calls = train.ddpm_loss, []

    def interrupted_loss(*args, **kwargs):
        calls.append(1)
        if len(calls) == 9:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(train, "ddpm_loss", interrupted_loss)
    with pytest.raises(train.TrainingInterrupted) as caught:
        train_ddpm(data, cfg, progress=False, cpu=True, checkpoint_every=3, checkpoint_dir=tmp_path)
    assert caught.value.step == 8 and caught.value.checkpoint == tmp_path / "step-0000006"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000006"]  # older ones pruned, no temp folders
    monkeypatch.setattr(train, "ddpm_loss", real_loss)
    resumed = train_ddpm(data, cfg, progress=False, cpu=True, resume_from=caught.value.checkpoint)
    assert resumed.losses == full.losses
    for a, b in ((resumed.model, full.model), (resumed.ema_model, full.ema_model)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="`learning_rate` differs from the run being resumed"):
        train_ddpm(data, TrainConfig(train_steps=12, seed=3, **{**TINY, "batch_size": 32}, learning_rate=0.1),
                   progress=False, cpu=True, resume_from=caught.value.checkpoint)


def test_resume_from_a_checkpoint_written_with_lr(tmp_path):
    """A training state whose stored config still says `lr` (written before the rename) resumes, quietly."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    data = load_digits_images()[:64]
    cfg = TrainConfig(train_steps=2, seed=1, **TINY)
    train_ddpm(data, cfg, progress=False, cpu=True, checkpoint_every=2, checkpoint_dir=tmp_path)
    state = tmp_path / "step-0000002" / train.STATE_FILE
    with safe_open(str(state), framework="pt") as f:
        metadata = f.metadata()
    stored = json.loads(metadata["train_config"])
    stored["lr"] = stored.pop("learning_rate")  # the key as an older release wrote it
    save_file(load_file(str(state)), str(state), metadata={**metadata, "train_config": json.dumps(stored)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        resumed = train_ddpm(data, TrainConfig(train_steps=3, seed=1, **TINY), progress=False, cpu=True,
                             resume_from=tmp_path / "step-0000002")
    assert len(resumed.losses) == 3 and resumed.config.learning_rate == cfg.learning_rate == 2e-3


# -- the image grid --------------------------------------------------------------------------
def test_image_grid_places_tiles_with_white_padding(tmp_path):
    """Three 2x2 tiles in rows of 2: a 7x7 grid, tiles mapped from [-1, 1] to [0, 1], white between."""
    images = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])
    grid = image_grid(images, 2)
    assert grid.shape == (7, 7)
    assert grid[1, 1] == 0.0 and grid[1, 4] == 0.5 and grid[4, 1] == 1.0
    assert grid[0].eq(1).all() and grid[:, 3].eq(1).all()  # padding
    path = save_grid(images, tmp_path / "g.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"`images` must be shaped \(n, 1, height, width\)"):
        image_grid(torch.zeros(2, 3, 4, 4))


# -- several processes -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_process_at_the_same_global_batch(tmp_path):
    """`accelerate launch` with 2 CPU processes (gloo) trains like one process at the same global batch.

    accelerate 1.x starts several local workers only through its torchrun path (``--multi_gpu``);
    its ``--cpu`` launcher starts one process unless MPI is installed. The command's own ``--cpu``
    keeps both workers on the CPU, where accelerate picks the gloo backend.

    Tolerance: each process takes half of every global batch (same indices, steps and noise as the
    one-process run), and DDP averages the two half-batch gradients, which equals the full-batch
    gradient up to float32 summation order (~1e-7 relative). Per-step losses therefore agree to
    1e-5 relative, and so does the loss of the final weights on held-out noise. Single weights can
    differ by up to a few Adam steps (lr = 2e-3 each), because Adam divides by sqrt(v): a coordinate
    whose gradient is ~0 moves by ±lr on the sign of its rounding noise. So the weights are compared
    on average (mean |Δθ| < 1e-4), not one by one.
    """
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or shutil.which("accelerate")
    if accelerate is None:
        pytest.skip("the accelerate launcher is not installed")
    out = tmp_path / "run"
    # each worker writes the world size it saw, after the command ran (accelerate's shared state)
    seen = tmp_path / "seen"
    seen.mkdir()
    worker = tmp_path / "worker.py"
    worker.write_text(
        "import json, sys\n"
        "from accelerate import PartialState\n"
        "from medai_lessons.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "state = PartialState()\n"
        f"path = {str(seen)!r} + f'/rank-{{state.process_index}}.json'\n"
        "with open(path, 'w') as fh:\n"
        "    json.dump({'num_processes': state.num_processes, 'distributed': state.use_distributed}, fh)\n"
        "sys.exit(code)\n"
    )
    args = ["--train-steps", "30", "--batch-size", "64", "--channels", "8,8", "--time-dim", "8",
            "--warmup-steps", "3", "--num-train-timesteps", "50", "--checkpoint-every", "10", "--cpu", "--no-progress"]
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(worker), "ddpm", "train", *args, "--out", str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # two workers ran, and each saw a world of two
    worlds = {p.name: json.loads(p.read_text()) for p in sorted(seen.iterdir())}
    assert worlds == {f"rank-{r}.json": {"num_processes": 2, "distributed": True} for r in (0, 1)}
    # only the main process wrote: each file once, no leftovers of a second writer
    assert proc.stdout.count("wrote ema:") == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoints", "digits-ddpm-history.json", "digits-ddpm-raw.safetensors", "digits-ddpm.safetensors",
        "samples-ddim.png"]
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-0000030"]
    assert not (tmp_path / "run.partial").exists()

    cfg = TrainConfig(train_steps=30, batch_size=64, channels=(8, 8), time_dim=8, warmup_steps=3,
                      num_train_timesteps=50)
    one = train_ddpm(load_digits_images(), cfg, progress=False, cpu=True)
    two_losses = json.loads((out / "digits-ddpm-history.json").read_text())["losses"]  # rounded to 6 decimals
    assert two_losses == pytest.approx([round(v, 6) for v in one.losses], rel=1e-5, abs=2e-6)
    two, schedule, _ = load_checkpoint(out / "digits-ddpm-raw.safetensors")
    diffs = torch.cat([(a - b).abs().flatten() for a, b in zip(two.parameters(), one.model.parameters(), strict=True)])
    assert diffs.mean().item() < 1e-4
    x0 = load_digits_images()[:256]
    gen = torch.Generator().manual_seed(0)
    t, noise = torch.randint(0, 50, (256,), generator=gen), torch.randn(x0.shape, generator=gen)
    with torch.no_grad():
        held_out = [train.ddpm_loss(m, schedule, x0, t=t, noise=noise).item() for m in (two, one.model)]
    assert held_out[0] == pytest.approx(held_out[1], rel=1e-5)
