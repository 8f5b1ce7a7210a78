"""Benchmark of lesson 2 part 2: what latent diffusion saves, and how fast the tiny pipeline runs.

    python benchmarks/bench_sd.py

Writes ``benchmarks/results/sd.json``. Rows:

* one U-Net step of the same convolutional network (widths 32, 64, 128, 128) on a
  3×512×512 image and on its 4×64×64 latent: seconds (fastest of 3), activation bytes
  (sum of every leaf module's output, forward hooks), FLOPs (FlopCounterMode),
  number of input values, ratios;
* the tiny pipeline (random weights, 64×64): seconds for 30 DDIM steps with guidance,
  through diffusers and through the stepwise functions, and their largest difference;
* parameter counts of the full-size SD 1.x architecture (built on the meta device).
"""

from __future__ import annotations

import platform

import numpy as np
import torch
from results_file import machine, row, write
from timing import seconds_per_call

from medai_lessons.stable_diffusion import (
    build_sd15_architecture,
    build_tiny_pipeline,
    compare_pixel_latent,
    generate,
    generate_stepwise,
)

MiB = 1024**2


def main() -> None:
    rows = []
    cost = compare_pixel_latent(512, block_out_channels=(32, 64, 128, 128), repeats=3)
    rows += [
        row("values_pixel_3x512x512", cost.pixel.num_values, "values"),
        row("values_latent_4x64x64", cost.latent.num_values, "values"),
        row("value_ratio_pixel_over_latent", cost.value_ratio, "x", "= 48 (3*8^2/4)", cost.value_ratio == 48),
        row("unet_step_pixel_512_seconds", round(cost.pixel.seconds, 4), "s"),
        row("unet_step_latent_64_seconds", round(cost.latent.seconds, 5), "s"),
        row("unet_step_time_ratio_pixel_over_latent", round(cost.time_ratio, 1), "x", "> 10", cost.time_ratio > 10),
        row("unet_step_gflops_pixel_512", round(cost.pixel.flops / 1e9, 2), "GFLOP"),
        row("unet_step_gflops_latent_64", round(cost.latent.flops / 1e9, 3), "GFLOP"),
        row(
            "unet_step_flop_ratio_pixel_over_latent",
            round(cost.flop_ratio, 2),
            "x",
            "close to f^2 = 64",
            40 < cost.flop_ratio <= 64,
        ),
        row("unet_step_activations_pixel_512", round(cost.pixel.activation_bytes / MiB, 2), "MiB"),
        row("unet_step_activations_latent_64", round(cost.latent.activation_bytes / MiB, 3), "MiB"),
        row(
            "unet_step_activation_ratio_pixel_over_latent",
            round(cost.memory_ratio, 2),
            "x",
            "close to f^2 = 64",
            40 < cost.memory_ratio <= 64,
        ),
    ]

    pipeline = build_tiny_pipeline(seed=0)
    kwargs = {"num_inference_steps": 30, "guidance_scale": 7.5, "seed": 0, "height": 64, "width": 64}
    kwargs |= {"output_type": "np", "progress": False}
    timings = {}
    images = {}
    for name, fn in (("pipeline", generate), ("stepwise", generate_stepwise)):
        images[name] = fn(pipeline, "a chest x-ray", **kwargs)
        timings[name] = seconds_per_call(lambda fn=fn: fn(pipeline, "a chest x-ray", **kwargs), runs=3)
    diff = float(np.abs(images["pipeline"] - images["stepwise"]).max())
    rows += [
        row(
            "tiny_pipeline_64px_30steps_seconds",
            round(timings["pipeline"], 3),
            "s",
            "< 2 s on a laptop CPU",
            timings["pipeline"] < 2,
        ),
        row(
            "tiny_stepwise_64px_30steps_seconds",
            round(timings["stepwise"], 3),
            "s",
            "< 2 s on a laptop CPU",
            timings["stepwise"] < 2,
        ),
        row("tiny_stepwise_vs_pipeline_max_abs_diff", diff, "pixel value in [0,1]", "< 1e-5", diff < 1e-5),
    ]

    parts = build_sd15_architecture(device="meta", parts_only=True)
    for name, module in parts.items():
        rows.append(row(f"sd15_{name}_parameters", sum(p.numel() for p in module.parameters()), "parameters"))

    write(
        "sd",
        "Stable Diffusion: one U-Net step on pixels vs latents, and the tiny pipeline",
        machine(
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)",
            f"Python {platform.python_version()}",
        ),
        rows,
    )


if __name__ == "__main__":
    main()
