r"""Figures of lesson 1 (derivative → gradient → gradient descent).

Every figure is computed from :mod:`medai_lessons.calculus`,
:mod:`medai_lessons.backprop` and :mod:`medai_lessons.gradient_descent`, so the
pictures show exactly the numbers the page's doctests print.

| name             | what it shows                                                     |
|------------------|-------------------------------------------------------------------|
| ``roadmap``      | derivative → gradient → gradient descent (SVG text)               |
| ``dose-response``| Emax curve, secant A (1 mg) → B (2 mg), tangent at 1 mg           |
| ``tangents``     | $f(x) = x^2$ with tangents at $x = 1, 3, -2, 0$                   |
| ``gradient-arrows``| the two-fader loss seen from above, $\nabla L$ as arrows        |
| ``chain-rule``   | $u = 2x$, $y = u^3$ with the local slopes and their product (SVG) |
| ``backprop``     | image → feature A → feature B → prediction → loss, local slopes (SVG) |
| ``learning-cycle``| predict → loss → gradient → update (SVG text)                    |
| ``learning-rates``| four learning rates on $f(\theta) = 0.35\theta^2$                |
| ``line-fit``     | loss per epoch and the fitted line over the dose/response data    |
| ``loss-surface`` | contours of the line-fit MSE over $(w, b)$, $-\nabla L$, the path  |
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medai_lessons.calculus import dose_response, dose_response_slope, secant_slope
from medai_lessons.gradient_descent import (
    descend_quadratic,
    fit_line,
    least_squares_line,
    line_fit_gradients,
    mse,
)

from . import _svg as svg
from ._style import pyplot

__all__ = ["FIGURES"]

#: The dose/response data of the lesson's line fit, and its starting point.
DOSES = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
EFFECTS = np.array([2.1, 3.9, 6.2, 8.0, 9.8])
INIT = (0.9501, 0.7320)

#: Curvature of the explorer's loss f(theta) = A_QUAD * theta**2 and its presets.
A_QUAD = 0.35
PRESETS = (0.01, 0.5, 2.5, 3.0)

#: Plots are drawn one text column wide, with no label under 10 pt, so one drawing reads on
#: every screen: shown at its own size on a desktop (10 pt = 13 px) and shrunk to a 390 px
#: phone's 358 px column (about 10 px). Panels that sat side by side are stacked.
COLUMN_IN = 4.8
LABEL_PT = 10


def _text(lang: str, ja: str, en: str) -> str:
    """Pick the label of ``lang``."""
    if lang not in ("ja", "en"):
        raise ValueError(f"`lang` must be 'ja' or 'en', got {lang!r}.")
    return ja if lang == "ja" else en


def _legend_below(ax: Any, **kwargs: Any) -> Any:
    """The legend under the plot, where long labels cover no data."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=LABEL_PT, frameon=False, **kwargs)


# --------------------------------------------------------------------------------------
# SVG helpers for the diagrams
# --------------------------------------------------------------------------------------


def _svg(width: int, height: int, title: str, body: list[str], *, ident: str) -> str:
    heads = {"fwd": "#37474f", "bwd": "#c62828"}
    return svg.document(width, height, title, body, ident=ident, heads=heads, font_size=15)


def _box(x: float, y: float, w: float, h: float, lines: list[str], fill: str) -> str:
    """A rounded box with centred lines of text."""
    return svg.box(x, y, w, h, lines, fill, stroke="#37474f", sizes=(None, 14))


def _arrow(x1: float, y1: float, x2: float, y2: float, *, backward: bool = False) -> str:
    if backward:
        return svg.line(x1, y1, x2, y2, colour="#c62828", dash="6 4", head="bwd")
    return svg.line(x1, y1, x2, y2, colour="#37474f", head="fwd")


_label = svg.text


# --------------------------------------------------------------------------------------
# (g) roadmap and learning cycle
# --------------------------------------------------------------------------------------


def roadmap(lang: str) -> str:
    """Derivative → gradient → gradient descent, each with the question it answers."""
    steps = [
        (
            _text(lang, "① 微分", "1. Derivative"),
            _text(lang, "1つのダイヤルを少し回すと", "Turn one dial a little:"),
            _text(lang, "損失はどれだけ変わる?", "how much does the loss move?"),
            "dL/dw",
            "#e0f2f1",
        ),
        (
            _text(lang, "② 勾配", "2. Gradient"),
            _text(lang, "全ダイヤルの傾きを並べた", "All the slopes in one vector:"),
            _text(lang, "ベクトル = 上り坂の向き", "it points uphill"),
            "∇L = (∂L/∂w₁, …, ∂L/∂wₙ)",
            "#e3f2fd",
        ),
        (
            _text(lang, "③ 勾配降下法", "3. Gradient descent"),
            _text(lang, "勾配と逆向きに小さく", "Step a little against"),
            _text(lang, "一歩進み、繰り返す", "the gradient; repeat"),
            "w ← w − η ∇L",
            "#fff3e0",
        ),
    ]
    body = []
    box_w, box_h, gap, top = 250, 130, 50, 40
    for i, (head, line1, line2, formula, fill) in enumerate(steps):
        x = 20 + i * (box_w + gap)
        body.append(_box(x, top, box_w, box_h, [head, line1, line2, formula], fill))
        if i < len(steps) - 1:
            body.append(_arrow(x + box_w + 4, top + box_h / 2, x + box_w + gap - 4, top + box_h / 2))
    body.append(
        _label(
            470,
            top + box_h + 40,
            _text(
                lang,
                "ゴール: 予測の誤差(損失 L)が最も小さくなるパラメータ w を見つける",
                "Goal: find the parameters w that make the prediction error (loss L) smallest",
            ),
            size=15,
        )
    )
    title = _text(lang, "このレッスンの道筋", "The road map of this lesson")
    return _svg(940, 230, title, body, ident="roadmap")


def learning_cycle(lang: str) -> str:
    """The four steps of one iteration of gradient descent, drawn as a loop."""
    boxes = [
        (
            _text(lang, "1. 予測", "1. Predict"),
            _text(lang, "今の w で ŷ を計算", "compute ŷ with the current w"),
            (40, 40),
            "#e0f2f1",
        ),
        (
            _text(lang, "2. 損失", "2. Loss"),
            _text(lang, "ŷ と正解 y のずれ L", "how far ŷ is from y: L"),
            (420, 40),
            "#ffebee",
        ),
        (
            _text(lang, "3. 勾配", "3. Gradient"),
            _text(lang, "連鎖律で ∇L を求める", "∇L by the chain rule"),
            (420, 220),
            "#e3f2fd",
        ),
        (
            _text(lang, "4. 更新", "4. Update"),
            "w ← w − η ∇L",
            (40, 220),
            "#fff3e0",
        ),
    ]
    w, h = 260, 90
    body = [_box(x, y, w, h, [head, sub], fill) for head, sub, (x, y), fill in boxes]
    body += [
        _arrow(40 + w + 4, 85, 420 - 4, 85),  # predict -> loss
        _arrow(550, 40 + h + 4, 550, 220 - 4),  # loss -> gradient
        _arrow(420 - 4, 265, 40 + w + 4, 265),  # gradient -> update
        _arrow(170, 220 - 4, 170, 40 + h + 4),  # update -> predict
        _label(
            360,
            180,
            _text(lang, "これを何千回も繰り返す", "repeat thousands of times"),
            italic=True,
            colour="#455a64",
        ),
    ]
    title = _text(lang, "学習のサイクル", "The learning cycle")
    return _svg(720, 340, title, body, ident="learning-cycle")


# --------------------------------------------------------------------------------------
# (c) backpropagation through a chain of four stages
# --------------------------------------------------------------------------------------


def backprop(lang: str) -> str:
    """Forward pass left to right, local derivatives multiplied right to left."""
    nodes = [
        (_text(lang, "画像", "Image"), "x"),
        (_text(lang, "特徴A", "Feature A"), "a = tanh(w₁x)"),
        (_text(lang, "特徴B", "Feature B"), "b = tanh(w₂a)"),
        (_text(lang, "予測", "Prediction"), "p = w₃b"),
        (_text(lang, "損失", "Loss"), "L = (p − t)²"),
    ]
    fills = ["#eceff1", "#e0f2f1", "#e0f2f1", "#e3f2fd", "#ffebee"]
    weights = ["w₁", "w₂", "w₃", ""]
    local = ["∂a/∂w₁ = (1 − a²)x", "∂b/∂a = (1 − b²)w₂", "∂p/∂b = w₃", "∂L/∂p = 2(p − t)"]
    box_w, box_h, gap, top = 130, 70, 56, 70
    body = [
        _label(
            20,
            40,
            _text(lang, "順伝播(左から右へ値を計算)", "Forward pass: values flow left to right"),
            anchor="start",
            colour="#37474f",
            size=15,
        )
    ]
    for i, ((name, formula), fill) in enumerate(zip(nodes, fills, strict=True)):
        x = 20 + i * (box_w + gap)
        body.append(_box(x, top, box_w, box_h, [name, formula], fill))
        if i < len(nodes) - 1:
            x_end = x + box_w + gap
            body.append(_arrow(x + box_w + 3, top + 25, x_end - 3, top + 25))
            if weights[i]:
                body.append(_label(x + box_w + gap / 2, top + 15, weights[i], size=15))
            # backward arrow (right to left) with its local derivative
            body.append(_arrow(x_end - 3, top + box_h + 30, x + box_w + 3, top + box_h + 30, backward=True))
            body.append(_label(x + box_w + gap / 2, top + box_h + 58, local[i], colour="#c62828", size=14))
    body.append(
        _label(
            20,
            top + box_h + 100,
            _text(
                lang,
                "逆伝播(右から左へ局所的な傾きを掛けていく)",
                "Backward pass: local slopes are multiplied from right to left",
            ),
            anchor="start",
            colour="#c62828",
            size=15,
        )
    )
    body.append(
        _label(
            20,
            top + box_h + 135,
            "∂L/∂w₁ = ∂L/∂p · ∂p/∂b · ∂b/∂a · ∂a/∂w₁",
            anchor="start",
            size=17,
        )
    )
    body.append(
        _label(
            20,
            top + box_h + 162,
            _text(
                lang,
                "w₂ と w₃ の勾配は、同じ積を途中まで計算した値から得られます:",
                "The gradients of w₂ and w₃ reuse the first factors of the same product:",
            ),
            anchor="start",
            size=14,
            colour="#455a64",
        )
    )
    body.append(
        _label(
            20,
            top + box_h + 184,
            "∂L/∂w₂ = ∂L/∂p · ∂p/∂b · ∂b/∂w₂,    ∂L/∂w₃ = ∂L/∂p · ∂p/∂w₃",
            anchor="start",
            size=14,
            colour="#455a64",
        )
    )
    title = _text(lang, "連鎖律による誤差逆伝播", "Backpropagation by the chain rule")
    return _svg(20 + 5 * box_w + 4 * gap + 20, 350, title, body, ident="backprop")


# --------------------------------------------------------------------------------------
# (a) dose/response: secant versus tangent
# --------------------------------------------------------------------------------------


def dose_response_figure(lang: str) -> Any:
    """The Emax curve, the secant from A (1 mg) to B (2 mg) and the tangent at A."""
    plt = pyplot(lang)
    doses = np.linspace(0.0, 5.0, 201)
    effects = np.array([dose_response(d) for d in doses])
    a_dose, b_dose = 1.0, 2.0
    a_eff, b_eff = dose_response(a_dose), dose_response(b_dose)
    secant = secant_slope(dose_response, a_dose, b_dose)
    tangent = dose_response_slope(a_dose)

    fig, ax = plt.subplots(figsize=(COLUMN_IN, 4.6))
    ax.plot(doses, effects, color="#00796b", lw=2.5, label=_text(lang, "用量反応曲線", "dose/response curve"))
    span = np.linspace(0.0, 3.2, 2)
    ax.plot(
        span,
        a_eff + secant * (span - a_dose),
        "--",
        color="#ef6c00",
        lw=1.8,
        label=_text(lang, f"割線 A→B: 平均の傾き {secant:.1f} %/mg", f"secant A→B: average slope {secant:.1f} %/mg"),
    )
    ax.plot(
        span,
        a_eff + tangent * (span - a_dose),
        color="#3949ab",
        lw=1.8,
        label=_text(
            lang, f"A での接線: 瞬間の傾き {tangent:.1f} %/mg", f"tangent at A: instantaneous slope {tangent:.1f} %/mg"
        ),
    )
    ax.plot([a_dose, b_dose], [a_eff, b_eff], "o", color="#263238", ms=7, zorder=5)
    ax.annotate("A (1 mg)", (a_dose, a_eff), xytext=(a_dose + 0.15, a_eff - 9))
    ax.annotate("B (2 mg)", (b_dose, b_eff), xytext=(b_dose + 0.15, b_eff - 9))
    ax.set_xlim(0, 5)
    ax.set_ylim(0, 85)
    ax.set_xlabel(_text(lang, "投与量 (mg)", "dose (mg)"))
    ax.set_ylabel(_text(lang, "効果 (最大効果に対する %)", "effect (% of maximum)"))
    ax.set_title(
        _text(
            lang,
            "割線(1〜2 mg の平均)と\n接線(1 mg の瞬間)",
            "Secant (average over 1–2 mg)\nand tangent (instant at 1 mg)",
        )
    )
    _legend_below(ax)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# (b) f(x) = x^2 and four tangents
# --------------------------------------------------------------------------------------


def tangents(lang: str) -> Any:
    """The parabola $x^2$ with its tangent lines at $x = 1, 3, -2, 0$."""
    plt = pyplot(lang)
    xs = np.linspace(-4.0, 4.0, 201)
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 4.0))
    ax.plot(xs, xs**2, color="#263238", lw=2.5, label="$f(x) = x^2$")
    colours = {1.0: "#00897b", 3.0: "#3949ab", -2.0: "#ef6c00", 0.0: "#c62828"}
    for x0, colour in colours.items():
        slope = 2.0 * x0
        seg = np.linspace(x0 - 1.3, x0 + 1.3, 2)
        ax.plot(seg, x0**2 + slope * (seg - x0), color=colour, lw=1.8, label=f"x = {x0:g}:  f'(x) = {slope:g}")
        ax.plot([x0], [x0**2], "o", color=colour, ms=7)
    ax.annotate(
        _text(lang, "谷底: 傾き 0", "valley floor: slope 0"),
        (0.0, 0.0),
        xytext=(0.4, 3.2),
        arrowprops={"arrowstyle": "->", "color": "#c62828"},
        color="#c62828",
    )
    ax.set_xlim(-4, 4)
    ax.set_ylim(-2, 16)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(
        _text(lang, "場所によって傾き f'(x) = 2x が変わる", "The slope f'(x) = 2x changes\nfrom place to place")
    )
    ax.legend(loc="upper center", fontsize=LABEL_PT)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# (b2) the gradient as arrows on the two-fader loss, seen from above
# --------------------------------------------------------------------------------------

#: The two-fader loss of section 2, L(w1, w2) = (w1 - 1)^2 + 3 (w2 + 2)^2, and its point (3, 0).
DESK_MIN = (1.0, -2.0)
DESK_POINT = (3.0, 0.0)


def _desk_loss(w1: Any, w2: Any) -> Any:
    return (w1 - DESK_MIN[0]) ** 2 + 3.0 * (w2 - DESK_MIN[1]) ** 2


def _desk_gradient(w1: Any, w2: Any) -> tuple[Any, Any]:
    return 2.0 * (w1 - DESK_MIN[0]), 6.0 * (w2 - DESK_MIN[1])


def gradient_arrows(lang: str) -> Any:
    r"""Contours of $L(w_1, w_2)$ seen from above, with $\nabla L$ drawn as arrows.

    The arrows are not normalised: each one is as long as $|\nabla L|$ at its foot (all
    scaled by the same factor), so the longest arrows sit where the slope is steepest.
    """
    plt = pyplot(lang)
    g1, g2 = np.meshgrid(np.linspace(-3.0, 5.0, 161), np.linspace(-5.0, 1.0, 121))
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 5.4))
    shade = ax.contourf(g1, g2, _desk_loss(g1, g2), levels=np.linspace(0.0, 60.0, 13), cmap="Greys", alpha=0.55)
    shade.set_gid("keep-colours")  # darker = higher loss in the dark twin too (site_tools/figures.py)
    cs = ax.contour(g1, g2, _desk_loss(g1, g2), levels=[1, 4, 9, 16, 25, 36, 49], colors="#607d8b", linewidths=0.8)
    ax.clabel(cs, [4, 16, 36], fmt="%g", fontsize=LABEL_PT)
    q1, q2 = np.meshgrid(np.linspace(-2.5, 4.5, 8), np.linspace(-4.5, 0.5, 6))
    u, v = _desk_gradient(q1, q2)
    ax.quiver(
        q1,
        q2,
        u,
        v,
        color="#1565c0",
        angles="xy",
        scale_units="xy",
        scale=14.0,
        width=0.005,
        label=_text(lang, "∇L(上り坂の向き。長いほど急)", "∇L (uphill; longer = steeper)"),
    )
    p1, p2 = DESK_POINT
    d1, d2 = _desk_gradient(p1, p2)
    ax.annotate(
        "",
        xy=(p1 - d1 / 14.0, p2 - d2 / 14.0),
        xytext=(p1, p2),
        arrowprops={"arrowstyle": "-|>", "color": "#c62828", "lw": 2.2},
    )
    ax.plot(
        [p1],
        [p2],
        "o",
        color="#c62828",
        ms=7,
        label=_text(lang, "今いる点 (3, 0): ∇L = (4, 12)", "where we stand (3, 0): ∇L = (4, 12)"),
    )
    ax.plot(
        [], [], color="#c62828", lw=2.2, label=_text(lang, "進む向き −∇L(下り坂)", "the step we take: −∇L (downhill)")
    )
    ax.plot(
        [DESK_MIN[0]],
        [DESK_MIN[1]],
        "*",
        color="#2e7d32",
        ms=15,
        label=_text(lang, "谷底 (1, −2)", "valley floor (1, −2)"),
    )
    ax.set_xlim(-3.0, 5.0)
    ax.set_ylim(-5.0, 1.0)
    ax.set_aspect("equal")
    ax.set_xlabel(_text(lang, "フェーダー1 の位置 $w_1$", "fader 1, $w_1$"))
    ax.set_ylabel(_text(lang, "フェーダー2 の位置 $w_2$", "fader 2, $w_2$"))
    ax.set_title(
        _text(
            lang,
            "霧の山を真上から見る:\n濃いほど損失が高い",
            "The foggy mountain seen from above:\ndarker = higher loss",
        ),
        fontsize=11,
    )
    _legend_below(ax)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# (c0) the two-step chain u = 2x, y = u^3
# --------------------------------------------------------------------------------------


def chain_rule(lang: str) -> str:
    """x → u = 2x → y = u³, the local slope of each stage, and their product at x = 1.5."""
    x0 = 1.5
    u0 = 2.0 * x0
    y0 = u0**3
    du_dx, dy_du = 2.0, 3.0 * u0**2
    nodes = [
        (_text(lang, "入力", "input"), "x", f"x = {x0:g}"),
        (_text(lang, "中間", "middle"), "u = 2x", f"u = {u0:g}"),
        (_text(lang, "出力", "output"), "y = u³", f"y = {y0:g}"),
    ]
    local = [
        ("du/dx = 2", f"= {du_dx:g}"),
        ("dy/du = 3u²", f"= {dy_du:g}"),
    ]
    steps = [_text(lang, "2倍する", "double it"), _text(lang, "3乗する", "cube it")]
    box_w, box_h, gap, top = 170, 90, 150, 60
    body = [
        _label(
            20,
            35,
            _text(lang, "値は左から右へ(x = 1.5 のとき)", "Values flow left to right (at x = 1.5)"),
            anchor="start",
            colour="#37474f",
            size=15,
        )
    ]
    for i, (name, formula, value) in enumerate(nodes):
        x = 20 + i * (box_w + gap)
        body.append(_box(x, top, box_w, box_h, [name, formula, value], ["#eceff1", "#e0f2f1", "#e3f2fd"][i]))
        if i < len(nodes) - 1:
            x_end = x + box_w + gap
            body.append(_arrow(x + box_w + 4, top + 30, x_end - 4, top + 30))
            body.append(_label(x + box_w + gap / 2, top + 20, steps[i], size=14))
            body.append(_arrow(x_end - 4, top + box_h + 25, x + box_w + 4, top + box_h + 25, backward=True))
            mid = x + box_w + gap / 2
            body.append(_label(mid, top + box_h + 52, local[i][0], colour="#c62828", size=14))
            body.append(_label(mid, top + box_h + 72, local[i][1], colour="#c62828", size=14))
    body.append(
        _label(
            20,
            top + box_h + 110,
            _text(
                lang,
                "局所的な傾き(各段の倍率)は右から左へ掛け合わせる",
                "The local slopes (each stage's multiplier) are multiplied together",
            ),
            anchor="start",
            colour="#c62828",
            size=15,
        )
    )
    body.append(
        _label(
            20,
            top + box_h + 145,
            f"dy/dx = dy/du · du/dx = 3u² · 2 = 24x²   →   {dy_du:g} × {du_dx:g} = {dy_du * du_dx:g}",
            anchor="start",
            size=17,
        )
    )
    title = _text(lang, "2段の連鎖: u = 2x, y = u³", "A two-step chain: u = 2x, y = u³")
    return _svg(20 + 3 * box_w + 2 * gap + 20, top + box_h + 170, title, body, ident="chain-rule")


# --------------------------------------------------------------------------------------
# (d) four learning rates on f(theta) = 0.35 theta^2
# --------------------------------------------------------------------------------------


def learning_rates(lang: str) -> Any:
    """Slow, good, oscillating and diverging gradient descent, two by two."""
    plt = pyplot(lang)
    names = {
        0.01: _text(lang, "小さすぎる(遅い)", "too small (slow)"),
        0.5: _text(lang, "ちょうどよい", "about right"),
        2.5: _text(lang, "大きい(振動して収束)", "large (swings, converges)"),
        3.0: _text(lang, "大きすぎる(発散)", "too large (diverges)"),
    }
    fig, grid_axes = plt.subplots(2, 2, figsize=(COLUMN_IN, 6.2))
    axes = grid_axes.ravel()
    for ax, eta in zip(axes, PRESETS, strict=True):
        run = descend_quadratic(A_QUAD, eta, start=5.0, num_steps=10)
        limit = max(6.0, 1.1 * float(np.abs(run.trajectory).max()))
        grid = np.linspace(-limit, limit, 201)
        ax.plot(grid, A_QUAD * grid**2, color="#90a4ae", lw=2)
        ax.plot(run.trajectory, run.losses, "-", color="#ef6c00", lw=1, alpha=0.8)
        ax.plot(run.trajectory, run.losses, "o", color="#c62828", ms=4)
        ax.plot([run.trajectory[0]], [run.losses[0]], "o", color="#263238", ms=7)
        ax.plot([0.0], [0.0], "o", color="#2e7d32", ms=7)
        factor = 1.0 - 2.0 * A_QUAD * eta
        ax.set_title(
            f"η = {eta:g}\n{names[eta]}\n" + _text(lang, "1歩ごとに θ × ", "each step θ × ") + f"{factor:+.3f}",
            fontsize=LABEL_PT,
        )
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-0.05 * A_QUAD * limit**2, 1.05 * A_QUAD * limit**2)
        ax.set_xlabel("θ")
        ax.tick_params(labelsize=LABEL_PT)
        ax.grid(alpha=0.3)
    for ax in grid_axes[:, 0]:
        ax.set_ylabel("f(θ) = 0.35 θ²")
    fig.suptitle(
        _text(
            lang,
            "同じ損失・同じ出発点 $\\theta_0 = 5$ から 10 歩:\n学習率だけが違う",
            "Same loss, same start $\\theta_0 = 5$, 10 steps:\nonly the learning rate differs",
        ),
        fontsize=11,
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# (e) the line fit: loss per epoch and the fitted line
# --------------------------------------------------------------------------------------


def line_fit(lang: str) -> Any:
    """Loss curve of 1000 epochs at η = 0.01, and the line it ends with."""
    plt = pyplot(lang)
    fit = fit_line(DOSES, EFFECTS, learning_rate=0.01, epochs=1000, init=INIT)
    w_star, b_star = least_squares_line(DOSES, EFFECTS)
    best = mse(DOSES, EFFECTS, w_star, b_star)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(COLUMN_IN, 9.4), height_ratios=(1.0, 1.25))
    epochs = np.arange(1, fit.losses.size + 1)
    ax1.semilogy(epochs, fit.losses, color="#00796b", lw=2, label=_text(lang, "学習中の損失", "training loss"))
    ax1.axhline(
        best,
        color="#c62828",
        ls="--",
        lw=1.5,
        label=_text(lang, f"最小二乗の最小値 {best:.3f}", f"least-squares minimum {best:.3f}"),
    )
    ax1.set_xlabel(_text(lang, "エポック", "epoch"))
    ax1.set_ylabel(_text(lang, "損失 (MSE, 対数軸)", "loss (MSE, log scale)"))
    ax1.set_title(_text(lang, "損失は急に下がり、その後ゆっくり", "The loss drops fast, then creeps"))
    ax1.legend(fontsize=LABEL_PT)
    ax1.grid(alpha=0.3, which="both")

    xs = np.linspace(0.0, 6.0, 2)
    ax2.plot(DOSES, EFFECTS, "o", color="#263238", ms=7, label=_text(lang, "データ", "data"))
    ax2.plot(
        xs,
        INIT[0] * xs + INIT[1],
        ":",
        color="#90a4ae",
        lw=2,
        label=_text(lang, "出発点 w=0.9501, b=0.7320", "start w=0.9501, b=0.7320"),
    )
    ax2.plot(
        xs,
        fit.w * xs + fit.b,
        color="#00796b",
        lw=2,
        label=_text(
            lang, f"1000 エポック後 w={fit.w:.4f}, b={fit.b:.4f}", f"after 1000 epochs w={fit.w:.4f}, b={fit.b:.4f}"
        ),
    )
    ax2.plot(
        xs,
        w_star * xs + b_star,
        "--",
        color="#c62828",
        lw=1.5,
        label=_text(
            lang, f"最小二乗解 w={w_star:.2f}, b={b_star:.2f}", f"least squares w={w_star:.2f}, b={b_star:.2f}"
        ),
    )
    ax2.plot(
        [6.0],
        [fit.predict(6.0)],
        "s",
        color="#3949ab",
        ms=7,
        label=_text(lang, f"6 mg の予測 {fit.predict(6.0):.2f}", f"prediction at 6 mg {fit.predict(6.0):.2f}"),
    )
    ax2.set_xlabel(_text(lang, "投与量 x (mg)", "dose x (mg)"))
    ax2.set_ylabel(_text(lang, "効果 y", "effect y"))
    ax2.set_title(_text(lang, "データに当てはめた直線", "The fitted line over the data"))
    _legend_below(ax2)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# (f) the path of gradient descent on the MSE surface over (w, b)
# --------------------------------------------------------------------------------------


def loss_surface(lang: str) -> Any:
    """Contours of $L(w, b)$, the downhill direction $-\\nabla L$ and the descent path."""
    plt = pyplot(lang)
    ws = np.linspace(0.6, 2.6, 161)
    bs = np.linspace(-1.0, 2.0, 161)
    W, B = np.meshgrid(ws, bs)
    # L(w, b) = mean((w x + b - y)^2), vectorised over the grid
    L = np.mean((W[..., None] * DOSES + B[..., None] - EFFECTS) ** 2, axis=-1)
    fit = fit_line(DOSES, EFFECTS, learning_rate=0.01, epochs=1000, init=INIT)
    path_w = np.concatenate([[INIT[0]], fit.ws])
    path_b = np.concatenate([[INIT[1]], fit.bs])
    w_star, b_star = least_squares_line(DOSES, EFFECTS)

    fig, ax = plt.subplots(figsize=(COLUMN_IN, 8.4))
    levels = np.geomspace(0.02, 60.0, 14)
    cs = ax.contour(W, B, L, levels=levels, cmap="viridis", linewidths=1)
    ax.clabel(cs, levels[::3], fmt="%.2g", fontsize=LABEL_PT)
    # unit arrows of -grad L on a coarse grid
    qw, qb = np.meshgrid(np.linspace(0.8, 2.4, 5), np.linspace(-0.8, 1.8, 8))
    u = np.zeros_like(qw)
    v = np.zeros_like(qb)
    for idx in np.ndindex(qw.shape):
        gw, gb = line_fit_gradients(DOSES, EFFECTS, float(qw[idx]), float(qb[idx]))
        norm = np.hypot(gw, gb)
        u[idx], v[idx] = -gw / norm, -gb / norm
    ax.quiver(
        qw,
        qb,
        u,
        v,
        color="#78909c",
        angles="xy",
        scale=22,
        width=0.004,
        label=_text(lang, "−∇L の向き(下り坂)", "direction of −∇L (downhill)"),
    )
    ax.plot(
        path_w,
        path_b,
        "-",
        color="#c62828",
        lw=2,
        label=_text(lang, "勾配降下法の道のり (η=0.01, 1000 歩)", "gradient-descent path (η=0.01, 1000 steps)"),
    )
    ax.plot(path_w[::100], path_b[::100], "o", color="#c62828", ms=4)
    ax.plot([INIT[0]], [INIT[1]], "o", color="#263238", ms=8, label=_text(lang, "出発点", "start"))
    ax.plot(
        [w_star],
        [b_star],
        "*",
        color="#2e7d32",
        ms=14,
        label=_text(lang, "最小点 (1.95, 0.15)", "minimum (1.95, 0.15)"),
    )
    ax.set_aspect("equal")  # so that -grad L is drawn at right angles to the contours
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title(
        _text(
            lang,
            "細長い谷: まず谷へ降り、\n谷底をゆっくり進む",
            "A long, thin valley: down into it fast,\nthen slowly along it",
        ),
        fontsize=11,
    )
    _legend_below(ax)
    fig.tight_layout()
    return fig


FIGURES = {
    "roadmap": roadmap,
    "dose-response": dose_response_figure,
    "tangents": tangents,
    "gradient-arrows": gradient_arrows,
    "chain-rule": chain_rule,
    "backprop": backprop,
    "learning-cycle": learning_cycle,
    "learning-rates": learning_rates,
    "line-fit": line_fit,
    "loss-surface": loss_surface,
}
