"""One run of a comparison grid: train one network for one method, schedule and seed (in a
worker process), after a throwaway warm-up, and return its row with its curves."""

from __future__ import annotations

import signal
import time
import warnings
from typing import Any

#: the (activation, schedule, loss, method) configurations warmed up in this process
_WARM: set[tuple[Any, ...]] = set()


def warm_up(job: dict[str, Any]) -> None:
    """Run one throwaway epoch on a few examples, once per process and configuration, so
    that one-off costs (loading the compiled online kernel, first BLAS calls) are not timed."""
    import bprop as bp
    from bprop.compare.methods import make
    from bprop.losses import get_loss

    key = (job["activation"], job["schedule"], job["loss"], job["method"])
    if key in _WARM:
        return
    _WARM.add(key)
    X, y = job["X"][:8], job["y"][:8]
    net = bp.mlp([X.shape[1], *job["hidden"], job["n_out"]], activation=job["activation"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = bp.Trainer(
            net, get_loss(job["loss"]), make(job["method"], {}), job["schedule"], verbose=0
        )
        try:
            trainer.fit(X, y, epochs=1)
        except (bp.TrainingDiverged, ValueError):
            pass


def one_run(job: dict[str, Any]) -> dict[str, Any]:
    """Train one network; runs in a worker process. Returns the row (with its curves)."""
    import bprop as bp
    from bprop.compare.methods import make, rule_lr
    from bprop.losses import get_loss

    if job.get("worker"):
        # Ctrl-C in a terminal reaches every process of the group: only the parent stops
        # the grid (after the runs in progress) and writes what is done
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    X, y = job["X"], job["y"]
    seed, method, schedule = job["seed"], job["method"], job["schedule"]
    hyper = dict(job["hyper"])
    if job["lr"] is not None:
        hyper.setdefault("lr", job["lr"])
    rule = make(method, hyper)  # a spec's own hyper-parameters (adam:lr=2e-3) win
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
    warm_up(job)
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
        "lr": rule_lr(rule),  # the rate actually used, defaults included
        "success": te is not None,
        "epochs_to_target": te,
        "seconds_to_target": hist.seconds[te - 1] if te is not None else None,
        "train_loss": hist.train_loss[-1] if hist.train_loss else None,
        "val_loss": hist.val_loss[-1] if hist.val_loss else None,
        "train_accuracy": hist.train_accuracy[-1] if hist.train_accuracy else None,
        "val_accuracy": hist.val_accuracy[-1] if hist.val_accuracy else None,
        "epochs": hist.n_epochs,
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
