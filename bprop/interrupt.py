"""Ctrl-C and SIGTERM that stop training *between* updates, never in the middle of one.

Inside :func:`deferred_interrupts`, the first SIGINT or SIGTERM only sets a flag; every training
loop calls :func:`check` after each update, which raises :class:`bprop.errors.TrainingInterrupted`
once the flag is set. The model and the update rule's state are then consistent (the update
either happened completely or not at all) and the caller can save them. A second signal while
the first is pending raises :class:`KeyboardInterrupt` at once, as Python does by default, so a
hung program can still be stopped.

Outside the context manager (plain library use) :func:`check` does nothing and Ctrl-C behaves as
Python's default.

Example::

    >>> from bprop import interrupt
    >>> with interrupt.deferred_interrupts():
    ...     interrupt.check()          # no signal arrived: returns
    >>> interrupt.pending() is None
    True
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from bprop.errors import TrainingInterrupted

__all__ = ["check", "deferred_interrupts", "pending", "request"]

_pending: int | None = None


def pending() -> int | None:
    """The number of the signal waiting to stop training, or None."""
    return _pending


def request(signum: int = signal.SIGINT) -> None:
    """Ask the running loop to stop after its current update (what the signal handler does)."""
    global _pending
    _pending = signum


def check(**context: Any) -> None:
    """Raise :class:`TrainingInterrupted` (with ``context``: trainer=, net=) if a stop was
    requested; the request is consumed."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        name = signal.Signals(signum).name if signum in iter(signal.Signals) else str(signum)
        raise TrainingInterrupted(f"training interrupted by {name}", signal=signum, **context)


@contextlib.contextmanager
def deferred_interrupts(
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM stop training after the current update (see module
    docstring). Only the main thread can install signal handlers; elsewhere this is a no-op."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if _pending is not None:  # a second signal: stop now
            raise KeyboardInterrupt
        request(signum)

    previous = {s: signal.signal(s, handler) for s in signals}
    _pending = None
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _pending = None
