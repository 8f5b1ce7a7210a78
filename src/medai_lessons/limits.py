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
"""

from __future__ import annotations

__all__ = [
    "MAX_FIT_WORK",
    "MAX_GRADIENT_PARAMETERS",
    "MAX_HU",
    "MAX_JSON_BYTES",
    "MAX_NUMEL",
    "MAX_QUALITY_IMAGES",
    "MAX_TEXT_ENCODER_PARAMETERS",
    "MAX_TRAIN_TIMESTEPS",
    "MAX_UNET_LEVELS",
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
