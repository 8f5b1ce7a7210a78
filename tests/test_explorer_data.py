"""The data of the diffusion explorers (site_tools/explorer_data.py), without a browser.

The bytes the site ships must decode to the package's own arrays within the rounding error
that meta.json states: the CT slice, the seeded noise and both schedules' ᾱ_t for the
forward explorer; every frame of the reverse scrubber, checked against the package's
samplers and against diffusers' DDIMScheduler as an independent reference; the guidance
explorer's frames against ``sample_digits`` and its numbers against the results file.
"""

from __future__ import annotations

import fcntl
import functools
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from medai_lessons.diffusion import (
    NoiseSchedule,
    ddim_sample,
    ddpm_sample,
    load_ct_slice,
    load_pretrained_digits,
    predict_x0,
    q_sample,
)
from site_tools import explorer_data as hook

# ------------------------------------------------------------------------------ forward


@pytest.fixture(scope="module")
def forward():
    files = hook.forward_data()
    meta = json.loads(files["meta.json"])
    blob = files["data.bin"]
    h, w = meta["shape"]

    def decode(spec: dict, n: int) -> np.ndarray:
        dtype = {"uint16": "<u2", "int16": "<i2", "float64": "<f8"}[spec["dtype"]]
        raw = np.frombuffer(blob, dtype=dtype, count=n, offset=spec["offset"]).astype(np.float64)
        return raw if spec["dtype"] == "float64" else spec["zero"] + spec["scale"] * raw

    T = meta["num_train_timesteps"]
    return {
        "meta": meta,
        "x0": decode(meta["x0"], h * w).reshape(h, w),
        "eps": decode(meta["eps"], h * w).reshape(h, w),
        "alphas_cumprod": {k: decode(v, T) for k, v in meta["alphas_cumprod"].items()},
    }


def _ct_and_noise() -> tuple[torch.Tensor, torch.Tensor]:
    x0 = load_ct_slice()
    # the page's forward-strip figure draws its noise like this (figures/diffusion.py)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    return x0, noise


def test_forward_x0_and_noise_decode_within_their_stated_errors(forward):
    """x0 is within 2/65535/2 and eps within 1/8192 of the package's arrays, as meta.json says."""
    x0, noise = _ct_and_noise()
    meta = forward["meta"]
    assert meta["shape"] == [128, 128]
    err_x0 = np.abs(forward["x0"] - x0[0, 0].double().numpy()).max()
    err_eps = np.abs(forward["eps"] - noise[0, 0].double().numpy()).max()
    assert err_x0 <= 0.5 * 2 / 65535 + 1e-12  # half a 16-bit step over [-1, 1]
    assert err_eps <= 0.5 / 4096 + 1e-12  # half a step of 1/4096
    assert meta["x0"]["max_error"] == pytest.approx(err_x0, abs=1e-12)
    assert meta["eps"]["max_error"] == pytest.approx(err_eps, abs=1e-12)


def test_forward_alphas_cumprod_are_the_schedules_exactly(forward):
    """The shipped ᾱ_t are NoiseSchedule.linear() and .cosine() bit for bit (float64)."""
    for kind in ("linear", "cosine"):
        want = getattr(NoiseSchedule, kind)().alphas_cumprod.numpy()
        assert np.array_equal(forward["alphas_cumprod"][kind], want)
        assert forward["meta"]["alphas_cumprod"][kind]["config"]["kind"] == kind


@pytest.mark.parametrize(("t", "kind"), [(0, "linear"), (259, "linear"), (400, "cosine"), (496, "cosine"),
                                         (750, "linear"), (999, "cosine")])
def test_forward_x_t_from_the_data_equals_q_sample(forward, t, kind):
    """x_t computed as the browser does equals q_sample within meta's x_t_max_error (+ float32 rounding)."""
    x0, noise = _ct_and_noise()
    schedule = getattr(NoiseSchedule, kind)()
    ab = forward["alphas_cumprod"][kind][t]
    x_t = np.sqrt(ab) * forward["x0"] + np.sqrt(1 - ab) * forward["eps"]
    want = q_sample(schedule, x0, t, noise)[0, 0].double().numpy()
    bound = forward["meta"]["x_t_max_error"]
    assert bound < 1.3e-4  # the page states 1.3e-4
    assert np.abs(x_t - want).max() <= bound + 2e-6  # q_sample runs in float32


# ------------------------------------------------------------------------------ reverse


@pytest.fixture(scope="module")
def reverse():
    """The scrubber's files as the hook makes them: (meta, sprite of grey levels)."""
    from PIL import Image

    files = hook.reverse_data()
    meta = json.loads(files["meta.json"])
    sprite = np.asarray(Image.open(io.BytesIO(files["frames.png"])))
    assert sprite.dtype == np.uint8 and sprite.ndim == 2
    return meta, sprite


def frame_values(meta: dict, sprite: np.ndarray, sampler: str, f: int, kind: str) -> np.ndarray:
    """Decoded (16, 8, 8) values of one frame, by the layout meta.json describes."""
    L, tile, n = meta["layout"], meta["tile"], meta["num_samples"]
    row = ((L["samplers"].index(sampler) * len(meta["frame_steps"]) + f) * 2 + L["kinds"].index(kind)) * tile
    strip = sprite[row : row + tile].astype(np.float64) / 127.5 - 1.0
    return np.stack([strip[:, i * tile : (i + 1) * tile] for i in range(n)])


@functools.lru_cache(maxsize=1)
def run_package_samplers(folder: Path) -> tuple:
    """``(model, schedule, x_T, {"ddpm": {t: x_t}, "ddim": {t: x_t}})``: the package's samplers
    run from the seeds the hook documents (x_T: seed 0; DDPM's step noise: seed 1).

    Once per test run: the browser's scrubber test compares its frames with the same run, and
    under pytest-xdist the two files may land on different workers, so the first worker to get
    here saves the run in ``folder`` (the run's temporary folder, shared by its workers:
    ``run_folder``) and the other reads it back. Read only."""
    model, schedule = load_pretrained_digits()
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "package-samplers.safetensors"
    with (folder / "package-samplers.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the first one's run
        if not saved.exists():
            x_T, runs = _sample(model, schedule)
            flat = {f"{k}/{t}": x.contiguous().clone() for k, steps in runs.items() for t, x in steps.items()}
            save_file({"x_T": x_T, **flat}, str(saved.with_suffix(".tmp")))
            saved.with_suffix(".tmp").replace(saved)
    tensors = load_file(str(saved))
    runs: dict[str, dict[int, torch.Tensor]] = {"ddpm": {}, "ddim": {}}
    for key, x in tensors.items():
        if key != "x_T":
            sampler, t = key.split("/")
            runs[sampler][int(t)] = x
    return model, schedule, tensors["x_T"], runs


def _sample(model, schedule) -> tuple[torch.Tensor, dict]:
    shape = (16, 1, 8, 8)
    x_T = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _, ddpm = ddpm_sample(model, schedule, shape, x_T=x_T, progress=False, return_intermediates=True,
                              generator=torch.Generator().manual_seed(1))
        _, ddim = ddim_sample(model, schedule, shape, x_T=x_T, progress=False, return_intermediates=True)
    finally:
        torch.set_num_threads(threads)
    return x_T, {"ddpm": dict(ddpm), "ddim": dict(ddim)}


@pytest.fixture(scope="module")
def package_runs(run_folder):
    """The package's samplers, run once for this test run."""
    return run_package_samplers(run_folder)


TOL = 0.5 / 127.5 + 1e-4  # half a grey level, plus float noise


@pytest.mark.slow
def test_reverse_meta_describes_27_frames_of_two_samplers(reverse):
    """27 frames (980, 940, ..., 20, 0, result) of DDPM and DDIM, each x_t and x0_hat, in one sprite."""
    meta, sprite = reverse
    assert meta["frame_steps"] == [*range(980, 0, -40), 0, -1]
    assert len(meta["frame_steps"]) == 27
    assert sprite.shape == (2 * 27 * 2 * 8, 16 * 8)
    assert meta["code"]["max_error"] == pytest.approx(0.5 / 127.5)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_reverse_frames_equal_the_package_sampler_output(reverse, package_runs, sampler):
    """Every x_t frame equals the package sampler's x_t at that step, clipped to [-1, 1], within half a grey level."""
    meta, sprite = reverse
    _, _, _, runs = package_runs
    for f, t in enumerate(meta["frame_steps"]):
        want = runs[sampler][t][:, 0].double().clamp(-1, 1).numpy()
        got = frame_values(meta, sprite, sampler, f, "x_t")
        assert np.abs(got - want).max() <= TOL, (sampler, t)


@pytest.mark.slow
def test_reverse_guesses_equal_diffusers_pred_original_sample(reverse, package_runs):
    """DDIM-50 run by diffusers' DDIMScheduler from the same x_T gives the same x_t and x0_hat frames."""
    diffusers = pytest.importorskip("diffusers")
    meta, sprite = reverse
    model, schedule, x_T, _ = package_runs
    scheduler = diffusers.DDIMScheduler(
        num_train_timesteps=1000, trained_betas=schedule.betas.numpy(), clip_sample=False,
        set_alpha_to_one=True, timestep_spacing="leading", steps_offset=0,
    )
    scheduler.set_timesteps(50)
    steps = meta["frame_steps"]
    x, checked = x_T.clone(), 0
    with torch.no_grad():
        for t in scheduler.timesteps.tolist():
            eps = model(x, torch.full((16,), t, dtype=torch.int64))
            out = scheduler.step(eps, t, x, eta=0.0)
            if t in steps:
                f = steps.index(t)
                assert np.abs(frame_values(meta, sprite, "ddim", f, "x_t") - x[:, 0].clamp(-1, 1).numpy()).max() <= TOL
                guess = out.pred_original_sample[:, 0].clamp(-1, 1).numpy()
                assert np.abs(frame_values(meta, sprite, "ddim", f, "x0_hat") - guess).max() <= TOL
                checked += 1
            x = out.prev_sample
    assert checked == 26  # all frames but the result
    assert np.abs(frame_values(meta, sprite, "ddim", 26, "x_t") - x[:, 0].clamp(-1, 1).numpy()).max() <= TOL


@pytest.mark.slow
def test_reverse_ddpm_guesses_equal_predict_x0(reverse, package_runs):
    """DDPM's x0_hat frames equal predict_x0 of the package's x_t and the model's eps at that step."""
    meta, sprite = reverse
    model, schedule, _, runs = package_runs
    with torch.no_grad():
        for f, t in enumerate(meta["frame_steps"][:-1]):
            x_t = runs["ddpm"][t]
            guess = predict_x0(schedule, x_t, t, model(x_t, torch.full((16,), t, dtype=torch.int64)))
            got = frame_values(meta, sprite, "ddpm", f, "x0_hat")
            assert np.abs(got - guess[:, 0].clamp(-1, 1).numpy()).max() <= TOL


@pytest.mark.slow
def test_reverse_guess_is_closer_to_the_result_than_x_t_from_t_700_on(reverse, package_runs):
    """The stats shown: RMS to the result, recomputed; x0_hat is nearer the result than x_t for t <= 700."""
    meta, _ = reverse
    _, _, _, runs = package_runs
    for sampler in ("ddpm", "ddim"):
        final = runs[sampler][-1].double()
        for st in meta["stats"][sampler]:
            x_t = runs[sampler][st["t"]].double()
            assert st["x_t_rms_to_result"] == pytest.approx(((x_t - final) ** 2).mean().sqrt().item(), abs=1e-4)
            if 0 <= st["t"] <= 700:
                assert st["x0_hat_rms_to_result"] < st["x_t_rms_to_result"], (sampler, st)


# ------------------------------------------------------------------------------ guidance

GUIDANCE_DIGITS = [0, 9]  # the two ends of the sprite's layout


@pytest.fixture(scope="module")
def guidance(built_site):
    """The guidance explorer's files as the strict build ships them: (meta, sprite of grey levels)."""
    from PIL import Image

    if built_site.returncode != 0:
        pytest.fail("mkdocs build --strict failed:\n" + built_site.log[-3000:])
    folder = built_site.path / "assets" / "explorers" / "guidance"
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    sprite = np.asarray(Image.open(folder / "frames.png"))
    assert sprite.dtype == np.uint8 and sprite.ndim == 2
    return meta, sprite


def guidance_tile(meta: dict, sprite: np.ndarray, digit: int, scale: float, seed: int) -> np.ndarray:
    """Decoded (32, 32) values of one sample, by the layout meta.json describes."""
    tile, seeds = meta["tile"], meta["seeds"]
    y = meta["guidance_scales"].index(scale) * tile
    x = (digit * len(seeds) + seeds.index(seed)) * tile
    return sprite[y : y + tile, x : x + tile].astype(np.float64) / 127.5 - 1.0


def test_guidance_numbers_are_the_results_file(guidance):
    """meta.json carries faithfulness and variety per s, the real digits' variety and the recommended s
    exactly as benchmarks/results/minisd.json records them."""
    from medai_lessons.stable_diffusion import GUIDANCE_SCALES

    meta, _ = guidance
    rows = {r["name"]: r["value"] for r in json.loads(hook.MINISD_RESULTS.read_text(encoding="utf-8"))["rows"]}
    numbers = meta["numbers"]
    assert meta["guidance_scales"] == list(GUIDANCE_SCALES) == [1.0, 2.0, 3.0, 5.0, 8.0, 15.0]
    assert sorted(numbers["faithfulness"]) == sorted(numbers["variety"]) == sorted(["1", "2", "3", "5", "8", "15"])
    for s in GUIDANCE_SCALES:
        assert numbers["faithfulness"][f"{s:g}"] == rows[f"faithfulness_s{s:g}"]
        assert numbers["variety"][f"{s:g}"] == rows[f"variety_s{s:g}"]
    assert numbers["variety_real_digits"] == rows["variety_real_digits"]
    assert numbers["recommended_guidance_scale"] == rows["recommended_guidance_scale"]
    assert numbers["recommended_guidance_scale"] in GUIDANCE_SCALES


def test_guidance_layout_holds_ten_digits_two_seeds_six_scales(guidance):
    """One 32x32 tile per (scale, digit, seed): 6 rows of 10 x 2 tiles, in 256 grey levels."""
    meta, sprite = guidance
    assert meta["seeds"] == [0, 1] and meta["digits"] == list(range(10))
    assert meta["prompts"][7] == "a handwritten seven"
    assert sprite.shape == (6 * 32, 10 * 2 * 32) == (meta["layout"]["height"], meta["layout"]["width"])
    assert meta["code"]["max_error"] == pytest.approx(0.5 / 127.5)


@pytest.mark.slow
def test_guidance_frames_equal_sample_digits(guidance):
    """Every shipped tile of digits 0 and 9 equals channel 0 of the package's sample_digits output at that
    seed and scale within half a grey level (+1e-4 for batch-size float noise, measured <= 8e-6)."""
    from medai_lessons.stable_diffusion import GUIDANCE_SCALES, load_digit_pipeline, sample_digits

    meta, sprite = guidance
    pipe = load_digit_pipeline(device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for s in GUIDANCE_SCALES:
            images = sample_digits(pipe, GUIDANCE_DIGITS, meta["seeds"], guidance_scale=s)  # digit-major
            for j, (d, k) in enumerate((d, k) for d in GUIDANCE_DIGITS for k in meta["seeds"]):
                want = images[j, 0].double().clamp(-1, 1).numpy()
                err = np.abs(guidance_tile(meta, sprite, d, s, k) - want).max()
                assert err <= TOL, (s, d, k, err)
    finally:
        torch.set_num_threads(threads)


def test_guidance_grid_figure_draws_the_shared_samples(monkeypatch):
    """The guidance-grid figure draws seed 0 of guidance_samples(), the draw the explorer ships."""
    from site_tools.lesson_figures import stable_diffusion as sd_figures

    fake = torch.linspace(-1, 1, 6 * 10 * 2 * 3 * 32 * 32).reshape(6, 10, 2, 3, 32, 32)
    calls = []
    monkeypatch.setattr(sd_figures, "guidance_samples", lambda: calls.append(1) or fake)
    fig = sd_figures.guidance_grid("en")
    try:
        shown = fig.axes[1 * 6 + 2].images[0].get_array()  # row digit 1, column s = 3
        assert np.array_equal(np.asarray(shown), fake[2, 1, 0, 0].numpy())
        assert calls == [1]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert sd_figures.GUIDANCE_SAMPLE_SEEDS[0] == 0


def test_guidance_data_is_made_again_when_the_results_change(tmp_path, monkeypatch):
    """A change to an explorer's input outside the package (minisd.json for guidance) remakes its data."""
    results = tmp_path / "results.json"
    results.write_text("1")
    calls = []
    monkeypatch.setattr(hook, "MAKERS", {"guidance": lambda: calls.append(1) or {"meta.json": results.read_bytes()}})
    monkeypatch.setattr(hook, "INPUTS", {"guidance": (results,)})
    monkeypatch.setattr(hook, "_digest", lambda: "same")
    cache = tmp_path / "cache"
    files = hook.explorer_files(cache)
    hook.explorer_files(cache)
    assert len(calls) == 1
    results.write_text("2")
    files = hook.explorer_files(cache)
    assert len(calls) == 2
    assert files["assets/explorers/guidance/meta.json"].read_text() == "2"


def test_guidance_numbers_name_missing_rows(tmp_path):
    """A results file without the guidance rows is refused with the missing rows named."""
    bad = tmp_path / "minisd.json"
    bad.write_text(json.dumps({"rows": [{"name": "variety_real_digits", "value": 3.0}]}))
    with pytest.raises(ValueError, match=r"`minisd.json` lacks the rows faithfulness_s1, variety_s1"):
        hook.guidance_numbers(bad)


# ---------------------------------------------------------------------------- similarity


@pytest.fixture(scope="module")
def similarity(built_site) -> dict:
    """The similarity explorer's meta.json as the strict build ships it."""
    if built_site.returncode != 0:
        pytest.fail("mkdocs build --strict failed:\n" + built_site.log[-3000:])
    meta = built_site.path / "assets" / "explorers" / "similarity" / "meta.json"
    return json.loads(meta.read_text(encoding="utf-8"))


def test_similarity_data_is_the_package_example(similarity):
    """The 8 held-out digits, their captions and the cosines are similarity_example()'s: the images exactly,
    the cosines within float32 rounding of its (float32) matrix, and exactly the float64 recomputation from its
    embeddings; the offered τ are sorted and hold the learnt 1/t."""
    from medai_lessons.self_supervised import held_out_digits, similarity_example

    ex = similarity_example()
    assert similarity["labels"] == list(range(8))
    assert similarity["prompts"] == [f"a handwritten {w}" for w in
                                     ("zero", "one", "two", "three", "four", "five", "six", "seven")]
    assert similarity["pixels"] == [img.reshape(-1).tolist() for img in ex["pixels"]]
    held = held_out_digits()  # the first held-out image of each digit
    assert all(np.array_equal(held.pixels[list(held.labels).index(d)].reshape(-1), similarity["pixels"][d])
               for d in range(8))
    cosine = torch.tensor(similarity["cosine"], dtype=torch.float64)
    assert cosine.shape == (8, 8)
    assert (cosine - ex["cosine"].double()).abs().max().item() < 1e-6
    assert torch.equal(cosine, hook.similarity_cosines(ex["image_embeds"], ex["text_embeds"]))
    assert similarity["logit_scale"] == ex["logit_scale"]
    assert similarity["learnt_temperature"] == 1 / ex["logit_scale"]
    taus = similarity["temperatures"]
    assert taus == sorted(taus) and similarity["learnt_temperature"] in taus
    assert set(hook.SIMILARITY_TEMPERATURES) < set(taus) and taus[0] == 0.01 and taus[-1] == 1.0


def test_similarity_cosines_give_the_package_info_nce(similarity):
    """InfoNCE computed from the shipped cosines as the widget does (float64 row softmax) equals info_nce on
    the example's embeddings at τ = 0.1: the data alone reproduce the package (the browser test checks the widget)."""
    from medai_lessons.self_supervised import info_nce, similarity_example

    ex = similarity_example()
    logits = torch.tensor(similarity["cosine"], dtype=torch.float64) / 0.1
    by_hand = -torch.log_softmax(logits, dim=1).diagonal().mean().item()
    assert abs(by_hand - info_nce(ex["image_embeds"].double(), ex["text_embeds"].double(), 0.1).item()) < 1e-12


# ------------------------------------------------------------------------- the hook


def test_explorer_files_are_cached_by_digest(tmp_path, monkeypatch):
    """A second call reuses the cached files; a changed digest makes them again and drops the old folder."""
    calls = []
    monkeypatch.setattr(hook, "MAKERS", {"demo": lambda: calls.append(1) or {"a.json": b"{}", "b.bin": b"\x00"}})
    monkeypatch.setattr(hook, "_digest", lambda: "one")
    first = hook.explorer_files(tmp_path)
    assert sorted(first) == ["assets/explorers/demo/a.json", "assets/explorers/demo/b.bin"]
    assert hook.explorer_files(tmp_path) == first
    assert len(calls) == 1
    monkeypatch.setattr(hook, "_digest", lambda: "two")
    hook.explorer_files(tmp_path)
    assert len(calls) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["two"]


def test_pages_without_a_widget_load_no_explorer_assets():
    """Scripts and stylesheets of the explorers stay only on pages that hold their widget."""
    head = (
        '<link rel="stylesheet" href="../stylesheets/lr-explorer.css">\n'
        '<link rel="stylesheet" href="../stylesheets/explorers.css">\n'
        '<script src="../javascripts/explorer-kit.js"></script>\n'
        '<script src="../javascripts/lr-explorer.js"></script>\n'
        '<script src="../javascripts/forward-explorer.js"></script>\n'
        '<script src="../javascripts/reverse-explorer.js"></script>\n'
        '<script src="../javascripts/guidance-explorer.js"></script>\n'
    )
    none = hook.strip_unused_assets(head + "<p>text</p>")
    assert "explorer" not in none.replace("<p>text</p>", "")
    lesson1 = hook.strip_unused_assets(head + '<div class="lr-explorer" data-a="0.35"></div>')
    assert "explorer-kit.js" in lesson1 and "lr-explorer.js" in lesson1 and "lr-explorer.css" in lesson1
    assert "forward-explorer.js" not in lesson1 and "explorers.css" not in lesson1
    ddpm = hook.strip_unused_assets(head + '<div class="forward-explorer">')
    assert "explorer-kit.js" in ddpm and "forward-explorer.js" in ddpm and "explorers.css" in ddpm
    assert "lr-explorer.js" not in ddpm and "reverse-explorer.js" not in ddpm
    assert "guidance-explorer.js" not in ddpm
    ssl = hook.strip_unused_assets(head.replace("guidance-explorer.js", "guidance-explorer.js\"></script>\n"
                                                '<script src="../javascripts/similarity-explorer.js')
                                   + '<div class="similarity-explorer">')
    assert "explorer-kit.js" in ssl and "similarity-explorer.js" in ssl and "explorers.css" in ssl
    assert "guidance-explorer.js" not in ssl and "lr-explorer.js" not in ssl
    sd = hook.strip_unused_assets(head + '<div class="guidance-explorer">')
    assert "explorer-kit.js" in sd and "guidance-explorer.js" in sd and "explorers.css" in sd
    assert "forward-explorer.js" not in sd and "lr-explorer.js" not in sd
