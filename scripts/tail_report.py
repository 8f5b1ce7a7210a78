"""Count the outcomes of issue 21's families: the reliability tail the contract test does not reach.

Families: dtype/device variants of tensor arguments (and the documented one-line load of the
shipped pipeline), checkpoint metadata shapes, resource bounds, tampered Stable Diffusion folders
and interrupt timings. Each case is run in this process and counted as one of: a correct rejection
(``ValueError``/``TypeError`` naming an argument in backticks, a clean CLI line, or the expected
result for a case that must work), a rejection naming nothing, a wrong exception type, a silent
NaN/inf, or bad input accepted.

    python scripts/tail_report.py --out build/tail-report.json

Runs in about two minutes on two cores; nothing touches the network.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from site_tools.env import OFFLINE_ENV  # noqa: E402

os.environ.update(OFFLINE_ENV)
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

OUTCOMES = ("correct", "unnamed", "wrong_type", "silent_nan", "accepted")
NAMED = re.compile(r"`[A-Za-z_-][A-Za-z0-9_.\[\]-]*`")
results: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
failures: list[str] = []


def record(family: str, label: str, outcome: str, detail: str = "") -> None:
    results[family][outcome] += 1
    if outcome != "correct":
        failures.append(f"{family} / {label}: {outcome} {detail[:200]}")


def _finite(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value.float()).all()) if value.numel() else True
    if isinstance(value, np.ndarray):
        return bool(np.isfinite(value).all())
    if isinstance(value, float):
        return np.isfinite(value)
    if isinstance(value, tuple | list):
        return all(_finite(v) for v in value)
    return True


def refuse(family: str, label: str, call: Callable[[], Any], *, or_finite: bool = False) -> None:
    """A case that must be refused by name; with ``or_finite`` a finite result is correct too."""
    try:
        value = call()
    except (ValueError, TypeError) as exc:
        record(family, label, "correct" if NAMED.search(str(exc)) else "unnamed", str(exc))
        return
    except Exception as exc:  # the point is to count them
        record(family, label, "wrong_type", f"{type(exc).__name__}: {exc}")
        return
    if not _finite(value):
        record(family, label, "silent_nan")
    else:
        record(family, label, "correct" if or_finite else "accepted")


# -- dtype/device variants --------------------------------------------------------------------
def dtype_device_variants() -> None:
    from medai_lessons.diffusion import NoiseSchedule, UNet, ddim_sample, ddpm_loss, q_sample
    from medai_lessons.diffusion.quality import quality_report
    from medai_lessons.diffusion.samplers import ddim_step, p_sample_step
    from medai_lessons.diffusion.unet import timestep_embedding

    fam = "dtype/device variants"
    torch.manual_seed(0)
    schedule = NoiseSchedule.linear(20)
    model = UNet(1, (8, 8), 8).eval()
    x = torch.randn(2, 1, 8, 8)

    def variants(base: torch.Tensor) -> dict[str, Callable[[], torch.Tensor]]:
        def inference() -> torch.Tensor:
            with torch.inference_mode():
                return base.clone()

        return {
            "meta": lambda: base.to("meta"),
            "half": lambda: base.half(),
            "bfloat16": lambda: base.bfloat16(),
            "float64": lambda: base.double(),
            "sparse": lambda: base.to_sparse(),
            "nested": lambda: torch.nested.nested_tensor(list(base)),
            "inference": inference,
            "non-contiguous": lambda: torch.stack([base, base], dim=-1)[..., 0],
            "expanded": lambda: base[:1].expand_as(base),
        }

    targets: dict[str, Callable[[torch.Tensor], Any]] = {
        "q_sample x0": lambda v: q_sample(schedule, v, 3, noise=None, generator=torch.Generator().manual_seed(0)),
        "ddpm_loss x0": lambda v: ddpm_loss(model, schedule, v, t=3),
        "UNet x_t": lambda v: model(v, 3),
        "p_sample_step x_t": lambda v: p_sample_step(schedule, x, v, 3, noise=torch.zeros_like(x)),
        "ddim_step eps_theta": lambda v: ddim_step(schedule, v, x, 3, 1),
        "ddim_sample x_T": lambda v: ddim_sample(model, schedule, (2, 1, 8, 8), x_T=v, num_inference_steps=2,
                                                 progress=False),
        "quality_report images": lambda v: quality_report(v),
    }
    for target, call in targets.items():
        for name, make in variants(x).items():
            refuse(fam, f"{target} {name}", lambda call=call, make=make: call(make()), or_finite=True)
    for name, make in variants(torch.full((10,), 0.01)).items():
        refuse(fam, f"NoiseSchedule betas {name}", lambda make=make: NoiseSchedule(make()), or_finite=True)
    steps = torch.arange(4)
    for name, make in {"meta": lambda: steps.to("meta"), "sparse": lambda: steps.to_sparse(),
                       "inference": lambda: torch.inference_mode()(lambda: steps.clone())()}.items():
        refuse(fam, f"timestep_embedding t {name}", lambda make=make: timestep_embedding(make(), 8), or_finite=True)

    # the documented one-line load, as a new reader types it: loads and generates on the CPU
    from diffusers import StableDiffusionPipeline

    from medai_lessons.stable_diffusion import digit_pipeline_path

    def bare_call() -> np.ndarray:
        pipe = StableDiffusionPipeline.from_pretrained(digit_pipeline_path(), local_files_only=True)
        pipe.set_progress_bar_config(disable=True)
        image = pipe("a 3", num_inference_steps=2, height=32, width=32, output_type="np",
                     generator=torch.Generator().manual_seed(0)).images
        if image.shape != (1, 32, 32, 3):
            raise AssertionError(f"shape {image.shape}")
        return image

    refuse(fam, "from_pretrained(digit_pipeline_path()) generates", bare_call, or_finite=True)


# -- checkpoint metadata shapes -----------------------------------------------------------------
def metadata_shapes(tmp: Path) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    from medai_lessons.diffusion.checkpoint import (
        PRETRAINED_DIGITS,
        _data_file,
        load_checkpoint,
        read_checkpoint_header,
        read_sample_size,
    )

    fam = "metadata shapes"
    source = _data_file(PRETRAINED_DIGITS)
    with safe_open(str(source), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118

    def variant(label: str, change: dict[str, str], weights: Callable[[dict], dict] | None = None) -> Path:
        path = tmp / f"{label}.safetensors"
        save_file(weights(dict(tensors)) if weights else tensors, str(path), metadata={**meta, **change})
        return path

    deep = "[" * 100_000 + "]" * 100_000
    cases = {
        "nested model_config": {"model_config": deep},
        "nested schedule": {"schedule": deep},
        "nested train_config": {"train_config": deep},
        "5000-digit integer": {"model_config": '{"in_channels": ' + "9" * 5000 + "}"},
        "model_config a list": {"model_config": "[1, 2]"},
        "schedule a string": {"schedule": '"linear"'},
        "unknown schedule kind": {"schedule": '{"kind": "quadratic", "num_train_timesteps": 10}'},
        "tiny custom betas": {"schedule": json.dumps({"kind": "custom", "betas": [1e-300] * 50})},
        "betas of 1": {"schedule": json.dumps({"kind": "custom", "betas": [1.0] * 5})},
        "huge T": {"schedule": '{"kind": "linear", "num_train_timesteps": 1000000000}'},
        "sample_size superscript": {"sample_size": "²"},
        "sample_size huge": {"sample_size": "9" * 5000},
        "not valid JSON": {"model_config": "{"},
        "invalid UTF-8 escape": {"model_config": '{"in_channels": "\\udc80"}'},
    }
    for label, change in cases.items():
        path = variant(label.replace(" ", "-"), change)
        if "sample_size" in label:  # only `ddpm sample` reads it
            refuse(fam, f"read_sample_size {label}", lambda path=path: read_sample_size(path))
        else:
            refuse(fam, f"load_checkpoint {label}", lambda path=path: load_checkpoint(path))
    for label, scale in (("weights 1e30", 1e30), ("weights 1e6", 1e6)):
        path = variant(label.replace(" ", "-"), {}, lambda w, scale=scale: {k: v * scale for k, v in w.items()})
        refuse(fam, f"load_checkpoint {label}", lambda path=path: load_checkpoint(path))
    refuse(fam, "read_checkpoint_header of a text file",
           lambda: read_checkpoint_header((tmp / "text.safetensors").write_text("hello") and tmp / "text.safetensors"))


# -- resource bounds ------------------------------------------------------------------------------
def resource_bounds() -> None:
    from medai_lessons import calculus
    from medai_lessons.data import load_ct_slice
    from medai_lessons.diffusion import NoiseSchedule, UNet, ddim_timesteps
    from medai_lessons.diffusion.quality import quality_report
    from medai_lessons.diffusion.unet import timestep_embedding
    from medai_lessons.gradient_descent import fit_line

    fam = "resource bounds"
    cases: dict[str, Callable[[], Any]] = {
        "timestep_embedding 10**6 x 4096": lambda: timestep_embedding(torch.arange(10**6), 4096),
        "NoiseSchedule(range(10**9))": lambda: NoiseSchedule(range(10**9)),
        "NoiseSchedule(10**6 betas)": lambda: NoiseSchedule([0.01] * 10**6),
        "quality_report 10**7 expanded": lambda: quality_report(torch.zeros(1, 1, 8, 8).expand(10**7, 1, 8, 8)),
        "UNet 100,000 levels": lambda: UNet(1, (1,) * 100_000, 8, 4),
        "UNet 9 levels": lambda: UNet(1, (1,) * 9, 8, 1),
        "gradient of 200,000 parameters": lambda: calculus.gradient(lambda v: float(v[0]), np.zeros(200_000)),
        "fit_line 10**5 points x 10**4 epochs": lambda: fit_line(np.ones(10**5), np.ones(10**5), epochs=10**4),
        "ddim_timesteps(10**12, 5)": lambda: ddim_timesteps(10**12, 5),
        "NoiseSchedule.linear(10**9)": lambda: NoiseSchedule.linear(10**9),
        "load_ct_slice center 1e308": lambda: load_ct_slice(center=1e308, width=1e308),
        "load_ct_slice width 1e12": lambda: load_ct_slice(width=1e12),
    }
    for label, call in cases.items():
        refuse(fam, label, call)


# -- tampered Stable Diffusion folders --------------------------------------------------------------
def tampered_folders(tmp: Path) -> None:
    from medai_lessons.cli import main
    from medai_lessons.stable_diffusion import digit_pipeline_path
    from medai_lessons.stable_diffusion.loading import load_pipeline

    fam = "tampered folders"
    source = digit_pipeline_path()

    def edit_json(rel: str, **change: Any) -> Callable[[Path], None]:
        def apply(d: Path) -> None:
            data = json.loads((d / rel).read_text())
            data.update(change)
            (d / rel).write_text(json.dumps(data))

        return apply

    def write(rel: str, data: bytes) -> Callable[[Path], None]:
        return lambda d: (d / rel).write_bytes(data)

    def rename(rel: str, new: str) -> Callable[[Path], None]:
        return lambda d: os.replace(d / rel, d / new)

    def remove(rel: str) -> Callable[[Path], None]:
        return lambda d: (shutil.rmtree if (d / rel).is_dir() else os.remove)(d / rel)

    unet_w, te_w = "unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"
    cases: dict[str, Callable[[Path], None]] = {
        "unet .bin only": rename(unet_w, "unet/diffusion_pytorch_model.bin"),
        "text_encoder .bin only": rename(te_w, "text_encoder/pytorch_model.bin"),
        "vae weights missing": remove("vae/diffusion_pytorch_model.safetensors"),
        "NotStableDiffusionEvil": edit_json("model_index.json", _class_name="NotStableDiffusionEvil"),
        "StableDiffusionXLPipeline": edit_json("model_index.json", _class_name="StableDiffusionXLPipeline"),
        "_class_name a list": edit_json("model_index.json", _class_name=["StableDiffusionPipeline"]),
        "model_index a list": write("model_index.json", b"[1, 2]"),
        "model_index invalid UTF-8": write("model_index.json", b"\xff\xfe{}"),
        "model_index nested": write("model_index.json", b"[" * 100_000 + b"]" * 100_000),
        "model_index 5000-digit": write("model_index.json", b'{"x": ' + b"9" * 5000 + b"}"),
        "scheduler config nested": write("scheduler/scheduler_config.json", b"[" * 100_000 + b"]" * 100_000),
        "unet config a list": write("unet/config.json", b"[]"),
        "text_encoder huge": edit_json("text_encoder/config.json", hidden_size=10**6),
        "text_encoder mismatched": edit_json("text_encoder/config.json", hidden_size=128),
        "text_encoder layers 10**6": edit_json("text_encoder/config.json", num_hidden_layers=10**6),
        "truncated unet weights": lambda d: (d / unet_w).write_bytes((d / unet_w).read_bytes()[:1000]),
        "tokenizer missing": remove("tokenizer"),
    }
    for i, (label, tamper) in enumerate(cases.items()):
        folder = tmp / f"sd-{i}"
        shutil.copytree(source, folder)
        tamper(folder)
        refuse(fam, f"load_pipeline {label}", lambda folder=folder: load_pipeline(folder, device="cpu"))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(["sd", "generate", "--model", str(folder), "--prompt", "a 3", "--height", "32",
                           "--width", "32", "--num-inference-steps", "2", "--device", "cpu", "--no-progress",
                           "--out", str(tmp / f"sd-{i}.png")])
        lines = [line for line in err.getvalue().splitlines() if ": error: " in line]
        if status == 0:
            record(fam, f"sd generate {label}", "accepted")
        elif status != 2 or len(lines) != 1 or "Traceback" in err.getvalue():
            record(fam, f"sd generate {label}", "wrong_type", err.getvalue()[-300:])
        elif "unexpected" in lines[0] or "`--model`" not in lines[0]:
            record(fam, f"sd generate {label}", "unnamed", lines[0])
        else:
            record(fam, f"sd generate {label}", "correct")


# -- interrupt timings -------------------------------------------------------------------------------
def interrupt_timings(tmp: Path) -> None:
    """Real signals sent by this process to itself at chosen points of a real command."""
    import diffusers

    import medai_lessons.diffusion.cli as ddpm_cli
    import medai_lessons.diffusion.train as train
    import medai_lessons.stable_diffusion.captioned_images as captioned_images
    import medai_lessons.stable_diffusion.train_digits as train_digits
    from medai_lessons import cli

    fam = "interrupt timings"
    tiny = ["--batch-size", "32", "--channels", "8,8", "--time-dim", "8", "--warmup-steps", "1",
            "--num-train-timesteps", "20", "--cpu", "--no-progress"]

    def after(module: Any, name: str, signum: int, *, before: bool = False) -> Callable[[], None]:
        real = getattr(module, name)

        def hooked(*args: Any, **kwargs: Any) -> Any:
            if before:
                os.kill(os.getpid(), signum)
            out = real(*args, **kwargs)
            if not before:
                os.kill(os.getpid(), signum)
            return out

        setattr(module, name, hooked)
        return lambda: setattr(module, name, real)

    def run(argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = cli.main(argv)
        return status, err.getvalue()

    def judge(label: str, status: int, err: str, signum: int, ok: bool) -> None:
        ours = [line for line in err.splitlines() if line.startswith("medai-lessons")]
        if status == 0:
            record(fam, label, "accepted", "exited 0 after a stop signal")
        elif status != 128 + signum or "Traceback" in err or not ours:
            record(fam, label, "wrong_type", err[-300:])
        else:
            record(fam, label, "correct" if ok else "unnamed", ours[-1])

    ddpm_points = [
        ("ddpm train: data loading", ddpm_cli, "_training_images", True),
        ("ddpm train: start of training", train, "ddpm_loss", True),
        ("ddpm train: right after a checkpoint", train, "_save_train_state", False),
        ("ddpm train: writing the final weights", train, "save_checkpoint", True),
        ("ddpm train: while publishing", ddpm_cli, "save_grid", False),
        ("ddpm train: after publishing", ddpm_cli, "publish_dir", False),
    ]
    for i, (label, module, name, before) in enumerate(ddpm_points):
        for signum in (signal.SIGINT, signal.SIGTERM):
            out = tmp / f"ddpm-{i}-{signum}"
            undo = after(module, name, signum, before=before)
            try:
                status, err = run(["ddpm", "train", "--train-steps", "4", "--checkpoint-every", "2", *tiny,
                                   "--out", str(out)])
            finally:
                undo()
            partial = out.with_name(out.name + ".partial")
            # what the line says must be what is on disk, and the same command must go on afterwards
            said = err.strip().splitlines()[-1] if err.strip() else ""
            consistent = (
                ("kept in" in said and (out / "digits-ddpm.safetensors").is_file())
                or ("finished run is in" in said and partial.is_dir())
                or ("last complete checkpoint" in said and any((partial / "checkpoints").glob("step-*")))
                or ("nothing" in said and not out.exists())
            )
            again, err2 = run(["ddpm", "train", "--train-steps", "4", "--checkpoint-every", "2", *tiny,
                               "--out", str(out), *(["--overwrite"] if out.exists() else [])])
            judge(f"{label} ({signal.Signals(signum).name})", status, err, signum,
                  consistent and (again == 0 or "continue it with --resume" in err2))

    # an empty <out>.partial left by a killed start, and a second run while the first holds the folder
    out = tmp / "killed"
    out.with_name("killed.partial").mkdir()
    status, err = run(["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *tiny, "--out", str(out)])
    record(fam, "ddpm train after a SIGKILLed start", "correct" if status == 0 and "starting afresh" in err
           else "wrong_type", err[-300:])
    out = tmp / "busy"
    with cli.claimed_stage("--out", out, out.with_name("busy.partial")):
        status, err = run(["ddpm", "train", "--train-steps", "2", *tiny, "--out", str(out)])
    record(fam, "ddpm train into a folder another run holds", "correct" if status == 2 and "another run" in err
           else "accepted", err[-300:])

    sd_points = [
        ("sd train-digits: data loading", captioned_images, "load_captioned_images", True),
        ("sd train-digits: start-up", train_digits, "build_digit_components", False),
        ("sd train-digits: autoencoder phase", train_digits, "_latents", True),
        ("sd train-digits: U-Net phase", train_digits, "_train_unet", True),
        ("sd train-digits: while saving", diffusers.StableDiffusionPipeline, "save_pretrained", False),
    ]
    for i, (label, module, name, before) in enumerate(sd_points):
        out = tmp / f"sd-train-{i}"
        undo = after(module, name, signal.SIGINT, before=before)
        try:
            status, err = run(["sd", "train-digits", "--vae-steps", "1", "--unet-steps", "1", "--cpu-threads", "1",
                               "--out", str(out)])
        finally:
            undo()
        leftovers = [p.name for p in tmp.iterdir() if p.name.startswith(f".sd-train-{i}")]
        judge(label, status, err, signal.SIGINT, not out.exists() and not leftovers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the counts here as JSON")
    parser.add_argument("--families", default="all", help="comma-separated: dtype,metadata,bounds,folders,interrupts")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    chosen = {"dtype", "metadata", "bounds", "folders", "interrupts"} if args.families == "all" \
        else set(args.families.split(","))
    from medai_lessons import interrupts

    with tempfile.TemporaryDirectory() as tmp_name, interrupts.stop_signals_interrupt():
        tmp = Path(tmp_name)
        for key, run in (("dtype", dtype_device_variants), ("metadata", lambda: metadata_shapes(tmp)),
                         ("bounds", resource_bounds), ("folders", lambda: tampered_folders(tmp)),
                         ("interrupts", lambda: interrupt_timings(tmp))):
            if key in chosen:
                run()

    rows = {family: {"cases": sum(c.values()), **{k: c[k] for k in OUTCOMES}} for family, c in results.items()}
    header = (f"{'family':<24}{'cases':>7}{'correct':>9}{'unnamed':>9}{'wrong type':>12}"
              f"{'silent NaN':>12}{'accepted':>10}")
    print(header)
    for family, row in rows.items():
        print(f"{family:<24}{row['cases']:>7}{row['correct']:>9}{row['unnamed']:>9}{row['wrong_type']:>12}"
              f"{row['silent_nan']:>12}{row['accepted']:>10}")
    for line in failures:
        print("  not correct:", line)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "not_correct": failures}, indent=1) + "\n", encoding="utf-8")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
