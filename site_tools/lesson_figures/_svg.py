r"""The few shapes every hand-drawn diagram is made of, written as SVG text.

A diagram is a list of element strings (:func:`text`, :func:`rect`, :func:`box`, :func:`line`,
:func:`path`) placed on a white card by :func:`document`, which also declares the arrow heads
(:func:`marker`). Coordinates are SVG user units; a diagram shown 980 units wide in a 688 px column
keeps a 14-unit label at about 10 px (issue 19).

Text may carry ``_{sub}`` and ``^{sup}`` (as in ``ᾱ_{t}``): :func:`text` draws them as shifted,
smaller ``<tspan>``\ s. Everything else is escaped.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

__all__ = ["FONT", "INK", "box", "document", "line", "marker", "path", "rect", "text"]

FONT = "'Noto Sans CJK JP', 'IPAexGothic', 'Hiragino Sans', 'Yu Gothic', 'DejaVu Sans', sans-serif"
INK = "#263238"  # 14.5:1 on white

_MARKUP = re.compile(r"([_^])\{([^}]*)\}")


def _attrs(**values: object) -> str:
    """`` name="value"`` for each value that is not None; ``font_size`` is written ``font-size``."""
    return "".join(f' {name.replace("_", "-")}="{value}"' for name, value in values.items() if value is not None)


def _rich(content: str, size: float) -> str:
    """``content`` escaped, with ``_{sub}`` and ``^{sup}`` turned into shifted ``<tspan>`` elements."""
    out, pos, small = [], 0, round(size * 0.72, 1)
    for match in _MARKUP.finditer(content):
        out.append(escape(content[pos : match.start()]))
        shift = round(size * 0.3, 1) if match.group(1) == "_" else -round(size * 0.4, 1)
        out.append(
            f'<tspan dy="{shift}" font-size="{small}">{escape(match.group(2))}</tspan>'
            f'<tspan dy="{-shift}">\u200b</tspan>'
        )
        pos = match.end()
    out.append(escape(content[pos:]))
    return "".join(out)


def text(
    x: float,
    y: float,
    content: str,
    *,
    size: float | None = 14,
    colour: str | None = INK,
    anchor: str = "middle",
    weight: str | None = None,
    italic: bool = False,
) -> str:
    """A label at ``(x, y)``; ``size=None`` or ``colour=None`` inherit the document's."""
    return (
        f'<text{_attrs(x=x, y=y, text_anchor=anchor, font_size=size, fill=colour, font_weight=weight)}'
        f'{_attrs(font_style="italic" if italic else None)}>{_rich(content, size or 14)}</text>'
    )


def rect(
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    fill: str,
    rx: float | None = None,
    stroke: str | None = None,
    stroke_width: float | None = None,
    dash: str | None = None,
) -> str:
    """A rectangle, rounded by ``rx``, outlined when ``stroke`` is given (dashed by ``dash``, e.g. ``"6 4"``)."""
    return (
        f"<rect{_attrs(x=x, y=y, width=w, height=h, rx=rx, fill=fill, stroke=stroke)}"
        f"{_attrs(stroke_width=stroke_width, stroke_dasharray=dash)}/>"
    )


def box(
    x: float,
    y: float,
    w: float,
    h: float,
    lines: list[str] | tuple[str, ...],
    fill: str,
    *,
    stroke: str = INK,
    stroke_width: float = 1.5,
    rx: float = 10,
    dash: str | None = None,
    gap: float = 20,
    shift: float = 5,
    sizes: tuple[float | None, float | None] = (None, None),
    colour: str | None = None,
) -> str:
    """A rounded box with its lines centred ``gap`` apart, the first in bold.

    ``sizes`` gives the first line's font size and the others' (None inherits the document's);
    ``shift`` moves the block of lines down so that it looks centred on the box.
    """
    top = y + h / 2 - gap * (len(lines) - 1) / 2 + shift
    return "\n".join([
        rect(x, y, w, h, fill=fill, rx=rx, stroke=stroke, stroke_width=stroke_width, dash=dash),
        *(
            text(x + w / 2, top + i * gap, line, size=sizes[i > 0], colour=colour, weight="bold" if i == 0 else None)
            for i, line in enumerate(lines)
        ),
    ])


def line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    colour: str,
    width: float = 2,
    dash: str | None = None,
    head: str | None = None,
) -> str:
    """A straight line; ``head`` names a :func:`marker` to draw an arrow head at its end."""
    return (
        f"<line{_attrs(x1=x1, y1=y1, x2=x2, y2=y2, stroke=colour, stroke_width=width, stroke_dasharray=dash)}"
        f"{_attrs(marker_end=f'url(#{head})' if head else None)}/>"
    )


def path(d: str, *, colour: str, width: float = 2, dash: str | None = None, head: str | None = None) -> str:
    """An open path ``d`` (``"M x y L x y ..."``), with an arrow head named ``head`` at its end."""
    return (
        f'<path{_attrs(d=d, fill="none", stroke=colour, stroke_width=width, stroke_dasharray=dash)}'
        f"{_attrs(marker_end=f'url(#{head})' if head else None)}/>"
    )


def marker(ident: str, colour: str) -> str:
    """A filled arrow head called ``ident``, turned along the line that uses it."""
    return (
        f'<marker id="{ident}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def document(
    width: float,
    height: float,
    title: str,
    body: list[str],
    *,
    ident: str,
    heads: dict[str, str],
    desc: str | None = None,
    font_size: float | None = None,
    corner: float | None = None,
) -> str:
    """The SVG file: ``body`` on a white card (rounded by ``corner``), with a title read out as its name.

    ``heads`` maps arrow-head ids to colours; ``ident`` prefixes the title's and description's ids.
    The white card keeps the light file's colours where a page shows it on a dark background.
    """
    labels = f"{ident}-title" + (f" {ident}-desc" if desc is not None else "")
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{labels}" '
        f'font-family="{FONT}"{_attrs(font_size=font_size)}>',
        f'<title id="{ident}-title">{escape(title)}</title>',
        *([f'<desc id="{ident}-desc">{escape(desc)}</desc>'] if desc is not None else []),
        "<defs>",
        *(marker(name, colour) for name, colour in heads.items()),
        "</defs>",
        rect(0, 0, width, height, fill="#ffffff", rx=corner),
        *body,
        "</svg>",
        "",
    ])
