"""Compare training methods: every method × schedule × seed, in parallel, with a summary.

:func:`run_grid` trains one network per combination of update rule (``sgd``, ``momentum``,
``rprop+``, ``irprop-``, ``quickprop``, ``adam``, … — any name of
:data:`bprop.optim.methods.METHODS`), schedule (``online``, ``minibatch``, ``batch``) and seed.
The runs go through :class:`joblib.Parallel` (``backend="loky"``: separate processes, one per
core by default — DESIGN.md §3: grids of runs go through joblib, never a home-made pool), with
one progress bar over the whole grid. Every run of a seed starts from the same weights (the
seed initialises the network and orders the data), so methods are compared on equal terms.

What is measured, per run:

- ``epochs_to_target``: the first epoch whose *training* loss (the epoch loss the trainer
  reports; for full-batch training the loss at the weights before that epoch's update) is
  ≤ ``target_loss``; ``None`` when it is never reached. Training stops there.
- ``seconds_to_target``: the wall-clock training time up to the end of that epoch (the
  trainer's cumulative ``seconds``, which includes evaluating the validation split).
- the final training/validation loss and accuracy, the epochs run and the seconds taken.

:func:`summarize` reduces the runs per method × schedule to the median and interquartile
range (25th–75th percentile, ``numpy.percentile``'s linear interpolation) of epochs and
seconds to target over the *successful* runs, the success rate, and the medians of the final
losses and accuracies. Full-batch methods (``rule.requires_full_batch``: Rprop, Quickprop, the
bold driver) make no sense with online or mini-batch updates — the sign or the difference of
successive *sampled* gradients is noise — so those combinations are skipped unless
``allow_full_batch_mismatch=True``; either way the summary flags them.

Example::

    >>> from bprop.compare import run_grid, summarize, format_summary
    >>> rows = run_grid("xor", ["sgd", "irprop-"], ["batch"], seeds=2, epochs=300,
    ...                 target_loss=0.05, hidden=[4], n_jobs=1, progress=False)
    >>> len(rows)
    4
    >>> print(format_summary(summarize(rows)))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import math
import os
import re
import signal
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bprop import interrupt
from bprop.errors import TrainingInterrupted

#: the CSV columns written by :func:`write_csv`, in order, and what each holds
CSV_COLUMNS: dict[str, str] = {
    "method": "update rule name (bprop.optim.methods.METHODS)",
    "schedule": "online, minibatch or batch",
    "seed": "seed of the initial weights, the data order and the validation split",
    "lr": "learning rate given to the rule (empty: the rule's default)",
    "success": "1 if the training loss reached target_loss, else 0",
    "epochs_to_target": "first epoch with training loss <= target_loss (empty: not reached)",
    "seconds_to_target": "training seconds up to the end of that epoch (empty: not reached)",
    "train_loss": "final training loss (the last epoch's loss)",
    "val_loss": "final validation loss (empty without a validation split)",
    "train_accuracy": "final training accuracy (empty for regression)",
    "val_accuracy": "final validation accuracy (empty without validation or for regression)",
    "epochs": "epochs run",
    "seconds": "total training seconds",
    "stopped_because": "target_loss, epochs or diverged",
    "full_batch_mismatch": "1 if a full-batch rule ran on online/mini-batch updates",
}

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
    """(X, y, name, task) from a dataset name, a Dataset or an (X, y) pair."""
    from bprop.data import Dataset, load_csv, load_dataset

    if isinstance(data, tuple) and len(data) == 2:
        X, y = np.asarray(data[0], np.float64), np.asarray(data[1])
        task = "classification" if np.issubdtype(y.dtype, np.integer) else "regression"
        return X, y, "arrays", task
    if isinstance(data, (str, os.PathLike)):
        name = str(data)
        ds = load_csv(name, -1) if name.lower().endswith(".csv") else load_dataset(name)
    elif isinstance(data, Dataset):
        ds = data
    else:
        raise TypeError(f"data must be a dataset name, a Dataset or (X, y), got {type(data)}")
    return np.asarray(ds.X, np.float64), np.asarray(ds.y), ds.name, ds.task


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
    from bprop.optim.methods import make_rule

    run, skipped = [], []
    for m in methods:
        full = make_rule(m).requires_full_batch
        for s in schedules:
            if s not in SCHEDULES:
                raise ValueError(f"unknown schedule {s!r}; choose from {SCHEDULES}")
            mismatch = full and s != "batch"
            if mismatch and not allow_full_batch_mismatch:
                skipped.append((m, s))
            else:
                run.append((m, s, mismatch))
    return run, skipped


_WARM: set[tuple[Any, ...]] = set()


def _warm_up(job: dict[str, Any]) -> None:
    """Run one throwaway epoch on a few examples, once per process and configuration, so
    that one-off costs (loading the compiled online kernel, first BLAS calls) are not timed."""
    import bprop as bp
    from bprop.losses import get_loss
    from bprop.optim.methods import make_rule

    key = (job["activation"], job["schedule"], job["loss"], job["method"])
    if key in _WARM:
        return
    _WARM.add(key)
    X, y = job["X"][:8], job["y"][:8]
    net = bp.mlp([X.shape[1], *job["hidden"], job["n_out"]], activation=job["activation"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = bp.Trainer(
            net, get_loss(job["loss"]), make_rule(job["method"]), job["schedule"], verbose=0
        )
        try:
            trainer.fit(X, y, epochs=1)
        except (bp.TrainingDiverged, ValueError):
            pass


def _one_run(job: dict[str, Any]) -> dict[str, Any]:
    """Train one network; runs in a worker process. Returns the row (with its curves)."""
    import bprop as bp
    from bprop.losses import get_loss
    from bprop.optim.methods import make_rule

    if job.get("worker"):
        # Ctrl-C in a terminal reaches every process of the group: only the parent stops
        # the grid (after the runs in progress) and writes what is done
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    X, y = job["X"], job["y"]
    seed, method, schedule = job["seed"], job["method"], job["schedule"]
    hyper = dict(job["hyper"])
    if job["lr"] is not None:
        hyper.setdefault("lr", job["lr"])
    rule = make_rule(method, **hyper)
    net = bp.mlp(
        [X.shape[1], *job["hidden"], job["n_out"]],
        activation=job["activation"],
        seed=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the flagged full-batch mismatch
        trainer = bp.Trainer(
            net,
            get_loss(job["loss"]),
            rule,
            schedule,
            batch_size=job["batch_size"],
            seed=seed,
            verbose=0,
        )
    _warm_up(job)
    stopped = "epochs"
    start = time.perf_counter()
    try:
        hist = trainer.fit(
            X,
            y,
            epochs=job["epochs"],
            validation_split=job["validation_split"],
            target_loss=job["target_loss"],
        )
        stopped = hist.stopped_because
    except bp.TrainingDiverged:
        hist = trainer.history
        stopped = "diverged"
    total = time.perf_counter() - start
    te = hist.target_epoch
    row: dict[str, Any] = {
        "index": job["index"],
        "method": method,
        "schedule": schedule,
        "seed": seed,
        "lr": hyper.get("lr"),
        "success": te is not None,
        "epochs_to_target": te,
        "seconds_to_target": hist.seconds[te - 1] if te is not None else None,
        "train_loss": hist.train_loss[-1] if hist.train_loss else None,
        "val_loss": hist.val_loss[-1] if hist.val_loss else None,
        "train_accuracy": hist.train_accuracy[-1] if hist.train_accuracy else None,
        "val_accuracy": hist.val_accuracy[-1] if hist.val_accuracy else None,
        "epochs": hist.epochs,
        "seconds": hist.seconds[-1] if hist.seconds else total,
        "stopped_because": stopped,
        "full_batch_mismatch": job["mismatch"],
        "curves": {
            "train_loss": [float(v) for v in hist.train_loss],
            "val_loss": [None if v is None else float(v) for v in hist.val_loss],
            "seconds": [float(v) for v in hist.seconds],
        },
    }
    return row


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
        n_jobs: joblib worker processes (-1: all cores; 1: in this process).
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
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    X, y, data_name, task = _load(data)
    name = name or data_name
    if scale:
        sd = X.std(axis=0)
        sd[sd == 0] = 1.0
        X = (X - X.mean(axis=0)) / sd
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
    }
    bar = tqdm(total=len(jobs), disable=not progress, unit="run", desc=f"compare {name}")
    rows: list[dict[str, Any]] = []
    try:
        if n_jobs == 1:
            for job in jobs:
                rows.append(_one_run(job))
                bar.update(1)
                interrupt.check()
        else:
            for job in jobs:
                job["worker"] = True
            parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
            results = parallel(delayed(_one_run)(job) for job in jobs)
            try:
                for row in results:
                    rows.append(row)
                    bar.update(1)
                    interrupt.check()
            finally:
                # on an interrupt: cancel the runs not finished and stop the workers
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "… tasks … have been cancelled"
                    results.close()
    except TrainingInterrupted as exc:
        # the runs finished so far, for the caller to write (a run cut short is left out)
        exc.rows = _finish(rows, config, skipped)
        raise
    finally:
        bar.close()
    return _finish(rows, config, skipped)


def _finish(
    rows: list[dict[str, Any]], config: dict[str, Any], skipped: list[tuple[str, str]]
) -> GridResult:
    """The rows in grid order, without their job index, as a :class:`GridResult`."""
    rows = sorted(rows, key=lambda r: r["index"])
    for r in rows:
        r.pop("index", None)
    return GridResult(rows, config, skipped)


# --- summary -----------------------------------------------------------------------------


def _median_iqr(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    q1, med, q3 = np.percentile(np.asarray(values, np.float64), [25, 50, 75])
    return float(med), float(q1), float(q3)


def _median(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None and not _isnan(v)]
    return float(np.median(vals)) if vals else None


def _isnan(v: Any) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method × schedule (in the order first met): ``runs``, ``successes``,
    ``success_rate``; ``epochs_median``/``epochs_q1``/``epochs_q3`` and ``seconds_median``/
    ``seconds_q1``/``seconds_q3`` to target over the successful runs (``None`` if none
    succeeded); the medians over all runs of the final ``train_loss``, ``val_loss``,
    ``train_accuracy``, ``val_accuracy``; ``diverged`` (runs that diverged); ``flag``:
    ``"full-batch rule on <schedule> updates"`` for a mismatch that ran, ``"skipped: …"`` for
    one that was skipped (those have ``runs`` = 0).

    Accepts the rows of :func:`run_grid` or of :func:`read_csv` (strings are converted).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((str(r["method"]), str(r["schedule"])), []).append(r)
    out = []
    for (method, schedule), rs in groups.items():
        ok = [r for r in rs if _truthy(r["success"])]
        e_med, e_q1, e_q3 = _median_iqr([float(r["epochs_to_target"]) for r in ok])
        s_med, s_q1, s_q3 = _median_iqr([float(r["seconds_to_target"]) for r in ok])
        mismatch = any(_truthy(r.get("full_batch_mismatch", False)) for r in rs)
        out.append(
            {
                "method": method,
                "schedule": schedule,
                "runs": len(rs),
                "successes": len(ok),
                "success_rate": len(ok) / len(rs),
                "epochs_median": e_med,
                "epochs_q1": e_q1,
                "epochs_q3": e_q3,
                "seconds_median": s_med,
                "seconds_q1": s_q1,
                "seconds_q3": s_q3,
                "train_loss": _median(_num(r.get("train_loss")) for r in rs),
                "val_loss": _median(_num(r.get("val_loss")) for r in rs),
                "train_accuracy": _median(_num(r.get("train_accuracy")) for r in rs),
                "val_accuracy": _median(_num(r.get("val_accuracy")) for r in rs),
                "diverged": sum(str(r.get("stopped_because")) == "diverged" for r in rs),
                "flag": f"full-batch rule on {schedule} updates" if mismatch else "",
            }
        )
    for method, schedule in getattr(rows, "skipped", []):
        out.append(
            {
                "method": method,
                "schedule": schedule,
                "runs": 0,
                "successes": 0,
                "success_rate": None,
                **dict.fromkeys(
                    (
                        "epochs_median",
                        "epochs_q1",
                        "epochs_q3",
                        "seconds_median",
                        "seconds_q1",
                        "seconds_q3",
                        "train_loss",
                        "val_loss",
                        "train_accuracy",
                        "val_accuracy",
                    )
                ),
                "diverged": 0,
                "flag": f"skipped: full-batch rule on {schedule} updates "
                "(allow_full_batch_mismatch / --allow-mismatch runs it)",
            }
        )
    return out


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _num(v: Any) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


def _fmt(v: Any, spec: str) -> str:
    if v is None:
        width = re.match(r"\d*", spec).group()
        return "—".rjust(int(width) if width else 1)
    return format(v, spec)


def format_summary(summary: Sequence[dict[str, Any]]) -> str:
    """The summary as a plain-text table (what ``bprop compare`` prints)."""
    head = (
        f"{'method':12s} {'schedule':9s} {'success':>8s} {'epochs to target':>18s} "
        f"{'seconds to target':>26s} {'train loss':>10s} {'val loss':>9s} "
        f"{'train acc':>9s} {'val acc':>8s}  note"
    )
    lines = [head, "-" * len(head)]
    for s in summary:
        succ = f"{s['successes']}/{s['runs']}" if s["runs"] else "—"
        if s["epochs_median"] is not None:
            ep = f"{s['epochs_median']:.0f} [{s['epochs_q1']:.0f}–{s['epochs_q3']:.0f}]"
            sec = f"{s['seconds_median']:.3g} [{s['seconds_q1']:.3g}–{s['seconds_q3']:.3g}]"
        else:
            ep = sec = "—"
        note = s["flag"]
        if s["diverged"]:
            note = (note + "; " if note else "") + f"{s['diverged']} diverged"
        lines.append(
            f"{s['method']:12s} {s['schedule']:9s} {succ:>8s} {ep:>18s} {sec:>26s} "
            f"{_fmt(s['train_loss'], '10.4g')} {_fmt(s['val_loss'], '9.4g')} "
            f"{_fmt(s['train_accuracy'], '9.3f')} {_fmt(s['val_accuracy'], '8.3f')}  {note}"
        )
    lines.append("epochs/seconds to target: median [25th–75th percentile] over successful runs")
    return "\n".join(lines)


# --- CSV ---------------------------------------------------------------------------------


def write_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> str:
    """Write one row per run to ``path`` (the per-epoch curves are left out).

    Columns, in order (:data:`CSV_COLUMNS`): ``method``, ``schedule``, ``seed``, ``lr``,
    ``success`` (1/0), ``epochs_to_target``, ``seconds_to_target`` (empty when the target was
    not reached), ``train_loss``, ``val_loss``, ``train_accuracy``, ``val_accuracy`` (the final
    values; empty when not applicable), ``epochs``, ``seconds``, ``stopped_because``
    (``target_loss``, ``epochs`` or ``diverged``), ``full_batch_mismatch`` (1/0).
    Floats are written with ``repr`` precision, so medians recomputed from the file equal
    :func:`summarize`'s. Returns the path.
    """
    path = os.fspath(path)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(CSV_COLUMNS))
        for r in rows:
            out = []
            for col in CSV_COLUMNS:
                v = r.get(col)
                if isinstance(v, bool):
                    v = int(v)
                out.append("" if v is None else repr(v) if isinstance(v, float) else v)
            w.writerow(out)
    return path


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a file written by :func:`write_csv` (values as strings)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
