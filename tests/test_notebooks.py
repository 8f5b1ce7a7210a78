"""Lesson pages as notebooks: conversion rules, the download banner, and one real run."""

from __future__ import annotations

import ast
import textwrap
from types import SimpleNamespace

import pytest

from site_tools.config import site_url
from site_tools.env import page_language
from site_tools.notebooks import (
    SETUP_SOURCE,
    convert_page,
    doctest_to_sources,
    install_command,
    lesson_pages,
    notebook_filename,
    page_to_cells,
)
from site_tools.pages import read_page

from .conftest import DOCS, ROOT, load_hook

SITE = "https://example.org/course/"
LESSON = "lessons/demo.md"


def cells_of(markdown: str, lang: str = "ja", site_url: str | None = SITE):
    return page_to_cells(textwrap.dedent(markdown), page=LESSON, lang=lang, site_url=site_url)


def code_cells(cells):
    return [c for c in cells if c.kind == "code" and c.source != SETUP_SOURCE]


def md_text(cells) -> str:
    return "\n".join(c.source for c in cells if c.kind == "markdown")


# ----------------------------------------------------------------------------- doctests


def sources(block: str):
    """doctest_to_sources of a block as Sybil reads it (its examples through doctest.DocTestParser)."""
    (found,) = read_page(f"```python\n{block}```\n")
    assert found.kind == "doctest"
    return doctest_to_sources(found.examples)


def test_doctest_prompts_and_expected_output_are_removed():
    """`>>> `/`... ` prompts are stripped and expected output lines are dropped."""
    block = ">>> xs = [1, 2]\n>>> for v in xs:\n...     print(v)\n1\n2\n>>> total = sum(xs)\n"
    assert sources(block) == [("xs = [1, 2]\nfor v in xs:\n    print(v)\ntotal = sum(xs)", False)]


def test_a_shown_value_ends_its_cell_so_jupyter_displays_it():
    """A bare expression with expected output closes the cell; a print() does not."""
    block = ">>> a = 2\n>>> print(a)\n2\n>>> a + 1\n3\n>>> a * 5\n10\n"
    assert sources(block) == [("a = 2\nprint(a)\na + 1", False), ("a * 5", False)]


def test_an_expected_traceback_gets_its_own_tagged_cell():
    """An example whose expected output is a traceback is isolated and marked raises=True."""
    block = (
        ">>> x = 1\n>>> int('a')\nTraceback (most recent call last):\n...\n"
        "ValueError: invalid literal\n>>> x\n1\n"
    )
    assert sources(block) == [("x = 1", False), ("int('a')", True), ("x", False)]
    cells = cells_of(f"```python\n{block}```\n")
    tagged = [c for c in code_cells(cells) if "raises-exception" in c.tags]
    assert [c.source for c in tagged] == ["int('a')"]


def test_ellipsis_in_expected_output_is_not_taken_for_code():
    """A `...` line after expected output started is output (ELLIPSIS), not a continuation."""
    block = ">>> print('a\\nb\\nc')\na\n...\nc\n"
    assert sources(block) == [("print('a\\nb\\nc')", False)]


# ----------------------------------------------------------------------------- blocks


def test_plain_block_becomes_one_code_cell_and_prose_markdown():
    """Prose is kept as markdown and a plain python block is one code cell, unchanged."""
    cells = cells_of("# T\n\nSome prose.\n\n```python\ndef f(x):\n    return x\n```\n\nAfter.\n")
    assert [c.source for c in code_cells(cells)] == ["def f(x):\n    return x"]
    assert "Some prose." in md_text(cells) and "After." in md_text(cells)


def test_setup_cell_comes_first_and_is_hidden():
    """Every notebook starts with the hidden setup that defines HAS_CUDA, like Sybil's."""
    first = cells_of("# T\n")[0]
    assert first.kind == "code" and "HAS_CUDA" in first.source
    assert first.tags == ["hide-input"] and first.metadata["jupyter"]["source_hidden"] is True


def test_invisible_block_is_kept_as_a_hidden_code_cell():
    """Hidden setup code survives (later cells need it), collapsed and tagged hide-input."""
    page = "<!-- invisible-code-block: python\nsecret = 41\n-->\n\n```python\n>>> secret + 1\n42\n```\n"
    code = code_cells(cells_of(page))
    assert [c.source for c in code] == ["secret = 41", "secret + 1"]
    assert code[0].tags == ["hide-input"] and code[1].tags == []
    assert "invisible-code-block" not in md_text(cells_of(page))


def test_a_one_line_invisible_marker_fails_as_it_fails_in_sybil():
    """`<!-- invisible-code-block: python -->` before a fence is not Sybil's syntax (the code goes
    inside the comment); the converter refuses it with Sybil's own error, as the tests do."""
    from sybil.parsers.abstract.lexers import LexingException

    page = "<!-- invisible-code-block: python -->\n```python\nsecret = 41\n```\n"
    with pytest.raises(LexingException, match="Could not find end of"):
        cells_of(page)


def test_skipped_block_is_shown_as_fenced_code_not_run():
    """`skip: next` turns the block into fenced code in markdown, with the reason shown."""
    page = (
        '<!-- skip: next if(not HAS_CUDA, reason="needs CUDA") -->\n'
        "```python\nx = torch.ones(1, device='cuda')\n```\n\n```python\ny = 2\n```\n"
    )
    cells = cells_of(page, lang="en")
    assert [c.source for c in code_cells(cells)] == ["y = 2"]
    text = md_text(cells)
    assert "```python\nx = torch.ones(1, device='cuda')\n```" in text
    assert "needs CUDA" in text and "skip:" not in text


def test_skip_start_end_covers_every_block_between():
    """Blocks between `skip: start` and `skip: end` are not code cells; the next one is."""
    page = (
        "<!-- skip: start -->\n```python\na = 1\n```\n\n```python\nb = 2\n```\n"
        "<!-- skip: end -->\n\n```python\nc = 3\n```\n"
    )
    assert [c.source for c in code_cells(cells_of(page))] == ["c = 3"]


def test_clear_namespace_resets_and_repeats_the_setup():
    """`clear-namespace` becomes a hidden %reset -f followed by the setup cell again."""
    cells = cells_of("```python\na = 1\n```\n\n<!-- clear-namespace -->\n\n```python\nb = 2\n```\n")
    sources = [c.source for c in cells if c.kind == "code"]
    assert sources == [SETUP_SOURCE, "a = 1", "%reset -f", SETUP_SOURCE, "b = 2"]


def test_fences_nested_in_admonitions_and_tabs_are_dedented_code_cells():
    """Code inside `??? success` and `=== "tab"` becomes code cells with no leading indent."""
    page = """\
    ??? success "解答"
        最初の行。

        ```python
        >>> total = 1 + 1
        >>> total
        2
        ```

    === "NumPy"

        ```python
        import math
        if True:
            root = math.sqrt(4)
        ```

    Back outside.
    """
    cells = cells_of(page)
    assert [c.source for c in code_cells(cells)] == [
        "total = 1 + 1\ntotal",
        "import math\nif True:\n    root = math.sqrt(4)",
    ]
    text = md_text(cells)
    assert "**解答**" in text and "\n最初の行。" in text and "**NumPy**" in text
    assert "???" not in text and "===" not in text and "Back outside." in text


def test_non_python_fences_stay_in_markdown():
    """A ```bash block is shown as text in a markdown cell, never run."""
    cells = cells_of("```bash\npip install x\n```\n")
    assert code_cells(cells) == []
    assert "```bash\npip install x\n```" in md_text(cells)


# ----------------------------------------------------------------------------- language and links


def test_notice_and_page_links_follow_the_page_language():
    """The notice is in the page's language and page links point to that language's site."""
    page = "# Title\n\nSee [the API](../reference.md#top) and [home](../index.md).\n"
    ja, en = cells_of(page, "ja"), cells_of(page, "en")
    assert "このノートブック" in md_text(ja) and "This notebook" in md_text(en)
    assert f"({SITE}reference/#top)" in md_text(ja) and f"({SITE})" in md_text(ja)
    assert f"({SITE}en/reference/#top)" in md_text(en) and f"({SITE}en/)" in md_text(en)
    assert f"{SITE}en/lessons/demo/" in md_text(en)


def test_notice_follows_the_title_and_names_the_extra():
    """The title stays the first markdown cell; the notice after it gives the pip command."""
    cells = page_to_cells("# Title\n\nText.\n", page="lessons/diffusion.md", lang="en", site_url=SITE)
    markdown = [c.source for c in cells if c.kind == "markdown"]
    assert markdown[0] == "# Title"
    assert 'pip install "medai-lessons[diffusion]"' in markdown[1]


def test_images_point_to_the_hosted_figure_or_degrade_to_alt_text():
    """A relative figure becomes its absolute site URL; with no site URL, its alt text."""
    page = "![The curve](../assets/figures/lesson1/x-ja.svg){ width=300 }\n"
    assert f"![The curve]({SITE}assets/figures/lesson1/x-ja.svg)" in md_text(cells_of(page))
    plain = md_text(cells_of(page, site_url=None))
    assert "*The curve*" in plain and "assets/" not in plain


def test_site_figures_travel_inside_the_notebook_as_attachments(tmp_path):
    """A figure the site serves becomes a cell attachment (offline); its dark twin is left out."""
    import jupytext

    from site_tools.notebooks import attach_figures

    figure = tmp_path / "x-ja.svg"
    figure.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    figures = {"assets/figures/lesson1/x-ja.svg": figure}
    page = ("![The curve](../assets/figures/lesson1/x-ja.svg#only-light)\n"
            "![The curve](../assets/figures/lesson1/x-ja.svg#only-dark)\n")
    cells = page_to_cells(page, page=LESSON, lang="ja", site_url=SITE, figures=figures)
    assert md_text(cells).count("](attachment:lesson1-x-ja.svg)") == 1
    nb = attach_figures(jupytext.reads("<!-- #region -->\n" + md_text(cells) + "\n<!-- #endregion -->\n",
                                       fmt="md"), figures)
    (cell,) = [c for c in nb.cells if "attachment:" in c.source]
    encoded = "PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnLz4="  # base64 of the file above
    assert cell.attachments == {"lesson1-x-ja.svg": {"image/svg+xml": encoded}}


def test_the_same_page_gives_the_same_notebook_on_every_build():
    """Cell ids come from each cell's place and text, not from nbformat's random draw: two
    conversions of a lesson write the same bytes, and the ids are valid and unique."""
    import nbformat

    from site_tools.notebooks import convert_page

    page = DOCS / "lessons" / "gradient-descent.en.md"
    first, again = (nbformat.writes(convert_page(page, docs_dir=DOCS, site_url=SITE)) for _ in range(2))
    assert first == again
    nb = nbformat.reads(first, as_version=4)
    nbformat.validate(nb)
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids) > 20
    assert ids[0].startswith("c000-") and ids[1].startswith("c001-")


def test_attribute_lists_and_html_comments_are_removed():
    """MkDocs-only attribute lists and comment lines do not leak into the notebook."""
    cells = cells_of("## Heading { #anchor }\n\n<!-- lr-explorer -->\n[a](https://x.org){ .md-button }\n")
    text = md_text(cells)
    assert "## Heading" in text and "{" not in text and "<!--" not in text


def test_bad_arguments_are_rejected():
    """Unknown languages and page names without a language suffix raise ValueError."""
    with pytest.raises(ValueError, match="`lang` must be one of"):
        page_to_cells("", page=LESSON, lang="fr")
    with pytest.raises(ValueError, match="`lang` must be one of"):
        notebook_filename("x", "de")
    with pytest.raises(ValueError, match="`path` must end in"):
        page_language("docs/lessons/x.md")


def test_names_and_install_lines():
    """File names carry the language; each lesson names its extra."""
    assert notebook_filename("diffusion", "en") == "diffusion-en.ipynb"
    assert install_command("gradient-descent") == 'pip install "medai-lessons[autograd]"'
    assert install_command("stable-diffusion") == 'pip install "medai-lessons[sd]"'


def test_site_url_is_read_by_mkdocs_own_loader(tmp_path, monkeypatch):
    """`!ENV [VAR, default]` gives the variable when set, else the default; plain values pass."""
    pytest.importorskip("mkdocs")
    (tmp_path / "docs").mkdir()
    yml = tmp_path / "mkdocs.yml"
    yml.write_text('site_name: t\nsite_url: !ENV [SITE_URL, "https://default.org/"]\n', encoding="utf-8")
    monkeypatch.delenv("SITE_URL", raising=False)
    assert site_url(yml) == "https://default.org/"
    monkeypatch.setenv("SITE_URL", "https://preview.org/x/")
    assert site_url(yml) == "https://preview.org/x/"
    yml.write_text("site_name: t\nsite_url: https://plain.org/  # comment\n", encoding="utf-8")
    assert site_url(yml) == "https://plain.org/"
    assert site_url(tmp_path / "missing.yml") is None
    monkeypatch.delenv("SITE_URL")
    assert site_url(ROOT / "mkdocs.yml").startswith("https://")


# ----------------------------------------------------------------------------- real pages

PAGES = lesson_pages(DOCS)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_lesson_page_converts_to_valid_python_cells(page):
    """Each lesson converts, and every code cell (magics aside) is valid Python."""
    pytest.importorskip("jupytext")
    nb = convert_page(page, docs_dir=DOCS, site_url=SITE)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    for source in code:
        if not source.startswith("%"):
            ast.parse(source)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.name.endswith(".ja.md")], ids=lambda p: p.name
)
def test_both_languages_give_the_same_code_cells(page):
    """The ja and en notebooks of a lesson run exactly the same code, like their pages
    (comments aside: each language comments its code in its own words)."""
    from site_tools.pages import strip_comments

    pytest.importorskip("jupytext")
    en_page = page.with_name(page.name.replace(".ja.md", ".en.md"))
    if not en_page.is_file():
        pytest.skip(f"{en_page.name} does not exist yet (test_docs reports missing twins)")
    ja_code = [strip_comments(c.source) for c in convert_page(page, docs_dir=DOCS).cells if c.cell_type == "code"]
    en_code = [strip_comments(c.source) for c in convert_page(en_page, docs_dir=DOCS).cells if c.cell_type == "code"]
    assert ja_code == en_code


@pytest.mark.parametrize(("lang", "label"), [("ja", "ノートブックでダウンロード"), ("en", "Download this page")])
def test_hook_puts_the_download_button_under_the_title(lang, label):
    """The banner sits right after the H1, links the language's notebook, and gives the extra."""
    pytest.importorskip("mkdocs")
    hook = load_hook("notebooks")
    page = SimpleNamespace(file=SimpleNamespace(src_uri=f"lessons/diffusion.{lang}.md"))
    config = SimpleNamespace(theme={"language": lang})
    out = hook.on_page_markdown("# Title\n\nBody.\n", page, config, None).splitlines()
    assert out[0] == "# Title"
    banner = out[2]
    assert label in banner and f"(../notebooks/diffusion-{lang}.ipynb)" in banner
    assert '`pip install "medai-lessons[diffusion]"`' in banner
    # Material's notebook icon as inline SVG, not an emoji (an empty box without an emoji font).
    assert '<span class="twemoji"><svg aria-hidden="true"' in banner and "📓" not in banner
    other = SimpleNamespace(file=SimpleNamespace(src_uri=f"index.{lang}.md"))
    assert hook.on_page_markdown("# Home\n", other, config, None) == "# Home\n"


def test_lesson_one_notebook_runs_top_to_bottom(built_site):
    """The Japanese lesson-1 notebook, as a reader downloads it from the built site, carries every
    figure it shows and executes on the CPU in a fresh kernel without an error."""
    pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (no python3 kernel)")
    import re

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    if "python3" not in KernelSpecManager().find_kernel_specs():
        pytest.skip("no python3 Jupyter kernel is registered")
    nb = nbformat.read(built_site.path / "notebooks" / "gradient-descent-ja.ipynb", as_version=4)
    shown = [(c, name) for c in nb.cells if c.cell_type == "markdown"
             for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", c.source)]
    assert len(shown) >= 5  # the lesson's figures
    for cell, name in shown:  # each one inside the notebook: it shows offline
        assert name.startswith("attachment:"), name
        (data,) = cell.attachments[name.removeprefix("attachment:")].values()
        assert len(data) > 1000
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = "".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    # Numbers printed on the page itself (Sybil checks them there): the secant and tangent slopes.
    assert "16.6667" in outputs and "22.2222" in outputs
    errors = [c for c in nb.cells if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.get("outputs", []))]
    assert all("raises-exception" in c.metadata.get("tags", []) for c in errors)


def test_progress_bars_in_a_notebook_print_no_warning():
    """tqdm's notebook bar finds ipywidgets (the diffusion extra installs it): no "IProgress not
    found" on stderr, as a reader's clean run of lessons 2 and 3 would otherwise show."""
    pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (no python3 kernel)")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from medai_lessons.diffusion import samplers\nsum(samplers.tqdm(range(3)))")])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.get("text", "") for o in outputs if o.get("name") == "stderr"] == []
    assert any(o.get("data", {}).get("text/plain") == "3" for o in outputs)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
