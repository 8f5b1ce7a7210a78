r"""Train the miniature CLIP on captioned digits: the symmetric contrastive loss, nothing else.

Each step draws $N$ training images, gives each one caption from its digit's templates (chosen
at random), embeds both, and lowers :func:`~.contrastive.clip_loss` (Radford et al. 2021, Fig. 3):

$$\mathcal{L} = \tfrac12\bigl(\mathrm{CE}(t\,\hat I \hat T^\top) + \mathrm{CE}(t\,\hat T \hat I^\top)\bigr),
\qquad t = e^{\log t},\ \log t \text{ learnt, clipped at } \log 100.$$

Images of the same digit in one batch may share a caption; they are then "negatives" that
equal the positive, a known weakness of CLIP's loss with few classes. The images are shifted
by up to ``max_shift`` pixels at random (a shift keeps a digit a digit).

Notation (code name ↔ symbol ↔ transformers name):

| code            | symbol          | transformers                  |
|-----------------|-----------------|-------------------------------|
| ``batch_size``  | $N$             | —                             |
| ``logit_scale`` | $\log t$        | ``model.logit_scale``         |
| ``steps``       | optimiser updates | ``max_steps``               |
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from tqdm.auto import tqdm

from medai_lessons import interrupts
from medai_lessons.data import _random_batch

from .._checks import check_int, check_real, check_seed
from ..limits import MAX_CLIP_STEPS, MAX_CONTRASTIVE_BATCH, MAX_CPU_THREADS
from ..stable_diffusion.captioned_images import training_words
from ..stable_diffusion.tokenizer import word_tokenizer
from .clip_model import ClipShape, build_clip, build_processor
from .contrastive import clip_loss
from .data import CaptionedImages, to_pil

__all__ = ["ClipTrainingConfig", "ClipTrainingInterrupted", "ClipTrainingResult", "save_clip", "train_clip"]

#: largest learnt scale t (CLIP clips log t at log 100, Radford et al. 2021, Sec. 2.5)
MAX_LOGIT_SCALE = 100.0


@dataclass(frozen=True)
class ClipTrainingConfig:
    """Every choice of the miniature CLIP; saved beside the weights as ``training.json``."""

    steps: int = 1000
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 100
    max_shift: int = 1
    seed: int = 0
    #: torch threads; the same count re-runs bit for bit. One: the model is so small that a
    #: second thread mostly waits for the first (and on a busy machine, for the CPU)
    cpu_threads: int = 1
    shape: ClipShape = field(default_factory=ClipShape)

    def __post_init__(self) -> None:
        check_int("steps", self.steps, minimum=1, maximum=MAX_CLIP_STEPS, why="a miniature")
        check_int("batch_size", self.batch_size, minimum=2, maximum=MAX_CONTRASTIVE_BATCH,
                  why="an N x N matrix per step")
        check_real("learning_rate", self.learning_rate, positive=True)
        check_real("weight_decay", self.weight_decay, non_negative=True)
        check_int("warmup_steps", self.warmup_steps, minimum=0)
        check_int("max_shift", self.max_shift, minimum=0, maximum=3, why="an 8x8 image")
        check_seed(self.seed)
        check_int("cpu_threads", self.cpu_threads, minimum=1, maximum=MAX_CPU_THREADS, why="a sane thread count")
        if not isinstance(self.shape, ClipShape):
            raise TypeError(f"`shape` must be a ClipShape, got {type(self.shape).__name__}.")


@dataclass
class ClipTrainingResult:
    """The trained model and processor, the loss every 50 steps, and the seconds it took."""

    model: Any
    processor: Any
    history: list[dict[str, float]]
    seconds: float
    cpu_seconds: float


class ClipTrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM between two steps; ``checkpoint`` is the last complete one (or None)."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step, self.checkpoint = step, checkpoint


def _shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image by up to ``max_shift`` pixels in x and y (zero-padded, i.e. black = -1 here)."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator).tolist()
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def save_clip(model: Any, processor: Any, folder: Path, summary: dict[str, Any], *, fp16: bool = False) -> None:
    """Write ``model`` and ``processor`` with ``save_pretrained`` (safetensors) into an existing empty ``folder``.

    With ``fp16`` the weights are stored in float16 and the config says ``dtype: float32``, so the
    bare ``CLIPModel.from_pretrained(folder)`` gives a float32 model on the CPU.
    """
    import copy

    from transformers.utils import logging as hf_logging

    saved = copy.deepcopy(model).half() if fp16 else model
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # one tiny shard: its bar would only interrupt ours
    try:
        saved.save_pretrained(folder, safe_serialization=True)
        processor.save_pretrained(folder)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    for part in (config, config.get("text_config", {}), config.get("vision_config", {})):
        if "dtype" in part or part is config:
            part["dtype"] = "float32"
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "training.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def _checkpoint(model: Any, processor: Any, directory: Path, step: int, summary: dict[str, Any]) -> Path:
    """``directory/step-NNNNNNN``, written under a temporary name and renamed when complete."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step-{step:07d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=directory))
    try:
        save_clip(model, processor, tmp, {**summary, "step": step})
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def train_clip(
    data: CaptionedImages,
    config: ClipTrainingConfig | None = None,
    *,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 0,
) -> ClipTrainingResult:
    """Train a miniature ``CLIPModel`` on ``data`` (images and the captions of their labels), seeded.

    Args:
        data: e.g. :func:`~.data.training_digits` (the ``i % 5 != 0`` digits).
        config: the recipe; the default made the shipped model.
        progress: show a tqdm bar.
        checkpoint_dir: where ``step-NNNNNNN/`` checkpoints go (each a ``CLIPModel`` folder).
        checkpoint_every: steps between checkpoints (0: none).

    Raises:
        ClipTrainingInterrupted: on Ctrl-C/SIGTERM, at a step boundary, naming the last checkpoint.
    """
    if not isinstance(data, CaptionedImages):
        raise TypeError(f"`data` must be CaptionedImages, got {type(data).__name__}.")
    config = ClipTrainingConfig() if config is None else config
    if not isinstance(config, ClipTrainingConfig):
        raise TypeError(f"`config` must be a ClipTrainingConfig, got {type(config).__name__}.")
    every = check_int("checkpoint_every", checkpoint_every, minimum=0)
    if len(data) < config.batch_size:
        raise ValueError(f"`data` holds {len(data)} images, fewer than `batch_size` {config.batch_size}.")
    side = int(data.pixels.shape[-1])
    shape = config.shape if side == config.shape.image_size else ClipShape(image_size=side, patch_size=side // 4)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.cpu_threads)
    try:
        return _train(data, config, shape, progress, None if checkpoint_dir is None else Path(checkpoint_dir), every)
    finally:
        torch.set_num_threads(threads)


def _train(data: CaptionedImages, config: ClipTrainingConfig, shape: ClipShape, progress: bool,
           checkpoint_dir: Path | None, every: int) -> ClipTrainingResult:
    tokenizer = word_tokenizer(training_words(data.prompts), model_max_length=shape.model_max_length)
    processor = build_processor(tokenizer, shape.image_size)
    model = build_clip(tokenizer, shape, seed=config.seed).train()
    generator = torch.Generator().manual_seed(config.seed)
    # every image and every caption goes through the processor once
    pixel_values = processor(images=to_pil(data.pixels), return_tensors="pt")["pixel_values"]
    captions = [p for per in data.prompts for p in per]
    first = [sum(len(per) for per in data.prompts[:c]) for c in range(len(data.prompts))]
    tokens = processor(text=captions, padding="max_length", max_length=shape.model_max_length, return_tensors="pt")
    labels = torch.as_tensor(data.labels, dtype=torch.int64)
    counts = torch.tensor([len(per) for per in data.prompts])
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

    def rate(step: int) -> float:  # linear warm-up, then a cosine decay to 0
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    summary = {"config": asdict(config), "data": data.name, "images": len(data)}
    history: list[dict[str, float]] = []
    last: Path | None = None
    t0, cpu0 = time.perf_counter(), time.process_time()
    step = 0
    try:
        with interrupts.stop_at_step_boundaries():
            for step in tqdm(range(config.steps), desc="miniature CLIP", disable=not progress):
                interrupts.check()
                idx = _random_batch(len(labels), config.batch_size, generator)
                y = labels[idx]
                pick = (torch.rand(len(idx), generator=generator) * counts[y]).long()
                rows = torch.tensor(first)[y] + pick
                images = _shift(pixel_values[idx], config.max_shift, generator)
                out = model.get_image_features(pixel_values=images)
                image_embeds = out if isinstance(out, torch.Tensor) else out.pooler_output
                out = model.get_text_features(input_ids=tokens["input_ids"][rows],
                                              attention_mask=tokens["attention_mask"][rows])
                text_embeds = out if isinstance(out, torch.Tensor) else out.pooler_output
                loss = clip_loss(image_embeds, text_embeds, model.logit_scale.exp())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                with torch.no_grad():
                    model.logit_scale.clamp_(0, math.log(MAX_LOGIT_SCALE))
                if step % 50 == 0 or step == config.steps - 1:
                    history.append({"step": step, "loss": round(loss.item(), 6),
                                    "logit_scale": round(model.logit_scale.exp().item(), 4)})
                if every and checkpoint_dir is not None and (step + 1) % every == 0 and step + 1 < config.steps:
                    last = _checkpoint(model.eval(), processor, checkpoint_dir, step + 1, summary)
                    model.train()
    except KeyboardInterrupt:
        raise ClipTrainingInterrupted(step, last) from None
    return ClipTrainingResult(model.eval(), processor, history, time.perf_counter() - t0, time.process_time() - cpu0)
