r"""Learning without labels: contrastive learning, SimCLR-style pre-training and a miniature CLIP.

Lesson 4. The modules follow the page:

* :mod:`.contrastive` — ``info_nce`` (van den Oord et al. 2018) and ``clip_loss``
  (Radford et al. 2021), the same number as ``CLIPModel(..., return_loss=True)``;
* :mod:`.data` — the digits split by index (train on ``i % 5 != 0``, measure on ``i % 5 == 0``)
  and their captions, lesson 3's templates;
* :mod:`.clip_model` — the miniature ``CLIPModel`` and its ``CLIPProcessor``, zero-shot
  classification, ``digit_clip_path()`` (the shipped model);
* :mod:`.train_clip` — its training (``medai-lessons ssl train-clip``);
* :mod:`.simclr` — contrastive pre-training on images alone, and the linear probe.

Notation (code name ↔ symbol):

| code            | symbol                          |
|-----------------|---------------------------------|
| ``temperature`` | $\tau$                          |
| ``logit_scale`` | $t = 1/\tau$ (already exponentiated) |
| ``queries``, ``keys`` | $q_i$, $k_j$              |
"""

from ..stable_diffusion import _quiet_notices  # noqa: F401  (transformers' torchvision notice)
from .clip_model import (
    PLAIN_TEMPLATE,
    build_clip,
    build_processor,
    class_prompts,
    digit_clip_path,
    embed_images,
    embed_texts,
    load_digit_clip,
    similarity_example,
    zero_shot_accuracy,
    zero_shot_predict,
)
from .contrastive import clip_loss, cosine_similarity_matrix, info_nce
from .data import digit_pixels, held_out_digits, load_captioned, to_pil, training_digits

__all__ = [
    "PLAIN_TEMPLATE",
    "build_clip",
    "build_processor",
    "class_prompts",
    "clip_loss",
    "cosine_similarity_matrix",
    "digit_clip_path",
    "digit_pixels",
    "embed_images",
    "embed_texts",
    "held_out_digits",
    "info_nce",
    "load_captioned",
    "load_digit_clip",
    "similarity_example",
    "to_pil",
    "training_digits",
    "zero_shot_accuracy",
    "zero_shot_predict",
]
