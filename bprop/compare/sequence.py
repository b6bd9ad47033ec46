"""Compare the recurrent gradient algorithms on one sequence task: full BPTT, truncated
BPTT(k1, k2) for several truncations, and RTRL (for the Elman cell, where it applies), each
with one or more update rules (method specs such as ``adam:lr=2e-3``; see
:mod:`bprop.compare.methods`).

**The task** (``delay``): one long stream of inputs x_t uniform in [−1, 1]; the target is the
input ``delay`` steps back, y_t = x_{t−d} (0 for t ≤ d) — the network must hold d past inputs
in its state, so a truncation k2 ≤ d cannot learn it while k2 > d can. The training stream is
split into ``batch_size`` parallel sub-streams (state carried along each); a second stream of
the same length, drawn with another seed, is held out. The loss is the mean squared error per
step.

**The algorithms**, all trained by :class:`bprop.Trainer` (the one training loop), one epoch
being one pass over the stream:

- ``bptt``: full BPTT — the whole sub-stream unrolled, one update per pass
  (``StreamSchedule(k1 = k2 = its length)``);
- ``tbptt:K1`` or ``tbptt:K1,K2``: Williams & Peng's BPTT(k1, k2) — an update every k1 steps,
  backpropagating k2 steps (``StreamSchedule(k1, k2)``);
- ``rtrl``: real-time recurrent learning — an update at every step (``StepSchedule`` with
  :class:`bprop.recurrent.RTRL`); Elman cell only.

**What is measured** per run (one seed: the same initial weights and data for every
algorithm and rule): after every epoch the held-out loss (``stream_loss``), the updates made so
far and the training wall time (evaluation excluded); the peak memory of training
(``tracemalloc``'s peak of Python/NumPy allocations over the first updates, measured on a copy
before the timed run, so the timing is not slowed by tracing). A run succeeds when the
held-out loss reaches ``target_loss``. Rows have the columns of :mod:`bprop.compare.results`
(``method`` the rule spec, ``schedule`` the algorithm) plus ``updates`` and
``peak_memory_mb``, so :func:`bprop.compare.summarize`, the paired tests and the tables apply
unchanged.

Example::

    >>> from bprop.compare.sequence import run_sequence_grid
    >>> rows = run_sequence_grid(["bptt", "tbptt:2", "rtrl"], ["adam:lr=0.01"], seeds=1,
    ...                          epochs=2, length=64, batch_size=4, hidden=4, delay=2)
    >>> [r["schedule"] for r in rows], rows[2]["updates"] == 2 * 64 // 4
    (['bptt', 'tbptt(2,2)', 'rtrl'], True)
"""

from __future__ import annotations

import copy
import math
import signal
import threading
import time
import tracemalloc
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.compare.grid import GridResult
from bprop.errors import TrainingInterrupted

TASKS = ("delay",)

_TRACING = threading.Lock()


def delay_stream(length: int, delay: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (L, 1) uniform in [−1, 1] and targets (L, 1), y_t = x_{t−delay}."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(int(length), 1))
    y = np.zeros_like(x)
    y[delay:] = x[:-delay] if delay else x
    return x, y


def parse_algorithm(spec: str, length: int) -> tuple[str, int | None, int | None]:
    """(label, k1, k2) of ``bptt``, ``rtrl``, ``tbptt:K1`` or ``tbptt:K1,K2``."""
    name, _, rest = spec.strip().lower().partition(":")
    if name in ("bptt", "rtrl") and not rest:
        return name, None, None
    if name == "tbptt" and rest:
        try:
            ks = [int(v) for v in rest.split(",")]
        except ValueError:
            ks = []
        if len(ks) in (1, 2) and all(k >= 1 for k in ks) and ks[-1] >= ks[0]:
            k1, k2 = ks[0], ks[-1]
            if k1 > length:
                raise ValueError(f"{spec!r}: k1 = {k1} is longer than a sub-stream ({length})")
            return f"tbptt({k1},{k2})", k1, k2
    raise ValueError(
        f"unknown algorithm {spec!r}: use bptt, rtrl, tbptt:K1 or tbptt:K1,K2 (K2 ≥ K1 ≥ 1)"
    )


def _network(cell: str, hidden: int, seed: int) -> Any:
    import bprop as bp
    from bprop.recurrent import Recurrent, TimeDistributed, make_cell

    rng = np.random.default_rng(seed)
    return bp.Sequential(
        Recurrent(make_cell(cell, 1, hidden, rng=rng)),
        TimeDistributed(bp.Dense(hidden, 1, rng=rng)),
    )


def _trainer(job: dict[str, Any], net: Any) -> tuple[Any, dict[str, Any]]:
    """The Trainer of one run and the ``fit`` options of its algorithm."""
    import bprop as bp
    from bprop.compare.methods import make
    from bprop.recurrent.rtrl import RTRL
    from bprop.train.schedules import StepSchedule, StreamSchedule

    rule = make(job["method"], {} if job["lr"] is None else {"lr": job["lr"]})
    B, n = job["batch_size"], job["length"] // job["batch_size"]
    if job["k1"] is None and job["algorithm"] == "bptt":
        schedule: Any = StreamSchedule(n, n, B)
    elif job["algorithm"] == "rtrl":
        schedule = StepSchedule()
    else:
        schedule = StreamSchedule(job["k1"], job["k2"], B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the flagged full-batch mismatch
        trainer = bp.Trainer(net, bp.MeanSquaredError(), rule, schedule, verbose=0)
    options = {"rtrl": RTRL(net, bp.MeanSquaredError())} if job["algorithm"] == "rtrl" else {}
    return trainer, options


def _data(job: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The stream as the algorithm takes it: (L, 1) for streams, (B, L/B, 1) for RTRL."""
    from bprop.recurrent.truncated import split_streams

    x, y = delay_stream(job["length"], job["delay"], seed)
    if job["algorithm"] == "rtrl":
        B = job["batch_size"]
        return split_streams(x, B), split_streams(y, B)
    return x, y


def _peak_memory(job: dict[str, Any], net: Any, X: Any, Y: Any) -> float:
    """Peak MB allocated while training a copy for a few updates (tracemalloc), after one
    untraced warm-up of the same updates so that one-off allocations (compiled kernels,
    caches) are not counted. tracemalloc sees every thread of the process: on the
    ``threading`` backend the measurements are taken one at a time, but may include what
    runs in other threads allocate meanwhile (use processes for this column)."""
    if job["algorithm"] == "rtrl":
        X, Y = X[:, : min(8, X.shape[1])], Y[:, : min(8, Y.shape[1])]
    peak = 0.0
    for traced in (False, True):
        trainer, options = _trainer(job, copy.deepcopy(net))
        if job["algorithm"] != "rtrl":
            k1, k2 = job["k1"] or 1, job["k2"] or 1
            options["max_updates"] = math.ceil(k2 / k1) + 1
        if not traced:
            trainer.fit(X, Y, epochs=1, **options)
            continue
        with _TRACING:  # one measurement at a time in a process (the threading backend)
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                trainer.fit(X, Y, epochs=1, **options)
                peak = tracemalloc.get_traced_memory()[1] - base
            finally:
                tracemalloc.stop()
    return peak / 2**20


def sequence_run(job: dict[str, Any]) -> dict[str, Any]:
    """Train one algorithm × rule × seed; returns its row (with its per-epoch curves)."""
    import bprop as bp
    from bprop.compare.methods import rule_lr
    from bprop.recurrent.truncated import split_streams, stream_loss

    if job.get("worker"):  # only the parent stops the grid on Ctrl-C (see bprop.compare)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed = job["seed"]
    net = _network(job["cell"], job["hidden"], seed)
    X, Y = _data(job, seed)
    Xv, Yv = delay_stream(job["length"], job["delay"], seed + 7919)  # held out
    memory = _peak_memory(job, net, X, Y)
    trainer, options = _trainer(job, net)

    def held_out() -> float:
        if job["algorithm"] == "rtrl":  # the same sub-streams, run forward from zero state
            B = job["batch_size"]
            out = net.forward(split_streams(Xv, B), train=False)[0]
            return float(np.mean((out - split_streams(Yv, B)) ** 2))
        return stream_loss(net, Xv, Yv, bp.MeanSquaredError(), batch_size=job["batch_size"])

    curves: dict[str, list] = {"train_loss": [], "val_loss": [], "seconds": [], "updates": []}
    seconds, updates, per_epoch = 0.0, 0, _updates_per_epoch(job)
    stopped, target_epoch = "epochs", None
    for epoch in range(1, job["epochs"] + 1):
        start = time.perf_counter()
        try:
            hist = trainer.fit(X, Y, epochs=1, **options)
        except bp.TrainingDiverged:
            stopped = "diverged"
            break
        seconds += time.perf_counter() - start
        updates += per_epoch
        val = held_out()
        curves["train_loss"].append(float(hist.train_loss[-1]))
        curves["val_loss"].append(val)
        curves["seconds"].append(seconds)
        curves["updates"].append(updates)
        if job["target_loss"] is not None and val <= job["target_loss"]:
            target_epoch, stopped = epoch, "target_loss"
            break
    return {
        "index": job["index"],
        "method": job["method"],
        "schedule": job["label"],
        "seed": seed,
        "lr": rule_lr(trainer.optimizer),
        "success": target_epoch is not None,
        "epochs_to_target": target_epoch,
        "seconds_to_target": curves["seconds"][target_epoch - 1] if target_epoch else None,
        "train_loss": curves["train_loss"][-1] if curves["train_loss"] else None,
        "val_loss": curves["val_loss"][-1] if curves["val_loss"] else None,
        "train_accuracy": None,
        "val_accuracy": None,
        "epochs": len(curves["train_loss"]),
        "seconds": seconds,
        "stopped_because": stopped,
        "full_batch_mismatch": job["mismatch"],
        "updates": updates,
        "peak_memory_mb": memory,
        "curves": curves,
    }


def _updates_per_epoch(job: dict[str, Any]) -> int:
    n = job["length"] // job["batch_size"]
    if job["algorithm"] == "rtrl":
        return n
    return 1 if job["k1"] is None else math.ceil(n / job["k1"])


def run_sequence_grid(
    algorithms: Sequence[str],
    methods: Sequence[str] = ("adam:lr=0.01",),
    seeds: int | Sequence[int] = 3,
    epochs: int = 30,
    target_loss: float | None = 0.02,
    *,
    task: str = "delay",
    cell: str = "elman",
    hidden: int = 16,
    length: int = 2000,
    batch_size: int = 8,
    delay: int = 4,
    lr: float | None = None,
    allow_full_batch_mismatch: bool = False,
    n_jobs: int = 1,
    progress: bool = False,
    backend: str = "loky",
    scheduler: Any = None,
) -> GridResult:
    """Train every algorithm × method × seed on the ``task`` and return one row per run (see
    the module docstring). RTRL with a cell other than Elman, and full-batch rules (Rprop,
    Quickprop, the bold driver) with anything but full BPTT, are skipped and listed in the
    result's ``skipped`` (full-batch rules run anyway with ``allow_full_batch_mismatch``).
    ``lr`` is the learning rate of every rule whose spec does not set one (default: each
    rule's own). ``n_jobs``, ``backend`` and ``scheduler`` choose where the runs go, as for
    :func:`bprop.compare.run_grid`: the rows are the same wherever they run but for the
    measured seconds and peak memory."""
    from bprop.compare.grid import _as_seeds, _finish, _last_run
    from bprop.compare.methods import make
    from bprop.distributed.grid import check_backend, run_jobs
    from bprop.train.progress import Progress

    check_backend(backend, scheduler)
    if task not in TASKS:
        raise ValueError(f"unknown sequence task {task!r}; choose one of {TASKS}")
    if not 0 <= int(delay) < int(length) // int(batch_size):
        raise ValueError(f"delay must be 0 … {length // batch_size - 1}, got {delay}")
    sub = int(length) // int(batch_size)
    if sub < 2:
        raise ValueError(f"length {length} split into {batch_size} sub-streams is too short")
    seed_list = _as_seeds(seeds)
    jobs, skipped, reasons = [], [], {}
    for a in algorithms:
        label, k1, k2 = parse_algorithm(a, sub)
        name = label.split("(")[0]
        for m in methods:
            full = make(m, {}).requires_full_batch
            if name == "rtrl" and cell != "elman":
                skipped.append((m, label))
                reasons[f"{m}/{label}"] = "skipped: RTRL is implemented for the Elman cell only"
                continue
            mismatch = full and name != "bptt"
            if mismatch and not allow_full_batch_mismatch:
                skipped.append((m, label))
                continue
            for s in seed_list:
                jobs.append(
                    dict(index=len(jobs), algorithm=name, label=label, k1=k1, k2=k2, method=m)
                    | dict(seed=s, mismatch=mismatch, cell=cell, hidden=int(hidden))
                    | dict(length=int(length), batch_size=int(batch_size), delay=int(delay))
                    | dict(epochs=int(epochs), target_loss=target_loss, lr=lr)
                )
    config = {
        "data": f"{task} (d = {delay}, {length} steps in {batch_size} sub-streams)",
        "task": task,
        "algorithms": list(algorithms),
        "methods": list(methods),
        "seeds": seed_list,
        "epochs": epochs,
        "target_loss": target_loss,
        "cell": cell,
        "hidden": int(hidden),
        "length": int(length),
        "batch_size": int(batch_size),
        "delay": int(delay),
        "lr": lr,
        "n_jobs": n_jobs,
        "backend": backend,
        "skip_reasons": reasons,
    }
    rows: list[dict[str, Any]] = []
    bar = Progress("compare sequences", len(jobs), int(bool(progress)), unit="run")
    try:
        run_jobs(
            sequence_run,
            jobs,
            rows,
            n_jobs,
            backend,
            scheduler,
            lambda r: bar.epoch_end(_last_run(r)),
        )
    except TrainingInterrupted as exc:  # the runs finished so far, for the caller to write
        exc.rows = _finish(rows, config, skipped)
        raise
    finally:
        bar.close()
    return _finish(rows, config, skipped)
