"""MkDocs hook, ``mkdocs serve`` only: remember work that every rebuild repeats unchanged.

A preview rebuild renders both languages again after an edit to one page. Most of that work
gives the same result for the same input, so in serve mode it is remembered:

* **API signatures.** mkdocstrings-python formats each long signature of the reference page with
  a ``ruff format`` subprocess (about 90 processes per rebuild). The formatting function is
  wrapped in a cache.
* **Compiled templates.** Each rebuild loads the configuration again, which makes new Jinja
  environments: the theme's and mkdocstrings'. Both would compile their templates again (about
  150). They share one in-memory :class:`jinja2.BytecodeCache`, Jinja's own mechanism for
  this. It is keyed by each template's source, so an edited template is compiled afresh.
* **Rendered pages.** Most edits change one page, yet every page's Markdown is converted to
  HTML again. A page whose Markdown (after the hooks), site files, package sources and
  ``mkdocs.yml`` are unchanged gets its earlier HTML, table of contents and anchors back. Its
  conversion also told the cross-reference plugins what it holds (autorefs' anchors, the
  mkdocstrings inventory); those calls are recorded the first time and made again, on the
  current build's plugins, each time the page is given back.
* **Highlighted code.** Pygments colours each code block of every page again (about 220). A
  block with the same source and the same settings gets its earlier HTML back.
* **Theme files.** Each build lists the theme's static files (Material ships about 14,000, its
  icons) and filters them by name. The theme's folders are installed packages, which do not
  change while the server runs, so the list is made once; a theme folder outside the installed
  packages (a ``custom_dir`` an author edits) is listed afresh every time.
* **Search sections.** Material's search plugin parses every page's HTML into sections. A
  page whose HTML has not changed gets its earlier sections back (copies: the plugin fills
  in a missing title).

``mkdocs build`` (the published site and the tests) is untouched. Some patched names are private
(mkdocstrings-python's ``_format_signature``, mkdocstrings' ``Environment``, Material's search
``Parser``); ``Highlight.highlight`` of pymdown-extensions, MkDocs' ``Page.render`` and
``Files.add_files_from_theme``, and the recorded autorefs and inventory methods are public. If a
future version renames them, this hook does nothing and the preview is only slower.
"""

from __future__ import annotations

import copy
import functools
import sysconfig
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import Files


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates in memory, for every Jinja environment of the preview."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])  # ignored if the source changed

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()
_serving = False  # hooks are loaded once per process (MkDocs caches them), so this stays set


def on_startup(command: str, dirty: bool) -> None:
    global _serving
    _serving = command == "serve"
    if _serving:
        _remember_signatures()
        _remember_templates()
        _remember_search_sections()
        _remember_highlighting()
        _remember_rendered_pages()
        _remember_theme_files()


def on_env(env: jinja2.Environment, config: MkDocsConfig, files: Files) -> jinja2.Environment:
    if _serving:
        env.bytecode_cache = _TEMPLATES  # the theme's
    return env


def _remember_templates() -> None:
    """mkdocstrings makes its environment in each handler, and the language plugin copies the
    handlers for the second language, so its environments are given the cache when they are made."""
    try:
        from mkdocstrings._internal.handlers import base
    except ImportError:
        return
    made = getattr(base, "Environment", None)
    if not isinstance(made, type) or getattr(made, "remembers", False):
        return

    class RememberingEnvironment(made):  # type: ignore[misc, valid-type]
        remembers = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.bytecode_cache = _TEMPLATES

    base.Environment = RememberingEnvironment


def _remember_signatures() -> None:
    try:
        from mkdocstrings_handlers.python._internal import rendering
    except ImportError:
        return
    original = getattr(rendering, "_format_signature", None)
    if callable(original) and not hasattr(original, "cache_info"):
        rendering._format_signature = functools.lru_cache(maxsize=4096)(original)


def _remember_search_sections() -> None:
    from material.plugins.search import plugin as search

    parser = getattr(search, "Parser", None)
    if not isinstance(parser, type) or getattr(parser, "remembers", False):
        return

    class RememberingParser(parser):  # type: ignore[misc, valid-type]
        """Material's parser, which skips a page whose HTML it has parsed before."""

        remembers = True
        sections: ClassVar[dict[str, list[Any]]] = {}

        def feed(self, data: str) -> None:
            known = self.sections.get(data)
            if known is None:
                super().feed(data)
                self._html = data
            else:
                self.data = [copy.copy(section) for section in known]
                self._html = None

        def close(self) -> None:
            if self._html is not None:
                super().close()
                if len(self.sections) > 200:  # a long session: forget pages edited away
                    self.sections.clear()
                self.sections[self._html] = [copy.copy(section) for section in self.data]

    search.Parser = RememberingParser


#: the package the pages' examples and the reference page read (mkdocs.yml: mkdocstrings' ``paths: [src]``)
_PACKAGE_SOURCES = Path(__file__).resolve().parent.parent / "src"


def _package_state() -> tuple[tuple[str, int], ...]:
    """Every package file's path and modification time: a changed, added or removed file changes it."""
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in _PACKAGE_SOURCES.rglob("*.py")))


def _remember_highlighting() -> None:
    from pymdownx.highlight import Highlight

    highlight = Highlight.highlight
    if getattr(highlight, "remembers", False):
        return
    coloured: dict[str, str] = {}

    @functools.wraps(highlight)
    def remembering_highlight(self: Any, *args: Any, **kwargs: Any) -> str:
        if getattr(self, "title_mode", "html") == "html":  # a title in HTML goes into the page's own stash
            return highlight(self, *args, **kwargs)
        # the settings (not the page's Markdown object) and the call, as text
        settings = sorted((name, value) for name, value in vars(self).items() if name != "md")
        key = repr((settings, args, sorted(kwargs.items())))
        if key not in coloured:
            if len(coloured) > 5000:
                coloured.clear()
            coloured[key] = highlight(self, *args, **kwargs)
        return coloured[key]

    remembering_highlight.remembers = True  # type: ignore[attr-defined]
    Highlight.highlight = remembering_highlight


#: the site's settings (a change restarts nothing in the server, so it is part of every page's key)
_MKDOCS_YML = Path(__file__).resolve().parent.parent / "mkdocs.yml"
#: what MkDocs' ``Page.render`` sets (``links_to_anchors`` only when not debugging)
_RENDERED = ("content", "toc", "_title_from_render", "present_anchor_ids")


def _targets(config: MkDocsConfig) -> dict[int, tuple[Any, ...]]:
    """The objects a page's conversion may tell what it holds, each with a path that finds its
    counterpart in a later build: the autorefs plugin, and the copies that the Markdown
    extensions hold (mkdocs-static-i18n copies them for the second language)."""
    found: dict[int, tuple[Any, ...]] = {}
    autorefs = config.plugins.get("autorefs")
    if autorefs is not None:
        found[id(autorefs)] = ("plugin", "autorefs")
    for i, ext in enumerate(config["markdown_extensions"]):
        for path in (("plugin",), ("_autorefs",), ("_handlers", "inventory")):
            target = _follow(ext, path)
            if target is not None:
                found.setdefault(id(target), ("ext", i, *path))
    return found


def _follow(start: Any, path: tuple[Any, ...]) -> Any:
    for name in path:
        start = getattr(start, name, None)
    return start


def _find(config: MkDocsConfig, role: tuple[Any, ...]) -> Any:
    if role[0] == "plugin":
        return config.plugins.get(role[1])
    extensions = config["markdown_extensions"]
    return _follow(extensions[role[1]], role[2:]) if role[1] < len(extensions) else None


def _recorded_methods() -> list[tuple[type, str]]:
    methods: list[tuple[type, str]] = []
    try:
        from mkdocs_autorefs import AutorefsPlugin

        methods += [(AutorefsPlugin, name) for name in ("register_anchor", "register_url", "_record_backlink")
                    if hasattr(AutorefsPlugin, name)]
    except ImportError:
        pass
    try:
        from mkdocstrings import Inventory

        methods.append((Inventory, "register"))
    except ImportError:
        pass
    return methods


_last_site: list[Any] = [None, None]  # the Files of the build under way, and its state


def _state_of_site(files: Files) -> int:
    """The site's files and their URLs, ``mkdocs.yml`` and the package sources, as one number:
    worked out once per build (each build, each language, makes a new ``Files``)."""
    if _last_site[0] is not files:
        _last_site[:] = [files, hash((tuple(sorted((f.src_uri, f.url) for f in files)),
                                      _MKDOCS_YML.stat().st_mtime_ns, _package_state()))]
    return _last_site[1]


_PAGE = object()  # stands for the page in a recorded call


def _remember_rendered_pages() -> None:
    from mkdocs.structure.pages import Page

    render = Page.render
    if getattr(render, "remembers", False):
        return
    methods = _recorded_methods()
    pages: dict[tuple[Any, ...], tuple[dict[str, Any], list[tuple[Any, ...]]]] = {}

    @functools.wraps(render)
    def remembering_render(self: Page, config: MkDocsConfig, files: Files) -> None:
        if self.markdown is None or "--8<--" in self.markdown:  # snippets read other files
            return render(self, config, files)
        key = (self.file.src_uri, self.markdown, _state_of_site(files))
        if key in pages:
            kept, calls = pages[key]
            for name, value in kept.items():
                setattr(self, name, copy.deepcopy(value))
            for role, name, args, kwargs in calls:
                target = _find(config, role)
                getattr(type(target), name)(target, *(self if a is _PAGE else a for a in args), **kwargs)
            return None
        calls: list[tuple[Any, ...]] | None = []
        targets = _targets(config)
        originals = {(owner, name): getattr(owner, name) for owner, name in methods}
        depth = [0]

        def recording(owner: type, name: str) -> Any:
            original = originals[(owner, name)]

            def record(target: Any, *args: Any, **kwargs: Any) -> Any:
                nonlocal calls
                if depth[0] == 0 and calls is not None:
                    role = targets.get(id(target))
                    if role is None:
                        calls = None  # told something we cannot find again: do not remember the page
                    else:
                        calls.append((role, name, tuple(_PAGE if a is self else a for a in args), kwargs))
                depth[0] += 1
                try:
                    return original(target, *args, **kwargs)
                finally:
                    depth[0] -= 1

            return record

        for owner, name in methods:
            setattr(owner, name, recording(owner, name))
        try:
            render(self, config, files)
        finally:
            for (owner, name), original in originals.items():
                setattr(owner, name, original)
        if calls is not None:
            if len(pages) > 200:  # a long session: forget pages edited away
                pages.clear()
            pages[key] = ({name: copy.deepcopy(getattr(self, name)) for name in _RENDERED}, calls)
        return None

    remembering_render.remembers = True  # type: ignore[attr-defined]
    Page.render = remembering_render  # type: ignore[method-assign]


def _remember_theme_files() -> None:
    from mkdocs.structure.files import File, Files

    add = Files.add_files_from_theme
    if getattr(add, "remembers", False):
        return
    installed = {Path(sysconfig.get_paths()[kind]).resolve() for kind in ("purelib", "platlib")}
    listed: dict[tuple[Any, ...], list[tuple[str, str]]] = {}

    @functools.wraps(add)
    def remembering_add(self: Files, env: jinja2.Environment, config: MkDocsConfig) -> None:
        dirs = tuple(config.theme.dirs)
        if not all(any(Path(d).resolve().is_relative_to(top) for top in installed) for d in dirs):
            return add(self, env, config)  # a theme folder an author may edit
        key = (dirs, tuple(config.theme.static_templates))
        if key not in listed:  # what add_files_from_theme finds, before docs files take precedence
            found = Files([])
            add(found, env, config)
            listed[key] = [(f.src_uri, f.src_dir) for f in found if f.src_dir is not None]
        for path, folder in listed[key]:
            if self.get_file_from_path(path) is None:
                self.append(File(path, folder, config.site_dir, config.use_directory_urls))
        return None

    remembering_add.remembers = True  # type: ignore[attr-defined]
    Files.add_files_from_theme = remembering_add  # type: ignore[method-assign]
