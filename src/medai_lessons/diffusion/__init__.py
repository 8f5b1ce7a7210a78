r"""Lesson 2: diffusion models and DDPM from scratch.

The modules follow the lesson: :mod:`.schedule` (how much noise per step),
:mod:`.forward` (destroying images, and the loss), :mod:`.unet` (the noise predictor),
:mod:`.train` (Algorithm 1), :mod:`.samplers` (Algorithm 2 and DDIM), :mod:`.quality`
(scoring samples with a classifier) and :mod:`.checkpoint` (safetensors files). The images
come from :mod:`medai_lessons.data` (re-exported here). Timesteps are counted from 0 as in diffusers.
"""

from medai_lessons.data import load_ct_slice, load_digits_images, load_mr_slice
from medai_lessons.diffusion.checkpoint import (
    load_checkpoint,
    load_pretrained_digits,
    load_pretrained_history,
    save_checkpoint,
)
from medai_lessons.diffusion.forward import (
    ddpm_loss,
    posterior_mean_variance,
    predict_x0,
    q_sample,
    q_step,
)
from medai_lessons.diffusion.quality import QualityReport, quality_report, real_digits_report
from medai_lessons.diffusion.samplers import (
    ddim_sample,
    ddim_step,
    ddim_timesteps,
    ddpm_sample,
    p_sample_step,
)
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.diffusion.train import TrainConfig, TrainResult, ema_update, train_ddpm
from medai_lessons.diffusion.unet import UNet, timestep_embedding

__all__ = [
    "NoiseSchedule",
    "QualityReport",
    "TrainConfig",
    "TrainResult",
    "UNet",
    "ddim_sample",
    "ddim_step",
    "ddim_timesteps",
    "ddpm_loss",
    "ddpm_sample",
    "ema_update",
    "load_checkpoint",
    "load_ct_slice",
    "load_digits_images",
    "load_mr_slice",
    "load_pretrained_digits",
    "load_pretrained_history",
    "p_sample_step",
    "posterior_mean_variance",
    "predict_x0",
    "q_sample",
    "q_step",
    "quality_report",
    "real_digits_report",
    "save_checkpoint",
    "timestep_embedding",
    "train_ddpm",
]
