"""Material's icons inlined as SVG, read from the installed theme at build time (no CDN, no font).

``material_icon("notebook-outline")`` is the markup Material's own ``:material-notebook-outline:``
shortcode gives: the SVG in a ``span.twemoji``, which the theme sizes to the text around it.
The icon is decorative (``aria-hidden``); the text next to it says what the control does.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path


def icon_dir() -> Path:
    """``templates/.icons/material`` of the installed mkdocs-material."""
    import material  # the theme package; imported only when a page needs an icon

    return Path(material.__file__).resolve().parent / "templates" / ".icons" / "material"


@cache
def material_icon(name: str) -> str:
    """The icon ``name`` of Material Design Icons as inline HTML (``span.twemoji > svg``)."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"`name` must be an icon name such as 'notebook-outline', got {name!r}.")
    path = icon_dir() / f"{name}.svg"
    if not path.is_file():
        raise ValueError(f"`name` {name!r} is not an icon of the installed Material theme ({path}).")
    svg = path.read_text(encoding="utf-8").strip()
    svg = svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
    return f'<span class="twemoji">{svg}</span>'
