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
