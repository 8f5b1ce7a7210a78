r"""The digit pipeline: the miniature Stable Diffusion that ships inside the package, trained on the digits.

It is an ordinary diffusers directory (``model_index.json``, ``unet/``, ``vae/``,
``text_encoder/``, ``tokenizer/``, ``scheduler/``), made by
``medai-lessons sd train-digits`` (:mod:`.train_digits`), so diffusers itself can load it::

    StableDiffusionPipeline.from_pretrained(digit_pipeline_path(), local_files_only=True)

Images are 32×32, latents $4 \times 8 \times 8$ (the VAE's factor is $f = 4$, not SD's 8).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch

from .loading import check_model_dir, load_pipeline

__all__ = ["DIGIT_IMAGE_SIZE", "digit_pipeline_path", "load_digit_pipeline"]

#: Height and width of the miniature model's images.
DIGIT_IMAGE_SIZE = 32


def digit_pipeline_path() -> Path:
    """The directory of the shipped miniature pipeline (inside the installed package)."""
    path = Path(str(resources.files("medai_lessons.stable_diffusion").joinpath("data/digit-pipeline")))
    return check_model_dir(path)


def load_digit_pipeline(*, device: str | torch.device = "auto", dtype: str | torch.dtype = "float32") -> Any:
    """Load the shipped miniature pipeline offline (a ``diffusers.StableDiffusionPipeline``).

    Args:
        device: ``"auto"`` (CUDA if present, else CPU), ``"cpu"``, ``"cuda"``, ...
        dtype: the weights are stored in float16; ``"float32"`` (default) upcasts them,
            which is what the CPU wants and what the page's numbers were computed with.
    """
    pipeline = load_pipeline(digit_pipeline_path(), device=device, dtype=dtype)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline
