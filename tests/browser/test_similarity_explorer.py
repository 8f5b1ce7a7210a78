"""The similarity-matrix explorer of the self-supervised lesson, in Chromium.

The widget computes each row's softmax, InfoNCE and CLIP's symmetric loss in float64 from the
cosines that the build writes (``site_tools.explorer_data.similarity_data``). Here they are compared
with the package itself: ``info_nce`` and ``clip_loss`` run on the embeddings of
``similarity_example()`` (the same 8 held-out digits and captions), with the columns in the order
the widget shows.

Tolerances: the widget's unrounded values agree with the package run in float64 within
``TOL_F64`` (1e-9; the two differ only in the order of float64 operations, measured < 1e-14);
the 4 decimals it shows are those values rounded, and lie within half a unit of the 4th decimal
plus ``TOL_F32`` (1e-5) of the package run in float32, as the page's own examples run it
(measured float32 - float64 difference < 3e-7).
"""

from __future__ import annotations

import functools
import gzip
import math
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from .conftest import (
    AXE,
    LANGS,
    NET_MS,
    SCREENSHOTS,
    axe_widgets_js,
    in_one_language,
    open_recorded,
    open_with_widgets,
    refusal,
    widget_assets,
    widget_screenshot,
)

PAGE = "lessons/self-supervised/"
SMX = "window.medaiSimilarityExplorer.instances[0]"
BLOCKING = ("serious", "critical")
TOL_F64 = 1e-9
TOL_F32 = 1e-5
#: the τ values the numbers are checked at: the smallest, the learnt one (None), one near it, 1
CHECKED_TAUS = (0.01, None, 0.1, 1.0)
#: the page's weight budget: the HTML and everything it loads
PAGE_BUDGET = 1_000_000

_AXE_WIDGET_JS = axe_widgets_js(".similarity-explorer")


def fixed(x: float, digits: int) -> str:
    """``x.toFixed(digits)`` as JavaScript writes it: the exact binary value, ties away from zero."""
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


@functools.lru_cache(maxsize=1)
def _example() -> dict[str, Any]:
    from medai_lessons.self_supervised import similarity_example

    return similarity_example()


def package_losses(tau: float, order: list[int], dtype: Any = None) -> tuple[float, float]:
    """(InfoNCE, CLIP loss) of the package on the example's embeddings, captions in ``order``."""
    import torch

    from medai_lessons.self_supervised import clip_loss, info_nce

    ex = _example()
    dtype = dtype or torch.float64
    images, texts = ex["image_embeds"].to(dtype), ex["text_embeds"][order].to(dtype)
    return info_nce(images, texts, tau).item(), clip_loss(images, texts, 1.0 / tau).item()


def _open(context: Any, base_url: str, lang: str) -> tuple[Any, list[str]]:
    url = base_url + ("" if lang == "ja" else "en/") + PAGE
    return open_with_widgets(context, url, {".similarity-explorer": SMX}, f"{SMX}.ready")


@pytest.fixture(scope="module", params=LANGS)
def ssl(request, new_context, base_url) -> Iterator[Any]:
    """The self-supervised page in one language, in its own context (off-host requests recorded)."""
    tab = open_recorded(new_context, lambda context: _open(context, base_url, request.param), request.param)
    yield tab
    tab.close()


@pytest.fixture
def smx(ssl) -> Any:
    ssl.evaluate(f"{SMX}.restore(); {SMX}.set({{tau: {SMX}.state().learntTau}})")
    return ssl


def check_numbers(st: dict[str, Any]) -> None:
    """The widget's state equals the package at its τ and column order; the readouts show it rounded."""
    import torch

    tau, order = st["tau"], st["order"]
    want, want_clip = package_losses(tau, order)
    assert abs(st["infoNce"] - want) <= TOL_F64, (tau, order, st["infoNce"], want)
    assert abs(st["clipLoss"] - want_clip) <= TOL_F64, (tau, order, st["clipLoss"], want_clip)
    assert abs(st["infoNceInOrder"] - package_losses(tau, list(range(8)))[0]) <= TOL_F64
    f32, f32_clip = package_losses(tau, order, torch.float32)
    for shown, value, single in ((st["shown"]["infoNce"], st["infoNce"], f32),
                                 (st["shown"]["clipLoss"], st["clipLoss"], f32_clip)):
        assert shown == fixed(value, 4)
        assert abs(float(shown) - single) <= 0.5e-4 + TOL_F32
    assert st["shown"]["chance"] == fixed(math.log(8), 4) == "2.0794"
    # each row of the softmax sums to 1, and its argmax is the package's
    ex = _example()
    unit = torch.nn.functional.normalize  # as info_nce does, in float64
    logits = (unit(ex["image_embeds"].double(), dim=1) @ unit(ex["text_embeds"][order].double(), dim=1).T) / tau
    probs = torch.softmax(logits, dim=1)
    assert abs(torch.tensor(st["probabilities"], dtype=torch.float64) - probs).max().item() <= TOL_F64
    assert st["top1"] == int((probs.argmax(dim=1) == torch.arange(8)).sum())


def test_page_has_one_explorer_and_logs_no_error(ssl):
    """One similarity explorer starts, with no console error and no request to another host."""
    assert ssl.evaluate("window.medaiSimilarityExplorer.instances.length") == 1
    assert ssl.evaluate(f"{SMX}.firstFrameAt") > 0
    assert ssl.errors == []
    assert ssl.traffic.off_host == []


def test_both_languages_share_the_widget(ssl, base_url):
    """The page loads the same explorer scripts and data file in either language."""
    assets = widget_assets(ssl)
    assert assets["data"] == [f"{base_url}assets/explorers/similarity/meta.json"]
    assert assets["scripts"] == sorted(f"{base_url}javascripts/{name}.js"
                                       for name in ("explorer-kit", "similarity-explorer"))


@pytest.mark.parametrize("lang", ["ja"])  # the heavier of the two (the CJK text), 1.3 MB uncompressed
def test_page_weighs_under_a_megabyte(new_context, base_url, lang):
    """Everything the page loads for a reader who reaches the explorer, until the network is idle (HTML,
    CSS, scripts, fonts, figures, the explorer's data and KaTeX's script, the search index), counted as
    benchmarks/bench_pages.py counts it (text gzip-compressed at level 6, as GitHub Pages sends it): at
    most 1 MB."""
    context, traffic = new_context()
    tab = context.new_page()
    sizes: list[int] = []

    def on_response(response: Any) -> None:
        try:
            body = response.body()
        except Exception:  # a redirect or an aborted response has no body
            body = b""
        kind = response.headers.get("content-type", "")
        text = any(k in kind for k in ("text/", "javascript", "json", "svg", "xml"))
        sizes.append(len(gzip.compress(body, 6)) if text and body else len(body))

    tab.on("response", on_response)
    try:
        tab.goto(base_url + PAGE, wait_until="networkidle")
        tab.wait_for_function(f"{SMX} && {SMX}.firstFrameAt > 0", timeout=NET_MS)  # started, as by a reader
        tab.wait_for_load_state("networkidle")  # and what it fetched on starting (its data, KaTeX's script)
    finally:
        tab.close()
    assert traffic.off_host == []
    assert len(sizes) > 10 and 100_000 < sum(sizes) <= PAGE_BUDGET, (len(sizes), sum(sizes))


def test_widget_has_no_serious_accessibility_violation(ssl):
    """axe-core finds nothing serious or critical inside the drawn widget (light scheme)."""
    ssl.add_script_tag(path=str(AXE))
    blocking = [v for v in ssl.evaluate(_AXE_WIDGET_JS) if v["impact"] in BLOCKING]
    assert blocking == [], blocking


@in_one_language("ssl")
def test_infonce_and_clip_loss_equal_the_package(smx):
    """At the smallest, the learnt, τ = 0.1 and τ = 1, captions in order, the widget's InfoNCE, CLIP loss and
    row softmax equal info_nce / clip_loss on the same embeddings (float64 within 1e-9), shown to 4 decimals."""
    learnt = smx.evaluate(f"{SMX}.state().learntTau")
    assert learnt == pytest.approx(1 / _example()["logit_scale"], rel=1e-12)
    for tau in CHECKED_TAUS:
        tau = learnt if tau is None else tau
        st = smx.evaluate(f"t => {{ {SMX}.set({{tau: t}}); return {SMX}.state(); }}", tau)
        assert st["tau"] == tau and st["inOrder"] and st["order"] == list(range(8))
        check_numbers(st)
    # the page's claims: the loss tends to log 8 as τ grows; the 5's row makes the smallest τ worse than the learnt one
    losses = {t: smx.evaluate(f"t => {{ {SMX}.set({{tau: t}}); return {SMX}.state().infoNce; }}", t)
              for t in smx.evaluate(f"{SMX}.temperatures")}
    assert losses[0.01] > losses[learnt]
    assert losses[1.0] < math.log(8)
    row5 = smx.evaluate(f"() => {{ {SMX}.set({{tau: 0.01}}); return {SMX}.state().probabilities[5]; }}")
    assert row5.index(max(row5)) == 3 and max(row5) > 0.99  # sure of "three"


@in_one_language("ssl")
def test_shuffle_raises_the_loss_and_restore_brings_it_back(smx):
    """Shuffle captions pairs each image with another's caption (no caption stays), the loss equals the
    package's with the columns in that order and rises (far above log 8 at the learnt τ); Restore order
    gives back the first values."""
    first = smx.evaluate(f"{SMX}.state()")
    smx.locator(".similarity-explorer__shuffle").click()
    st = smx.evaluate(f"{SMX}.state()")
    assert sorted(st["order"]) == list(range(8)) and all(c != i for i, c in enumerate(st["order"]))
    assert not st["inOrder"]
    check_numbers(st)
    assert st["infoNce"] > math.log(8) + 1 > first["infoNce"]
    assert st["infoNceInOrder"] == first["infoNce"]
    assert smx.evaluate(f"{SMX}.root.dataset.order") == ",".join(map(str, st["order"]))
    # at other τ the shuffled order keeps and the numbers still match
    for tau in (0.01, 0.2, 1.0):
        moved = smx.evaluate(f"t => {{ {SMX}.set({{tau: t}}); return {SMX}.state(); }}", tau)
        assert moved["order"] == st["order"]
        check_numbers(moved)
        assert moved["infoNce"] > moved["infoNceInOrder"]
    # a second press gives another shuffle; the first is repeatable (seeded)
    smx.locator(".similarity-explorer__shuffle").click()
    again = smx.evaluate(f"{SMX}.state().order")
    assert again != st["order"]
    seed = smx.evaluate(f"{SMX}.meta.shuffle_seed")
    assert smx.evaluate("s => window.medaiSimilarityExplorer.derangement(8, s)", seed) == st["order"]
    smx.locator(".similarity-explorer__restore").click()
    back = smx.evaluate(f"{SMX}.state()")
    assert back["inOrder"] and back["order"] == list(range(8))


@in_one_language("ssl")
def test_heat_maps_show_the_cosines_and_the_softmax(smx, site_root):
    """The left table's cells are the build's cosines (2 decimals), the right one's the row softmax; the column
    headers follow the shuffled captions and the row headers are the 8 held-out digits."""
    import json

    meta = json.loads((site_root / "assets/explorers/similarity/meta.json").read_text(encoding="utf-8"))
    ex = _example()
    assert meta["prompts"] == ex["prompts"]
    assert meta["pixels"] == [img.reshape(-1).tolist() for img in ex["pixels"]]
    smx.evaluate(f"{SMX}.set({{order: [1, 0, 3, 2, 5, 4, 7, 6]}})")

    def cells(table: str) -> list[list[str]]:
        return smx.evaluate(
            "sel => [...document.querySelectorAll(sel + ' tbody tr')].map(r => [...r.querySelectorAll('td')]"
            ".map(c => c.textContent))", f".similarity-explorer {table}")

    order = [1, 0, 3, 2, 5, 4, 7, 6]
    cos = cells(".similarity-explorer__cosine")
    assert cos == [[fixed(meta["cosine"][i][c], 2) for c in order] for i in range(8)]
    probs = smx.evaluate(f"{SMX}.state().probabilities")
    assert cells(".similarity-explorer__softmax") == [[fixed(p, 2) for p in row] for row in probs]
    words = smx.evaluate("() => [...document.querySelectorAll('.similarity-explorer__cosine th[scope=col]')]"
                         ".map(th => th.textContent)")
    assert words == [meta["prompts"][c] for c in order]
    digits = smx.evaluate("() => [...document.querySelectorAll('.similarity-explorer__cosine canvas')].map(c =>"
                          " [...c.getContext('2d').getImageData(0, 0, 8, 8).data.filter((_, i) => i % 4 === 0)])")
    assert digits == meta["pixels"]


@in_one_language("ssl")
def test_keyboard_moves_tau_and_presses_the_buttons(smx):
    """Home/End/arrows/PageUp move τ along the offered values, the status line follows every move;
    Enter on Shuffle and on Restore works, and the status says so."""
    taus = smx.evaluate(f"{SMX}.temperatures")
    slider = smx.locator(".similarity-explorer input[type=range]")
    status = smx.locator(".similarity-explorer [role=status]")
    slider.focus()
    for key, index in [("Home", 0), ("ArrowRight", 1), ("End", len(taus) - 1), ("ArrowLeft", len(taus) - 2),
                       ("PageDown", len(taus) - 5)]:
        smx.keyboard.press(key)
        st = smx.evaluate(f"{SMX}.state()")
        assert st["tau"] == taus[index], key
        assert status.inner_text() == st["shown"]["status"]
        assert st["shown"]["infoNce"] in status.inner_text()
    assert slider.get_attribute("aria-valuetext").startswith(f"τ = {taus[-5]:g}")
    smx.locator(".similarity-explorer__shuffle").focus()
    smx.keyboard.press("Enter")
    assert not smx.evaluate(f"{SMX}.state().inOrder")
    assert status.inner_text() == smx.evaluate(f"{SMX}.state().shown.status")
    smx.locator(".similarity-explorer__restore").focus()
    smx.keyboard.press("Enter")
    assert smx.evaluate(f"{SMX}.state().inOrder")
    smx.locator(".similarity-explorer__go-learnt").focus()
    smx.keyboard.press("Enter")
    assert smx.evaluate(f"{SMX}.state().tau") == smx.evaluate(f"{SMX}.state().learntTau")


def test_labels_are_in_the_page_language(smx):
    """The controls and the status line speak the page's language."""
    label = smx.locator(".similarity-explorer input[type=range]").evaluate("e => e.labels[0].textContent")
    shuffle = smx.locator(".similarity-explorer__shuffle").inner_text()
    restore = smx.locator(".similarity-explorer__restore").inner_text()
    summary = smx.locator(".similarity-explorer details summary").inner_text()
    status = smx.locator(".similarity-explorer [role=status]").inner_text()
    if smx.lang == "ja":
        assert (label, shuffle, restore, summary) == ("温度 τ", "キャプションを並べ替える", "元の順に戻す",
                                                      "どう確かめているか")
        assert "キャプションは正しい順" in status
    else:
        assert (label, shuffle, restore, summary) == ("Temperature τ", "Shuffle captions", "Restore order",
                                                      "How this is checked")
        assert "captions in order" in status


@in_one_language("ssl")
def test_bad_input_is_refused_by_name(smx):
    """The test hook names the argument when τ is not offered or the order is not a permutation."""
    def message(call: str) -> str | None:
        return refusal(smx, SMX, call)

    assert message("set({tau: 0.04})").startswith("`tau` must be one of 0.01, 0.02")
    assert message("set({order: [0, 0, 1, 2, 3, 4, 5, 6]})").startswith("`order` must be a permutation of 0..7")
    assert message("set({order: [0, 1]})").startswith("`order` must be a permutation of 0..7")


def test_screenshot(smx):
    """A screenshot of the widget at the learnt τ is saved for people to look at."""
    out = widget_screenshot(smx, ".similarity-explorer", "similarity-explorer", smx.lang)
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["ja"])  # the widget's colours do not depend on the language
def test_dark_scheme_and_reduced_motion(new_context, base_url, lang):
    """Dark (slate) scheme: no serious axe violation, the cells take the slate colours. With reduced
    motion the cells change colour at once (no transition)."""
    context, traffic = new_context(color_scheme="dark", reduced_motion="reduce")
    tab, errors = _open(context, base_url, lang)
    try:
        assert tab.evaluate("document.body.dataset.mdColorScheme") == "slate"
        tab.add_script_tag(path=str(AXE))
        blocking = [v for v in tab.evaluate(_AXE_WIDGET_JS) if v["impact"] in BLOCKING]
        out = SCREENSHOTS / lang / "similarity-explorer-dark.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.locator(".similarity-explorer").evaluate("e => e.scrollIntoView({block: 'center'})")
        tab.locator(".similarity-explorer").screenshot(path=str(out))
        cell = tab.locator(".similarity-explorer__cell").first
        assert cell.evaluate("e => getComputedStyle(e).transitionDuration") == "0s"
        # a cell near 0 takes the slate middle colour, not white
        mid = tab.evaluate(f"() => {{ const s = {SMX}.state(); return {SMX}._colours().mid; }}")
        assert mid == [0x2E, 0x30, 0x3E]
        assert errors == [] and traffic.off_host == []
    finally:
        tab.close()
    assert blocking == [], blocking
