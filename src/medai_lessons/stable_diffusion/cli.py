"""``medai-lessons sd ...``: generate an image from a local checkpoint, or save the tiny one.

::

    medai-lessons sd make-tiny tiny-sd/
    medai-lessons sd generate --model tiny-sd/ --prompt "a chest x-ray" --steps 30 \\
        --guidance 7.5 --seed 0 --height 64 --width 64 --out image.png

Both read and write local files only; ``generate`` never contacts a model hub.
The checks are the library's own, run before the model is loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._validate import check_guidance, check_prompt, check_seed, check_size, check_steps

__all__ = ["add_parser", "run_generate", "run_make_tiny"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``sd`` group (``generate``, ``make-tiny``) on the hub's subparsers."""
    parser = subparsers.add_parser(
        "sd",
        help="Stable Diffusion: generate from a local checkpoint (offline)",
        description="Stable Diffusion from local files only; nothing is downloaded.",
    )
    sub = parser.add_subparsers(dest="sd_command", metavar="{generate,make-tiny,train-digits}")
    sub.required = True

    gen = sub.add_parser("generate", help="text -> image with a local checkpoint")
    gen.add_argument("--model", required=True, type=Path, help="local diffusers SD directory")
    gen.add_argument("--prompt", required=True, help="what to draw")
    gen.add_argument("--negative-prompt", default=None, help="what to steer away from")
    gen.add_argument("--steps", type=int, default=30, help="denoising steps (default 30)")
    gen.add_argument("--guidance", type=float, default=7.5, help="classifier-free guidance scale s (7.5)")
    gen.add_argument("--seed", type=int, default=0, help="seed of the starting noise (0)")
    gen.add_argument("--height", type=int, default=512, help="multiple of 8 (default 512)")
    gen.add_argument("--width", type=int, default=512, help="multiple of 8 (default 512)")
    gen.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (auto)")
    gen.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16 (auto)")
    gen.add_argument("--out", type=Path, default=Path("image.png"), help="output PNG path")
    gen.set_defaults(func=run_generate)

    tiny = sub.add_parser("make-tiny", help="save the tiny random-weight pipeline to DIR")
    tiny.add_argument("dir", type=Path, help="directory to write")
    tiny.add_argument("--seed", type=int, default=0, help="seed of the random weights (0)")
    tiny.set_defaults(func=run_make_tiny)
    add_train_digits_parser(sub)
    return parser


def run_generate(args: argparse.Namespace) -> int:
    """Check the arguments, load the checkpoint offline, generate, save a PNG."""
    check_prompt("prompt", args.prompt)
    check_prompt("negative_prompt", args.negative_prompt, allow_none=True)
    check_steps(args.steps, "steps")
    check_guidance(args.guidance, "guidance")
    check_seed(args.seed)
    check_size("height", args.height)
    check_size("width", args.width)
    if args.out.suffix.lower() != ".png":
        raise ValueError(f"`out` must end in .png, got {str(args.out)!r}.")

    from .loading import load_pipeline
    from .pipeline import generate

    pipeline = load_pipeline(args.model, device=args.device, dtype=args.dtype)
    (image,) = generate(
        pipeline,
        args.prompt,
        negative_prompt=args.negative_prompt,
        steps=args.steps,
        guidance_scale=args.guidance,
        seed=args.seed,
        height=args.height,
        width=args.width,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out)
    print(f"wrote {args.out} ({image.width}x{image.height}, seed {args.seed})")
    return 0


def run_make_tiny(args: argparse.Namespace) -> int:
    """Save the tiny pipeline, ready for ``sd generate --model DIR``."""
    from .architecture import save_tiny_pipeline

    target = save_tiny_pipeline(args.dir, seed=check_seed(args.seed))
    print(f"wrote the tiny pipeline to {target}")
    return 0


def add_train_digits_parser(sub: argparse._SubParsersAction) -> None:
    """``sd train-digits``: train the miniature text-to-image SD (see :mod:`.train_digits`)."""
    from .train_digits import DigitSDConfig

    default = DigitSDConfig()
    train = sub.add_parser("train-digits", help="train the miniature SD on the digits (or MedMNIST) into DIR")
    train.add_argument("--out", required=True, type=Path, help="new directory for the diffusers pipeline")
    train.add_argument("--data", default="digits", help="digits (offline, default) or medmnist:pneumoniamnist")
    train.add_argument("--vae-steps", type=int, default=default.vae_steps, help="autoencoder updates")
    train.add_argument("--unet-steps", type=int, default=default.unet_steps, help="U-Net + text encoder updates")
    train.add_argument("--seed", type=int, default=default.seed, help="seed of everything random (0)")
    train.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="cpu (default) or cuda")
    train.set_defaults(func=run_train_digits)


def run_train_digits(args: argparse.Namespace) -> int:
    """Check the arguments, train, and save the pipeline atomically to ``--out``."""
    from .digits import load_dataset
    from .train_digits import DigitSDConfig, check_out, train_digit_pipeline

    check_out(args.out)  # before any download or training
    config = DigitSDConfig(data=args.data, vae_steps=args.vae_steps, unet_steps=args.unet_steps, seed=args.seed)
    data = load_dataset(args.data)
    summary = train_digit_pipeline(args.out, config, device=args.device, data=data)
    seconds = summary["vae_seconds"] + summary["unet_seconds"]
    print(f"wrote {args.out} ({config.vae_steps} + {config.unet_steps} steps in {seconds:.0f} s)")
    return 0
