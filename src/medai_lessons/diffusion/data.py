"""Old import path of :mod:`medai_lessons.data` (the images moved to the bottom of the package)."""

from medai_lessons._deprecation import moved_names

__getattr__ = moved_names(__name__, dict.fromkeys(("load_ct_slice", "load_digits_images", "load_mr_slice"),
                                                  "medai_lessons.data"))
