"""Render the lessons' figure functions to files, and cache them on disk.

The figures themselves are functions in ``site_tools.lesson_figures.<module>.FIGURES``; this
module only turns ``make(lang)`` into the bytes the site serves at
``assets/figures/<module>/<name>-<lang>.<ext>``, and its twin for Material's dark (slate)
scheme, ``<name>-<lang>-dark.<ext>`` (:func:`render_both`). Output is deterministic (no dates, a
fixed hash salt), so two renders of one figure are byte-identical.

Dark twins cost no second drawing: an SVG is recoloured as text (:func:`dark_svg`), and a
matplotlib PNG is saved a second time after its text, axes and background are restyled
(:func:`restyle_dark`); the model-driven pictures inside it are not drawn again.

Cache: ``.cache/figures/<digest>/...`` where the digest hashes the package's sources, the figure
modules and the benchmark results a figure reads, so an edit to any figure or lesson module
renders again, and an edit to a page renders nothing.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

from .env import LANGUAGES, ROOT, check_language
from .lesson_figures import FigureSpec, discover

CACHE = ROOT / ".cache" / "figures"
PACKAGE = ROOT / "src" / "medai_lessons"
FIGURE_MODULES = ROOT / "site_tools" / "lesson_figures"
#: Files outside the package that a figure reads (``lesson_figures.stable_diffusion._results``).
FIGURE_INPUTS = (ROOT / "benchmarks" / "results" / "minisd.json", ROOT / "benchmarks" / "results" / "ssl.json")


def _matplotlib_bytes(fig: Any, fmt: str) -> bytes:
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "medai-lessons", "svg.fonttype": "none"}):
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight", dpi=DPI)
    data = buf.getvalue()
    return shrink_png(data) if fmt == "png" else data


#: Pixels per inch of the PNG figures (their text: a 10 pt label is 10 × 110 / 72 ≈ 15 image px).
DPI = 110


# ------------------------------------------------------------------ the dark (slate) twins

#: Material's slate scheme: hue 225°, background at 14 % lightness, text at 90 % (palette.css).
SLATE_HUE, SLATE_SAT = 225 / 360, 0.15
SLATE_BG, SLATE_FG = 0.14, 0.90
#: A colour that stands out (a line, a label) keeps at least this contrast on the slate background.
MIN_CONTRAST = 4.5


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def dark_colour(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """The slate-scheme twin of a colour (components in 0..1): lightness turned over, hue kept.

    White becomes the page's slate background and black its text colour; greys take the slate's
    blue tint; a pastel box fill becomes a dark tint of the same hue; an ink colour (a line, a
    label) becomes lighter until it has ``MIN_CONTRAST`` against the background.
    """
    h, light, s = colorsys.rgb_to_hls(*rgb)
    if s < 0.02 or max(rgb) - min(rgb) < 0.02:
        h, s = SLATE_HUE, SLATE_SAT
    new = SLATE_BG + (1.0 - light) * (SLATE_FG - SLATE_BG)
    bg = colorsys.hls_to_rgb(SLATE_HUE, SLATE_BG, SLATE_SAT)
    if new > 0.4:  # meant to stand out: keep it readable on the background
        while new < 0.97 and _contrast(colorsys.hls_to_rgb(h, new, s), bg) < MIN_CONTRAST:
            new += 0.01
    out = colorsys.hls_to_rgb(h, new, s)
    return (out[0], out[1], out[2])


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


_HEX_COLOUR = re.compile(r'(?<!url\()(?<!href=")#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})(?![0-9A-Za-z_-])')
_SVG_TAG = re.compile(r"<svg\b")


#: The id (matplotlib: ``artist.set_gid``) of a group whose colours mean the same on both
#: backgrounds and stay as drawn in the dark twin, e.g. a translucent grey shading where darker
#: means more.
KEEP_COLOURS = "keep-colours"
_GROUP = re.compile(r"<g\b|</g>")


def _kept_apart(svg: str) -> list[tuple[str, bool]]:
    """``svg`` cut into (text, kept) parts: kept parts are the ``<g id="keep-colours…">`` groups."""
    parts, pos = [], 0
    while (start := svg.find(f'<g id="{KEEP_COLOURS}', pos)) >= 0:
        depth, end = 0, start
        for m in _GROUP.finditer(svg, start):
            depth += 1 if m.group() == "<g" else -1
            if depth == 0:
                end = m.end()
                break
        else:
            raise ValueError(f"an unclosed <g id={KEEP_COLOURS!r}> in the SVG")
        parts += [(svg[pos:start], False), (svg[start:end], True)]
        pos = end
    return [*parts, (svg[pos:], False)]


def dark_svg(svg: str) -> str:
    """The slate-scheme twin of an SVG figure: every colour through :func:`dark_colour`.

    Text and shapes that set no colour of their own inherit the slate text colour from the root
    (SVG's default is black). Embedded images (the data: URLs) are left as they are.
    """

    def swap(m: re.Match) -> str:
        code = m.group(1)
        if len(code) == 3:
            code = "".join(c * 2 for c in code)
        rgb = tuple(int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
        return _hex(dark_colour((rgb[0], rgb[1], rgb[2])))

    out = "".join(part if kept else _HEX_COLOUR.sub(swap, part) for part, kept in _kept_apart(svg))
    ink = _hex(dark_colour((0.0, 0.0, 0.0)))
    return _SVG_TAG.sub(f'<svg fill="{ink}"', out, count=1)


def restyle_dark(fig: Any) -> None:
    """Turn a drawn matplotlib figure into its slate twin in place: the background, the text, the
    spines and the ticks. Images and plotted data keep their colours (a CT slice stays a CT slice)."""
    from matplotlib.colors import to_rgba
    from matplotlib.text import Text

    def dark(colour: Any) -> tuple[float, float, float, float]:
        r, g, b, a = to_rgba(colour)
        return (*dark_colour((r, g, b)), a)

    fig.patch.set_facecolor(dark(fig.patch.get_facecolor()))
    for text in fig.findobj(Text):
        text.set_color(dark(text.get_color()))
    for ax in fig.axes:
        ax.patch.set_facecolor(dark(ax.patch.get_facecolor()))
        for spine in ax.spines.values():
            spine.set_edgecolor(dark(spine.get_edgecolor()))
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick.tick1line.set_color(dark(tick.tick1line.get_color()))
                tick.tick2line.set_color(dark(tick.tick2line.get_color()))


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
    return render_both(spec, lang)[0]


def render_both(spec: FigureSpec, lang: str) -> tuple[bytes, bytes]:
    """Draw ``spec`` once with labels in ``lang``; return the bytes of its light and dark files."""
    import matplotlib.pyplot as plt

    check_language(lang)
    out = spec.make(lang)
    if isinstance(out, str):
        return out.encode("utf-8"), dark_svg(out).encode("utf-8")
    if isinstance(out, bytes):
        if spec.fmt != "svg":
            raise TypeError(f"`{spec.module}.{spec.name}` returned bytes: only SVG text has a dark twin.")
        return out, dark_svg(out.decode("utf-8")).encode("utf-8")
    try:
        light = _matplotlib_bytes(out, spec.fmt)
        if spec.fmt == "svg":
            return light, dark_svg(light.decode("utf-8")).encode("utf-8")
        restyle_dark(out)
        return light, _matplotlib_bytes(out, spec.fmt)
    finally:
        plt.close(out)


def write_all(root: Path, *, only: str | None = None) -> list[Path]:
    """Render every figure in every language below ``root``; return the paths written."""
    written = []
    for spec in discover():
        if only and only not in f"{spec.module}/{spec.name}":
            continue
        for lang in LANGUAGES:
            for data, dark in zip(render_both(spec, lang), (False, True), strict=True):
                target = Path(root) / spec.path(lang, dark=dark)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                written.append(target)
    return written


def source_digest(package: Path = PACKAGE) -> str:
    """A hash of every source and data file of the package, the figure modules and the files
    the figures read (the cache key)."""
    h = hashlib.sha256()
    for folder in (package, FIGURE_MODULES):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".json", ".safetensors", ".svg"}:
                h.update(path.relative_to(folder.parent).as_posix().encode())
                h.update(path.read_bytes())
    for path in FIGURE_INPUTS:
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cached_figures(cache_root: Path = CACHE, digest: str | None = None) -> dict[str, Path]:
    """Site path -> rendered file of every figure in every language and both colour schemes,
    rendering only what is not cached (``digest``: :func:`source_digest`, when the caller has it)."""
    digest = digest or source_digest()
    cache = cache_root / digest
    out: dict[str, Path] = {}
    for spec in discover():
        for lang in LANGUAGES:
            rels = (spec.path(lang), spec.path(lang, dark=True))
            cached = [cache / rel for rel in rels]
            if not all(path.is_file() for path in cached):
                for path, data in zip(cached, render_both(spec, lang), strict=True):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(path.suffix + ".tmp")
                    tmp.write_bytes(data)
                    tmp.replace(path)  # atomic: a parallel build never reads half a file
            out.update(zip(rels, cached, strict=True))
    # keep only the current cache generation
    if cache_root.is_dir():
        for old in cache_root.iterdir():
            if old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
    return out


#: (digest, files) of the latest :func:`current_figures`, shared by the hooks of one process
_CURRENT: tuple[str, dict[str, Path]] | None = None


def current_figures() -> tuple[str, dict[str, Path]]:
    """(:func:`source_digest`, :func:`cached_figures`) for the sources as they are now; the figures
    are looked up again only when the digest changed or a file went missing. The figure hook calls
    it at the start of every build (``mkdocs serve`` rebuilds included)."""
    global _CURRENT
    digest = source_digest()
    if _CURRENT is None or _CURRENT[0] != digest or not all(p.is_file() for p in _CURRENT[1].values()):
        _CURRENT = (digest, cached_figures(digest=digest))
    return _CURRENT


def latest_figures() -> tuple[str, dict[str, Path]]:
    """What :func:`current_figures` found last in this process (this build's, once the figure hook
    has run), without hashing the sources again."""
    return _CURRENT if _CURRENT is not None else current_figures()


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


def dark_twin(rel: str) -> str:
    """``assets/figures/m/name-en.svg`` -> ``assets/figures/m/name-en-dark.svg``."""
    stem, ext = rel.rsplit(".", 1)
    return f"{stem}-dark.{ext}"


def size_images(page_html: str, figures: dict[str, Path]) -> str:
    """Give every figure on a page its ``width`` and ``height`` (the browser reserves the space
    before the file arrives, so nothing below it jumps: Lighthouse's layout shift), and let all
    but the first load only when the reader scrolls near them (``loading="lazy"``).

    A figure with a dark twin becomes two images, ``…#only-light`` and ``…-dark.…#only-dark``:
    Material's stylesheet hides the one that does not match the scheme on ``<body>`` (the
    palette toggle's choice, not only the system's), and the hidden one, lazy, is not fetched.
    """
    seen = [0]

    def add(m: re.Match) -> str:
        rel = "assets/figures/" + m.group("rel")
        path = figures.get(rel)
        if path is None or "width=" in m.group(0):
            return m.group(0)
        width, height = image_size(path)
        lazy = ' loading="lazy"' if seen[0] else ""
        seen[0] += 1
        size = f' width="{width}" height="{height}"'
        light = f'<img {m.group("attrs")}src="{m.group("src")}"{m.group("rest")}{size}{lazy} decoding="async" />'
        if dark_twin(rel) not in figures:
            return light
        dark_src = dark_twin(m.group("src"))
        return (light.replace(f'src="{m.group("src")}"', f'src="{m.group("src")}#only-light"', 1)
                + f'<img {m.group("attrs")}src="{dark_src}#only-dark"{m.group("rest")}{size} loading="lazy"'
                  ' decoding="async" />')

    return _IMG.sub(add, page_html)
