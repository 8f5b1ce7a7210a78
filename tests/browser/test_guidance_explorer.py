"""The guidance explorer of the Stable Diffusion lesson, in Chromium.

The numbers it holds and shows must be the rows of ``benchmarks/results/minisd.json``
(faithfulness and variety per guidance scale, the real digits' variety, the recommended
scale), and the images it draws must be the shipped ``frames.png``, which
tests/test_explorer_data.py checks against the package's ``sample_digits`` (half a grey level).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pytest

from site_tools.explorer_data import MINISD_RESULTS

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

PAGE = "lessons/stable-diffusion/"
GDX = "window.medaiGuidanceExplorer.instances[0]"
SCALES = [1, 2, 3, 5, 8, 15]
BLOCKING = ("serious", "critical")

_AXE_WIDGET_JS = axe_widgets_js(".guidance-explorer")


def fixed(x: float, digits: int) -> str:
    """``x.toFixed(digits)`` as JavaScript writes it: the exact binary value, ties away from zero."""
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


@pytest.fixture(scope="module")
def results() -> dict[str, float]:
    rows = json.loads(MINISD_RESULTS.read_text(encoding="utf-8"))["rows"]
    return {r["name"]: r["value"] for r in rows}


def _open(context: Any, base_url: str, lang: str) -> tuple[Any, list[str]]:
    """The Stable Diffusion page with its guidance explorer ready, and the console errors it logged."""
    url = base_url + ("" if lang == "ja" else "en/") + PAGE
    return open_with_widgets(context, url, {".guidance-explorer": GDX}, f"{GDX}.ready")


@pytest.fixture(scope="module", params=LANGS)
def sd(request, new_context, base_url) -> Iterator[Any]:
    """The Stable Diffusion page in one language, in its own context (off-host requests recorded)."""
    tab = open_recorded(new_context, lambda context: _open(context, base_url, request.param), request.param)
    yield tab
    tab.close()


@pytest.fixture
def gdx(sd) -> Any:
    sd.evaluate(f"{GDX}.set({{digit: 7, scale: 3}})")
    return sd


def test_page_has_one_explorer_and_logs_no_error(sd):
    """One guidance explorer starts, with no console error and no request to another host."""
    assert sd.evaluate("window.medaiGuidanceExplorer.instances.length") == 1
    assert sd.evaluate(f"{GDX}.firstFrameAt") > 0
    assert sd.errors == []
    assert sd.traffic.off_host == []


def test_both_languages_share_the_widget(sd, base_url):
    """The page loads the same explorer scripts and data file in either language, so the
    language-free checks below run once, on the Japanese page (``in_one_language``)."""
    assets = widget_assets(sd)
    assert f"{base_url}assets/explorers/guidance/meta.json" in assets["data"]
    assert all(url.startswith(f"{base_url}assets/explorers/guidance/") for url in assets["data"])
    assert assets["scripts"] == sorted(f"{base_url}javascripts/{name}.js"
                                       for name in ("explorer-kit", "guidance-explorer"))


def test_widget_has_no_serious_accessibility_violation(sd):
    """axe-core finds nothing serious or critical inside the drawn widget (light scheme)."""
    sd.add_script_tag(path=str(AXE))
    blocking = [v for v in sd.evaluate(_AXE_WIDGET_JS) if v["impact"] in BLOCKING]
    assert blocking == [], blocking


@in_one_language("sd")
def test_numbers_held_and_shown_equal_the_results_file(gdx, results):
    """At every s the hook's numbers are the results file's rows, and the readouts show them rounded
    (faithfulness in % to 0.1, variety to 0.01); the current s is the highlighted point of the plot."""
    for i, s in enumerate(SCALES):
        st = gdx.evaluate(f"s => {{ {GDX}.set({{scale: s}}); return {GDX}.state(); }}", s)
        assert st["scale"] == s
        assert st["faithfulness"] == results[f"faithfulness_s{s}"]
        assert st["variety"] == results[f"variety_s{s}"]
        assert st["varietyRealDigits"] == results["variety_real_digits"]
        assert st["recommendedScale"] == results["recommended_guidance_scale"]
        assert st["shown"]["faithfulness"] == fixed(100 * results[f"faithfulness_s{s}"], 1) + " %"
        assert st["shown"]["variety"] == fixed(results[f"variety_s{s}"], 2)
        assert st["shown"]["real"] == fixed(results["variety_real_digits"], 2)
        assert st["shown"]["recommended"] == f"s = {results['recommended_guidance_scale']:g}"
        assert gdx.locator(".guidance-explorer__faithfulness").inner_text() == st["shown"]["faithfulness"]
        current = gdx.locator(".guidance-explorer__point--current")
        assert current.count() == 1 and current.text_content() == str(s)
        index = f"{GDX}.plot.points.indexOf(document.querySelector('.guidance-explorer__point--current'))"
        assert gdx.evaluate(index) == i


@in_one_language("sd")
def test_frames_equal_the_shipped_sprite(gdx, site_root):
    """pixels(d, s, seed) decode frames.png as meta.json lays it out (the file that equals sample_digits)."""
    from PIL import Image

    folder = site_root / "assets" / "explorers" / "guidance"
    sprite = np.asarray(Image.open(folder / "frames.png")).astype(np.float64) / 127.5 - 1
    for d, s, k in [(0, 1, 0), (7, 3, 1), (9, 15, 1), (4, 8, 0)]:
        got = np.asarray(gdx.evaluate("([d, s, k]) => " + GDX + ".pixels(d, s, k)", [d, s, k]))
        y, x = SCALES.index(s) * 32, (d * 2 + k) * 32
        assert got.shape == (1024,)
        assert np.array_equal(got, sprite[y : y + 32, x : x + 32].flatten()), (d, s, k)


@in_one_language("sd")
def test_canvases_show_the_chosen_prompt_and_scale(gdx):
    """The two sample canvases hold the grey levels of (digit, s) at seeds 0 and 1."""
    gdx.evaluate(f"{GDX}.set({{digit: 4, scale: 8}})")
    shown = gdx.evaluate("""() => Array.from(document.querySelectorAll('.guidance-explorer__sample')).map(c =>
      Array.from(c.getContext('2d').getImageData(0, 0, 32, 32).data.filter((_, i) => i % 4 === 0)))""")
    for k in (0, 1):
        want = gdx.evaluate(f"k => {GDX}.pixels(4, 8, k).map(v => Math.round((v + 1) * 127.5))", k)
        assert shown[k] == want


@in_one_language("sd")
def test_keyboard_moves_the_scale_and_the_prompt(gdx):
    """Home/End/arrows move s along 1, 2, 3, 5, 8, 15; arrow keys on the prompt list change the digit;
    the recommended-s button works with Enter."""
    slider = gdx.locator(".guidance-explorer input[type=range]")
    slider.focus()
    for key, s in [("Home", 1), ("ArrowRight", 2), ("End", 15), ("ArrowLeft", 8), ("PageDown", 3)]:
        gdx.keyboard.press(key)
        assert gdx.evaluate(f"{GDX}.state().scale") == s, key
    assert slider.get_attribute("aria-valuetext") == "s = 3"
    assert gdx.locator(".guidance-explorer output").inner_text() == "s = 3"
    gdx.keyboard.press("End")
    gdx.locator(".guidance-explorer__go-recommended").focus()
    gdx.keyboard.press("Enter")
    assert gdx.evaluate(f"{GDX}.state().scale") == 3
    select = gdx.locator(".guidance-explorer select")
    select.focus()
    gdx.keyboard.press("ArrowDown")
    assert gdx.evaluate(f"{GDX}.state().digit") == 8
    assert gdx.evaluate(f"{GDX}.state().prompt") == "a handwritten eight"


@in_one_language("sd")
def test_play_steps_through_the_scales_and_pause_stops(gdx):
    """Play raises s on its own; Pause stops it (aria-pressed follows)."""
    gdx.evaluate(f"{GDX}.set({{scale: 1}})")
    play = gdx.locator(".guidance-explorer__play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    gdx.wait_for_function(f"{GDX}.state().scale >= 2", timeout=NET_MS)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    s = gdx.evaluate(f"{GDX}.state().scale")
    assert gdx.locator(".guidance-explorer .explorer__status").inner_text().startswith(f"s = {s}:")
    gdx.wait_for_timeout(800)  # nothing may happen: a slower machine only makes this stricter
    assert gdx.evaluate(f"{GDX}.state().scale") == s


def test_labels_are_in_the_page_language(gdx):
    """The controls and the prompt list speak the page's language."""
    label = gdx.locator(".guidance-explorer input[type=range]").evaluate("e => e.labels[0].textContent")
    prompt = gdx.locator(".guidance-explorer select").evaluate("e => e.labels[0].textContent")
    option = gdx.locator(".guidance-explorer select option").nth(7).inner_text()
    play = gdx.locator(".guidance-explorer__play").inner_text()
    if gdx.lang == "ja":
        assert (label, prompt, option, play) == ("ガイダンススケール s", "プロンプト", "7(“a handwritten seven”)",
                                                 "s を順に上げる")
    else:
        assert (label, prompt, option, play) == ("Guidance scale s", "Prompt", "“a handwritten seven”",
                                                 "Step through s")


@in_one_language("sd")
def test_bad_input_is_refused_by_name(gdx):
    """The test hook names the argument when the digit, the scale or the seed is not one it holds."""
    def message(call: str) -> str | None:
        return refusal(gdx, GDX, call)

    assert message("set({scale: 7.5})").startswith("`scale` must be one of 1, 2, 3, 5, 8, 15")
    assert message("set({digit: 10})").startswith("`digit` must be an integer in [0, 9]")
    assert message("pixels(1, 3, 2)").startswith("`seed` must be one of 0, 1")


def test_screenshot(gdx):
    """A screenshot of the widget at the digit 7 and s = 3 is saved for people to look at."""
    out = widget_screenshot(gdx, ".guidance-explorer", "guidance-explorer", gdx.lang)
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["ja"])  # the widget's colours do not depend on the language
def test_dark_scheme_and_reduced_motion(new_context, base_url, lang):
    """Dark (slate) scheme: no serious axe violation. With reduced motion, Play jumps straight to
    s = 15 with no animation. (The light scheme is checked in both languages; the dark one on each
    widget once, and on a whole lesson in each language: tests/browser/test_pages.py.)"""
    options = {"color_scheme": "dark"} | ({"reduced_motion": "reduce"} if lang == "ja" else {})
    context, traffic = new_context(**options)
    tab, errors = _open(context, base_url, lang)
    try:
        assert tab.evaluate("document.body.dataset.mdColorScheme") == "slate"
        tab.add_script_tag(path=str(AXE))
        blocking = [v for v in tab.evaluate(_AXE_WIDGET_JS) if v["impact"] in BLOCKING]
        out = SCREENSHOTS / lang / "guidance-explorer-dark.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.locator(".guidance-explorer").evaluate("e => e.scrollIntoView({block: 'center'})")
        tab.locator(".guidance-explorer").screenshot(path=str(out))
        if lang == "ja":
            play = tab.locator(".guidance-explorer__play")
            assert play.inner_text() == "s = 15 へ"
            play.click()
            assert tab.evaluate(f"{GDX}.state().scale") == 15
            assert play.get_attribute("aria-pressed") == "false"
        assert errors == [] and traffic.off_host == []
    finally:
        tab.close()
    assert blocking == [], blocking
