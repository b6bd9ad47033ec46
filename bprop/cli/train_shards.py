"""``bprop train`` beyond one process: ``--shards`` (out-of-core, or on a Dask cluster with
``--scheduler``), ``--checkpoint-every`` and ``--mpi`` (see :mod:`bprop.distributed`).

    bprop train --shards 'data/part-*.npz' --method irprop- --epochs 100 \\
        --scheduler tcp://host:8786 --out run.bprop --checkpoint-every 10
    bprop train --resume run.bprop --scheduler tcp://host:8786     # after a driver restart
    mpiexec -n 2 python -m mpi4py -m bprop train --data digits --batch-size 64 --mpi
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

import bprop as bp
from bprop import interrupt
from bprop.cli.common import (
    CLIError,
    check_out,
    last_epoch,
    save_trained,
    saved_on_interrupt,
)
from bprop.errors import TrainingInterrupted
from bprop.train.checkpoint import ModelCheckpoint, literal_path

#: options that need an in-memory data set, so do not go with --shards
_NOT_WITH_SHARDS = ("data", "validation_split", "early_stopping", "diagnostics", "mpi")


def distributed_options(args: argparse.Namespace, trainer: Any, meta: dict[str, Any]) -> dict:
    """Set up ``--checkpoint-every`` (a callback saving to ``--out``) and ``--mpi`` (only rank
    0 reports and saves); returns the options for ``trainer.fit``."""
    if args.checkpoint_every:
        if not args.out:
            raise CLIError("--checkpoint-every saves the trainer to --out: give --out FILE")
        trainer.callbacks.append(
            ModelCheckpoint(literal_path(args.out), every=args.checkpoint_every, metadata=meta)
        )
    if not args.mpi:
        return {}
    from bprop.distributed.mpi import world

    if world().Get_rank():  # the other ranks train the same weights silently
        args.out = None
        trainer.callbacks = [c for c in trainer.callbacks if not isinstance(c, ModelCheckpoint)]
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this process
    return {"mpi": True}


def train_on_shards(args: argparse.Namespace, start_epoch: int, metadata: dict) -> dict:
    """``bprop train --shards DIR_OR_GLOB [--scheduler ADDRESS]``."""
    from bprop.cli.train import DEFAULT_EPOCHS, RUN_OPTIONS, _new_trainer
    from bprop.distributed import Shards

    if not args.shards:
        raise CLIError("--scheduler trains on --shards: give --shards DIR_OR_GLOB")
    wrong = [o for o in _NOT_WITH_SHARDS if getattr(args, o, None)]
    if wrong:
        flags = ", ".join("--" + o.replace("_", "-") for o in wrong)
        raise CLIError(
            f"--shards trains on the shards alone: drop {flags} (shards hold the training "
            "data; MPI runs take --data)"
        )
    if "scale" in args.given and args.scale == "standard":
        raise CLIError("--shards are not standardised here: scale them when you write them")
    if args.out:
        check_out(args.out)
    shards = Shards.from_paths(args.shards, target=args.target, delimiter=args.delimiter)
    if args.resume:
        trainer = bp.load_trainer(args.resume, verbose=0 if args.quiet or args.json else 1)
    else:
        trainer, metadata = _new(args, shards, _new_trainer)
    epochs = args.epochs
    if epochs is None:
        epochs = int(metadata.get("epochs", DEFAULT_EPOCHS)) - start_epoch
    meta = {**metadata, "epochs": start_epoch + epochs}
    meta["cli"] = {k: getattr(args, k) for k in RUN_OPTIONS}
    distributed_options(args, trainer, meta)

    def save(path: str) -> None:
        bp.save(trainer, path, metadata=meta)

    start = time.perf_counter()
    with interrupt.deferred_interrupts():
        try:
            hist = trainer.fit(
                shards,
                None,
                epochs,
                target_loss=args.target_loss,
                cluster=args.scheduler,
                seed=args.seed,
            )
        except TrainingInterrupted as exc:
            epoch = str(trainer.epoch + 1)
            raise saved_on_interrupt(exc, save, args.out, epoch, "the trainer") from exc
        result: dict[str, Any] = {
            "data": args.shards,
            "shards": len(shards),
            "method": args.method,
            "schedule": trainer.schedule.name,
            "seconds": time.perf_counter() - start,
            **last_epoch(hist),
        }
        save_trained(args, save, result)
    return result


def _new(args: argparse.Namespace, shards: Any, new_trainer: Any) -> tuple[Any, dict]:
    """A new trainer sized from the shards (features from the first; classes, for integer
    targets, from all of them) and the run's metadata."""
    if args.hidden is None:
        args.hidden = [32]
    if args.method is None:
        args.method = "irprop-"  # full batch: the point of summing over shards
    X0 = shards[0].load()[0]
    ys = [s.load()[1] for s in shards]
    classes = all(np.issubdtype(y.dtype, np.integer) for y in ys)
    loss = args.loss or ("softmax_cross_entropy" if classes else "mse")
    if classes and loss == "softmax_cross_entropy":
        n_out = int(max(int(y.max()) for y in ys if len(y))) + 1
    else:
        n_out = 1 if ys[0].ndim == 1 else int(ys[0].shape[1])
    trainer = new_trainer(args, int(X0.shape[1]), n_out, loss)
    task = "classification" if classes else "regression"
    return trainer, {"task": task, "scaler": None, "data": args.shards}
