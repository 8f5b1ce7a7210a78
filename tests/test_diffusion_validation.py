"""The DDPM lesson's input checks (``diffusion/_validate.py``): issue 10's reproducers, and
"checked once per sampling run"."""

from __future__ import annotations

import pytest
import torch

from medai_lessons.diffusion import (
    NoiseSchedule,
    UNet,
    _validate,
    ddim_sample,
    ddim_step,
    ddpm_loss,
    ddpm_sample,
    load_pretrained_digits,
    p_sample_step,
    q_sample,
    quality_report,
    timestep_embedding,
)

SCHEDULE = NoiseSchedule.linear()
SMALL = NoiseSchedule.linear(num_train_timesteps=20)
X = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
NAN = X.clone()
NAN[0, 0, 0, 0] = float("nan")


def _tiny_unet() -> UNet:
    torch.manual_seed(0)
    return UNet(channels=(8,), time_dim=8, groups=4)


BAD_CALLS = [
    # huge sizes are refused before anything is allocated, and the message states the bound
    (lambda: NoiseSchedule.linear(10**12), ValueError, r"`num_train_timesteps` must be <= 100,000"),
    (lambda: NoiseSchedule.cosine(10**7), ValueError, r"`num_train_timesteps` must be <= 100,000"),
    (lambda: ddpm_sample(_tiny_unet(), SMALL, (10**9, 1, 8, 8)), ValueError, r"`shape` .* at most 134,217,728"),
    (lambda: UNet(channels=[4096, 4096]), ValueError, r"`channels` \[4096, 4096\] .* at most 100,000,000"),
    # timesteps: ints in range; floats, bools and huge ints refused without overflow
    (lambda: ddim_step(SCHEDULE, X, X, 10**30, 400), ValueError, r"`t` must lie in \[0, 999\]"),
    (lambda: q_sample(SCHEDULE, X, 10**30, X), ValueError, r"`t` must lie in \[0, 999\]"),
    (lambda: UNet()(X, 1.5), TypeError, r"`t` must be an int or an integer tensor, got float"),
    (lambda: UNet()(X, True), TypeError, r"`t` must be an int or an integer tensor, got bool"),
    (lambda: UNet()(X, 2**40), ValueError, r"`t` must lie in \[0, 16777216\]"),
    (lambda: timestep_embedding(torch.tensor([float("inf")]), 8), ValueError, r"`t` must not contain NaN"),
    (lambda: timestep_embedding(5, 2**20), ValueError, r"`dim` must be <= 8192"),
    # tensors: floating, real device, finite, same dtype and device as their partners
    (lambda: UNet()(X.double(), 3), TypeError, r"`x_t` must have the model's dtype torch.float32"),
    (lambda: UNet()(NAN, 3), ValueError, r"`x_t` must not contain NaN"),
    (lambda: q_sample(SCHEDULE, X.to("meta"), 0, X), ValueError, r"`x0` must hold data on a real device"),
    (lambda: q_sample(SCHEDULE, X, 0, NAN), ValueError, r"`noise` must not contain NaN or infinity"),
    (lambda: q_sample(SCHEDULE, X, 0, X.double()), TypeError, r"`noise` must have the same dtype as `x0`"),
    (lambda: q_sample(SCHEDULE, X + 0j, 0, X), TypeError, r"`x0` must be a floating-point tensor"),
    (lambda: p_sample_step(SCHEDULE, NAN, X, 3), ValueError, r"`eps_theta` must not contain NaN"),
    (lambda: ddpm_loss(lambda x, t: x, SCHEDULE, NAN), ValueError, r"`x0` must not contain NaN"),
    (lambda: quality_report(NAN.reshape(2, 64)), ValueError, r"`images` must not contain NaN"),
    (lambda: quality_report(torch.ones(2, 64, dtype=torch.bool)), TypeError, r"`images` must hold real numbers"),
    # DDIM's eta is Song et al.'s family, 0 to 1
    (lambda: ddim_step(SCHEDULE, X, X, 500, 400, eta=1e300), ValueError, r"`eta` must be <= 1"),
    # devices: resolve_device_dtype's rules
    (lambda: load_pretrained_digits(device="tpu"), ValueError, r"`device` must be 'cpu', 'cuda'"),
    (lambda: load_pretrained_digits(device="meta"), ValueError, r"`device` must be .* got 'meta'"),
    (lambda: load_pretrained_digits(device=3.0), TypeError, r"`device` must be a string or torch.device"),
    # config dictionaries
    (lambda: NoiseSchedule.from_config({"kind": "custom"}), ValueError, r"`config` of a custom schedule"),
    (lambda: NoiseSchedule.from_config({"kind": "linear", "steps": 3}), ValueError, r"`config` has keys"),
    (lambda: NoiseSchedule(["a"]), TypeError, r"`betas` must contain only real numbers"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_CALLS)
def test_bad_input_is_refused_naming_the_argument(call, error, match):
    """Each of issue 10's bad inputs raises ValueError/TypeError naming the argument."""
    with pytest.raises(error, match=match):
        call()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_on_a_cpu_build_is_a_value_error():
    """``device='cuda'`` without a GPU is a ValueError, not torch's AssertionError."""
    with pytest.raises(ValueError, match=r"`device` is 'cuda' but no CUDA device is available"):
        load_pretrained_digits(device="cuda")


def test_check_device_accepts_cpu_and_auto():
    """'cpu', torch.device('cpu') and (where allowed) 'auto' resolve to real devices."""
    assert _validate.check_device("cpu") == torch.device("cpu") == _validate.check_device(torch.device("cpu"))
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert _validate.check_device("auto", allow_auto=True).type == want
    with pytest.raises(ValueError, match=r"`device` must be 'cpu'"):
        _validate.check_device("auto")


def test_timestep_embedding_takes_one_int_as_a_batch_of_one():
    """``timestep_embedding(5, 8)`` equals the embedding of ``tensor([5])``."""
    assert torch.equal(timestep_embedding(5, 8), timestep_embedding(torch.tensor([5]), 8))


def test_q_sample_draws_its_own_noise_from_a_generator():
    """``q_sample`` without ``noise`` draws ε from ``generator`` exactly as ``randn`` does (Eq. (4))."""
    got = q_sample(SCHEDULE, X, 300, generator=torch.Generator().manual_seed(7))
    eps = torch.randn(X.shape, generator=torch.Generator().manual_seed(7))
    assert torch.equal(got, q_sample(SCHEDULE, X, 300, eps))


@pytest.mark.parametrize(
    "call",
    [
        lambda g: q_sample(SCHEDULE, X, 3, X, generator=g),
        lambda g: p_sample_step(SCHEDULE, X, X, 3, noise=X, generator=g),
        lambda g: ddim_step(SCHEDULE, X, X, 500, 400, eta=1.0, noise=X, generator=g),
    ],
)
def test_noise_and_generator_together_are_refused(call):
    """Passing both the noise and a generator is a ValueError, as in diffusers' schedulers."""
    with pytest.raises(ValueError, match=r"`noise` and `generator` cannot both be given"):
        call(torch.Generator().manual_seed(0))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_a_sampling_run_checks_its_tensors_once(monkeypatch, sampler):
    """The samplers validate once per run: the number of image checks does not grow with the steps."""
    calls = []
    real = _validate.check_images

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    import medai_lessons.diffusion.forward as forward
    import medai_lessons.diffusion.samplers as samplers

    for module in (samplers, forward, _validate):
        monkeypatch.setattr(module, "check_images", counting)
    model = _tiny_unet()
    counts = []
    for T in (5, 20):
        calls.clear()
        schedule = NoiseSchedule.linear(num_train_timesteps=T)
        x_T = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))
        if sampler == "ddpm":
            ddpm_sample(model, schedule, (1, 1, 8, 8), x_T=x_T, progress=False)
        else:
            ddim_sample(model, schedule, (1, 1, 8, 8), num_inference_steps=T, x_T=x_T, progress=False)
        counts.append(len(calls))
    assert counts[0] == counts[1] <= 1


def test_public_step_functions_still_check_when_called_directly():
    """``p_sample_step``/``ddim_step`` called on their own still refuse bad tensors."""
    with pytest.raises(ValueError, match=r"`x_t` must not contain NaN"):
        p_sample_step(SCHEDULE, X, NAN, 3)
    with pytest.raises(TypeError, match=r"`eps_theta` must have the same dtype as `x_t`"):
        ddim_step(SCHEDULE, X.double(), X, 500, 400)


def test_sampler_refuses_a_model_that_returns_nan():
    """A model whose output is NaN makes the sampler raise a ValueError naming `model`."""
    x_T = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"`model` returned NaN"):
        ddim_sample(lambda x, t: x * float("nan"), SMALL, (1, 1, 8, 8), num_inference_steps=4, x_T=x_T, progress=False)
