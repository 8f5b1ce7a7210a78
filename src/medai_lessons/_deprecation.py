"""Old keyword names that keep working, with a ``FutureWarning`` naming the new one.

One name means one quantity (diffusers' vocabulary: ``num_train_timesteps`` for $T$,
``num_inference_steps`` for the sampler's $S$). Names an earlier release used stay
accepted for a while: :func:`renamed_kwargs` maps them onto the new keyword.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Emit the ``FutureWarning`` for a renamed argument or attribute."""
    warnings.warn(
        f"`{old}` is deprecated and will be removed in a future release; use `{new}` instead.",
        FutureWarning,
        stacklevel=stacklevel,
    )


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

