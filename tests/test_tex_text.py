"""TeX as plain text (site_tools.tex_text): what search snippets and tooltips show instead of TeX."""

from __future__ import annotations

import pytest

from site_tools.tex_text import plain_math, tex_to_text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (r"\frac{df}{dx}", "df/dx"),
        (r"\frac{f(b)-f(a)}{b-a}", "(f(b)-f(a))/(b-a)"),
        (r"f'(x)", "f′(x)"),
        (r"x^2", "x²"),
        (r"x_{t-1}", "xₜ₋₁"),
        (r"\bar\alpha_t", "ᾱₜ"),
        (r"\bar{\alpha}_t", "ᾱₜ"),
        (r"\sqrt{1-\bar\alpha_t}", "√(1-ᾱₜ)"),
        (r"\frac{\partial L}{\partial w}", "∂L/∂w"),
        (r"w \leftarrow w - \eta \nabla L", "w ← w - η∇L"),
        (r"\epsilon \sim \mathcal{N}(0, I)", "ε ~ N(0, I)"),
        (r"\sum_{i=1}^{n} (y_i - \hat y_i)^2", "Σᵢ₌₁ⁿ (yᵢ - ŷᵢ)²"),
        (r"\epsilon_\theta", "ε_θ"),  # no subscript theta in Unicode: marked with _
        (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "a = b; c = d"),
        (r"\left( x \right)", "(x)"),
        (r"\operatorname{MSE}(w)", "MSE(w)"),
    ],
)
def test_tex_to_text(tex, text):
    """Each construct the lessons use reads as the plain text a reader would write."""
    assert tex_to_text(tex) == text


def test_plain_math_replaces_every_delimiter_and_keeps_the_rest():
    """\\(..\\), \\[..\\], $..$ and $$..$$ are replaced; words and prices are not."""
    assert plain_math(r"for \(x^2\) it is \[2x\]; $x^2$ and $$\frac{1}{2}$$") == "for x² it is 2x; x² and 1/2"
    assert plain_math("costs $5 or $ 6") == "costs $5 or $ 6"
    assert plain_math(r"shell: $ echo \(x\)", dollars=False) == "shell: $ echo x"
    assert plain_math("$x$", dollars=False) == "$x$"


def test_plain_math_in_html_unescapes_the_tex_and_escapes_the_text():
    """A search index is HTML: \\(a &lt; b\\) is read as a < b and written back as a &lt; b."""
    assert plain_math(r"<p>if \(a &lt; b\)</p>", escaped=True) == "<p>if a &lt; b</p>"
