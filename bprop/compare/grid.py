"""The grid of :func:`run_grid`: which method × schedule pairs run (:func:`plan_grid`), one job
per seed, run in this process or in joblib's worker processes with one progress bar, and the
rows back in grid order (see :mod:`bprop.compare`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from bprop.backend import get_dtype
from bprop.compare.runs import one_run
from bprop.errors import TrainingInterrupted

SCHEDULES = ("online", "minibatch", "batch")


class GridResult(list):
    """The rows of :func:`run_grid` (a list of dicts) with the grid's ``config`` and the
    ``skipped`` (method, schedule) combinations attached."""

    config: dict[str, Any]
    skipped: list[tuple[str, str]]

    def __init__(
        self,
        rows: Iterable[dict[str, Any]] = (),
        config: dict[str, Any] | None = None,
        skipped: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(rows)
        self.config = dict(config or {})
        self.skipped = list(skipped or [])


def _as_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("no seeds given")
    return out


def _load(data: Any) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(X, y, name, task) from a dataset name, a Dataset or an (X, y) pair (X as stored)."""
    from bprop.data import Dataset, load_csv, load_dataset

    if isinstance(data, tuple) and len(data) == 2:
        X, y = np.asarray(data[0]), np.asarray(data[1])
        task = "classification" if np.issubdtype(y.dtype, np.integer) else "regression"
        return X, y, "arrays", task
    if isinstance(data, (str, os.PathLike)):
        name = str(data)
        ds = load_csv(name, -1) if name.lower().endswith(".csv") else load_dataset(name)
    elif isinstance(data, Dataset):
        ds = data
    else:
        raise TypeError(f"data must be a dataset name, a Dataset or (X, y), got {type(data)}")
    return np.asarray(ds.X), np.asarray(ds.y), ds.name, ds.task


def _features(X: np.ndarray, scale: bool, dtype: Any, block: int = 256) -> np.ndarray:
    """``X`` in the networks' ``dtype``, standardised per feature when ``scale``: the mean and
    the standard deviation (ddof 0; 1 for a constant feature) in float64, then (x − mean) / sd
    in float64 and rounded once to ``dtype`` — as exact as standardising a float64 copy, but a
    few rows at a time, so no float64 copy of the whole ``X`` is made and the runs get the
    arrays they train on as they are (converting a large X to float64 and back cost more than
    training on it: issue 14)."""
    if not scale:
        return np.asarray(X, dtype)
    n, buf = X.shape[0], np.empty((min(block, X.shape[0]), X.shape[1]))

    def rows() -> Iterator[tuple[int, np.ndarray]]:  # each block as float64, in ``buf``
        for i in range(0, n, block):
            w = buf[: min(block, n - i)]
            w[...] = X[i : i + block]
            yield i, w

    total = np.zeros(X.shape[1])
    for _, w in rows():
        total += w.sum(axis=0)
    mean, squares = total / n, np.zeros(X.shape[1])
    for _, w in rows():
        w -= mean
        squares += np.einsum("ij,ij->j", w, w)
    sd = np.sqrt(squares / n)
    sd[sd == 0] = 1.0
    out = np.empty(X.shape, dtype)
    for i, w in rows():
        w -= mean
        w /= sd
        out[i : i + len(w)] = w
    return out


def _hyper_for(hyper: dict[str, dict[str, Any]] | None, method: str, schedule: str):
    """Hyper-parameters for one combination: ``hyper[method]`` updated by
    ``hyper[f"{method}@{schedule}"]``."""
    out: dict[str, Any] = {}
    if hyper:
        out.update(hyper.get(method, {}))
        out.update(hyper.get(f"{method}@{schedule}", {}))
    return out


def plan_grid(
    methods: Sequence[str],
    schedules: Sequence[str],
    allow_full_batch_mismatch: bool = False,
) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    """Which (method, schedule) pairs run, each with its mismatch flag, and which are skipped
    (full-batch rules on online/mini-batch updates without ``allow_full_batch_mismatch``)."""
    from bprop.compare.methods import make

    run, skipped = [], []
    for m in methods:
        full = make(m, {}).requires_full_batch
        for s in schedules:
            if s not in SCHEDULES:
                raise ValueError(f"unknown schedule {s!r}; choose from {SCHEDULES}")
            mismatch = full and s != "batch"
            if mismatch and not allow_full_batch_mismatch:
                skipped.append((m, s))
            else:
                run.append((m, s, mismatch))
    return run, skipped


def run_grid(
    data: Any,
    methods: Sequence[str],
    schedules: Sequence[str] = ("batch",),
    seeds: int | Sequence[int] = 5,
    epochs: int | dict[str, int] = 100,
    target_loss: float | None = 0.05,
    hidden: Sequence[int] = (8,),
    *,
    lr: float | None = None,
    hyper: dict[str, dict[str, Any]] | None = None,
    activation: str = "tanh",
    loss: str | None = None,
    batch_size: int = 32,
    validation_split: float = 0.0,
    scale: bool = True,
    allow_full_batch_mismatch: bool = False,
    n_jobs: int = -1,
    progress: bool = True,
    name: str | None = None,
    backend: str = "loky",
    scheduler: Any = None,
) -> GridResult:
    """Train every method × schedule × seed combination and return one row per run.

    Args:
        data: a built-in dataset name (``"digits"``, ``"xor"``, ``"encoder-8-3-8"``, …), a
            :class:`bprop.data.Dataset`, or an ``(X, y)`` pair.
        methods: update-rule names (see :data:`bprop.optim.methods.METHODS`).
        schedules: ``online``, ``minibatch`` (``batch_size``) and/or ``batch``.
        seeds: a number n (seeds 0 … n−1) or the seeds themselves.
        epochs: most epochs per run: one number, or a dict by schedule name.
        target_loss: the training loss that counts as success (training stops there);
            ``None`` runs every epoch and counts no run as successful.
        hidden: hidden-layer sizes of the ``bp.mlp`` trained (``activation`` in between;
            linear output; He initialisation for ReLU, Glorot otherwise).
        lr: learning rate for every rule that takes one (default: each rule's own).
        hyper: per-method hyper-parameters, ``{"sgd": {"lr": 0.5}, "sgd@online":
            {"lr": 0.01}}``; ``method@schedule`` entries override ``method`` ones.
        loss: loss name (default softmax cross-entropy for classes, mean squared error
            otherwise).
        validation_split: fraction held out (seeded) for the validation columns.
        scale: standardise the inputs (zero mean, unit variance per feature) first.
        allow_full_batch_mismatch: also run full-batch rules on online/mini-batch schedules.
        n_jobs: joblib workers (-1: all cores, or all of a cluster's; 1 with the default
            backend: in this process).
        backend: joblib's backend: ``loky`` (local processes), ``threading``, ``dask`` or
            ``ray`` (see :mod:`bprop.distributed.grid`); the rows are the same whichever runs
            them (only the seconds differ).
        scheduler: for ``backend="dask"``: a ``distributed.Client``, a scheduler address, or
            ``"local:N"`` (a local cluster of N worker processes; the default ``local:2``).
        progress: a tqdm progress bar over the whole grid.
        name: the data set's name in the report (default: its own, or ``"arrays"``).

    Inside :func:`bprop.interrupt.deferred_interrupts`, a SIGINT/SIGTERM stops the grid once
    the runs in progress end (with ``n_jobs=1``: after the current update, that run left out):
    :class:`bprop.errors.TrainingInterrupted` is raised with ``rows``, the
    :class:`GridResult` of the runs finished so far. Worker processes ignore SIGINT, so a
    Ctrl-C sent to the whole process group stops only the grid, not the runs.

    Returns:
        a :class:`GridResult`: the rows (dicts with the :data:`CSV_COLUMNS` and ``curves``,
        the per-epoch ``train_loss``, ``val_loss`` and cumulative ``seconds``), in grid order,
        with ``config`` and ``skipped`` attached.
    """
    from bprop.distributed.grid import check_backend, run_jobs
    from bprop.train.progress import Progress

    check_backend(backend, scheduler)
    X, y, data_name, task = _load(data)
    name = name or data_name
    if X.dtype.kind not in "biuf" or X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(
            f"X must be a numeric (examples, features) array with examples; got dtype "
            f"{X.dtype}, shape {X.shape}"
        )
    X = _features(X, scale, get_dtype())
    if loss is None:
        loss = "softmax_cross_entropy" if task == "classification" else "mse"
    if task == "classification" and loss == "softmax_cross_entropy":
        y = y.astype(np.int64)
        n_out = int(y.max()) + 1
    else:
        n_out = 1 if y.ndim == 1 else int(y.shape[1])
    seed_list = _as_seeds(seeds)
    combos, skipped = plan_grid(methods, schedules, allow_full_batch_mismatch)
    jobs = []
    for method, schedule, mismatch in combos:
        n_epochs = epochs[schedule] if isinstance(epochs, dict) else int(epochs)
        for s in seed_list:
            jobs.append(
                {
                    "index": len(jobs),
                    "X": X,
                    "y": y,
                    "method": method,
                    "schedule": schedule,
                    "seed": s,
                    "mismatch": mismatch,
                    "lr": lr,
                    "hyper": _hyper_for(hyper, method, schedule),
                    "hidden": [int(h) for h in hidden],
                    "n_out": n_out,
                    "activation": activation,
                    "loss": loss,
                    "batch_size": int(batch_size),
                    "epochs": n_epochs,
                    "validation_split": float(validation_split),
                    "target_loss": target_loss,
                }
            )
    config = {
        "data": name,
        "examples": int(X.shape[0]),
        "features": int(X.shape[1]),
        "methods": list(methods),
        "schedules": list(schedules),
        "seeds": seed_list,
        "epochs": epochs,
        "target_loss": target_loss,
        "hidden": [int(h) for h in hidden],
        "activation": activation,
        "loss": loss,
        "lr": lr,
        "hyper": hyper or {},
        "batch_size": int(batch_size),
        "validation_split": float(validation_split),
        "scale": bool(scale),
        "allow_full_batch_mismatch": bool(allow_full_batch_mismatch),
        "n_jobs": n_jobs,
        "backend": backend,
    }
    bar = Progress(f"compare {name}", len(jobs), int(bool(progress)), unit="run")
    rows: list[dict[str, Any]] = []
    try:
        run_jobs(
            one_run, jobs, rows, n_jobs, backend, scheduler, lambda r: bar.epoch_end(_last_run(r))
        )
    except TrainingInterrupted as exc:
        # the runs finished so far, for the caller to write (a run cut short is left out)
        exc.rows = _finish(rows, config, skipped)
        raise
    finally:
        bar.close()
    return _finish(rows, config, skipped)


def _last_run(row: dict[str, Any]) -> dict[str, Any]:
    """What the progress display shows of a finished run: its final training loss."""
    loss = row.get("train_loss")
    key = f"{row['method']} {row['schedule']} seed {row['seed']} loss"
    return {key: float(loss)} if loss is not None else {}


def _finish(
    rows: list[dict[str, Any]], config: dict[str, Any], skipped: list[tuple[str, str]]
) -> GridResult:
    """The rows in grid order, without their job index, as a :class:`GridResult`."""
    rows = sorted(rows, key=lambda r: r["index"])
    for r in rows:
        r.pop("index", None)
    return GridResult(rows, config, skipped)
