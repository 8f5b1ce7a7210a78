"""The built site served on 127.0.0.1 as its host serves it, for the browser tests and the benchmarks.

* :func:`site_prefix`: the path the site lives below (``/medai-lessons/``), read from the home
  page's canonical link. The site is served below it, as on GitHub Pages and under ``mkdocs
  serve``, because the i18n plugin writes some links (the home page's language links) as absolute
  paths that start with it.
* :func:`serve`: a quiet threaded server of the site below that prefix; anything outside it is a
  404. With ``compress``, text goes gzip-encoded, as GitHub Pages sends it.
* :data:`CHROMIUM`, :data:`CHROMIUM_ARGS`: Debian's Chromium, and the flags that keep it from
  calling out.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import posixpath
import re
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
#: Flags that keep Chromium quiet: without the background-networking ones it calls out.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: what GitHub Pages sends gzip-compressed (text types); fonts and images go as they are
COMPRESSED = (".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".ipynb")


def site_prefix(site: Path) -> str:
    """The path of the site's URL (``/medai-lessons/``), from the built home page's canonical link."""
    html = (site / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<link rel="canonical" href="([^"]+)"', html)
    path = urlsplit(found.group(1)).path.strip("/") if found else ""
    return f"/{path}/" if path else "/"


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site below ``prefix``; anything outside it is a 404. Logs nothing."""

    prefix = "/"
    compress = False

    def translate_path(self, path: str) -> str:
        if not (posixpath.normpath(urlsplit(path).path) + "/").startswith(self.prefix):
            return str(Path(self.directory) / "__outside_site_prefix__")
        return super().translate_path("/" + path[len(self.prefix) :])

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.endswith("/"):
            path = path / "index.html"
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.compress and gzip_ok and path.suffix in COMPRESSED and path.is_file()):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """Says nothing when the browser drops a connection mid-transfer (a tab that moves on to the
    next page before a resource finished loading); any other error is printed as usual."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def serve(site: Path, prefix: str, *, compress: bool = False) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` below ``prefix`` in a background thread; return the server and the site's URL.
    With ``compress``, text goes gzip-encoded, as the host sends it. Stop it with ``shutdown()``."""
    handler = type("Handler", (_SiteHandler,), {"prefix": prefix, "compress": compress})
    server = _QuietServer((HOST, 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, name="site-server", daemon=True).start()
    return server, f"http://{HOST}:{server.server_address[1]}{prefix}"
