"""Records of training: per epoch (:class:`History`) and per update on a stream
(:class:`StreamHistory`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Lists indexed by epoch: ``train_loss``, ``val_loss``, ``train_accuracy``,
    ``val_accuracy`` (None where not applicable) and cumulative ``seconds``.

    ``stopped_because`` says why training ended ("epochs", "early_stopping",
    "target_loss", "callback", "interrupted", "diverged"); ``best_epoch`` is the epoch whose
    weights were kept by early stopping; ``target_epoch`` is the first epoch whose training
    loss reached ``target_loss``.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    stopped_because: str = "epochs"
    best_epoch: int | None = None
    target_epoch: int | None = None
    extra: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)

    def append(self, logs: dict[str, Any]) -> None:
        """Record one epoch's logs (unknown keys go to ``extra``)."""
        for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds"):
            getattr(self, key).append(logs.get(key))
        for key, value in logs.items():
            if key not in (
                "train_loss",
                "val_loss",
                "train_accuracy",
                "val_accuracy",
                "seconds",
                "epoch",
            ):
                self.extra.setdefault(key, []).append(value)

    def truncate(self, epochs: int) -> None:
        """Forget every epoch after the first ``epochs`` (what a diverged run rolls back)."""
        for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds"):
            del getattr(self, key)[epochs:]
        for values in self.extra.values():
            del values[epochs:]
        if self.best_epoch is not None and self.best_epoch > epochs:
            self.best_epoch = None
        if self.target_epoch is not None and self.target_epoch > epochs:
            self.target_epoch = None

    def last(self) -> dict[str, Any]:
        """The last epoch's values (empty before the first epoch)."""
        if not self.train_loss:
            return {}
        return {
            "epochs": self.epochs,
            "train_loss": self.train_loss[-1],
            "val_loss": self.val_loss[-1],
            "train_accuracy": self.train_accuracy[-1],
            "val_accuracy": self.val_accuracy[-1],
            "seconds": self.seconds[-1],
        }

    def as_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``extra``'s series included."""
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "seconds": self.seconds,
            "stopped_because": self.stopped_because,
            "best_epoch": self.best_epoch,
            "target_epoch": self.target_epoch,
            **self.extra,
        }

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]


@dataclass
class StreamHistory:
    """The per-update record of training on a stream (what :func:`bprop.fit_stream` returns):
    per update ``train_loss`` (the chunk's loss) and ``seconds``; per evaluation
    ``val_updates``, ``val_seconds`` and ``val_loss``; ``epochs`` (passes over the stream);
    the update rule's ``optimizer_state`` (to continue); ``stopped_because`` ("epochs",
    "callback", "max_seconds", "max_updates", "interrupted", "diverged", or an epoch
    callback's "early_stopping"/"target_loss"); ``best_update`` (``keep_best``)."""

    train_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    val_updates: list[int] = field(default_factory=list)
    val_seconds: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs: int = 0
    optimizer_state: Any = None
    stopped_because: str = "epochs"
    best_update: int | None = None

    @property
    def updates(self) -> int:
        """The number of updates made."""
        return len(self.train_loss)
