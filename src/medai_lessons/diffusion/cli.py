"""The ``medai-lessons ddpm`` command group: ``train`` and ``sample``.

``medai-lessons ddpm train --steps 2000 --seed 0 --out runs/digits`` trains the U-Net on
scikit-learn's digits and writes the checkpoints, the loss history and a PNG grid of
DDIM samples; ``medai-lessons ddpm sample --checkpoint FILE`` draws new images from a
checkpoint (the packaged one with ``--checkpoint pretrained``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from medai_lessons._checks import check_int, check_real

__all__ = ["add_parser", "save_grid"]


def save_grid(images: torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    """Tile ``(n, 1, h, w)`` images in $[-1, 1]$ into one grey-scale PNG; return the path."""
    import math

    from matplotlib import image as mpimg

    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 1:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"`images` must be shaped (n, 1, height, width), got {shape}.")
    n, _, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    pad = 1
    grid = torch.ones(ncol * (h + pad) + pad, nrow * (w + pad) + pad)
    x = ((images.detach().cpu().float().clamp(-1, 1) + 1) / 2)[:, 0]
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = x[i]
    scale = max(1, 160 // max(h, w))  # upscale tiny digits so the PNG is viewable
    big = grid.repeat_interleave(scale, 0).repeat_interleave(scale, 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mpimg.imsave(path, big.numpy(), cmap="gray", vmin=0.0, vmax=1.0)
    return path


def _train(args: argparse.Namespace) -> int:
    from medai_lessons.diffusion.data import load_digits_images
    from medai_lessons.diffusion.samplers import ddim_sample
    from medai_lessons.diffusion.train import TrainConfig, train_ddpm

    channels = tuple(int(c) for c in args.channels.split(","))
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        ema_decay=args.ema_decay,
        channels=channels,
        time_dim=args.time_dim,
        schedule=args.schedule,
        warmup_steps=min(args.warmup_steps, args.steps),
        num_train_steps=args.num_train_steps,
    )
    out = Path(args.out)
    result = train_ddpm(load_digits_images(), config, out_dir=out, progress=not args.no_progress, cpu=args.cpu)
    if not result.paths:  # a non-main process under `accelerate launch`: nothing to write
        return 0
    gen = torch.Generator().manual_seed(args.seed)
    samples = ddim_sample(
        result.ema_model,
        result.schedule,
        (64, 1, 8, 8),
        num_steps=min(50, result.schedule.num_steps),
        generator=gen,
        progress=False,
    )
    grid = save_grid(samples, out / "samples-ddim.png", nrow=8)
    print(
        f"trained {args.steps} steps in {result.seconds:.1f} s; "
        f"mean loss of the last 100 steps {sum(result.losses[-100:]) / len(result.losses[-100:]):.4f}"
    )
    for key, path in {**result.paths, "grid": grid}.items():
        print(f"wrote {key}: {path}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from medai_lessons.diffusion.checkpoint import load_checkpoint, load_pretrained_digits
    from medai_lessons.diffusion.samplers import ddim_sample, ddpm_sample

    num_images = check_int("num_images", args.num_images, minimum=1)
    if args.sampler not in ("ddpm", "ddim"):  # argparse already restricts this; keep it explicit
        raise ValueError(f"`sampler` must be 'ddpm' or 'ddim', got {args.sampler!r}.")
    if args.checkpoint == "pretrained":
        model, schedule = load_pretrained_digits()
    else:
        model, schedule, _ = load_checkpoint(args.checkpoint)
    channels = model.config["in_channels"]
    size = 8  # the digits the checkpoints here are trained on
    gen = torch.Generator().manual_seed(check_int("seed", args.seed, minimum=0))
    shape = (num_images, channels, size, size)
    if args.sampler == "ddpm":
        samples = ddpm_sample(model, schedule, shape, generator=gen, progress=not args.no_progress)
        label = f"ddpm{schedule.num_steps}"
    else:
        steps = check_int("num_steps", args.num_steps, minimum=1)
        eta = check_real("eta", args.eta, non_negative=True)
        samples = ddim_sample(
            model,
            schedule,
            shape,
            num_steps=steps,
            eta=eta,
            generator=gen,
            progress=not args.no_progress,
        )
        label = f"ddim{steps}"
    out = Path(args.out)
    grid = save_grid(samples, out / f"samples-{label}.png")
    tensors = out / f"samples-{label}.safetensors"
    save_file(
        {"samples": samples.contiguous()},
        str(tensors),
        metadata={"sampler": label, "seed": str(args.seed), "checkpoint": str(args.checkpoint)},
    )
    print(f"wrote grid: {grid}")
    print(f"wrote samples: {tensors}")
    if channels == 1:
        from medai_lessons.diffusion.quality import quality_report

        print("quality:", json.dumps(quality_report(samples).as_dict()))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``ddpm train`` and ``ddpm sample`` on the hub's sub-parsers."""
    parser = subparsers.add_parser("ddpm", help="train and sample the lesson-2 DDPM on digits")
    sub = parser.add_subparsers(dest="ddpm_command", metavar="{train,sample}")
    sub.required = True

    tr = sub.add_parser("train", help="train the U-Net on scikit-learn's digits")
    tr.add_argument("--steps", type=int, default=2000, help="optimizer steps (default 2000)")
    tr.add_argument("--batch-size", type=int, default=128)
    tr.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    tr.add_argument("--warmup-steps", type=int, default=100)
    tr.add_argument("--ema-decay", type=float, default=0.995)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--channels", default="32,32", help="U-Net widths per level, e.g. 32,32")
    tr.add_argument("--time-dim", type=int, default=32)
    tr.add_argument("--schedule", choices=["linear", "cosine"], default="linear")
    tr.add_argument(
        "--num-train-steps",
        type=int,
        default=1000,
        help="T, the number of diffusion steps (default 1000)",
    )
    tr.add_argument("--cpu", action="store_true", help="stay on the CPU even with a GPU")
    tr.add_argument("--out", default="runs/ddpm-digits", help="output folder")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tr.set_defaults(func=_train)

    sa = sub.add_parser("sample", help="draw images from a checkpoint")
    sa.add_argument("--checkpoint", required=True, help="a .safetensors file from `ddpm train`, or 'pretrained'")
    sa.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddim")
    sa.add_argument("--num-steps", type=int, default=50, help="DDIM steps (default 50)")
    sa.add_argument("--eta", type=float, default=0.0, help="DDIM eta (0 = deterministic)")
    sa.add_argument("--num-images", type=int, default=64)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", default="runs/ddpm-samples", help="output folder")
    sa.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sa.set_defaults(func=_sample)
    return parser
