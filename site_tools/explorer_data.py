"""The data of the explorers, made by the package at build time.

``hooks/explorer_data.py`` adds the files to the site. Nothing here is committed: each build
writes (or takes from the cache) these site files:

``assets/explorers/forward/meta.json`` + ``data.bin``
    The forward-process explorer: the CT slice ``x0`` of ``load_ct_slice()`` (W400/L40) and
    one seeded noise image ``eps`` (``torch.randn`` from ``torch.Generator().manual_seed(0)``,
    as the page's forward-strip figure draws it), both quantised to 16 bits, and
    ``alphas_cumprod`` of ``NoiseSchedule.linear()`` and ``.cosine()`` as little-endian
    float64. ``meta.json`` gives every array's byte offset, scale and largest rounding error.
``assets/explorers/reverse/meta.json`` + ``frames.png``
    The reverse-process scrubber: 16 samples of the pretrained digits model from one seeded
    ``x_T``, by DDPM-1000 and DDIM-50, at the steps ``FRAME_STEPS``; at each step ``x_t`` and
    the model's current guess ``x0_hat`` (Ho et al. 2020, Eq. (15)), clipped to [-1, 1] and
    stored as 8-bit grey (sprite layout in ``meta.json``).
``assets/explorers/guidance/meta.json`` + ``frames.png``
    The guidance explorer of the Stable Diffusion page: the shipped miniature's digits 0-9,
    seeds 0 and 1, at every guidance scale of ``GUIDANCE_SCALES``, in 8-bit grey; they are the
    guidance-grid figure's own draw (one shared, cached ``guidance_samples()``), so a build
    samples them once. ``meta.json`` also carries faithfulness and variety per scale, the real
    digits' variety and the recommended scale, copied from ``benchmarks/results/minisd.json``
    (a change to that file makes this explorer's data again: :data:`INPUTS`).

``assets/explorers/similarity/meta.json``
    The similarity-matrix explorer of the self-supervised lesson: the 8 held-out digits and
    their 8 captions of ``similarity_example()`` (the page's similarity figure), the images as
    8-bit grey values, the cosines recomputed in float64 from the shipped miniature CLIP's
    embeddings, its learnt scale $t$, and the temperatures the slider offers.

The arrays are made by :func:`forward_data`, :func:`reverse_data` and :func:`guidance_data` (plain functions of no
arguments that return ``{file name: bytes}``, so they can move into a package module);
:func:`explorer_files` caches them under ``.cache/explorers/<hash of the package and this
file>``. :func:`strip_unused_assets` drops the explorers' scripts and stylesheets from pages
that have no explorer.

Adding an explorer (for example the guidance explorer of the Stable Diffusion page):

1. a function ``guidance_data() -> {name: bytes}`` here (or in a module of its own), registered
   in :data:`MAKERS`
   (its files appear at ``assets/explorers/guidance/<name>``);
2. ``docs/javascripts/guidance-explorer.js``: a constructor ``Explorer(root)`` built with
   ``window.medaiExplorerKit`` (``dataUrl``/``fetchData`` for the data, ``slider``,
   ``button``, ``Player``, ``texts``, ``firstFrame``), started with
   ``kit.register({api: "medaiGuidanceExplorer", selector: ".guidance-explorer", create: Explorer})``;
   its styles go into ``stylesheets/explorers.css`` (the shared ``.explorer__*`` classes are there);
3. the script in ``extra_javascript`` after ``explorer-kit.js``, and its page class in
   :data:`ASSET_MARKERS`;
4. on the page: ``<div class="guidance-explorer" markdown>`` holding a link
   ``[...](../assets/explorers/guidance/meta.json){ .explorer-data }``;
5. a row in ``EXPLORERS`` of ``benchmarks/bench_pages.py`` for its first frame.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

from .env import ROOT

CACHE = ROOT / ".cache" / "explorers"
SITE_DIR = "assets/explorers"

#: seeds: the forward noise as the page's figure draws it; the reverse x_T and DDPM's noise
FORWARD_SEED = 0
REVERSE_X_T_SEED = 0
REVERSE_DDPM_SEED = 1
NUM_SAMPLES = 16
#: 16-bit codes: x0 in [-1, 1] over 65535 steps; eps in steps of 1/4096 (int16 covers +-8)
X0_STEP = 2.0 / 65535
EPS_STEP = 1.0 / 4096
#: the scrubber's steps: every other DDIM-50 step (980, 940, ..., 20), then t = 0, then the
#: result (-1). DDPM visits all of them; DDIM-50 visits 980, 960, ..., 0.
FRAME_STEPS = [*range(980, 0, -40), 0, -1]


# ------------------------------------------------------------------------------ forward


def forward_data() -> dict[str, bytes]:
    """``{"meta.json": ..., "data.bin": ...}`` of the forward-process explorer."""
    import numpy as np
    import torch

    from medai_lessons.diffusion import NoiseSchedule, load_ct_slice

    x0 = load_ct_slice()
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(FORWARD_SEED))
    x0_np = x0[0, 0].double().numpy()
    eps_np = eps[0, 0].double().numpy()
    if np.abs(eps_np).max() >= 32767 * EPS_STEP:
        raise ValueError("`eps` does not fit the int16 code; widen EPS_STEP.")
    x0_code = np.round((x0_np + 1.0) / X0_STEP).astype("<u2")
    eps_code = np.round(eps_np / EPS_STEP).astype("<i2")
    schedules = {"linear": NoiseSchedule.linear(), "cosine": NoiseSchedule.cosine()}

    parts: list[tuple[str, bytes]] = [("x0", x0_code.tobytes()), ("eps", eps_code.tobytes())]
    parts += [(f"alphas_cumprod_{k}", s.alphas_cumprod.numpy().astype("<f8").tobytes()) for k, s in schedules.items()]
    offsets, blob = {}, b""
    for name, data in parts:
        offsets[name] = len(blob)
        blob += data
    x0_err = float(np.abs(x0_code * X0_STEP - 1.0 - x0_np).max())
    eps_err = float(np.abs(eps_code * EPS_STEP - eps_np).max())
    height, width = x0_np.shape
    meta = {
        "format": "medai-forward-explorer/1",
        "source": "medai_lessons.diffusion.load_ct_slice() (pydicom CT_small.dcm, W400/L40 -> [-1, 1])",
        "noise": f"torch.randn(x0.shape, generator=torch.Generator().manual_seed({FORWARD_SEED}))",
        "shape": [height, width],
        "num_train_timesteps": len(schedules["linear"]),  # T; the same for both schedules
        "display_range": [-1.5, 1.5],
        "x0": {"offset": offsets["x0"], "dtype": "uint16", "scale": X0_STEP, "zero": -1.0,
               "max_error": x0_err},
        "eps": {"offset": offsets["eps"], "dtype": "int16", "scale": EPS_STEP, "zero": 0.0,
                "max_error": eps_err},
        "alphas_cumprod": {
            k: {"offset": offsets[f"alphas_cumprod_{k}"], "dtype": "float64", "config": s.config}
            for k, s in schedules.items()
        },
        # |x_t error| <= sqrt(a) e_x0 + sqrt(1 - a) e_eps <= sqrt(e_x0^2 + e_eps^2) (Cauchy-Schwarz)
        "x_t_max_error": float(np.hypot(x0_err, eps_err)),
    }
    return {"meta.json": json.dumps(meta, indent=1).encode(), "data.bin": blob}


# ------------------------------------------------------------------------------ reverse


def _rms(a: Any, b: Any) -> float:
    """Root-mean-square difference of two image batches, rounded to 4 decimals."""
    return round(float(((a.double() - b.double()) ** 2).mean().sqrt()), 4)


def _to_code(x: Any) -> Any:
    """Images in [-1, 1] (clipped) -> uint8 grey levels, 127.5 levels per unit."""
    import numpy as np

    return np.round((np.clip(x, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def reverse_trajectories() -> dict[str, list[tuple[int, Any, Any]]]:
    """``{"ddpm": [(t, x_t, x0_hat), ...], "ddim": [...]}`` at :data:`FRAME_STEPS` (float32 tensors).

    ``x0_hat`` is the model's guess of the clean image at step ``t``, $\\hat x_0 = (x_t -
    \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon_\\theta(x_t, t))/\\sqrt{\\bar\\alpha_t}$ (Ho et al. 2020,
    Eq. (15)); at the result (t = -1) it is the result itself.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny U-Net: one thread is fastest, and much faster on a busy CPU
    try:
        return _reverse_trajectories()
    finally:
        torch.set_num_threads(threads)


def _reverse_trajectories() -> dict[str, list[tuple[int, Any, Any]]]:
    import torch

    from medai_lessons.diffusion import ddim_sample, ddpm_sample, load_pretrained_digits, predict_x0

    model, schedule = load_pretrained_digits()
    shape = (NUM_SAMPLES, 1, 8, 8)
    x_start = torch.randn(shape, generator=torch.Generator().manual_seed(REVERSE_X_T_SEED))  # x_T
    _, ddpm_trail = ddpm_sample(model, schedule, shape, x_T=x_start, progress=False, return_intermediates=True,
                                generator=torch.Generator().manual_seed(REVERSE_DDPM_SEED))
    _, ddim_trail = ddim_sample(model, schedule, shape, x_T=x_start, progress=False, return_intermediates=True)
    out: dict[str, list[tuple[int, Any, Any]]] = {}
    with torch.no_grad():
        for name, trail in (("ddpm", ddpm_trail), ("ddim", ddim_trail)):
            by_t = dict(trail)
            frames = []
            for t in FRAME_STEPS:
                x_t = by_t[t]
                if t < 0:
                    x0_hat = x_t
                else:
                    eps_theta = model(x_t, torch.full((NUM_SAMPLES,), t, dtype=torch.int64))
                    x0_hat = predict_x0(schedule, x_t, t, eps_theta)  # Eq. (15)
                frames.append((t, x_t, x0_hat))
            out[name] = frames
    return out


def reverse_data() -> dict[str, bytes]:
    """``{"meta.json": ..., "frames.png": ...}`` of the reverse-process scrubber."""
    import numpy as np
    from PIL import Image

    trajectories = reverse_trajectories()
    samplers = ["ddpm", "ddim"]
    tile = 8
    rows = []  # one row of 16 tiles per (sampler, frame, kind)
    stats: dict[str, list[dict[str, float]]] = {}
    for name in samplers:
        final = trajectories[name][-1][1]
        stats[name] = []
        for t, x_t, x0_hat in trajectories[name]:
            for img in (x_t, x0_hat):
                rows.append(np.concatenate(list(_to_code(img[:, 0].numpy())), axis=1))
            stats[name].append({"t": t, "x_t_rms_to_result": _rms(x_t, final),
                                "x0_hat_rms_to_result": _rms(x0_hat, final)})
    sprite = np.concatenate(rows, axis=0)
    buf = io.BytesIO()
    Image.fromarray(sprite, mode="L").save(buf, format="PNG", optimize=True)
    meta = {
        "format": "medai-reverse-explorer/1",
        "model": "medai_lessons.diffusion.load_pretrained_digits()",
        "x_T": f"torch.randn((16, 1, 8, 8), generator=torch.Generator().manual_seed({REVERSE_X_T_SEED}))",
        "samplers": {
            "ddpm": {"calls": 1000, "noise": f"generator=torch.Generator().manual_seed({REVERSE_DDPM_SEED})"},
            "ddim": {"calls": 50, "eta": 0.0},
        },
        "frame_steps": FRAME_STEPS,
        "num_samples": NUM_SAMPLES,
        "tile": tile,
        # row index of (sampler s, frame f, kind k) = (s * frames + f) * 2 + k; k = 0: x_t, 1: x0_hat
        "layout": {"samplers": samplers, "kinds": ["x_t", "x0_hat"], "width": NUM_SAMPLES * tile,
                   "height": int(sprite.shape[0])},
        "code": {"range": [-1.0, 1.0], "levels": 256, "max_error": 0.5 / 127.5},
        "stats": stats,
    }
    return {"meta.json": json.dumps(meta, indent=1).encode(), "frames.png": buf.getvalue()}


# ------------------------------------------------------------------------------ guidance

#: the results file whose rows the guidance explorer shows (copied into its meta.json)
MINISD_RESULTS = ROOT / "benchmarks" / "results" / "minisd.json"


def guidance_numbers(path: Path = MINISD_RESULTS) -> dict[str, Any]:
    """Faithfulness and variety per guidance scale, the real digits' variety and the recommended s,
    read from the rows ``faithfulness_s{s}``, ``variety_s{s}``, ``variety_real_digits`` and
    ``recommended_guidance_scale`` of ``benchmarks/results/minisd.json``."""
    from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES

    results = json.loads(path.read_text(encoding="utf-8"))
    rows = {r["name"]: r["value"] for r in results["rows"]}
    keys = [f"{s:g}" for s in GUIDANCE_SCALES]
    missing = [n for k in keys for n in (f"faithfulness_s{k}", f"variety_s{k}") if n not in rows]
    missing += [n for n in ("variety_real_digits", "recommended_guidance_scale") if n not in rows]
    if missing:
        raise ValueError(f"`{path.name}` lacks the rows {', '.join(missing)}; run benchmarks/bench_minisd.py.")
    return {
        "source": "benchmarks/results/minisd.json",
        "date": results.get("date"),
        "faithfulness": {k: rows[f"faithfulness_s{k}"] for k in keys},
        "variety": {k: rows[f"variety_s{k}"] for k in keys},
        "variety_real_digits": rows["variety_real_digits"],
        "recommended_guidance_scale": rows["recommended_guidance_scale"],
    }


def guidance_data() -> dict[str, bytes]:
    """``{"meta.json": ..., "frames.png": ...}`` of the Stable Diffusion page's guidance explorer.

    The frames are the guidance-grid figure's own draw (``site_tools.lesson_figures.stable_diffusion.
    guidance_samples``: digits 0-9 x seeds 0, 1 at every scale of ``GUIDANCE_SCALES``), so a build
    samples them once for both; channel 0, as the figure shows it, in 8-bit grey.
    """
    import numpy as np
    from PIL import Image

    from medai_lessons.stable_diffusion.captioned_images import DIGIT_WORDS
    from medai_lessons.stable_diffusion.guidance import GUIDANCE_SCALES
    from site_tools.lesson_figures.stable_diffusion import GUIDANCE_SAMPLE_SEEDS, guidance_samples

    samples = guidance_samples()  # (scales, digits, seeds, 3, H, W) in [-1, 1]
    num_scales, num_digits, num_seeds, _, tile, _ = samples.shape
    grey = _to_code(samples[:, :, :, 0].numpy())  # (scales, digits, seeds, H, W)
    # row = scale; column = digit * seeds + seed
    sprite = grey.transpose(0, 3, 1, 2, 4).reshape(num_scales * tile, num_digits * num_seeds * tile)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(sprite), mode="L").save(buf, format="PNG", optimize=True)
    meta = {
        "format": "medai-guidance-explorer/1",
        "model": "medai_lessons.stable_diffusion.load_digit_pipeline(device='cpu')",
        "sampler": "sample_digits(pipe, digits, seeds, guidance_scale=s), DDIM 25 steps",
        "prompt_template": "a handwritten {word}",
        "prompts": [f"a handwritten {w}" for w in DIGIT_WORDS],
        "digits": list(range(num_digits)),
        "seeds": list(GUIDANCE_SAMPLE_SEEDS),
        "guidance_scales": [float(s) for s in GUIDANCE_SCALES],
        "tile": int(tile),
        # the tile of (scale i, digit d, seed k) starts at x = (d * seeds + k) * tile, y = i * tile
        "layout": {"width": int(sprite.shape[1]), "height": int(sprite.shape[0]), "channel": 0},
        "code": {"range": [-1.0, 1.0], "levels": 256, "max_error": 0.5 / 127.5},
        "numbers": guidance_numbers(),
    }
    return {"meta.json": json.dumps(meta, indent=1).encode(), "frames.png": buf.getvalue()}


# ---------------------------------------------------------------------------- similarity

#: temperatures the similarity explorer's slider offers (the model's learnt 1/t is added to them)
SIMILARITY_TEMPERATURES = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0)
#: the seed of the explorer's first "shuffle captions" (each press takes the next seed)
SIMILARITY_SHUFFLE_SEED = 1


def similarity_cosines(image_embeds: Any, text_embeds: Any) -> Any:
    """The cosine matrix in float64 from (float32) embeddings: rows images, columns captions."""
    import torch.nn.functional as F  # noqa: N812

    return F.normalize(image_embeds.double(), dim=1) @ F.normalize(text_embeds.double(), dim=1).T


def similarity_data() -> dict[str, bytes]:
    """``{"meta.json": ...}`` of the self-supervised page's similarity-matrix explorer.

    The digits, captions and embeddings are ``similarity_example()``'s, the page's similarity figure;
    the browser divides the float64 cosines by τ and takes each row's softmax and InfoNCE
    (van den Oord et al. 2018, Eq. 4) in float64, so it reproduces ``info_nce`` run in float64 on the
    same embeddings.
    """
    from medai_lessons.self_supervised import similarity_example

    ex = similarity_example()
    cosine = similarity_cosines(ex["image_embeds"], ex["text_embeds"])
    learnt = 1.0 / ex["logit_scale"]
    meta = {
        "format": "medai-similarity-explorer/1",
        "model": "medai_lessons.self_supervised.load_digit_clip() (the shipped miniature CLIP)",
        "source": "medai_lessons.self_supervised.similarity_example(): the first held-out image (i % 5 == 0) "
                  "of each digit 0-7 and its caption",
        "labels": [int(v) for v in ex["labels"]],
        "prompts": list(ex["prompts"]),
        "pixels": [[int(v) for v in img.reshape(-1)] for img in ex["pixels"]],
        "image_size": [int(n) for n in ex["pixels"].shape[1:]],
        "cosine": [[float(v) for v in row] for row in cosine.tolist()],
        "logit_scale": float(ex["logit_scale"]),
        "learnt_temperature": learnt,
        "temperatures": sorted([*SIMILARITY_TEMPERATURES, learnt]),
        "shuffle_seed": SIMILARITY_SHUFFLE_SEED,
    }
    return {"meta.json": json.dumps(meta, indent=1).encode()}


# ------------------------------------------------------------------------- the cache


def _digest() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted((ROOT / "src" / "medai_lessons").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".json", ".safetensors"}:
            h.update(path.relative_to(ROOT).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


MAKERS = {"forward": forward_data, "reverse": reverse_data, "guidance": guidance_data, "similarity": similarity_data}
#: files outside the package that an explorer's data is made from: a change makes that explorer again
INPUTS: dict[str, tuple[Path, ...]] = {"guidance": (MINISD_RESULTS,)}


def _inputs_digest(explorer: str, digest: str) -> str:
    h = hashlib.sha256(digest.encode())
    for path in INPUTS.get(explorer, ()):
        h.update(path.read_bytes() if path.is_file() else b"(missing)")
    return h.hexdigest()[:16]


def explorer_files(cache_root: Path = CACHE) -> dict[str, Path]:
    """Site path -> file of every explorer's data, made once per package version (cached)."""
    digest = _digest()
    cache = cache_root / digest
    out: dict[str, Path] = {}
    for explorer, make in MAKERS.items():
        folder = cache / explorer
        done = folder / ".complete"
        stamp = _inputs_digest(explorer, digest)
        if not done.is_file() or done.read_text() != stamp:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for name, data in make().items():
                tmp = folder / (name + ".tmp")
                tmp.write_bytes(data)
                tmp.replace(folder / name)  # atomic
            done.write_text(stamp)
        for path in sorted(folder.iterdir()):
            if not path.name.startswith("."):
                out[f"{SITE_DIR}/{explorer}/{path.name}"] = path
    if cache_root.is_dir():
        for old in cache_root.iterdir():
            if old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
    return out


# ----------------------------------------------------------------------- page assets

#: script / stylesheet -> the class that a page needs to load it (the explorers' and KaTeX's)
ASSET_MARKERS = {
    "javascripts/lr-explorer.js": "lr-explorer",
    "stylesheets/lr-explorer.css": "lr-explorer",
    "javascripts/forward-explorer.js": "forward-explorer",
    "javascripts/reverse-explorer.js": "reverse-explorer",
    "javascripts/guidance-explorer.js": "guidance-explorer",
    "javascripts/similarity-explorer.js": "similarity-explorer",
    "stylesheets/explorers.css": ("forward-explorer", "reverse-explorer", "guidance-explorer", "similarity-explorer"),
    "javascripts/explorer-kit.js": ("lr-explorer", "forward-explorer", "reverse-explorer", "guidance-explorer",
                                    "similarity-explorer"),
    # the page's own formulas are typeset when the site is built (site_tools/katex.py): their
    # stylesheet wherever one is; an explorer's live formula loads KaTeX's script itself
    # (explorer-kit.js, when the reader reaches the explorer)
    "assets/vendor/katex/katex.min.css": "katex",
}


def strip_unused_assets(html: str) -> str:
    """Remove each <script>/<link> of ``ASSET_MARKERS`` from a page that has none of its classes."""
    for asset, markers in ASSET_MARKERS.items():
        markers = (markers,) if isinstance(markers, str) else markers
        if any(f'class="{m}' in html or f"class='{m}" in html for m in markers):
            continue
        name = re.escape(asset)
        html = re.sub(rf'<script src="[^"]*{name}"></script>\s*', "", html)
        html = re.sub(rf'<link rel="stylesheet" href="[^"]*{name}">\s*', "", html)
    return html
