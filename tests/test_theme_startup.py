"""Pages start as Material's start-up leaves them, and its palette acts only on a change
(site_tools/theme_startup.py)."""

from __future__ import annotations

from pathlib import Path

from site_tools.theme_startup import (
    BUNDLE_PATCHES,
    EARLY_CLASSES,
    first_palette,
    patch_bundle,
    start_settled,
    wrap_tables,
)

PAGE = ('<!doctype html>\n<html lang="ja" class="no-js">\n  <head>\n    <meta charset="utf-8">\n'
        '    <title>x</title>\n  </head>\n  <body dir="ltr" data-md-color-scheme="default">\n<p>x</p></body></html>')
LIGHT = {"media": "(prefers-color-scheme: light)", "scheme": "default"}


def test_a_page_gets_its_classes_meta_and_media_after_the_charset() -> None:
    """The script and the color-scheme meta come right after ``<meta charset>``; ``<body>`` gets the
    first palette's media; the rest of the page is as it was."""
    out = start_settled(PAGE, LIGHT)
    head = out.split("<head>")[1]
    assert head.lstrip().startswith('<meta charset="utf-8"><meta name="color-scheme" content="light">' + EARLY_CLASSES)
    assert '<body data-md-color-media="(prefers-color-scheme: light)" dir="ltr" data-md-color-scheme="default">' in out
    assert out.replace('<meta name="color-scheme" content="light">' + EARLY_CLASSES, "").replace(
        'data-md-color-media="(prefers-color-scheme: light)" ', "") == PAGE


def test_a_dark_first_palette_starts_dark_and_a_page_is_done_once() -> None:
    """A first palette in the slate scheme gives ``content="dark"``; a second pass changes nothing."""
    once = start_settled(PAGE, {"media": "(prefers-color-scheme: dark)", "scheme": "slate"})
    assert '<meta name="color-scheme" content="dark">' in once
    assert start_settled(once, LIGHT) == once


def test_other_files_and_palettes_without_media_are_left_alone() -> None:
    """A page that is not Material's (no ``no-js`` class) is untouched; without a palette only the
    classes move; a palette without ``media`` adds no media to ``<body>``."""
    other = "<html><head></head><body></body></html>"
    assert start_settled(other, LIGHT) == other
    bare = start_settled(PAGE, None)
    assert EARLY_CLASSES in bare and 'name="color-scheme"' not in bare and "data-md-color-media" not in bare
    assert "data-md-color-media" not in start_settled(PAGE, {"scheme": "default"})


def test_first_palette_reads_both_forms_of_the_setting() -> None:
    """``theme.palette`` is a mapping or a list of them (the toggle); the first entry starts."""
    assert first_palette(LIGHT) == LIGHT
    assert first_palette([LIGHT, {"scheme": "slate"}]) == LIGHT
    assert first_palette(None) is None and first_palette([]) is None and first_palette("x") is None


def _bundle(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bundle.min.js"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundle_patch_replaces_each_original_once_and_is_idempotent(tmp_path: Path) -> None:
    """Every original becomes its replacement; a second run changes nothing and still says True."""
    original = "A;" + ";".join(old for old, _ in BUNDLE_PATCHES) + ";Z"
    bundle = _bundle(tmp_path, original)
    assert patch_bundle(bundle) is True
    patched = bundle.read_text(encoding="utf-8")
    assert patched == "A;" + ";".join(new for _, new in BUNDLE_PATCHES) + ";Z"
    assert patch_bundle(bundle) is True
    assert bundle.read_text(encoding="utf-8") == patched


def test_an_unknown_bundle_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    """A bundle missing one original (Material changed) or holding one twice: False, file untouched."""
    for text in (
        ";".join(old for old, _ in BUNDLE_PATCHES[:-1]),
        ";".join(old for old, _ in BUNDLE_PATCHES) + ";" + BUNDLE_PATCHES[0][0],
    ):
        bundle = _bundle(tmp_path, text)
        assert patch_bundle(bundle) is False
        assert bundle.read_text(encoding="utf-8") == text


def test_plain_tables_are_wrapped_once_as_material_wraps_them() -> None:
    """A Markdown table goes into Material's two scroll ``<div>``; a wrapped one, a table with a class
    and a table written as code stay as they are."""
    page = "<p>a</p><table>\n<tr><td>1</td></tr>\n</table><table class=\"x\"></table><code>&lt;table&gt;</code>"
    once = wrap_tables(page)
    assert once == ('<p>a</p><div class="md-typeset__scrollwrap"><div class="md-typeset__table"><table>\n'
                    '<tr><td>1</td></tr>\n</table></div></div><table class="x"></table><code>&lt;table&gt;</code>')
    assert wrap_tables(once) == once
