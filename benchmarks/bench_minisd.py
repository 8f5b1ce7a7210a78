"""Benchmark of the miniature text-to-image Stable Diffusion shipped in the package.

    python benchmarks/bench_minisd.py                  # every row
    python benchmarks/bench_minisd.py --only guidance  # only the guidance rows, merged in place

Writes ``benchmarks/results/minisd.json``. Rows:

* training (read from the pipeline's ``training.json``): steps and seconds of each phase;
* the autoencoder: reconstruction MSE on all 1,797 real digits ([-1, 1] scale), values ratio;
* guidance: for s in {0, 1, 2, 3, 5, 8, 15}, 10 digits x 8 seeds ("a handwritten {word}", DDIM 25
  steps; s = 0 is the unconditional model, the empty prompt): faithfulness (share read as the
  prompted digit by the real-digit classifier) and variety (mean pairwise L2 distance within a
  prompt, 8x8 grey), plus real digits' variety. The recommended s is the smallest scale at which
  every image is read as the prompted digit (larger scales only cost variety);
* other prompt templates at the recommended s;
* cost: one U-Net evaluation and one whole image (25 steps) of the latent model against the
  pixel-space DDPM of part 1 run on 32x32 pixels; quality of both with the same classifier;
* disk: the shipped pipeline and the CLIP vocabulary file.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import torch
from results_file import RESULTS, machine, row, write

from medai_lessons.diffusion import UNet, load_pretrained_digits, quality_report
from medai_lessons.diffusion.samplers import ddim_sample
from medai_lessons.stable_diffusion import digit_pipeline_path, load_digit_pipeline
from medai_lessons.stable_diffusion.captioned_images import load_captioned_images, to_classifier_pixels
from medai_lessons.stable_diffusion.guidance import (
    MEASURED_SCALES,
    faithfulness,
    guidance_sweep,
    real_variety,
    sample_digits,
)

RECOMMENDED_S = 3.0
SEEDS = tuple(range(8))


def _best_of(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _dir_bytes(path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def recommended_scale(sweep: list[dict]) -> float:
    """The smallest measured s > 0 at which every image was read as the prompted digit."""
    return min(r["guidance_scale"] for r in sweep if r["guidance_scale"] > 0 and r["faithfulness"] == 1.0)


def guidance_rows(pipe) -> list[dict]:
    """Faithfulness and variety at every scale of ``MEASURED_SCALES``, and the other prompt templates."""
    sweep = guidance_sweep(pipe, MEASURED_SCALES, seeds=SEEDS, num_inference_steps=25)
    chosen = recommended_scale(sweep)
    rows = []
    for r in sweep:
        s = r["guidance_scale"]
        target = "smallest s with every image read as the prompted digit" if s == RECOMMENDED_S else None
        rows.append(row(f"faithfulness_s{s:g}", r["faithfulness"], "share", target,
                        (chosen == RECOMMENDED_S) if target else None))
    for r in sweep:
        rows.append(row(f"variety_s{r['guidance_scale']:g}", r["variety"], "L2 (8x8)"))
    rows.append(row("variety_real_digits", round(real_variety(8), 4), "L2 (8x8)"))
    rows.append(row("recommended_guidance_scale", RECOMMENDED_S, "s"))
    for name, template in [("the_digit_d", "the digit {digit}"), ("d", "{digit}"), ("japanese", "手書きの{digit}")]:
        images = sample_digits(pipe, list(range(10)), SEEDS[:4], guidance_scale=RECOMMENDED_S, template=template)
        share = faithfulness(images, [d for d in range(10) for _ in SEEDS[:4]])
        rows.append(row(f"faithfulness_template_{name}_s{RECOMMENDED_S:g}", round(share, 4), "share"))
    return rows


def merge_guidance_rows(pipe) -> None:
    """Re-measure only the guidance rows and put them in place in the existing results file."""
    out = RESULTS / "minisd.json"
    data = json.loads(out.read_text(encoding="utf-8"))
    new = guidance_rows(pipe)
    by_name = {r["name"]: r for r in new}
    kept = []
    for r in data["rows"]:
        if r["name"] == "faithfulness_s1":  # the new s = 0 rows go before s = 1
            kept += [by_name.pop(n) for n in ("faithfulness_s0",) if n in by_name]
        if r["name"] == "variety_s1":
            kept += [by_name.pop(n) for n in ("variety_s0",) if n in by_name]
        kept.append(by_name.pop(r["name"], r))
    kept += by_name.values()
    machine_text = data["machine"].split("; guidance rows")[0]
    write("minisd", data["title"], f"{machine_text}; guidance rows re-measured on 1 thread {date.today()}", kept)
    # the file's date stays that of the full run: only the guidance rows are new
    merged = json.loads(out.read_text(encoding="utf-8"))
    merged["date"] = data["date"]
    out.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["guidance"], help="re-measure only these rows, keep the others")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only == "guidance":
        merge_guidance_rows(load_digit_pipeline(device="cpu"))
        return
    path = digit_pipeline_path()
    pipe = load_digit_pipeline(device="cpu")
    info = json.loads((path / "training.json").read_text())
    cfg = info["config"]
    total_s = info["vae_seconds"] + info["unet_seconds"]
    rows = [
        row("train_vae_steps", cfg["vae_steps"], "steps"),
        row("train_unet_steps", cfg["unet_steps"], "steps"),
        row("train_vae_seconds", info["vae_seconds"], "s"),
        row("train_unet_seconds", info["unet_seconds"], "s"),
        row("train_total_minutes", round(total_s / 60, 1), "min", "<= 15 on the 2-core CPU", total_s <= 900),
        row("train_unet_steps_per_second", info["unet_steps_per_second"], "steps/s"),
        row("train_cpu_threads", info.get("threads", 1), "threads"),
    ]

    # the autoencoder on real digits
    data = load_captioned_images("digits")
    with torch.no_grad():
        z = torch.cat([pipe.vae.encode(data.images[i : i + 256]).latent_dist.mean for i in range(0, len(data), 256)])
        recon = torch.cat([pipe.vae.decode(z[i : i + 256]).sample for i in range(0, len(z), 256)])
    mse = float(((recon.clamp(-1, 1) - data.images) ** 2).mean())
    rows += [
        row("vae_reconstruction_mse", round(mse, 5), "[-1,1]^2", "< 0.01", mse < 0.01),
        row("values_pixel_3x32x32", 3 * 32 * 32, "values"),
        row("values_latent_4x8x8", int(z[0].numel()), "values"),
        row("value_ratio_pixel_over_latent", 3 * 32 * 32 / z[0].numel(), "x"),
    ]

    rows += guidance_rows(pipe)

    # cost: latent model against the pixel-space DDPM of part 1 at the same output size (32x32)
    unet = pipe.unet
    text = pipe.text_encoder(pipe.tokenizer(["", "a handwritten seven"], padding="max_length",
                                            max_length=pipe.tokenizer.model_max_length,
                                            return_tensors="pt").input_ids)[0]
    z2 = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        latent_eval = _best_of(lambda: unet(z2, 500, encoder_hidden_states=text))
    latent_image = _best_of(
        lambda: pipe("a handwritten seven", num_inference_steps=25, guidance_scale=RECOMMENDED_S, height=32,
                     width=32, generator=torch.Generator().manual_seed(0), output_type="np"), repeats=3)
    ddpm, schedule = load_pretrained_digits()
    pixel_unet = UNet(**{k: v for k, v in ddpm.config.items()}).eval()  # same architecture, 32x32 input
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        pixel_eval = _best_of(lambda: pixel_unet(x, torch.tensor([500])))
        pixel_image = _best_of(lambda: ddim_sample(pixel_unet, schedule, (1, 1, 32, 32), num_inference_steps=25,
                                                   generator=torch.Generator().manual_seed(0), progress=False),
                               repeats=3)
    rows += [
        row("latent_unet_eval_seconds_batch2", round(latent_eval, 5), "s"),
        row("latent_image_seconds_25_steps_guided", round(latent_image, 4), "s"),
        row("pixel_ddpm_unet_eval_seconds_32x32", round(pixel_eval, 5), "s"),
        row("pixel_ddpm_image_seconds_25_steps_32x32", round(pixel_image, 4), "s"),
        row("latent_params_unet", sum(p.numel() for p in unet.parameters()), "parameters"),
        row("pixel_ddpm_params_unet", ddpm.num_parameters(), "parameters"),
        row("pixel_unet_activations_per_eval_values_ratio", round((32 * 32) / (8 * 8), 1), "x"),
    ]
    # quality with one metric: the classifier's confident share and class coverage
    sd_images = sample_digits(pipe, list(range(10)), SEEDS, guidance_scale=RECOMMENDED_S)
    sd_q = quality_report(to_classifier_pixels(sd_images))
    px = ddim_sample(ddpm, schedule, (80, 1, 8, 8), num_inference_steps=25, generator=torch.Generator().manual_seed(0),
                     progress=False)
    px_q = quality_report(px)
    rows += [
        row("quality_confident_share_latent_sd", round(sd_q.confident_share, 4), "share"),
        row("quality_class_entropy_latent_sd", round(sd_q.class_entropy, 4), "0..1"),
        row("quality_confident_share_pixel_ddpm_8x8", round(px_q.confident_share, 4), "share"),
        row("quality_class_entropy_pixel_ddpm_8x8", round(px_q.class_entropy, 4), "0..1"),
    ]
    # disk
    from medai_lessons.stable_diffusion import tokenizer as tok_module

    vocab = tok_module.__file__.replace("tokenizer.py", "data/clip-bpe/bpe_simple_vocab_16e6.txt.gz")
    size = _dir_bytes(path)
    rows += [
        row("pipeline_megabytes_on_disk", round(size / 1e6, 2), "MB", "<= 16", size <= 16e6),
        row("clip_vocabulary_megabytes", round(__import__("os").path.getsize(vocab) / 1e6, 2), "MB", "<= 2", True),
    ]
    write(
        "minisd",
        "Miniature text-to-image Stable Diffusion on the digits",
        machine(f"torch {torch.__version__}", f"trained on {info.get('threads', 1)} threads of an idle machine",
                "measured on 1 thread"),
        rows,
    )


if __name__ == "__main__":
    main()
