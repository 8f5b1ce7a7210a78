"""The ``medai-lessons`` command line.

Each lesson that has long-running work registers its own sub-command group
(``medai-lessons ddpm ...``, ``medai-lessons sd ...``) through an ``add_parser``
function in its package; this module only wires them together, importing each
lazily so that ``--help`` stays fast and lesson 1 never needs PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: sub-command name -> module that defines ``add_parser(subparsers)``
GROUPS = {
    "ddpm": "medai_lessons.diffusion.cli",
    "sd": "medai_lessons.stable_diffusion.cli",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command group per lesson."""
    parser = argparse.ArgumentParser(
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``medai-lessons``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = getattr(args, "_missing", None)
    if missing is not None:
        extra = "sd" if args.group == "sd" else "diffusion"
        parser.error(
            f"`{args.group}` needs the '{extra}' extra: pip install 'medai-lessons[{extra}]' "
            f"({missing})"
        )
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"medai-lessons: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
