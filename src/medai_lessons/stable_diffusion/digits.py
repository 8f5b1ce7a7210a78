"""Old import path of :mod:`.captioned_images` (the images and prompts of the miniature SD).

``Dataset`` and ``load_dataset`` are now ``CaptionedImages`` and ``load_captioned_images``.
"""

from medai_lessons._deprecation import moved_names

_NEW = "medai_lessons.stable_diffusion.captioned_images"
_SAME = ("DIGIT_WORDS", "IMAGE_SIZE", "MEDMNIST_PROMPTS", "TEMPLATES", "digit_prompts", "drop_prompts",
         "load_medmnist_npz", "to_classifier_pixels", "training_words", "upsample", "as_array")

__getattr__ = moved_names(__name__, {
    **dict.fromkeys(_SAME, _NEW),
    "Dataset": f"{_NEW}:CaptionedImages",
    "load_dataset": f"{_NEW}:load_captioned_images",
})
