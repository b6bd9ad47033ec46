"""Records of training: per epoch (:class:`History`) and per update on a stream
(:class:`StreamHistory`).

Example::

    >>> from bprop.train.history import History
    >>> h = History()
    >>> for loss in (0.9, 0.5, 0.2):
    ...     h.append({"train_loss": loss, "seconds": 0.1})
    >>> h.epochs, h.n_epochs, h.train_loss[-1]
    ([1, 2, 3], 3, 0.2)
    >>> h.as_dict()["epochs"]
    [1, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_INT_USE = (
    "History.epochs is the list of epoch numbers [1, 2, …, n] (to plot against, as "
    "plot(history.epochs, history.train_loss)); the number of epochs is history.n_epochs"
)


class EpochList(list):
    """The epoch numbers ``[1, …, n]`` of a :class:`History`. It used to be the count ``n``: using
    it as a number (comparing, adding, ``range(history.epochs)``) raises a TypeError that says
    to use :attr:`History.n_epochs`."""

    def _refuse(self, other: Any = None) -> Any:
        raise TypeError(_INT_USE)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            raise TypeError(_INT_USE)
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _refuse  # type: ignore[assignment]
    __mul__ = __rmul__ = _refuse  # type: ignore[assignment]
    __sub__ = __rsub__ = __truediv__ = __floordiv__ = __radd__ = _refuse

    def __add__(self, other: Any) -> Any:
        if isinstance(other, list):
            return list(self) + other
        raise TypeError(_INT_USE)

    def __index__(self) -> int:
        raise TypeError(_INT_USE)

    def __int__(self) -> int:
        raise TypeError(_INT_USE)

    def __format__(self, spec: str) -> str:
        if spec:
            raise TypeError(_INT_USE)
        return str(list(self))


@dataclass
class History:
    """Lists indexed by epoch: ``epochs`` (the epoch numbers 1, 2, …), ``train_loss``,
    ``val_loss``, ``train_accuracy``, ``val_accuracy`` (None where not applicable),
    cumulative ``seconds`` and, in ``extra``, any other value callbacks logged.
    ``n_epochs`` is how many epochs were run; ``as_dict()`` gives every list by name (what
    Keras's ``history.history`` is).

    ``history.epochs`` used to be the count: used as a number it raises a TypeError naming
    ``n_epochs`` (see :class:`EpochList`).

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
    def epochs(self) -> EpochList:
        """The epoch numbers ``[1, …, n_epochs]`` (x values for every list)."""
        return EpochList(range(1, len(self.train_loss) + 1))

    @property
    def n_epochs(self) -> int:
        """How many epochs were run."""
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
            "epochs": self.n_epochs,
            "train_loss": self.train_loss[-1],
            "val_loss": self.val_loss[-1],
            "train_accuracy": self.train_accuracy[-1],
            "val_accuracy": self.val_accuracy[-1],
            "seconds": self.seconds[-1],
        }

    def as_dict(self) -> dict[str, Any]:
        """Every per-epoch list by name (``epochs``, the losses, accuracies, ``seconds`` and the
        ``extra`` ones), and ``stopped_because``, ``best_epoch``, ``target_epoch``: plain
        lists and values, ready for ``json.dump`` or ``pandas.DataFrame``."""
        return {
            "epochs": list(self.epochs),
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
