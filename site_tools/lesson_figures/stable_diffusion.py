r"""Figures of lesson 3 (Stable Diffusion).

| name       | what it shows                                                             |
|------------|---------------------------------------------------------------------------|
| ``flow``   | encode (training) → diffuse in latent space → denoise with text guidance → decode (SVG) |
| ``guidance``| the guidance formula as vectors: ε_u, ε_c and ε̂ for s = 0, 1, 2 (SVG)    |
| ``latent-channels`` | real digits → the trained VAE's 4 latent channels → reconstruction (PNG) |
| ``guidance-curve``  | faithfulness and variety against s, read from ``benchmarks/results/minisd.json`` |
| ``guidance-grid``   | the shipped model's digits: rows 0–9, columns s = 1, 2, 3, 5, 8, 15 (PNG) |
| ``cross-attention`` | when and where the U-Net reads the prompt "a handwritten seven": each token's |
|                     | share of attention over the 25 steps, and maps of "seven" and ``<|endoftext|>`` (PNG) |
| ``denoising``       | the latent and its direct decoding after 0, 5, …, 25 steps of that run (PNG) |

The first two are hand-written SVG text with labels in the page's language; the others
are drawn with matplotlib from the shipped miniature model (one load, DDIM 25 steps).
``cross-attention`` and ``denoising`` share one guided run; ``guidance-grid`` shows seed 0 of
:func:`guidance_samples`, the one draw (10 digits × 2 seeds × 6 scales) that the page's guidance
explorer shows too, so a build samples the model once for both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import _svg as svg
from ._style import one_thread, pyplot

__all__ = ["FIGURES", "GUIDANCE_SAMPLE_SEEDS", "guidance_samples"]

_INK = svg.INK
_BLUE = "#1565c0"

_TEXT: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "Stable Diffusion の処理の流れ",
        "latent": "潜在空間(4×64×64 = 16,384 個の値)",
        "pixel_in": ["画像 x", "3×512×512", "786,432 個の値"],
        "encoder": ["VAE エンコーダ E", "各辺 1/8 に圧縮"],
        "z0": ["潜在 z₀", "4×64×64"],
        "noise_add": ["拡散", "ノイズを足す"],
        "zT": ["純粋なノイズ z_T", "〜 N(0, I)", "seed で決まる"],
        "unet": ["U-Net ε_θ", "ノイズを予測し", "差し引く", "× ステップ数"],
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
        "encoder": ["VAE encoder E", "sides shrunk 8×"],
        "z0": ["latent z₀", "4×64×64"],
        "noise_add": ["diffusion", "add noise"],
        "zT": ["pure noise z_T", "~ N(0, I)", "set by the seed"],
        "unet": ["U-Net ε_θ", "predicts noise", "and removes it", "× number of steps"],
        "zclean": ["clean z₀", "4×64×64"],
        "decoder": ["VAE decoder D", "sides grown 8×"],
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


def _svg(width: int, height: int, title: str, body: list[str], *, ident: str) -> str:
    heads = {"sd-arrow": _INK, "sd-arrow-blue": _BLUE}
    return svg.document(width, height, title, body, ident=ident, heads=heads, font_size=14)


def _box(x: float, y: float, w: float, h: float, lines: list[str], fill: str, *, dashed: bool = False) -> str:
    return svg.box(x, y, w, h, lines, fill, stroke_width=1.4, rx=9, dash="6 4" if dashed else None, gap=18.5,
                   colour=_INK)


def _arrow(x1: float, y1: float, x2: float, y2: float, *, blue: bool = False, dashed: bool = False) -> str:
    colour, head = (_BLUE, "sd-arrow-blue") if blue else (_INK, "sd-arrow")
    return svg.line(x1, y1, x2, y2, colour=colour, dash="6 4" if dashed else None, head=head)


_text = svg.text


def flow(lang: str) -> str:
    """The processing flow: encode → diffuse → denoise with text guidance → decode."""
    t = _check_lang(lang)
    pixel, latent, text_fill, net = "#eceff1", "#e3f2fd", "#fff8e1", "#e8f5e9"
    body = [
        # the latent-space band
        svg.rect(190, 40, 560, 250, rx=14, fill="#f3f8fd", stroke="#90caf9", stroke_width=1.5),
        _text(470, 62, str(t["latent"]), size=14, colour=_BLUE),
        # row 1: training only (dashed)
        _text(20, 100, str(t["train"]), size=14, colour="#546e7a", anchor="start"),
        _box(20, 110, 150, 70, list(t["pixel_in"]), pixel, dashed=True),
        _box(210, 110, 150, 70, list(t["encoder"]), net, dashed=True),
        _box(400, 110, 140, 70, list(t["z0"]), latent, dashed=True),
        _box(580, 110, 150, 70, list(t["noise_add"]), latent, dashed=True),
        _arrow(170, 145, 208, 145, dashed=True),
        _arrow(360, 145, 398, 145, dashed=True),
        _arrow(540, 145, 578, 145, dashed=True),
        # row 2: generation
        _text(20, 205, str(t["generate"]), size=14, colour="#546e7a", anchor="start"),
        _box(210, 205, 150, 80, list(t["zT"]), latent),
        _box(400, 203, 140, 84, list(t["unet"]), net),
        _box(580, 212, 150, 66, list(t["zclean"]), latent),
        _box(780, 212, 150, 66, list(t["decoder"]), net),
        _box(780, 320, 150, 60, list(t["pixel_out"]), pixel),
        _arrow(360, 245, 398, 245),
        _arrow(540, 245, 578, 245),
        _arrow(730, 245, 778, 245),
        _arrow(855, 278, 855, 318),
        # loop arrow on the U-Net
        svg.path("M 520 205 C 560 170, 380 170, 420 203", colour="#37474f", width=1.6, head="sd-arrow"),
        # row 3: text conditioning
        _box(20, 330, 150, 60, list(t["prompt"]), text_fill),
        _box(210, 330, 150, 60, list(t["tokenizer"]), text_fill),
        _box(400, 320, 200, 70, list(t["clip"]), text_fill),
        _arrow(170, 360, 208, 360),
        _arrow(360, 360, 398, 360),
        _arrow(470, 320, 470, 287, blue=True),
        _text(612, 312, str(t["cross"]), size=14, colour=_BLUE, anchor="start"),
        _text(612, 331, str(t["cfg"]), size=14, colour=_BLUE, anchor="start"),
    ]
    return _svg(950, 405, str(t["title"]), body, ident="flow")


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
        svg.line(*u, *far, colour="#b0bec5", width=1.5, dash="5 4"),
        _arrow(ox, oy, *u),
        _arrow(ox, oy, *c),
        _arrow(ox, oy, *far, blue=True),
        _text(u[0] + 10, u[1] + 16, t["u"], anchor="start"),
        _text(c[0] + 10, c[1] + 16, t["c"], anchor="start"),
    ]
    for s in (0.0, 1.0, 2.0):
        x, y = at(s)
        body.append(f'<circle cx="{x}" cy="{y}" r="4.5" fill="{_BLUE}"/>')
        body.append(_text(x + 10, y - 8, f"s = {s:g}", size=14, colour=_BLUE, anchor="start"))
    body.append(_text(far[0] - 10, far[1] + 5, "ε̂ (s = 2)", colour=_BLUE, anchor="end"))
    body.append(f'<circle cx="{ox}" cy="{oy}" r="3" fill="{_INK}"/>')
    body.append(_text(20, 285, t["note"], size=14, anchor="start"))
    return _svg(620, 300, t["title"], body, ident="guidance")


_MINI = {
    "ja": {
        "real": "本物の数字 x (32×32)",
        "channel": "潜在 z のチャネル {c} (8×8)",
        "recon": "復元 D(z)",
        "s": "ガイダンススケール s",
        "faithful": "忠実度（指定した数字と読まれた割合）",
        "variety": "多様性（同じプロンプト内の平均 L2 距離）",
        "faithful_axis": "忠実度",
        "variety_axis": "多様性（平均 L2 距離）",
        "real_variety": "本物の数字の多様性",
        "prompt": "プロンプト「a handwritten {word}」",
        "token": "トークン {t}",
        "cross_title": "「a handwritten seven」: 各トークンが受けた注意の割合",
        "eot_inner": "<|endoftext|>(4×4 の層)",
        "seven_inner": "seven(4×4 の層)",
        "eot_outer": "<|endoftext|>(8×8 の層)",
        "seven_outer": "seven(8×8 の層)",
        "even": "均等な配分 1/32",
        "step_axis": "ノイズ除去のステップ",
        "share_axis": "受けた注意の割合(%)",
        "step_short": "{i} 回目",
        "row_seven": "4×4 の層で seven が受けた注意(均等な配分との差)",
        "row_eot": "4×4 の層で <|endoftext|> が受けた注意(均等な配分との差)",
        "map_axis": "均等な配分 1/32 との差(ポイント)。緑の線 = 最後にできた数字の輪郭",
        "image": "生成画像",
        "step": "{i} ステップ後",
        "start": "出発点 z_T",
        "latent_row": "潜在 z_t\n(4 チャネル)",
        "decoded_row": "そのまま復号\nD(z_t / γ)",
        "steps_title": "「a handwritten seven」を潜在空間でノイズ除去する(s = 3、DDIM 25 ステップ)",
    },
    "en": {
        "real": "real digit x (32×32)",
        "channel": "latent z, channel {c} (8×8)",
        "recon": "reconstruction D(z)",
        "s": "guidance scale s",
        "faithful": "faithfulness (share read as the prompted digit)",
        "variety": "variety (mean L2 distance within a prompt)",
        "faithful_axis": "faithfulness",
        "variety_axis": "variety (mean L2 distance)",
        "real_variety": "variety of real digits",
        "prompt": "prompt \"a handwritten {word}\"",
        "token": "token {t}",
        "cross_title": "\"a handwritten seven\": share of attention each token received",
        "eot_inner": "<|endoftext|> (4×4 layers)",
        "seven_inner": "seven (4×4 layers)",
        "eot_outer": "<|endoftext|> (8×8 layers)",
        "seven_outer": "seven (8×8 layers)",
        "even": "even share 1/32",
        "step_axis": "denoising step",
        "share_axis": "share of attention (%)",
        "step_short": "step {i}",
        "row_seven": "attention to seven, 4×4 layers (minus the even share)",
        "row_eot": "attention to <|endoftext|>, 4×4 layers (minus the even share)",
        "map_axis": "points above the even share 1/32; green = the final digit's outline",
        "image": "generated image",
        "step": "after {i} steps",
        "start": "start z_T",
        "latent_row": "latent z_t\n(4 channels)",
        "decoded_row": "decoded as is\nD(z_t / γ)",
        "steps_title": "Denoising \"a handwritten seven\" in latent space (s = 3, 25 DDIM steps)",
    },
}


@lru_cache(maxsize=1)
def _pipe() -> Any:
    from medai_lessons.stable_diffusion import load_digit_pipeline

    return load_digit_pipeline(device="cpu")


def latent_channels(lang: str) -> Any:
    """Three real digits, their four latent channels and their reconstructions."""
    import torch

    from medai_lessons.stable_diffusion.captioned_images import load_captioned_images

    plt = pyplot(lang)
    lab = _MINI[lang]
    pipe = _pipe()
    data = load_captioned_images("digits")
    x = data.images[[0, 7, 3]]  # a 0, a 7 and a 3
    with torch.no_grad(), one_thread():
        z = pipe.vae.encode(x).latent_dist.mean
        x_hat = pipe.vae.decode(z).sample.clamp(-1, 1)
    fig, axes = plt.subplots(3, 6, figsize=(9, 4.8))
    for r in range(3):
        cols = [(x[r, 0], lab["real"], "gray")]
        cols += [(z[r, c], lab["channel"].format(c=c), "RdBu_r") for c in range(4)]
        cols += [(x_hat[r, 0], lab["recon"], "gray")]
        for c, (img, title, cmap) in enumerate(cols):
            ax = axes[r, c]
            lim = float(img.abs().max()) if cmap == "RdBu_r" else 1.0
            ax.imshow(img.numpy(), cmap=cmap, vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def _results() -> dict[str, float]:
    import json

    from site_tools.env import ROOT

    path = ROOT / "benchmarks" / "results" / "minisd.json"
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    return {r["name"]: r["value"] for r in rows}


def guidance_curve(lang: str) -> Any:
    """Faithfulness and variety against s (from ``benchmarks/results/minisd.json``)."""
    plt = pyplot(lang)
    lab = _MINI[lang]
    res = _results()
    scales = [1, 2, 3, 5, 8, 15]
    fig, ax1 = plt.subplots(figsize=(4.8, 4.6))  # one text column: 10 pt labels read on a phone too
    ax1.plot(scales, [res[f"faithfulness_s{s}"] for s in scales], "o-", color="#1565c0", label=lab["faithful"])
    ax1.set_xlabel(lab["s"])
    ax1.set_ylabel(lab["faithful_axis"], color="#1565c0")
    ax1.set_ylim(0, 1.05)
    ax1.set_xscale("log")
    ax1.set_xticks(scales, [str(s) for s in scales])
    ax2 = ax1.twinx()
    ax2.plot(scales, [res[f"variety_s{s}"] for s in scales], "s--", color="#c62828", label=lab["variety"])
    ax2.axhline(res["variety_real_digits"], color="#c62828", lw=0.8, ls=":", label=lab["real_variety"])
    ax2.set_ylabel(lab["variety_axis"], color="#c62828")
    ax2.set_ylim(0, None)
    lines = ax1.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax1.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=10, loc="upper center",
               bbox_to_anchor=(0.5, -0.18), frameon=False)
    fig.tight_layout()
    return fig


#: The seeds of :func:`guidance_samples`: the guidance-grid figure shows seed 0, the page's
#: guidance explorer all of them (the page's own example draws the same two seeds).
GUIDANCE_SAMPLE_SEEDS = (0, 1)


@lru_cache(maxsize=1)
def guidance_samples() -> Any:
    """The shipped model's digits at every scale of ``GUIDANCE_SCALES``, drawn once per process.

    ``sample_digits(pipe, range(10), GUIDANCE_SAMPLE_SEEDS, guidance_scale=s)`` for each s
    (prompt "a handwritten {word}", DDIM 25 steps, one torch thread), stacked to
    ``(scales, digits, seeds, 3, 32, 32)`` in [-1, 1]. The guidance-grid figure (both languages)
    and the Stable Diffusion page's guidance explorer share this one draw. Do not modify the result.
    """
    import torch

    from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES, sample_digits

    pipe = _pipe()
    seeds = list(GUIDANCE_SAMPLE_SEEDS)
    with one_thread():
        per_scale = [sample_digits(pipe, list(range(10)), seeds, guidance_scale=s) for s in GUIDANCE_SCALES]
    return torch.stack([x.reshape(10, len(seeds), *x.shape[1:]) for x in per_scale])


def guidance_grid(lang: str) -> Any:
    """Digits 0-9 (rows) at s = 1, 2, 3, 5, 8, 15 (columns), seed 0, DDIM 25 steps.

    It draws seed 0 of :func:`guidance_samples`, the draw the page's guidance explorer shows too,
    so the build samples the model once for both.
    """
    from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES

    plt = pyplot(lang)
    columns = guidance_samples()[:, :, GUIDANCE_SAMPLE_SEEDS.index(0), 0]  # (scales, digits, 32, 32)
    fig, axes = plt.subplots(10, len(GUIDANCE_SCALES), figsize=(0.75 * len(GUIDANCE_SCALES) + 0.6, 7.8))
    for c, scale in enumerate(GUIDANCE_SCALES):
        for r in range(10):
            ax = axes[r, c]
            ax.imshow(columns[c, r].numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"s={scale:g}", fontsize=8)
            if c == 0:
                ax.set_ylabel(str(r), rotation=0, labelpad=8, fontsize=9)
    fig.tight_layout(pad=0.3)
    return fig


#: The grid sides of the miniature U-Net's cross-attention layers: 8×8 (outer blocks), 4×4 (inner).
ATTENTION_GRIDS = (8, 4)
#: The steps (1-based) whose attention maps the cross-attention figure shows.
ATTENTION_STEPS = (1, 7, 13, 19, 25)

#: Steps after which the denoising figure shows the latent (0 = the starting noise z_T).
DENOISE_STEPS = (0, 5, 10, 15, 20, 25)
_SEVEN = "a handwritten seven"


@lru_cache(maxsize=1)
def _seven_run() -> dict[str, Any]:
    """One guided run of "a handwritten seven" (seed 0, s = 3, DDIM 25 steps), shared by two figures.

    Keeps the cross-attention maps (as :func:`cross_attention_maps` computes them), the same record
    per step on each grid of :data:`ATTENTION_GRIDS` (as :func:`cross_attention_over_steps`), the latents
    after the steps in :data:`DENOISE_STEPS`, their direct decodings, and the final image.
    """
    import torch

    from medai_lessons.stable_diffusion import make_generator, prepare_latents
    from medai_lessons.stable_diffusion.guidance import (
        _attention_by_step_from_record,
        _attention_maps_from_record,
        _recording_cross_attention,
    )

    pipe = _pipe()
    latents = {0: prepare_latents(pipe, generator=make_generator(0), height=32, width=32)}

    def keep(pipeline: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if i + 1 in DENOISE_STEPS:
            latents[i + 1] = tensors["latents"].detach().clone()
        return tensors

    pipe.set_progress_bar_config(disable=True)
    with one_thread(), _recording_cross_attention(pipe) as store:
        image = pipe(_SEVEN, num_inference_steps=25, guidance_scale=3.0, generator=make_generator(0),
                     height=32, width=32, output_type="np", callback_on_step_end=keep).images[0]
    tokens, maps = _attention_maps_from_record(pipe, _SEVEN, store)
    by_step = {g: _attention_by_step_from_record(pipe, _SEVEN, store, g)[1] for g in ATTENTION_GRIDS}
    z = torch.cat([latents[i] for i in DENOISE_STEPS])
    with torch.no_grad(), one_thread():
        decoded = pipe.vae.decode(z / pipe.vae.config.scaling_factor).sample.clamp(-1, 1)
    slots = int(next(iter(store.values()))[0].shape[-1])
    return {"tokens": tokens, "maps": maps, "slots": slots, "by_step": by_step, "image": image, "latents": z,
            "decoded": decoded}


def cross_attention(lang: str) -> Any:
    """When and where the trained U-Net reads "a handwritten seven".

    Top: the share of attention that ``<|endoftext|>`` and "seven" receive at each of the 25
    steps, in the inner (4×4) and outer (8×8) layers, against an even share of 1/32. Bottom: at
    five steps, each 4×4 position's share for the two tokens minus the even share (the mean over
    the 32 token slots is exactly 1/32, since a position's weights sum to 1), with the outline of
    the digit the run ends with.
    """
    import numpy as np

    plt = pyplot(lang)
    lab = _MINI[lang]
    run = _seven_run()
    words = [tok.replace("</w>", "") for tok in run["tokens"]]
    end, seven = words.index("<|endoftext|>"), words.index("seven")
    inner, outer = run["by_step"][4], run["by_step"][8]  # (steps, tokens, g, g)
    even = 1 / run["slots"]
    steps = np.arange(1, inner.shape[0] + 1)
    fig = plt.figure(figsize=(4.8, 7.0), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1.1])
    ax = top.subplots()
    curves = [
        (inner[:, end], "#c62828", "-", lab["eot_inner"]),
        (inner[:, seven], "#1565c0", "-", lab["seven_inner"]),
        (outer[:, end], "#c62828", ":", lab["eot_outer"]),
        (outer[:, seven], "#1565c0", ":", lab["seven_outer"]),
    ]
    for maps, colour, style, label in curves:
        ax.plot(steps, 100 * maps.mean(axis=(1, 2)), style, color=colour, lw=1.8, label=label)
    ax.axhline(100 * even, color="0.4", lw=0.9, ls="--", label=lab["even"])
    for step in ATTENTION_STEPS:
        ax.axvline(step, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel(lab["step_axis"], fontsize=10)
    ax.set_ylabel(lab["share_axis"], fontsize=10)
    ax.set_xlim(1, steps[-1])
    ax.set_xticks(ATTENTION_STEPS)
    ax.set_ylim(0, 46)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, frameon=False, loc="upper right")
    rows = bottom.subfigures(2, 1, height_ratios=[1.0, 1.35])
    shown = 100 * (inner[[s - 1 for s in ATTENTION_STEPS]] - even)  # (shown steps, tokens, 4, 4)
    lim = float(np.abs(shown[:, [end, seven]]).max())
    outline = run["image"][..., 0]
    for r, (row, tok, title) in enumerate(((rows[0], seven, lab["row_seven"]), (rows[1], end, lab["row_eot"]))):
        row.suptitle(title, fontsize=10)
        axes = row.subplots(1, len(ATTENTION_STEPS))
        for c, step in enumerate(ATTENTION_STEPS):
            a = axes[c]
            im = a.imshow(shown[c, tok], cmap="RdBu_r", vmin=-lim, vmax=lim, extent=(0, 32, 32, 0))
            im.set_gid("keep-colours")
            a.contour(outline, levels=[0.5], colors="#2e7d32", linewidths=1.2, extent=(0, 32, 0, 32),
                      origin="upper")
            a.set_xticks([])
            a.set_yticks([])
            a.set_xlabel(lab["step_short"].format(i=step), fontsize=10)
        if r == 1:
            bar = row.colorbar(im, ax=axes, orientation="horizontal", fraction=0.12, pad=0.04, aspect=30)
            bar.set_label(lab["map_axis"], fontsize=10)
            bar.ax.tick_params(labelsize=10)
    return fig


def denoising(lang: str) -> Any:
    """The latent z_t (its 4 channels as a 2×2 mosaic) and its direct decoding after 0, 5, …, 25 steps."""
    import torch

    plt = pyplot(lang)
    lab = _MINI[lang]
    run = _seven_run()
    z, decoded = run["latents"], run["decoded"]
    fig, axes = plt.subplots(2, len(DENOISE_STEPS), figsize=(1.45 * len(DENOISE_STEPS) + 0.9, 3.5))
    for c, step in enumerate(DENOISE_STEPS):
        mosaic = torch.cat([torch.cat([z[c, 0], z[c, 1]], 1), torch.cat([z[c, 2], z[c, 3]], 1)], 0)
        lim = float(mosaic.abs().max())
        axes[0, c].imshow(mosaic.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, c].axhline(7.5, color="white", lw=0.8)
        axes[0, c].axvline(7.5, color="white", lw=0.8)
        axes[1, c].imshow(decoded[c, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
        axes[0, c].set_title(lab["start"] if step == 0 else lab["step"].format(i=step), fontsize=8)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel(lab["latent_row"], fontsize=8)
    axes[1, 0].set_ylabel(lab["decoded_row"], fontsize=8)
    fig.suptitle(lab["steps_title"], fontsize=9)
    fig.tight_layout()
    return fig


FIGURES = {
    "flow": flow,
    "guidance": guidance,
    "latent-channels": latent_channels,
    "guidance-curve": guidance_curve,
    "guidance-grid": guidance_grid,
    "cross-attention": cross_attention,
    "denoising": denoising,
}

FORMATS = {"latent-channels": "png", "guidance-grid": "png", "cross-attention": "png", "denoising": "png"}

