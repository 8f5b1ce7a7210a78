r"""Train a miniature Stable Diffusion from scratch on the digits: VAE first, then U-Net and CLIP together.

The same four parts as SD 1.x (Rombach et al. 2022), as diffusers / transformers classes:

* ``AutoencoderKL`` with three blocks (f = 4): $x \in \mathbb{R}^{3\times32\times32}
  \to z \in \mathbb{R}^{4\times8\times8}$, trained on
  $\lVert x - D(E(x))\rVert^2 + \beta\,\mathrm{KL}$ (Rombach et al. 2022, Sec. 3.1, a small
  KL weight $\beta$);
* a ``CLIPTextModel`` (2 layers, width 64) over :func:`~.tokenizer.word_tokenizer`;
* a ``UNet2DConditionModel`` with cross-attention on the text embeddings;
* a ``DDIMScheduler`` with the linear schedule $\beta_t$ from $10^{-4}$ to $0.02$ over
  $T = 1000$ (Ho et al. 2020, Sec. 4).

Phase 2 is DDPM's loss on latents with prompt dropout (Ho & Salimans 2022, Algorithm 1):

$$\mathcal{L} = \mathbb{E}\,\bigl\lVert \epsilon - \epsilon_\theta\bigl(\sqrt{\bar\alpha_t}\,z_0 +
\sqrt{1-\bar\alpha_t}\,\epsilon,\ t,\ \tau_\theta(y')\bigr)\bigr\rVert^2,\quad
y' = \varnothing \text{ with probability } p_\text{uncond}.$$

The latents are multiplied by $\gamma = 1/\mathrm{std}(z)$ (diffusers' ``scaling_factor``), as
SD 1.x does with 0.18215. The U-Net weights saved are an exponential moving average with
diffusers' ``EMAModel`` update and warm-up, written out in :func:`_ema_step` (see there why).

Notation (code name ↔ symbol ↔ diffusers name):

| code                | symbol                 | diffusers                     |
|---------------------|------------------------|-------------------------------|
| ``z0``              | $\gamma\,\mu_E(x)$     | ``latents``                   |
| ``eps``             | $\epsilon$             | ``noise``                     |
| ``alpha_bar_t``     | $\bar\alpha_t$         | ``alphas_cumprod[t]``         |
| ``p_uncond``        | $p_\text{uncond}$      | —                             |
| ``scaling_factor``  | $\gamma$               | ``vae.config.scaling_factor`` |
| ``vae_steps``, ``unet_steps`` | optimiser updates of each phase | ``max_train_steps`` |
"""

from __future__ import annotations

import copy
import json
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
from medai_lessons.data import _next_epoch_batch

from .._checks import check_int, check_output_path, check_path, check_real, check_seed
from ..limits import MAX_CPU_THREADS, MAX_MINI_SD_TEXT_WIDTH, MAX_MINI_SD_WIDTH, MAX_TRAIN_TIMESTEPS
from .captioned_images import CaptionedImages, drop_prompts, load_captioned_images, training_words

__all__ = ["DigitSDConfig", "build_digit_components", "check_out", "train_digit_pipeline"]


@dataclass(frozen=True)
class DigitSDConfig:
    """Every choice of the miniature SD; saved next to the weights as ``training.json``."""

    data: str = "digits"
    vae_steps: int = 800
    unet_steps: int = 2000
    batch_size: int = 64
    vae_learning_rate: float = 1e-3
    learning_rate: float = 1e-3
    kl_weight: float = 1e-5
    p_uncond: float = 0.15
    ema_decay: float = 0.999
    seed: int = 0
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    text_hidden_size: int = 64
    unet_channels: tuple[int, int] = (64, 128)
    vae_channels: tuple[int, int, int] = (16, 32, 32)
    model_max_length: int = 32
    save_fp16: bool = True
    #: torch threads on the CPU. A re-run with the same count gives bit-identical weights (the
    #: sums are split the same way); two use both cores of a 2-core machine (1.5x faster when
    #: idle), one is faster on a machine busy with other work. The shipped model used 2.
    cpu_threads: int = 2
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("vae_steps", self.vae_steps, minimum=1)
        check_int("unet_steps", self.unet_steps, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_real("learning_rate", self.learning_rate, positive=True)
        check_real("vae_learning_rate", self.vae_learning_rate, positive=True)
        check_real("kl_weight", self.kl_weight, non_negative=True)
        p = check_real("p_uncond", self.p_uncond, non_negative=True)
        if p > 1:
            raise ValueError(f"`p_uncond` must be <= 1, got {p}.")
        d = check_real("ema_decay", self.ema_decay, non_negative=True)
        if d >= 1:
            raise ValueError(f"`ema_decay` must be < 1, got {d}.")
        check_seed(self.seed)
        check_int("cpu_threads", self.cpu_threads, minimum=1, maximum=MAX_CPU_THREADS, why="a sane thread count")
        if not isinstance(self.data, str):
            raise TypeError(f"`data` must be a str such as 'digits', got {type(self.data).__name__}.")
        check_int("num_train_timesteps", self.num_train_timesteps, minimum=2, maximum=MAX_TRAIN_TIMESTEPS,
                  why="a sane T")
        start = check_real("beta_start", self.beta_start, positive=True)
        end = check_real("beta_end", self.beta_end, positive=True)
        if not start < end < 1:
            raise ValueError(f"`beta_start` < `beta_end` < 1 must hold, got {start} and {end}.")
        hidden = check_int("text_hidden_size", self.text_hidden_size, minimum=2, maximum=MAX_MINI_SD_TEXT_WIDTH,
                           why="a miniature")
        if hidden % 2:
            raise ValueError(f"`text_hidden_size` must be even (two attention heads), got {hidden}.")
        check_int("model_max_length", self.model_max_length, minimum=8, maximum=77, why="CLIP's context")
        for name, widths, count in (("unet_channels", self.unet_channels, 2), ("vae_channels", self.vae_channels, 3)):
            if not isinstance(widths, tuple | list) or len(widths) != count:
                raise ValueError(f"`{name}` must be {count} channel widths, got {widths!r}.")
            for width in widths:
                if check_int(name, width, minimum=8, maximum=MAX_MINI_SD_WIDTH, why="a miniature") % 8:
                    raise ValueError(f"`{name}` widths must be multiples of 8 (group norm), got {widths!r}.")
        if not isinstance(self.save_fp16, bool):
            raise TypeError(f"`save_fp16` must be True or False, got {type(self.save_fp16).__name__}.")
        if not isinstance(self.extra, dict):
            raise TypeError(f"`extra` must be a dict, got {type(self.extra).__name__}.")


def build_digit_components(tokenizer: Any, config: DigitSDConfig) -> dict[str, Any]:
    """Fresh (random) VAE, text encoder, U-Net and scheduler for ``config``; seeded by ``config.seed``."""
    if not callable(tokenizer) or not all(hasattr(tokenizer, a) for a in ("bos_token_id", "eos_token_id", "__len__")):
        raise TypeError(f"`tokenizer` must be a CLIPTokenizer, got {type(tokenizer).__name__}.")
    if not isinstance(config, DigitSDConfig):
        raise TypeError(f"`config` must be a DigitSDConfig, got {type(config).__name__}.")
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(config.seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=config.vae_channels,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=config.text_hidden_size,
            intermediate_size=2 * config.text_hidden_size,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=config.model_max_length,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=config.unet_channels,
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=config.text_hidden_size,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    scheduler = DDIMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_start=config.beta_start,
        beta_end=config.beta_end,
        beta_schedule="linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="epsilon",
    )
    return {"vae": vae, "text_encoder": text_encoder, "unet": unet, "scheduler": scheduler, "tokenizer": tokenizer}


def _batches(n: int, batch_size: int, generator: torch.Generator):
    """Endless shuffled index batches (a new permutation each epoch, as :func:`train_ddpm` draws them)."""
    perm, pos = torch.empty(0, dtype=torch.int64), 0
    while True:
        idx, perm, pos = _next_epoch_batch(perm, pos, n, batch_size, generator)
        yield idx


def _train_vae(
    vae: Any, data: CaptionedImages, config: DigitSDConfig, accelerator: Any, generator: torch.Generator
) -> list:
    optimizer = torch.optim.AdamW(vae.parameters(), lr=config.vae_learning_rate, weight_decay=0.0)
    vae, optimizer = accelerator.prepare(vae, optimizer)
    history = []
    batches = _batches(len(data), config.batch_size, generator)
    for step in tqdm(range(config.vae_steps), desc="autoencoder", disable=not accelerator.is_main_process):
        interrupts.check()  # Ctrl-C or SIGTERM stops here, between two steps
        x = data.images[next(batches)].to(accelerator.device)
        posterior = vae.encode(x).latent_dist
        eps = torch.randn(posterior.mean.shape, generator=generator).to(accelerator.device)
        z = posterior.mean + posterior.std * eps
        recon = vae.decode(z).sample
        rec = F.mse_loss(recon, x)
        loss = rec + config.kl_weight * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        optimizer.step()
        if step % 50 == 0 or step == config.vae_steps - 1:
            history.append({"step": step, "reconstruction_mse": round(rec.item(), 6)})
    return history


@torch.no_grad()
def _latents(vae: Any, images: torch.Tensor, device: torch.device) -> torch.Tensor:
    out = [vae.encode(images[i : i + 256].to(device)).latent_dist.mean for i in range(0, len(images), 256)]
    return torch.cat(out).cpu()


def _warmup_decay(step: int, decay: float) -> float:
    r"""The EMA decay used after 0-based update ``step`` $k$: $d_k = \min\bigl(d, \frac{1+k}{10+k}\bigr)$.

    diffusers' ``EMAModel`` uses the same $d_k$ from the second update on; at the first it copies
    the weights (decay 0) where this keeps a tenth of the initial ones (``tests/test_minisd.py``).
    """
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def _ema_step(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    r"""$\bar\theta \leftarrow d\,\bar\theta + (1-d)\,\theta$ in place: ``EMAModel.step`` at decay ``d``.

    The shipped miniature was trained with this update, so it stays: diffusers' ``EMAModel`` would
    copy the weights at the first update instead of keeping a tenth of the initial ones, and
    change the shipped weights that ``sd train-digits`` reproduces.
    """
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach().to(p_ema.device), 1 - decay)


def _pick_prompts(
    prompts_per_label: tuple[tuple[str, ...], ...],
    labels: list[int],
    idx: torch.Tensor,
    p_uncond: float,
    generator: torch.Generator,
) -> list[str]:
    """One random template per image, then Algorithm 1's prompt dropout (Ho & Salimans 2022, line 3)."""
    pick = torch.rand(len(idx), generator=generator)
    prompts = []
    for i, u in zip(idx.tolist(), pick.tolist(), strict=True):
        templates = prompts_per_label[labels[i]]
        prompts.append(templates[int(u * len(templates))])
    return drop_prompts(prompts, p_uncond, generator)


def _train_unet(
    components: dict[str, Any],
    z0_all: torch.Tensor,
    data: CaptionedImages,
    config: DigitSDConfig,
    accelerator: Any,
    generator: torch.Generator,
) -> tuple[Any, list]:
    r"""Phase 2: the U-Net and the text encoder learn $\epsilon_\theta(z_t, t, \tau_\theta(y'))$ on the latents.

    Returns the EMA copy of the U-Net (the weights that are saved) and the loss every 50 steps.
    """
    # 1. An EMA copy of the U-Net, and one AdamW over the U-Net and the text encoder
    unet, text_encoder = components["unet"], components["text_encoder"]
    tokenizer, scheduler = components["tokenizer"], components["scheduler"]
    ema = copy.deepcopy(unet).requires_grad_(False)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    unet, text_encoder, optimizer = accelerator.prepare(unet, text_encoder, optimizer)
    device = accelerator.device
    alphas_cumprod = scheduler.alphas_cumprod.to(device)
    labels = data.labels.tolist()
    history = []
    batches = _batches(len(data), config.batch_size, generator)
    for step in tqdm(range(config.unet_steps), desc="U-Net + text encoder", disable=not accelerator.is_main_process):
        interrupts.check()
        # 2. A batch of latents z_0 and their prompts y', some of them dropped to ""
        idx = next(batches)
        z0 = z0_all[idx].to(device)
        prompts = _pick_prompts(data.prompts, labels, idx, config.p_uncond, generator)
        ids = tokenizer(
            prompts, padding="max_length", max_length=config.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids

        # 3. Noise them at random steps t: z_t = sqrt(ᾱ_t) z_0 + sqrt(1 - ᾱ_t) ε
        t = torch.randint(0, config.num_train_timesteps, (len(idx),), generator=generator)
        eps = torch.randn(z0.shape, generator=generator)
        t, eps = t.to(device), eps.to(device)
        a = alphas_cumprod[t].view(-1, 1, 1, 1)
        z_t = a.sqrt() * z0 + (1 - a).sqrt() * eps  # Ho et al. 2020, Eq. (4)

        # 4. Predict the noise from z_t, t and the prompt, and step on || ε - ε_θ ||²
        text = text_encoder(ids.to(device))[0]
        eps_theta = unet(z_t, t, encoder_hidden_states=text).sample
        loss = F.mse_loss(eps_theta, eps)  # Ho et al. 2020, Eq. (14)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        optimizer.step()

        # 5. Move the EMA weights towards the new ones, and record the loss
        _ema_step(ema, accelerator.unwrap_model(unet), _warmup_decay(step, config.ema_decay))
        if step % 50 == 0 or step == config.unet_steps - 1:
            history.append({"step": step, "loss": round(loss.item(), 6)})
    return ema, history


def check_out(out: Any) -> Path:
    """Return ``out`` as a Path if it is new (or an empty directory) in an existing folder."""
    out = check_path("out", out, must_exist=False).expanduser()  # refuses "", NUL bytes, non-paths
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"`out` {out} already exists and is not an empty directory; choose a new path.")
    if not out.parent.exists():
        raise ValueError(f"`out`: the parent directory {out.parent} does not exist.")
    return check_output_path("out", out, kind="dir")  # the parent must be writable


def train_digit_pipeline(
    out: str | os.PathLike[str],
    config: DigitSDConfig | None = None,
    *,
    device: str = "cpu",
    data: CaptionedImages | None = None,
) -> dict[str, Any]:
    """Train the miniature SD and save it with ``StableDiffusionPipeline.save_pretrained`` to ``out``.

    The directory is written under a temporary name next to ``out`` and renamed at the end,
    so an interrupted run leaves no half-written model at ``out``.

    Args:
        out: a new (or empty) directory.
        config: hyper-parameters; the default is the shipped model's recipe.
        device: ``"cpu"`` or ``"cuda"``.
        data: an already loaded :class:`~.captioned_images.CaptionedImages`
            (default: ``load_captioned_images(config.data)``).

    Returns:
        A summary: seconds and steps of each phase, steps/s, the scaling factor, the losses.
    """
    # 1. Check the config, the device and the output folder, then load the captioned images
    config = DigitSDConfig() if config is None else config
    if not isinstance(config, DigitSDConfig):
        raise TypeError(f"`config` must be a DigitSDConfig, got {type(config).__name__}.")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"`device` must be 'cpu' or 'cuda', got {device!r}.")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device` is 'cuda' but no CUDA device is available.")
    out = check_out(out)
    data = load_captioned_images(config.data) if data is None else data

    # 2. One accelerator; on the CPU a fixed thread count
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=device == "cpu")
    threads = torch.get_num_threads()
    if device == "cpu":
        # A fixed thread count: the same sums in the same order on every run (bit-identical
        # re-runs for the same `cpu_threads`).
        torch.set_num_threads(config.cpu_threads)
    # 3. Train both phases and save the pipeline (see _train's numbered steps)
    try:
        return _train(out, config, data, accelerator, device)
    finally:
        torch.set_num_threads(threads)


def _load_text_encoder_in_float32(config_file: Path) -> None:
    """Record float32 as the text encoder's load dtype; its weights stay float16 on disk.

    transformers 5 loads a model in its config's ``dtype`` and diffusers loads the U-Net and the
    VAE in float32, so without this the documented one-line
    ``StableDiffusionPipeline.from_pretrained(path)`` would mix float16 and float32.
    """
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _train(out: Path, config: DigitSDConfig, data: CaptionedImages, accelerator: Any, device: str) -> dict[str, Any]:
    """Both phases, then the pipeline saved to ``out``; returns the training record (``training.json``)."""
    from .tokenizer import word_tokenizer

    # 1. A seeded generator for every random draw, the word tokenizer and four fresh components
    generator = torch.Generator().manual_seed(config.seed)
    tokenizer = word_tokenizer(training_words(data.prompts), model_max_length=config.model_max_length)
    components = build_digit_components(tokenizer, config)

    t0, cpu0 = time.perf_counter(), time.process_time()
    with interrupts.stop_at_step_boundaries():  # both phases stop between two steps, never mid-step
        # 2. Phase 1: the autoencoder, then the latents' scale γ = 1 / std(z)
        vae_history = _train_vae(components["vae"], data, config, accelerator, generator)
        vae = accelerator.unwrap_model(components["vae"]).eval()
        t1 = time.perf_counter()
        z = _latents(vae, data.images, accelerator.device)
        scaling_factor = float(1.0 / z.std())
        vae.register_to_config(scaling_factor=scaling_factor)

        # 3. Phase 2: the U-Net and the text encoder on the scaled latents γ z
        ema, unet_history = _train_unet(components, z * scaling_factor, data, config, accelerator, generator)
    t2, cpu2 = time.perf_counter(), time.process_time()

    # 4. One diffusers pipeline with the EMA U-Net, on the CPU (in float16 if `save_fp16`)
    text_encoder = accelerator.unwrap_model(components["text_encoder"]).eval()
    pipeline = _assemble_pipeline(vae, text_encoder, tokenizer, ema.eval(), components["scheduler"], config)

    # 5. The training record: the config, the times, γ and both loss histories
    summary = {
        "config": asdict(config),
        "vae_seconds": round(t1 - t0, 2),
        "unet_seconds": round(t2 - t1, 2),
        # CPU seconds of this process (all its threads)
        "cpu_seconds": round(cpu2 - cpu0, 2),
        "vae_steps_per_second": round(config.vae_steps / (t1 - t0), 3),
        "unet_steps_per_second": round(config.unet_steps / (t2 - t1), 3),
        "device": device,
        "threads": torch.get_num_threads(),
        "scaling_factor": scaling_factor,
        "latent_mean": float(z.mean()),
        "vae_history": vae_history,
        "unet_history": unet_history,
    }

    # 6. Write everything under a temporary name beside `out`, then rename it to `out`
    _save_atomically(pipeline, summary, out, config)
    return summary


def _assemble_pipeline(vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                       config: DigitSDConfig) -> Any:
    """The trained parts as one ``StableDiffusionPipeline`` on the CPU, in float16 if ``config.save_fp16``."""
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    ).to("cpu")
    if config.save_fp16:
        pipeline.to(torch.float16)
    return pipeline


def _save_atomically(pipeline: Any, summary: dict[str, Any], out: Path, config: DigitSDConfig) -> None:
    """``save_pretrained`` plus ``training.json`` into a temporary folder, renamed to ``out`` at the end."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        pipeline.save_pretrained(tmp, safe_serialization=True)
        if config.save_fp16:
            _load_text_encoder_in_float32(tmp / "text_encoder" / "config.json")
        (tmp / "training.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
        try:
            if out.exists():
                out.rmdir()
            tmp.rename(out)
        except OSError:  # another run published into `out` meanwhile: rename never replaces a full folder
            raise ValueError(
                f"`out` {out} was filled by another run meanwhile; this run's model is discarded."
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
