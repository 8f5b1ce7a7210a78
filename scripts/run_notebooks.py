"""Build every lesson notebook from its page and execute it on the CPU with nbclient.

Usage::

    python scripts/run_notebooks.py                 # every lesson, both languages
    python scripts/run_notebooks.py gradient-descent --lang ja
    python scripts/run_notebooks.py --out build/notebooks --timeout 300

The conversion is the one the site uses (``site_tools.notebooks``), so a notebook that
runs here is the notebook a reader downloads. Each notebook runs in a fresh ``python3``
kernel; a cell tagged ``raises-exception`` may raise (the page expects it to), any other
error fails the run. The executed notebooks are written to ``--out`` for inspection, and the
time per notebook is printed. Exit status 1 if any notebook failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from site_tools.env import DOCS, LANGUAGES, apply_offline_env  # noqa: E402


def run_notebook(nb, *, timeout: int, cwd: Path) -> None:
    """Execute ``nb`` in place with a fresh python3 kernel (raises on the first error)."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        # the kernel runs on local TCP sockets; its warning that they are unencrypted is noise here
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(cwd)}},
    ).execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson slugs (default: every lesson)")
    parser.add_argument("--lang", choices=LANGUAGES, action="append", help="default: every language")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "notebooks")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)

    # The same environment the doc tests run in: offline, no GUI backend.
    apply_offline_env()

    from site_tools.config import site_url as configured_site_url
    from site_tools.env import page_language
    from site_tools.figures import cached_figures
    from site_tools.notebooks import convert_page, lesson_pages, write_notebook

    site_url = configured_site_url()
    figures = cached_figures()  # the notebooks carry their figures, as the site's downloads do
    pages = [
        p
        for p in lesson_pages(DOCS)
        if (not args.lessons or p.name.split(".")[0] in args.lessons)
        and (not args.lang or page_language(p) in args.lang)
    ]
    if not pages:
        print("no lesson pages matched", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    total = time.perf_counter()
    for page in pages:
        slug, lang = page.name.split(".")[0], page_language(page)
        name = f"{slug}-{lang}.ipynb"
        nb = convert_page(page, docs_dir=DOCS, site_url=site_url, figures=figures)
        n_code = sum(1 for c in nb.cells if c.cell_type == "code")
        start = time.perf_counter()
        try:
            run_notebook(nb, timeout=args.timeout, cwd=args.out)
        except Exception as err:  # report every notebook, then fail
            failures.append(name)
            status = f"FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}"
        else:
            status = "ok"
        seconds = time.perf_counter() - start
        write_notebook(nb, args.out / name)
        print(f"{name:<36} {n_code:>3} code cells  {seconds:7.1f} s  {status}", flush=True)
    print(f"{len(pages)} notebooks in {time.perf_counter() - total:.1f} s; written to {args.out}")
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
