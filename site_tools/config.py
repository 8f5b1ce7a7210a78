"""``mkdocs.yml`` read by MkDocs' own loader (``!ENV`` tags, defaults and validation included)."""

from __future__ import annotations

from pathlib import Path

from .env import LANGUAGES, MKDOCS_YML


def load(path: Path = MKDOCS_YML, **overrides):
    """The validated MkDocs configuration (plugins loaded as ``mkdocs build`` loads them)."""
    from mkdocs.config import load_config

    return load_config(str(path), **overrides)


def site_url(path: Path = MKDOCS_YML) -> str | None:
    """``site_url`` of ``mkdocs.yml``, following ``!ENV [VAR, "default"]`` exactly as MkDocs does."""
    if not path.is_file():
        return None
    return load(path).site_url or None


def i18n_languages(path: Path = MKDOCS_YML) -> tuple[str, ...]:
    """The locales of the i18n plugin, default first; must equal :data:`site_tools.env.LANGUAGES`."""
    config = load(path)
    plugin = config.plugins["i18n"]
    langs = [lang.locale for lang in plugin.config.languages]
    default = [lang.locale for lang in plugin.config.languages if lang.default]
    return tuple(default + [lang for lang in langs if lang not in default]) or LANGUAGES


#: The folder of the site being built, as the MkDocs config named it before mkdocs-static-i18n
#: builds the other languages below it (``<top>/en``); set by the hooks' ``on_config``.
_SITE_TOP: list[str] = []


def remember_site_top(site_dir: str) -> None:
    """Note the top folder of the build that is starting (a hook's ``on_config``)."""
    _SITE_TOP[:] = [site_dir]


def site_top(default: str) -> Path:
    """The top folder of the current build (``default`` when no hook has noted one)."""
    return Path(_SITE_TOP[0] if _SITE_TOP else default)

