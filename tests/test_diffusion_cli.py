"""The ``medai-lessons ddpm`` command group, run through the hub."""

from __future__ import annotations

import pytest

from medai_lessons.cli import main


def test_cli_train_then_sample(tmp_path, capsys):
    """`ddpm train` on a tiny config writes checkpoints and a grid; `ddpm sample` reads them."""
    out = tmp_path / "run"
    code = main(
        [
            "ddpm",
            "train",
            "--steps",
            "3",
            "--batch-size",
            "32",
            "--channels",
            "8,8",
            "--time-dim",
            "8",
            "--warmup-steps",
            "1",
            "--num-train-steps",
            "20",
            "--cpu",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "wrote ema:" in printed and "wrote grid:" in printed
    for name in [
        "digits-ddpm.safetensors",
        "digits-ddpm-raw.safetensors",
        "digits-ddpm-history.json",
        "samples-ddim.png",
    ]:
        assert (out / name).is_file(), name
    code = main(
        [
            "ddpm",
            "sample",
            "--checkpoint",
            str(out / "digits-ddpm.safetensors"),
            "--sampler",
            "ddim",
            "--num-steps",
            "4",
            "--num-images",
            "4",
            "--no-progress",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert code == 0
    assert (tmp_path / "s" / "samples-ddim4.png").read_bytes()[:4] == b"\x89PNG"
    assert "quality:" in capsys.readouterr().out
    code = main(
        [
            "ddpm",
            "sample",
            "--checkpoint",
            str(out / "digits-ddpm.safetensors"),
            "--sampler",
            "ddpm",
            "--num-images",
            "4",
            "--no-progress",
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert code == 0
    assert (tmp_path / "s" / "samples-ddpm20.png").is_file()


def test_cli_sample_pretrained(tmp_path, capsys):
    """`ddpm sample --checkpoint pretrained` uses the packaged model and writes a grid."""
    code = main(
        [
            "ddpm",
            "sample",
            "--checkpoint",
            "pretrained",
            "--num-steps",
            "5",
            "--num-images",
            "4",
            "--no-progress",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert (tmp_path / "samples-ddim5.png").is_file()
    assert "samples-ddim5.safetensors" in capsys.readouterr().out


def test_cli_missing_checkpoint_exits_2(tmp_path, capsys):
    """A missing checkpoint file is reported in one line with exit status 2."""
    code = main(
        [
            "ddpm",
            "sample",
            "--checkpoint",
            str(tmp_path / "none.safetensors"),
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "checkpoint file not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["ddpm", "train", "--steps", "0"], "`steps` must be >= 1"),
        (["ddpm", "train", "--lr", "-1"], "`lr` must be > 0"),
        (
            ["ddpm", "sample", "--checkpoint", "pretrained", "--num-images", "0"],
            "`num_images` must be >= 1",
        ),
        (
            ["ddpm", "sample", "--checkpoint", "pretrained", "--num-steps", "2000"],
            "`num_inference_steps` must be <= ",
        ),
    ],
)
def test_cli_bad_values_exit_2(argv, match, capsys, tmp_path):
    """Bad numbers are refused with exit status 2 and a message naming the option."""
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert match in capsys.readouterr().err


def test_cli_unknown_sampler_is_an_argparse_error(capsys):
    """An unknown sampler name is rejected by argparse (exit status 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["ddpm", "sample", "--checkpoint", "x", "--sampler", "euler"])
    assert exc.value.code == 2
