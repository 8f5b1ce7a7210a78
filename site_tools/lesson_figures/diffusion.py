"""Figures of lesson 2 (diffusion and DDPM), drawn from the package's own code.

Every figure is cheap: the forward strip uses the closed form q(x_t | x_0) on one CT
slice, and the generated images come from the committed checkpoint with DDIM-20.
"""

from __future__ import annotations

from typing import Any

import torch

from medai_lessons.diffusion.grid import image_grid

from ._style import pyplot

LABELS = {
    "ja": {
        "t": "時刻 t",
        "alpha_bar": r"$\bar\alpha_t$（信号の分散の割合）",
        "linear": "線形（Ho ら 2020）",
        "cosine": "コサイン（Nichol & Dhariwal 2021）",
        "step": "学習ステップ",
        "loss": r"損失 $L_\mathrm{simple}$",
        "raw": "各ステップ",
        "smooth": "移動平均（50 ステップ）",
        "real": "本物の手書き数字",
        "generated": "生成した数字（DDIM-20）",
        "forward": "拡散過程（CT_small.dcm, 閉形式 q(x_t | x_0)）",
        "reverse": "復元過程（DDIM-20, 学習済みモデル）",
        "noise": "純ノイズ",
        "clean": "生成画像",
    },
    "en": {
        "t": "step t",
        "alpha_bar": r"$\bar\alpha_t$ (share of signal variance)",
        "linear": "linear (Ho et al. 2020)",
        "cosine": "cosine (Nichol & Dhariwal 2021)",
        "step": "training step",
        "loss": r"loss $L_\mathrm{simple}$",
        "raw": "per step",
        "smooth": "moving average (50 steps)",
        "real": "real hand-written digits",
        "generated": "generated digits (DDIM-20)",
        "forward": "forward process (CT_small.dcm, closed form q(x_t | x_0))",
        "reverse": "reverse process (DDIM-20, trained model)",
        "noise": "pure noise",
        "clean": "generated",
    },
}


def forward_strip(lang: str) -> Any:
    """The CT slice at t = 0, 50, 100, 200, 400, 999 of the linear schedule."""
    from medai_lessons.diffusion import NoiseSchedule, load_ct_slice, q_sample

    plt = pyplot(lang)
    lab = LABELS[lang]
    schedule = NoiseSchedule.linear()
    x0 = load_ct_slice()
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    steps = [0, 50, 100, 200, 400, 999]
    fig, axes = plt.subplots(1, len(steps), figsize=(12, 2.6))
    for ax, t in zip(axes, steps, strict=True):
        x_t = q_sample(schedule, x0, t, noise)
        ax.imshow(x_t[0, 0].numpy(), cmap="gray", vmin=-1.5, vmax=1.5)
        a_bar = schedule.alphas_cumprod[t].item()
        ax.set_title(f"t = {t}\n" + r"$\bar\alpha_t$" + f" = {a_bar:.3f}", fontsize=10)
        ax.axis("off")
    fig.suptitle(lab["forward"], fontsize=11)
    fig.tight_layout()
    return fig


def alpha_bar_curves(lang: str) -> Any:
    """ᾱ_t against t for the linear and the cosine schedule (the figure ``alpha-bar``)."""
    from medai_lessons.diffusion import NoiseSchedule

    plt = pyplot(lang)
    lab = LABELS[lang]
    fig, ax = plt.subplots(figsize=(4.8, 3.4))  # one text column: 10 pt labels read on a phone too
    for kind, style in (("linear", "-"), ("cosine", "--")):
        a_bar = getattr(NoiseSchedule, kind)().alphas_cumprod.numpy()
        ax.plot(range(len(a_bar)), a_bar, style, label=lab[kind])
    ax.set_xlabel(lab["t"])
    ax.set_ylabel(lab["alpha_bar"])
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def loss_curve(lang: str) -> Any:
    """The training loss of the committed checkpoint, per step and smoothed."""
    from medai_lessons.diffusion import load_pretrained_history

    plt = pyplot(lang)
    lab = LABELS[lang]
    losses = torch.tensor(load_pretrained_history()["losses"])
    smooth = torch.nn.functional.avg_pool1d(losses[None, None], 50, stride=1)[0, 0]
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.plot(losses.numpy(), color="0.75", lw=0.6, label=lab["raw"])
    ax.plot(range(49, 49 + len(smooth)), smooth.numpy(), color="C0", label=lab["smooth"])
    ax.set_yscale("log")
    ax.set_xlabel(lab["step"])
    ax.set_ylabel(lab["loss"])
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def _ddim(n: int, *, intermediates: bool = False) -> Any:
    from medai_lessons.diffusion import ddim_sample, load_pretrained_digits

    model, schedule = load_pretrained_digits()
    return ddim_sample(
        model,
        schedule,
        (n, 1, 8, 8),
        num_inference_steps=20,
        progress=False,
        generator=torch.Generator().manual_seed(0),
        return_intermediates=intermediates,
    )


def reverse_strip(lang: str) -> Any:
    """Six samples through the 20 DDIM steps, from pure noise to digits (one image, tiled)."""
    plt = pyplot(lang)
    lab = LABELS[lang]
    _, trail = _ddim(6, intermediates=True)
    picks = [0, 5, 10, 14, 17, 19, 20]  # indices into the 21 snapshots (t = 950 ... -1)
    cols = torch.stack([trail[k][1] for k in picks], dim=1)  # (6 samples, 7 steps, 1, 8, 8)
    tiles = cols.reshape(-1, 1, 8, 8)
    fig, ax = plt.subplots(figsize=(6.4, 5.8))
    ax.imshow(image_grid(tiles, len(picks)).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([4.5 + 9 * j for j in range(len(picks))])
    ax.set_xticklabels([lab["clean"] if trail[k][0] < 0 else f"t={trail[k][0]}" for k in picks], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.set_title(lab["reverse"], fontsize=11, pad=24)
    fig.tight_layout()
    return fig


def samples_grid(lang: str) -> Any:
    """64 real digits next to 64 digits generated with DDIM-20."""
    from medai_lessons.diffusion import load_digits_images

    plt = pyplot(lang)
    lab = LABELS[lang]
    real = load_digits_images()[:64]
    fake = _ddim(64)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.3))
    for ax, imgs, title in ((axes[0], real, lab["real"]), (axes[1], fake, lab["generated"])):
        ax.imshow(image_grid(imgs, 8).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=11)
        ax.axis("off")
    fig.tight_layout()
    return fig


FIGURES = {
    "forward-strip": forward_strip,
    "alpha-bar": alpha_bar_curves,
    "loss-curve": loss_curve,
    "reverse-strip": reverse_strip,
    "samples-grid": samples_grid,
}

FORMATS = {
    "forward-strip": "png",
    "reverse-strip": "png",
    "samples-grid": "png",
}
