"""GPU test of the miniature SD: train it on CUDA with the shipped recipe and check the same quality band.

Run with ``nox -s gpu`` (or ``pytest -m gpu tests/test_minisd_gpu.py -s``). It writes steps/s and the
measured faithfulness to ``benchmarks/results/minisd-gpu.json`` (format of the benchmark files).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from benchmarks.results_file import machine, merge, row  # noqa: E402
from medai_lessons.stable_diffusion import faithfulness, load_pipeline, sample_digits  # noqa: E402
from medai_lessons.stable_diffusion.train_digits import DigitSDConfig, train_digit_pipeline  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_cuda_training_reaches_the_cpu_quality_band(tmp_path):
    """The shipped recipe trained on CUDA reads >= 80 % as the prompted digit at s = 3, above s = 1."""
    summary = train_digit_pipeline(tmp_path / "mini", DigitSDConfig(), device="cuda")
    pipe = load_pipeline(tmp_path / "mini", device="cuda", dtype="float32")
    digits = list(range(10))
    labels = [d for d in digits for _ in range(8)]
    shares = {
        s: faithfulness(sample_digits(pipe, digits, list(range(8)), guidance_scale=s), labels) for s in (1.0, 3.0)
    }
    seconds = round(summary["vae_seconds"] + summary["unet_seconds"], 1)
    rows = [
        row("cuda_vae_steps_per_second", summary["vae_steps_per_second"], "steps/s"),
        row("cuda_unet_steps_per_second", summary["unet_steps_per_second"], "steps/s"),
        row("cuda_train_seconds", seconds, "s"),
        row("cuda_faithfulness_s1", round(shares[1.0], 4), "share"),
        row("cuda_faithfulness_s3", round(shares[3.0], 4), "share", ">= 0.8", shares[3.0] >= 0.8),
    ]
    merge("minisd-gpu", "Miniature SD trained on CUDA", machine(torch.cuda.get_device_name(0)), rows)
    assert shares[3.0] >= 0.8
    assert shares[3.0] > shares[1.0]
