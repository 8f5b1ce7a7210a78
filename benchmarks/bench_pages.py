"""Benchmark of the site as a reader's browser gets it: page weight and widget start-up.

    python benchmarks/bench_pages.py [--site DIR] [--runs N]

Builds the site with ``mkdocs build --strict`` (or takes an already built ``--site``),
serves it on 127.0.0.1 below its URL path (as on GitHub Pages), and loads every page in
both languages in Debian's Chromium through Playwright, each in a fresh browser context
(empty cache). Writes ``benchmarks/results/pages.json``. Rows:

* ``<lang> <page>: transferred``: the bytes a reader downloads for everything the page
  loads until the network is idle (HTML, CSS, JavaScript, KaTeX fonts, figures, the
  search index), as the site's host sends them: GitHub Pages gzip-compresses text types,
  so text bodies are counted gzip-compressed (level 6) and fonts/images as they are.
  Target at most 1 MB (1,000,000 bytes), shown in kB (1 kB = 1000 bytes). The name also
  gives the request count and the uncompressed total, for a host that does not compress;
* ``<lang> <page>: elements styled on load``: for each lesson, the elements whose style Chromium
  computed while the page loaded on a phone-sized screen, summed over every style pass of a
  trace (and, in the name, the layout objects laid out): counts, not times, so they compare
  across machines. Each whole-page restyle adds the page's element count again;
* ``<lang> <page>: <explorer> first frame``: from the explorer's start to the first animation
  frame after its first drawing (``firstFrameAt - startedAt``, recorded by explorer-kit.js), in
  milliseconds on localhost (median of ``--runs`` fresh loads); a record, no target. An
  explorer starts when it comes near the screen; here it is started once the page is idle, as
  by a reader who scrolls to it, and what it then fetches counts in the page's bytes. The
  explorers: the learning-rate explorer (lesson 1), the forward-process explorer and the
  reverse-process scrubber of the DDPM lesson, the guidance explorer of the Stable Diffusion
  lesson and the similarity-matrix explorer of the self-supervised lesson; all but the first
  wait for their data files before the first frame.

Nothing is fetched from another host: such requests are aborted and would be reported.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from results_file import machine, row, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from site_tools.env import offline_env  # noqa: E402
from site_tools.site_server import CHROMIUM, CHROMIUM_ARGS, HOST, serve, site_prefix  # noqa: E402

BUDGET_BYTES = 1_000_000
#: explorer -> (name in the results, its registry on window)
EXPLORERS = {
    "lr": ("learning-rate explorer", "medaiLrExplorer"),
    "forward": ("forward-process explorer", "medaiForwardExplorer"),
    "reverse": ("reverse-process scrubber", "medaiReverseExplorer"),
    "guidance": ("guidance explorer", "medaiGuidanceExplorer"),
    "similarity": ("similarity-matrix explorer", "medaiSimilarityExplorer"),
}
FIRST_FRAMES_JS = """async (apis) => {
  const out = {};
  for (const [key, api] of Object.entries(apis)) {
    const reg = window[api];
    const inst = reg && reg.instances[0];  // reading instances starts a widget the reader has not reached
    if (!inst) continue;
    for (let i = 0; i < 600 && !inst.firstFrameAt; i++) await new Promise((r) => setTimeout(r, 50));
    out[key] = inst.firstFrameAt ? inst.firstFrameAt - inst.startedAt : null;
  }
  return out;
}"""


def build(out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT, env=offline_env(), check=True,
    )


def pages_of(site: Path) -> list[str]:
    """Every page (folder with an index.html) relative to the site root, ja first."""
    rels = []
    for page in site.rglob("index.html"):
        rel = page.parent.relative_to(site).as_posix()
        if rel.split("/")[0] in {"assets", "search"}:
            continue
        rels.append("" if rel == "." else rel + "/")
    return sorted(rels, key=lambda r: (r.startswith("en/"), r.removeprefix("en/")))


def measure(browser, url: str) -> dict:
    """Load ``url`` in a fresh context; return bytes, request count, off-host requests, first frame."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    off_host: list[str] = []
    sizes: list[int] = []

    def block(route) -> None:
        off_host.append(route.request.url)
        route.abort("blockedbyclient")

    gzipped: list[int] = []

    def on_response(response) -> None:
        try:
            body = response.body()
        except Exception:  # a redirect or an aborted response has no body
            body = b""
        sizes.append(len(body))
        kind = response.headers.get("content-type", "")
        compressible = any(k in kind for k in ("text/", "javascript", "json", "svg", "xml"))
        gzipped.append(len(gzip.compress(body, 6)) if compressible and body else len(body))

    context.route(lambda u: urlsplit(u).hostname not in (HOST, None), block)
    context.on("response", on_response)
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    first = page.evaluate(FIRST_FRAMES_JS, {k: api for k, (_, api) in EXPLORERS.items()})
    page.wait_for_load_state("networkidle")  # what the explorers fetched on starting counts too
    context.close()
    return {"bytes": sum(sizes), "gzip": sum(gzipped), "requests": len(sizes), "off_host": off_host,
            "first_frame_ms": {k: v for k, v in first.items() if v is not None}}


def start_up_work(browser, url: str) -> dict:
    """The style and layout work of loading ``url`` on a phone-sized screen, from a Chromium trace:
    counts of elements styled and layout objects laid out, which do not depend on the machine's speed
    (site_tools/theme_startup.py keeps Material's start-up from restyling the whole page)."""
    context = browser.new_context(viewport={"width": 412, "height": 823}, is_mobile=True, has_touch=True,
                                  service_workers="block")
    page = context.new_page()
    browser.start_tracing(page=page, categories=["devtools.timeline", "disabled-by-default-devtools.timeline"])
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1000)  # the start-up's deferred work (next frames, timers) lands in the trace
    events = json.loads(browser.stop_tracing())["traceEvents"]
    context.close()
    styled = laid_out = 0
    for e in events:
        args = e.get("args") or {}
        if e.get("name") == "UpdateLayoutTree" and e.get("ph") in ("X", "B"):
            styled += args.get("elementCount") or (args.get("endData") or {}).get("elementCount") or 0
        elif e.get("name") == "Layout" and e.get("ph") in ("X", "B"):
            laid_out += (args.get("beginData") or {}).get("dirtyObjects", 0)
    return {"styled": styled, "laid_out": laid_out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one)")
    parser.add_argument("--runs", type=int, default=5, help="loads of a page with explorers for the first-frame median")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            build(site)
        prefix = site_prefix(site)
        server, base = serve(site, prefix)
        rows, off_host = [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            version = browser.version
            for rel in pages_of(site):
                lang = "en" if rel.startswith("en/") else "ja"
                name = rel.removeprefix("en/").strip("/") or "home"
                result = measure(browser, base + rel)
                off_host += result["off_host"]
                kb = round(result["bytes"] / 1000, 1)
                gz = round(result["gzip"] / 1000)
                rows.append(row(f"{lang} {name}: transferred ({result['requests']} requests; "
                                f"uncompressed {round(kb)} kB)", gz, "kB",
                                "≤ 1000 kB", result["gzip"] <= BUDGET_BYTES))
                if name.startswith("lessons/"):
                    work = start_up_work(browser, base + rel)
                    rows.append(row(f"{lang} {name}: elements styled on load (phone; "
                                    f"{work['laid_out']:,} layout objects laid out)", work["styled"], "elements"))
                if result["first_frame_ms"]:
                    runs = [result["first_frame_ms"]]
                    runs += [measure(browser, base + rel)["first_frame_ms"] for _ in range(args.runs - 1)]
                    for key, (label, _) in EXPLORERS.items():
                        frames = [r.get(key) for r in runs]
                        if frames[0] is None:
                            continue
                        if any(f is None for f in frames):
                            print(f"{lang} {name}: the {label} did not always draw; first frame not recorded")
                            continue
                        rows.append(row(f"{lang} {name}: {label} first frame (median of {len(frames)})",
                                        round(statistics.median(frames), 1), "ms"))
            browser.close()
        server.shutdown()
        load = os.getloadavg()[0]
        rows.append(row("requests to other hosts (all pages)", len(off_host), "requests", "= 0", not off_host))

    write(
        "pages",
        "Site pages in Chromium: bytes transferred per page (fonts included, gzip as GitHub Pages "
        "sends) and the first frame of each explorer",
        # the load average says how busy the shared CPU was: the first frames move with it
        machine(f"Chromium {version} headless", "localhost", f"1-min load average {load:.1f} at the end"),
        rows,
    )


if __name__ == "__main__":
    main()
