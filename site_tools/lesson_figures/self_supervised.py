r"""Figures of lesson 4 (self-supervised learning and CLIP).

| name               | what it shows                                                              |
|--------------------|----------------------------------------------------------------------------|
| ``similarity``     | 8 held-out digits × their 8 captions: the shipped miniature CLIP's cosines (PNG) |
| ``clinical-views`` | a CT slice, and three "augmentations" a clinician would not allow (PNG)    |
| ``label-efficiency`` | accuracy against the share of labels, three methods, from ``benchmarks/results/ssl.json`` |
"""

from __future__ import annotations

from typing import Any

from ._style import one_thread, pyplot

__all__ = ["FIGURES", "FORMATS"]

_TEXT: dict[str, dict[str, Any]] = {
    "ja": {
        "image": "画像(保留した数字)",
        "caption": "キャプション",
        "cosine": "コサイン類似度",
        "views": ["元の CT(軟部組織の窓)", "左右反転:左右が入れ替わる", "切り抜き:端が消える",
                  "肺の窓:同じ画素が違って見える"],
        "labels_share": "使ったラベルの割合",
        "accuracy": "保留した 360 枚での正解率",
        "methods": ["自己教師ありの特徴 + 線形プローブ", "生の画素 + 同じ分類器", "小さなネットをゼロから"],
    },
    "en": {
        "image": "image (held-out digit)",
        "caption": "caption",
        "cosine": "cosine similarity",
        "views": ["original CT (soft-tissue window)", "flipped: left becomes right", "cropped: an edge is lost",
                  "lung window: the same pixels look different"],
        "labels_share": "share of labels used",
        "accuracy": "accuracy on the 360 held-out digits",
        "methods": ["self-supervised features + linear probe", "raw pixels + same classifier",
                    "small network from scratch"],
    },
}


def similarity(lang: str) -> Any:
    """The cosine matrix of 8 held-out digits (rows, drawn at the left) and 8 captions (columns)."""
    plt = pyplot(lang)
    lab = _TEXT[lang]
    from medai_lessons.self_supervised import similarity_example

    with one_thread():
        ex = similarity_example()
    cos = ex["cosine"].numpy()
    n = len(ex["prompts"])
    fig = plt.figure(figsize=(4.8, 5.0))
    grid = fig.add_gridspec(n, 2, width_ratios=[1, n], wspace=0.05, hspace=0.1, left=0.08, right=0.86, bottom=0.3)
    heat = fig.add_subplot(grid[:, 1])
    im = heat.imshow(cos, cmap="viridis", vmin=-1, vmax=1)
    im.set_gid("keep-colours")
    heat.set_xticks(range(n), ex["prompts"], rotation=60, ha="right", fontsize=10)
    heat.set_yticks([])
    heat.set_xlabel(lab["caption"], fontsize=10)
    for i in range(n):
        ax = fig.add_subplot(grid[i, 0])
        ax.imshow(ex["pixels"][i], cmap="gray", vmin=0, vmax=255).set_gid("keep-colours")
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.set_title(lab["image"], fontsize=10, loc="left")
    bar = fig.colorbar(im, ax=heat, fraction=0.046, pad=0.03)
    bar.set_label(lab["cosine"], fontsize=10)
    bar.ax.tick_params(labelsize=10)
    return fig


def clinical_views(lang: str) -> Any:
    """One CT slice as a radiologist sees it, flipped, cropped, and in another window."""
    plt = pyplot(lang)
    lab = _TEXT[lang]
    from medai_lessons.data import load_ct_slice

    soft = load_ct_slice()[0, 0].numpy()
    lung = load_ct_slice(center=-600, width=1500)[0, 0].numpy()
    views = [soft, soft[:, ::-1], soft[20:84, 0:64], lung]
    fig, axes = plt.subplots(2, 2, figsize=(4.8, 5.2))
    for ax, image, title in zip(axes.flat, views, lab["views"], strict=True):
        ax.imshow(image, cmap="gray", vmin=-1, vmax=1).set_gid("keep-colours")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=10, wrap=True)
    fig.tight_layout()
    return fig


def _ssl_rows() -> dict[str, float]:
    import json

    from site_tools.env import ROOT

    path = ROOT / "benchmarks" / "results" / "ssl.json"
    return {r["name"]: r["value"] for r in json.loads(path.read_text(encoding="utf-8"))["rows"]}


def label_efficiency(lang: str) -> Any:
    """Mean ± sd accuracy over 5 seeds at 1 %, 10 % and 100 % of the labels, for the three methods."""
    plt = pyplot(lang)
    lab = _TEXT[lang]
    rows = _ssl_rows()
    methods = ["linear probe on SimCLR features", "same classifier on raw pixels", "small network from scratch"]
    shares = ["1%", "10%", "100%"]
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for k, (method, label, marker) in enumerate(zip(methods, lab["methods"], "os^", strict=True)):
        mean = [100 * rows[f"{method}, {s} labels, mean"] for s in shares]
        sd = [100 * rows[f"{method}, {s} labels, sd"] for s in shares]
        x = [0.92 + 0.08 * k, 9.2 + 0.8 * k, 92 + 8 * k]  # side by side, so the bars do not hide each other
        ax.errorbar(x, mean, yerr=sd, marker=marker, capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xticks([1, 10, 100], ["1 %", "10 %", "100 %"])
    ax.set_xlabel(lab["labels_share"], fontsize=10)
    ax.set_ylabel(lab["accuracy"] + " (%)", fontsize=10)
    ax.tick_params(labelsize=10)
    ax.legend(fontsize=10, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


FIGURES = {"similarity": similarity, "clinical-views": clinical_views, "label-efficiency": label_efficiency}
FORMATS = {"similarity": "png", "clinical-views": "png"}
