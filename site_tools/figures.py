"""Render the package's figure functions to files, and cache them on disk.

The figures themselves are functions in ``medai_lessons.figures.<module>.FIGURES`` (a reader
may call them); this module only turns ``make(lang)`` into the bytes the site serves at
``assets/figures/<module>/<name>-<lang>.<ext>``. Output is deterministic (no dates, a fixed
hash salt), so two renders of one figure are byte-identical.

Cache: ``.cache/figures/<digest>/...`` where the digest hashes the package's sources, so an
edit to any figure or lesson module renders again, and an edit to a page renders nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

from medai_lessons.figures import FigureSpec, discover

from .env import LANGUAGES, ROOT, check_language

CACHE = ROOT / ".cache" / "figures"
PACKAGE = ROOT / "src" / "medai_lessons"


def _matplotlib_bytes(fig: Any, fmt: str) -> bytes:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "medai-lessons", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight", dpi=110)
    plt.close(fig)
    data = buf.getvalue()
    return shrink_png(data) if fmt == "png" else data


def shrink_png(data: bytes) -> bytes:
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
    check_language(lang)
    out = spec.make(lang)
    if isinstance(out, str):
        return out.encode("utf-8")
    if isinstance(out, bytes):
        return out
    return _matplotlib_bytes(out, spec.fmt)


def write_all(root: Path, *, only: str | None = None) -> list[Path]:
    """Render every figure in every language below ``root``; return the paths written."""
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


def source_digest(package: Path = PACKAGE) -> str:
    """A hash of every source and data file of the package (the cache key)."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json", ".safetensors", ".svg"}:
            h.update(path.relative_to(package).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cached_figures(cache_root: Path = CACHE) -> dict[str, Path]:
    """Site path -> rendered file of every figure in every language, rendering only what is not cached."""
    digest = source_digest()
    cache = cache_root / digest
    out: dict[str, Path] = {}
    for spec in discover():
        for lang in LANGUAGES:
            rel = spec.path(lang)
            cached = cache / rel
            if not cached.is_file():
                data = render(spec, lang)
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_suffix(cached.suffix + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(cached)  # atomic: a parallel build never reads half a file
            out[rel] = cached
    # keep only the current cache generation
    if cache_root.is_dir():
        for old in cache_root.iterdir():
            if old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
    return out


# ----------------------------------------------------------------- <img> sizes for the pages

_UNIT_PX = {"": 1.0, "px": 1.0, "pt": 4 / 3, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_IMG = re.compile(r'<img (?P<attrs>[^>]*?)src="(?P<src>[^"]*assets/figures/(?P<rel>[^"]+))"(?P<rest>[^>]*?)\s*/?>')


def image_size(path: Path) -> tuple[int, int]:
    """The intrinsic size of a rendered figure in CSS pixels: an SVG's width and height
    attributes (matplotlib writes points), or a PNG's pixels."""
    if path.suffix == ".svg":
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        tag = re.search(r"<svg\b[^>]*>", head)
        sizes = []
        for name in ("width", "height"):
            m = re.search(rf'\b{name}="([0-9.]+)([a-z]*)"', tag.group(0) if tag else "")
            if m is None:
                raise ValueError(f"{path}: the <svg> has no {name}")
            sizes.append(round(float(m.group(1)) * _UNIT_PX[m.group(2)]))
        return sizes[0], sizes[1]
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def size_images(page_html: str, figures: dict[str, Path]) -> str:
    """Give every figure on a page its ``width`` and ``height`` (the browser reserves the space
    before the file arrives, so nothing below it jumps: Lighthouse's layout shift), and let all
    but the first load only when the reader scrolls near them (``loading="lazy"``)."""
    seen = [0]

    def add(m: re.Match) -> str:
        path = figures.get("assets/figures/" + m.group("rel"))
        if path is None or "width=" in m.group(0):
            return m.group(0)
        width, height = image_size(path)
        lazy = ' loading="lazy"' if seen[0] else ""
        seen[0] += 1
        return (f'<img {m.group("attrs")}src="{m.group("src")}"{m.group("rest")} width="{width}" height="{height}"'
                f'{lazy} decoding="async" />')

    return _IMG.sub(add, page_html)
