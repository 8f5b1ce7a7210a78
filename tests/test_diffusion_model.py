"""The U-Net, the samplers, checkpoints and training."""

from __future__ import annotations

import json

import pytest
import torch

from medai_lessons.diffusion import (
    NoiseSchedule,
    TrainConfig,
    UNet,
    ddim_sample,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    load_checkpoint,
    load_pretrained_digits,
    load_pretrained_history,
    save_checkpoint,
    timestep_embedding,
    train_ddpm,
)

SMALL = NoiseSchedule.linear(num_train_timesteps=20)


def _model(seed: int = 0, **kw) -> UNet:
    torch.manual_seed(seed)
    return UNet(**kw).eval()


def test_unet_output_shape_and_size():
    """The default U-Net maps (B,1,8,8) to (B,1,8,8) and has 142,401 weights (100k-150k target)."""
    model = _model()
    out = model(torch.zeros(3, 1, 8, 8), torch.tensor([0, 10, 999]))
    assert out.shape == (3, 1, 8, 8)
    assert model.num_parameters() == 142_401  # counted from the layer sizes in unet.py


def test_unet_three_levels_and_int_step():
    """Three levels on 16x16 RGB images, with a plain int step."""
    model = _model(in_channels=3, channels=(8, 16, 16))
    assert model(torch.zeros(2, 3, 16, 16), 5).shape == (2, 3, 16, 16)


def test_feature_shapes_follow_the_hourglass():
    """Three levels on 16×16: the side halves per level on the way down and doubles back up; each up
    block receives its level's skip channels stacked on the (upsampled) path's; no hook is left behind."""
    model = UNet(channels=(8, 16, 24), time_dim=12)
    shapes = model.feature_shapes(16, 16)
    assert list(shapes)[:3] == ["input", "time_emb", "conv_in"] and list(shapes)[-1] == "conv_out"
    assert shapes["time_emb"] == (12,)
    assert [shapes[f"down.{i}"] for i in range(3)] == [(8, 16, 16), (16, 8, 8), (24, 4, 4)]
    assert shapes["mid"] == (24, 4, 4)
    assert [shapes[f"up.{j}.in"] for j in range(3)] == [(24 + 24, 4, 4), (16 + 16, 8, 8), (8 + 8, 16, 16)]
    assert [shapes[f"upsample.{j}"] for j in range(2)] == [(16, 8, 8), (8, 16, 16)]
    assert [shapes[f"up.{j}"] for j in range(3)] == [(24, 4, 4), (16, 8, 8), (8, 16, 16)]
    assert shapes["conv_out"] == (1, 16, 16)
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize(
    ("size", "error", "match"),
    [((6, 8), ValueError, "`height` must be divisible by 4"), ((8, 0), ValueError, "`width` must be >= 1"),
     ((True, 8), TypeError, "`height`"), ((8, 512), ValueError, "`width` must be <= 256"),
     ((8.0, 8), TypeError, "`height`")],
)
def test_feature_shapes_refuses_bad_sizes(size, error, match):
    """Sizes that the network cannot halve, or that are not positive integers, name the argument."""
    with pytest.raises(error, match=match):
        UNet(channels=(8, 8, 8)).feature_shapes(*size)


def test_unet_depends_on_step():
    """The step embedding changes the output: ε_θ(x, 1) ≠ ε_θ(x, 900)."""
    model, x = _model(), torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(model(x, 1), model(x, 900))


def test_timestep_embedding_is_sin_cos_with_unit_norm_per_pair():
    """Each (sin, cos) pair has norm 1, so the embedding of any t has squared norm dim/2."""
    emb = timestep_embedding(torch.tensor([0, 7, 999]), 16)
    assert emb.shape == (3, 16)
    assert torch.allclose((emb**2).sum(1), torch.full((3,), 8.0))
    assert torch.equal(emb[0, :8], torch.zeros(8))  # sin(0) = 0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: _model()(torch.zeros(2, 8, 8), 1),
            ValueError,
            r"`x_t` must be shaped \(batch, channels",
        ),
        (lambda: _model()(torch.zeros(2, 3, 8, 8), 1), ValueError, r"`x_t` must have 1 channel"),
        (lambda: _model()(torch.zeros(2, 1, 7, 7), 1), ValueError, r"divisible by 2"),
        (lambda: UNet(channels=()), ValueError, r"`channels` must hold at least one"),
        (lambda: UNet(channels="32"), TypeError, r"`channels` must be a sequence"),
        (lambda: UNet(time_dim=33), ValueError, r"`time_dim` must be even"),
        (lambda: UNet(in_channels=0), ValueError, r"`in_channels` must be >= 1"),
        (lambda: timestep_embedding(torch.zeros(1), 3), ValueError, r"`dim` must be even"),
    ],
)
def test_unet_validation(call, error, match):
    """Bad shapes and sizes raise errors that name the argument."""
    with pytest.raises(error, match=match):
        call()


def test_ddim_timesteps_leading_spacing():
    """DDIM visits 980, 960, ..., 0 for T=1000, S=50 (diffusers' "leading" spacing)."""
    taus = ddim_timesteps(1000, 50)
    assert taus[:2] == [980, 960] and taus[-1] == 0 and len(taus) == 50


def test_ddim_eta0_is_deterministic_given_the_start_noise():
    """With η = 0 two runs from the same x_T agree exactly, whatever the generator."""
    model = _model()
    x_T = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a = ddim_sample(
        model,
        SMALL,
        (2, 1, 8, 8),
        num_inference_steps=5,
        x_T=x_T,
        progress=False,
        generator=torch.Generator().manual_seed(1),
    )
    b = ddim_sample(
        model,
        SMALL,
        (2, 1, 8, 8),
        num_inference_steps=5,
        x_T=x_T,
        progress=False,
        generator=torch.Generator().manual_seed(2),
    )
    assert torch.equal(a, b)


def test_ddim_eta1_every_step_has_ddpm_variance():
    """DDIM's σ_t with η = 1 between consecutive steps is DDPM's √β̃_t (Song et al. 2021, Eq. 16)."""
    x_t, eps, z = torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
    out = ddim_step(SMALL, eps, x_t, 10, 9, eta=1.0, noise=z)
    a_bar, a_prev = SMALL.alphas_cumprod[10], SMALL.alphas_cumprod[9]
    beta_tilde = (1 - a_prev) / (1 - a_bar) * SMALL.betas[10]
    assert out.item() == pytest.approx(beta_tilde.sqrt().item(), rel=1e-5)


def test_ddim_matches_diffusers_ddim_scheduler():
    """Our DDIM-10 loop equals diffusers' DDIMScheduler (η=0, leading spacing) to 1e-4."""
    diffusers = pytest.importorskip("diffusers")
    schedule = NoiseSchedule.linear()
    ref = diffusers.DDIMScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        clip_sample=False,
        set_alpha_to_one=True,
    )
    ref.set_timesteps(10)
    assert ref.timesteps.tolist() == ddim_timesteps(1000, 10)
    model = _model()
    x_T = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    ours = ddim_sample(model, schedule, (4, 1, 8, 8), num_inference_steps=10, x_T=x_T, progress=False)
    x = x_T.clone()
    with torch.no_grad():
        for t in ref.timesteps:
            x = ref.step(model(x, t.expand(4)), t, x, eta=0.0).prev_sample
    assert (ours - x).abs().max() < 1e-4


def test_ddpm_sample_returns_every_intermediate():
    """return_intermediates gives T+1 snapshots from t=T−1 down to −1, the last equal to the output."""
    x, trail = ddpm_sample(
        _model(),
        SMALL,
        (2, 1, 8, 8),
        progress=False,
        generator=torch.Generator().manual_seed(0),
        return_intermediates=True,
    )
    assert [t for t, _ in trail] == list(range(19, -2, -1))
    assert torch.equal(trail[-1][1], x)


def test_ddpm_sample_is_reproducible_with_a_generator():
    """The same seed gives the same images; a different seed different ones."""

    def run(seed):
        return ddpm_sample(
            _model(),
            SMALL,
            (2, 1, 8, 8),
            progress=False,
            generator=torch.Generator().manual_seed(seed),
        )

    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ddim_timesteps(10, 20), ValueError, r"`num_inference_steps` must be <= the schedule's 10"),
        (lambda: ddim_timesteps(10, 0), ValueError, r"`num_inference_steps` must be >= 1"),
        (
            lambda: ddim_step(SMALL, torch.zeros(1, 1), torch.zeros(1, 1), 5, 5),
            ValueError,
            r"`t_prev` must satisfy",
        ),
        (
            lambda: ddim_step(SMALL, torch.zeros(1, 1), torch.zeros(1, 1), 5, 4, eta=-1),
            ValueError,
            r"`eta` must be >= 0",
        ),
        (
            lambda: ddpm_sample(_model(), SMALL, (2, 1, 8)[:1], progress=False),
            ValueError,
            r"`shape` must be \(batch",
        ),
        (lambda: ddpm_sample(_model(), SMALL, "2,1,8,8"), TypeError, r"`shape` must be a sequence"),
        (lambda: ddpm_sample(None, SMALL, (1, 1, 8, 8)), TypeError, r"`model` must be callable"),
        (
            lambda: ddim_sample(_model(), SMALL, (1, 1, 8, 8), num_inference_steps=5, x_T=torch.zeros(2, 1, 8, 8)),
            ValueError,
            r"`x_T` must have shape",
        ),
    ],
)
def test_sampler_validation(call, error, match):
    """Bad sampler arguments raise errors that name the argument."""
    with pytest.raises(error, match=match):
        call()


def test_checkpoint_round_trip(tmp_path):
    """save_checkpoint then load_checkpoint gives identical weights, schedule and config."""
    model = _model(channels=(8, 8), time_dim=8)
    path = save_checkpoint(tmp_path / "m.safetensors", model, NoiseSchedule.cosine(50), train_config={"steps": 3})
    loaded, schedule, cfg = load_checkpoint(path)
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    assert schedule.config == NoiseSchedule.cosine(50).config and cfg == {"steps": 3}
    # The safetensors layout: an 8-byte little-endian header length N, then N bytes of JSON.
    # A pickle would start with the PROTO opcode 0x80, torch.save's zip with b"PK".
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    assert raw[:1] != b"\x80" and raw[:2] != b"PK"
    assert header["__metadata__"]["format"] == "medai-lessons-ddpm/1" and "conv_in.weight" in header


def test_checkpoint_errors(tmp_path):
    """A missing file, a non-safetensors file and a foreign safetensors file are refused."""
    from safetensors.torch import save_file

    with pytest.raises(FileNotFoundError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a safetensors file"):
        load_checkpoint(tmp_path / "bad.safetensors")
    save_file({"w": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="not a medai-lessons DDPM checkpoint"):
        load_checkpoint(tmp_path / "other.safetensors")
    with pytest.raises(TypeError, match="`model` must be a UNet"):
        save_checkpoint(tmp_path / "x.safetensors", torch.nn.Linear(1, 1), SMALL)


def test_pretrained_digits_loads_with_history():
    """The packaged EMA checkpoint loads and its history records the training command's config."""
    model, schedule = load_pretrained_digits()
    history = load_pretrained_history()
    assert schedule.num_train_timesteps == 1000 and model.config["channels"] == [32, 32]
    assert len(history["losses"]) == history["config"]["train_steps"]
    # the file says "steps", "lr" and "num_train_steps" (written before the renames); they are read back new
    assert history["config"]["learning_rate"] == 0.002 and history["config"]["num_train_timesteps"] == 1000
    assert not {"steps", "lr", "num_train_steps"} & set(history["config"])


def test_training_few_steps_lowers_loss_and_writes_files(tmp_path):
    """Thirty steps on digits run, return thirty losses, and write checkpoints and history."""
    from medai_lessons.diffusion import load_digits_images

    cfg = TrainConfig(train_steps=30, batch_size=64, channels=(8, 8), time_dim=8, warmup_steps=5)
    result = train_ddpm(load_digits_images()[:256], cfg, out_dir=tmp_path, progress=False, cpu=True)
    assert len(result.losses) == 30
    assert sum(result.losses[-10:]) < sum(result.losses[:10])
    hist = json.loads((tmp_path / "digits-ddpm-history.json").read_text())
    assert hist["config"]["train_steps"] == 30
    _, _, cfg_json = load_checkpoint(tmp_path / "digits-ddpm.safetensors")
    assert cfg_json["channels"] == [8, 8]


def test_training_is_reproducible_with_a_seed():
    """Two runs with one seed give identical loss histories."""
    from medai_lessons.diffusion import load_digits_images

    cfg = TrainConfig(train_steps=5, batch_size=32, channels=(8, 8), time_dim=8, warmup_steps=1, seed=3)
    data = load_digits_images()[:128]
    a = train_ddpm(data, cfg, progress=False, cpu=True).losses
    b = train_ddpm(data, cfg, progress=False, cpu=True).losses
    assert a == b


def test_train_ddpm_rejects_bad_data():
    """Data must be a 4-D floating tensor."""
    with pytest.raises(ValueError, match=r"`data` must be shaped \(n, channels"):
        train_ddpm(torch.zeros(4, 8, 8), TrainConfig(train_steps=1))
    with pytest.raises(TypeError, match="`config` must be a TrainConfig"):
        train_ddpm(torch.zeros(4, 1, 8, 8), {"train_steps": 1})


@pytest.mark.gpu
def test_training_on_cuda_reaches_cpu_loss_band():
    """On CUDA, 300 steps on digits land in the loss band of the same run on the CPU.

    Both runs are made here (the CPU one takes about 15 s); the GPU's random numbers differ,
    so the bands agree to within 0.03, not bit for bit. Rows go to benchmarks/results/ddpm-gpu.json.
    """
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (torch.cuda.is_available() is False)")
    import time

    from benchmarks.results_file import machine, merge, row
    from medai_lessons.diffusion import load_digits_images

    cfg = TrainConfig(train_steps=300, seed=0)
    data = load_digits_images()
    bands, seconds = {}, {}
    for name, cpu in (("cpu", True), ("cuda", False)):
        start = time.perf_counter()
        result = train_ddpm(data, cfg, progress=False, cpu=cpu)
        seconds[name] = time.perf_counter() - start
        bands[name] = sum(result.losses[-100:]) / 100
        assert next(result.model.parameters()).device.type == "cpu"  # handed back on the CPU either way
    merge("ddpm-gpu", "Lesson 2's DDPM trained on CUDA", machine(torch.cuda.get_device_name(0)), [
        row("cuda_train_steps_per_second_batch128", round(300 / seconds["cuda"], 1), "steps/s"),
        row("cpu_train_steps_per_second_batch128_same_machine", round(300 / seconds["cpu"], 1), "steps/s"),
        row("cuda_loss_last100_of_300", round(bands["cuda"], 4), "MSE"),
        row("cpu_loss_last100_of_300", round(bands["cpu"], 4), "MSE"),
    ])
    assert 0.05 < bands["cpu"] < 0.2  # trained at all: the first steps sit near 1.0
    assert abs(bands["cuda"] - bands["cpu"]) < 0.03, bands
