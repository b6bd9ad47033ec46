"""The exceptions training raises, in one leaf module every layer of the package may import.

- :class:`TrainingDiverged` — the loss or the weights became NaN/inf, or the loss grew far
  beyond its best value; the weights and the update rule's state are restored before it is
  raised.
- :class:`TrainingInterrupted` — Ctrl-C (SIGINT) or SIGTERM arrived while training ran inside
  :func:`bprop.interrupt.deferred_interrupts`; the update in progress was finished first, so the
  model and the rule's state are consistent and can be saved.
- :class:`RelaxationError` — a settling network's forward or adjoint relaxation did not reach
  its fixed point (a kind of divergence); :class:`RelaxationWarning` its diagnostic twin.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RelaxationError", "RelaxationWarning", "TrainingDiverged", "TrainingInterrupted"]


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite, or the loss grew by a large factor over
    its best value. The weights are restored to the last good values before this is raised."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a signal (SIGINT/SIGTERM) after finishing the current update.

    The loop that stops sets what a caller needs to save the work: ``trainer`` (a
    :class:`bprop.Trainer`, when the loop is one) or ``net`` (the model) and
    ``optimizer_state``, and ``signal`` (the signal's number); any other keyword becomes an
    attribute too. A subclass of :class:`KeyboardInterrupt`, so code that does not catch it
    behaves as after a plain Ctrl-C.
    """

    def __init__(self, message: str = "training interrupted", **context: Any) -> None:
        super().__init__(message)
        self.trainer: Any = None
        self.net: Any = None
        self.optimizer_state: Any = None
        self.signal: int | None = None
        self.__dict__.update(context)


class RelaxationError(TrainingDiverged):
    """A forward or adjoint relaxation did not reach its fixed point (or produced NaN/inf)."""


class RelaxationWarning(RuntimeWarning):
    """Issued instead of :class:`RelaxationError` with ``on_nonconvergence="warn"``."""
