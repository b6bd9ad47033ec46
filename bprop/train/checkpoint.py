"""``ModelCheckpoint``: save the model while it trains — the last state every N epochs, or the
best one by a monitored value.

Every save goes through :func:`bprop.save`, so it is atomic (a temporary file renamed over the
old one: a run killed mid-save leaves the previous checkpoint whole). On examples (online,
mini-batch, full-batch) the whole :class:`~bprop.Trainer` is saved, so
``bprop.load_trainer(path).fit(...)`` continues the run; on a stream or RTRL schedule, whose
trainers cannot be saved as a resumable run yet, the network with its loss, rule and the rule's
state. ``path`` may name the epoch and any logged value with ``str.format`` fields, e.g.
``"ckpt/epoch{epoch:03d}-{val_loss:.3f}.bprop"`` keeps one file per save.

Example::

    >>> import os, tempfile, numpy as np, bprop as bp
    >>> from bprop.train.checkpoint import ModelCheckpoint
    >>> X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> d = tempfile.mkdtemp()
    >>> best = ModelCheckpoint(os.path.join(d, "best.bprop"), monitor="train_loss", best_only=True)
    >>> every = ModelCheckpoint(os.path.join(d, "e{epoch}.bprop"), every=2)
    >>> _ = bp.fit(bp.mlp([2, 4, 2]), X, y, epochs=5, callbacks=[best, every], verbose=0)
    >>> sorted(os.listdir(d)), best.best_epoch
    (['best.bprop', 'e2.bprop', 'e4.bprop', 'e5.bprop'], 5)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from bprop.train.callbacks import Callback


def literal_path(path: str | os.PathLike) -> str:
    """``path`` as a :class:`ModelCheckpoint` path that names no fields (its braces doubled):
    a file name with ``{`` or ``}`` in it is written as it is.

    Example::

        >>> literal_path("run{1}.bprop").format(epoch=3)
        'run{1}.bprop'
    """
    return os.fspath(path).replace("{", "{{").replace("}", "}}")


class ModelCheckpoint(Callback):
    """Save to ``path`` every ``every`` epochs and after the last epoch (``best_only=False``:
    the file holds the latest state), or whenever ``monitor`` improves on its best so far
    (``best_only=True``; ``mode`` ``"min"`` for losses, ``"max"`` for accuracies).

    ``saved`` lists the paths written, ``best`` and ``best_epoch`` the best monitored value and
    its epoch; ``metadata`` goes into every file saved (:func:`bprop.save`). ``save``, when
    given, writes the file instead: ``save(trainer, path)`` (an application's own model file,
    such as a language model with its vocabulary), which must write atomically, as
    :func:`bprop.save` does. A monitored value
    that is not logged (``val_loss`` without validation data) raises a ValueError at the first
    epoch that should be saved. With ``early_stopping`` the final save holds the last epoch's
    weights (the early-stopping restore comes after it); ``best_only=True`` keeps the best
    ones."""

    def __init__(
        self,
        path: str | os.PathLike,
        monitor: str = "val_loss",
        best_only: bool = False,
        every: int = 1,
        mode: str = "min",
        metadata: dict[str, Any] | None = None,
        save: Callable[[Any, str], None] | None = None,
    ) -> None:
        if int(every) < 1:
            raise ValueError(f"every must be at least 1 (epochs between saves), got {every}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.path, self.monitor, self.best_only = os.fspath(path), monitor, bool(best_only)
        self.every, self.mode, self.metadata = int(every), mode, metadata
        self.save = save
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.saved: list[str] = []
        self._last_saved: int | None = None
        self._logs: dict[str, Any] = {}

    def on_train_begin(self, trainer: Any) -> None:
        self._last_saved = None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        self._logs = dict(logs)
        if epoch % self.every:
            return None
        if not self.best_only:
            self._save(trainer, epoch, logs)
            return None
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(
                f"ModelCheckpoint monitors {self.monitor!r}, which is not logged: give "
                "validation_split or validation_data, or monitor='train_loss'"
            )
        if math.isfinite(value) and self._better(float(value)):
            self.best, self.best_epoch = float(value), epoch
            self._save(trainer, epoch, logs)
        return None

    def on_train_end(self, trainer: Any) -> None:
        """Save the final state once more when the last epoch was not a multiple of
        ``every`` (not for ``best_only``, nor after a divergence or an interruption)."""
        stopped = trainer.history.stopped_because
        if self.best_only or stopped in ("diverged", "interrupted"):
            return
        if trainer.epoch and self._last_saved != trainer.epoch:
            self._save(trainer, trainer.epoch, self._logs)

    def _save(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        from bprop.io import save
        from bprop.train.schedules import Schedule

        fields = {k: v for k, v in logs.items() if v is not None}
        try:
            path = self.path.format(epoch=epoch, **fields)
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(
                f"ModelCheckpoint path {self.path!r}: cannot fill it in at epoch {epoch} ({exc}); "
                f"its fields may be epoch and the logged values {sorted(fields)}"
            ) from exc
        if self.save is not None:
            self.save(trainer, path)
        elif isinstance(trainer.schedule, Schedule):
            save(trainer, path, metadata=self.metadata)
        else:
            save(
                trainer.net,
                path,
                optimizer=trainer.optimizer,
                optimizer_state=trainer.state,
                loss=trainer.loss,
                metadata=self.metadata,
            )
        self._last_saved = epoch
        if path not in self.saved:
            self.saved.append(path)
