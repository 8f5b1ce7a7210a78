"""The forward-process explorer and the reverse-process scrubber of the DDPM lesson, in Chromium.

Their numbers must be the package's: ᾱ_t equals ``NoiseSchedule`` exactly, x_t equals
``q_sample`` within the rounding error the page states (1.3e-4), and every frame of the
scrubber equals the package's sampler output, clipped to [-1, 1], within half a grey level.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from medai_lessons.diffusion import NoiseSchedule, load_ct_slice, predict_x0, q_sample

from ..test_explorer_data import run_package_samplers
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
)

PAGE = "lessons/diffusion/"
FWD = "window.medaiForwardExplorer.instances[0]"
REV = "window.medaiReverseExplorer.instances[0]"
XT_TOL = 1.3e-4  # stated on the page: 16-bit x0 and eps, float64 ᾱ
FRAME_TOL = 0.5 / 127.5 + 1e-4  # half of the 256 grey levels over [-1, 1]
SNR_ONE = {"linear": 259, "cosine": 496}  # first t with ᾱ_t < 0.5, also the page's exercise 1
BLOCKING = ("serious", "critical")

_AXE_WIDGETS_JS = axe_widgets_js(".forward-explorer", ".reverse-explorer")


def _open(context: Any, base_url: str, lang: str) -> tuple[Any, list[str]]:
    """The lesson page with both widgets ready, and the console errors it logged."""
    url = base_url + ("" if lang == "ja" else "en/") + PAGE
    widgets = {".forward-explorer": FWD, ".reverse-explorer": REV}
    return open_with_widgets(context, url, widgets, f"Promise.all([{FWD}.ready, {REV}.ready])")


@pytest.fixture(scope="module", params=LANGS)
def lesson(request, new_context, base_url) -> Iterator[Any]:
    """The DDPM page in one language, in its own context (off-host requests recorded)."""
    tab = open_recorded(new_context, lambda context: _open(context, base_url, request.param), request.param)
    yield tab
    tab.close()


@pytest.fixture
def fwd(lesson) -> Any:
    lesson.evaluate(f"{FWD}.set({{t: 0, schedule: 'linear'}})")
    return lesson


@pytest.fixture
def rev(lesson) -> Any:
    lesson.evaluate(f"{REV}.set({{frame: 0}})")
    return lesson


@pytest.fixture(scope="module")
def ct() -> tuple[torch.Tensor, torch.Tensor]:
    x0 = load_ct_slice()
    return x0, torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def package_runs(run_folder):
    return run_package_samplers(run_folder)


# ----------------------------------------------------------------------------- the page


def test_page_has_one_of_each_and_logs_no_error(lesson):
    """One forward explorer and one scrubber start, with no console error and no request to another host."""
    assert lesson.evaluate("window.medaiForwardExplorer.instances.length") == 1
    assert lesson.evaluate("window.medaiReverseExplorer.instances.length") == 1
    assert lesson.errors == []
    assert lesson.traffic.off_host == []


def test_both_languages_share_the_widget(lesson, base_url):
    """The page loads the same explorer scripts and data files in either language, so the
    language-free checks below run once, on the Japanese page (``in_one_language``)."""
    assets = widget_assets(lesson)
    assert {f"{base_url}assets/explorers/{name}/meta.json" for name in ("forward", "reverse")} <= set(assets["data"])
    assert all(url.startswith(f"{base_url}assets/explorers/") for url in assets["data"])
    assert assets["scripts"] == sorted(f"{base_url}javascripts/{name}.js"
                                       for name in ("explorer-kit", "forward-explorer", "reverse-explorer"))


def test_widgets_have_no_serious_accessibility_violation(lesson):
    """axe-core finds nothing serious or critical inside the two widgets once they are drawn."""
    lesson.add_script_tag(path=str(AXE))
    blocking = [v for v in lesson.evaluate(_AXE_WIDGETS_JS) if v["impact"] in BLOCKING]
    assert blocking == [], blocking


@in_one_language("lesson")
def test_widgets_record_their_first_frame(lesson):
    """Both widgets record performance.now() at their first drawing (used by the pages benchmark)."""
    assert lesson.evaluate(f"{FWD}.firstFrameAt") > 0
    assert lesson.evaluate(f"{REV}.firstFrameAt") > 0


def test_widgets_screenshots(lesson):
    """Screenshots of both widgets mid-way are saved for people to look at."""
    lesson.evaluate(f"{FWD}.set({{t: 300, schedule: 'linear'}}); {REV}.set({{frame: 17}})")
    for selector, name in ((".forward-explorer", "forward-explorer"), (".reverse-explorer", "reverse-explorer")):
        out = SCREENSHOTS / lesson.lang / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        lesson.locator(selector).evaluate("e => e.scrollIntoView({block: 'center'})")
        lesson.locator(selector).screenshot(path=str(out))
        assert out.stat().st_size > 10_000


# ----------------------------------------------------------------------------- forward


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@in_one_language("lesson")
def test_alpha_bar_table_is_the_package_schedule_exactly(fwd, kind):
    """All 1000 ᾱ_t the widget holds equal NoiseSchedule.<kind>().alphas_cumprod bit for bit."""
    got = fwd.evaluate(f"k => Array.from({FWD}.alphasCumprod[k])", kind)
    assert got == getattr(NoiseSchedule, kind)().alphas_cumprod.tolist()


@pytest.mark.parametrize(("t", "kind"), [(0, "linear"), (50, "linear"), (259, "linear"), (400, "linear"),
                                         (999, "linear"), (1, "cosine"), (300, "cosine"), (496, "cosine"),
                                         (850, "cosine")])
@in_one_language("lesson")
def test_forward_numbers_equal_the_package(fwd, ct, t, kind):
    """At (t, schedule) the readouts are NoiseSchedule's, and x_t equals q_sample within 1.3e-4."""
    x0, noise = ct
    schedule = getattr(NoiseSchedule, kind)()
    state = fwd.evaluate(f"([t, k]) => {{ {FWD}.set({{t: t, schedule: k}}); return {FWD}.state(); }}", [t, kind])
    ab = schedule.alphas_cumprod[t].item()
    assert state["alphaBar"] == ab
    assert state["sqrtAlphaBar"] == pytest.approx(ab**0.5, rel=1e-15)
    assert state["sqrtOneMinusAlphaBar"] == pytest.approx((1 - ab) ** 0.5, rel=1e-15)
    assert state["snr"] == pytest.approx(ab / (1 - ab), rel=1e-12)
    assert state["snrOneAt"] == SNR_ONE[kind] == int((schedule.alphas_cumprod < 0.5).nonzero()[0])
    want = q_sample(schedule, x0, t, noise)[0, 0].double()
    got = torch.tensor(fwd.evaluate(f"([t, k]) => Array.from({FWD}.xt(t, k))", [t, kind]), dtype=torch.float64)
    assert got.shape == (128 * 128,)
    assert (got - want.flatten()).abs().max().item() <= XT_TOL
    assert state["mean"] == pytest.approx(want.mean().item(), abs=XT_TOL)
    assert state["std"] == pytest.approx(want.std().item(), abs=XT_TOL)
    # the histogram: 64 bins over [-4, 4), values outside in the end bins. A pixel may land in
    # the neighbouring bin only when q_sample puts it within the rounding error of a bin edge.
    values = want.flatten().numpy()
    counts, _ = np.histogram(np.clip(values, -4, 4 - 1e-9), bins=64, range=(-4, 4))
    edges = np.linspace(-4, 4, 65)[1:-1]
    near_edge = int((np.abs(values[:, None] - edges[None, :]).min(axis=1) <= XT_TOL).sum())
    assert sum(state["histogram"]) == 128 * 128
    assert np.abs(np.asarray(state["histogram"]) - counts).sum() <= 2 * near_edge


@in_one_language("lesson")
def test_readouts_show_the_state(fwd):
    """The text readouts show ᾱ_t, SNR and the SNR = 1 step of the chosen schedule."""
    fwd.evaluate(f"{FWD}.set({{t: 496, schedule: 'cosine'}})")
    ab = NoiseSchedule.cosine().alphas_cumprod[496].item()
    assert fwd.locator(".forward-explorer__abar").inner_text() == f"{ab:.4f}"
    assert fwd.locator(".forward-explorer__snr").inner_text() == f"{ab / (1 - ab):.3f}"
    assert fwd.locator(".forward-explorer__snr-one").inner_text() == "t ≈ 496"
    assert fwd.locator(".forward-explorer input[value=cosine]").is_checked()


@in_one_language("lesson")
def test_slider_and_schedule_work_from_the_keyboard(fwd):
    """End/Home, arrows and PageUp/PageDown move t; arrow keys in the radio group switch the schedule."""
    slider = fwd.locator(".forward-explorer input[type=range]")
    slider.focus()
    keys = [("End", 999), ("ArrowLeft", 998), ("PageDown", 898), ("Home", 0), ("ArrowRight", 1), ("PageUp", 101)]
    for key, t in keys:
        fwd.keyboard.press(key)
        assert fwd.evaluate(f"{FWD}.t") == t, key
    assert fwd.locator(".forward-explorer output").inner_text() == "101"
    fwd.locator(".forward-explorer input[value=linear]").focus()
    fwd.keyboard.press("ArrowRight")
    assert fwd.evaluate(f"{FWD}.schedule") == "cosine"
    assert fwd.evaluate(f"{FWD}.state().snrOneAt") == 496


@in_one_language("lesson")
def test_forward_play_advances_and_pause_stops(fwd):
    """Play runs t upwards on its own; Pause stops it (aria-pressed follows)."""
    play = fwd.locator(".forward-explorer__play")
    play.focus()
    fwd.keyboard.press("Enter")
    assert play.get_attribute("aria-pressed") == "true"
    fwd.wait_for_function(f"{FWD}.t > 40", timeout=NET_MS)
    fwd.keyboard.press("Enter")
    assert play.get_attribute("aria-pressed") == "false"
    t = fwd.evaluate(f"{FWD}.t")
    # the status line (role=status, read by screen readers) tells where playing stopped
    assert fwd.locator(".forward-explorer .explorer__status").inner_text().startswith(f"t = {t} ")
    fwd.wait_for_timeout(300)  # nothing may happen: a slower machine only makes this stricter
    assert fwd.evaluate(f"{FWD}.t") == t
    fwd.locator(".forward-explorer__play").click()  # play again, then the reader grabs the slider
    fwd.wait_for_function(f"{FWD}.t > {t}", timeout=NET_MS)
    fwd.locator(".forward-explorer input[type=range]").fill("123")
    assert play.get_attribute("aria-pressed") == "false"
    assert fwd.locator(".forward-explorer .explorer__status").inner_text().startswith("t = 123 ")


def test_forward_labels_are_in_the_page_language(fwd):
    """The slider, the schedule choices and the play button speak the page's language."""
    label = fwd.locator(".forward-explorer input[type=range]").evaluate("e => e.labels[0].textContent")
    choices = fwd.locator(".forward-explorer fieldset label").all_inner_texts()
    play = fwd.locator(".forward-explorer__play").inner_text()
    if fwd.lang == "ja":
        assert (label, choices, play) == ("時刻 t", ["線形", "コサイン"], "再生")
    else:
        assert (label, choices, play) == ("Step t", ["linear", "cosine"], "Play")


@in_one_language("lesson")
def test_forward_rejects_bad_input(fwd):
    """The test hook names the argument when t or the schedule is out of range."""
    assert refusal(fwd, FWD, "xt(1000, 'linear')").startswith("`t` must be an integer in [0, 999]")
    assert refusal(fwd, FWD, "xt(3, 'sigmoid')").startswith("`schedule` must be one of linear, cosine")


# ----------------------------------------------------------------------------- reverse


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
@pytest.mark.parametrize("frame", [0, 7, 12, 17, 21, 25, 26])
@in_one_language("lesson")
def test_scrubber_frames_equal_the_package_samplers(rev, package_runs, sampler, frame):
    """x_t and x0_hat shown at a frame equal the package's sampler output there, clipped to [-1, 1]."""
    model, schedule, _, runs = package_runs
    t = rev.evaluate(f"f => {REV}.steps[f]", frame)
    x_t = runs[sampler][t]
    if t < 0:
        x0_hat = x_t
    else:
        with torch.no_grad():
            x0_hat = predict_x0(schedule, x_t, t, model(x_t, torch.full((16,), t, dtype=torch.int64)))
    for kind, want in (("x_t", x_t), ("x0_hat", x0_hat)):
        got = torch.tensor(rev.evaluate(f"([s, f, k]) => {REV}.pixels(s, f, k)", [sampler, frame, kind]))
        assert got.numel() == 16 * 64
        err = (got.double() - want.double().clamp(-1, 1).flatten()).abs().max().item()
        assert err <= FRAME_TOL, (sampler, t, kind, err)


@in_one_language("lesson")
def test_scrubber_canvas_shows_the_frame(rev):
    """The canvas pixels of the first DDIM sample are the grey levels of the frame the slider is on."""
    rev.evaluate(f"{REV}.set({{frame: 20}})")
    shown = rev.evaluate("""() => {
      const c = document.querySelectorAll('.reverse-explorer__grid--x0-hat')[1];
      const d = c.getContext('2d').getImageData(1, 1, 8, 8).data;
      return Array.from({length: 64}, (_, i) => d[4 * i]);
    }""")
    want = rev.evaluate(f"{REV}.pixels('ddim', 20, 'x0_hat').slice(0, 64).map(v => Math.round((v + 1) * 127.5))")
    assert shown == want


def test_scrubber_works_from_the_keyboard(rev):
    """End/Home and the arrows move the frame; the output names the step (t = …, or the result)."""
    slider = rev.locator(".reverse-explorer input[type=range]")
    slider.focus()
    rev.keyboard.press("End")
    assert rev.evaluate(f"{REV}.frame") == 26
    assert rev.locator(".reverse-explorer__step").inner_text() == ("完成" if rev.lang == "ja" else "the result")
    rev.keyboard.press("Home")
    rev.keyboard.press("ArrowRight")
    assert rev.evaluate(f"{REV}.frame") == 1
    assert rev.locator(".reverse-explorer__step").inner_text() == "t = 940"
    assert slider.get_attribute("aria-valuetext") == "t = 940"
    rev.keyboard.press("PageUp")
    assert rev.evaluate(f"{REV}.state().t") == 740


@in_one_language("lesson")
def test_scrubber_play_and_pause(rev):
    """Play steps through the frames on its own; Pause stops it."""
    play = rev.locator(".reverse-explorer__play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    rev.wait_for_function(f"{REV}.frame >= 2", timeout=NET_MS)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    frame = rev.evaluate(f"{REV}.frame")
    step = rev.locator(".reverse-explorer__step").inner_text()
    assert rev.locator(".reverse-explorer .explorer__status").inner_text() == (
        f"コマ {frame + 1} / 27({step})" if rev.lang == "ja" else f"Frame {frame + 1} of 27 ({step})")
    rev.wait_for_timeout(600)  # nothing may happen: a slower machine only makes this stricter
    assert rev.evaluate(f"{REV}.frame") == frame


def test_scrubber_labels_are_in_the_page_language(rev):
    """The sampler names and the captions speak the page's language."""
    names = rev.locator(".reverse-explorer__name").all_inner_texts()
    captions = rev.locator(".reverse-explorer figcaption").all_inner_texts()
    if rev.lang == "ja":
        assert names == ["DDPM(1000 回の呼び出し)", "DDIM(50 回の呼び出し)"]
        assert captions[:2] == ["いまの画像 xₜ", "モデルの推測 x̂₀"]
    else:
        assert names == ["DDPM (1000 calls)", "DDIM (50 calls)"]
        assert captions[:2] == ["current image xₜ", "the model's guess x̂₀"]


# ----------------------------------------------------------------------------- preferences


def test_reduced_motion_jumps_to_the_end(new_context, base_url):
    """With prefers-reduced-motion, Play jumps to t = 999 and to the last frame, with no animation."""
    context, traffic = new_context(reduced_motion="reduce")
    tab, errors = _open(context, base_url, "en")
    try:
        play = tab.locator(".forward-explorer__play")
        assert play.inner_text() == "Go to t = 999"
        play.click()
        assert tab.evaluate(f"{FWD}.t") == 999
        assert play.get_attribute("aria-pressed") == "false"
        tab.locator(".reverse-explorer__play").click()
        assert tab.evaluate(f"{REV}.frame") == 26
        assert errors == [] and traffic.off_host == []
    finally:
        tab.close()


@pytest.mark.parametrize("lang", ["ja"])  # the widgets' colours do not depend on the language
def test_dark_mode_widgets_have_no_serious_accessibility_violation(new_context, base_url, lang):
    """In the dark (slate) scheme the two widgets have no serious axe violation. (The light scheme is
    checked in both languages; the dark one on each widget once, and on a whole lesson in each
    language: tests/browser/test_pages.py.)"""
    context, _ = new_context(color_scheme="dark")
    tab, _ = _open(context, base_url, lang)
    try:
        assert tab.evaluate("document.body.dataset.mdColorScheme") == "slate"
        tab.add_script_tag(path=str(AXE))
        blocking = [v for v in tab.evaluate(_AXE_WIDGETS_JS) if v["impact"] in BLOCKING]
        out = SCREENSHOTS / lang / "forward-explorer-dark.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.locator(".forward-explorer").scroll_into_view_if_needed()
        tab.locator(".forward-explorer").screenshot(path=str(out))
    finally:
        tab.close()
    assert blocking == [], blocking
