"""Old names that keep working, with a ``FutureWarning`` naming the new one: the package's one
deprecation mechanism.

One name means one quantity (diffusers' vocabulary: ``num_train_timesteps`` for $T$,
``num_inference_steps`` for the sampler's $S$). Names an earlier release used stay
accepted for a while:

* :func:`renamed_kwargs` maps an old keyword onto the new one;
* :func:`warn_renamed` is the warning itself (an old attribute or property calls it);
* :func:`moved_names` keeps an old import path (or an old name in the same module) working
  after a function moved module or was renamed.

The command line's old flags (``medai_lessons.cli.add_flag``) print :func:`renamed_message` too.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def renamed_message(old: str, new: str) -> str:
    """The sentence every deprecation says: the old name, and the new one to use."""
    return f"`{old}` is deprecated and will be removed in a future release; use `{new}` instead."


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Emit the ``FutureWarning`` for a renamed argument or attribute."""
    warnings.warn(renamed_message(old, new), FutureWarning, stacklevel=stacklevel)


def renamed_kwargs(**renames: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: accept each old keyword ``old=new`` as an alias of ``new``.

    Passing the old name warns; passing both the old and the new name is a ``TypeError``.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"pass `{new}` only, not also its deprecated alias `{old}`.")
                    warn_renamed(old, new)
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def moved_names(module: str, moves: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for names that moved: ``moves`` maps a name to its new module,
    or to ``"module:new_name"`` when it was renamed as well (the module may be ``module`` itself).

    ``from <module> import name`` still works and warns, naming the new import path.
    """

    def module_getattr(name: str) -> Any:
        if name not in moves:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_module, _, new_name = moves[name].partition(":")
        new_name = new_name or name
        warn_renamed(f"{module}.{name}", f"{new_module}.{new_name}")
        return getattr(importlib.import_module(new_module), new_name)

    return module_getattr
