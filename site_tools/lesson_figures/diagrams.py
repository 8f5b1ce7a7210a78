r"""Diagrams of lesson 2 (DDPM), hand-written SVG with the labels in each language.

| name                  | what it shows                                                         |
|-----------------------|-----------------------------------------------------------------------|
| ``forward-reverse``   | $x_0 \to \dots \to x_T$ by the fixed $q(x_t \mid x_{t-1})$, and back |
|                       | by the learned $p_\theta(x_{t-1} \mid x_t)$                           |
| ``ddpm-training-step``| Ho et al. (2020), Algorithm 1: sample $x_0, t, \varepsilon$ → $x_t$   |
|                       | → U-Net → loss → gradient step                                        |
| ``unet``              | the shipped digits U-Net as an hourglass: down path, bottleneck, up   |
|                       | path, skip connections, and the step embedding entering every block   |

The numbers in ``unet`` are measured, not typed: :meth:`UNet.feature_shapes
<medai_lessons.diffusion.unet.UNet.feature_shapes>` runs the shipped checkpoint once on a
blank 8×8 image and the boxes show what leaves each part.

The images in ``forward-reverse`` are computed, not drawn: a 10×10 ring is noised by
the closed form $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$
(Ho et al. 2020, Eq. (4)) with the linear schedule $\beta_t$ from $10^{-4}$ to $0.02$,
$T = 1000$, and one fixed $\varepsilon$ (seed 7), so the picture is the same on every build.

Every diagram is text in the SVG (sharp at any zoom, searchable in the file), has
``role="img"`` with a ``<title>`` and a ``<desc>`` in the page's language, and sits on
its own white card; the site's build recolours it for the dark scheme. No label is under
14 units, so each reads at 10 px or more in a 688 px desktop column.

Notation:

| code               | symbol                              | diffusers                               |
|--------------------|-------------------------------------|-----------------------------------------|
| ``share[t]``       | $\bar\alpha_t$, the paper's $t$ = 0..T | ``alphas_cumprod[t - 1]`` ($\bar\alpha_0 = 1$) |
| ``eps``            | $\varepsilon$                       | ``noise``                               |
| ``x0``, ``x_t``    | $x_0$, $x_t$                        | ``original_samples``, ``noisy_samples`` |

``alpha_bar`` and ``alphas_cumprod`` keep diffusers' meaning everywhere (index 0 is the
paper's $t = 1$); :func:`signal_share_by_step`, indexed by the paper's $t$, has a name of its own.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from . import _svg as svg

__all__ = ["FIGURES"]

_INK = svg.INK
_FORWARD = "#37474f"  # 10.0:1 on white
_REVERSE = "#b71c1c"  # 6.6:1 on white
_MUTED = "#455a64"  # 7.5:1 on white

#: The lesson's schedule: linear betas (Ho et al. 2020, Sec. 4), T = 1000.
NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02
#: The time steps drawn in ``forward-reverse`` (0 = clean data, 1000 = T).
SHOWN_STEPS = (0, 100, 250, 500, 1000)


def _check_lang(lang: str) -> str:
    if lang not in ("ja", "en"):
        raise ValueError(f"`lang` must be 'ja' or 'en', got {lang!r}.")
    return lang


def _text(x: float, y: float, content: str, *, size: float = 14, colour: str = _INK, anchor: str = "middle",
          weight: str | None = None) -> str:
    return svg.text(x, y, content, size=size, colour=colour, anchor=anchor, weight=weight)


def _box(x: float, y: float, w: float, h: float, *text_and_fill: str) -> str:
    *lines, fill = text_and_fill  # called as _box(x, y, w, h, title, formula, fill)
    return svg.box(x, y, w, h, lines, fill, stroke=_FORWARD, gap=24, shift=6, sizes=(14.5, 15), colour=_INK)


def _svg(width: int, height: int, ident: str, title: str, desc: str, body: list[str], **heads: str) -> str:
    heads = {f"{ident}-fwd": _FORWARD, f"{ident}-rev": _REVERSE, **{f"{ident}-{k}": c for k, c in heads.items()}}
    return svg.document(width, height, title, body, ident=ident, heads=heads, desc=desc, corner=12)


def _arrow(ident: str, d: str, *, reverse: bool = False, dashed: bool = False) -> str:
    colour, head = (_REVERSE, "rev") if reverse else (_FORWARD, "fwd")
    return svg.path(d, colour=colour, width=2.2, dash="7 5" if dashed else None, head=f"{ident}-{head}")


# --------------------------------------------------------------------------------------
# forward-reverse
# --------------------------------------------------------------------------------------


def signal_share_by_step(num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> np.ndarray:
    r"""$\bar\alpha_t$, the share of signal variance left, for the paper's $t = 0, \dots, T$ ($\bar\alpha_0 = 1$).

    The lesson's one ᾱ, :class:`~medai_lessons.diffusion.NoiseSchedule`'s linear ``alphas_cumprod``,
    with the paper's $t = 0$ in front: ``signal_share_by_step()[t]`` is ``alphas_cumprod[t - 1]``.
    (Called ``alpha_bar`` before, which elsewhere means diffusers' index, one step off.)
    """
    from medai_lessons.diffusion import NoiseSchedule

    schedule = NoiseSchedule.linear(num_train_timesteps, BETA_START, BETA_END)
    return np.concatenate([[1.0], schedule.alphas_cumprod.numpy()])


def _ring(size: int = 10) -> np.ndarray:
    """A ring in [-1, 1] (data are scaled to [-1, 1] in DDPM): a cross-section of a vessel."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5 - size / 2
    r = np.hypot(xx, yy)
    return np.where((r > size * 0.18) & (r < size * 0.4), 1.0, -1.0)


def _pixels(x: float, y: float, img: np.ndarray, cell: float) -> list[str]:
    grey = np.clip((img + 1.0) / 2.0, 0.0, 1.0)
    frame_w, frame_h = cell * img.shape[1] + 2, cell * img.shape[0] + 2
    out = [svg.rect(x - 1, y - 1, frame_w, frame_h, fill="none", stroke=_FORWARD, stroke_width=1.5)]
    for i, row in enumerate(grey):
        for j, value in enumerate(row):
            level = round(float(value) * 255)
            out.append(svg.rect(x + j * cell, y + i * cell, cell, cell, fill=f"#{level:02x}{level:02x}{level:02x}"))
    return out


_FR: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "拡散モデルの順方向過程と逆方向過程",
        "desc": (
            "左から右へ、データ x_0(リング形の画像)に固定の規則 q(x_t | x_{t−1}) で少しずつガウスノイズを加え、"
            "x_T ではほぼ純粋なノイズになる。右から左へ、学習したモデル p_θ(x_{t−1} | x_t) が少しずつノイズを"
            "取り除いて画像に戻す。各画像の下に時刻 t と ᾱ_t を示す。"
        ),
        "forward": "順方向過程(固定・学習しない): q(x_{t} | x_{t−1}) でノイズを少し加える",
        "reverse": "逆方向過程(学習する): p_{θ}(x_{t−1} | x_{t}) でノイズを少し取り除く",
        "data": "データ",
        "noise": "ほぼ純粋なノイズ",
        "note": "1000 ステップのうち 5 つの時刻を表示。各画像 = √ᾱ_{t} x_{0} + √(1−ᾱ_{t}) ε(同じ ε)",
    },
    "en": {
        "title": "The forward and reverse processes of a diffusion model",
        "desc": (
            "Left to right, the data x_0 (a ring-shaped image) receives a little Gaussian noise at every step by "
            "the fixed rule q(x_t | x_{t−1}) until x_T is almost pure noise. Right to left, the learned model "
            "p_θ(x_{t−1} | x_t) removes a little noise at every step and recovers an image. Under each image: "
            "its time step t and ᾱ_t."
        ),
        "forward": "forward process (fixed, nothing learned): q(x_{t} | x_{t−1}) adds a little noise",
        "reverse": "reverse process (learned): p_{θ}(x_{t−1} | x_{t}) removes a little noise",
        "data": "data",
        "noise": "almost pure noise",
        "note": "5 of the 1000 steps shown. Each image = √ᾱ_{t} x_{0} + √(1−ᾱ_{t}) ε (one shared ε)",
    },
}


def forward_reverse(lang: str) -> str:
    """x0 → … → xT by the fixed forward process, and back by the learned reverse process."""
    t = _FR[_check_lang(lang)]
    ident = f"fr-{lang}"
    width, height = 940, 350
    x0 = _ring()
    eps = np.random.default_rng(7).standard_normal(x0.shape)
    share = signal_share_by_step()
    cell, left, gap, top = 10, 50, 85, 92
    panel = cell * x0.shape[1]
    body = [
        _text(width / 2, 34, t["forward"], size=15, colour=_FORWARD, weight="bold"),
        _arrow(ident, f"M {left} 50 L {width - left} 50"),
    ]
    for k, step in enumerate(SHOWN_STEPS):
        px = left + k * (panel + gap)
        x_t = np.sqrt(share[step]) * x0 + np.sqrt(1.0 - share[step]) * eps  # Ho et al. 2020, Eq. (4)
        body += _pixels(px, top, x_t, cell)
        centre = px + panel / 2
        name = "x_{0}" if step == 0 else ("x_{T}" if step == NUM_TRAIN_TIMESTEPS else f"x_{{{step}}}")
        body.append(_text(centre, top + panel + 24, name, size=16, weight="bold"))
        body.append(_text(centre, top + panel + 44, f"t = {step},  ᾱ_{{t}} = {share[step]:.3f}", size=14,
                          colour=_MUTED))
        if step == 0:
            body.append(_text(centre, top - 12, t["data"], size=14, colour=_MUTED))
        if step == NUM_TRAIN_TIMESTEPS:
            body.append(_text(centre, top - 12, t["noise"], size=14, colour=_MUTED))
        if k < len(SHOWN_STEPS) - 1:
            mid = px + panel + gap / 2
            body.append(_text(mid, top + panel / 2 + 5, "· · ·", size=16, colour=_MUTED))
    y_rev = top + panel + 72
    body += [
        _arrow(ident, f"M {width - left} {y_rev} L {left} {y_rev}", reverse=True, dashed=True),
        _text(width / 2, y_rev + 26, t["reverse"], size=15, colour=_REVERSE, weight="bold"),
        _text(width / 2, height - 16, t["note"], size=14, colour=_MUTED),
    ]
    return _svg(width, height, ident, t["title"], t["desc"], body)


# --------------------------------------------------------------------------------------
# ddpm-training-step
# --------------------------------------------------------------------------------------

_TS: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "DDPM の学習 1 ステップ(Ho et al. 2020, アルゴリズム 1)",
        "desc": (
            "学習データから画像 x_0、時刻 t(1 から T の一様分布)、ノイズ ε(標準正規分布)を引く。"
            "x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε で一気にノイズを加え、U-Net ε_θ(x_t, t) が加えたノイズを予測する。"
            "損失は本当のノイズとの二乗誤差 ‖ε − ε_θ(x_t, t)‖²。その勾配で θ を更新し、新しいサンプルで繰り返す。"
        ),
        "x0": ("1. 画像を選ぶ", "x_{0} ~ q(x_{0})"),
        "t": ("2. 時刻を選ぶ", "t ~ Uniform{1, …, T}"),
        "eps": ("3. ノイズを引く", "ε ~ N(0, I)"),
        "xt": ("4. 一気にノイズを加える", "x_{t} = √ᾱ_{t} x_{0} + √(1−ᾱ_{t}) ε"),
        "unet": ("5. U-Net が予測", "ε_{θ}(x_{t}, t)"),
        "loss": ("6. 損失", "‖ε − ε_{θ}(x_{t}, t)‖^{2}"),
        "step": ("7. 勾配で更新", "θ ← θ − η ∇_{θ} L"),
        "to_unet": "x_{t} と t",
        "pred": "予測したノイズ",
        "target": "正解: 本当に加えたノイズ ε",
        "repeat": "新しい x_{0}, t, ε で繰り返す",
    },
    "en": {
        "title": "One DDPM training step (Ho et al. 2020, Algorithm 1)",
        "desc": (
            "Draw an image x_0 from the training data, a time step t uniformly from 1 to T, and noise ε from a "
            "standard normal. Noise the image in one jump, x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε; the U-Net ε_θ(x_t, t) "
            "predicts the noise that was added. The loss is the squared error to the true noise, "
            "‖ε − ε_θ(x_t, t)‖². A gradient step updates θ, and the loop repeats with new samples."
        ),
        "x0": ("1. Pick an image", "x_{0} ~ q(x_{0})"),
        "t": ("2. Pick a time step", "t ~ Uniform{1, …, T}"),
        "eps": ("3. Draw noise", "ε ~ N(0, I)"),
        "xt": ("4. Noise it in one jump", "x_{t} = √ᾱ_{t} x_{0} + √(1−ᾱ_{t}) ε"),
        "unet": ("5. U-Net predicts", "ε_{θ}(x_{t}, t)"),
        "loss": ("6. Loss", "‖ε − ε_{θ}(x_{t}, t)‖^{2}"),
        "step": ("7. Gradient step", "θ ← θ − η ∇_{θ} L"),
        "to_unet": "x_{t} and t",
        "pred": "predicted noise",
        "target": "target: the noise ε actually added",
        "repeat": "repeat with new x_{0}, t, ε",
    },
}


def ddpm_training_step(lang: str) -> str:
    """Algorithm 1 of Ho et al. (2020) as a flow of seven boxes and a loop."""
    t = _TS[_check_lang(lang)]
    ident = f"ts-{lang}"
    width, height = 980, 360
    col_w, h = 200, 70
    xt_x, xt_w = 250, 215
    unet_x, unet_w = 535, 145
    loss_x, loss_w = 815, 150
    mid_y, mid_h = 135, 90
    body = [
        _box(20, 40, col_w, h, *t["x0"], "#e0f2f1"),
        _box(20, 145, col_w, h, *t["t"], "#e8eaf6"),
        _box(20, 250, col_w, h, *t["eps"], "#fff3e0"),
        _box(xt_x, mid_y, xt_w, mid_h, *t["xt"], "#f3e5f5"),
        _box(unet_x, mid_y, unet_w, mid_h, *t["unet"], "#e3f2fd"),
        _box(loss_x, mid_y, loss_w, mid_h, *t["loss"], "#ffebee"),
        _box(loss_x, 20, loss_w, h, *t["step"], "#f1f8e9"),
        # inputs of the closed form
        _arrow(ident, f"M {20 + col_w} 75 L {xt_x - 4} {mid_y + 20}"),
        _arrow(ident, f"M {20 + col_w} 180 L {xt_x - 4} 180"),
        _arrow(ident, f"M {20 + col_w} 285 L {xt_x - 4} {mid_y + mid_h - 20}"),
        # x_t and t into the U-Net, its prediction into the loss
        _arrow(ident, f"M {xt_x + xt_w} 180 L {unet_x - 4} 180"),
        _text((xt_x + xt_w + unet_x) / 2, 203, t["to_unet"], size=14.5, colour=_MUTED),
        _arrow(ident, f"M {unet_x + unet_w} 180 L {loss_x - 4} 180"),
        _text((unet_x + unet_w + loss_x) / 2, 203, t["pred"], size=14.5, colour=_MUTED),
        # the target: the very noise that was added
        _arrow(ident, f"M {20 + col_w} 300 L {loss_x + loss_w / 2} 300 L {loss_x + loss_w / 2} {mid_y + mid_h + 4}",
               dashed=True),
        _text((20 + col_w + loss_x + loss_w / 2) / 2 + 40, 292, t["target"], size=14.5, colour=_MUTED),
        # loss → gradient step → back to the start
        _arrow(ident, f"M {loss_x + loss_w / 2} {mid_y} L {loss_x + loss_w / 2} {20 + h + 4}"),
        _arrow(ident, f"M {loss_x} 55 L {20 + col_w + 4} 55", reverse=True, dashed=True),
        _text((loss_x + 20 + col_w) / 2, 45, t["repeat"], size=14.5, colour=_REVERSE, weight="bold"),
        _text(width / 2, height - 14, t["title"], size=14.5, colour=_MUTED),
    ]
    return _svg(width, height, ident, t["title"], t["desc"], body)


# --------------------------------------------------------------------------------------
# unet
# --------------------------------------------------------------------------------------

_UN: dict[str, dict[str, Any]] = {
    "ja": {
        "title": "同梱の U-Net(数字用、重み {params:,} 個)の形",
        "desc": (
            "砂時計形の U-Net。左の下り道で 8×8 の画像を 4×4 に縮め、いちばん下のボトルネックを通って、"
            "右の上り道で 8×8 に戻す。各箱は残差ブロックで、その出力の形(チャネル×高さ×幅)を書いてある: {shapes}。"
            "スキップ接続は下り道の出力をそのまま上り道に渡し、チャネル方向につなげる(32 + 32 = 64)。"
            "時刻 t は sin と cos の特徴(長さ {time_dim})に変えて MLP を通し、5 つの残差ブロックすべてに足し込む。"
        ),
        "input": "入力 x_{t}",
        "output": "予測ノイズ",
        "block": "残差ブロック",
        "mid": "ボトルネック",
        "level_hi": "解像度 8×8",
        "level_lo": "解像度 4×4",
        "conv": ("3×3", "畳み込み"),
        "down": ("ストライド 2 の", "畳み込み"),
        "up": ("最近傍で 2 倍", "+ 畳み込み"),
        "skip": "スキップ接続: そのまま渡してつなげる",
        "skip_short": "スキップ",
        "time": ("時刻 t → sin と cos ({time_dim}) → MLP", "時刻埋め込み emb ({time_dim})"),
        "time_note": "emb をすべての残差ブロックに足す",
        "note": "箱の中の数字 = 1 枚の画像の形(チャネル×高さ×幅)。同梱のチェックポイントを実際に通して測った値",
    },
    "en": {
        "title": "The shipped digits U-Net ({params:,} weights)",
        "desc": (
            "An hourglass-shaped U-Net. The down path on the left shrinks the 8×8 image to 4×4, the bottleneck "
            "sits at the bottom, and the up path on the right grows it back to 8×8. Each box is a residual block "
            "labelled with the shape of its output (channels × height × width): {shapes}. The skip connections "
            "pass the down path's output straight to the up path, where it is concatenated along the channels "
            "(32 + 32 = 64). The step t becomes sine and cosine features of length {time_dim}, goes through an MLP, "
            "and is added inside all five residual blocks."
        ),
        "input": "input x_{t}",
        "output": "predicted noise",
        "block": "residual block",
        "mid": "bottleneck",
        "level_hi": "resolution 8×8",
        "level_lo": "resolution 4×4",
        "conv": ("3×3", "conv"),
        "down": ("stride-2", "conv"),
        "up": ("nearest ×2", "+ conv"),
        "skip": "skip connection: passed across, concatenated",
        "skip_short": "skip",
        "time": ("step t → sin and cos ({time_dim}) → MLP", "time embedding emb ({time_dim})"),
        "time_note": "emb is added in every residual block",
        "note": (
            "Numbers in the boxes = the shape of one image (channels × height × width), "
            "measured on the shipped checkpoint"
        ),
    },
}

_TIME = "#e65100"  # the step embedding's colour, 4.6:1 on white


def _lines(x: float, y: float, lines: tuple[str, ...], *, anchor: str, colour: str) -> list[str]:
    return [_text(x, y + 18 * i, line, size=14, colour=colour, anchor=anchor) for i, line in enumerate(lines)]


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


@lru_cache(maxsize=1)
def unet_shapes() -> tuple[dict[str, tuple[int, ...]], int, int]:
    """``(shapes, time_dim, parameters)`` of the shipped digits U-Net, measured on an 8×8 image."""
    from medai_lessons.diffusion import load_pretrained_digits

    model, _ = load_pretrained_digits()
    return model.feature_shapes(8, 8), int(model.config["time_dim"]), model.num_parameters()


def unet(lang: str) -> str:
    """The shipped U-Net: down path, bottleneck, up path, skip connections and the step embedding."""
    t = _UN[_check_lang(lang)]
    shapes, time_dim, params = unet_shapes()
    if [k for k in shapes if k.startswith("down.")] != ["down.0", "down.1"]:
        raise ValueError(f"the diagram draws a two-level U-Net, got the parts {list(shapes)}.")
    ident = f"un-{lang}"
    width, height = 960, 535
    named = {k: _shape(v) for k, v in shapes.items()}
    hi_y, lo_y, mid_y, box_h, bw, io_w = 50, 205, 325, 70, 150, 130  # box tops at 8×8, 4×4, bottleneck
    # (centre x, top y, text lines) of the five residual blocks
    blocks = {
        "down.0": (290, hi_y, [t["block"], named["down.0"]]),
        "down.1": (365, lo_y, [t["block"], named["down.1"]]),
        "mid": (480, mid_y, [t["mid"], named["mid"]]),
        "up.0": (595, lo_y, [t["block"], f"{shapes['up.0.in'][0]} → {named['up.0']}"]),
        "up.1": (670, hi_y, [t["block"], f"{shapes['up.1.in'][0]} → {named['up.1']}"]),
    }
    fills = {"down.0": "#e3f2fd", "down.1": "#e3f2fd", "mid": "#ede7f6", "up.0": "#e8f5e9", "up.1": "#e8f5e9"}
    cy_hi, cy_lo = hi_y + box_h / 2, lo_y + box_h / 2
    left = {k: cx - bw / 2 for k, (cx, _, _) in blocks.items()}
    right = {k: cx + bw / 2 for k, (cx, _, _) in blocks.items()}
    body = [
        # the two resolution levels as pale bands
        svg.rect(10, hi_y - 32, width - 20, box_h + 44, rx=10, fill="#eef4fb"),
        svg.rect(10, lo_y - 32, width - 20, mid_y + box_h - lo_y + 44, rx=10, fill="#f6f1fa"),
        _text(20, hi_y - 12, t["level_hi"], size=14, colour=_MUTED, anchor="start"),
        _text(20, lo_y - 12, t["level_lo"], size=14, colour=_MUTED, anchor="start"),
        *(_box(cx - bw / 2, top, bw, box_h, *lines, fills[k]) for k, (cx, top, lines) in blocks.items()),
        # input and output, one 3×3 convolution each
        _box(15, hi_y, io_w, box_h, t["input"], named["input"], "#ffffff"),
        _box(width - 15 - io_w, hi_y, io_w, box_h, t["output"], named["conv_out"], "#ffffff"),
        _arrow(ident, f"M {15 + io_w} {cy_hi} L {left['down.0'] - 3} {cy_hi}"),
        *_lines((15 + io_w + left["down.0"]) / 2, cy_hi + 24, t["conv"], anchor="middle", colour=_MUTED),
        _arrow(ident, f"M {right['up.1']} {cy_hi} L {width - 15 - io_w - 3} {cy_hi}"),
        *_lines((right["up.1"] + width - 15 - io_w) / 2, cy_hi + 24, t["conv"], anchor="middle", colour=_MUTED),
        # down path, bottleneck, up path
        _arrow(ident, f"M 315 {hi_y + box_h} L 340 {lo_y - 3}"),
        *_lines(338, hi_y + box_h + 32, t["down"], anchor="start", colour=_FORWARD),
        _arrow(ident, f"M 395 {lo_y + box_h} L {left['mid'] + 20} {mid_y - 3}"),
        _arrow(ident, f"M {right['mid'] - 20} {mid_y} L 565 {lo_y + box_h + 3}"),
        _arrow(ident, f"M 620 {lo_y} L 645 {hi_y + box_h + 3}"),
        *_lines(622, hi_y + box_h + 32, t["up"], anchor="end", colour=_FORWARD),
        # skip connections: straight across, dashed
        _text(480, hi_y - 12, t["skip"], size=14, colour=_FORWARD, weight="bold"),
        _arrow(ident, f"M {right['down.0']} {cy_hi} L {left['up.1'] - 3} {cy_hi}", dashed=True),
        _text(480, cy_hi + 22, named["down.0"], size=14, colour=_MUTED),
        _arrow(ident, f"M {right['down.1']} {cy_lo} L {left['up.0'] - 3} {cy_lo}", dashed=True),
        _text(480, cy_lo - 10, t["skip_short"], size=14, colour=_FORWARD, weight="bold"),
        _text(480, cy_lo + 22, named["down.1"], size=14, colour=_MUTED),
    ]
    # the step embedding: one box, a bus, and an arrow into every residual block
    bus_y, time_top = mid_y + box_h + 25, mid_y + box_h + 50
    feeds = {"down.0": 240, "down.1": 330, "mid": 480, "up.0": 630, "up.1": 720}
    body += [
        svg.path(f'M {feeds["down.0"]} {bus_y} L {feeds["up.1"]} {bus_y}', colour=_TIME, width=2.2),
        svg.path(f"M 480 {time_top} L 480 {bus_y}", colour=_TIME, width=2.2),
        *(
            svg.path(f"M {x} {bus_y} L {x} {blocks[k][1] + box_h + 3}", colour=_TIME, width=2.2, head=f"{ident}-time")
            for k, x in feeds.items()
        ),
        _text(feeds["down.0"] - 8, bus_y + 22, t["time_note"], size=14, colour=_TIME, anchor="start"),
        svg.rect(290, time_top, 380, 62, rx=10, fill="#fff3e0", stroke=_TIME, stroke_width=1.5),
        _text(480, time_top + 24, t["time"][0].format(time_dim=time_dim), size=14, colour=_INK),
        _text(480, time_top + 47, t["time"][1].format(time_dim=time_dim), size=14.5, colour=_TIME, weight="bold"),
        _text(width / 2, height - 10, t["note"], size=14, colour=_MUTED),
    ]
    shape_list = ", ".join(f"{k} {v}" for k, v in named.items() if k != "time_emb")
    return _svg(width, height, ident, t["title"].format(params=params),
                t["desc"].format(shapes=shape_list, time_dim=time_dim), body, time=_TIME)


FIGURES = {
    "forward-reverse": forward_reverse,
    "ddpm-training-step": ddpm_training_step,
    "unet": unet,
}
