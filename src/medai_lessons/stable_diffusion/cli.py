"""``medai-lessons sd ...``: generate an image from a local checkpoint, or save the tiny one.

::

    medai-lessons sd make-tiny tiny-sd/
    medai-lessons sd generate --model tiny-sd/ --prompt "a chest x-ray" --num-inference-steps 30 \\
        --guidance-scale 7.5 --seed 0 --height 64 --width 64 --out image.png

Both read and write local files only; ``generate`` never contacts a model hub.
The checks are the library's own, run before the model is loaded, and so is the check
of the output path. ``--steps`` and ``--guidance`` are the old names of
``--num-inference-steps`` and ``--guidance-scale``.

A new sub-command registers itself with :func:`medai_lessons.cli.add_command` inside
:func:`add_parser`, so that its failures are reported like the others'.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medai_lessons.cli import (
    CommandError,
    add_command,
    add_flag,
    check_output_dir,
    check_output_file,
    publish_dir,
    seed_type,
    staging_dir,
)

from .. import limits
from ._validate import check_guidance, check_num_inference_steps, check_prompt, check_size

__all__ = ["add_parser", "run_generate", "run_make_tiny"]

#: largest image side ``sd generate`` accepts (SD 1.x was trained at 512, SD 2.x at 768)
MAX_SIDE = limits.MAX_GENERATE_SIDE
#: devices a pipeline can run on
DEVICE_TYPES = ("cpu", "cuda", "mps")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``sd`` group (``generate``, ``make-tiny``) on the hub's subparsers."""
    parser = subparsers.add_parser(
        "sd",
        help="Stable Diffusion: generate from a local checkpoint (offline)",
        description="Stable Diffusion from local files only; nothing is downloaded.",
    )
    sub = parser.add_subparsers(dest="sd_command", metavar="{generate,make-tiny,train-digits}")
    sub.required = True

    gen = add_command(sub, "generate", run_generate, help="text -> image with a local checkpoint",
                      flag_aliases={"model_dir": "--model", "steps": "--num-inference-steps",
                                    "guidance": "--guidance-scale"})
    gen.add_argument("--model", required=True, type=Path, help="local diffusers SD directory")
    gen.add_argument("--prompt", required=True, help="what to draw")
    gen.add_argument("--negative-prompt", default=None, help="what to steer away from")
    add_flag(gen, "--num-inference-steps", "--steps", type=int, default=30,
         help="denoising steps S (default 30; --steps is the old name)")
    add_flag(gen, "--guidance-scale", "--guidance", type=float, default=7.5,
         help="classifier-free guidance scale s (7.5; --guidance is the old name)")
    gen.add_argument("--seed", type=seed_type, default=0, help="seed of the starting noise (0)")
    gen.add_argument("--height", type=int, default=512, help="multiple of 8 (default 512)")
    gen.add_argument("--width", type=int, default=512, help="multiple of 8 (default 512)")
    gen.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (auto)")
    gen.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16 (auto)")
    gen.add_argument("--out", type=Path, default=Path("image.png"), help="output PNG path")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    tiny = add_command(sub, "make-tiny", run_make_tiny, help="save the tiny random-weight pipeline to DIR",
                       flag_aliases={"model_dir": "DIR"})
    tiny.add_argument("dir", type=Path, metavar="DIR", help="directory to write (new or empty)")
    tiny.add_argument("--seed", type=seed_type, default=0, help="seed of the random weights (0)")
    tiny.add_argument("--overwrite", action="store_true", help="replace what DIR already holds")
    add_train_digits_parser(sub)
    return parser


def _scheduler_horizon(model_dir: Path) -> int | None:
    """``num_train_timesteps`` from the checkpoint's scheduler config, read without loading anything."""
    from .loading import _read_config

    config = model_dir / "scheduler" / "scheduler_config.json"
    if not config.is_file():
        return None
    value = _read_config(config).get("num_train_timesteps")  # a broken file: a ValueError naming `model_dir`
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def run_generate(args: argparse.Namespace) -> int:
    """Check the arguments and the output path, load the checkpoint offline, generate, save a PNG."""
    # 1. Every flag, the checkpoint folder and the output place, before anything is loaded
    plan = _check_generate_inputs(args)

    # 2. Load (local files only) and generate
    pipeline = _load_local_pipeline(plan)
    array = _generate_array(pipeline, plan, args)

    # 3. Write atomically: a temporary file beside --out, then a rename
    import numpy as np
    from PIL import Image

    from medai_lessons._files import write_atomically

    image = Image.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype("uint8"))
    with write_atomically(plan.out) as tmp:
        image.save(tmp, format="PNG")
    print(f"wrote {plan.out} ({image.width}x{image.height}, seed {args.seed})")
    return 0


@dataclass(frozen=True)
class _GeneratePlan:
    """What ``sd generate`` will do, once every flag has been checked."""

    num_inference_steps: int
    guidance_scale: float
    out: Path
    device: Any
    dtype: Any
    model_dir: Path


def _check_generate_inputs(args: argparse.Namespace) -> _GeneratePlan:
    """``sd generate``'s ``check_inputs``: the flags, the output file, the device and the checkpoint folder."""
    from .loading import check_model_dir, resolve_device_dtype

    check_prompt("prompt", args.prompt)
    check_prompt("negative_prompt", args.negative_prompt, allow_none=True)
    steps = check_num_inference_steps(args.num_inference_steps, "num_inference_steps")
    guidance = check_guidance(args.guidance_scale, "guidance_scale")
    for name in ("height", "width"):
        side = check_size(name, getattr(args, name))
        if side > MAX_SIDE:
            raise CommandError(f"`--{name}` must be <= {MAX_SIDE}, got {side}.")
    out = check_output_file("--out", args.out, overwrite=args.overwrite, suffix=".png")
    device, dtype = resolve_device_dtype(args.device, args.dtype)
    if device.type not in DEVICE_TYPES:
        raise CommandError(f"`--device` must be auto, cpu, cuda, cuda:N or mps, got {args.device!r}.")
    model_dir = check_model_dir(args.model)
    horizon = _scheduler_horizon(model_dir)
    if horizon is not None and steps > horizon:
        raise CommandError(
            f"`--num-inference-steps` must be <= {horizon} (the scheduler's num_train_timesteps), got {steps}."
        )
    return _GeneratePlan(steps, guidance, out, device, dtype, model_dir)


def _load_local_pipeline(plan: _GeneratePlan) -> Any:
    """The pipeline in ``--model``, from local files only; any failure becomes one CLI line."""
    from .loading import load_pipeline

    try:
        return load_pipeline(plan.model_dir, device=plan.device, dtype=plan.dtype)
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc)) from exc
    except Exception as exc:  # diffusers/safetensors report a broken file as OSError, RuntimeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"`--model` {plan.model_dir}: the checkpoint cannot be loaded ({first}).") from exc


def _generate_array(pipeline: Any, plan: _GeneratePlan, args: argparse.Namespace) -> Any:
    """One image as a float array in [0, 1] from ``--seed``; a non-finite image is refused before writing."""
    import numpy as np

    from .pipeline import generate

    try:
        (array,) = generate(
            pipeline,
            args.prompt,
            negative_prompt=args.negative_prompt,
            guidance_scale=plan.guidance_scale,
            seed=args.seed,
            height=args.height,
            width=args.width,
            output_type="np",
            num_inference_steps=plan.num_inference_steps,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted while generating; nothing was written to {plan.out}") from None
    if not np.isfinite(array).all():
        raise CommandError(
            f"the image contains NaN or infinity, so {plan.out} was not written; "
            f"try a smaller `--guidance-scale` (got {plan.guidance_scale:g}) or --dtype float32."
        )
    return array


def run_make_tiny(args: argparse.Namespace) -> int:
    """Save the tiny pipeline, ready for ``sd generate --model DIR``; the folder appears complete or not at all."""
    from .architecture import save_tiny_pipeline

    target = check_output_dir("DIR", args.dir, overwrite=args.overwrite)
    with staging_dir(target) as stage:
        save_tiny_pipeline(stage, seed=args.seed)
        publish_dir(stage, target)
    print(f"wrote the tiny pipeline to {target}")
    return 0


def add_train_digits_parser(sub: argparse._SubParsersAction) -> None:
    """``sd train-digits``: train the miniature text-to-image SD (see :mod:`.train_digits`)."""
    from .train_digits import DigitSDConfig

    default = DigitSDConfig()
    train = add_command(sub, "train-digits", run_train_digits,
                        help="train the miniature SD on the digits (or MedMNIST) into --out")
    train.add_argument("--out", required=True, type=Path, help="new directory for the diffusers pipeline")
    train.add_argument("--data", default="digits", help="digits (offline, default) or medmnist:pneumoniamnist")
    train.add_argument("--data-root", type=Path, default=None,
                       help="MedMNIST's download folder (default ~/.medmnist; a <flag>.npz there is reused)")
    train.add_argument("--vae-steps", type=int, default=default.vae_steps, help="autoencoder updates")
    train.add_argument("--unet-steps", type=int, default=default.unet_steps, help="U-Net + text encoder updates")
    train.add_argument("--seed", type=int, default=default.seed, help="seed of everything random (0)")
    train.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="cpu (default) or cuda")
    train.add_argument("--cpu-threads", type=int, default=default.cpu_threads,
                       help=f"torch threads on the CPU ({default.cpu_threads}; the same count re-runs bit for bit)")


def run_train_digits(args: argparse.Namespace) -> int:
    """Check the arguments, train, and save the pipeline atomically to ``--out``."""
    from .captioned_images import load_captioned_images
    from .train_digits import DigitSDConfig, check_out, train_digit_pipeline

    check_out(args.out)  # before any download or training
    config = DigitSDConfig(data=args.data, vae_steps=args.vae_steps, unet_steps=args.unet_steps, seed=args.seed,
                           cpu_threads=args.cpu_threads)
    try:
        data = load_captioned_images(args.data, root=args.data_root)
        summary = train_digit_pipeline(args.out, config, device=args.device, data=data)
        seconds = summary["vae_seconds"] + summary["unet_seconds"]
        print(f"wrote {args.out} ({config.vae_steps} + {config.unet_steps} steps in {seconds:.0f} s)")
    except KeyboardInterrupt:  # the model is written under a temporary name and renamed at the very end
        if (Path(args.out) / "model_index.json").is_file():  # too late to stop: the model is complete
            raise KeyboardInterrupt(f"interrupted after the model was complete; it is kept in {args.out}") from None
        message = f"interrupted before the model was complete; nothing was written to {args.out}"
        raise KeyboardInterrupt(message) from None
    return 0
