"""The ``medai-lessons ddpm`` command group, run through the hub."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch

from medai_lessons.cli import main

TINY = ["--batch-size", "32", "--channels", "8,8", "--time-dim", "8", "--warmup-steps", "1",
        "--num-train-timesteps", "20", "--cpu", "--no-progress"]
PRETRAINED = Path(__file__).parents[1] / "src/medai_lessons/diffusion/data/digits-ddpm.safetensors"


def _err_line(capsys) -> str:
    """The one line a failing command printed on stderr (a deprecated flag's warning aside)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip() and ": warning: " not in line]
    assert len(lines) == 1, lines
    return lines[0]


def test_cli_train_then_sample(tmp_path, capsys):
    """`ddpm train` on a tiny config writes checkpoints, a history and a grid; `ddpm sample` reads them."""
    out = tmp_path / "run"
    assert main(["ddpm", "train", "--train-steps", "6", "--checkpoint-every", "3", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote ema:" in printed and "wrote grid:" in printed and "wrote checkpoint:" in printed
    for name in ["digits-ddpm.safetensors", "digits-ddpm-raw.safetensors", "digits-ddpm-history.json",
                 "samples-ddim.png", "checkpoints/step-0000006/train-state.safetensors"]:
        assert (out / name).is_file(), name
    assert not (tmp_path / "run.partial").exists()  # the staging folder became --out
    history = json.loads((out / "digits-ddpm-history.json").read_text())
    assert history["config"]["train_steps"] == 6 and len(history["losses"]) == 6
    sample = ["ddpm", "sample", "--checkpoint", str(out / "digits-ddpm.safetensors"), "--num-images", "4",
              "--no-progress", "--out", str(tmp_path / "s")]
    assert main([*sample, "--sampler", "ddim", "--num-inference-steps", "4"]) == 0
    assert (tmp_path / "s" / "samples-ddim4.png").read_bytes()[:4] == b"\x89PNG"
    assert "quality:" in capsys.readouterr().out
    assert main([*sample, "--sampler", "ddpm"]) == 0  # a second sampler's files sit beside the first's
    assert (tmp_path / "s" / "samples-ddpm20.png").is_file()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "samples-ddim4.png", "samples-ddim4.safetensors", "samples-ddpm20.png", "samples-ddpm20.safetensors"]


def test_cli_trains_on_a_medmnist_file_at_32px(tmp_path, capsys):
    """`--data medmnist:pneumoniamnist` reads MedMNIST's .npz layout (here a 6-image file made by the
    test, in the folder a download would use), trains at 32x32, and `ddpm sample` draws 32x32 images."""
    import numpy as np
    from safetensors.torch import load_file

    rng = np.random.default_rng(0)
    root = tmp_path / "medmnist"
    root.mkdir()
    np.savez(root / "pneumoniamnist.npz", train_images=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
             train_labels=np.array([[0], [1], [0], [1], [0], [1]]))
    out = tmp_path / "run"
    argv = ["ddpm", "train", "--data", "medmnist:pneumoniamnist", "--data-root", str(root), "--train-steps", "2",
            "--checkpoint-every", "0", *TINY, "--out", str(out)]
    assert main(argv) == 0
    grid = out / "samples-ddim.png"
    assert grid.read_bytes()[:4] == b"\x89PNG"
    argv = ["ddpm", "sample", "--checkpoint", str(out / "digits-ddpm.safetensors"), "--num-images", "2",
            "--num-inference-steps", "2", "--no-progress", "--out", str(tmp_path / "s")]
    assert main(argv) == 0
    assert tuple(load_file(tmp_path / "s" / "samples-ddim2.safetensors")["samples"].shape) == (2, 1, 32, 32)
    capsys.readouterr()
    assert main(["ddpm", "train", "--data", "mnist", "--out", str(tmp_path / "x")]) == 2
    assert "`--data` must be 'digits' or 'medmnist:<set>'" in _err_line(capsys)


def test_cli_sample_pretrained(tmp_path, capsys):
    """`ddpm sample --checkpoint pretrained` uses the packaged model and writes a grid."""
    argv = ["ddpm", "sample", "--checkpoint", "pretrained", "--num-inference-steps", "5", "--num-images", "4",
            "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert (tmp_path / "samples-ddim5.png").is_file()
    assert "samples-ddim5.safetensors" in capsys.readouterr().out


def test_cli_old_flag_names_still_work_and_warn(tmp_path, capsys):
    """`--num-steps` (old name of `--num-inference-steps`) still works and says what replaced it."""
    argv = ["ddpm", "sample", "--checkpoint", "pretrained", "--num-steps", "3", "--num-images", "2",
            "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert ("warning: `--num-steps` is deprecated and will be removed in a future release; "
            "use `--num-inference-steps` instead." in capsys.readouterr().err)
    assert (tmp_path / "samples-ddim3.png").is_file()



@pytest.mark.parametrize(
    ("argv", "old", "new", "dest", "value"),
    [
        (["ddpm", "train", "--steps", "7"], "--steps", "--train-steps", "train_steps", 7),
        (["ddpm", "train", "--num-train-steps", "50"], "--num-train-steps", "--num-train-timesteps",
         "num_train_timesteps", 50),
        (["ddpm", "train", "--lr", "0.01"], "--lr", "--learning-rate", "learning_rate", 0.01),
        (["ddpm", "sample", "--checkpoint", "x", "--num-steps", "9"], "--num-steps", "--num-inference-steps",
         "num_inference_steps", 9),
        (["sd", "generate", "--model", "m", "--prompt", "p", "--steps", "4"], "--steps", "--num-inference-steps",
         "num_inference_steps", 4),
        (["sd", "generate", "--model", "m", "--prompt", "p", "--guidance", "3"], "--guidance", "--guidance-scale",
         "guidance_scale", 3.0),
    ],
)
def test_every_old_flag_fills_the_new_one_and_warns_like_the_library(capsys, argv, old, new, dest, value):
    """Each old flag stores into its new flag and prints the sentence of the library's `FutureWarning`."""
    from medai_lessons._deprecation import renamed_message
    from medai_lessons.cli import build_parser

    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert f"warning: {renamed_message(old, new)}" in capsys.readouterr().err


def test_cli_missing_checkpoint_exits_2(tmp_path, capsys):
    """A missing checkpoint file is reported in one line with exit status 2."""
    assert main(["ddpm", "sample", "--checkpoint", str(tmp_path / "none.safetensors"), "--out", str(tmp_path)]) == 2
    assert "checkpoint file not found" in _err_line(capsys)


def _crafted(tmp_path: Path, name: str, **changes: str | None) -> Path:
    """The packaged checkpoint with some metadata entries replaced (None deletes one)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(PRETRAINED), "pt") as f:
        meta = dict(f.metadata())
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    path = tmp_path / name
    save_file(load_file(str(PRETRAINED)), str(path), metadata=meta)
    return path


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"model_config": json.dumps({"channels": [4096, 4096], "groups": 8, "in_channels": 1, "time_dim": 32})},
         "claims 2,181,957,697 weights, more than the limit"),
        ({"model_config": json.dumps({"channels": [64, 64], "groups": 8, "in_channels": 1, "time_dim": 32})},
         "the weights do not match `model_config` (conv_in.bias is (32,)"),
        ({"model_config": None}, "its metadata lacks `model_config`"),
        ({"schedule": json.dumps({"kind": "linear", "num_steps": 0, "beta_start": 1e-4, "beta_end": 0.02})},
         "`num_train_timesteps` in the metadata must lie in [1, 100000], got 0"),
        ({"schedule": json.dumps({"kind": "linear", "num_train_timesteps": 0})},
         "`num_train_timesteps` in the metadata must lie in [1, 100000], got 0"),
    ],
)
def test_cli_refuses_bad_checkpoint_metadata_in_one_line(tmp_path, capsys, changes, match):
    """Metadata that lies about the weights is refused before a model is built, naming `--checkpoint`."""
    path = _crafted(tmp_path, "c.safetensors", **changes)
    argv = ["ddpm", "sample", "--checkpoint", str(path), "--no-progress", "--out", str(tmp_path / "s")]
    assert main(argv) == 2
    line = _err_line(capsys)
    assert line.startswith("medai-lessons ddpm sample: error: `--checkpoint`") and match in line
    assert not (tmp_path / "s").exists()


def test_huge_claimed_checkpoint_fails_without_allocating(tmp_path):
    """A 575 kB file claiming channels [4096, 4096] fails in the header check: the meta device allocates nothing."""
    import resource

    from medai_lessons.diffusion import load_checkpoint

    config = {"channels": [4096, 4096], "groups": 8, "in_channels": 1, "time_dim": 32}
    path = _crafted(tmp_path, "huge.safetensors", model_config=json.dumps(config))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="more than the limit"):
        load_checkpoint(path)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000  # the model it claims would need 8.7 GB of float32 weights


def test_truncated_checkpoint_is_one_line(tmp_path, capsys):
    """Half a safetensors file is reported as not a safetensors file, naming `--checkpoint`."""
    path = tmp_path / "half.safetensors"
    data = PRETRAINED.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(["ddpm", "sample", "--checkpoint", str(path), "--out", str(tmp_path / "s")]) == 2
    assert "`--checkpoint` is not a safetensors file" in _err_line(capsys)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["ddpm", "train", "--train-steps", "0"], "`--train-steps` must be >= 1"),
        (["ddpm", "train", "--steps", "0"], "`--train-steps` must be >= 1"),
        (["ddpm", "train", "--learning-rate", "-1"], "`--learning-rate` must be > 0"),
        (["ddpm", "train", "--lr", "-1"], "`--learning-rate` must be > 0"),
        (["ddpm", "train", "--num-train-timesteps", "0"], "`--num-train-timesteps` must be >= 1"),
        (["ddpm", "train", "--channels", "32,x"], "`--channels` must be comma-separated integers"),
        (["ddpm", "train", "--channels", "32,32,32,32,32", "--cpu"],
         "`--channels` has 5 levels, so the image sides must be divisible by 16; the data are 8x8, which allows at "
         "most 4 levels"),
        (["ddpm", "train", "--checkpoint-every", "-1"], "`--checkpoint-every` must be >= 0"),
        (["ddpm", "sample", "--checkpoint", "pretrained", "--num-images", "0"], "`--num-images` must be >= 1"),
        (["ddpm", "sample", "--checkpoint", "pretrained", "--num-inference-steps", "2000"],
         "`--num-inference-steps` must be <= 1000 (the checkpoint's num_train_timesteps), got 2000"),
        (["ddpm", "sample", "--checkpoint", "pretrained", "--eta", "1e300"], "`--eta` must lie in [0, 1]"),
        (["ddpm", "sample", "--checkpoint", "pretrained", "--eta", "nan"], "`--eta` must be finite"),
    ],
)
def test_cli_bad_values_exit_2_naming_the_flag(argv, match, capsys, tmp_path):
    """Bad numbers are refused with exit status 2 and one line naming the flag."""
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    assert match in _err_line(capsys)


@pytest.mark.parametrize("command", [["ddpm", "train"], ["ddpm", "sample", "--checkpoint", "pretrained"]])
def test_cli_seed_beyond_64_bits_is_a_usage_error(command, capsys):
    """`--seed 2**64` is refused by the parser in one line naming --seed (not "Overflow when unpacking")."""
    with pytest.raises(SystemExit) as caught:
        main([*command, "--seed", str(2**64)])
    assert caught.value.code == 2
    assert "argument --seed: must lie in [0, 2**64 - 1], got 18446744073709551616" in _err_line(capsys)


@pytest.mark.parametrize("command", ["train", "sample"])
def test_cli_refuses_bad_output_places_before_work(tmp_path, capsys, command):
    """`--out` naming a file, a path inside a file, or an unwritable place is refused before any work."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    head = ["ddpm", "train", *TINY] if command == "train" else ["ddpm", "sample", "--checkpoint", "pretrained"]
    cases = [(afile, "is a file; name a folder"), (afile / "inside", f"lies inside the file {afile}")]
    if Path("/proc/self").is_dir():  # Linux: /proc accepts no new files, even for root
        cases.append((Path("/proc/medai-lessons-out"), "cannot write in /proc"))
    for out, match in cases:
        start = time.perf_counter()
        assert main([*head, "--out", str(out)]) == 2
        assert match in _err_line(capsys)
        assert time.perf_counter() - start < 5  # refused up front, not after a training run


def test_cli_train_refuses_a_used_out_unless_overwrite(tmp_path, capsys):
    """A second run into the same --out is refused; with --overwrite it replaces the old run entirely."""
    out = tmp_path / "run"
    assert main(["ddpm", "train", "--train-steps", "2", "--checkpoint-every", "0", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    (out / "stray.txt").write_text("from an older run")
    assert main(["ddpm", "train", "--train-steps", "3", *TINY, "--out", str(out)]) == 2
    assert "already holds files" in _err_line(capsys) and (out / "stray.txt").exists()
    assert main(["ddpm", "train", "--train-steps", "3", "--checkpoint-every", "0", *TINY, "--overwrite",
                 "--out", str(out)]) == 0
    assert not (out / "stray.txt").exists()  # runs never mix
    assert json.loads((out / "digits-ddpm-history.json").read_text())["config"]["train_steps"] == 3


def test_cli_diverging_run_stops_with_a_hint_and_strict_history(tmp_path, capsys):
    """`--learning-rate 1e30` stops at the first non-finite loss, suggests a smaller one, and writes no bare NaN."""
    out = tmp_path / "run"
    assert main(["ddpm", "train", "--train-steps", "8", "--learning-rate", "1e30", *TINY, "--out", str(out)]) == 2
    line = _err_line(capsys)
    assert "so training stopped; try a smaller `--learning-rate` (got 1e+30)" in line
    assert not out.exists() and not (tmp_path / "run.partial").exists()  # nothing half-written is left


def test_history_file_is_strict_json(tmp_path):
    """The history is parsed by a strict reader that rejects NaN and Infinity."""
    out = tmp_path / "run"
    assert main(["ddpm", "train", "--train-steps", "3", "--checkpoint-every", "0", *TINY, "--out", str(out)]) == 0

    def refuse(token: str) -> float:
        raise ValueError(f"non-standard JSON constant {token}")

    history = json.loads((out / "digits-ddpm-history.json").read_text(), parse_constant=refuse)
    assert all(math.isfinite(v) for v in history["losses"])


def test_cli_interrupt_then_resume_matches_an_uninterrupted_run(tmp_path, capsys, monkeypatch):
    """Ctrl-C at step 5 keeps step 3; --resume from it ends bit-identical (CPU) to a run never interrupted."""
    from safetensors.torch import load_file

    import medai_lessons.diffusion.train as train

    argv = ["ddpm", "train", "--train-steps", "6", "--checkpoint-every", "3", *TINY]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    real_loss, calls = train.ddpm_loss, []

    def interrupted_loss(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    out = tmp_path / "run"
    monkeypatch.setattr(train, "ddpm_loss", interrupted_loss)
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 130
    checkpoint = tmp_path / "run.partial" / "checkpoints" / "step-0000003"
    line = _err_line(capsys)
    assert f"interrupted at step 4; the last complete checkpoint is {checkpoint}" in line
    monkeypatch.setattr(train, "ddpm_loss", real_loss)
    assert main(["ddpm", "train", *TINY, "--out", str(out)]) == 2
    assert f"continue it with --resume {checkpoint}" in _err_line(capsys)
    assert main(["ddpm", "train", "--learning-rate", "0.5", "--resume", str(checkpoint), "--out", str(out)]) == 2
    assert "`--learning-rate` 0.5 differs from the run being resumed (0.002)" in _err_line(capsys)
    assert main(["ddpm", "train", "--resume", str(checkpoint), "--no-progress", "--cpu", "--out", str(out)]) == 0
    for name in ["digits-ddpm.safetensors", "digits-ddpm-raw.safetensors"]:
        a, b = load_file(str(out / name)), load_file(str(tmp_path / "full" / name))
        assert all(torch.equal(a[k], b[k]) for k in a), name
    history = json.loads((out / "digits-ddpm-history.json").read_text())
    assert history["losses"] == json.loads((tmp_path / "full" / "digits-ddpm-history.json").read_text())["losses"]
    assert not (tmp_path / "run.partial").exists()


def test_ddpm_sample_refuses_to_clobber_then_overwrites(tmp_path, capsys):
    """Samples of the same name are not replaced silently; --overwrite replaces them."""
    argv = ["ddpm", "sample", "--checkpoint", "pretrained", "--num-inference-steps", "2", "--num-images", "2",
            "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    first = (tmp_path / "samples-ddim2.png").read_bytes()
    capsys.readouterr()
    assert main([*argv, "--seed", "1"]) == 2
    assert "already holds samples-ddim2.png" in _err_line(capsys)
    assert main([*argv, "--seed", "1", "--overwrite"]) == 0
    assert (tmp_path / "samples-ddim2.png").read_bytes() != first  # seed 1 draws other digits


def test_an_interrupt_after_a_checkpoint_rename_keeps_the_newest(tmp_path):
    """Ctrl-C can land after a checkpoint folder got its final name but before the older one was
    removed (seen once in a loaded CI run: both step-15 and step-20 were left, and step-15 was named).
    The interrupt handler keeps and names the newest complete folder and removes the rest."""
    from medai_lessons.diffusion.train import _settle_checkpoints

    for name in ["step-0000015", "step-0000020", ".step-0000025.abc.tmp"]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "state.safetensors").write_bytes(b"x")
    assert _settle_checkpoints(tmp_path) == tmp_path / "step-0000020"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-0000020"]
    assert _settle_checkpoints(tmp_path / "missing") is None
