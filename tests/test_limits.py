"""Every resource limit lives in ``medai_lessons.limits``, states its lesson need, and keeps its old value and message.

The values and messages below are the ones the checks wrote inline (or as module constants) at
commit 1f51374, before issue 22 moved them into ``limits.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from medai_lessons import limits

#: Each limit's value at 1f51374, where it was written (module constant or inline literal).
OLD_VALUES = {
    "MAX_TRAIN_STEPS": 10_000_000,  # diffusion/train.py
    "MAX_BATCH_SIZE": 65_536,  # diffusion/train.py
    "MAX_CHANNELS": 4096,  # diffusion/train.py and checkpoint.py MAX_WIDTH, cost.py inline
    "MAX_TIME_DIM": 8192,  # diffusion/train.py and checkpoint.py
    "MAX_UNET_PARAMETERS": 10**8,  # diffusion/unet.py MAX_PARAMETERS
    "MAX_CHECKPOINT_PARAMETERS": 50_000_000,  # diffusion/checkpoint.py MAX_PARAMETERS
    "MAX_FEATURE_SIDE": 256,  # diffusion/unet.py
    "MAX_FIT_EPOCHS": 1_000_000,  # gradient_descent.py _MAX_EPOCHS
    "MAX_SIMCLR_STEPS": 100_000,  # self_supervised/simclr.py, inline twice
    "MAX_CLIP_STEPS": 10**6,  # self_supervised/train_clip.py, inline
    "MAX_CONTRASTIVE_BATCH": 4096,  # simclr.py and train_clip.py, inline
    "MAX_CLIP_IMAGE_SIZE": 1024,  # self_supervised/clip_model.py, inline
    "MAX_CPU_THREADS": 256,  # train_clip.py and stable_diffusion/train_digits.py, inline
    "MAX_MINI_SD_WIDTH": 1024,  # train_digits.py, inline
    "MAX_MINI_SD_TEXT_WIDTH": 4096,  # train_digits.py, inline
    "MAX_RESIZE_SIDE": 4096,  # stable_diffusion/captioned_images.py, inline
    "MAX_SD_SIDE": 8192,  # stable_diffusion/_validate.py MAX_SIDE
    "MAX_GENERATE_SIDE": 4096,  # stable_diffusion/cli.py MAX_SIDE
    "MAX_TIMING_REPEATS": 1000,  # stable_diffusion/cost.py, inline
    "MAX_NUMEL": 2**27,  # also diffusion/_validate.py's own copy
    "MAX_TRAIN_TIMESTEPS": 100_000,  # also diffusion/train.py's copy and train_digits.py inline
}


def test_every_limit_has_a_row_in_the_modules_table():
    """The table in limits.py names each exported limit once, with the lesson need it is based on."""
    doc = limits.__doc__ or ""
    rows = re.findall(r"^\| :data:`(\w+)`\s*\|[^|]+\|(.*)\|$", doc, flags=re.MULTILINE)
    assert sorted(name for name, _ in rows) == sorted(limits.__all__)
    assert all(len(need.strip()) > 10 for _, need in rows)


def test_moved_limits_keep_their_old_values():
    """No limit changed when it moved; the modules that used them see the same numbers."""
    from medai_lessons.diffusion import _validate, checkpoint, train, unet
    from medai_lessons.stable_diffusion import _validate as sd_validate
    from medai_lessons.stable_diffusion import cli as sd_cli

    assert {name: getattr(limits, name) for name in OLD_VALUES} == OLD_VALUES
    assert (train.MAX_TRAIN_STEPS, train.MAX_BATCH_SIZE, train.MAX_WIDTH, train.MAX_TIME_DIM) == (
        10_000_000, 65_536, 4096, 8192)
    assert (checkpoint.MAX_PARAMETERS, checkpoint.MAX_WIDTH, checkpoint.MAX_TIME_DIM) == (50_000_000, 4096, 8192)
    assert (unet.MAX_PARAMETERS, unet.MAX_FEATURE_SIDE, _validate.MAX_NUMEL) == (10**8, 256, 2**27)
    assert (sd_validate.MAX_SIDE, sd_cli.MAX_SIDE) == (8192, 4096)


def _simclr(**kw):
    from medai_lessons.self_supervised.simclr import pretrain_simclr

    return pretrain_simclr(np.zeros((4, 8, 8), dtype=np.uint8), **kw)


def _clip_config(**kw):
    from medai_lessons.self_supervised.train_clip import ClipTrainingConfig

    return ClipTrainingConfig(**kw)


def _sd_config(**kw):
    from medai_lessons.stable_diffusion.train_digits import DigitSDConfig

    return DigitSDConfig(**kw)


def _train_config(**kw):
    from medai_lessons.diffusion.train import TrainConfig

    return TrainConfig(**kw)


def _upsample(size):
    from medai_lessons.stable_diffusion.captioned_images import upsample

    return upsample(torch.zeros(1, 1, 8, 8), size)


def _cost_unet(**kw):
    from medai_lessons.stable_diffusion.cost import build_cost_unet

    return build_cost_unet(4, **kw)


def _fit(epochs):
    from medai_lessons.gradient_descent import fit_line

    return fit_line(np.ones(3), np.ones(3), epochs=epochs)


def _check_size(side):
    from medai_lessons.stable_diffusion._validate import check_size

    return check_size("height", side)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: _train_config(train_steps=10**7 + 1),
         "`train_steps` must be <= 10000000 (a bound that keeps a typo from running for days), got 10000001."),
        (lambda: _train_config(batch_size=65_537),
         "`batch_size` must be <= 65536 (a bound that keeps a typo from running for days), got 65537."),
        (lambda: _train_config(time_dim=8194),
         "`time_dim` must be <= 8192 (a bound that keeps a typo from running for days), got 8194."),
        (lambda: _fit(10**6 + 1), "`epochs` must be <= 1000000 (each epoch is a pass over the data; more would run "
                                  "for minutes), got 1000001."),
        (lambda: _simclr(steps=100_001), "`steps` must be <= 100000 (a miniature), got 100001."),
        (lambda: _simclr(batch_size=4097), "`batch_size` must be <= 4096 (an N x N matrix per step), got 4097."),
        (lambda: _clip_config(steps=10**6 + 1), "`steps` must be <= 1000000 (a miniature), got 1000001."),
        (lambda: _clip_config(cpu_threads=257), "`cpu_threads` must be <= 256 (a sane thread count), got 257."),
        (lambda: _sd_config(cpu_threads=257), "`cpu_threads` must be <= 256 (a sane thread count), got 257."),
        (lambda: _sd_config(num_train_timesteps=100_001),
         "`num_train_timesteps` must be <= 100000 (a sane T), got 100001."),
        (lambda: _sd_config(text_hidden_size=4098), "`text_hidden_size` must be <= 4096 (a miniature), got 4098."),
        (lambda: _sd_config(unet_channels=(1032, 1032)), "`unet_channels` must be <= 1024 (a miniature), got 1032."),
        (lambda: _upsample(4097), "`size` must be <= 4096 (pixels per side), got 4097."),
        (lambda: _check_size(8200), "`height` must be <= 8,192 (pixels per side), got 8,200."),
        (lambda: _cost_unet(block_out_channels=(4104,)), "`block_out_channels` must each be <= 4096, got (4104,)."),
    ],
)
def test_moved_limits_keep_their_messages(call, message):
    """A request over a moved limit is refused with the message the inline check gave."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()
