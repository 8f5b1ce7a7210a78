r"""Files that are never half-written, and safetensors headers read without the weights.

Internal helpers (the callers check their arguments at their own door).

* :func:`write_atomically`: write to a temporary file beside the target, then ``os.replace``
  it (atomic on one file system): a reader sees the old file or the new one.
* :func:`default_mode`: the permissions a plain ``open``/``mkdir`` would give.
* :func:`read_safetensors_header`: the metadata, tensor shapes and dtypes of a ``.safetensors``
  file, read from its JSON header (no tensor is loaded, nothing is unpickled).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["default_mode", "read_safetensors_header", "write_atomically"]


def default_mode(*, folder: bool = False) -> int:
    """The permissions a plain ``open``/``mkdir`` would give under the current umask.

    ``tempfile`` makes private files (0600) and folders (0700); a published file should not be.
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if folder else 0o666) & ~mask


@contextlib.contextmanager
def write_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    The temporary file lies in the same folder, so the final ``os.replace`` is atomic:
    a reader sees the old file or the new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_safetensors_header(path: Path) -> tuple[dict[str, str], dict[str, tuple[int, ...]], dict[str, str]]:
    """``(metadata, shapes, dtypes)`` of a safetensors file; the caller has checked ``path``.

    Raises:
        ValueError: the file is not a safetensors file (message names ``path``).
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
            dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"`path` is not a safetensors file: {path} ({exc})") from exc
    return metadata, shapes, dtypes
