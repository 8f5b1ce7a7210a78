"""The hand-written SVG diagrams of lesson 2 (``site_tools.lesson_figures.diagrams``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from site_tools import lesson_figures as figures
from site_tools.figures import render
from site_tools.lesson_figures import diagrams

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ("forward-reverse", "ddpm-training-step", "unet")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

#: Labels a Japanese reader must find in each diagram.
JA_LABELS = {
    "forward-reverse": ["順方向過程", "逆方向過程", "ノイズを少し加える", "ノイズを少し取り除く", "データ"],
    "ddpm-training-step": ["画像を選ぶ", "時刻を選ぶ", "ノイズを引く", "損失", "勾配で更新", "繰り返す"],
    "unet": ["残差ブロック", "ボトルネック", "スキップ接続", "時刻埋め込み", "解像度 8×8", "解像度 4×4"],
}
EN_LABELS = {
    "forward-reverse": ["forward process", "reverse process", "adds a little noise", "removes a little noise"],
    "ddpm-training-step": ["Pick an image", "Pick a time step", "Draw noise", "Loss", "Gradient step", "repeat"],
    "unet": ["residual block", "bottleneck", "skip connection", "time embedding", "resolution 8×8", "resolution 4×4"],
}


def _render(name: str, lang: str) -> str:
    spec = next(s for s in figures.discover() if s.module == "diagrams" and s.name == name)
    return render(spec, lang).decode("utf-8")


def _all_text(root: ET.Element) -> str:
    return "".join(root.itertext())


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_diagram_is_valid_accessible_svg(name, lang):
    """Each diagram parses as XML and is an SVG image with a title and a description."""
    root = ET.fromstring(_render(name, lang))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text
    assert desc is not None and len(desc.text) > 80
    # aria-labelledby names exactly the title and the description
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]


@pytest.mark.parametrize("name", NAMES)
def test_japanese_diagram_carries_japanese_labels(name):
    """The ja rendering contains every Japanese label as text (sharp and searchable)."""
    text = _all_text(ET.fromstring(_render(name, "ja")))
    assert [label for label in JA_LABELS[name] if label not in text] == []


@pytest.mark.parametrize("name", NAMES)
def test_english_diagram_has_english_labels_and_no_japanese(name):
    """The en rendering has its English labels and not a single Japanese character."""
    svg = _render(name, "en")
    text = _all_text(ET.fromstring(svg))
    assert [label for label in EN_LABELS[name] if label not in text] == []
    assert JAPANESE.search(svg) is None


@pytest.mark.parametrize("name", NAMES[:2])
def test_diagram_names_the_processes_in_the_lessons_notation(name):
    """Both languages use the same symbols: q(x_t | x_{t−1}), p_θ, x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, ε_θ."""
    for lang in ("ja", "en"):
        text = _all_text(ET.fromstring(_render(name, lang))).replace("\u200b", "")
        if name == "forward-reverse":
            assert "q(xt | xt−1)" in text
            assert "pθ(xt−1 | xt)" in text
        else:
            assert "xt = √ᾱt x0 + √(1−ᾱt) ε" in text
            assert "‖ε − εθ(xt, t)‖2" in text


def test_diagrams_are_registered_and_deterministic():
    """The figure registry finds both diagrams as SVG, and two renders are byte-identical."""
    specs = {s.name: s for s in figures.discover() if s.module == "diagrams"}
    assert set(specs) == set(NAMES)
    for spec in specs.values():
        assert spec.fmt == "svg"
        assert spec.path("ja") == f"assets/figures/diagrams/{spec.name}-ja.svg"
        assert render(spec, "ja") == render(spec, "ja")


def test_diagram_sits_on_a_white_card_for_dark_mode():
    """The first drawn shape is a white rectangle covering the whole diagram."""
    for name in NAMES:
        root = ET.fromstring(_render(name, "en"))
        card = root.find(f"{SVG}rect")
        assert card.get("fill") == "#ffffff"
        assert (card.get("width"), card.get("height")) == (root.get("width"), root.get("height"))


def test_forward_images_follow_the_closed_form_schedule():
    """ᾱ_t of the drawing is the linear schedule's (values computed in test_diffusion_schedule.py's
    test_linear_alpha_bar_golden_values from Ho et al. 2020, Sec. 4)."""
    share = diagrams.signal_share_by_step()
    # DDPMScheduler(linear, 1e-4..0.02).alphas_cumprod at t = 0, 499, 999 (index + 1 here: the paper's t)
    assert share[0] == 1.0
    assert share[1] == pytest.approx(0.9998999834, rel=1e-7)
    assert share[500] == pytest.approx(0.0785872340, rel=1e-6)
    assert share[1000] == pytest.approx(4.0358303522e-05, rel=1e-5)
    assert np.all(np.diff(share) < 0)


def test_unknown_language_is_rejected():
    """A language other than ja/en raises ValueError naming `lang`."""
    with pytest.raises(ValueError, match="`lang` must be 'ja' or 'en'"):
        diagrams.forward_reverse("de")
    with pytest.raises(ValueError, match="`lang` must be 'ja' or 'en'"):
        diagrams.ddpm_training_step("fr")


def test_unet_diagram_draws_the_shipped_models_real_shapes():
    """Every box of the U-Net diagram carries the shape the shipped checkpoint really produces.

    The checkpoint's training record (src/medai_lessons/diffusion/data/digits-ddpm-history.json)
    says channels [32, 32] and time_dim 32; with 8×8 digits that is 32×8×8 on the upper level,
    32×4×4 on the lower one, 32 + 32 = 64 channels entering each up block, and 142,401 weights
    (the count the diffusion page's example prints).
    """
    from medai_lessons.diffusion import load_pretrained_history

    config = load_pretrained_history()["config"]
    assert (config["channels"], config["time_dim"]) == ([32, 32], 32)
    for lang in ("ja", "en"):
        root = ET.fromstring(_render("unet", lang))
        texts = [el.text for el in root.iter(f"{SVG}text")]
        for label in ("1×8×8", "32×8×8", "32×4×4", "64 → 32×8×8", "64 → 32×4×4"):
            assert label in texts, (lang, label)
        assert texts.count("32×4×4") == 3  # down.1 and the bottleneck, and the 4×4 skip's label
        assert any("(32)" in (text or "") for text in texts)  # the time embedding's length
        assert "142,401" in root.find(f"{SVG}title").text


def test_unet_diagram_feeds_the_step_embedding_into_all_five_blocks():
    """Five arrows in the embedding's colour end on the five residual blocks (down ×2, mid, up ×2)."""
    root = ET.fromstring(_render("unet", "en"))
    feeds = [p for p in root.iter(f"{SVG}path") if (p.get("marker-end") or "").endswith("-time)")]
    assert len(feeds) == 5
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("rx") == "10" and r.get("width") == "150"]
    assert len(boxes) == 5
    tips = {(float(p.get("d").split()[-2]), float(p.get("d").split()[-1])) for p in feeds}
    for box in boxes:  # each block has one arrow ending just under its bottom edge
        x, y, w, h = (float(box.get(k)) for k in ("x", "y", "width", "height"))
        assert sum(x < tx < x + w and abs(ty - (y + h + 3)) < 1e-6 for tx, ty in tips) == 1


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_unet_diagram_is_readable_at_column_width(lang):
    """Every label is at least 14 units and the drawing at most 980 units wide (CONTRIBUTING, Figures)."""
    root = ET.fromstring(_render("unet", lang))
    assert float(root.get("width")) <= 980
    sizes = [float(el.get("font-size")) for el in root.iter(f"{SVG}text")]
    assert sizes and min(sizes) >= 14
