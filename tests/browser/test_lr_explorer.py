"""The learning-rate explorer of lesson 1, driven in Chromium.

The widget's arithmetic must be the package's: its regimes come from
``quadratic_regime`` and its positions from ``descend_quadratic``, to 1e-9.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medai_lessons.gradient_descent import descend_quadratic, quadratic_regime

from .conftest import LANGS, LESSON, NET_MS, SCREENSHOTS, in_one_language, widget_assets

A = 0.35  # the lesson's curvature, data-a="0.35" on the page
PRESETS = {0.01: "converges", 0.5: "converges", 2.5: "oscillates", 3.0: "diverges"}
WIDGET = ".lr-explorer"
INST = "window.medaiLrExplorer.instances[0]"


def _open(context: Any, base_url: str, lang: str) -> Any:
    tab = context.new_page()
    tab.goto(base_url + ("" if lang == "ja" else "en/") + LESSON, wait_until="load")
    if tab.locator(WIDGET).count() == 0:
        tab.close()
        pytest.fail(
            f'no <div class="lr-explorer"> on the {lang} lesson page: it replaces the '
            "`<!-- lr-explorer -->` comment in docs/lessons/gradient-descent.*.md"
        )
    try:
        tab.wait_for_function("() => window.medaiLrExplorer && window.medaiLrExplorer.instances.length > 0",
                              timeout=NET_MS)
    except Exception:
        tab.close()
        pytest.fail("lr-explorer.js did not start: add javascripts/lr-explorer.js to extra_javascript "
                    "and stylesheets/lr-explorer.css to extra_css in mkdocs.yml")
    return tab


@pytest.fixture(scope="module", params=LANGS)
def lesson(request, shared_context, base_url) -> Iterator[Any]:
    """The lesson page with its widget, once per language for this module."""
    context, _ = shared_context
    tab = _open(context, base_url, request.param)
    tab.lang = request.param
    yield tab
    tab.close()


@pytest.fixture
def widget(lesson) -> Any:
    """The first explorer on the lesson page, reset to the lesson's defaults."""
    lesson.evaluate(f"{INST}.pause(); {INST}.set({{alpha: 0.5, start: 5}})")
    return lesson


def _counter(tab: Any) -> str:
    return tab.locator(f"{WIDGET} .lr-explorer__counter").inner_text()


def _steps(tab: Any) -> int:
    return tab.evaluate(f"{INST}.trajectory().length - 1")


def test_widget_has_one_instance_with_the_lesson_curvature(lesson):
    """The page holds exactly one explorer, and it uses a = 0.35 from its data-a attribute."""
    assert lesson.evaluate("window.medaiLrExplorer.instances.length") == 1
    assert lesson.evaluate(f"{INST}.a") == A


def test_both_languages_share_the_widget(lesson, base_url):
    """The page loads the same explorer scripts in either language, so the language-free checks
    below run once, on the Japanese page (``in_one_language``)."""
    assert widget_assets(lesson)["scripts"] == sorted(
        f"{base_url}javascripts/{name}.js" for name in ("explorer-kit", "lr-explorer"))


@pytest.mark.parametrize(("alpha", "expected"), sorted(PRESETS.items()))
@in_one_language("lesson")
def test_preset_buttons_give_the_regime_the_theory_predicts(widget, alpha, expected):
    """Each preset button sets its η, and the regime shown equals quadratic_regime(0.35, η)."""
    widget.locator(f'{WIDGET} button[data-alpha="{alpha:g}"]').click()
    assert quadratic_regime(A, alpha) == expected
    assert widget.evaluate(f"{INST}.alpha") == alpha
    assert widget.evaluate(f"{INST}.regime()") == expected
    assert widget.locator(WIDGET).get_attribute("data-regime") == expected


@pytest.mark.parametrize(
    "alpha",
    [0.01, 0.3, 1 / (2 * A), 1 / (2 * A) + 1e-9, 2.0, 1 / A, 1 / A + 1e-9, 2.9, 3.0],
)
@in_one_language("lesson")
def test_regime_is_computed_not_hard_coded(widget, alpha):
    """At and around the thresholds 1/(2a) and 1/a the widget's regime equals Python's."""
    widget.evaluate(f"a => {INST}.set({{alpha: a}})", alpha)
    assert widget.evaluate(f"{INST}.regime()") == quadratic_regime(A, alpha)


@pytest.mark.parametrize(
    ("alpha", "start", "num_steps"),
    [(0.01, 6.0, 60), (0.5, 5.0, 25), (1 / (2 * A), -4.2, 5), (2.5, -3.3, 40),
     (1 / A, 2.0, 12), (3.0, 1.7, 80), (0.37, -6.0, 33)],
)
@in_one_language("lesson")
def test_trajectory_equals_descend_quadratic(widget, alpha, start, num_steps):
    """After n steps the widget's positions equal descend_quadratic(a, η, start, n) to 1e-9."""
    got = widget.evaluate(
        f"([a, s, n]) => {{ {INST}.set({{alpha: a, start: s}}); {INST}.step(n); return {INST}.trajectory(); }}",
        [alpha, start, num_steps],
    )
    want = descend_quadratic(A, alpha, start, num_steps).trajectory
    assert len(got) == num_steps + 1
    assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 1e-9


@in_one_language("lesson")
def test_step_button_and_keyboard_advance_one_step(widget):
    """Enter and Space on the focused Step button each take one step; Reset goes back to 0."""
    step = widget.locator(f"{WIDGET} .lr-explorer__step")
    step.focus()
    widget.keyboard.press("Enter")
    assert _steps(widget) == 1
    widget.keyboard.press("Space")
    assert _steps(widget) == 2
    assert "k = 2" in _counter(widget)
    widget.locator(f"{WIDGET} .lr-explorer__reset").focus()
    widget.keyboard.press("Enter")
    assert _steps(widget) == 0


@in_one_language("lesson")
def test_tab_reaches_every_control_in_order(widget):
    """Tab moves from the η slider through the start slider, the buttons and the presets."""
    widget.locator(f"{WIDGET} input[type=range]").first.focus()
    role = "[...document.activeElement.classList].find(c => c.startsWith('lr-explorer__') && !c.endsWith('button'))"
    seen = []
    for _ in range(9):
        seen.append(widget.evaluate(role))
        widget.keyboard.press("Tab")
    assert seen == [
        "lr-explorer__range", "lr-explorer__range",
        "lr-explorer__step", "lr-explorer__play", "lr-explorer__reset",
        "lr-explorer__preset", "lr-explorer__preset", "lr-explorer__preset", "lr-explorer__preset",
    ]


@in_one_language("lesson")
def test_arrow_keys_move_the_learning_rate_slider(widget):
    """ArrowRight on the focused η slider raises η by 0.01 and updates the regime line."""
    slider = widget.locator(f"{WIDGET} input[type=range]").first
    widget.evaluate(f"{INST}.set({{alpha: 1.42}})")
    slider.focus()
    widget.keyboard.press("ArrowRight")
    assert widget.evaluate(f"{INST}.alpha") == pytest.approx(1.43)
    assert widget.evaluate(f"{INST}.regime()") == "oscillates"  # 1.43 > 1/(2a) = 1.4286
    assert widget.locator(WIDGET).get_attribute("data-regime") == "oscillates"


@in_one_language("lesson")
def test_play_advances_and_pause_stops(widget):
    """Play takes steps on its own; Pause stops them and the button says so (aria-pressed)."""
    widget.evaluate(f"{INST}.set({{alpha: 0.01, start: 6}})")
    play = widget.locator(f"{WIDGET} .lr-explorer__play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    widget.wait_for_function(f"{INST}.trajectory().length > 3", timeout=NET_MS)
    play.click()
    assert play.get_attribute("aria-pressed") == "false"
    n = _steps(widget)
    widget.wait_for_timeout(400)
    assert _steps(widget) == n


def test_labels_are_in_the_page_language(widget):
    """Every control has a <label> or text in the page's language."""
    ranges = widget.locator(f"{WIDGET} input[type=range]")
    labels = [ranges.nth(i).evaluate("e => [...e.labels].map(l => l.textContent).join()") for i in range(2)]
    buttons = widget.locator(f"{WIDGET} button").all_inner_texts()
    if widget.lang == "ja":
        assert labels == ["学習率 η", "開始位置 θ₀"]
        assert buttons[:3] == ["1ステップ", "再生", "リセット"]
    else:
        assert labels == ["Learning rate η", "Start θ₀"]
        assert buttons[:3] == ["Step", "Play", "Reset"]
    assert len(buttons) == 7


def test_formula_is_rendered_by_katex(widget):
    """The loss and the update rule next to the chart are KaTeX, without errors. They show as
    plain text until KaTeX's script, which the first live formula asks for, has loaded
    (explorer-kit.js): the test waits for that, as a reader does (it once counted 0 of 2 on a
    loaded machine)."""
    formulas = f"{WIDGET} .lr-explorer__formulas .katex"
    widget.wait_for_function("sel => document.querySelectorAll(sel).length >= 2", arg=formulas, timeout=NET_MS)
    assert widget.locator(formulas).count() == 2
    assert widget.locator(f"{WIDGET} .katex-error").count() == 0


@in_one_language("lesson")
def test_chart_marks_current_point_minimum_and_trail(widget):
    """The SVG shows the current point, the minimum, and a trail with one vertex per position."""
    widget.evaluate(f"{INST}.set({{alpha: 2.5, start: 5}}); {INST}.step(6)")
    svg = widget.locator(f"{WIDGET} svg.lr-explorer__chart")
    assert svg.get_attribute("role") == "img"
    assert svg.locator(".lr-explorer__current").count() == 1
    assert svg.locator(".lr-explorer__minimum").count() == 1
    points = svg.locator(".lr-explorer__trail").get_attribute("points").split()
    assert len(points) == 7
    assert "6" in svg.locator("title").text_content()


@in_one_language("lesson")
def test_widget_records_its_first_frame(widget):
    """The widget records performance.now() at its first drawing (used by the benchmark)."""
    assert widget.evaluate(f"{INST}.firstFrameAt") > 0


def test_widget_screenshot(widget):
    """A screenshot of the widget after a few oscillating steps is saved for people to look at."""
    widget.evaluate(f"{INST}.set({{alpha: 2.5, start: 5}}); {INST}.step(5)")
    out = SCREENSHOTS / widget.lang / "lr-explorer.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    widget.locator(WIDGET).evaluate("e => e.scrollIntoView({block: 'center'})")
    widget.locator(WIDGET).screenshot(path=str(out))
    assert out.stat().st_size > 5_000


@in_one_language("lesson")
def test_widget_reinitialises_on_a_new_document(widget):
    """After a page swap (Material's document$ emits again) a new widget starts and the old one is dropped."""
    n = widget.evaluate("""() => {
      const old = document.querySelector('.lr-explorer');
      const fresh = document.createElement('div');
      fresh.className = 'lr-explorer';
      fresh.dataset.a = '0.35';
      old.replaceWith(fresh);
      document$.next(document);
      return window.medaiLrExplorer.instances.length;
    }""")
    assert n == 1
    assert widget.evaluate(f"{INST}.root.isConnected") is True
    assert widget.locator(f"{WIDGET} .lr-explorer__step").count() == 1


def test_reduced_motion_runs_to_the_end_without_animating(new_context, base_url):
    """With prefers-reduced-motion, Play jumps straight to where playing would stop."""
    context, traffic = new_context(reduced_motion="reduce")
    tab = _open(context, base_url, "en")
    play = tab.locator(f"{WIDGET} .lr-explorer__play")
    assert play.inner_text() == "Run to the end"
    tab.evaluate(f"{INST}.set({{alpha: 0.5, start: 5}})")
    play.click()
    # 0.65**k * 5 < 1e-3 first at k = 20; no animation frame was needed
    assert _steps(tab) == 20
    assert play.get_attribute("aria-pressed") == "false"
    assert traffic.off_host == []
    tab.close()
