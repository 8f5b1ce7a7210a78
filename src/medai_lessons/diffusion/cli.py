"""The ``medai-lessons ddpm`` command group: ``train`` and ``sample``.

``medai-lessons ddpm train --train-steps 2000 --seed 0 --out runs/digits`` trains the
U-Net on scikit-learn's digits and writes the checkpoints, the loss history and a PNG
grid of DDIM samples; ``medai-lessons ddpm sample --checkpoint FILE`` draws new images
from a checkpoint (the packaged one with ``--checkpoint pretrained``).

Runs never mix: ``train`` refuses a non-empty ``--out`` unless ``--overwrite``, works in
``<out>.partial`` and renames it to ``--out`` only when everything is written. Every
``--checkpoint-every`` steps it writes ``<out>.partial/checkpoints/step-NNNNNNN/``; Ctrl-C
keeps the last of those and prints how to ``--resume`` from it (exit status 130).

A run owns its ``<out>.partial`` (an atomic ``mkdir`` and a lock the kernel drops when the process
ends), so a second run into the same ``--out`` is refused while the first is alive. A
``<out>.partial`` that an interrupted start left with no checkpoint holds nothing to lose: the
next run empties it, says so in one line, and starts afresh. A stop that arrives once the run is
published is too late to undo it: the run is kept, and the command exits 130 saying so.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from medai_lessons._checks import check_real
from medai_lessons.cli import (
    CommandError,
    add_command,
    add_flag,
    check_output_dir,
    claimed_stage,
    empty_folder,
    publish_dir,
    publish_files,
    seed_type,
    staging_dir,
)
from medai_lessons.diffusion.grid import save_grid

__all__ = ["add_parser", "save_grid"]

#: most images one ``ddpm sample`` call draws (64 fill the default 8x8 grid)
MAX_IMAGES = 4096
#: the defaults of ``ddpm train`` (those of :class:`TrainConfig`, repeated for --help)
TRAIN_DEFAULTS: dict[str, Any] = {
    "train_steps": 2000,
    "batch_size": 128,
    "learning_rate": 2e-3,
    "warmup_steps": 100,
    "ema_decay": 0.995,
    "seed": 0,
    "channels": "32,32",
    "time_dim": 32,
    "schedule": "linear",
    "num_train_timesteps": 1000,
}


def _parse_channels(text: str) -> tuple[int, ...]:
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise CommandError(f"`--channels` must be comma-separated integers such as 32,32, got {text!r}.") from None
    return channels


# -- ddpm train ----------------------------------------------------------------------------
def _train_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """The :class:`TrainConfig` of this run (from the flags, or from the checkpoint being resumed)."""
    from medai_lessons.diffusion.train import TrainConfig, read_train_state

    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k, None) is not None}
    if "channels" in given:
        given["channels"] = _parse_channels(given["channels"])
    if args.resume is None:
        values = {**TRAIN_DEFAULTS, "channels": _parse_channels(TRAIN_DEFAULTS["channels"]), **given}
        if "warmup_steps" not in given:
            values["warmup_steps"] = min(values["warmup_steps"], values["train_steps"])
        return TrainConfig(**values), None
    meta, _ = read_train_state(args.resume)
    saved = TrainConfig.from_dict(json.loads(meta["train_config"]))
    for key, value in given.items():
        if key != "train_steps" and value != getattr(saved, key):
            flag = "--" + key.replace("_", "-")
            raise CommandError(
                f"`{flag}` {value} differs from the run being resumed ({getattr(saved, key)}); "
                "a resumed run keeps its settings (only --train-steps may change)."
            )
    values = {f: getattr(saved, f) for f in TRAIN_DEFAULTS}
    values["train_steps"] = given.get("train_steps", saved.train_steps)
    return TrainConfig(**values), Path(args.resume)


def _training_images(name: str, root: Path | None) -> torch.Tensor:
    """``(N, 1, H, W)`` images in [-1, 1]: the 8x8 digits, or a MedMNIST set at 32x32 (downloaded once)."""
    from medai_lessons import data

    if name == "digits":
        return data.load_digits_images()
    if not name.startswith("medmnist:"):
        raise CommandError(
            f"`--data` must be 'digits' or 'medmnist:<set>' (e.g. medmnist:pneumoniamnist), got {name!r}."
        )
    flag = name.split(":", 1)[1]
    try:
        if flag not in data.MEDMNIST_CLASSES:
            raise ValueError(f"`data`: unknown MedMNIST set {flag!r}; known: {sorted(data.MEDMNIST_CLASSES)}.")
        x0, _ = data.load_medmnist(flag, root=root)
    except (ValueError, TypeError) as exc:
        raise CommandError(f"`--data` {name}: {exc}") from None
    # 28x28 -> 32x32 (bilinear), the size lesson 3 trains on too
    return torch.nn.functional.interpolate(x0, size=(32, 32), mode="bilinear", align_corners=False).clamp(-1.0, 1.0)


def _discard_empty(stage: Path, main: bool) -> None:
    """Remove a run's staging folder when it holds no checkpoint worth keeping."""
    if main and stage.is_dir() and not any((stage / "checkpoints").glob("step-*")):
        shutil.rmtree(stage, ignore_errors=True)


def _train(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from medai_lessons._checks import check_int

    # 1. Everything is checked before any work: settings, output folder, resume point
    config, resume = _train_config(args)
    every = check_int("checkpoint_every", args.checkpoint_every, minimum=0)
    out = Path(args.out)
    stage = out.with_name(out.name + ".partial")
    check_output_dir("--out", out, overwrite=args.overwrite)
    continuing = resume is not None and stage.absolute() in resume.absolute().parents
    check_output_dir("--out", stage, overwrite=True)
    state = PartialState(cpu=args.cpu)
    with contextlib.ExitStack() as claim:
        if state.is_main_process:  # one run per --out: the others are refused here
            existed = claim.enter_context(claimed_stage("--out", out, stage))
            if existed and not continuing:
                _take_over(stage, out, overwrite=args.overwrite)
        state.wait_for_everyone()
        try:
            data = _training_images(args.data, args.data_root)
        except KeyboardInterrupt:
            _discard_empty(stage, state.is_main_process)
            raise KeyboardInterrupt(f"interrupted before training started; nothing was written to {out}") from None
        return _train_and_publish(args, config, resume, every, out, stage, state, data)


def _take_over(stage: Path, out: Path, *, overwrite: bool) -> None:
    """Empty the ``<out>.partial`` an earlier run left; refuse if it holds a checkpoint to continue."""
    found = sorted((stage / "checkpoints").glob("step-*"))
    if found and not overwrite:
        raise CommandError(
            f"`--out` {out}: {stage} holds an unfinished run (continue it with --resume {found[-1]}), "
            "or pass --overwrite."
        )
    if not found:
        print(f"medai-lessons ddpm train: {stage} holds an interrupted start with nothing to resume; "
              "starting afresh", file=sys.stderr)
    empty_folder(stage)


def _train_and_publish(args: argparse.Namespace, config: Any, resume: Path | None, every: int, out: Path,
                       stage: Path, state: Any, data: torch.Tensor) -> int:
    from medai_lessons.diffusion.samplers import ddim_sample
    from medai_lessons.diffusion.train import TrainingInterrupted, train_ddpm

    # 2. Train; checkpoints go to <out>.partial/checkpoints
    try:
        result = train_ddpm(
            data, config, out_dir=stage, progress=not args.no_progress, cpu=args.cpu,
            checkpoint_every=every, checkpoint_dir=stage / "checkpoints", resume_from=resume,
        )
    except (ValueError, TypeError, OSError):  # e.g. the loss diverged: keep the folder only if it holds a checkpoint
        _discard_empty(stage, state.is_main_process)
        raise
    except TrainingInterrupted as exc:
        if exc.checkpoint is None:
            _discard_empty(stage, state.is_main_process)
        if exc.checkpoint is not None:
            message = (
                f"interrupted at step {exc.step}; the last complete checkpoint is {exc.checkpoint} "
                f"(continue with: medai-lessons ddpm train --resume {exc.checkpoint} --out {out})"
            )
        else:
            message = f"interrupted at step {exc.step}, before the first checkpoint (every {every} steps); nothing kept"
        raise KeyboardInterrupt(message) from None
    except KeyboardInterrupt:  # after the last step, while train_ddpm wrote the final weights into the stage
        found = sorted((stage / "checkpoints").glob("step-*"))
        if not found:
            _discard_empty(stage, state.is_main_process)
            raise KeyboardInterrupt(f"interrupted while writing the trained weights; nothing kept at {out}") from None
        raise KeyboardInterrupt(
            f"interrupted while writing the trained weights; the last complete checkpoint is {found[-1]} "
            f"(continue with: medai-lessons ddpm train --resume {found[-1]} --out {out})"
        ) from None
    if not state.is_main_process:  # another process under `accelerate launch`: the main one writes
        return 0

    # 3. A grid of samples, then the whole folder becomes visible at once. A stop that comes
    #    once the run is published is too late to undo it: the run is kept, and the line says so.
    try:
        gen = torch.Generator().manual_seed(config.seed)
        steps = min(50, len(result.schedule))
        samples = ddim_sample(result.ema_model, result.schedule, (64, *data.shape[1:]), num_inference_steps=steps,
                              generator=gen, progress=False)
        save_grid(samples, stage / "samples-ddim.png", nrow=8)
        publish_dir(stage, out)
        tail = result.losses[-100:]
        print(f"trained {config.train_steps} steps in {result.seconds:.1f} s; "
              f"mean loss of the last {len(tail)} steps {sum(tail) / len(tail):.4f}")
        names = {"ema": "digits-ddpm.safetensors", "raw": "digits-ddpm-raw.safetensors",
                 "history": "digits-ddpm-history.json", "grid": "samples-ddim.png"}
        for key, name in names.items():
            print(f"wrote {key}: {out / name}")
        if "checkpoint" in result.paths:
            print(f"wrote checkpoint: {out / 'checkpoints' / Path(result.paths['checkpoint']).name}")
    except KeyboardInterrupt:
        if stage.exists():
            raise KeyboardInterrupt(f"interrupted while writing; the finished run is in {stage}") from None
        raise KeyboardInterrupt(f"interrupted after the run was complete; it is kept in {out}") from None
    return 0


# -- ddpm sample ---------------------------------------------------------------------------
def _sample(args: argparse.Namespace) -> int:
    """``ddpm sample``: draw images from a checkpoint with DDPM or DDIM, write a grid and the tensors."""
    # 1. Check every flag, the checkpoint's metadata and the output place before any work
    plan = _check_sample_inputs(args)

    # 2. Sample
    samples = _draw_samples(plan, args.seed, progress=not args.no_progress)

    # 3. Both files appear together
    _write_samples(plan, samples, args)
    print(f"wrote grid: {plan.targets[0]}")
    print(f"wrote samples: {plan.targets[1]}")

    # 4. Report the quality of 8x8 digits (the quality classifier reads those only)
    if plan.channels == 1 and plan.sample_size == 8:
        from medai_lessons.diffusion.quality import quality_report

        print("quality:", json.dumps(quality_report(samples).as_dict()))
    return 0


@dataclass(frozen=True)
class _SamplePlan:
    """What ``ddpm sample`` will do, once every flag has been checked."""

    path: Path
    sampler: str
    label: str  # ``ddpm<T>`` or ``ddim<S>``: names the files
    num_images: int
    num_inference_steps: int | None  # S, for DDIM only
    eta: float
    channels: int
    sample_size: int  # 8 for the digits; recorded in the checkpoint by `ddpm train`
    out: Path
    targets: tuple[Path, Path]  # the PNG grid and the safetensors file


def _check_sample_inputs(args: argparse.Namespace) -> _SamplePlan:
    """``ddpm sample``'s ``check_inputs``: the flags, the checkpoint's header and the output folder."""
    from medai_lessons._checks import check_int
    from medai_lessons.diffusion.checkpoint import (
        PRETRAINED_DIGITS,
        _data_file,
        read_checkpoint_header,
        read_sample_size,
    )

    num_images = check_int("num_images", args.num_images, minimum=1)
    if num_images > MAX_IMAGES:
        raise CommandError(f"`--num-images` must be <= {MAX_IMAGES}, got {num_images}.")
    if args.sampler not in ("ddpm", "ddim"):  # argparse already restricts this; keep it explicit
        raise CommandError(f"`--sampler` must be 'ddpm' or 'ddim', got {args.sampler!r}.")
    eta = check_real("eta", args.eta, non_negative=True)
    if eta > 1.0:
        raise CommandError(f"`--eta` must lie in [0, 1] (0 = deterministic DDIM, 1 = DDPM-like), got {eta:g}.")
    path = _data_file(PRETRAINED_DIGITS) if args.checkpoint == "pretrained" else Path(args.checkpoint)
    model_config, schedule, _, _ = read_checkpoint_header(path)
    sample_size = read_sample_size(path)
    T = len(schedule)
    steps = None
    if args.sampler == "ddpm":
        label = f"ddpm{T}"
    else:
        steps = check_int("num_inference_steps", args.num_inference_steps, minimum=1)
        if steps > T:
            raise CommandError(
                f"`--num-inference-steps` must be <= {T} (the checkpoint's num_train_timesteps), got {steps}."
            )
        label = f"ddim{steps}"
    out = check_output_dir("--out", args.out, overwrite=True)
    targets = (out / f"samples-{label}.png", out / f"samples-{label}.safetensors")
    clash = [p for p in targets if p.exists()]
    if clash and not args.overwrite:
        raise CommandError(f"`--out` {out} already holds {clash[0].name}; choose a new folder or pass --overwrite.")
    channels = model_config.get("in_channels", 1)
    return _SamplePlan(path, args.sampler, label, num_images, steps, eta, channels, sample_size, out, targets)


def _draw_samples(plan: _SamplePlan, seed: int, *, progress: bool) -> torch.Tensor:
    """Load the checkpoint and run its sampler from a seeded generator; a non-finite result is refused."""
    from medai_lessons.diffusion.checkpoint import load_checkpoint
    from medai_lessons.diffusion.samplers import ddim_sample, ddpm_sample

    model, schedule, _ = load_checkpoint(plan.path)
    gen = torch.Generator().manual_seed(seed)
    shape = (plan.num_images, plan.channels, plan.sample_size, plan.sample_size)
    try:
        if plan.num_inference_steps is None:
            samples = ddpm_sample(model, schedule, shape, generator=gen, progress=progress)
        else:
            samples = ddim_sample(model, schedule, shape, num_inference_steps=plan.num_inference_steps, eta=plan.eta,
                                  generator=gen, progress=progress)
    except KeyboardInterrupt:
        raise KeyboardInterrupt("interrupted while sampling; nothing was written") from None
    if not torch.isfinite(samples).all():
        raise CommandError(f"`--checkpoint` {plan.path}: the samples contain NaN or infinity; nothing was written.")
    return samples


def _write_samples(plan: _SamplePlan, samples: torch.Tensor, args: argparse.Namespace) -> None:
    """The PNG grid and the safetensors file, staged together and published together."""
    from safetensors.torch import save_file

    with staging_dir(plan.out / f"samples-{plan.label}") as stage:
        save_grid(samples, stage / plan.targets[0].name)
        save_file(
            {"samples": samples.contiguous()},
            str(stage / plan.targets[1].name),
            metadata={"sampler": plan.label, "seed": str(args.seed), "checkpoint": str(args.checkpoint)},
        )
        publish_files(stage, plan.out)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``ddpm train`` and ``ddpm sample`` on the hub's sub-parsers."""
    parser = subparsers.add_parser("ddpm", help="train and sample the lesson-2 DDPM on digits")
    sub = parser.add_subparsers(dest="ddpm_command", metavar="{train,sample}")
    sub.required = True

    d = TRAIN_DEFAULTS
    tr = add_command(sub, "train", _train, help="train the U-Net on scikit-learn's digits",
                     flag_aliases={"path": "--resume", "resume_from": "--resume"})
    add_flag(tr, "--train-steps", "--steps", type=int, default=None,
         help=f"optimizer steps (default {d['train_steps']}; --steps is the old name)")
    tr.add_argument("--batch-size", type=int, default=None, help=f"global batch (default {d['batch_size']})")
    add_flag(tr, "--learning-rate", "--lr", type=_positive_float, default=None,
             help=f"peak AdamW learning rate ({d['learning_rate']}; --lr is the old name)")
    tr.add_argument("--warmup-steps", type=int, default=None, help=f"linear warm-up steps ({d['warmup_steps']})")
    tr.add_argument("--ema-decay", type=_positive_float, default=None, help=f"EMA decay d ({d['ema_decay']})")
    tr.add_argument("--seed", type=seed_type, default=None, help=f"seed of everything random ({d['seed']})")
    tr.add_argument("--channels", default=None, help=f"U-Net widths per level (default {d['channels']})")
    tr.add_argument("--time-dim", type=int, default=None, help=f"step-embedding size ({d['time_dim']})")
    tr.add_argument("--schedule", choices=["linear", "cosine"], default=None, help="noise schedule (linear)")
    add_flag(tr, "--num-train-timesteps", "--num-train-steps", type=int, default=None,
         help=f"T, the number of diffusion steps (default {d['num_train_timesteps']})")
    tr.add_argument("--checkpoint-every", type=int, default=500,
                    help="write a resumable checkpoint every N steps (default 500; 0 = never)")
    tr.add_argument("--resume", default=None, metavar="CHECKPOINT",
                    help="continue from a checkpoint folder (…/checkpoints/step-NNNNNNN)")
    tr.add_argument("--cpu", action="store_true", help="stay on the CPU even with a GPU")
    tr.add_argument("--data", default="digits",
                    help="digits (8x8, offline, default) or medmnist:pneumoniamnist (32x32, downloaded once)")
    tr.add_argument("--data-root", type=Path, default=None,
                    help="MedMNIST's download folder (default ~/.medmnist; a <set>.npz there is reused)")
    tr.add_argument("--out", default="runs/ddpm-digits", help="output folder (must be new or empty)")
    tr.add_argument("--overwrite", action="store_true", help="replace what --out already holds")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    sa = add_command(sub, "sample", _sample, help="draw images from a checkpoint",
                     flag_aliases={"path": "--checkpoint"})
    sa.add_argument("--checkpoint", required=True, help="a .safetensors file from `ddpm train`, or 'pretrained'")
    sa.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddim")
    add_flag(sa, "--num-inference-steps", "--num-steps", type=int, default=50,
         help="DDIM steps S (default 50; --num-steps is the old name)")
    sa.add_argument("--eta", type=float, default=0.0, help="DDIM eta in [0, 1] (0 = deterministic)")
    sa.add_argument("--num-images", type=int, default=64)
    sa.add_argument("--seed", type=seed_type, default=0)
    sa.add_argument("--out", default="runs/ddpm-samples", help="output folder")
    sa.add_argument("--overwrite", action="store_true", help="replace samples of the same name in --out")
    sa.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser
