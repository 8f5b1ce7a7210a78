"""Old argument names keep working as deprecated aliases that warn and name the new one."""

from __future__ import annotations

import warnings

import pytest
import torch

from medai_lessons.diffusion import NoiseSchedule, UNet, ddim_sample, ddim_timesteps

OLD_WARNING = r"`{old}` is deprecated .* use `{new}` instead"


def _warns(old: str, new: str):
    return pytest.warns(FutureWarning, match=OLD_WARNING.format(old=old, new=new))


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_num_steps_keyword_is_an_alias(kind):
    """``num_steps=`` builds the same schedule as ``num_train_timesteps=`` and warns."""
    with _warns("num_steps", "num_train_timesteps"):
        old = getattr(NoiseSchedule, kind)(num_steps=30)
    new = getattr(NoiseSchedule, kind)(num_train_timesteps=30)
    assert torch.equal(old.betas, new.betas) and old.config == new.config


def test_schedule_num_steps_property_is_an_alias():
    """``schedule.num_steps`` returns T and warns; the new property does not warn."""
    s = NoiseSchedule.linear(num_train_timesteps=12)
    with _warns("num_steps", "num_train_timesteps"):
        assert s.num_steps == 12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert s.num_train_timesteps == 12


def test_both_old_and_new_keyword_is_a_type_error():
    """Passing a name and its deprecated alias together is refused, naming the new one."""
    with pytest.raises(TypeError, match=r"pass `num_train_timesteps` only"):
        NoiseSchedule.linear(num_train_timesteps=10, num_steps=10)


def test_old_checkpoint_schedule_config_loads_without_warning():
    """A config saved under the old key ``num_steps`` rebuilds the same schedule, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        old = NoiseSchedule.from_config({"kind": "linear", "num_steps": 40, "beta_start": 1e-4, "beta_end": 0.02})
    assert torch.equal(old.betas, NoiseSchedule.linear(40).betas)
    assert old.config["num_train_timesteps"] == 40


def test_ddim_timesteps_old_keywords_are_aliases():
    """``num_train_steps=``/``num_steps=`` give the same steps as the new keywords, with warnings."""
    with _warns("num_train_steps", "num_train_timesteps"), _warns("num_steps", "num_inference_steps"):
        old = ddim_timesteps(num_train_steps=100, num_steps=5)
    assert old == ddim_timesteps(num_train_timesteps=100, num_inference_steps=5) == [80, 60, 40, 20, 0]


def test_ddim_sample_num_steps_is_an_alias():
    """``ddim_sample(num_steps=)`` warns and returns what ``num_inference_steps=`` returns."""
    torch.manual_seed(0)
    model = UNet(channels=(8,), time_dim=8, groups=4)
    schedule = NoiseSchedule.linear(num_train_timesteps=20)
    x_T = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with _warns("num_steps", "num_inference_steps"):
        old = ddim_sample(model, schedule, (2, 1, 8, 8), num_steps=4, x_T=x_T, progress=False)
    new = ddim_sample(model, schedule, (2, 1, 8, 8), num_inference_steps=4, x_T=x_T, progress=False)
    assert torch.equal(old, new)


def test_stable_diffusion_steps_is_an_alias():
    """``generate``/``generate_stepwise``/``denoise`` accept ``steps=`` with a warning."""
    sd = pytest.importorskip("medai_lessons.stable_diffusion")
    pipe = sd.build_tiny_pipeline()
    kw = dict(height=64, width=64, output_type="np", progress=False)
    with _warns("steps", "num_inference_steps"):
        old = sd.generate(pipe, "a", steps=2, **kw)
    assert (old == sd.generate(pipe, "a", num_inference_steps=2, **kw)).all()
    with _warns("steps", "num_inference_steps"):
        old = sd.generate_stepwise(pipe, "a", steps=2, **kw)
    assert (old == sd.generate_stepwise(pipe, "a", num_inference_steps=2, **kw)).all()
    cond, uncond = sd.encode_prompt(pipe, "a")
    z = sd.prepare_latents(pipe, generator=sd.make_generator(0), height=64, width=64)
    with _warns("steps", "num_inference_steps"):
        old = sd.denoise(pipe, z, cond, uncond, steps=2, progress=False)
    assert torch.equal(old, sd.denoise(pipe, z, cond, uncond, num_inference_steps=2, progress=False))


def test_moved_functions_keep_their_old_import_paths():
    """``medai_lessons.diffusion.data`` and ``checkpoint.write_atomically`` still import, warn and give
    the moved object; an unknown name is still an ``AttributeError``."""
    import medai_lessons._files
    import medai_lessons.data
    from medai_lessons.diffusion import checkpoint

    with _warns(r"medai_lessons\.diffusion\.data\.load_ct_slice", r"medai_lessons\.data\.load_ct_slice"):
        from medai_lessons.diffusion.data import load_ct_slice
    assert load_ct_slice is medai_lessons.data.load_ct_slice
    with _warns(r"medai_lessons\.diffusion\.checkpoint\.write_atomically", r"medai_lessons\._files\.write_atomically"):
        assert checkpoint.write_atomically is medai_lessons._files.write_atomically
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        checkpoint.nothing  # noqa: B018


def test_captioned_images_keep_their_old_module_and_names():
    """``stable_diffusion.digits`` (now ``captioned_images``), its ``Dataset`` and ``load_dataset`` still import,
    warn naming the new path, and give the new objects; the package's ``load_dataset`` too."""
    pytest.importorskip("diffusers")
    import medai_lessons.stable_diffusion as sd
    from medai_lessons.stable_diffusion import captioned_images, digits

    new = "medai_lessons\\.stable_diffusion\\.captioned_images"
    with _warns(r"medai_lessons\.stable_diffusion\.digits\.load_dataset", f"{new}\\.load_captioned_images"):
        assert digits.load_dataset is captioned_images.load_captioned_images
    with _warns(r"medai_lessons\.stable_diffusion\.digits\.Dataset", f"{new}\\.CaptionedImages"):
        assert digits.Dataset is captioned_images.CaptionedImages
    with _warns(r"medai_lessons\.stable_diffusion\.digits\.drop_prompts", f"{new}\\.drop_prompts"):
        assert digits.drop_prompts is captioned_images.drop_prompts
    with _warns(r"medai_lessons\.stable_diffusion\.load_dataset", f"{new}\\.load_captioned_images"):
        assert sd.load_dataset is sd.load_captioned_images
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        digits.nothing  # noqa: B018


def test_digit_pipeline_keeps_the_old_miniature_module():
    """``stable_diffusion.miniature`` (now ``digit_pipeline``) still gives the loader, with a warning."""
    pytest.importorskip("diffusers")
    from medai_lessons.stable_diffusion import digit_pipeline, miniature

    for name in ("digit_pipeline_path", "load_digit_pipeline", "DIGIT_IMAGE_SIZE"):
        with _warns(rf"medai_lessons\.stable_diffusion\.miniature\.{name}",
                    rf"medai_lessons\.stable_diffusion\.digit_pipeline\.{name}"):
            assert getattr(miniature, name) is getattr(digit_pipeline, name)


def test_steps_per_image_is_the_old_name_of_unet_calls_per_image():
    """``steps_per_image`` counted U-Net calls: it still does, under a warning naming ``unet_calls_per_image``."""
    pytest.importorskip("diffusers")
    from medai_lessons.stable_diffusion import guidance

    with _warns(r"medai_lessons\.stable_diffusion\.guidance\.steps_per_image",
                r"medai_lessons\.stable_diffusion\.guidance\.unet_calls_per_image"):
        old = guidance.steps_per_image
    assert old is guidance.unet_calls_per_image
    assert [old(25, s) for s in (0.0, 1.0, 1.5, 7.5)] == [25, 25, 50, 50]  # two calls per step once s > 1


def test_check_steps_is_the_old_name_of_check_num_inference_steps():
    """The internal ``check_steps`` (it checks S) still answers, warning with its new name."""
    pytest.importorskip("diffusers")
    from medai_lessons.stable_diffusion import _validate

    with _warns(r"medai_lessons\.stable_diffusion\._validate\.check_steps",
                r"medai_lessons\.stable_diffusion\._validate\.check_num_inference_steps"):
        old = _validate.check_steps
    assert old is _validate.check_num_inference_steps and old(25) == 25
    with pytest.raises(ValueError, match="`num_inference_steps` must be >= 1"):
        old(0)
