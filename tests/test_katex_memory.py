"""The build-time KaTeX renderer typesets each formula once (site_tools.katex._Renderer): the
other language's page and every preview rebuild reuse what it typeset."""

from __future__ import annotations

from site_tools import katex

PAGE = ('<p><span class="arithmatex">\\(x_t\\)</span> and <span class="arithmatex">\\(x_t\\)</span></p>'
        '<div class="arithmatex">\\[\\bar\\alpha_t = \\prod_{s=1}^t (1-\\beta_s)\\]</div>')


def test_a_formula_seen_before_is_not_sent_to_node_again(monkeypatch):
    katex.ensure_node_modules()
    renderer = katex._renderer()
    renderer.typeset.clear()
    sent: list[list[tuple[str, bool]]] = []
    typeset = renderer._typeset
    monkeypatch.setattr(renderer, "_typeset", lambda items: sent.append(items) or typeset(items))

    first = katex.render_maths(PAGE)
    again = katex.render_maths(PAGE)

    assert first == again
    assert first.count('class="katex"') == 3 and first.count('class="katex-display"') == 1
    assert sent == [[("x_t", False), ("\\bar\\alpha_t = \\prod_{s=1}^t (1-\\beta_s)", True)]]


def test_the_memory_keeps_inline_and_display_apart():
    katex.ensure_node_modules()
    inline, display = katex._renderer().render([("x", False), ("x", True)])
    assert "katex-display" not in inline and "katex-display" in display
