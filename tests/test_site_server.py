"""The local server of the built site, for the browser tests and the benchmarks, serves it as its host
does (site_tools/site_server.py)."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from site_tools.site_server import serve, site_prefix


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "index.html").write_text("<p>" + "学習率 " * 500 + "</p>", encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG" + bytes(200))
    return tmp_path


def _get(url: str) -> tuple[str | None, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("Content-Encoding"), response.read()


@pytest.mark.parametrize("compress", [True, False])
def test_text_is_gzip_encoded_only_when_asked_and_images_never(site: Path, compress: bool) -> None:
    """With ``compress`` a page arrives gzip-encoded and decodes to the file (GitHub Pages does this for text);
    without it, and for a PNG always, the bytes arrive as they are."""
    server, base = serve(site, "/medai-lessons/", compress=compress)
    try:
        encoding, body = _get(base + "lessons/")
        original = (site / "lessons" / "index.html").read_bytes()
        if compress:
            assert encoding == "gzip"
            assert gzip.decompress(body) == original
            assert len(body) < len(original) / 10  # 500 repeats of one word compress well
        else:
            assert encoding is None and body == original
        encoding, body = _get(base + "figure.png")
        assert encoding is None and body == (site / "figure.png").read_bytes()
    finally:
        server.shutdown()


def test_the_site_lives_below_its_prefix_and_nothing_outside_is_served(site: Path) -> None:
    """The prefix is the path of the home page's canonical link; a request outside it is a 404."""
    (site / "index.html").write_text('<link rel="canonical" href="https://x.github.io/medai-lessons/">',
                                     encoding="utf-8")
    assert site_prefix(site) == "/medai-lessons/"
    server, base = serve(site, site_prefix(site))
    try:
        assert base.endswith("/medai-lessons/")
        assert _get(base + "lessons/")[1] == (site / "lessons" / "index.html").read_bytes()
        with pytest.raises(urllib.error.HTTPError) as outside:
            _get(base.removesuffix("medai-lessons/") + "lessons/")
        assert outside.value.code == 404
    finally:
        server.shutdown()
