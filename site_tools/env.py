"""The site's languages and the offline environment: the one place both are defined.

``noxfile.py``, the MkDocs hooks, the root ``conftest.py`` (Sybil), the notebook setup
cell, the scripts and the benchmarks all read them from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

#: The site's languages, default first (``mkdocs.yml``'s i18n plugin; a test checks they agree).
LANGUAGES: tuple[str, ...] = ("ja", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

#: Nothing reaches a model hub: every page, test and notebook runs with these.
HUB_OFFLINE_ENV: Mapping[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}

#: Tests, builds and benchmarks add: no display, no MkDocs 2 notice on every build.
OFFLINE_ENV: Mapping[str, str] = {**HUB_OFFLINE_ENV, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}


def apply_offline_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set every :data:`OFFLINE_ENV` variable that is not already set (``os.environ`` by default)."""
    target = os.environ if environ is None else environ
    for name, value in OFFLINE_ENV.items():
        target.setdefault(name, value)
    return target  # type: ignore[return-value]


def offline_env() -> dict[str, str]:
    """``os.environ`` with :data:`OFFLINE_ENV` forced on, for a child process."""
    return dict(os.environ) | dict(OFFLINE_ENV)


def check_language(lang: str) -> str:
    """Return ``lang`` when the site has it, else raise ValueError naming `lang`."""
    if lang not in LANGUAGES:
        raise ValueError(f"`lang` must be one of {LANGUAGES}, got {lang!r}.")
    return lang


def page_language(path: str | Path) -> str:
    """``"ja"`` or ``"en"`` from a page name such as ``gradient-descent.ja.md``."""
    name = PurePosixPath(str(path)).name
    for lang in LANGUAGES:
        if name.endswith(f".{lang}.md"):
            return lang
    raise ValueError(f"`path` must end in one of {[f'.{lang}.md' for lang in LANGUAGES]}, got {name!r}.")


def page_without_language(path: str | Path) -> str:
    """``lessons/x.ja.md`` -> ``lessons/x.md``."""
    text = PurePosixPath(str(path)).as_posix()
    lang = page_language(text)
    return text[: -len(f".{lang}.md")] + ".md"


def build_language(config: object) -> str:
    """The language MkDocs is building now (mkdocs-static-i18n sets ``theme.language`` per pass)."""
    theme = getattr(config, "theme", None) or {}
    lang = theme.get("language", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE
