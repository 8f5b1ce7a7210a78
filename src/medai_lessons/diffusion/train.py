r"""Training $\varepsilon_\theta$ with the DDPM objective (Ho et al. 2020, Algorithm 1).

Algorithm 1, one iteration per optimizer step::

    x0 ~ data;  t ~ Uniform{0..T-1};  eps ~ N(0, I)
    take a gradient step on || eps - eps_theta(sqrt(alpha_bar_t) x0 + sqrt(1-alpha_bar_t) eps, t) ||^2

The loop is written with Hugging Face ``accelerate``: the model and optimizer go
through ``Accelerator.prepare`` and the backward pass through ``accelerator.backward``,
so ``accelerate launch`` runs the same code on several processes. ``batch_size`` is the
*global* batch: every process draws the same batch indices, steps and noise from seeded
generators and works on its own slice, so ``N`` processes follow the one-process run up
to floating-point summation order. On a plain machine it runs on the GPU when there is
one, otherwise on the CPU.

The learning rate rises linearly for ``warmup_steps`` and then follows a half cosine to
zero (diffusers' ``get_cosine_schedule_with_warmup``). An exponential moving average
(EMA) of the weights, $\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta$, is kept with
diffusers' ``EMAModel``, whose decay warms up: it copies the weights after the first step,
then uses $d_k = \min(d, \frac{1+k}{10+k})$ after step $k+1$; samples from the EMA
weights are usually cleaner (Ho et al. 2020, App. B).
:func:`ema_update` is the same update written out for the lesson.

Every ``checkpoint_every`` steps the main process writes a checkpoint folder (EMA and
raw weights plus the optimizer, schedule and random-number state), and ``resume_from``
continues from one bit for bit on the CPU.

Notation
--------
=========================  ==================================  ==============================
code                       lesson symbol                       diffusers / accelerate name
=========================  ==================================  ==============================
``train_steps``            number of optimizer steps           ``max_train_steps``
``learning_rate``          peak AdamW step size                ``learning_rate``
``num_train_timesteps``    $T$                                 ``num_train_timesteps``
``ema_decay``              $d$                                 ``EMAModel(decay=...)``
``losses``                 $L_\text{simple}$ per step          ``loss``
=========================  ==================================  ==============================
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from medai_lessons import interrupts, limits
from medai_lessons._checks import MAX_SEED, check_int, check_real, check_seed, parse_json
from medai_lessons._deprecation import renamed_kwargs, warn_renamed
from medai_lessons._files import default_mode, write_atomically
from medai_lessons.data import _next_epoch_batch
from medai_lessons.diffusion.checkpoint import (
    CheckpointNotFoundError,
    load_checkpoint,
    normalize_train_config,
    save_checkpoint,
)
from medai_lessons.diffusion.forward import check_images, ddpm_loss
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.diffusion.unet import UNet

__all__ = ["TrainConfig", "TrainResult", "TrainingInterrupted", "ema_update", "train_ddpm"]

#: Upper bounds that keep a mistyped number from asking for days of work or terabytes.
MAX_TRAIN_STEPS = limits.MAX_TRAIN_STEPS
MAX_BATCH_SIZE = limits.MAX_BATCH_SIZE
MAX_TRAIN_TIMESTEPS = limits.MAX_TRAIN_TIMESTEPS
MAX_WIDTH = limits.MAX_CHANNELS
MAX_TIME_DIM = limits.MAX_TIME_DIM

STATE_FORMAT = "medai-lessons-ddpm-train-state/1"
EMA_FILE = "digits-ddpm.safetensors"
RAW_FILE = "digits-ddpm-raw.safetensors"
HISTORY_FILE = "digits-ddpm-history.json"
STATE_FILE = "train-state.safetensors"


def _bounded_int(name: str, value: Any, minimum: int, maximum: int) -> int:
    return check_int(name, value, minimum=minimum, maximum=maximum,
                     why="a bound that keeps a typo from running for days")


@dataclass(frozen=True, init=False)
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint as JSON.

    ``steps=``, ``num_train_steps=`` and ``lr=`` are the old names of ``train_steps``,
    ``num_train_timesteps`` and ``learning_rate`` (the name lesson 3's ``DigitSDConfig`` and
    diffusers' scripts use); they still work and warn (``FutureWarning``).
    """

    train_steps: int = 2000
    batch_size: int = 128
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    ema_decay: float = 0.995
    seed: int = 0
    channels: tuple[int, ...] = (32, 32)
    time_dim: int = 32
    schedule: str = "linear"
    num_train_timesteps: int = 1000

    @renamed_kwargs(steps="train_steps", num_train_steps="num_train_timesteps", lr="learning_rate")
    def __init__(
        self,
        train_steps: int = 2000,
        batch_size: int = 128,
        learning_rate: float = 2e-3,
        warmup_steps: int = 100,
        ema_decay: float = 0.995,
        seed: int = 0,
        channels: tuple[int, ...] | list[int] = (32, 32),
        time_dim: int = 32,
        schedule: str = "linear",
        num_train_timesteps: int = 1000,
    ) -> None:
        values: dict[str, Any] = {
            "train_steps": _bounded_int("train_steps", train_steps, 1, MAX_TRAIN_STEPS),
            "batch_size": _bounded_int("batch_size", batch_size, 1, MAX_BATCH_SIZE),
            "learning_rate": check_real("learning_rate", learning_rate, positive=True),
            "warmup_steps": _bounded_int("warmup_steps", warmup_steps, 0, MAX_TRAIN_STEPS),
            "ema_decay": check_real("ema_decay", ema_decay),
            "seed": check_seed(seed),
            "channels": _check_channels(channels),
            "time_dim": _bounded_int("time_dim", time_dim, 2, MAX_TIME_DIM),
            "schedule": schedule,
            "num_train_timesteps": _bounded_int("num_train_timesteps", num_train_timesteps, 1, MAX_TRAIN_TIMESTEPS),
        }
        if not 0.0 <= values["ema_decay"] < 1.0:
            raise ValueError(f"`ema_decay` must lie in [0, 1), got {values['ema_decay']}.")
        if values["time_dim"] % 2:
            raise ValueError(f"`time_dim` must be even, got {values['time_dim']}.")
        if not isinstance(schedule, str):
            raise TypeError(f"`schedule` must be a string, got {type(schedule).__name__}.")
        if schedule not in ("linear", "cosine"):
            raise ValueError(f"`schedule` must be 'linear' or 'cosine', got {schedule!r}.")
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :func:`dataclasses.asdict` output; old key names are accepted."""
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict, got {type(config).__name__}.")
        config = normalize_train_config(config)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"`config` has unknown keys {unknown}.")
        return cls(**config)

    @property
    def steps(self) -> int:
        """Deprecated name of :attr:`train_steps`."""
        warn_renamed("TrainConfig.steps", "TrainConfig.train_steps")
        return self.train_steps

    @property
    def num_train_steps(self) -> int:
        """Deprecated name of :attr:`num_train_timesteps`."""
        warn_renamed("TrainConfig.num_train_steps", "TrainConfig.num_train_timesteps")
        return self.num_train_timesteps

    @property
    def lr(self) -> float:
        """Deprecated name of :attr:`learning_rate`."""
        warn_renamed("TrainConfig.lr", "TrainConfig.learning_rate")
        return self.learning_rate

    def make_schedule(self) -> NoiseSchedule:
        """The noise schedule this config names."""
        if self.schedule == "linear":
            return NoiseSchedule.linear(self.num_train_timesteps)
        return NoiseSchedule.cosine(self.num_train_timesteps)

    def make_model(self, in_channels: int = 1) -> UNet:
        """A freshly initialised U-Net of this config's size."""
        return UNet(in_channels=in_channels, channels=self.channels, time_dim=self.time_dim)


def _check_channels(channels: Any) -> tuple[int, ...]:
    if isinstance(channels, str | bytes) or not isinstance(channels, tuple | list):
        raise TypeError(f"`channels` must be a sequence of integers, got {type(channels).__name__}.")
    if not 1 <= len(channels) <= 8:
        raise ValueError(f"`channels` must hold 1 to 8 widths, got {len(channels)}.")
    return tuple(_bounded_int("channels", c, 1, MAX_WIDTH) for c in channels)


@dataclass
class TrainResult:
    """What :func:`train_ddpm` returns."""

    model: UNet
    ema_model: UNet
    schedule: NoiseSchedule
    losses: list[float]
    config: TrainConfig
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    def history(self) -> dict[str, Any]:
        """The loss history as a JSON-able dict (every loss is finite: training stops at the first that is not)."""
        return {
            "config": asdict(self.config),
            "seconds": round(self.seconds, 2),
            "losses": [round(v, 6) for v in self.losses],
        }


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train_ddpm`; says which step was reached and where the last checkpoint is."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        self.step = step
        self.checkpoint = checkpoint
        where = (
            f"the last complete checkpoint is {checkpoint}" if checkpoint is not None else "no checkpoint was written"
        )
        super().__init__(f"training interrupted at step {step}; {where}")


@torch.no_grad()
def ema_update(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    r"""$\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta$ for every weight, in place.

    The same update as diffusers' ``EMAModel.step`` at a fixed decay ``d``, which is what
    :func:`train_ddpm` uses.

    Args:
        ema_model: the averaged copy $\bar\theta$, changed in place.
        model: the network being trained, $\theta$.
        decay: $d$ in $[0, 1]$; 0 copies the weights, 1 leaves the average unchanged.
    """
    for name, value in (("ema_model", ema_model), ("model", model)):
        if not isinstance(value, torch.nn.Module):
            raise TypeError(f"`{name}` must be a torch.nn.Module, got {type(value).__name__}.")
    d = check_real("decay", decay)
    if not 0.0 <= d <= 1.0:
        raise ValueError(f"`decay` must lie in [0, 1], got {d}.")
    pairs = list(zip(ema_model.parameters(), model.parameters(), strict=False))
    n_ema, n_model = len(list(ema_model.parameters())), len(list(model.parameters()))
    if n_ema != n_model or any(e.shape != p.shape for e, p in pairs):
        raise ValueError("`ema_model` must have the same parameter shapes as `model`.")
    for name, params in (("model", [p for _, p in pairs]), ("ema_model", [e for e, _ in pairs])):
        if any(p.device.type == "meta" for p in params):
            raise ValueError(f"`{name}` must hold its weights on a real device, got weights on 'meta'.")
        if not all(bool(torch.isfinite(p).all()) for p in params):
            raise ValueError(f"`{name}` has NaN or infinite weights; the average would keep them forever.")
    for e, p in pairs:
        e.lerp_(p.detach().to(e.dtype), 1.0 - d)


# -- checkpoints of a run in progress ----------------------------------------------------
def _save_train_state(
    folder: Path,
    step: int,
    raw: UNet,
    ema: UNet,
    schedule: NoiseSchedule,
    config: TrainConfig,
    optimizer: torch.optim.Optimizer,
    lr_scheduler: Any,
    ema_state: Any,
    sampler: dict[str, Any],
    losses: list[float],
    sample_size: int,
) -> Path:
    """Write ``folder/step-NNNNNN/`` atomically: EMA and raw weights, plus everything a resume needs."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=folder))
    try:
        meta = asdict(config)
        save_checkpoint(tmp / EMA_FILE, ema, schedule, train_config=meta, sample_size=sample_size)
        save_checkpoint(tmp / RAW_FILE, raw, schedule, train_config=meta, sample_size=sample_size)
        opt = optimizer.state_dict()
        tensors: dict[str, torch.Tensor] = {
            "losses": torch.tensor(losses, dtype=torch.float64),
            "sampler.perm": sampler["perm"],
            "sampler.data_rng": sampler["data_rng"].get_state(),
            "sampler.noise_rng": sampler["noise_rng"].get_state(),
        }
        for i, state in opt["state"].items():
            for key, value in state.items():
                tensors[f"optimizer.{i}.{key}"] = value.detach().to("cpu").contiguous()
        groups = [{k: v for k, v in g.items()} for g in opt["param_groups"]]
        metadata = {
            "format": STATE_FORMAT,
            "step": str(step),
            "sampler_pos": str(sampler["pos"]),
            "ema_optimization_step": str(ema_state.optimization_step),
            "optimizer_param_groups": json.dumps(groups),
            "lr_scheduler": json.dumps(lr_scheduler.state_dict()),
            "train_config": json.dumps(meta),
        }
        save_file(tensors, str(tmp / STATE_FILE), metadata=metadata)
        if final.exists():
            shutil.rmtree(final)
        os.chmod(tmp, default_mode(folder=True))
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    for old in folder.glob("step-*"):  # keep only the newest complete checkpoint
        if old != final and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def _settle_checkpoints(folder: Path) -> Path | None:
    """After an interrupt: keep the newest complete checkpoint in ``folder`` and return it.

    A checkpoint is complete once its folder has its final name (``_save_train_state`` renames
    a finished temporary folder), so the newest ``step-*`` folder is the last good one, even when
    the interrupt came after the rename but before the older one was removed.
    """
    if not folder.is_dir():
        return None
    done = sorted((p for p in folder.glob("step-*") if p.is_dir()), key=lambda p: p.name)
    for stale in [*done[:-1], *folder.glob(".step-*.tmp")]:
        shutil.rmtree(stale, ignore_errors=True)
    return done[-1] if done else None


def read_train_state(folder: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Metadata and tensors of a checkpoint folder written during training (for ``resume_from``)."""
    from safetensors import safe_open

    if not isinstance(folder, str | Path):
        raise TypeError(f"`resume_from` must be a str or Path, got {type(folder).__name__}.")
    folder = Path(folder)
    state_file = folder / STATE_FILE
    if not folder.is_dir() or not state_file.is_file():
        raise CheckpointNotFoundError(f"`resume_from` must be a checkpoint folder holding {STATE_FILE}: {folder}")
    try:
        with safe_open(str(state_file), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:
        raise ValueError(f"`resume_from` {state_file} cannot be read ({exc}).") from exc
    if metadata.get("format") != STATE_FORMAT:
        raise ValueError(f"`resume_from` {state_file} is not a training state ({metadata.get('format')!r}).")
    for key in ("train_config", "optimizer_param_groups", "lr_scheduler"):  # read again by the callers
        parse_json("resume_from", metadata.get(key, ""), what=f"{state_file}'s `{key}` metadata",
                   max_bytes=limits.MAX_JSON_BYTES)
    for key in ("step", "sampler_pos", "ema_optimization_step"):
        text = metadata.get(key, "")
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise ValueError(f"`resume_from` {state_file}: `{key}` in the metadata must be a count, got {text[:40]!r}.")
    return metadata, tensors


def train_ddpm(
    data: torch.Tensor,
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    cpu: bool = False,
    checkpoint_every: int = 0,
    checkpoint_dir: str | Path | None = None,
    resume_from: str | Path | None = None,
) -> TrainResult:
    r"""Train a :class:`UNet` on ``data`` with $L_\text{simple}$ (Algorithm 1).

    Args:
        data: clean images ``(n, channels, height, width)`` scaled to $[-1, 1]$, finite.
        config: hyper-parameters; :class:`TrainConfig` defaults when omitted.
        out_dir: if given, the main process writes ``digits-ddpm.safetensors`` (EMA
            weights), ``digits-ddpm-raw.safetensors`` (last weights) and
            ``digits-ddpm-history.json`` there, each atomically.
        progress: show a tqdm bar with the running loss.
        cpu: force the CPU even when a GPU is present.
        checkpoint_every: write a resumable checkpoint folder every this many steps (0: never).
        checkpoint_dir: where those folders go; ``out_dir/checkpoints`` when omitted.
        resume_from: a checkpoint folder to continue from; ``config`` must match the one
            stored there except for ``train_steps``.

    Returns:
        A :class:`TrainResult` with both models (on the CPU), the schedule and the losses
        (those before the resume included).

    Raises:
        ValueError: bad ``data`` or settings, or the loss became NaN or infinite (the
            message suggests a smaller ``learning_rate``).
        TrainingInterrupted: Ctrl-C; it carries the step and the last checkpoint folder.
    """
    # 0. Check the inputs at the door, before any work
    config, checkpoint_every, checkpoint_dir, resume = _check_train_inputs(
        data, config, progress, cpu, checkpoint_every, out_dir, checkpoint_dir, resume_from
    )

    # 1. Seed everything and build the pieces: accelerator, U-Net, AdamW, learning-rate schedule, EMA
    run = _prepare_run(data, config, cpu, resume_from, resume)
    run.checkpoint_every, run.checkpoint_dir = checkpoint_every, checkpoint_dir

    # 2. Algorithm 1, repeated until `train_steps`
    seconds = _repeat_algorithm_1(run, progress)

    # 3. Hand back CPU copies and write the files
    return _finish_run(run, seconds, out_dir)


def _check_train_inputs(
    data: Any,
    config: Any,
    progress: Any,
    cpu: Any,
    checkpoint_every: Any,
    out_dir: Any,
    checkpoint_dir: Any,
    resume_from: Any,
) -> tuple[TrainConfig, int, str | Path | None, tuple[dict[str, Any], dict[str, torch.Tensor]] | None]:
    """:func:`train_ddpm`'s ``check_inputs``: the config, the checkpoint settings and the state to resume."""
    check_images("data", data)
    if data.ndim != 4:
        raise ValueError(f"`data` must be shaped (n, channels, height, width), got {tuple(data.shape)}.")
    if data.shape[0] < 1:
        raise ValueError("`data` must hold at least one image, got 0.")
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig, got {type(config).__name__}.")
    factor = 2 ** (len(config.channels) - 1)
    if data.shape[2] % factor or data.shape[3] % factor:
        g = math.gcd(data.shape[2], data.shape[3])
        most = (g & -g).bit_length()  # 1 + the number of times both sides can be halved
        raise ValueError(
            f"`channels` has {len(config.channels)} levels, so the image sides must be divisible by {factor}; "
            f"the data are {data.shape[2]}x{data.shape[3]}, which allows at most {most} levels."
        )
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False, got {type(progress).__name__}.")
    if not isinstance(cpu, bool):
        raise TypeError(f"`cpu` must be True or False, got {type(cpu).__name__}.")
    checkpoint_every = _bounded_int("checkpoint_every", checkpoint_every, 0, MAX_TRAIN_STEPS)
    for name, folder in (("out_dir", out_dir), ("checkpoint_dir", checkpoint_dir)):
        if folder is not None and not isinstance(folder, str | Path):
            raise TypeError(f"`{name}` must be a str or Path, got {type(folder).__name__}.")
    if checkpoint_every and checkpoint_dir is None:
        if out_dir is None:
            raise ValueError("`checkpoint_every` needs `checkpoint_dir` or `out_dir` to write to.")
        checkpoint_dir = Path(out_dir) / "checkpoints"
    resume = None if resume_from is None else _check_resume(resume_from, config)
    return config, checkpoint_every, checkpoint_dir, resume


def _check_resume(resume_from: Any, config: TrainConfig) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The training state in ``resume_from``, refused unless it continues a run with this ``config``."""
    resume = read_train_state(resume_from)
    saved = TrainConfig.from_dict(json.loads(resume[0]["train_config"]))
    diff = [f.name for f in fields(TrainConfig)
            if f.name != "train_steps" and getattr(saved, f.name) != getattr(config, f.name)]
    if diff:
        name = diff[0]
        raise ValueError(
            f"`{name}` differs from the run being resumed: {getattr(config, name)!r} here, "
            f"{getattr(saved, name)!r} in `resume_from` {resume_from}."
        )
    if int(resume[0]["step"]) > config.train_steps:
        raise ValueError(
            f"`train_steps` ({config.train_steps}) is smaller than the step already reached "
            f"in `resume_from` ({resume[0]['step']})."
        )
    return resume


@dataclass
class _TrainingRun:
    """Everything one :func:`train_ddpm` run carries from step to step (built by :func:`_prepare_run`)."""

    accelerator: Any
    config: TrainConfig
    data: torch.Tensor
    schedule: NoiseSchedule
    model: Any
    optimizer: Any
    lr_scheduler: Any
    ema: Any
    sampler: dict[str, Any]
    batch: int
    local: int
    losses: list[float]
    step: int
    last_checkpoint: Path | None
    checkpoint_every: int = 0
    checkpoint_dir: str | Path | None = None

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The global batch (same on every process): indices without replacement per epoch, t and noise."""
        sampler, batch, data = self.sampler, self.batch, self.data
        idx, sampler["perm"], sampler["pos"] = _next_epoch_batch(
            sampler["perm"], sampler["pos"], data.shape[0], batch, sampler["data_rng"]
        )
        t = torch.randint(0, len(self.schedule), (batch,), generator=sampler["noise_rng"])
        noise = torch.randn((batch, *data.shape[1:]), generator=sampler["noise_rng"])
        return idx, t, noise

    def loss_on_next_batch(self, first_step: int) -> tuple[torch.Tensor, float]:
        r"""$L_\text{simple}$ on this process's share of the next batch, and its mean over all processes."""
        idx, t, noise = self.next_batch()
        device = self.accelerator.device
        rank = self.accelerator.process_index
        part = slice(rank * self.local, (rank + 1) * self.local)  # this process's share of the global batch
        x0 = self.data[idx[part]].to(device)
        try:
            loss = ddpm_loss(self.model, self.schedule, x0, t=t[part].to(device), noise=noise[part].to(device))
            value = self.accelerator.gather(loss.detach()[None]).mean().item()
            finite = math.isfinite(value)
        except ValueError:
            # the inputs have the same kind and shape at every step, so a refusal after the
            # first step of this session comes from the values: the weights have blown up
            if self.step == first_step:
                raise
            finite = False
        if not finite:
            where = f" The last complete checkpoint is {self.last_checkpoint}." if self.last_checkpoint else ""
            raise ValueError(
                f"the loss became NaN or infinite at step {self.step + 1}, so training stopped; "
                f"try a smaller `learning_rate` (got {self.config.learning_rate:g}).{where}"
            ) from None
        return loss, value

    def take_step(self, loss: torch.Tensor, value: float) -> None:
        """One optimizer step, one learning-rate step and one EMA step."""
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.ema.step(self.accelerator.unwrap_model(self.model).parameters())
        self.losses.append(value)
        self.step += 1

    def cpu_copies(self) -> tuple[UNet, UNet]:
        """The raw and EMA weights, as CPU models in eval mode."""
        raw = copy.deepcopy(self.accelerator.unwrap_model(self.model)).to("cpu").eval()
        ema_model = copy.deepcopy(raw)
        self.ema.copy_to(ema_model.parameters())
        return raw, ema_model

    def checkpoint_if_due(self) -> None:
        """Every ``checkpoint_every`` steps the main process writes a resumable checkpoint folder."""
        if not (self.checkpoint_every and self.checkpoint_dir is not None
                and self.step % self.checkpoint_every == 0 and self.accelerator.is_main_process):
            return
        raw, ema_model = self.cpu_copies()
        optimizer = self.optimizer.optimizer if hasattr(self.optimizer, "optimizer") else self.optimizer
        self.last_checkpoint = _save_train_state(
            Path(self.checkpoint_dir), self.step, raw, ema_model, self.schedule, self.config,
            optimizer, self.lr_scheduler, self.ema, self.sampler, self.losses, self.data.shape[-1],
        )

    def interrupted(self) -> TrainingInterrupted:
        """The exception for a Ctrl-C now, naming the newest complete checkpoint."""
        if self.checkpoint_dir is not None and self.accelerator.is_main_process:
            # Ctrl-C may land between a checkpoint's rename and the lines after it
            self.last_checkpoint = _settle_checkpoints(Path(self.checkpoint_dir)) or self.last_checkpoint
        return TrainingInterrupted(self.step, self.last_checkpoint)


def _prepare_run(
    data: torch.Tensor,
    config: TrainConfig,
    cpu: bool,
    resume_from: str | Path | None,
    resume: tuple[dict[str, Any], dict[str, torch.Tensor]] | None,
) -> _TrainingRun:
    """Seed, build the model, optimizer, schedules and sampler, restore a resumed run, then ``prepare``."""
    from accelerate import Accelerator
    from diffusers.optimization import get_cosine_schedule_with_warmup
    from diffusers.training_utils import EMAModel

    accelerator = Accelerator(cpu=cpu)
    world = accelerator.num_processes
    batch = min(config.batch_size, data.shape[0])
    if batch % world:
        raise ValueError(f"`batch_size` ({batch}) must be divisible by the number of processes ({world}).")
    torch.manual_seed(config.seed)
    schedule = config.make_schedule()
    model = config.make_model(in_channels=data.shape[1])
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    lr_scheduler = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, config.train_steps)
    sampler: dict[str, Any] = {
        "data_rng": torch.Generator().manual_seed(config.seed),
        "noise_rng": torch.Generator().manual_seed(config.seed + 1 if config.seed < MAX_SEED else 0),
        "perm": torch.empty(0, dtype=torch.int64),
        "pos": 0,
    }
    losses: list[float] = []
    step = 0
    ema_weights: UNet | None = None
    if resume is not None and resume_from is not None:
        ema_weights, losses, step = _restore(Path(resume_from), resume, model, optimizer, lr_scheduler, sampler)
    model, optimizer = accelerator.prepare(model, optimizer)
    ema = EMAModel(
        (ema_weights if ema_weights is not None else accelerator.unwrap_model(model)).parameters(),
        decay=config.ema_decay,
    )
    ema.to(accelerator.device)
    if resume is not None:
        ema.optimization_step = int(resume[0]["ema_optimization_step"])
    last_checkpoint = Path(resume_from) if resume_from is not None else None
    return _TrainingRun(
        accelerator, config, data.float(), schedule, model, optimizer, lr_scheduler, ema, sampler,
        batch, batch // world, losses, step, last_checkpoint,
    )


def _restore(
    folder: Path,
    resume: tuple[dict[str, Any], dict[str, torch.Tensor]],
    model: UNet,
    optimizer: torch.optim.Optimizer,
    lr_scheduler: Any,
    sampler: dict[str, Any],
) -> tuple[UNet, list[float], int]:
    """Load a checkpoint folder's weights, optimizer, schedule and sampler state; the EMA weights, losses, step."""
    meta, tensors = resume
    raw_model, _, _ = load_checkpoint(folder / RAW_FILE)
    ema_weights, _, _ = load_checkpoint(folder / EMA_FILE)
    model.load_state_dict(raw_model.state_dict())
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            opt_state.setdefault(int(index), {})[name] = tensor
    optimizer.load_state_dict({"state": opt_state, "param_groups": json.loads(meta["optimizer_param_groups"])})
    lr_scheduler.load_state_dict(json.loads(meta["lr_scheduler"]))
    sampler["data_rng"].set_state(tensors["sampler.data_rng"])
    sampler["noise_rng"].set_state(tensors["sampler.noise_rng"])
    sampler["perm"] = tensors["sampler.perm"]
    sampler["pos"] = int(meta["sampler_pos"])
    return ema_weights, tensors["losses"].tolist(), int(meta["step"])


def _repeat_algorithm_1(run: _TrainingRun, progress: bool) -> float:
    """Algorithm 1 until ``train_steps``, with a tqdm bar and checkpoints; the seconds it took."""
    start = time.perf_counter()
    bar = tqdm(
        total=run.config.train_steps,
        initial=run.step,
        desc="DDPM train",
        disable=not progress or not run.accelerator.is_local_main_process,
    )
    run.model.train()
    first_step = run.step
    try:
        with interrupts.stop_at_step_boundaries():
            while run.step < run.config.train_steps:
                interrupts.check()  # Ctrl-C or SIGTERM stops here, between two steps
                loss, value = run.loss_on_next_batch(first_step)
                run.take_step(loss, value)
                bar.update(1)
                if run.step % 50 == 0:
                    bar.set_postfix(loss=f"{sum(run.losses[-50:]) / 50:.4f}")
                run.checkpoint_if_due()
    except KeyboardInterrupt:
        bar.close()
        raise run.interrupted() from None
    bar.close()
    return time.perf_counter() - start


def _finish_run(run: _TrainingRun, seconds: float, out_dir: str | Path | None) -> TrainResult:
    """CPU copies of both models in a :class:`TrainResult`; the main process writes them to ``out_dir``."""
    run.accelerator.wait_for_everyone()
    raw, ema_model = run.cpu_copies()
    result = TrainResult(raw, ema_model, run.schedule, run.losses, run.config, seconds)
    is_main = run.accelerator.is_main_process
    if out_dir is not None and is_main:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        meta, size = asdict(run.config), run.data.shape[-1]
        for key, file, model in (("ema", EMA_FILE, ema_model), ("raw", RAW_FILE, raw)):
            result.paths[key] = save_checkpoint(out / file, model, run.schedule, train_config=meta, sample_size=size)
        hist = out / HISTORY_FILE
        with write_atomically(hist) as tmp:
            tmp.write_text(json.dumps(result.history(), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        result.paths["history"] = hist
    if run.last_checkpoint is not None and is_main:
        result.paths["checkpoint"] = run.last_checkpoint
    return result
