"""Stopping long work cleanly on Ctrl-C (SIGINT) or ``kill`` (SIGTERM).

Python turns Ctrl-C into a ``KeyboardInterrupt`` wherever the program happens to be. In a
training loop that can be inside a library's clean-up code or an object's finaliser, where
Python prints the exception, swallows it, and lets the run go on. So inside
:func:`stop_at_step_boundaries` a signal is only *noted*, and the loop stops at the next
:func:`check` it makes, once per step: the one place where the weights, the optimiser and the
last checkpoint agree. A second signal stops at once, for a reader who does not want to wait.

SIGTERM (what ``kill`` and job schedulers send) is treated like Ctrl-C, so a terminated run
keeps its last checkpoint too; the command then exits with 128 + the signal's number (130
for SIGINT, 143 for SIGTERM), as shells do.

A late signal is never ignored. Whenever it arrives, even after the last training step or
after the finished run was published, the command exits with 128 + the signal's number and
its one line says what is on disk: the last checkpoint, the finished run still under its
temporary name, or (too late to stop anything) the complete run at ``--out``, which is kept.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: the signals that ask a run to stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(KeyboardInterrupt):
    """A stop asked for by a signal: a ``KeyboardInterrupt`` that knows which signal it was."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__()
        self.signum = signum


class _State:
    noted: int | None = None  # a signal noted inside stop_at_step_boundaries, not yet acted on
    deferring = False
    last: int = signal.SIGINT  # the signal behind the most recent stop (for the exit status)


_state = _State()


def exit_status() -> int:
    """The exit status of a stopped command: 128 + the number of the signal that stopped it."""
    return 128 + int(_state.last)


def _stop_now(signum: int, frame: FrameType | None = None) -> None:
    _state.last = signum
    raise StopRequested(signum)


def _note(signum: int, frame: FrameType | None = None) -> None:
    if _state.deferring and _state.noted is None:
        _state.last = _state.noted = signum  # acted on at the next check()
    else:
        _stop_now(signum)  # a second signal, or one outside a loop: stop at once


def _install(handler: signal.Handlers | object) -> dict[int, object]:
    """Set ``handler`` for the stop signals; returns the previous handlers (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}  # type: ignore[arg-type]


def _restore(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM both raise :class:`StopRequested` (a ``KeyboardInterrupt``).

    The command line wraps every sub-command in this, so ``kill`` cleans up like Ctrl-C. It also
    restores Ctrl-C in a process started with SIGINT ignored (a child of a background job).
    """
    previous = _install(_stop_now)
    _state.last = signal.SIGINT  # a KeyboardInterrupt that no signal raised counts as Ctrl-C
    try:
        yield
    finally:
        _restore(previous)


@contextlib.contextmanager
def stop_at_step_boundaries() -> Iterator[None]:
    """Inside, the first SIGINT/SIGTERM is noted and acted on by the next :func:`check`.

    A signal noted but never checked (it came after the last step) stops the run when the
    block ends, before anything is saved: a stop asked for is never ignored.
    """
    outer = (_state.deferring, _state.noted)
    previous = _install(_note)
    _state.deferring, _state.noted = bool(previous), None
    try:
        yield
        check()
    finally:
        _restore(previous)  # from here on a signal raises at once ...
        pending = _state.noted  # ... and one noted since the last check() is not lost
        _state.deferring, _state.noted = outer
    if pending is not None:
        raise StopRequested(pending)


def check() -> None:
    """Raise :class:`StopRequested` if a stop signal was noted; call it once per training step."""
    if _state.noted is not None:
        signum, _state.noted = _state.noted, None
        raise StopRequested(signum)
