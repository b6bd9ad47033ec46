"""``bp.fit``: train a model in one call (a :class:`bprop.Trainer` made and run for you)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from bprop import backend, divergence
from bprop.layers.sequential import Sequential
from bprop.losses import Loss, MeanSquaredError, SoftmaxCrossEntropy
from bprop.optim.base import State, UpdateRule
from bprop.train.callbacks import EarlyStopping
from bprop.train.history import History
from bprop.train.schedules import Schedule


def default_loss(net: Sequential, y: Any) -> Loss:
    """The loss ``fit`` trains with when none is given: softmax cross-entropy for integer
    class labels and a model of more than one output, else mean squared error.

    Integer class labels are one per example, (N,), or one per time step of a per-step
    classifier, (N, T) (a list of label sequences of different lengths is padded first).
    Integer rows as wide as the output, (N, K) with values 0 and 1 (one-hot or multi-hot
    targets, such as the classic 8-3-8 encoder's), are targets to match, as float targets are
    (one-hot (N, T, C) included): mean squared error. An (N, T) array of 0s and 1s whose T
    equals the output width is read as such rows; pass ``loss=`` when it holds labels.

    Example::

        >>> import numpy as np, bprop as bp
        >>> from bprop.recurrent import Elman, Recurrent, TimeDistributed
        >>> net = bp.Sequential(Recurrent(Elman(3, 8)), TimeDistributed(bp.Dense(8, 5)))
        >>> type(default_loss(net, np.zeros((4, 7), int))).__name__  # (N, T) labels
        'SoftmaxCrossEntropy'
        >>> type(default_loss(bp.mlp([8, 3, 8]), np.eye(8, dtype=int))).__name__
        'MeanSquaredError'
    """
    from bprop.recurrent.lengths import is_ragged, pad_sequences

    y = pad_sequences(y)[0] if is_ragged(y) else np.asarray(backend.to_numpy(y))
    n_out = net.n_out or 1
    if n_out > 1 and np.issubdtype(y.dtype, np.integer) and _class_labels(y, n_out):
        return SoftmaxCrossEntropy()
    return MeanSquaredError()


def _class_labels(y: np.ndarray, n_out: int) -> bool:
    """Whether integer targets ``y`` are class labels (per example or per step) rather than
    rows of ``n_out`` values to match."""
    if y.ndim == 1:
        return True
    if y.ndim != 2:
        return False
    return y.shape[1] != n_out or (y.size > 0 and int(y.max()) > 1)


def fit(
    net: Sequential,
    X: Any,
    y: Any,
    loss: Loss | str | None = None,
    optimizer: UpdateRule | None = None,
    *,
    batch_size: int | None = None,
    schedule: str | Schedule | None = None,
    epochs: int = 100,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    early_stopping: int | EarlyStopping | None = None,
    target_loss: float | None = None,
    callbacks: Iterable[Any] = (),
    l2: float = 0.0,
    seed: int = 0,
    verbose: int = 1,
    optimizer_state: State | None = None,
    divergence_factor: float | None = divergence.DEFAULT_FACTOR,
    cluster: Any = None,
    mpi: Any = None,
    checkpoint: str | None = None,
    checkpoint_every: int = 1,
    label: str | None = None,
    lengths: Any = None,
) -> History:
    """Train ``net`` on ``X``, ``y`` and return its :class:`History`.

    ``history.trainer`` is the :class:`Trainer`, whose ``state`` (the update rule's state)
    and ``fit`` let training continue. ``loss`` defaults to softmax cross-entropy for integer
    labels (one per example or per time step) and mean squared error otherwise
    (:func:`default_loss`). See :class:`Trainer` for the other arguments.
    Sequences of different lengths: give ``X`` (and sequence targets ``y``) as lists of
    sequences, or padded with their ``lengths`` (:mod:`bprop.recurrent.lengths`).

    Beyond one process (:mod:`bprop.distributed`): ``X`` may be
    :class:`~bprop.distributed.Shards`, a folder or glob of shard files or ``dask.array`` data
    (``y`` None for shards), trained on a Dask ``cluster`` (a ``distributed.Client``, a
    scheduler address or ``"local:N"``) or, without one, out-of-core in this process;
    ``mpi=True`` trains data-parallel over MPI ranks. ``checkpoint`` saves the trainer
    there every ``checkpoint_every`` epochs (:class:`~bprop.train.checkpoint.ModelCheckpoint`):
    ``bp.load_trainer(checkpoint).fit(...)`` resumes exactly.

    Example::

        >>> import bprop as bp
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> net = bp.Sequential(bp.Dense(64, 32, rng=0), bp.Tanh(), bp.Dense(32, 10, rng=1))
        >>> h = bp.fit(net, X / 16, y, loss=bp.SoftmaxCrossEntropy(),
        ...            optimizer=bp.SGD(lr=0.1, momentum=0.9), batch_size=32, epochs=5,
        ...            validation_split=0.2, verbose=0)
        >>> h.val_accuracy[-1] > 0.9
        True
    """
    from bprop.distributed import is_sharded
    from bprop.train.checkpoint import ModelCheckpoint
    from bprop.train.trainer import Trainer

    options: dict[str, Any] = {}
    if mpi:
        options["mpi"] = mpi
    elif cluster is not None or is_sharded(X):
        options.update(cluster=cluster, seed=seed)
    if checkpoint is not None:
        callbacks = [*callbacks, ModelCheckpoint(checkpoint, every=checkpoint_every)]

    trainer = Trainer(
        net,
        loss if loss is not None else default_loss(net, y if y is not None else _first_y(X)),
        optimizer,
        schedule,
        batch_size,
        l2,
        seed,
        callbacks,
        verbose,
        optimizer_state,
        divergence_factor=divergence_factor,
        label=label,
    )
    if lengths is not None:
        options["lengths"] = lengths
    history = trainer.fit(
        X, y, epochs, validation_split, validation_data, early_stopping, target_loss, **options
    )
    history.trainer = trainer  # type: ignore[attr-defined]
    return history


def _first_y(X: Any) -> Any:
    """The targets of the first shard (to choose the default loss for shard data)."""
    from bprop.distributed.shards import as_shards

    return as_shards(X)[0].load()[1]
