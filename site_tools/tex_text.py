"""TeX as plain text, for the places where no KaTeX runs: search snippets and tooltips.

``tex_to_text(r"\\frac{\\partial L}{\\partial w}")`` gives ``"∂L/∂w"``. It covers the TeX the
lessons write (fractions, roots, scripts, accents, Greek letters, operators, font commands),
not all of TeX; an unknown command is written as its name without the backslash.
:func:`plain_math` replaces every ``\\(...\\)``, ``\\[...\\]`` and ``$...$`` in a text.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

_SYMBOLS = {
    # Greek
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ",
    "tau": "τ", "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    # operators and relations
    "nabla": "∇", "partial": "∂", "sum": "Σ", "prod": "∏", "int": "∫", "infty": "∞",
    "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…", "times": "×", "div": "÷",
    "pm": "±", "mp": "∓", "approx": "≈", "sim": "~", "simeq": "≃", "propto": "∝",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "equiv": "≡",
    "ll": "≪", "gg": "≫", "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←",
    "Rightarrow": "⇒", "Leftrightarrow": "⇔", "mapsto": "↦", "in": "∈", "notin": "∉",
    "subset": "⊂", "cup": "∪", "cap": "∩", "forall": "∀", "exists": "∃", "odot": "⊙",
    "otimes": "⊗", "circ": "∘", "mid": "|", "|": "‖", "lVert": "‖", "rVert": "‖",
    "Vert": "‖", "lvert": "|", "rvert": "|", "langle": "⟨", "rangle": "⟩", "top": "ᵀ",
    "prime": "′", "star": "⋆", "ast": "∗", "emptyset": "∅", "neg": "¬", "land": "∧", "lor": "∨",
    "{": "{", "}": "}", "%": "%", "$": "$", "&": "&", "#": "#", "_": "_",
    # spacing
    ",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": " ", "qquad": " ",
    "\\": "; ",
}
# Commands whose one argument is kept as it is (fonts, text, operator names).
# Relations and arrows get a space on each side (TeX spaces them; the source may not).
_RELATIONS = {"to", "rightarrow", "leftarrow", "gets", "Rightarrow", "Leftrightarrow", "mapsto",
              "le", "leq", "ge", "geq", "ne", "neq", "approx", "sim", "simeq", "equiv", "propto", "in"}
_KEEP_ARG = {
    "mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "mathfrak",
    "boldsymbol", "bm", "text", "textrm", "textbf", "textit", "operatorname", "mbox", "displaystyle",
}
_ACCENTS = {"bar": "\u0304", "overline": "\u0304", "hat": "\u0302", "widehat": "\u0302",
            "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308"}
# Sizing and delimiters that only change how the next token looks.
_DROP = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
         "displaystyle", "textstyle", "scriptstyle", "limits", "nolimits"}
_SUP = dict(zip("0123456789+-=()nitTkx", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗᵀᵏˣ", strict=True))
_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SUP["′"] = "′"
_SUP["ᵀ"] = "ᵀ"

_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|\s+|.", re.S)


def _wrap(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 1 or re.fullmatch(r"[\w.′√∂∇\u0300-\u036f\u20d7]+", text) else f"({text})"


def _script(text: str, table: dict[str, str], mark: str) -> str:
    text = text.strip()
    if text and all(ch in table for ch in text):
        return "".join(table[ch] for ch in text)
    return mark + _wrap(text)


class _Parser:
    def __init__(self, tex: str) -> None:
        self.tokens = _TOKEN.findall(tex)
        self.i = 0

    def _next(self) -> str | None:
        if self.i >= len(self.tokens):
            return None
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def group(self) -> str:
        """Everything up to the matching ``}`` (or the end)."""
        out: list[str] = []
        while (tok := self._next()) is not None and tok != "}":
            out.append(self._token(tok))
        return "".join(out)

    def atom(self) -> str:
        """One argument: a braced group or a single token (spaces skipped)."""
        tok = self._next()
        while tok is not None and tok.isspace():
            tok = self._next()
        return "" if tok is None else self._token(tok)

    def _optional(self) -> str:
        """An optional ``[...]`` argument, as raw text."""
        if self.i < len(self.tokens) and self.tokens[self.i] == "[":
            end = self.tokens.index("]", self.i) if "]" in self.tokens[self.i:] else len(self.tokens)
            inner = "".join(self.tokens[self.i + 1 : end])
            self.i = end + 1
            return inner
        return ""

    def _token(self, tok: str) -> str:
        if tok == "{":
            return self.group()
        if tok in "^_" and len(tok) == 1:
            return _script(self.atom(), _SUP if tok == "^" else _SUB, tok)
        if tok == "'":
            return "′"
        if tok in {"&", "~"}:
            return " "
        if tok.isspace():
            return " "
        if not tok.startswith("\\"):
            return tok
        name = tok[1:]
        if name.isalpha():  # TeX ignores the spaces after a control word
            while self.i < len(self.tokens) and self.tokens[self.i].isspace():
                self.i += 1
        if name in _RELATIONS:
            return f" {_SYMBOLS[name]} "
        if name in {"frac", "dfrac", "tfrac"}:
            top, bottom = self.atom(), self.atom()
            return f"{_wrap(top)}/{_wrap(bottom)}"
        if name == "sqrt":
            degree = self._optional()
            return ("" if not degree else _script(degree, _SUP, "^")) + "√" + _wrap(self.atom())
        if name in _ACCENTS:
            arg = self.atom()
            return arg + _ACCENTS[name] if len(arg) == 1 else f"{arg}{_ACCENTS[name]}"
        if name in _KEEP_ARG:
            return self.atom()
        if name in {"begin", "end"}:
            self.atom()
            return " "
        if name in _DROP:
            return ""
        return _SYMBOLS.get(name, name)  # an unknown command: its name


@functools.lru_cache(maxsize=8192)
def tex_to_text(tex: str) -> str:
    """One TeX formula (without delimiters) as readable plain text (remembered: a formula recurs
    across a page's two languages, its search index and every preview rebuild)."""
    text = unicodedata.normalize("NFC", _Parser(tex).group())  # α + U+0304 -> ᾱ
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"([(\[])\s+", r"\1", text)
    return re.sub(r"\s+([,.;)\]])", r"\1", text)


_DELIMITED = r"\\\((.+?)\\\)|\\\[(.+?)\\\]"
_MATH = re.compile(_DELIMITED, re.S)
_MATH_OR_DOLLARS = re.compile(_DELIMITED + r"|\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$]+?)(?<!\s)\$", re.S)


def plain_math(text: str, *, escaped: bool = False, dollars: bool = True) -> str:
    """``text`` with every inline or display formula replaced by :func:`tex_to_text`.

    ``escaped=True`` for HTML text (a search index): the TeX is unescaped before it is read
    and the plain text escaped again. ``dollars=False`` reads only ``\\(...\\)`` and
    ``\\[...\\]`` (what pymdownx.arithmatex leaves in a page), so a ``$`` in a shell line is
    not taken for maths.
    """

    def repl(m: re.Match[str]) -> str:
        tex = next(g for g in m.groups() if g is not None)
        if escaped:
            return html.escape(tex_to_text(html.unescape(tex)), quote=False)
        return tex_to_text(tex)

    return (_MATH_OR_DOLLARS if dollars else _MATH).sub(repl, text)
