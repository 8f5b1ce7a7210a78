r"""Classifier-free guidance, measured on the miniature Stable Diffusion: faithfulness against variety.

For each guidance scale $s$ the same seeds are drawn for every digit, and two numbers are
computed from the images:

* **faithfulness** — the share of images that a classifier trained on real digits
  (:func:`medai_lessons.diffusion.quality.digit_classifier`, logistic regression on the 8×8
  digits) reads as the digit the prompt asked for. The 32×32 images are averaged down to
  8×8 first (:func:`~.digits.to_classifier_pixels`).
* **variety** — the mean Euclidean distance between two images drawn for the *same* prompt
  with different seeds, on the 8×8 grey image in $[-1, 1]$:

  $$V = \frac{1}{|P|}\sum_{p \in P} \binom{n}{2}^{-1} \sum_{i<j} \lVert x_i^{(p)} - x_j^{(p)} \rVert_2.$$

  Identical images give 0; real digits of one class give the reference value
  (:func:`real_variety`). Guidance pushes every sample towards the most "typical" image
  of the prompt, so $V$ falls as $s$ grows (Ho & Salimans 2022, Sec. 4.1, Fig. 3).

:func:`cross_attention_maps` records, at every denoising step, how much each latent position
attends to each prompt token in the U-Net's cross-attention layers (Rombach et al. 2022,
Eq. 3: $\mathrm{softmax}(QK^\top/\sqrt d)$ with $Q$ from the latent, $K$ from the text);
:func:`cross_attention_over_steps` keeps the steps apart, for the layers at one grid size.

Notation (code name ↔ symbol ↔ diffusers name):

| code               | symbol            | diffusers          |
|--------------------|-------------------|--------------------|
| ``guidance_scale`` | $s$               | ``guidance_scale`` |
| ``faithfulness``   | share read as $y$ | —                  |
| ``variety``        | $V$               | —                  |
| ``probs``          | $\mathrm{softmax}(QK^\top/\sqrt d)$ | ``attention_probs`` |
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_seed
from .._deprecation import moved_names
from ._validate import check_guidance, check_num_inference_steps, check_pipeline, check_prompt
from .captioned_images import DIGIT_WORDS, to_classifier_pixels

__all__ = [
    "GUIDANCE_SCALES",
    "MEASURED_SCALES",
    "cross_attention_maps",
    "cross_attention_over_steps",
    "faithfulness",
    "guidance_sweep",
    "real_variety",
    "sample_digits",
    "variety",
]

#: The scales the figures draw; 1 means no guidance (the plain conditional model).
GUIDANCE_SCALES = (1.0, 2.0, 3.0, 5.0, 8.0, 15.0)

#: The scales the benchmark measures: ``GUIDANCE_SCALES`` and s = 0, the unconditional model.
MEASURED_SCALES = (0.0, *GUIDANCE_SCALES)


def _check_digits(digits: Any) -> list[int]:
    if isinstance(digits, str | bytes) or not isinstance(digits, Sequence):
        raise TypeError(f"`digits` must be a sequence of ints, got {type(digits).__name__}.")
    out = [check_int("digits", d, minimum=0) for d in digits]
    if not out or max(out) > 9:
        raise ValueError(f"`digits` must be a non-empty list of digits 0..9, got {list(digits)}.")
    return out


def sample_digits(
    pipeline: Any,
    digits: Sequence[int],
    seeds: Sequence[int],
    *,
    guidance_scale: float,
    num_inference_steps: int = 25,
    template: str = "a handwritten {word}",
    batch_size: int = 80,
) -> torch.Tensor:
    r"""Draw one image per (digit, seed) with diffusers' pipeline; seed ``k`` uses ``Generator().manual_seed(k)``.

    ``guidance_scale=0`` means $\hat\epsilon = \epsilon_u$, the model without the prompt: every image
    is drawn from the empty prompt (the one learnt by prompt dropout). diffusers itself would treat
    any $s \le 1$ as $s = 1$ and follow the prompt (:func:`~.stages.uses_guidance`).

    Returns:
        ``(len(digits) * len(seeds), 3, H, W)`` in $[-1, 1]$, ordered digit-major.
    """
    check_pipeline(pipeline)
    digits = _check_digits(digits)
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence):
        raise TypeError(f"`seeds` must be a sequence of integers, got {type(seeds).__name__}.")
    seeds = [check_seed(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("`seeds` must not be empty.")
    guidance_scale = check_guidance(guidance_scale)
    num_inference_steps = check_num_inference_steps(num_inference_steps, "num_inference_steps")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if not isinstance(template, str) or "{" not in template:
        raise ValueError("`template` must contain {word} or {digit}.")
    jobs = [(d, s) for d in digits for s in seeds]
    size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
    pipeline.set_progress_bar_config(disable=True)
    out = []
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        if guidance_scale == 0:  # eps_hat = eps_u: the empty prompt, one pass per step
            prompts = [""] * len(chunk)
        else:
            prompts = [template.format(word=DIGIT_WORDS[d], digit=d) for d, _ in chunk]
        generators = [torch.Generator("cpu").manual_seed(s) for _, s in chunk]
        images = pipeline(
            prompts,
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale if guidance_scale > 0 else 1.0,
            generator=generators,
            height=size,
            width=size,
            output_type="np",
        ).images
        out.append(torch.as_tensor(images).permute(0, 3, 1, 2) * 2 - 1)
    return torch.cat(out).float()


def faithfulness(images: torch.Tensor, digits: Sequence[int]) -> float:
    """Share of ``images`` that the real-digit classifier reads as the matching entry of ``digits``."""
    from medai_lessons.diffusion.quality import digit_classifier

    digits = _check_digits(digits)
    x = to_classifier_pixels(images).reshape(len(images), 64).double().numpy()
    if len(digits) != len(x):
        raise ValueError(f"`digits` must have one entry per image ({len(x)}), got {len(digits)}.")
    predicted = digit_classifier().predict(x)
    return float(np.mean(predicted == np.asarray(digits)))


def variety(images: torch.Tensor, groups: Sequence[int]) -> float:
    """Mean pairwise L2 distance between 8×8 images of the same group (see the module docstring)."""
    x = to_classifier_pixels(images).reshape(len(images), 64).double()
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence):
        raise TypeError(f"`groups` must be a sequence of labels, got {type(groups).__name__}.")
    groups = [check_int("groups", g) for g in groups]
    if len(groups) != len(x):
        raise ValueError(f"`groups` must have one entry per image ({len(x)}), got {len(groups)}.")
    per_group = []
    for g in sorted(set(groups)):
        members = x[[i for i, h in enumerate(groups) if h == g]]
        if len(members) < 2:
            raise ValueError(f"`groups`: group {g} has fewer than two images.")
        dists = [float((members[i] - members[j]).norm()) for i, j in itertools.combinations(range(len(members)), 2)]
        per_group.append(sum(dists) / len(dists))
    return float(sum(per_group) / len(per_group))


def real_variety(per_class: int = 8, *, seed: int = 0) -> float:
    """:func:`variety` of ``per_class`` real digits of each class (upsampled like the training images)."""
    from .captioned_images import load_captioned_images

    per_class = check_int("per_class", per_class, minimum=2)
    data = load_captioned_images("digits")
    g = torch.Generator().manual_seed(check_seed(seed))
    idx, groups = [], []
    for d in range(10):
        members = (data.labels == d).nonzero().flatten()
        pick = members[torch.randperm(len(members), generator=g)[:per_class]]
        idx += pick.tolist()
        groups += [d] * per_class
    return variety(data.images[idx], groups)


def guidance_sweep(
    pipeline: Any,
    scales: Sequence[float] = GUIDANCE_SCALES,
    *,
    seeds: Sequence[int] = tuple(range(8)),
    num_inference_steps: int = 25,
    template: str = "a handwritten {word}",
) -> list[dict[str, Any]]:
    """Faithfulness and variety for each guidance scale, on the same seeds for every digit.

    Returns:
        One row per scale: ``{"guidance_scale", "faithfulness", "variety", "per_digit"}``
        (``per_digit``: faithfulness of each digit 0..9).
    """
    if isinstance(scales, str) or not isinstance(scales, Sequence) or not scales:
        raise TypeError(f"`scales` must be a non-empty sequence of guidance scales, got {scales!r:.60}.")
    scales = [check_guidance(s, "scales") for s in scales]
    if isinstance(seeds, str) or not isinstance(seeds, Sequence) or len(seeds) < 2:
        raise ValueError(
            f"`seeds` must hold at least two seeds (variety compares images of one prompt), got {seeds!r:.60}."
        )
    seeds = [check_seed(x, "seeds") for x in seeds]
    digits = list(range(10))
    rows = []
    for s in scales:
        try:
            images = sample_digits(
                pipeline, digits, seeds, guidance_scale=s, num_inference_steps=num_inference_steps, template=template
            )
        except ValueError as exc:
            if "`images` must not contain NaN or infinity" not in str(exc):
                raise
            raise ValueError(f"`scales`: s = {s:g} is too large, the images came out NaN or infinite.") from None
        labels = [d for d in digits for _ in seeds]
        n = len(seeds)
        per_digit = [faithfulness(images[i * n : (i + 1) * n], [d] * n) for i, d in enumerate(digits)]
        rows.append(
            {
                "guidance_scale": float(s),
                "faithfulness": round(faithfulness(images, labels), 4),
                "variety": round(variety(images, labels), 4),
                "per_digit": [round(v, 4) for v in per_digit],
            }
        )
    return rows


class _CrossAttentionRecorder:
    """An attention processor that computes $\\mathrm{softmax}(QK^\\top/\\sqrt d)$ by hand and keeps it."""

    def __init__(self, name: str, store: dict[str, list[torch.Tensor]]) -> None:
        self.name = name
        self.store = store

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(query, key, None)  # (batch*heads, latent positions, tokens)
        batch = hidden_states.shape[0]
        self.store.setdefault(self.name, []).append(probs.reshape(batch, -1, *probs.shape[1:]).mean(1).detach().cpu())
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        return attn.to_out[1](attn.to_out[0](out))


def cross_attention_maps(
    pipeline: Any,
    prompt: str,
    *,
    seed: int = 0,
    guidance_scale: float = 3.0,
    num_inference_steps: int = 25,
) -> tuple[list[str], np.ndarray]:
    r"""Which latent positions attend to which prompt tokens, averaged over heads, layers and steps.

    Only the layers whose latent grid is the full $h \times w$ (the outer down and up
    blocks) are used, and only the conditional half of the guided batch.

    Returns:
        ``(tokens, maps)``: the prompt's tokens including ``<|startoftext|>`` and
        ``<|endoftext|>``, and ``maps`` of shape ``(len(tokens), h, w)``; each latent
        position's attention over all 32 token slots sums to 1, so a map shows the
        share of attention that token received.
    """
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    from .pipeline import generate

    size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
    with _recording_cross_attention(pipeline) as store:
        generate(pipeline, prompt, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                 seed=seed, height=size, width=size, output_type="np", progress=False)
    return _attention_maps_from_record(pipeline, prompt, store)


def cross_attention_over_steps(
    pipeline: Any,
    prompt: str,
    *,
    grid: int | None = None,
    seed: int = 0,
    guidance_scale: float = 3.0,
    num_inference_steps: int = 25,
) -> tuple[list[str], np.ndarray]:
    r"""The attention each prompt token receives at every denoising step, on one grid size.

    Like :func:`cross_attention_maps`, but the steps are kept apart and the layers can be
    chosen by the side of the latent grid they work on: ``grid=8`` the outer blocks of the
    digit miniature, ``grid=4`` its inner ones (the second down block, the middle block and
    the first up block). Averaged over heads and over the layers at that grid; conditional
    pass only.

    Args:
        grid: side of the grid whose layers are averaged; ``None`` is the full latent grid.

    Returns:
        ``(tokens, maps)``: the prompt's tokens and ``maps`` of shape
        ``(num_inference_steps, len(tokens), grid, grid)``; at each step a position's
        attention over all token slots sums to 1.
    """
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    full = pipeline.unet.config.sample_size
    grid = full if grid is None else check_int("grid", grid, minimum=1)
    sides = [full // 2**i for i in range(len(pipeline.unet.config.block_out_channels))]
    if grid not in sides:
        raise ValueError(f"`grid` must be the side of one of the U-Net's grids, one of {sides}; got {grid}.")
    from .pipeline import generate

    size = full * pipeline.vae_scale_factor
    with _recording_cross_attention(pipeline) as store:
        generate(pipeline, prompt, num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                 seed=seed, height=size, width=size, output_type="np", progress=False)
    return _attention_by_step_from_record(pipeline, prompt, store, grid)


@contextmanager
def _recording_cross_attention(pipeline: Any) -> Iterator[dict[str, list[torch.Tensor]]]:
    """Within the block, every cross-attention layer of the U-Net keeps its weights in the yielded dict.

    One record per layer name: a list with one ``(batch, latent positions, tokens)`` tensor per
    U-Net call, averaged over heads. The U-Net's own processors are put back on exit.
    """
    check_pipeline(pipeline)
    unet = pipeline.unet
    saved = dict(unet.attn_processors)
    store: dict[str, list[torch.Tensor]] = {}
    unet.set_attn_processor(
        {
            name: (_CrossAttentionRecorder(name, store) if name.endswith("attn2.processor") else proc)
            for name, proc in saved.items()
        }
    )
    try:
        yield store
    finally:
        unet.set_attn_processor(saved)


def _attention_maps_from_record(
    pipeline: Any, prompt: str, store: dict[str, list[torch.Tensor]]
) -> tuple[list[str], np.ndarray]:
    """The ``(tokens, maps)`` of :func:`cross_attention_maps` from a record of one guided run of ``prompt``."""
    check_pipeline(pipeline)
    check_prompt("prompt", prompt)
    unet = pipeline.unet
    h = w = unet.config.sample_size
    maps = [torch.stack(v)[:, -1] for v in store.values() if v[0].shape[-2] == h * w]  # cond half is last
    if not maps:
        raise ValueError(
            "`pipeline` has no cross-attention layer at the full latent grid "
            f"({h}x{w}); use a pipeline whose outer U-Net blocks attend to the prompt, such as load_digit_pipeline()."
        )
    mean = torch.cat(maps).mean(0)  # (h*w, tokens)
    ids = pipeline.tokenizer(prompt).input_ids
    tokens = pipeline.tokenizer.convert_ids_to_tokens(ids)
    return tokens, mean[:, : len(ids)].T.reshape(len(ids), h, w).double().numpy()


def _attention_by_step_from_record(
    pipeline: Any, prompt: str, store: dict[str, list[torch.Tensor]], grid: int
) -> tuple[list[str], np.ndarray]:
    """The ``(tokens, maps)`` of :func:`cross_attention_over_steps` from a record of one guided run."""
    sides = sorted({round(v[0].shape[-2] ** 0.5) for v in store.values()}, reverse=True)
    layers = [torch.stack(v)[:, -1] for v in store.values() if v[0].shape[-2] == grid * grid]  # cond half is last
    if not layers:
        raise ValueError(f"`grid` must be the side of a grid the U-Net attends on, one of {sides}; got {grid}.")
    mean = torch.stack(layers).mean(0)  # (steps, grid*grid, tokens)
    ids = pipeline.tokenizer(prompt).input_ids
    tokens = pipeline.tokenizer.convert_ids_to_tokens(ids)
    maps = mean[:, :, : len(ids)].transpose(1, 2).reshape(mean.shape[0], len(ids), grid, grid)
    return tokens, maps.double().numpy()


def unet_calls_per_image(num_inference_steps: int, guidance_scale: float) -> int:
    """U-Net evaluations per image: two per step with guidance ($s > 1$), one without.

    (Called ``steps_per_image`` before, though it counts U-Net calls, not steps.)
    """
    steps = check_num_inference_steps(num_inference_steps)
    return steps * (2 if check_guidance(guidance_scale) > 1 else 1)


#: Old names: ``steps_per_image`` is now ``unet_calls_per_image``.
__getattr__ = moved_names(__name__, {"steps_per_image": f"{__name__}:unet_calls_per_image"})

