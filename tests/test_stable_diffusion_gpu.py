"""GPU tests of medai_lessons.stable_diffusion: full-size SD 1.x, and real weights if present.

Run with ``pytest -m gpu tests/test_stable_diffusion_gpu.py -s``. The full-size test
writes its measurements to ``benchmarks/results/sd-gpu.json`` (format of the
benchmark files); real weights are used only when ``MEDAI_SD_MODEL`` names a local
diffusers directory.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from benchmarks.results_file import machine, merge, row  # noqa: E402
from medai_lessons.stable_diffusion import (  # noqa: E402
    build_sd15_architecture,
    compare_pixel_latent,
    generate,
    generate_stepwise,
    load_pipeline,
)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

GiB = 1024**3
TITLE = "Stable Diffusion 1.x on a GPU (random weights unless noted)"


def _write(rows):
    """Add ``rows`` to benchmarks/results/sd-gpu.json (one file for all SD GPU measurements)."""
    merge("sd-gpu", TITLE, machine(torch.cuda.get_device_name(0), f"torch {torch.__version__}"), rows)


def test_sd15_architecture_generates_512px_in_30_fp16_steps():
    """Full-size SD 1.x (random weights) makes a 512x512 image in 30 fp16 steps; time, memory saved."""
    pipeline = build_sd15_architecture(device="cuda", dtype=torch.float16)
    generate(pipeline, "warm up", num_inference_steps=2, progress=False)  # cuDNN autotuning, allocations
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    (image,) = generate(pipeline, "a chest x-ray", num_inference_steps=30, guidance_scale=7.5, seed=0)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / GiB
    assert image.size == (512, 512)
    # stepwise on the GPU agrees with diffusers (fp16, so a loose tolerance)
    a = generate(pipeline, "a chest x-ray", num_inference_steps=4, output_type="np", progress=False)
    b = generate_stepwise(pipeline, "a chest x-ray", num_inference_steps=4, output_type="np", progress=False)
    diff = float(np.abs(a - b).max())
    assert diff < 1e-2
    print(f"\nSD 1.x 512x512, 30 steps fp16: {seconds:.2f} s, peak {peak:.2f} GiB, stepwise diff {diff:.2e}")
    _write(
        [
            row("sd15_512px_30steps_fp16_seconds", round(seconds, 3), "s", "< 10 s on a datacentre GPU", seconds < 10),
            row("sd15_512px_30steps_fp16_peak_memory", round(peak, 3), "GiB", "< 8 GiB", peak < 8),
            row("sd15_stepwise_vs_pipeline_max_abs_diff_fp16", diff, "pixel value in [0,1]", "< 1e-2", diff < 1e-2),
        ]
    )


def test_pixel_vs_latent_step_at_sd_width_on_cuda():
    """At SD's own widths (320..1280), one conv U-Net step on 3x512x512 costs far more than on 4x64x64."""
    cost = compare_pixel_latent(
        512,
        block_out_channels=(320, 640, 1280, 1280),
        repeats=5,
        device="cuda",
        dtype=torch.float16,
    )
    assert cost.value_ratio == 48.0
    assert cost.time_ratio > 10
    assert cost.memory_ratio > 40
    peak_ratio = cost.pixel.peak_bytes / cost.latent.peak_bytes
    print(
        f"\npixel step {cost.pixel.seconds * 1e3:.1f} ms, latent step {cost.latent.seconds * 1e3:.2f} ms, "
        f"time ratio {cost.time_ratio:.1f}, activation ratio {cost.memory_ratio:.1f}, peak ratio {peak_ratio:.1f}"
    )
    _write(
        [
            row("gpu_unet_step_pixel_512_sdwidth_ms", round(cost.pixel.seconds * 1e3, 3), "ms"),
            row("gpu_unet_step_latent_64_sdwidth_ms", round(cost.latent.seconds * 1e3, 3), "ms"),
            row(
                "gpu_unet_step_time_ratio_pixel_over_latent",
                round(cost.time_ratio, 2),
                "x",
                "> 10",
                cost.time_ratio > 10,
            ),
            row("gpu_unet_step_activation_ratio", round(cost.memory_ratio, 2), "x"),
            row("gpu_unet_step_pixel_peak_memory", round(cost.pixel.peak_bytes / GiB, 3), "GiB"),
            row("gpu_unet_step_latent_peak_memory", round(cost.latent.peak_bytes / GiB, 3), "GiB"),
            row("gpu_unet_step_peak_memory_ratio", round(peak_ratio, 2), "x"),
        ]
    )


def test_real_weights_from_a_local_directory():
    """With MEDAI_SD_MODEL set, real local weights load offline and stepwise matches the pipeline."""
    model_dir = os.environ.get("MEDAI_SD_MODEL")
    if not model_dir:
        pytest.skip("set MEDAI_SD_MODEL to a local diffusers Stable Diffusion directory to run")
    pipeline = load_pipeline(model_dir)
    a = generate(pipeline, "an axial chest CT slice", num_inference_steps=20, seed=0, output_type="np")
    b = generate_stepwise(pipeline, "an axial chest CT slice", num_inference_steps=20, seed=0, output_type="np")
    assert a.shape == (1, 512, 512, 3)
    assert float(np.abs(a - b).max()) < 1e-2
    assert a.std() > 0.05  # a real model draws something, not a flat image
