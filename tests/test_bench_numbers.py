"""No page types a benchmark number by hand; the prose takes it from benchmarks/results/*.json.

How a hand-typed benchmark number is recognised (CONTRIBUTING.md, "Benchmarks"): take a page's
prose (fenced code, inline code, HTML comments and ``{{ bench(...) }}`` placeholders removed).
A number in it is a *candidate* when it has at least three significant digits, or at least two
and either a unit of measurement right after it (×, x, times, 倍, s, 秒, ms, min, 分, GFLOP,
MiB, MB, GB, kB, %) or a place in a Markdown table row. A candidate is a hand-typed benchmark
number when some row of ``benchmarks/results/*.json`` rounds to it at the precision it is
printed with (``18.5`` matches 18.47, ``0.711`` matches 0.7109, ``92 times`` matches 92.4), or,
for a number followed by ``%``, when a fraction row (|value| <= 1, unit ``share``, ``fraction``,
``0..1`` or none) times 100 does (``84 %`` matches 0.8361; ``80 %`` does not match 0.8 s).
Rows whose value is an exact count (unit ``values`` or ``requests``) are not measurements and
are ignored; a parameter count (unit ``parameters``) is looked for only printed in full (four or
more significant digits, equal to the count: ``4,192,900``), and so is a ratio of two counts that
a page quotes (``DERIVED``: ``29 times`` matches 4,192,900 / 142,401). Ignored as well are
Lighthouse's scores, layout shifts and element counts (units ``score``, ``CLS``, ``elements``).
A lesson is not compared with the tooling's records (``TOOLING_TOPICS``: the test suite's CPU
and Lighthouse, the page weights), which only the performance page shows. A number that only happens to equal a
measurement goes into ``COINCIDENCES`` with the computation it comes from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from site_tools import bench_numbers

from .conftest import DOCS, ROOT

RESULTS = ROOT / "benchmarks" / "results"
EXACT_UNITS = {"values", "requests"}
#: exact counts looked for only when printed in full (a page writes "4,192,900", never "4.19 million" by chance)
COUNT_UNITS = {"parameters"}
#: ratios of two rows that a page quotes: name -> (topic, numerator row, denominator row)
DERIVED = {
    "minisd: U-Net parameters, miniature SD / lesson 2's DDPM": (
        "minisd",
        "latent_params_unet",
        "pixel_ddpm_params_unet",
    ),
}
#: Lighthouse's 0-100 scores, layout-shift values and element counts: small whole numbers and
#: 0.00x values that lesson prose prints for other reasons all the time. No page quotes them in
#: prose (the performance page shows them as a table), so they are not looked for.
EXACT_UNITS |= {"score", "CLS", "elements"}
#: Results about the project's own tooling, not about what a lesson teaches: the test suite's
#: CPU and Lighthouse's page scores. They change with every re-recording, and only the performance
#: page shows them, so a lesson's prose is not compared with them.
TOOLING_TOPICS = {"suite", "lighthouse", "pages"}
#: units of rows that are shares of 1, which prose may print as a percentage
FRACTION_UNITS = {"share", "fraction", "0..1", ""}
PAGES = sorted(DOCS.rglob("*.md"))

#: Pages whose owner is still converting them to placeholders. strict: the day a page is
#: clean the xfail turns into a failure, and the entry must go.
PENDING: dict[str, str] = {}

FENCE = re.compile(r"^([ \t]*)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
INLINE_CODE = re.compile(r"`[^`\n]+`")
# 1,797 or 0.0604 or 92; not part of a word, a version (2.13.0) or a longer number
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w]|\.\d)(\s?%)?")
UNIT = re.compile(r"\s?(?:×(?!\s?\d)|x\b|times\b|倍|s\b|秒|ms\b|min|分|GFLOP|MiB|MB|GB|kB|%)")

#: (page, number as printed, a phrase of its line) -> where the number really comes from.
COINCIDENCES = {
    ("lessons/stable-diffusion", "521", "handwritten"): "the token id of 'handwritten' in the shipped tokenizer, "
    "printed by the page's tokenize_prompt example",
    ("lessons/gradient-descent", "0.988", "0.084"): "|1 - 0.084 x 23.66|, the step factor of exercise 4",
    ("lessons/diffusion", "0.995", "EMA"): "the EMA decay of the training recipe, a setting",
    ("lessons/diffusion", "2000", "AdamW"): "the training recipe's step count, a setting",
    ("lessons/diffusion", "65 %", "SNR"): "alpha-bar of the cosine schedule at t = 400, computed on the page",
    ("lessons/diffusion", "65 %", "棒はまだ信号 65 %"): "alpha-bar at t = 400, not lesson 4's probe row",
    ("lessons/diffusion", "65 %", "still shows 65 %"): "alpha-bar at t = 400, not lesson 4's probe row",
    ("lessons/gradient-descent", "3.4 %", "1000"): "(1 - 0.01 x 0.338)^1000, computed on the page",
    ("lessons/stable-diffusion", "12", "3,072"): "3 f^2 / c with f = c = 4, computed on the page",
    ("lessons/stable-diffusion", "12", "ミニチュアで 12 分の 1"): "3 f^2 / c with f = c = 4, computed on the page",
    ("lessons/stable-diffusion", "12", "12 times in the miniature"): "3 f^2 / c with f = c = 4, computed on the page",
    ("lessons/stable-diffusion", "97 %", "0.0005"): "faithfulness of 200 reconstructions, printed above",
    ("lessons/stable-diffusion", "48", "「値が 48 分の 1"): "3 f^2 / c = 3 x 8^2 / 4, section 1",
    ("lessons/stable-diffusion", "48", "48 times fewer values, so"): "3 f^2 / c = 3 x 8^2 / 4, section 1",
    ("lessons/stable-diffusion", "48", "48 分の 1 の圧縮"): "3 x 64 x 64 / (4 x 8 x 8), printed below",
    ("lessons/stable-diffusion", "48", "SD 1.x で 48 分の 1"): "3 f^2 / c = 3 x 8^2 / 4, section 1",
    ("lessons/stable-diffusion", "48", "48 times fewer values in SD 1.x"): "3 f^2 / c = 3 x 8^2 / 4, section 1",
    ("lessons/stable-diffusion", "48", "$3 \\cdot 256 / c = 48$"): "exercise 1: the ratio 3 f^2 / c asked for",
    ("lessons/stable-diffusion", "32", "32×32 の画素に"): "the image side of the miniature, a size",
    ("lessons/stable-diffusion", "32", "32×32 pixels |"): "the image side of the miniature, a size",
    ("lessons/stable-diffusion", "64", "8×8 = 64"): "8 x 8 latent positions, a count",
    ("lessons/stable-diffusion", "32", "32 トークン"): "model_max_length, printed in section 3",
    ("lessons/stable-diffusion", "32", "32 tokens"): "model_max_length, printed in section 3",
    ("lessons/stable-diffusion", "16 %", "16 %"): "maps.sum(axis=0).mean() = 0.16, printed by the example above it",
    ("lessons/stable-diffusion", "84 %", "84 %"): "1 - 0.16, the rest of the attention in the same example",
    ("lessons/stable-diffusion", "800", "800"): "the recipe's vae_steps, a setting printed in section 4",
    ("lessons/stable-diffusion", "2.45", "2.45"): "0.2 + 7.5 x (0.5 - 0.2), printed above",
    ("lessons/stable-diffusion", "2,000", "2,000"): "the recipe's unet_steps, a setting printed in section 4",
    ("lessons/gradient-descent", "0.995", "EMA"): "lesson 2's EMA decay, a training setting (lesson 1's EMA box)",
    ("lessons/diffusion", "0.641", "0.641"): "x0_ct.std(), the CT slice's standard deviation, printed on the page",
    ("lessons/diffusion", "10 %", "10 %"): "where the old cosine learning-rate decay stopped, a training setting",
    ("lessons/stable-diffusion", "29", "29"): "4,192,900 / 142,401 = 29.4, printed by the parameter-count example",
    ("lessons/stable-diffusion", "2.6 %", "2.6 % から 3.5 %"): "the 8x8 layers' smallest token share, printed by "
    "the cross-attention check (cross_attention_over_steps), not lesson 4's probe spread",
    ("lessons/stable-diffusion", "2.6 %", "between 2.6 % and 3.5 %"): "the 8x8 layers' smallest token share, printed "
    "by the cross-attention check (cross_attention_over_steps), not lesson 4's probe spread",
}


def measured_values(results: Path = RESULTS) -> list[tuple[str, float, str | None]]:
    """(``file: row``, value, unit) for every measured row of every results file."""
    out = []
    for path in sorted(results.glob("*.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["rows"]:
            value = row.get("value")
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if row.get("unit") in EXACT_UNITS:
                continue
            out.append((f"{path.stem}: {row['name']}", float(value), row.get("unit")))
    by_name = dict(((name, value) for name, value, _ in out))
    for name, (topic, top, bottom) in DERIVED.items():
        out.append((name, by_name[f"{topic}: {top}"] / by_name[f"{topic}: {bottom}"], "x"))
    return out


def _blank(match: re.Match[str]) -> str:
    return "\n" * match.group(0).count("\n")  # keep the line numbers of the page


def prose(markdown: str) -> str:
    """The text a reader reads as prose: code, comments and placeholders removed."""
    text = FENCE.sub(_blank, markdown)
    text = COMMENT.sub(_blank, text)
    text = bench_numbers.PLACEHOLDER.sub("", text)
    return INLINE_CODE.sub("", text)


def _significant_digits(integer: str, decimals: str) -> int:
    return len((integer.replace(",", "") + decimals).lstrip("0"))


def hand_typed(markdown: str, values: list[tuple[str, float]], page: str = "") -> list[str]:
    """Every candidate number in the prose of ``markdown`` that a results row rounds to."""
    found = []
    for line_no, line in enumerate(prose(markdown).splitlines(), 1):
        in_table = line.lstrip().startswith("|")
        for m in NUMBER.finditer(line):
            integer, decimals, percent = m.group(1), m.group(2) or "", m.group(3)
            digits = _significant_digits(integer, decimals)
            measured_unit = bool(percent) or bool(UNIT.match(line, m.end()))
            if digits < 2 or (digits < 3 and not (measured_unit or in_table)):
                continue
            if any((page, m.group(0).strip()) == (p, n) and phrase in line for p, n, phrase in COINCIDENCES):
                continue
            number = float(integer.replace(",", "") + ("." + decimals if decimals else ""))
            for name, value, *unit in values:
                if unit and unit[0] in COUNT_UNITS:  # a count matches only when printed in full
                    if digits >= 4 and not decimals and number == value:
                        found.append(f"line {line_no}: {m.group(0).strip()} (= {name})")
                        break
                    continue
                # "84 %" is a share of 1 (0.8361) written as a percentage; a row in seconds or
                # times is not a percentage, so neither "1.1 %" (1.136 s) nor "80 %" (0.8 s) match.
                fraction = abs(value) <= 1 and (not unit or unit[0] in FRACTION_UNITS)
                candidates = ([value * 100] if fraction else []) if percent else [value]
                if any(round(c, len(decimals)) == number for c in candidates):
                    found.append(f"line {line_no}: {m.group(0).strip()} (= {name})")
                    break
    return found


def test_recogniser_finds_typed_numbers_and_spares_placeholders():
    """A typed speed-up, fraction and percentage are caught; the same numbers as placeholders pass."""
    values = [("ddpm: speed-up", 18.47), ("ddpm: share", 0.8361), ("sd: count", 16384.0)]
    typed = "DDIM is 18.5 times faster; 0.836 of real digits, about 84 % of them.\n| DDIM | 18 |\n"
    assert [f.split(":")[0] for f in hand_typed(typed, values)] == ["line 1"] * 3 + ["line 2"]
    assert hand_typed("Take 18 steps with 0.84 of the data.\n", values) == []
    assert hand_typed("an error of 1.1 % per step\n", [("sd-gpu: seconds", 1.136)]) == []
    assert hand_typed("80 % of the images\n", [("serve: banner", 0.8, "s")]) == []
    assert hand_typed("80 % of the images\n", [("minisd: share", 0.8, "share")]) != []
    filled = 'DDIM is {{ bench("ddpm", "speed-up", ".1f") }} times faster.\n```python\n>>> 18.47\n```\n'
    assert hand_typed(filled, values) == []
    assert hand_typed("18×18 images, 1,000 steps, torch 2.13.0, 16,384 values\n", values[:2]) == []
    counts = [("minisd: latent_params_unet", 4192900.0, "parameters"), ("minisd: ratio", 29.445, "x")]
    assert len(hand_typed("| U-Net parameters | 4,192,900 |\nwith 29 times as many parameters\n", counts)) == 2
    assert hand_typed("about 4.2 million parameters, 4 layers\n", counts) == []


def test_the_derived_ratios_are_the_quoted_ones():
    """The parameter ratio the Stable Diffusion page quotes is computed from the two counts it is made of."""
    values = {name: value for name, value, _ in measured_values()}
    ratio = values["minisd: U-Net parameters, miniature SD / lesson 2's DDPM"]
    assert ratio == values["minisd: latent_params_unet"] / values["minisd: pixel_ddpm_params_unet"]
    assert round(ratio) == 29  # 4,192,900 / 142,401 in minisd.json


def test_every_measured_row_is_recognisable():
    """The results files are readable and hold measured rows (so the page test below has teeth)."""
    values = measured_values()
    assert len(values) >= 20
    assert any(name.startswith("ddpm: DDIM-50 speed-up") for name, *_ in values)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_carries_no_hand_typed_benchmark_number(page, request):
    """Benchmark numbers in a page's prose come from `{{ bench(...) }}` placeholders only."""
    rel = page.relative_to(DOCS).as_posix()
    if rel in PENDING:
        request.applymarker(pytest.mark.xfail(reason=PENDING[rel], strict=True))
    stem = rel.rsplit(".", 2)[0]
    values = measured_values()
    if stem.startswith("lessons/"):  # a lesson never quotes the tooling's records (its 200 steps are not 199.9 s)
        values = [v for v in values if v[0].split(":", 1)[0] not in TOOLING_TOPICS]
    found = hand_typed(page.read_text(encoding="utf-8"), values, stem)
    assert found == [], f"{rel}: write these as {{{{ bench(...) }}}} placeholders: {found}"


def test_placeholders_are_filled_from_the_results_files():
    """`{{ bench(...) }}` becomes the recorded value, by row name or slug, with format and scale."""
    rows = {row["name"]: row["value"] for row in json.loads((RESULTS / "ddpm.json").read_text())["rows"]}
    speed_up = rows["DDIM-50 speed-up over DDPM-1000"]
    text = (
        'x {{ bench("ddpm", "DDIM-50 speed-up over DDPM-1000", ".1f") }} y '
        '{{ bench("ddpm", "ddim_50_speed_up_over_ddpm_1000", fmt=".2f") }} '
        '{{ bench("ddpm", "real held-out digits confident share (ceiling)", ".0f", scale=100) }} %'
    )
    share = rows["real held-out digits confident share (ceiling)"]
    assert bench_numbers.expand(text) == f"x {speed_up:.1f} y {speed_up:.2f} {share * 100:.0f} %"
    with pytest.raises(bench_numbers.BenchNumberError, match="no row"):
        bench_numbers.expand('{{ bench("ddpm", "no such row") }}')
    with pytest.raises(bench_numbers.BenchNumberError, match="no results file"):
        bench_numbers.expand('{{ bench("nothing", "x") }}')
    with pytest.raises(bench_numbers.BenchNumberError, match="malformed"):
        bench_numbers.expand('{{ bench("ddpm", __import__("os")) }}')


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_notebook_of_the_ddpm_page_carries_the_numbers_not_the_placeholders(lang):
    """The notebook built from a page fills `{{ bench(...) }}` just as the site does."""
    from site_tools.notebooks import page_to_cells

    page = DOCS / "lessons" / f"diffusion.{lang}.md"
    source = page.read_text(encoding="utf-8")
    assert "{{ bench(" in source
    cells = page_to_cells(source, page="lessons/diffusion", lang=lang)
    prose = "\n".join(cell.source for cell in cells if cell.kind == "markdown")
    assert "{{" not in prose
    speed_up = bench_numbers.bench("ddpm", "DDIM-50 speed-up over DDPM-1000", ".1f")
    assert speed_up in prose
