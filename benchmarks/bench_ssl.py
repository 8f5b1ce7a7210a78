"""Benchmark of lesson 4: the miniature CLIP and self-supervised pre-training on the digits.

    python benchmarks/bench_ssl.py     # about 3 minutes on an idle 2-core machine

Writes ``benchmarks/results/ssl.json``. Rows:

* calibration of the machine (10 million Python additions; a 2048² float32 matrix product on one
  thread; the 1-minute load average when the run started), so the times below can be compared;
* the miniature CLIP trained again with the shipped recipe (seconds, CPU seconds), and whether
  the weights equal the shipped ones bit for bit (same seed, same thread count);
* zero-shot accuracy of the shipped model on the 360 held-out digits (i % 5 == 0) for several
  wordings: the trained templates, and wordings it never saw;
* label efficiency: for 1 %, 10 % and 100 % of the 1,437 training labels (stratified, at least one
  image per digit), 5 seeds each, the accuracy on the held-out digits of (a) logistic regression
  on frozen SimCLR features, (b) the same logistic regression on the 64 raw pixels, (c) the same
  network trained from scratch on the labels; mean and sample standard deviation. Seed s
  pre-trains encoder s (on the unlabelled training images) and draws label subset s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from results_file import calibration_rows, machine, row, write

from medai_lessons.self_supervised import digit_clip_path, held_out_digits, load_digit_clip, training_digits
from medai_lessons.self_supervised.clip_model import zero_shot_accuracy
from medai_lessons.self_supervised.simclr import (
    encode,
    label_subset,
    linear_probe_accuracy,
    pretrain_simclr,
    scratch_accuracy,
)
from medai_lessons.self_supervised.train_clip import ClipTrainingConfig, train_clip

SEEDS = range(5)
FRACTIONS = {"1%": 0.01, "10%": 0.1, "100%": 1.0}
#: wordings: the first is the plain template; the next three were trained; the last were never seen
TEMPLATES = {
    "plain template": "a handwritten {word}",
    "template 'the digit {digit}'": "the digit {digit}",
    "template '{digit}'": "{digit}",
    "template '手書きの{digit}'": "手書きの{digit}",
    "untrained template '{word}'": "{word}",
    "untrained template 'a photo of a {word}'": "a photo of a {word}",
    "untrained template 'a picture of the number {digit}'": "a picture of the number {digit}",
}


def clip_rows() -> list[dict]:
    config = ClipTrainingConfig()
    result = train_clip(training_digits(), config, progress=False)
    from safetensors.torch import load_file

    shipped = load_file(Path(digit_clip_path()) / "model.safetensors")
    ours = result.model.state_dict()
    same = all(torch.equal(ours[k].cpu(), v) for k, v in shipped.items())
    size = sum(f.stat().st_size for f in Path(digit_clip_path()).rglob("*") if f.is_file())
    rows = [
        row("miniature CLIP training seconds", round(result.seconds, 1), "s", "<= 600 on 2 CPU cores",
            result.seconds <= 600),
        row("miniature CLIP training CPU seconds", round(result.cpu_seconds, 1), "s"),
        row("miniature CLIP torch threads", config.cpu_threads, "threads"),
        row("miniature CLIP retrained equals shipped", same, "bit-identical", "same seed and threads", same),
        row("miniature CLIP shipped size", round(size / 1e6, 2), "MB", "<= 4", size <= 4e6),
        row("miniature CLIP parameters", sum(p.numel() for p in result.model.parameters()), "parameters"),
    ]
    model, processor = load_digit_clip()
    for name, template in TEMPLATES.items():
        accuracy = zero_shot_accuracy(model, processor, template)
        target = ">= 0.90" if name == "plain template" else None
        rows.append(row(f"zero-shot accuracy, {name}", accuracy, "share", target,
                        accuracy >= 0.9 if target else None))
    return rows


def label_efficiency_rows() -> list[dict]:
    train, test = training_digits(), held_out_digits()
    flat = lambda p: p.reshape(len(p), -1).astype(np.float64)  # noqa: E731
    scores: dict[tuple[str, str], list[float]] = {}
    pretrain_seconds, pretrain_cpu = [], []
    for seed in SEEDS:
        result = pretrain_simclr(train.pixels, seed=seed)
        pretrain_seconds.append(result.seconds)
        pretrain_cpu.append(result.cpu_seconds)
        features, test_features = encode(result.encoder, train.pixels), encode(result.encoder, test.pixels)
        for label, fraction in FRACTIONS.items():
            idx = label_subset(train.labels, fraction, seed)
            y = train.labels[idx]
            scores.setdefault((label, "linear probe on SimCLR features"), []).append(
                linear_probe_accuracy(features[idx], y, test_features, test.labels))
            scores.setdefault((label, "same classifier on raw pixels"), []).append(
                linear_probe_accuracy(flat(train.pixels[idx]), y, flat(test.pixels), test.labels))
            scores.setdefault((label, "small network from scratch"), []).append(
                scratch_accuracy(train.pixels[idx], y, test.pixels, test.labels, seed=seed))
    rows = [
        row("SimCLR pre-training seconds (mean of 5 seeds)", round(float(np.mean(pretrain_seconds)), 1), "s",
            "<= 300 on 2 CPU cores", max(pretrain_seconds) <= 300),
        row("SimCLR pre-training CPU seconds (mean of 5 seeds)", round(float(np.mean(pretrain_cpu)), 1), "s"),
    ]
    for label, fraction in list(FRACTIONS.items())[:2]:  # 100 % is the whole training set, 1,437
        rows.append(row(f"labelled images at {label}", len(label_subset(train.labels, fraction, 0)), "values"))
    for (label, method), values in scores.items():
        rows.append(row(f"{method}, {label} labels, mean", round(float(np.mean(values)), 4), "share"))
        rows.append(row(f"{method}, {label} labels, sd", round(float(np.std(values, ddof=1)), 4), "share"))
    return rows


def main() -> None:
    torch.set_num_threads(1)
    rows = calibration_rows() + clip_rows() + label_efficiency_rows()
    write("ssl", "Lesson 4: miniature CLIP and self-supervised pre-training (CPU)",
          machine("torch threads 1", f"torch {torch.__version__}"), rows)


if __name__ == "__main__":
    main()
