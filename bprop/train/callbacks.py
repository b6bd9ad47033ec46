"""Callbacks: code run by the trainer at the end of every epoch.

A callback is either a plain function ``f(epoch, logs)`` or an object with any of
``on_train_begin(trainer)``, ``on_epoch_end(trainer, epoch, logs)`` and
``on_train_end(trainer)``. Returning ``True`` from an epoch hook stops training.

``logs`` holds ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``, ``seconds``.

Example::

    >>> seen = []
    >>> cb = lambda epoch, logs: seen.append(round(logs["train_loss"], 3))
"""

from __future__ import annotations

from typing import Any

from bprop import backend


class Callback:
    """Hooks into :class:`bprop.Trainer`'s loop; subclass and override what you need.

    Example::

        >>> import numpy as np, bprop as bp
        >>> class Log(bp.Callback):
        ...     def on_epoch_end(self, trainer, epoch, logs):
        ...         print(epoch, round(logs["train_loss"], 2))
        >>> X = np.zeros((4, 2)); y = np.zeros((4, 1))
        >>> _ = bp.fit(bp.mlp([2, 1]), X, y, epochs=2, callbacks=[Log()], verbose=0)
        1 0.0
        2 0.0
    """

    def on_train_begin(self, trainer: Any) -> None:
        """Called once before the first epoch of :meth:`bprop.Trainer.fit`."""
        pass

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        """Called after every epoch with the epoch number (from 1) and its logs (``train_loss``,
        ``val_loss``, accuracies, ``seconds``, …); return True to stop training."""
        return None

    def on_train_end(self, trainer: Any) -> None:
        """Called once when training ends, for whatever reason."""
        pass


class FunctionCallback(Callback):
    """A plain function ``fn(epoch, logs)`` used as a callback's ``on_epoch_end`` (what
    :func:`as_callback` makes of a function); a true result stops training."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        return self.fn(epoch, logs)


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience``
    epochs, and restore the weights of the best epoch (Prechelt 1998, "early stopping")."""

    def __init__(
        self,
        patience: int = 10,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        restore_best: bool = True,
    ) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.monitor, self.restore_best = monitor, restore_best

    def on_train_begin(self, trainer: Any) -> None:
        self.best = float("inf")
        self.best_epoch: int | None = None
        self.best_params = None
        self.wait = 0
        saved = (trainer.progress or {}).get("early_stopping")
        if saved is not None:  # resuming an interrupted fit: carry on counting
            best = saved["best"]  # None: no epoch had been seen (inf is not JSON)
            self.best = float("inf") if best is None else float(best)
            self.wait = int(saved["wait"])
            self.best_epoch = None if saved["best_epoch"] is None else int(saved["best_epoch"])
            self.best_params = trainer.best_params

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(
                f"early stopping monitors {self.monitor!r}, which is not computed: give "
                "validation_split or validation_data"
            )
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_params = backend.copy(trainer.net.space.params)
            return None
        self.wait += 1
        if self.wait >= self.patience:
            trainer.history.stopped_because = "early_stopping"
            return True
        return None

    def on_train_end(self, trainer: Any) -> None:
        """Restore the best weights (not after divergence, when the trainer has restored its
        own); after an interruption instead keep the weights and save
        the counters in ``trainer.progress`` (and the best weights in
        ``trainer.best_params``), so that the resumed ``fit`` continues them exactly."""
        if trainer.history.stopped_because == "diverged":  # the trainer restored its weights
            trainer.best_params = None
            return
        if trainer.history.stopped_because == "interrupted":
            if trainer.progress is not None:  # (a stream's pass is not resumed: no progress)
                trainer.progress["early_stopping"] = {
                    "best": None if self.best == float("inf") else float(self.best),
                    "best_epoch": self.best_epoch,
                    "wait": int(self.wait),
                }
            trainer.best_params = self.best_params
            return
        trainer.best_params = None
        if self.best_epoch is not None:
            trainer.history.best_epoch = self.best_epoch
            if self.restore_best and self.best_params is not None:
                trainer.net.space.params[...] = self.best_params


def as_callback(cb: Any) -> Callback:
    """``cb`` as a :class:`Callback`: callbacks pass through, functions are wrapped in a
    :class:`FunctionCallback`, anything else is a TypeError."""
    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return FunctionCallback(cb)
    raise TypeError(f"callbacks must be Callback objects or functions, got {type(cb).__name__}")
