"""Training logs: one CSV row per epoch (:class:`CSVLogger`) and TensorBoard event files
(:class:`TensorBoard`), both callbacks of the one training loop; :func:`log_callbacks` gives
both for a log directory; :func:`logging_to` hands them to every ``fit`` run inside it (what
``bprop train --log-dir DIR`` does, for feedforward runs and every ``--task``).

The CSV has a header line and one row per epoch: ``epoch`` and every value the epoch logged
(``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy``, ``seconds``, and any a
callback adds), empty where a value does not apply. Each row is flushed as it is written, so
a run that is killed leaves every finished epoch on disk; a file from an earlier run is
replaced when training starts. Later fits append: a resumed ``fit`` on the same trainer, or
another network's (several trained one after another): then a ``run`` column numbers the
networks (``1`` for the rows written before the second began).

TensorBoard event files are written by ``tensorboardX`` (the standard format, without
TensorFlow; ``pip install tensorboardX`` — an optional extra, ``pip install bprop[logs]``):
one scalar per logged value per epoch, tagged ``loss/train``, ``loss/val``,
``accuracy/train``… so train and validation curves share a chart. View them with
``tensorboard --logdir DIR``.

Example::

    >>> import pathlib, tempfile, numpy as np, bprop as bp
    >>> from bprop.train.logs import CSVLogger
    >>> X = np.random.default_rng(0).normal(size=(20, 2)); y = (X[:, 0] > 0).astype(int)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = bp.fit(bp.mlp([2, 2]), X, y, epochs=3, callbacks=[CSVLogger(path)], verbose=0)
    >>> lines = path.read_text().splitlines()
    >>> lines[0], len(lines)
    ('epoch,train_loss,train_accuracy,seconds', 4)
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any

from bprop.train.callbacks import Callback

#: TensorBoard tag of each standard logged value
TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "train_accuracy": "accuracy/train",
    "val_accuracy": "accuracy/val",
    "seconds": "time/seconds",
}


class CSVLogger(Callback):
    """Write one CSV row per epoch to ``path`` (see the module docstring)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        self._fh: IO[str] | None = None
        self._columns: list[str] = []
        self._trainer: Any = None
        self._run = 1  # the networks this logger has logged (a run column from the second)

    def on_train_begin(self, trainer: Any) -> None:
        again = bool(self._columns)  # its next fit, or another network's: append
        if again and trainer is not self._trainer:
            self._number_runs()
        self._trainer = trainer
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._fh = open(self.path, "a" if again else "w", newline="", encoding="utf-8")  # noqa: SIM115

    def _number_runs(self) -> None:
        """Another network starts: number the networks in a ``run`` column (added, with
        ``1``, to the rows written so far when the second one starts)."""
        self._run += 1
        if self._run > 2:
            return
        with open(self.path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        with open(self.path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["run", *rows[0]], *(["1", *r] for r in rows[1:])])
        self._columns = ["run", *self._columns]

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        if self._fh is None:
            self.on_train_begin(trainer)
        assert self._fh is not None
        writer = csv.writer(self._fh)
        if not self._columns:
            self._columns = ["epoch", *logs]
            writer.writerow(self._columns)
        values = {"run": self._run, "epoch": epoch, **logs}
        writer.writerow(["" if values.get(k) is None else values[k] for k in self._columns])
        self._fh.flush()
        return None

    def on_train_end(self, trainer: Any) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _summary_writer(log_dir: str | None) -> Any:
    """A tensorboardX SummaryWriter on ``log_dir`` (None: only check that it is installed)."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError as exc:
        raise ImportError(
            "TensorBoard logs need the tensorboardX package (it writes the standard event "
            "files without TensorFlow): pip install tensorboardX  (or: pip install bprop[logs])"
        ) from exc
    return None if log_dir is None else SummaryWriter(log_dir)


class TensorBoard(Callback):
    """Write every logged value of every epoch as a TensorBoard scalar under ``log_dir``; when
    it logs several networks one after another, the second and later write into
    ``log_dir/run-2``, ``run-3``… (each a run of its own in TensorBoard).

    Raises ImportError (saying what to install) when tensorboardX is missing, at once."""

    def __init__(self, log_dir: str | os.PathLike) -> None:
        self.log_dir = os.fspath(log_dir)
        _summary_writer(None)  # fail now, not after the first epoch, when it is missing
        self._writer: Any = None
        self._trainer: Any = None
        self._run = 1

    def on_train_begin(self, trainer: Any) -> None:
        if self._trainer is not None and trainer is not self._trainer:
            self._run += 1
        self._trainer = trainer

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        if self._writer is None:
            folder = (
                self.log_dir if self._run == 1 else os.path.join(self.log_dir, f"run-{self._run}")
            )
            self._writer = _summary_writer(folder)
        for key, value in logs.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(TAGS.get(key, key), float(value), epoch)
        self._writer.flush()
        return None

    def on_train_end(self, trainer: Any) -> None:
        """Close the event file (a later ``fit`` writes another one in the same folder)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def log_callbacks(log_dir: str | os.PathLike, tensorboard: bool | None = None) -> list[Callback]:
    """``[CSVLogger(log_dir/"log.csv"), TensorBoard(log_dir)]``. ``tensorboard=None`` adds the
    TensorBoard writer when tensorboardX is installed (else only the CSV); True requires it."""
    log_dir = os.fspath(log_dir)
    os.makedirs(log_dir, exist_ok=True)
    out: list[Callback] = [CSVLogger(os.path.join(log_dir, "log.csv"))]
    if tensorboard is None:
        import importlib.util

        tensorboard = importlib.util.find_spec("tensorboardX") is not None
        if not tensorboard:
            warnings.warn(
                f"{log_dir}: writing log.csv only; TensorBoard event files need the "
                "tensorboardX package: pip install tensorboardX",
                UserWarning,
                stacklevel=2,
            )
    if tensorboard:
        out.append(TensorBoard(log_dir))
    return out


_ACTIVE: contextvars.ContextVar[tuple[Callback, ...]] = contextvars.ContextVar(
    "bprop_log_callbacks", default=()
)


def active() -> tuple[Callback, ...]:
    """The callbacks of the enclosing :func:`logging_to` and :func:`calling` contexts (empty
    outside them); every :meth:`bprop.Trainer.fit` adds them to its own."""
    return _ACTIVE.get()


@contextlib.contextmanager
def calling(callbacks: Iterable[Callback]) -> Iterator[None]:
    """Within this context every :meth:`bprop.Trainer.fit` also calls ``callbacks`` (after its
    own): for code that builds its trainers inside, as the applications of :mod:`bprop.tasks`
    do. ``bprop train --task NAME --checkpoint-every N`` hands its checkpoint in this way."""
    token = _ACTIVE.set((*_ACTIVE.get(), *callbacks))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def logging_to(
    log_dir: str | os.PathLike | None, tensorboard: bool | None = None
) -> Iterator[None]:
    """Within this context every :meth:`bprop.Trainer.fit` also writes ``log_dir/log.csv`` and
    TensorBoard event files (:func:`log_callbacks`, handed in by :func:`calling`); ``None``
    logs nothing. For code that builds its trainers inside (the applications of
    :mod:`bprop.tasks`). When it trains several networks one after another (``--task
    rbp-xor``'s runs), ``log.csv`` holds them all, numbered in a ``run`` column, and
    TensorBoard shows each as a run of its own."""
    if log_dir is None:
        yield
        return
    with calling(log_callbacks(log_dir, tensorboard)):
        yield
