"""Regenerate ``src/medai_lessons/stable_diffusion/data/clip-bpe/bpe_simple_vocab_16e6.txt.gz``.

The CLIP byte-pair merges ship inside the open_clip_torch wheel. Installing that package
would pull a CUDA torchvision that breaks diffusers beside the CPU torch, so this script
installs nothing: it downloads the pinned wheel with ``pip download --no-deps`` (or takes a
wheel you already have), checks both hashes, and copies out the one data file.

    python scripts/fetch_clip_vocab.py                 # download the pinned wheel to a temp dir
    python scripts/fetch_clip_vocab.py --wheel PATH    # use a wheel on disk
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "3.3.0"
WHEEL = f"open_clip_torch-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "c549ad5ed6bfc119cc11105033c0a2b9d7a2a4afeb40a58a09aab3da1a0043ce"
MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
FILE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
TARGET = Path(__file__).resolve().parents[1] / "src/medai_lessons/stable_diffusion/data/clip-bpe" / Path(MEMBER).name


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, default=None, help=f"a local {WHEEL}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", f"open_clip_torch=={VERSION}", "-d", tmp],
                check=True,
            )
            wheel = Path(tmp) / WHEEL
        if sha256(wheel.read_bytes()) != WHEEL_SHA256:
            sys.exit(f"{wheel}: sha256 differs from the pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    if sha256(data) != FILE_SHA256:
        sys.exit(f"{MEMBER}: sha256 differs from the pinned {FILE_SHA256}")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    tmp_target = TARGET.with_suffix(".part")
    tmp_target.write_bytes(data)
    tmp_target.replace(TARGET)
    print(f"wrote {TARGET} ({len(data):,} bytes, sha256 {FILE_SHA256})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
