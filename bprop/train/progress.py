"""The one progress display of :meth:`bprop.Trainer.fit`: a bar with the ETA and the current
loss on a terminal, plain lines elsewhere.

One ``fit`` shows one display, labelled in the user's words (``label``, or a description of
the schedule and the rule such as ``"mini-batch 32 · Adam"``). It counts epochs when there
are many short ones and updates when there are few long ones (a language model's single pass
over a corpus, 15 epochs of an LSTM on the adding problem, RTRL's steps), so a run never sits
silent for minutes. The gradient sources report each update with :meth:`Progress.tick` and the
trainer each epoch with :meth:`Progress.epoch_end`.

- On a terminal (the stream is a TTY): a tqdm bar, redrawn in place.
- Anywhere else (a CI log, a pipe, a file): no carriage-return frames at all; one line now and
  then — every epoch for up to 20 epochs, else every tenth of the run; when counting updates,
  every tenth of them too; and at least every :data:`HEARTBEAT` seconds — each with the
  current loss, the elapsed time and the ETA.
- ``verbose=0`` (the command line's ``--quiet``): nothing.

Example::

    >>> import io
    >>> from bprop.train.progress import Progress
    >>> out = io.StringIO()
    >>> p = Progress("xor", epochs=2, verbose=1, file=out)
    >>> for e in (1, 2):
    ...     p.epoch_end({"train_loss": 0.5 / e, "val_loss": None})
    >>> p.close()
    >>> [line.split("  ")[0] for line in out.getvalue().splitlines()]
    ['xor: epoch 1/2', 'xor: epoch 2/2']
    >>> "\\r" in out.getvalue()
    False
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

#: off a terminal, a line at least this often (seconds) while training runs
HEARTBEAT = 30.0
#: with fewer epochs than this, and more than one update per epoch, the display counts updates
FEW_EPOCHS = 100

_RULE_WORDS = {"ScaleBySchedule": "lr schedule", "ClipByGlobalNorm": "clipping"}
_SCHEDULE_WORDS = {"online": "online", "batch": "full batch"}


def rule_words(rule: Any) -> str:
    """A rule as a user names it: ``"Adam"``, ``"clipping → Adam → lr schedule"``."""
    parts = getattr(rule, "rules", None)
    if parts:
        return " → ".join(rule_words(p) for p in parts)
    name = type(rule).__name__
    return _RULE_WORDS.get(name, name)


def describe(schedule: Any, rule: Any) -> str:
    """The default label: the schedule and the rule, e.g. ``"mini-batch 32 · Adam"``."""
    name = getattr(schedule, "name", "")
    if name == "stream":
        what = f"truncated BPTT({schedule.k1}, {schedule.k2})"
    elif name == "steps":
        what = "RTRL, one update per step"
    elif name == "minibatch":
        what = f"mini-batch {schedule.batch_size}"
    else:
        what = _SCHEDULE_WORDS.get(name, name)
    return f"{what} · {rule_words(rule)}"


def _short(key: str) -> str:
    """A logged value's name on the display: ``train_accuracy`` → ``acc``."""
    return key.replace("train_", "").replace("accuracy", "acc")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class Progress:
    """See the module docstring. ``epochs`` this display will see (0: unknown) and
    ``updates_per_epoch`` (None: unknown) pick what is counted, or ``total_updates`` makes it
    count updates; ``file`` defaults to standard error; ``tty`` overrides the terminal test;
    ``unit`` names what :meth:`epoch_end` counts (``"run"`` for a grid of runs)."""

    def __init__(
        self,
        label: str,
        epochs: int,
        verbose: int = 1,
        updates_per_epoch: int | None = None,
        file: IO[str] | None = None,
        tty: bool | None = None,
        total_updates: int | None = None,
        unit: str = "epoch",
    ) -> None:
        self.label, self.epochs, self.unit = label, max(int(epochs), 0), unit
        self.file = file if file is not None else sys.stderr
        upe = updates_per_epoch or 0
        self.per_update = total_updates is not None or (upe > 1 and 0 < self.epochs < FEW_EPOCHS)
        if total_updates is not None:
            self.total = int(total_updates)
        else:
            self.total = self.epochs * upe if self.per_update else self.epochs
        self.on = verbose >= 1 and self.total > 0
        self.done, self.epoch, self._sum, self._n = 0, 0, 0.0, 0
        self.start = time.perf_counter()
        if tty is None:
            tty = bool(getattr(self.file, "isatty", lambda: False)())
        self.bar: Any = None
        if self.on and tty:
            from tqdm.auto import tqdm

            unit = "update" if self.per_update else self.unit
            self.bar = tqdm(total=self.total, desc=label, unit=unit, file=self.file, leave=True)
        self._step = max(1, self.total // 10)
        if not self.per_update and self.epochs <= 20:
            self._step = 1
        self._next_line = self._step
        self._printed = -1  # the count when the last line was printed
        self._last_time = self.start  # and when
        if not (self.on and self.per_update):  # the hot loops' call does nothing
            self.tick = _no_tick  # type: ignore[method-assign]

    @classmethod
    def off(cls) -> Progress:
        """A display that shows nothing (before any ``fit``)."""
        return cls("", 0, verbose=0)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        """A pickled trainer (a fitted scikit-learn estimator) carries a display that shows
        nothing, not a terminal's stream."""
        return (Progress.off, ())

    # --- reports --------------------------------------------------------------------------
    def tick(self, loss: float, n: int = 1) -> None:
        """``n`` updates done, the last with (mean) loss ``loss``."""
        self.done += n
        self._sum, self._n = self._sum + loss * n, self._n + n
        if self.bar is not None:
            self.bar.update(n)
            if self.done % 16 == 0 or n > 1:
                self.bar.set_postfix_str(self._status(), refresh=False)
        elif self.done < self.total and (self.done >= self._next_line or self._overdue()):
            self._line({})
        elif self.done >= self.total and self.epochs == 0:  # a shared display's end
            self._line({})

    def epoch_end(self, logs: dict[str, Any]) -> None:
        """An epoch ended with ``logs``."""
        self.epoch += 1
        self._sum, self._n = 0.0, 0
        if not self.on:
            return
        shown = {k: v for k, v in logs.items() if isinstance(v, float) and k != "seconds"}
        if not self.per_update:
            self.done += 1
        if self.bar is not None:
            if not self.per_update:
                self.bar.update(1)
            self.bar.set_postfix_str(self._status(shown, ended=True), refresh=False)
        elif self.per_update:
            if 0 < self.epochs <= 20 or self.done >= self.total:  # few long epochs: each one
                self._line(shown, ended=True)
        elif self.done >= self._next_line or self.done >= self.total or self._overdue():
            self._line(shown, ended=True)

    def write(self, message: str) -> None:
        """A line of text that does not break the bar."""
        if not self.on:
            return
        if self.bar is not None:
            self.bar.write(message, file=self.file)
        else:
            print(message, file=self.file, flush=True)

    def close(self) -> None:
        """Close the bar (if one is shown); safe to call twice."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _overdue(self) -> bool:
        return time.perf_counter() - self._last_time > HEARTBEAT

    # --- text -----------------------------------------------------------------------------
    def _where(self, ended: bool = False) -> str:
        """The epoch (on a shared display whose number of epochs is unknown: nothing)."""
        e = self.epoch if ended else self.epoch + 1
        return f"epoch {min(e, self.epochs)}/{self.epochs}" if self.epochs else ""

    def _status(self, logs: dict[str, Any] | None = None, ended: bool = False) -> str:
        if logs:
            values = "  ".join(f"{_short(k)} {v:.4g}" for k, v in logs.items())
        else:
            values = f"loss {self._sum / self._n:.4g}" if self._n else ""
        head = self._where(ended) if self.per_update else ""
        return "  ".join(filter(None, [head, values]))

    def _line(self, logs: dict[str, Any], ended: bool = False) -> None:
        if self._printed == self.done:
            return
        self._printed, self._last_time = self.done, time.perf_counter()
        while self._next_line <= self.done:
            self._next_line += self._step
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        where = self._where(ended) if self.per_update else f"{self.unit} {self.done}/{self.total}"
        if self.per_update:
            where = f"{where}  update {self.done}/{self.total}".strip()
        values = self._status(logs, ended)
        if self.per_update and self.epochs:
            values = values.replace(self._where(ended), "", 1).strip()
        times = f"{_clock(elapsed)} elapsed, ETA {_clock(eta)}"
        parts = [f"{self.label}: {where}", values, times]
        print("  ".join(filter(None, parts)), file=self.file, flush=True)


def _no_tick(loss: float, n: int = 1) -> None:
    """Progress.tick when the display counts epochs: nothing."""


def for_fit(trainer: Any, epochs: int, updates_per_epoch: int | None) -> Progress:
    """The display of one ``trainer.fit``: the shared one (:func:`shared`), else a new one."""
    if trainer.shared_bar is not None:
        return trainer.shared_bar
    label = trainer.label or describe(trainer.schedule, trainer.optimizer)
    return Progress(label, epochs, trainer.verbose, updates_per_epoch)


@contextlib.contextmanager
def shared(
    trainer: Any, epochs: int = 0, updates: int | None = None, label: str | None = None
) -> Iterator[Progress]:
    """Within this context every ``trainer.fit`` reports to one display, counting ``epochs``
    epochs (or ``updates`` updates): for a loop that calls ``fit`` piece by piece (the stages
    of a stream, a learning rate changed between calls). :meth:`bprop.Trainer.progress_over`.
    """
    per_epoch = None if updates is not None else 1
    bar = Progress(
        label or trainer.label or describe(trainer.schedule, trainer.optimizer),
        epochs,
        trainer.verbose,
        per_epoch,
        total_updates=updates,
    )
    trainer.shared_bar = bar
    try:
        yield bar
    finally:
        trainer.shared_bar = None
        bar.close()
