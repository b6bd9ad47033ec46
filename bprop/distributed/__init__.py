"""Beyond one process: data shards, full-batch training on a Dask cluster, synchronous
mini-batches over MPI, and grids of runs on any joblib backend.

Each part is one more *gradient source* of the one training loop (:class:`bprop.Trainer`),
or, for grids, the engine under :func:`bprop.compare.run_grid`; the engines are Dask
distributed, MPI (mpi4py) and joblib, optional extras imported only when used
(``pip install "bprop[dask]"``, ``"bprop[mpi]"``, ``"bprop[ray]"``).

- :mod:`~bprop.distributed.shards` — the data as shards that workers load themselves;
- :mod:`~bprop.distributed.worker` — the shard task: loss and gradient sums at given weights;
- :mod:`~bprop.distributed.executors` — where shard tasks run: here (out-of-core) or on Dask;
- :mod:`~bprop.distributed.source` — :class:`ShardSource`, full batch summed in float64 in
  shard order (and mini-batches streamed from shards on one machine);
- :mod:`~bprop.distributed.mpi` — :class:`MPISource`, ``Allreduce`` of the gradient buffer;
- :mod:`~bprop.distributed.grid` — joblib backends for ``bprop compare``.

Example (out-of-core: the same code path as the cluster, with the local executor)::

    >>> import numpy as np, tempfile, bprop as bp
    >>> from bprop.distributed import write_shards
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)
    >>> shards = write_shards(X, y, tempfile.mkdtemp(), 3)
    >>> net = bp.mlp([3, 4, 2], seed=0)
    >>> h = bp.fit(net, shards, None, optimizer=bp.optim.Rprop("irprop-"), schedule="batch",
    ...            epochs=30, verbose=0)
    >>> h.train_accuracy[-1] > 0.9
    True
"""

from __future__ import annotations

from typing import Any

from bprop.distributed.shards import ArrayShard, CsvShard, NpzShard, Shards, write_shards

__all__ = [
    "ArrayShard",
    "CsvShard",
    "NpzShard",
    "Shards",
    "gradient_source",
    "write_shards",
]

_SHARD_OPTIONS = {"cluster", "seed", "keep"}
_MPI_OPTIONS = {"mpi"}


def gradient_source(
    trainer: Any,
    X: Any,
    y: Any,
    epochs: int,
    validation_split: float,
    validation_data: tuple[Any, Any] | None,
    options: dict[str, Any],
) -> Any:
    """The source for ``Trainer.fit`` on shards (:class:`~bprop.distributed.source.ShardSource`)
    or over MPI (:class:`~bprop.distributed.mpi.MPISource`), from ``fit``'s options."""
    mpi = options.get("mpi")
    known = _MPI_OPTIONS if mpi else _SHARD_OPTIONS
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not an option of the {trainer.schedule.name} schedule "
            f"(shards take {sorted(_SHARD_OPTIONS)}, MPI takes mpi; stream and step schedules "
            "take their own: see Trainer.fit)"
        )
    if mpi:
        from bprop.distributed.mpi import MPISource

        return MPISource(trainer, X, y, epochs, validation_data, mpi, validation_split)
    if validation_split:
        raise ValueError(
            "validation_split does not apply to shards (the driver never holds the data): "
            "give validation_data"
        )
    from bprop.distributed.source import ShardSource

    options = {k: v for k, v in options.items() if v is not None or k != "cluster"}
    return ShardSource(trainer, X, y, epochs, validation_data, **options)


def is_sharded(X: Any) -> bool:
    """Whether ``fit`` data are shards: :class:`Shards`, shard paths or ``dask.array`` data."""
    import os

    return (
        isinstance(X, (Shards, str, os.PathLike))
        or type(X).__module__.startswith("dask.")
        or (isinstance(X, list) and bool(X) and isinstance(X[0], (str, os.PathLike)))
    )
