"""How much work and memory one call may ask for: every resource limit of the package, in one place.

Each limit is what a lesson needs, with room to spare, so a typo such as ``10**9`` is refused
before any work starts (and the message states the limit) instead of running for minutes or
taking gigabytes. The module imports nothing, so lesson 1 can use it without PyTorch.

| limit                         | value        | what a lesson needs                                   |
|-------------------------------|--------------|-------------------------------------------------------|
| :data:`MAX_NUMEL`             | 2**27        | one tensor a call allocates (512 MiB in float32)      |
| :data:`MAX_TRAIN_TIMESTEPS`   | 100,000      | T of a schedule; DDPM uses 1,000                      |
| :data:`MIN_BETA`              | 1e-9         | smallest β; cosine at T = 100,000 starts at 3.9e-7    |
| :data:`MAX_UNET_LEVELS`       | 8            | U-Net levels; the digits use 2, a 256² image at most 8 |
| :data:`MAX_QUALITY_IMAGES`    | 65,536       | images a quality report scores; a grid holds 64       |
| :data:`MAX_GRADIENT_PARAMETERS` | 10,000     | parameters of a numerical gradient (2n calls of f); lesson 1 uses 2 |
| :data:`MAX_FIT_WORK`          | 10**8        | points x epochs of a line fit; lesson 1 needs 10**5   |
| :data:`MAX_WEIGHT`            | 1e4          | largest |weight| of a loaded U-Net; trained ones stay below 10 |
| :data:`MAX_HU`                | 65,536       | CT window centre and width: 16-bit pixels hold all HU |
| :data:`MAX_JSON_BYTES`        | 1,000,000    | a config or checkpoint metadata; the lesson's are below 4 kB |
| :data:`MAX_TEXT_ENCODER_PARAMETERS` | 10**9  | CLIP's text encoder; SD 2's OpenCLIP-H has 354 million |
| :data:`MAX_TRAIN_STEPS`       | 10,000,000   | steps of a DDPM run; the digits model trains 2,000    |
| :data:`MAX_BATCH_SIZE`        | 65,536       | images in one DDPM batch; the digits model uses 128   |
| :data:`MAX_CHANNELS`          | 4,096        | channels of one U-Net level; digits 32, SD 1.5 1,280  |
| :data:`MAX_TIME_DIM`          | 8,192        | size of the step embedding; the digits U-Net uses 32  |
| :data:`MAX_UNET_PARAMETERS`   | 10**8        | weights of a U-Net built here; the default has 142,401 |
| :data:`MAX_CHECKPOINT_PARAMETERS` | 50,000,000 | weights a checkpoint may claim; the digits U-Net has 142,401 |
| :data:`MAX_FEATURE_SIDE`      | 256          | image side of ``UNet.feature_shapes``; the digits are 8 |
| :data:`MAX_FIT_EPOCHS`        | 1,000,000    | epochs of one line fit; lesson 1 runs 1,000           |
| :data:`MAX_SIMCLR_STEPS`      | 100,000      | SimCLR or its baseline; the lesson runs 600 and 500   |
| :data:`MAX_CLIP_STEPS`        | 10**6        | the miniature CLIP's training; the shipped one took 1,000 |
| :data:`MAX_CONTRASTIVE_BATCH` | 4,096        | a batch's N x N similarities; SimCLR uses 256, CLIP 128 |
| :data:`MAX_CLIP_IMAGE_SIZE`   | 1,024        | image side of the miniature CLIP; the digits are 8    |
| :data:`MAX_CPU_THREADS`       | 256          | torch threads of a training run; the shipped models used 2 |
| :data:`MAX_MINI_SD_WIDTH`     | 1,024        | channels of a miniature SD level; the shipped one 128 |
| :data:`MAX_MINI_SD_TEXT_WIDTH` | 4,096       | the miniature's text encoder width; the shipped one 64 |
| :data:`MAX_RESIZE_SIDE`       | 4,096        | side of the resized digits; lesson 3 uses 32          |
| :data:`MAX_SD_SIDE`           | 8,192        | height or width of a generated image; SD 1.5 makes 512 |
| :data:`MAX_GENERATE_SIDE`     | 4,096        | ``sd generate --height/--width``; SD 2 makes 768      |
| :data:`MAX_TIMING_REPEATS`    | 1,000        | repeats of one step's timing; the lesson uses 3       |
"""

from __future__ import annotations

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_CHANNELS",
    "MAX_CHECKPOINT_PARAMETERS",
    "MAX_CLIP_IMAGE_SIZE",
    "MAX_CLIP_STEPS",
    "MAX_CONTRASTIVE_BATCH",
    "MAX_CPU_THREADS",
    "MAX_FEATURE_SIDE",
    "MAX_FIT_EPOCHS",
    "MAX_FIT_WORK",
    "MAX_GENERATE_SIDE",
    "MAX_GRADIENT_PARAMETERS",
    "MAX_HU",
    "MAX_JSON_BYTES",
    "MAX_MINI_SD_TEXT_WIDTH",
    "MAX_MINI_SD_WIDTH",
    "MAX_NUMEL",
    "MAX_QUALITY_IMAGES",
    "MAX_RESIZE_SIDE",
    "MAX_SD_SIDE",
    "MAX_SIMCLR_STEPS",
    "MAX_TEXT_ENCODER_PARAMETERS",
    "MAX_TIME_DIM",
    "MAX_TIMING_REPEATS",
    "MAX_TRAIN_STEPS",
    "MAX_TRAIN_TIMESTEPS",
    "MAX_UNET_LEVELS",
    "MAX_UNET_PARAMETERS",
    "MAX_WEIGHT",
    "MIN_BETA",
]

#: values one tensor a call allocates may hold (2**27 float32 values = 512 MiB)
MAX_NUMEL = 2**27
#: longest noise schedule, T: a hundred times DDPM's 1,000
MAX_TRAIN_TIMESTEPS = 100_000
#: smallest variance β of a step: below it 1 - ᾱ loses its digits in float64 and DDIM divides by 0
MIN_BETA = 1e-9
#: most resolution levels of the lesson's U-Net (each halves the image: 2**7 = 128 for a 256² image)
MAX_UNET_LEVELS = 8
#: most images one quality report scores (the CLI draws at most 4,096)
MAX_QUALITY_IMAGES = 65_536
#: most parameters of a numerical gradient: 2n evaluations of f, each of n values
MAX_GRADIENT_PARAMETERS = 10_000
#: most (data points x epochs) of one line fit
MAX_FIT_WORK = 10**8
#: largest |weight| a loaded U-Net may hold; beyond it the network overflows float32
MAX_WEIGHT = 1e4
#: largest |centre| and width of a CT display window, in Hounsfield units
MAX_HU = 65_536
#: largest JSON text (a model config, a checkpoint's metadata) that is read
MAX_JSON_BYTES = 1_000_000
#: most weights a Stable Diffusion text encoder's config may describe
MAX_TEXT_ENCODER_PARAMETERS = 10**9

# Lesson 2 (DDPM): a training run and the U-Net it builds or loads
#: training steps of one DDPM run (also its warm-up and its checkpoint interval)
MAX_TRAIN_STEPS = 10_000_000
#: images in one DDPM training batch
MAX_BATCH_SIZE = 65_536
#: channels of one U-Net level, asked for or read from a checkpoint
MAX_CHANNELS = 4096
#: size of the U-Net's sinusoidal step embedding
MAX_TIME_DIM = 8192
#: weights of a U-Net the package builds (400 MB in float32)
MAX_UNET_PARAMETERS = 10**8
#: weights a checkpoint's ``model_config`` may claim, checked before anything is built
MAX_CHECKPOINT_PARAMETERS = 50_000_000
#: image side :meth:`~medai_lessons.diffusion.unet.UNet.feature_shapes` runs (the same as ``ddpm sample``'s)
MAX_FEATURE_SIDE = 256

# Lesson 1: gradient descent
#: epochs of one line fit (each is a pass over the data)
MAX_FIT_EPOCHS = 1_000_000

# Lesson 4 (self-supervised): the miniature SimCLR and CLIP
#: optimiser steps of SimCLR pretraining or of its supervised baseline
MAX_SIMCLR_STEPS = 100_000
#: optimiser steps of the miniature CLIP's training
MAX_CLIP_STEPS = 10**6
#: images in one contrastive batch, whose N x N similarity matrix each step builds
MAX_CONTRASTIVE_BATCH = 4096
#: image side the miniature CLIP's processor resizes to
MAX_CLIP_IMAGE_SIZE = 1024
#: torch threads of one training run (CLIP and the miniature SD)
MAX_CPU_THREADS = 256

# Lesson 3 (Stable Diffusion): the miniature, its data and generation
#: channels of one level of the miniature SD's U-Net or VAE (a multiple of 8)
MAX_MINI_SD_WIDTH = 1024
#: hidden size of the miniature SD's text encoder
MAX_MINI_SD_TEXT_WIDTH = 4096
#: pixels per side of the digits resized for the autoencoder
MAX_RESIZE_SIDE = 4096
#: height or width of an image a pipeline function makes (a 1024 x 1024 latent)
MAX_SD_SIDE = 8192
#: height or width ``sd generate`` accepts (SD 1.x was trained at 512, SD 2.x at 768)
MAX_GENERATE_SIDE = 4096
#: repeats of one U-Net step's timing
MAX_TIMING_REPEATS = 1000
