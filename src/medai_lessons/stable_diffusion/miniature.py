"""Old import path of :mod:`.digit_pipeline` (the shipped miniature pipeline's folder and loader)."""

from medai_lessons._deprecation import moved_names

__getattr__ = moved_names(__name__, dict.fromkeys(("DIGIT_IMAGE_SIZE", "digit_pipeline_path", "load_digit_pipeline"),
                                                  "medai_lessons.stable_diffusion.digit_pipeline"))
