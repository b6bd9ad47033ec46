"""Training on a long stream: truncated BPTT(k1, k2) as a gradient source of the Trainer.

:class:`bprop.Trainer` with a :class:`~bprop.train.schedules.StreamSchedule` runs this
source: every epoch is a pass over the stream from the zero state, one update per chunk of k1
steps (the gradient of :func:`bprop.recurrent.tbptt_updates`), so the progress bar, the epoch
history, callbacks, learning-rate schedules (``on_epoch_end`` once per pass), Ctrl-C and
divergence are the loop's. What only streams have lives here: the per-update record
(:class:`~bprop.train.history.StreamHistory`), evaluation every ``eval_every`` updates,
``keep_best``, the per-update limits ``max_seconds``/``max_updates`` and ``on_update``, and the
divergence check after *every* update (a pass can be millions of steps long).

:func:`fit_stream` is the short form. Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent import LSTM, Recurrent, TimeDistributed
    >>> ids = np.tile(np.arange(4), 250)                    # the stream 0 1 2 3 0 1 2 3 …
    >>> net = bp.Sequential(Recurrent(LSTM(4, 16, rng=0)), TimeDistributed(bp.Dense(16, 4, rng=1)))
    >>> hist = bp.fit_stream(net, ids[:-1], ids[1:], k1=10, batch_size=8, epochs=5,
    ...                      optimizer=bp.optim.Adam(0.02), verbose=0)
    >>> hist.train_loss[-1] < 0.1
    True
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bprop import backend, divergence, interrupt
from bprop.layers.base import Layer
from bprop.losses import Loss, get_loss
from bprop.optim.base import Chain, UpdateRule
from bprop.recurrent.truncated import default_loss, split_streams, stream_loss, tbptt_updates
from bprop.train.history import StreamHistory
from bprop.train.schedules import StreamSchedule
from bprop.train.sources import UpdateGuard


class StreamSource:
    """One ``Trainer.fit`` on a stream: the sub-streams, the validation stream, the
    per-update divergence guard and the stream options (see :meth:`bprop.Trainer.fit`).

    **Divergence** is checked on every chunk's loss per time step, against the reference
    measured on the first ``batch_size`` × k1 steps of the stream; when it fires, the weights
    and the rule's state go back to those before the update of the last chunk whose loss
    passed (the weights that had that loss; the start of this ``fit`` if none did) and
    :class:`bprop.TrainingDiverged` is raised.

    **Interruption**: after the update in progress, :class:`bprop.TrainingInterrupted`
    carries ``net``, ``optimizer_state``, ``history`` (this StreamHistory) and ``trainer``.
    Resuming is *not* exact: a new ``fit`` starts a new pass at the beginning of the stream
    from the zero state; the weights and the rule's state continue exactly.
    """

    restores_itself = True  # divergence is handled per update, here

    def __init__(
        self,
        trainer: Any,
        stream_X: Any,
        stream_Y: Any,
        epochs: int,
        validation: tuple[Any, Any] | None,
        eval_every: int | None = None,
        max_seconds: float | None = None,
        max_updates: int | None = None,
        keep_best: bool = False,
        on_update: Callable[[int, float], Any] | None = None,
    ) -> None:
        sched: StreamSchedule = trainer.schedule
        self.trainer, self.k1, self.k2 = trainer, sched.k1, sched.k2
        self.Xs = split_streams(stream_X, sched.batch_size, "stream_X")
        self.Ys = split_streams(stream_Y, sched.batch_size, "stream_Y")
        if self.Xs.shape[1] < self.k1:
            raise ValueError(
                f"the stream ({np.shape(stream_X)[0]} steps) split into {sched.batch_size} "
                f"sub-streams gives {self.Xs.shape[1]} steps each, shorter than one window of "
                f"k1 = {self.k1} steps; use a longer stream, a smaller batch_size or a smaller k1"
            )
        if eval_every is not None and int(eval_every) < 1:
            raise ValueError(f"eval_every must be at least 1, got {eval_every}")
        self.validation, self.eval_every = validation, eval_every
        self.max_seconds, self.max_updates = max_seconds, max_updates
        self.keep_best, self.on_update = keep_best, on_update
        if trainer.stream_history is None:
            trainer.stream_history = StreamHistory()
        self.history: StreamHistory = trainer.stream_history
        self.total_chunks = self.history.updates + epochs * math.ceil(self.Xs.shape[1] / self.k1)
        self.best: Any = None
        self.stopped = False
        self.guard = UpdateGuard(trainer, self._first_window_loss)

    @property
    def validates(self) -> bool:
        """Whether there is a validation stream."""
        return self.validation is not None

    @property
    def updates_per_epoch(self) -> int:
        """⌈T / k1⌉ truncated-BPTT updates per pass over the stream."""
        return math.ceil(self.Xs.shape[1] / self.k1)

    def _per_step(self, n: int) -> int:
        """What a loss over n steps of every sub-stream is divided by to be per step."""
        return self.Xs.shape[0] * n if self.trainer.loss.reduction == "sum" else 1

    def _first_window_loss(self) -> float:
        Xs, Ys, k1 = self.Xs, self.Ys, self.k1
        t = self.trainer
        value = stream_loss(
            t.net,
            Xs[:, :k1].reshape(-1, *Xs.shape[2:]),
            Ys[:, :k1].reshape(-1, *Ys.shape[2:]),
            t.loss,
            Xs.shape[0],
            k1,
        )
        return value / self._per_step(k1)

    def run_epoch(self) -> tuple[float, None]:
        """One pass over the stream; returns (mean chunk loss, None)."""
        t, hist = self.trainer, self.history
        first = hist.updates
        updates = tbptt_updates(t.net, t.loss, self.Xs, self.Ys, self.k1, self.k2)
        with contextlib.closing(updates):  # the layers' statefulness is restored at once
            self._run(updates)
        hist.epochs += 1
        if not (self.eval_every and hist.val_updates and hist.val_updates[-1] == hist.updates):
            self.evaluate()
        return float(np.mean(hist.train_loss[first:])), None

    def _run(self, updates: Any) -> None:
        """The updates of one pass: check, apply, record, then the per-update hooks."""
        t, hist = self.trainer, self.history
        for value, n in updates:
            self.guard.check(
                float(value) / self._per_step(n),
                True,
                lambda: f"at update {hist.updates + 1} (epoch {hist.epochs + 1})",
                "their values before the last update whose chunk loss passed the check",
                self.Xs if not np.issubdtype(self.Xs.dtype, np.integer) else None,
                self._restored,
            )
            t.update(value)
            t.bar.tick(float(value) / self._per_step(n))
            hist.train_loss.append(float(value))
            hist.seconds.append(time.perf_counter() - t.t_start)
            if interrupt.pending() is not None:
                hist.optimizer_state, hist.stopped_because = t.state, "interrupted"
                interrupt.check(net=t.net, optimizer_state=t.state, history=hist, trainer=t)
            if self.on_update is not None and self.on_update(hist.updates, float(value)):
                self._stop("callback")
            if self.eval_every and hist.updates % int(self.eval_every) == 0:
                self.evaluate()
            if self.max_seconds is not None and hist.seconds[-1] >= self.max_seconds:
                self._stop("max_seconds")
            if self.max_updates is not None and hist.updates >= self.max_updates:
                self._stop("max_updates")
            if self.stopped:
                break

    def _stop(self, reason: str) -> None:
        self.stopped = True
        self.trainer.history.stopped_because = self.history.stopped_because = reason

    def _restored(self) -> None:
        """After a divergence restore: the history records the restored rule state."""
        hist = self.history
        hist.optimizer_state, hist.stopped_because = self.trainer.state, "diverged"

    def check(self, loss: float) -> None:
        """The epoch's check: none, every update was checked."""
        return None

    def passed(self) -> bool:
        """False: a stream keeps and restores its good weights itself, update by update."""
        return False

    def evaluate(self) -> None:
        """The validation stream's loss per step (:func:`stream_loss`), recorded (and kept
        as the best weights with ``keep_best``)."""
        if self.validation is None:
            return
        t, hist = self.trainer, self.history
        vx, vy = self.validation
        v = stream_loss(t.net, vx, vy, t.loss, self.Xs.shape[0], self.k1)
        hist.val_updates.append(hist.updates)
        hist.val_seconds.append(time.perf_counter() - t.t_start)
        hist.val_loss.append(v)
        if self.keep_best and v <= min(hist.val_loss):
            self.best = backend.copy(t.net.space.params)
            hist.best_update = hist.updates
        if t.verbose:
            t.bar.write(
                f"update {hist.updates}/{self.total_chunks}  {hist.val_seconds[-1]:7.1f} s  "
                f"train {np.mean(hist.train_loss[-50:]):.4f}  val {v:.4f}"
            )

    def validate(self) -> dict[str, Any]:
        """The epoch's validation logs: the last evaluation."""
        return {"val_loss": self.history.val_loss[-1]} if self.history.val_loss else {}

    def finish(self) -> None:
        """After training ran to its end: ``keep_best`` restores the best evaluated weights;
        the history gets the rule's state and the reason training stopped."""
        t, hist = self.trainer, self.history
        if self.keep_best and self.best is not None:
            t.net.space.params[...] = self.best
        hist.optimizer_state, hist.stopped_because = t.state, t.history.stopped_because


def fit_stream(
    net: Layer,
    stream_X: Any,
    stream_Y: Any,
    k1: int,
    k2: int | None = None,
    *,
    loss: Loss | str | None = None,
    optimizer: UpdateRule | None = None,
    optimizer_state: Any = None,
    clip_norm: float | None = None,
    batch_size: int = 32,
    epochs: int = 1,
    validation: tuple[Any, Any] | None = None,
    eval_every: int | None = None,
    max_seconds: float | None = None,
    max_updates: int | None = None,
    callback: Callable[[int, float], Any] | None = None,
    verbose: int = 1,
    keep_best: bool = False,
    divergence_factor: float | None = divergence.DEFAULT_FACTOR,
    label: str | None = None,
) -> StreamHistory:
    """Train ``net`` on a long stream with truncated BPTT(k1, k2) and return its history:
    ``Trainer(net, loss, optimizer, StreamSchedule(k1, k2, batch_size)).fit(...)``.

    Args:
        net: a model with Recurrent layers, e.g. ``Sequential(Recurrent(LSTM(V, H)),
            TimeDistributed(Dense(H, V)))``.
        stream_X: the input stream: (L,) integer symbols (one-hot encoded on the fly to the
            network's input size), (L,) reals or (L, D) vectors.
        stream_Y: the target stream: (L,) labels or (L, K) (for a language model, the input
            stream shifted by one).
        k1, k2: update every k1 steps, backpropagating k2 ≥ k1 steps (default k2 = k1).
        loss: default softmax cross-entropy for integer targets, mean squared error otherwise.
        optimizer: any update rule (default ``Adam(1e-3)``), applied to ``net.space``.
        optimizer_state: resume from this rule state.
        clip_norm: clip the gradient to this global norm first (``Chain(ClipByGlobalNorm(c),
            optimizer)``, Pascanu et al. 2013).
        batch_size: number of parallel sub-streams.
        epochs: passes over the stream (the state is reset to zero at the start of each).
        validation: ``(stream_X, stream_Y)`` evaluated with :func:`stream_loss` every
            ``eval_every`` updates and at the end of each epoch.
        max_seconds, max_updates: stop early when reached.
        callback: called as ``callback(update, loss)`` after every update; returning True
            stops training.
        keep_best: with ``validation``, end with the weights of the evaluation that had the
            lowest validation loss (early stopping for streams) instead of the last ones.
        divergence_factor: see :mod:`bprop.divergence`; here the loss per time step of
            each chunk is checked after every update (see :class:`StreamSource`).
        label: what the progress display calls this run (default: the schedule and rule).

    Divergence and interruption are those of :class:`StreamSource`; after an interruption
    ``keep_best`` does not restore anything, so the weights and the rule's state belong
    together, and ``fit_stream(..., optimizer_state=exc.optimizer_state)`` continues the
    weights and the rule's state (Adam's moments, its step count) exactly.
    """
    from bprop.optim.adaptive import Adam
    from bprop.optim.transforms import ClipByGlobalNorm
    from bprop.train.trainer import Trainer

    if epochs < 0:
        raise ValueError(f"epochs must be non-negative, got {epochs}")
    schedule = StreamSchedule(k1, k2, batch_size)
    rule = optimizer if optimizer is not None else Adam(1e-3)
    if clip_norm is not None:
        rule = Chain(ClipByGlobalNorm(clip_norm), rule)
    trainer = Trainer(
        net,
        default_loss(stream_Y) if loss is None else get_loss(loss),
        rule,
        schedule,
        verbose=verbose,
        optimizer_state=optimizer_state,
        divergence_factor=divergence_factor,
        label=label,
    )
    trainer.fit(
        stream_X,
        stream_Y,
        epochs,
        validation_data=validation,
        eval_every=eval_every,
        max_seconds=max_seconds,
        max_updates=max_updates,
        keep_best=keep_best,
        on_update=callback,
    )
    return trainer.stream_history
