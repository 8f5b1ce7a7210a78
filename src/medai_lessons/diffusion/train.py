r"""Training $\varepsilon_\theta$ with the DDPM objective (Ho et al. 2020, Algorithm 1).

Algorithm 1, one iteration per optimizer step::

    x0 ~ data;  t ~ Uniform{0..T-1};  eps ~ N(0, I)
    take a gradient step on || eps - eps_theta(sqrt(alpha_bar_t) x0 + sqrt(1-alpha_bar_t) eps, t) ||^2

The loop is written with Hugging Face ``accelerate``: the model, optimizer and data
loader go through ``Accelerator.prepare`` and the backward pass through
``accelerator.backward``, so ``accelerate launch`` runs the same file on several GPUs
(each process sees a shard of every batch) with no change to this code. On a plain
machine it runs on the GPU when there is one, otherwise on the CPU.

An exponential moving average (EMA) of the weights, $\bar\theta \leftarrow d\,\bar\theta
+ (1-d)\,\theta$, is kept alongside; samples from the EMA weights are usually cleaner
(Ho et al. 2020, App. B).

Notation
--------
==================  ==================================  ==============================
code                lesson symbol                       diffusers / accelerate name
==================  ==================================  ==============================
``steps``           number of optimizer steps           ``max_train_steps``
``ema_decay``       $d$                                 ``EMAModel(decay=...)``
``losses``          $L_\text{simple}$ per step          ``loss``
==================  ==================================  ==============================
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from medai_lessons._checks import check_int, check_real
from medai_lessons.diffusion.checkpoint import save_checkpoint
from medai_lessons.diffusion.forward import check_images, ddpm_loss
from medai_lessons.diffusion.schedule import NoiseSchedule
from medai_lessons.diffusion.unet import UNet

__all__ = ["TrainConfig", "TrainResult", "ema_update", "train_ddpm"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; stored in the checkpoint as JSON."""

    steps: int = 2000
    batch_size: int = 128
    lr: float = 2e-3
    warmup_steps: int = 100
    ema_decay: float = 0.995
    seed: int = 0
    channels: tuple[int, ...] = (32, 32)
    time_dim: int = 32
    schedule: str = "linear"
    num_train_steps: int = 1000

    def __post_init__(self) -> None:
        check_int("steps", self.steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_real("lr", self.lr, positive=True)
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        decay = check_real("ema_decay", self.ema_decay)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"`ema_decay` must lie in [0, 1), got {decay}.")
        check_int("seed", self.seed, minimum=0)
        check_int("time_dim", self.time_dim, minimum=2)
        check_int("num_train_steps", self.num_train_steps, minimum=1)
        if self.schedule not in ("linear", "cosine"):
            raise ValueError(f"`schedule` must be 'linear' or 'cosine', got {self.schedule!r}.")
        object.__setattr__(self, "channels", tuple(self.channels))

    def make_schedule(self) -> NoiseSchedule:
        """The noise schedule this config names."""
        if self.schedule == "linear":
            return NoiseSchedule.linear(self.num_train_steps)
        return NoiseSchedule.cosine(self.num_train_steps)

    def make_model(self, in_channels: int = 1) -> UNet:
        """A freshly initialised U-Net of this config's size."""
        return UNet(in_channels=in_channels, channels=self.channels, time_dim=self.time_dim)


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
        """The loss history as a JSON-able dict."""
        return {
            "config": asdict(self.config),
            "seconds": round(self.seconds, 2),
            "losses": [round(v, 6) for v in self.losses],
        }


@torch.no_grad()
def ema_update(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    r"""$\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta$ for every weight, in place."""
    for e, p in zip(ema_model.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach().to(e.dtype), 1.0 - decay)


def train_ddpm(
    data: torch.Tensor,
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    cpu: bool = False,
) -> TrainResult:
    r"""Train a :class:`UNet` on ``data`` with $L_\text{simple}$ (Algorithm 1).

    Args:
        data: clean images ``(n, channels, height, width)`` scaled to $[-1, 1]$.
        config: hyper-parameters; :class:`TrainConfig` defaults when omitted.
        out_dir: if given, the main process writes ``digits-ddpm.safetensors`` (EMA
            weights), ``digits-ddpm-raw.safetensors`` (last weights) and
            ``digits-ddpm-history.json`` there.
        progress: show a tqdm bar with the running loss.
        cpu: force the CPU even when a GPU is present.

    Returns:
        A :class:`TrainResult` with both models (on the CPU), the schedule and the losses.
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    check_images("data", data)
    if data.ndim != 4:
        raise ValueError(f"`data` must be shaped (n, channels, height, width), got {tuple(data.shape)}.")
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig, got {type(config).__name__}.")

    # 1. Seed everything and build the pieces
    accelerator = Accelerator(cpu=cpu)
    set_seed(config.seed)
    schedule = config.make_schedule()
    model = config.make_model(in_channels=data.shape[1])
    ema_model = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    warmup = max(config.warmup_steps, 1)

    def lr_factor(step: int) -> float:  # linear warm-up, then cosine decay to 10 %
        if step < warmup:
            return (step + 1) / warmup
        frac = (step - warmup) / max(config.steps - warmup, 1)
        return 0.1 + 0.9 * 0.5 * (1 + torch.cos(torch.tensor(frac * torch.pi)).item())

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data.float()),
        batch_size=min(config.batch_size, data.shape[0]),
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(config.seed),
    )
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    ema_model.to(accelerator.device)

    # 2. Algorithm 1, repeated
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(
        total=config.steps,
        desc="DDPM train",
        disable=not progress or not accelerator.is_local_main_process,
    )
    model.train()
    step = 0
    while step < config.steps:
        for (x0,) in loader:
            loss = ddpm_loss(model, schedule, x0)
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()
            decay = min(config.ema_decay, (1 + step) / (10 + step))  # EMA warm-up
            ema_update(ema_model, accelerator.unwrap_model(model), decay)
            losses.append(accelerator.gather(loss.detach()).mean().item())
            step += 1
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}")
            if step >= config.steps:
                break
    bar.close()
    seconds = time.perf_counter() - start

    # 3. Hand back CPU copies and write the files
    accelerator.wait_for_everyone()
    raw = copy.deepcopy(accelerator.unwrap_model(model)).to("cpu").eval()
    result = TrainResult(raw, ema_model.to("cpu").eval(), schedule, losses, config, seconds)
    if out_dir is not None and accelerator.is_main_process:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        meta = asdict(config)
        result.paths["ema"] = save_checkpoint(
            out / "digits-ddpm.safetensors", result.ema_model, schedule, train_config=meta
        )
        result.paths["raw"] = save_checkpoint(out / "digits-ddpm-raw.safetensors", raw, schedule, train_config=meta)
        hist = out / "digits-ddpm-history.json"
        hist.write_text(json.dumps(result.history(), indent=1) + "\n", encoding="utf-8")
        result.paths["history"] = hist
    return result
