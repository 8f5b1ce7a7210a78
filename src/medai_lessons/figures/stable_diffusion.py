r"""Figures of lesson 2, part 2 (Stable Diffusion).

| name       | what it shows                                                             |
|------------|---------------------------------------------------------------------------|
| ``flow``   | encode (training) → diffuse in latent space → denoise with text guidance → decode (SVG) |
| ``guidance``| the guidance formula as vectors: ε_u, ε_c and ε̂ for s = 0, 1, 2 (SVG)    |

Both are hand-written SVG text with labels in the page's language.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

__all__ = ["FIGURES"]

_FONT = "'Noto Sans CJK JP', 'Hiragino Sans', 'Yu Gothic', 'DejaVu Sans', sans-serif"
_INK = "#263238"

_TEXT: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "Stable Diffusion の処理の流れ",
        "latent": "潜在空間(4×64×64 = 16,384 個の値)",
        "pixel_in": ["画像 x", "3×512×512", "786,432 個の値"],
        "encoder": ["VAE エンコーダ E", "各辺 1/8 に圧縮"],
        "z0": ["潜在 z₀", "4×64×64"],
        "noise_add": ["拡散(学習時)", "ノイズを足す"],
        "zT": ["純粋なノイズ z_T", "〜 N(0, I)、seed で決まる"],
        "unet": ["U-Net ε_θ", "ノイズを予測して引く", "× ステップ数"],
        "zclean": ["きれいな z₀", "4×64×64"],
        "decoder": ["VAE デコーダ D", "各辺 8 倍に戻す"],
        "pixel_out": ["生成画像", "3×512×512"],
        "prompt": ["プロンプト", "「胸部X線写真」"],
        "tokenizer": ["トークナイザ", "77 個の ID"],
        "clip": ["CLIP テキストエンコーダ τ_θ", "77×768 の埋め込み c"],
        "cross": "クロスアテンションで誘導",
        "cfg": "ε̂ = ε_u + s(ε_c − ε_u)",
        "train": "学習のときだけ",
        "generate": "生成のとき",
    },
    "en": {
        "title": "How Stable Diffusion works",
        "latent": "latent space (4×64×64 = 16,384 values)",
        "pixel_in": ["image x", "3×512×512", "786,432 values"],
        "encoder": ["VAE encoder E", "each side shrunk 8×"],
        "z0": ["latent z₀", "4×64×64"],
        "noise_add": ["diffusion (training)", "add noise"],
        "zT": ["pure noise z_T", "~ N(0, I), set by the seed"],
        "unet": ["U-Net ε_θ", "predict noise, remove it", "× number of steps"],
        "zclean": ["clean z₀", "4×64×64"],
        "decoder": ["VAE decoder D", "each side grown 8×"],
        "pixel_out": ["generated image", "3×512×512"],
        "prompt": ["prompt", "“a chest X-ray”"],
        "tokenizer": ["tokenizer", "77 ids"],
        "clip": ["CLIP text encoder τ_θ", "embeddings c, 77×768"],
        "cross": "guidance through cross-attention",
        "cfg": "ε̂ = ε_u + s(ε_c − ε_u)",
        "train": "training only",
        "generate": "generation",
    },
}


def _check_lang(lang: str) -> dict[str, Any]:
    if lang not in _TEXT:
        raise ValueError(f"`lang` must be one of {tuple(_TEXT)}, got {lang!r}.")
    return _TEXT[lang]


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="14" '
        f'role="img" aria-label="{escape(title)}">\n'
        f"<title>{escape(title)}</title>\n"
        "<defs>"
        '<marker id="sd-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{_INK}"/></marker>'
        '<marker id="sd-arrow-blue" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#1565c0"/></marker>'
        "</defs>\n"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n' + "\n".join(body) + "\n</svg>\n"
    )


def _box(x: float, y: float, w: float, h: float, lines: list[str], fill: str, *, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    out = [
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="9" fill="{fill}" '
        f'stroke="{_INK}" stroke-width="1.4"{dash}/>'
    ]
    gap = 18
    first = y + h / 2 - gap * (len(lines) - 1) / 2 + 5
    for i, line in enumerate(lines):
        style = ' font-weight="bold"' if i == 0 else ' font-size="12.5"'
        out.append(
            f'<text x="{x + w / 2}" y="{first + i * gap}" text-anchor="middle" fill="{_INK}"{style}>'
            f"{escape(line)}</text>"
        )
    return "\n".join(out)


def _arrow(x1: float, y1: float, x2: float, y2: float, *, blue: bool = False, dashed: bool = False) -> str:
    colour, marker = ("#1565c0", "sd-arrow-blue") if blue else (_INK, "sd-arrow")
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="2"'
        f'{dash} marker-end="url(#{marker})"/>'
    )


def _text(x: float, y: float, text: str, *, size: float = 13, colour: str = _INK, anchor: str = "middle") -> str:
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-size="{size}" fill="{colour}">{escape(text)}</text>'


def flow(lang: str) -> str:
    """The processing flow: encode → diffuse → denoise with text guidance → decode."""
    t = _check_lang(lang)
    pixel, latent, text_fill, net = "#eceff1", "#e3f2fd", "#fff8e1", "#e8f5e9"
    body = [
        # the latent-space band
        '<rect x="190" y="40" width="560" height="250" rx="14" fill="#f3f8fd" stroke="#90caf9" stroke-width="1.5"/>',
        _text(470, 62, str(t["latent"]), size=13.5, colour="#1565c0"),
        # row 1: training only (dashed)
        _text(20, 100, str(t["train"]), size=12, colour="#607d8b", anchor="start"),
        _box(20, 110, 150, 70, list(t["pixel_in"]), pixel, dashed=True),
        _box(210, 110, 150, 70, list(t["encoder"]), net, dashed=True),
        _box(400, 110, 140, 70, list(t["z0"]), latent, dashed=True),
        _box(580, 110, 150, 70, list(t["noise_add"]), latent, dashed=True),
        _arrow(170, 145, 208, 145, dashed=True),
        _arrow(360, 145, 398, 145, dashed=True),
        _arrow(540, 145, 578, 145, dashed=True),
        # row 2: generation
        _text(20, 205, str(t["generate"]), size=12, colour="#607d8b", anchor="start"),
        _box(210, 212, 150, 66, list(t["zT"]), latent),
        _box(400, 205, 140, 80, list(t["unet"]), net),
        _box(580, 212, 150, 66, list(t["zclean"]), latent),
        _box(780, 212, 150, 66, list(t["decoder"]), net),
        _box(780, 320, 150, 60, list(t["pixel_out"]), pixel),
        _arrow(360, 245, 398, 245),
        _arrow(540, 245, 578, 245),
        _arrow(730, 245, 778, 245),
        _arrow(855, 278, 855, 318),
        # loop arrow on the U-Net
        '<path d="M 520 205 C 560 170, 380 170, 420 203" fill="none" stroke="#37474f" '
        'stroke-width="1.6" marker-end="url(#sd-arrow)"/>',
        # row 3: text conditioning
        _box(20, 330, 150, 60, list(t["prompt"]), text_fill),
        _box(210, 330, 150, 60, list(t["tokenizer"]), text_fill),
        _box(400, 320, 200, 70, list(t["clip"]), text_fill),
        _arrow(170, 360, 208, 360),
        _arrow(360, 360, 398, 360),
        _arrow(470, 320, 470, 287, blue=True),
        _text(612, 312, str(t["cross"]), size=12.5, colour="#1565c0", anchor="start"),
        _text(612, 330, str(t["cfg"]), size=12.5, colour="#1565c0", anchor="start"),
    ]
    return _svg(950, 405, str(t["title"]), body)


_GUIDE: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "分類器なしガイダンスをベクトルで見る",
        "u": "ε_u(プロンプトなし)",
        "c": "ε_c(プロンプトあり)",
        "note": "s を大きくすると ε_u から ε_c の向きへ、ε_c を越えて伸びる",
    },
    "en": {
        "title": "Classifier-free guidance as vectors",
        "u": "ε_u (no prompt)",
        "c": "ε_c (with the prompt)",
        "note": "a larger s moves along the line from ε_u through ε_c, and beyond it",
    },
}


def guidance(lang: str) -> str:
    """ε̂ = ε_u + s(ε_c − ε_u) drawn in 2-D for s = 0, 1, 2: a point sliding along a line."""
    _check_lang(lang)
    t = _GUIDE[lang]
    ox, oy = 60, 250  # origin
    u = (ox + 260, oy - 30)
    c = (ox + 200, oy - 100)

    def at(s: float) -> tuple[float, float]:
        return (u[0] + s * (c[0] - u[0]), u[1] + s * (c[1] - u[1]))

    far = at(2.0)
    body = [
        f'<line x1="{u[0]}" y1="{u[1]}" x2="{far[0]}" y2="{far[1]}" stroke="#b0bec5" stroke-width="1.5" '
        'stroke-dasharray="5 4"/>',
        _arrow(ox, oy, *u),
        _arrow(ox, oy, *c),
        _arrow(ox, oy, *far, blue=True),
        _text(u[0] + 10, u[1] + 16, t["u"], anchor="start"),
        _text(c[0] + 10, c[1] + 16, t["c"], anchor="start"),
    ]
    for s in (0.0, 1.0, 2.0):
        x, y = at(s)
        body.append(f'<circle cx="{x}" cy="{y}" r="4.5" fill="#1565c0"/>')
        body.append(_text(x + 10, y - 8, f"s = {s:g}", size=12.5, colour="#1565c0", anchor="start"))
    body.append(_text(far[0] - 10, far[1] + 5, "ε̂ (s = 2)", colour="#1565c0", anchor="end"))
    body.append(f'<circle cx="{ox}" cy="{oy}" r="3" fill="{_INK}"/>')
    body.append(_text(20, 285, t["note"], size=13, anchor="start"))
    return _svg(620, 300, t["title"], body)


FIGURES = {"flow": flow, "guidance": guidance}
