"""Benchmark of lesson 2's DDPM against diffusers, and of DDIM against DDPM.

Rows written to benchmarks/results/ddpm.json:

1. training steps per second (batch 128 of 8x8 digits): our ``UNet`` + ``ddpm_loss``
   against diffusers' ``UNet2DModel`` of about the same size + ``DDPMScheduler.add_noise``;
2. wall time of 1000-step ancestral sampling of 16 images: our ``ddpm_sample`` against a
   ``UNet2DModel`` + ``DDPMScheduler.step`` loop (speed only, untrained weights);
3. DDIM-50 against DDPM-1000 on the committed checkpoint (256 images each): speed-up and
   the quality metric of ``medai_lessons.diffusion.quality`` (DDIM-20 reported too).

The diffusers U-Net uses ``block_out_channels=(24, 24)``, ``layers_per_block=1`` and
two plain down/up blocks: 153,433 weights against our 142,401, the closest size its
block layout allows. Both run with the same number of torch threads.

Run: ``python benchmarks/bench_ddpm.py`` (about 4 minutes on an idle 2-core CPU; most of
it is the 1000-step DDPM sampling of 256 images).
"""

from __future__ import annotations

import os
import time

import torch
from results_file import machine, write
from timing import seconds_per_call

from medai_lessons.diffusion import (
    NoiseSchedule,
    UNet,
    ddim_sample,
    ddpm_loss,
    ddpm_sample,
    load_digits_images,
    load_pretrained_digits,
    quality_report,
    real_digits_report,
)


def diffusers_unet():
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    return UNet2DModel(
        sample_size=8,
        in_channels=1,
        out_channels=1,
        block_out_channels=(24, 24),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    )


def reference_scheduler():
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        clip_sample=False,
    )


def train_rate(step_fn, steps: int = 180) -> float:
    """Optimizer steps per second: ``steps`` timed calls of ``step_fn`` (``torch.utils.benchmark.Timer``)."""
    return 1.0 / seconds_per_call(step_fn, runs=steps)


def main() -> None:
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    rows = []
    data = load_digits_images()
    schedule = NoiseSchedule.linear()
    gen = torch.Generator().manual_seed(0)

    # 1. training speed -------------------------------------------------------------
    torch.manual_seed(0)
    ours = UNet()
    theirs = diffusers_unet()
    n_ours = sum(p.numel() for p in ours.parameters())
    n_theirs = sum(p.numel() for p in theirs.parameters())
    ref = reference_scheduler()

    def make_ours():
        opt = torch.optim.AdamW(ours.parameters(), lr=1e-3)

        def step():
            idx = torch.randint(0, len(data), (128,), generator=gen)
            loss = ddpm_loss(ours, schedule, data[idx], generator=gen)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    def make_theirs():
        opt = torch.optim.AdamW(theirs.parameters(), lr=1e-3)

        def step():
            idx = torch.randint(0, len(data), (128,), generator=gen)
            x0 = data[idx]
            noise = torch.randn(x0.shape, generator=gen)
            t = torch.randint(0, 1000, (128,), generator=gen)
            x_t = ref.add_noise(x0, noise, t)
            loss = torch.nn.functional.mse_loss(theirs(x_t, t).sample, noise)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    r_ours, r_theirs = train_rate(make_ours()), train_rate(make_theirs())
    rows += [
        {
            "name": f"train steps/s, ours (UNet, {n_ours:,} params, batch 128)",
            "value": round(r_ours, 2),
            "unit": "steps/s",
            "target": None,
            "met": None,
        },
        {
            "name": f"train steps/s, diffusers (UNet2DModel, {n_theirs:,} params, batch 128)",
            "value": round(r_theirs, 2),
            "unit": "steps/s",
            "target": None,
            "met": None,
        },
        {
            "name": "train speed ratio ours / diffusers",
            "value": round(r_ours / r_theirs, 3),
            "unit": "x",
            "target": ">= 1.0 (as fast or faster)",
            "met": r_ours >= r_theirs,
        },
    ]
    print(rows[-3:])

    # 2. sampling speed, 1000 steps, 16 images --------------------------------------
    ours.eval()
    theirs.eval()
    start = time.perf_counter()
    ddpm_sample(ours, schedule, (16, 1, 8, 8), generator=torch.Generator().manual_seed(0), progress=False)
    s_ours = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        g = torch.Generator().manual_seed(0)
        x = torch.randn((16, 1, 8, 8), generator=g)
        ref.set_timesteps(1000)
        for t in ref.timesteps:
            x = ref.step(theirs(x, t).sample, t, x, generator=g).prev_sample
    s_theirs = time.perf_counter() - start
    rows += [
        {
            "name": "DDPM-1000 sampling of 16 images, ours",
            "value": round(s_ours, 3),
            "unit": "s",
            "target": None,
            "met": None,
        },
        {
            "name": "DDPM-1000 sampling of 16 images, diffusers UNet2DModel + DDPMScheduler",
            "value": round(s_theirs, 3),
            "unit": "s",
            "target": None,
            "met": None,
        },
        {
            "name": "sampling speed ratio diffusers time / ours",
            "value": round(s_theirs / s_ours, 3),
            "unit": "x",
            "target": ">= 1.0 (as fast or faster)",
            "met": s_theirs >= s_ours,
        },
    ]
    print(rows[-3:])

    # 3. DDIM vs DDPM on the committed checkpoint --------------------------------------
    model, schedule = load_pretrained_digits()
    shape = (256, 1, 8, 8)
    timings, reports = {}, {}
    for name, fn in [
        ("DDPM-1000", lambda g: ddpm_sample(model, schedule, shape, generator=g, progress=False)),
        (
            "DDIM-50",
            lambda g: ddim_sample(model, schedule, shape, num_inference_steps=50, generator=g, progress=False),
        ),
        (
            "DDIM-20",
            lambda g: ddim_sample(model, schedule, shape, num_inference_steps=20, generator=g, progress=False),
        ),
    ]:
        start = time.perf_counter()
        x = fn(torch.Generator().manual_seed(0))
        timings[name] = time.perf_counter() - start
        reports[name] = quality_report(x)
    real = real_digits_report()
    for name in timings:
        rep = reports[name]
        rows += [
            {
                "name": f"{name} wall time, 256 images",
                "value": round(timings[name], 3),
                "unit": "s",
                "target": None,
                "met": None,
            },
            {
                "name": f"{name} confident share (max prob >= 0.9)",
                "value": round(rep.confident_share, 4),
                "unit": "fraction",
                "target": None,
                "met": None,
            },
            {
                "name": f"{name} class coverage (normalised entropy)",
                "value": round(rep.class_entropy, 4),
                "unit": "fraction",
                "target": None,
                "met": None,
            },
        ]
    rows += [
        {
            "name": "real held-out digits confident share (ceiling)",
            "value": round(real.confident_share, 4),
            "unit": "fraction",
            "target": None,
            "met": None,
        },
        {
            "name": "real held-out digits class coverage (ceiling)",
            "value": round(real.class_entropy, 4),
            "unit": "fraction",
            "target": None,
            "met": None,
        },
    ]
    speedup = timings["DDPM-1000"] / timings["DDIM-50"]
    q_ddpm, q_ddim = reports["DDPM-1000"].confident_share, reports["DDIM-50"].confident_share
    rel = abs(q_ddim - q_ddpm) / q_ddpm
    rows += [
        {
            "name": "DDIM-50 speed-up over DDPM-1000",
            "value": round(speedup, 2),
            "unit": "x",
            "target": ">= 15",
            "met": speedup >= 15,
        },
        {
            "name": "DDIM-50 confident share relative to DDPM-1000 (|difference| / DDPM)",
            "value": round(rel, 4),
            "unit": "fraction",
            "target": "<= 0.10",
            "met": rel <= 0.10,
        },
    ]
    write(
        "ddpm",
        "Lesson 2 DDPM: our implementation vs diffusers, DDIM vs DDPM",
        machine(f"torch {torch.__version__}, {torch.get_num_threads()} threads"),
        rows,
    )


if __name__ == "__main__":
    main()
