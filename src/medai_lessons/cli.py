"""The ``medai-lessons`` command line.

Each lesson that has long-running work registers its own sub-command group
(``medai-lessons ddpm ...``, ``medai-lessons sd ...``) through an ``add_parser``
function in its package; this module only wires them together, importing each
lazily so that ``--help`` stays fast and lesson 1 never needs PyTorch.

Every sub-command runs through :func:`run_command`, the one place that turns failures
into what a user sees: one line naming the flag or file and exit status 2, or, for
Ctrl-C or SIGTERM, one line saying where the last good checkpoint is and exit status
130 or 143 (:mod:`medai_lessons.interrupts`). A
traceback is printed only with ``MEDAI_LESSONS_DEBUG=1``. The output-path helpers
below (:func:`check_output_dir`, :func:`check_output_file`, :func:`publish_dir`) are
shared by every command that writes files: paths are checked before any work, and a
run's files become visible together.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import re
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from medai_lessons import interrupts
from medai_lessons._checks import check_seed
from medai_lessons._deprecation import renamed_message

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not locked, os.mkdir still is atomic
    fcntl = None  # type: ignore[assignment]

#: sub-command name -> module that defines ``add_parser(subparsers)``
GROUPS = {
    "ddpm": "medai_lessons.diffusion.cli",
    "sd": "medai_lessons.stable_diffusion.cli",
    "ssl": "medai_lessons.self_supervised.cli",
}

#: exit status of a refused or failed command, and of Ctrl-C (128 + SIGINT; SIGTERM gives 143)
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
#: longest message printed; longer ones (a library's multi-line error) are cut
MAX_MESSAGE = 400


class CommandError(Exception):
    """A failure the command explains itself; printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``prog: error: ...``), exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command group per lesson."""
    parser = OneLineParser(
        prog="medai-lessons",
        description="Run the long computations of the medai-lessons course.",
    )
    sub = parser.add_subparsers(dest="group", metavar="{" + ",".join(GROUPS) + "}")
    sub.required = True
    for name, module_name in GROUPS.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # extra not installed: keep the command, explain
            p = sub.add_parser(name, help=f"(unavailable: {exc.name} is not installed)")
            p.set_defaults(_missing=exc)
            continue
        module.add_parser(sub)
    return parser


# -- messages that name flags ------------------------------------------------------------
def _leaf_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the sub-command that ``args`` came from."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return parser
        chosen = getattr(args, subs[0].dest, None)
        if chosen not in subs[0].choices:
            return parser
        parser = subs[0].choices[chosen]


def flag_names(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """Map each argument name the library uses (argparse ``dest``) to the flag a user typed."""
    names: dict[str, str] = {}
    for action in _leaf_parser(parser, args)._actions:
        if action.dest in (argparse.SUPPRESS, "help"):
            continue
        flag = action.option_strings[0] if action.option_strings else str(action.metavar or action.dest)
        names.setdefault(action.dest, flag)  # the first flag of a dest is the current name, aliases come later
    names.update(getattr(args, "_flag_aliases", {}) or {})
    return names


def one_line(message: str, names: dict[str, str] | None = None, *, limit: int | None = MAX_MESSAGE) -> str:
    """Collapse ``message`` to one line and write backticked argument names as their flags.

    ``limit`` shortens long messages from libraries; ``None`` keeps our own messages whole
    (an interrupt names the checkpoint and the exact command to resume it)."""
    if names:
        message = re.sub(r"`([A-Za-z_][A-Za-z0-9_]*)`", lambda m: f"`{names.get(m.group(1), m.group(1))}`", message)
    message = " ".join(message.split())
    return message if limit is None or len(message) <= limit else message[: limit - 3] + "..."


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace,
                parser: argparse.ArgumentParser) -> int:
    """Run one sub-command; every failure becomes one line on stderr and an exit status."""
    prog = _leaf_parser(parser, args).prog
    try:
        with interrupts.stop_signals_interrupt():  # SIGTERM cleans up like Ctrl-C
            return int(func(args) or 0)
    except KeyboardInterrupt as exc:
        text = str(exc).strip() or "interrupted"
        print(f"{prog}: {one_line(text, limit=None)}", file=sys.stderr)
        return interrupts.exit_status()
    except Exception as exc:  # the one place that must catch everything
        if os.environ.get("MEDAI_LESSONS_DEBUG") == "1":
            traceback.print_exc()
        known = isinstance(exc, CommandError | ValueError | TypeError | OSError)
        text = str(exc) or type(exc).__name__
        if not known:
            text = f"unexpected {type(exc).__name__}: {text} (rerun with MEDAI_LESSONS_DEBUG=1 for details)"
        print(f"{prog}: error: {one_line(text, flag_names(parser, args))}", file=sys.stderr)
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``medai-lessons``; returns the process exit code."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the lesson modules are still being imported
        print("medai-lessons: interrupted before the command started; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    missing = getattr(args, "_missing", None)
    if missing is not None:
        extra = "sd" if args.group in ("sd", "ssl") else "diffusion"
        parser.error(
            f"`{args.group}` needs the '{extra}' extra: pip install 'medai-lessons[{extra}]' "
            f"({missing})"
        )
    return run_command(args.func, args, parser)


# -- output paths: checked before the work, published together ---------------------------
def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_parent(flag: str, path: Path) -> None:
    """Refuse ``path`` if it lies inside a file or in a folder this process cannot write."""
    anchor = _nearest_existing(path.parent if path.exists() else path)
    if not anchor.is_dir():
        raise CommandError(f"`{flag}` {path} lies inside the file {anchor}, not a folder.")
    try:
        probe = tempfile.mkdtemp(prefix=".medai-lessons-probe-", dir=anchor)
    except OSError as exc:
        raise CommandError(f"`{flag}` {path}: cannot write in {anchor} ({exc.strerror or exc}).") from exc
    os.rmdir(probe)


def check_output_dir(flag: str, path: str | Path, *, overwrite: bool = False) -> Path:
    """Check a folder a command will fill: not a file, writable, and empty unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CommandError(f"`{flag}` {path} is a file; name a folder.")
    _check_writable_parent(flag, path)
    if path.is_dir() and not overwrite:
        present = sorted(p.name for p in path.iterdir())
        if present:
            shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
            raise CommandError(
                f"`{flag}` {path} already holds files ({shown}); choose a new folder or pass --overwrite."
            )
    return path


def check_output_file(flag: str, path: str | Path, *, overwrite: bool = False, suffix: str | None = None) -> Path:
    """Check a file a command will write: the right suffix, a writable place, no clobbering unless ``overwrite``."""
    path = Path(path)
    if suffix is not None and path.suffix.lower() != suffix:
        raise CommandError(f"`{flag}` must end in {suffix}, got {str(path)!r}.")
    if path.is_dir():
        raise CommandError(f"`{flag}` {path} is a folder; name a file.")
    _check_writable_parent(flag, path)
    if path.exists() and not overwrite:
        raise CommandError(f"`{flag}` {path} already exists; choose a new name or pass --overwrite.")
    return path


@contextlib.contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``target``; removed again unless it was published."""
    target.absolute().parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.absolute().parent))
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(stage, 0o777 & ~mask)  # mkdtemp makes a private folder; the published one should not be
    try:
        yield stage
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def claimed_stage(flag: str, target: Path, stage: Path) -> Iterator[bool]:
    """Own ``stage``, the folder a run fills before it is published as ``target``, while inside.

    The folder is made with ``os.mkdir`` (atomic) and locked with ``flock``, which the kernel
    drops when the process ends, even on SIGKILL. So two runs into one ``target`` cannot both
    write: the second is refused at once, naming ``flag``. Yields whether the folder was there
    already (left by an earlier run, whose lock is gone).
    """
    target.absolute().parent.mkdir(parents=True, exist_ok=True)
    existed = False
    try:
        os.mkdir(stage)
    except FileExistsError:
        existed = True
    fd = os.open(stage, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CommandError(
                    f"`{flag}` {target}: another run is writing to {stage} right now; "
                    f"wait for it to finish or choose another {flag}."
                ) from None
        yield existed
    finally:
        os.close(fd)  # releases the lock


def empty_folder(folder: Path) -> None:
    """Remove everything inside ``folder`` and keep the folder itself (and a lock held on it)."""
    for item in folder.iterdir():
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()


def publish_dir(stage: Path, target: Path) -> Path:
    """Make a finished folder visible under ``target`` in one rename (an old ``target`` is replaced)."""
    target = Path(target)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.absolute().parent))
        os.replace(target, old / target.name)
    os.replace(stage, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def publish_files(stage: Path, target_dir: Path) -> list[Path]:
    """Move every file of ``stage`` into ``target_dir`` (each by an atomic rename); return the new paths."""
    target_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for item in sorted(stage.iterdir()):
        dest = target_dir / item.name
        os.replace(item, dest)
        out.append(dest)
    return out


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int | None],
    *,
    flag_aliases: dict[str, str] | None = None,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """Add a sub-command whose failures :func:`run_command` reports with its own flag names.

    ``flag_aliases`` maps extra names that appear in library messages (``path``,
    ``model_dir``) to the flag that carries them (``--checkpoint``, ``--model``).
    """
    parser = subparsers.add_parser(name, **kwargs)
    parser.set_defaults(func=func, _flag_aliases=dict(flag_aliases or {}))
    return parser


class _DeprecatedFlag(argparse.Action):
    """An old flag that still works: it stores into the new flag's ``dest`` and says so once, in the
    words of the package's ``FutureWarning`` (:func:`medai_lessons._deprecation.renamed_message`)."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog}: warning: {renamed_message(str(option_string), self.new)}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_flag(parser: argparse.ArgumentParser, new: str, old: str | None, **kwargs: Any) -> None:
    """Add flag ``new``, and ``old`` (if given) as a hidden deprecated alias that warns and stores into it."""
    parser.add_argument(new, **kwargs)
    if old is not None:
        dest = kwargs.get("dest", new.lstrip("-").replace("-", "_"))
        typed = {"type": kwargs["type"]} if "type" in kwargs else {}
        parser.add_argument(old, dest=dest, **typed, action=_DeprecatedFlag, new=new,
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def seed_type(text: str) -> int:
    """argparse ``type`` for seeds: :func:`medai_lessons._checks.check_seed`, in argparse's words."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    try:
        return check_seed(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2**64 - 1], got {text}") from None


def run() -> None:  # pragma: no cover  (the console script; tests call main())
    """Run :func:`main` as a program, and end the process as soon as the command is done.

    A command that trained or sampled has imported torch, accelerate and diffusers, about 3,900
    modules. Python's normal exit then tears them down one by one: 1 s on an idle 2-core machine,
    3 to 6 s on a loaded one, after the work is finished and after Ctrl-C. The command has nothing
    left to clean up once its files are written, so it runs the exit handlers, flushes its output
    and ends at once.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
