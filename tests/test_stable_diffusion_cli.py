"""`medai-lessons sd ...`: every failure is one line naming the flag or file, exit status 2."""

from __future__ import annotations

import shutil

import pytest

from medai_lessons.cli import main

pytest.importorskip("transformers")

SMALL = ["--prompt", "a chest x-ray", "--num-inference-steps", "2", "--height", "64", "--width", "64",
         "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny random-weight pipeline, written once by `sd make-tiny`."""
    target = tmp_path_factory.mktemp("sd") / "tiny"
    assert main(["sd", "make-tiny", str(target)]) == 0
    return target


def _error(capsys) -> str:
    """The one error line on stderr (progress bars and library notices aside), and no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


def test_generate_writes_once_then_refuses_to_overwrite(tiny, tmp_path, capsys):
    """A second `generate` to the same --out is refused unless --overwrite; no temporary file is left."""
    out = tmp_path / "x.png"
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, "--out", str(out)]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, "--seed", "1", "--out", str(out)]) == 2
    assert "`--out`" in _error(capsys) and out.read_bytes() == first
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, "--seed", "1", "--overwrite", "--out", str(out)]) == 0
    assert out.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--device", "meta"], "`--device` must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'meta'"),
        (["--num-inference-steps", "1001"],
         "`--num-inference-steps` must be <= 1000 (the scheduler's num_train_timesteps), got 1001"),
        (["--steps", "1001"], "`--num-inference-steps` must be <= 1000"),
        (["--width", "8192"], "`--width` must be <= 4096"),
    ],
)
def test_generate_refuses_bad_flags_before_loading(tiny, tmp_path, capsys, extra, match):
    """A meta device, more steps than the scheduler's horizon, or a huge side: one line naming the flag."""
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, *extra, "--out", str(tmp_path / "x.png")]) == 2
    assert match in _error(capsys)
    assert not (tmp_path / "x.png").exists()


def test_generate_refuses_a_non_finite_image_instead_of_writing_black(tiny, tmp_path, capsys):
    """Guidance 1e30 overflows to NaN: nothing is written and the message points at --guidance-scale."""
    out = tmp_path / "x.png"
    code = main(["sd", "generate", "--model", str(tiny), *SMALL, "--guidance-scale", "1e30", "--out", str(out)])
    assert code == 2
    line = _error(capsys)
    assert "`--guidance-scale`" in line
    assert not out.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_broken_unet_file_is_one_line_naming_the_model(tiny, tmp_path, capsys, damage):
    """Garbage or a truncated unet/diffusion_pytorch_model.safetensors: one line naming --model and the file."""
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    weights = broken / "unet" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(b"not a safetensors file" if damage == "garbage" else data[: len(data) // 3])
    assert main(["sd", "generate", "--model", str(broken), *SMALL, "--out", str(tmp_path / "x.png")]) == 2
    line = _error(capsys)
    assert line.startswith("medai-lessons sd generate: error: `--model`")
    assert "diffusion_pytorch_model.safetensors" in line


def test_generate_refuses_bad_output_places(tiny, tmp_path, capsys):
    """--out inside a file, or naming a folder, is refused before the model is loaded."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, "--out", str(afile / "x.png")]) == 2
    assert f"lies inside the file {afile}" in _error(capsys)
    (tmp_path / "d.png").mkdir()
    assert main(["sd", "generate", "--model", str(tiny), *SMALL, "--out", str(tmp_path / "d.png")]) == 2
    assert "is a folder; name a file" in _error(capsys)


def test_make_tiny_refuses_a_used_folder(tiny, tmp_path, capsys):
    """`make-tiny` into a non-empty folder is refused unless --overwrite (runs never mix)."""
    assert main(["sd", "make-tiny", str(tiny)]) == 2
    assert "already holds files" in _error(capsys)
