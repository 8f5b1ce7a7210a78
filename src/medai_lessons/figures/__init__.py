"""Figures of the lessons, drawn by code so that every picture is reproducible.

Each module in this package (``lesson1``, ``diffusion``, ``stable_diffusion``, ...)
defines ``FIGURES``, a mapping from a figure name to a function ``make(lang)`` that
returns a matplotlib ``Figure`` or SVG text, with labels in ``lang`` (``"ja"`` or
``"en"``). The MkDocs hook renders them into the built site at
``assets/figures/<module>/<name>-<lang>.<ext>``, so a figure can never go stale;
``nox -s figures`` writes the same files to a folder for people who want them.

Matplotlib output is made deterministic (no dates, fixed hash salt) so that two
renders of one figure are byte-identical.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LANGUAGES", "FigureSpec", "discover", "render", "write_all"]

LANGUAGES = ("ja", "en")


@dataclass(frozen=True)
class FigureSpec:
    """One figure: where it lives in the site and how to draw it."""

    module: str
    name: str
    make: Callable[[str], Any]
    fmt: str = "svg"  # "svg" or "png"

    def path(self, lang: str) -> str:
        """Site-relative path of this figure in language ``lang``."""
        return f"assets/figures/{self.module}/{self.name}-{lang}.{self.fmt}"


def discover() -> Iterator[FigureSpec]:
    """Every figure of every module in this package, in a stable order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        formats = getattr(module, "FORMATS", {})
        for name, make in getattr(module, "FIGURES", {}).items():
            yield FigureSpec(info.name, name, make, formats.get(name, "svg"))


def _matplotlib_bytes(fig: Any, fmt: str) -> bytes:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "medai-lessons", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight", dpi=110)
    plt.close(fig)
    data = buf.getvalue()
    return _shrink_png(data) if fmt == "png" else data


def _shrink_png(data: bytes) -> bytes:
    """Store an opaque, colourless PNG (a CT strip, a digit grid) as 8-bit greyscale.

    Matplotlib writes RGBA; for a grey image that is four identical bytes per pixel,
    and noise does not compress, so greyscale makes such figures about 3× smaller
    with the same pixels. Colour images are returned unchanged.
    """
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    rgba = np.asarray(image.convert("RGBA"))
    opaque = bool(np.all(rgba[..., 3] == 255))
    grey = bool(np.all(rgba[..., 0] == rgba[..., 1]) and np.all(rgba[..., 1] == rgba[..., 2]))
    if not (opaque and grey):
        return data
    out = io.BytesIO()
    Image.fromarray(rgba[..., 0], mode="L").save(out, format="png", optimize=True)
    return out.getvalue()


def render(spec: FigureSpec, lang: str) -> bytes:
    """Draw ``spec`` with labels in ``lang`` and return the file's bytes."""
    if lang not in LANGUAGES:
        raise ValueError(f"`lang` must be one of {LANGUAGES}, got {lang!r}.")
    out = spec.make(lang)
    if isinstance(out, str):
        return out.encode("utf-8")
    if isinstance(out, bytes):
        return out
    return _matplotlib_bytes(out, spec.fmt)


def write_all(root: Path, *, only: str | None = None) -> list[Path]:
    """Render every figure in both languages below ``root``; return the paths written."""
    written = []
    for spec in discover():
        if only and only not in f"{spec.module}/{spec.name}":
            continue
        for lang in LANGUAGES:
            target = Path(root) / spec.path(lang)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(render(spec, lang))
            written.append(target)
    return written
