"""``medai-lessons ssl ...``: remake lesson 4's miniature CLIP.

::

    medai-lessons ssl train-clip --out digit-clip/
    medai-lessons ssl train-clip --out chest-clip/ --data medmnist:pneumoniamnist

The run fills ``<out>.partial`` (owned by this run: :func:`medai_lessons.cli.claimed_stage`) and
renames it to ``--out`` only when the model, its processor and ``training.json`` are written.
Every ``--checkpoint-every`` steps a complete ``CLIPModel`` folder is written to
``<out>.partial/checkpoints/step-NNNNNNN/``; Ctrl-C keeps the last one and names it.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from pathlib import Path

from medai_lessons.cli import (
    CommandError,
    add_command,
    add_flag,
    check_output_dir,
    claimed_stage,
    empty_folder,
    publish_dir,
)

__all__ = ["add_parser", "run_train_clip"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``ssl`` group (``train-clip``) on the hub's subparsers."""
    from .train_clip import ClipTrainingConfig

    default = ClipTrainingConfig()
    parser = subparsers.add_parser(
        "ssl",
        help="self-supervised learning: train the miniature CLIP (offline for the digits)",
        description="Lesson 4: contrastive learning on images and captions.",
    )
    sub = parser.add_subparsers(dest="ssl_command", metavar="{train-clip}")
    sub.required = True
    train = add_command(sub, "train-clip", run_train_clip, flag_aliases={"steps": "--train-steps"},
                        help="train the miniature CLIP on the digits (or MedMNIST) into --out")
    train.add_argument("--out", required=True, type=Path, help="new folder for the CLIPModel and CLIPProcessor")
    train.add_argument("--data", default="digits",
                       help="digits (offline, the i %% 5 != 0 images; default) or medmnist:pneumoniamnist")
    train.add_argument("--data-root", type=Path, default=None,
                       help="MedMNIST's download folder (default ~/.medmnist; a <set>.npz there is reused)")
    # --train-steps as in `ddpm train` (`sd generate`'s steps are the sampler's S); --steps is the old name
    add_flag(train, "--train-steps", "--steps", type=int, default=default.steps,
             help=f"optimiser updates ({default.steps})")
    train.add_argument("--batch-size", type=int, default=default.batch_size,
                       help=f"image-caption pairs per step ({default.batch_size})")
    train.add_argument("--seed", type=int, default=default.seed, help="seed of everything random (0)")
    train.add_argument("--cpu-threads", type=int, default=default.cpu_threads,
                       help=f"torch threads ({default.cpu_threads}; the same count re-runs bit for bit)")
    train.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (250; 0: none)")
    train.add_argument("--fp16", action="store_true", help="store the weights in float16 (they load as float32)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def run_train_clip(args: argparse.Namespace) -> int:
    """Check everything, train, and publish the model folder in one rename."""
    from medai_lessons._checks import check_int

    from .data import load_captioned
    from .train_clip import ClipTrainingConfig, ClipTrainingInterrupted, save_clip, train_clip

    # 1. Every flag and the output place, before any data is read
    config = ClipTrainingConfig(steps=args.train_steps, batch_size=args.batch_size, seed=args.seed,
                                cpu_threads=args.cpu_threads)
    every = check_int("checkpoint_every", args.checkpoint_every, minimum=0)
    out = Path(args.out)
    stage = out.with_name(out.name + ".partial")
    check_output_dir("--out", out)
    check_output_dir("--out", stage, overwrite=True)
    with contextlib.ExitStack() as claim:
        if claim.enter_context(claimed_stage("--out", out, stage)):
            if any((stage / "checkpoints").glob("step-*")):
                raise CommandError(f"`--out` {out}: {stage} holds the checkpoints of an interrupted run; "
                                   "move them away or remove the folder.")
            print(f"medai-lessons ssl train-clip: {stage} holds an interrupted start with nothing to keep; "
                  "starting afresh", file=sys.stderr)
            empty_folder(stage)
        # 2. Train; checkpoints go to <out>.partial/checkpoints
        try:
            data = load_captioned(args.data, root=args.data_root)
            result = train_clip(data, config, progress=not args.no_progress,
                                checkpoint_dir=stage / "checkpoints", checkpoint_every=every)
        except ClipTrainingInterrupted as exc:
            if exc.checkpoint is None:
                shutil.rmtree(stage, ignore_errors=True)
                raise KeyboardInterrupt(f"interrupted at step {exc.step}, before the first checkpoint; "
                                        f"nothing was written to {out}") from None
            raise KeyboardInterrupt(f"interrupted at step {exc.step}; the last complete checkpoint is "
                                    f"{exc.checkpoint} (a CLIPModel folder)") from None
        except BaseException:
            if not any((stage / "checkpoints").glob("step-*")):
                shutil.rmtree(stage, ignore_errors=True)
            raise
        # 3. The model beside the checkpoints' folder, which is then removed; one rename publishes it
        try:
            summary = {"config": _config_dict(config), "data": data.name, "images": len(data),
                       "seconds": round(result.seconds, 2), "cpu_seconds": round(result.cpu_seconds, 2),
                       "history": result.history}
            save_clip(result.model, result.processor, stage, summary, fp16=args.fp16)
            shutil.rmtree(stage / "checkpoints", ignore_errors=True)
            publish_dir(stage, out)
        except KeyboardInterrupt:
            if stage.exists():
                raise KeyboardInterrupt(f"interrupted while writing; the finished run is in {stage}") from None
            raise KeyboardInterrupt(f"interrupted after the run was complete; it is kept in {out}") from None
    print(f"wrote {out} ({config.steps} steps in {result.seconds:.0f} s; final loss {result.history[-1]['loss']:.3f})")
    return 0


def _config_dict(config: object) -> dict:
    from dataclasses import asdict

    return asdict(config)  # type: ignore[call-overload]
