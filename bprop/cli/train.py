"""``bprop train``: feedforward training (``--task classify``, resumable with ``--resume``); the
applications of :data:`bprop.tasks.TASKS` (``--task charlm``, ``adding``, …) run through
:mod:`bprop.cli.tasks`. An option the chosen task does not take is refused with one line.

Training runs inside :func:`bprop.interrupt.deferred_interrupts`: the first Ctrl-C (SIGINT) or
SIGTERM lets the current update finish, then the model — for feedforward training the whole
resumable trainer — is saved to ``--out`` (or, without one, to a ``bprop-rescue-…`` file in the
working directory), one line says where and how to resume, and the command exits with 130.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

import bprop as bp
from bprop import interrupt
from bprop.cli.common import (
    CLIError,
    apply_scaler,
    check_out,
    check_size,
    dense_parameters,
    fit_scaler,
    is_csv,
    last_epoch,
    load_data,
    save_trained,
    saved_on_interrupt,
    verbosity,
)
from bprop.cli.tasks import run_task
from bprop.cli.train_options import CLASSIFY, flag, refused_options
from bprop.cli.train_shards import distributed_options
from bprop.data import DataError, Dataset
from bprop.data.csv import read_header
from bprop.errors import TrainingInterrupted
from bprop.optim.methods import HYPERPARAMETERS, make_rule

#: a built-in or CSV data set smaller than this gets no validation split unless one is asked
#: for: holding out 20 % of XOR's 4 patterns leaves a validation "accuracy" of 0 or 1 on one
#: example and removes a pattern the network must learn
MIN_EXAMPLES_FOR_DEFAULT_SPLIT = 50
DEFAULT_VALIDATION_SPLIT = 0.2
DEFAULT_EPOCHS = 100

#: the options that define a feedforward run; saved with the model so that ``--resume`` needs
#: none of them again (and refuses different ones)
RUN_OPTIONS = (
    "data",
    "target",
    "delimiter",
    "hidden",
    "activation",
    "output",
    "init",
    "loss",
    "method",
    "schedule",
    "batch_size",
    "l2",
    *HYPERPARAMETERS,
    "lr_schedule",
    "warmup",
    "validation_split",
    "early_stopping",
    "target_loss",
    "scale",
    "seed",
    "shards",
)


def _default_loss(ds: Dataset) -> str:
    return "softmax_cross_entropy" if ds.task == "classification" else "mse"


def labels_for_model(ds: Dataset, metadata: dict[str, Any], source: str) -> Dataset:
    """``ds`` with its class labels numbered as the model's saved classes (matched by name),
    so a file that lacks a class or orders them differently is scored correctly; unknown
    labels are refused (see :meth:`bprop.data.Dataset.with_classes`). ``source``: the option
    and value the data came from, for the message."""
    classes = metadata.get("target_names")
    if ds.task != "classification" or not classes or ds.target_names is None:
        return ds
    try:
        return ds.with_classes(classes)
    except DataError as err:
        raise CLIError(f"{source}: {err}") from err


# --- feedforward training ------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop train``."""
    if args.task != CLASSIFY and args.resume:
        raise CLIError(
            f"--resume continues feedforward training only (--task {CLASSIFY}), not "
            f"--task {args.task}; start the run again instead"
        )
    refused = refused_options(args.task, args.given)
    if refused:
        flags = " and ".join(refused)
        verb, drop = ("does", flags) if len(refused) == 1 else ("do", "them")
        raise CLIError(f"{flags} {verb} not apply to --task {args.task}: drop {drop}")
    return run_task(args) if args.task != CLASSIFY else train_classifier(args)


def train_classifier(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop train [--task classify]``: a feedforward network on ``--data``."""
    start_epoch, metadata = 0, {}
    if args.resume:
        saved = _resume_options(args)
        metadata, start_epoch = saved.metadata, int(saved.trainer_state.get("epoch", 0))
        args.out = args.out or args.resume
    if args.shards or args.scheduler:
        from bprop.cli.train_shards import train_on_shards

        return train_on_shards(args, start_epoch, metadata)
    if not args.data:
        raise CLIError("--data is required: a built-in dataset name or a CSV file")
    if args.hidden is None:
        args.hidden = [32]
    if args.method is None:
        args.method = "sgd"
    if args.out:
        check_out(args.out)
    ds = load_data(args)
    note = None
    if args.validation_split is None:
        small = len(ds) < MIN_EXAMPLES_FOR_DEFAULT_SPLIT
        args.validation_split = 0.0 if small else DEFAULT_VALIDATION_SPLIT
        if small:
            note = (
                f"no validation split: {len(ds)} examples are too few to hold any out "
                "(--validation-split F asks for one)"
            )
    if args.early_stopping is not None and not args.validation_split:
        raise CLIError("--early-stopping needs a validation split: add --validation-split 0.2")
    loss_name = args.loss or _default_loss(ds)
    if ds.task == "classification" and loss_name != "softmax_cross_entropy":
        n_out = 1 if ds.n_classes == 2 and loss_name == "binary_cross_entropy" else ds.n_classes
    else:
        n_out = ds.n_outputs
    sizes = [ds.n_features, *args.hidden, n_out]
    check_size(dense_parameters(sizes), f"the network {'-'.join(map(str, sizes))}")
    if args.resume:
        ds = labels_for_model(ds, metadata, f"--data {args.data}")
        scaler = metadata.get("scaler")
        X = apply_scaler(ds.X, scaler, ds.feature_names)
        trainer = bp.load_trainer(args.resume, verbose=verbosity(args))
        if trainer.net.n_in is not None and X.shape[1] != trainer.net.n_in:
            raise CLIError(
                f"--data {args.data} has {X.shape[1]} features; the run in {args.resume} "
                f"expects {trainer.net.n_in}"
            )
    else:
        scaler = fit_scaler(ds.X, ds.feature_names) if args.scale == "standard" else None
        X = apply_scaler(ds.X, scaler, ds.feature_names)
        trainer = _new_trainer(args, X.shape[1], n_out, loss_name)
    epochs = args.epochs
    if epochs is None:
        epochs = int(metadata.get("epochs", DEFAULT_EPOCHS)) - start_epoch
        if args.resume and epochs <= 0:
            raise CLIError(
                f"--resume {args.resume}: the run already trained all its "
                f"{metadata.get('epochs')} epochs; give --epochs N to train N more"
            )
    if args.log_dir:
        from bprop.train.logs import log_callbacks

        check_out(args.log_dir, "--log-dir", folder=True)
        trainer.callbacks += log_callbacks(args.log_dir)
    diag = None
    if args.diagnostics:
        from bprop.diagnostics import GradientDiagnostics

        sample = np.random.default_rng(args.seed).permutation(len(X))[:256]
        diag = GradientDiagnostics(X[sample], ds.y[sample], warn=False)
        trainer.callbacks.append(diag)
    report_dir = None
    if diag is not None:
        report_dir = args.report or (_report_dir_for(args.out) if args.out else None)
        if report_dir:
            check_out(report_dir, "--report", folder=True)
    meta = {
        "task": ds.task,
        "scaler": scaler,
        "data": ds.name,
        "target_names": list(map(str, ds.target_names or [])) or None,
        "binary_output": n_out == 1 and ds.task == "classification",
        # the columns a CSV-trained model reads, by name (built-in sets: by position)
        "feature_names": list(ds.feature_names) if is_csv(args.data) else None,
        "target": _target_name(ds, args),
        "epochs": start_epoch + epochs,
        "cli": {k: getattr(args, k) for k in RUN_OPTIONS},
    }

    def save(path: str) -> None:
        bp.save(trainer, path, metadata=meta)

    extra = distributed_options(args, trainer, meta)

    start = time.perf_counter()
    # signals stay deferred until the model is saved: a Ctrl-C during the save is not lost
    with interrupt.deferred_interrupts():
        try:
            hist = trainer.fit(
                X,
                ds.y,
                epochs=epochs,
                validation_split=args.validation_split,
                early_stopping=args.early_stopping,
                target_loss=args.target_loss,
                **extra,
            )
        except TrainingInterrupted as exc:
            epoch = f"{trainer.epoch + 1} of {start_epoch + epochs}"
            raise saved_on_interrupt(exc, save, args.out, epoch) from exc
        result: dict[str, Any] = {
            "data": ds.name,
            "method": args.method,
            "schedule": trainer.schedule.name,
            "seconds": time.perf_counter() - start,
            **last_epoch(hist),
        }
        if note:
            result["note"] = note
        if diag is not None:
            result["diagnostics"] = diag.summary()
            if not args.json:
                print(diag.format_summary())  # includes a "warning: …" line per warning
            else:
                for message in diag.messages:
                    print(f"bprop train: warning: {message}", file=sys.stderr)
            if report_dir:
                result["report"] = _diagnostics_report(args, ds.name, hist, diag, report_dir)
        save_trained(args, save, result)
        return result


def _target_name(ds: Dataset, args: argparse.Namespace) -> str | None:
    """The name of a CSV file's target column (the one column that is not a feature)."""
    if not is_csv(args.data):
        return None
    features = set(ds.feature_names or ())
    return next((c for c in read_header(args.data, args.delimiter) if c not in features), None)


def _new_trainer(args: argparse.Namespace, n_in: int, n_out: int, loss_name: str) -> bp.Trainer:
    output = args.output
    if output is None and loss_name == "binary_cross_entropy":
        output = "sigmoid"
    net = bp.mlp(
        [n_in, *args.hidden, n_out],
        activation=args.activation,
        output=output,
        init=args.init,
        seed=args.seed,
    )
    rule = make_rule(
        args.method,
        lr_schedule=args.lr_schedule,
        epochs=args.epochs if args.epochs is not None else DEFAULT_EPOCHS,
        warmup=args.warmup,
        **{k: getattr(args, k) for k in HYPERPARAMETERS},
    )
    # Rprop, Quickprop and the bold driver are full-batch methods: batch unless asked otherwise
    default_schedule = "batch" if rule.requires_full_batch else "minibatch"
    schedule = bp.train.get_schedule(args.schedule or default_schedule, args.batch_size)
    return bp.Trainer(
        net,
        bp.losses.get_loss(loss_name),
        rule,
        schedule,
        l2=args.l2,
        seed=args.seed,
        verbose=verbosity(args),
    )


def _resume_options(args: argparse.Namespace) -> bp.Checkpoint:
    """Take the run's options from the ``--resume`` file; refuse different ones given now.
    Returns the file's checkpoint."""
    ck = bp.load_checkpoint(args.resume)
    meta = ck.metadata
    saved = meta.get("cli")
    if not ck.trainer_state or not isinstance(saved, dict):
        raise CLIError(
            f"--resume {args.resume} holds no resumable run; give a file written by "
            "`bprop train --out` (or saved when a run was interrupted)"
        )
    conflicts = []
    for key, value in saved.items():
        given = getattr(args, key, None)
        if key in args.given and given != value:  # even a default, given, can differ
            conflicts.append(f"{flag(key)} {given} (the run used {value})")
        setattr(args, key, value)
    if conflicts:
        raise CLIError(
            f"--resume {args.resume} continues a run with its own options; drop "
            f"{', '.join(conflicts)} or start a new run"
        )
    return ck


def _report_dir_for(model_path: str) -> str:
    """``digits.bprop`` → ``digits-report`` (beside the model file)."""
    import os

    root, _ = os.path.splitext(model_path)
    return root + "-report"


def _diagnostics_report(
    args: argparse.Namespace, data: str, hist: Any, diag: Any, out_dir: str
) -> str:
    from bprop.report import Report, add_diagnostics
    from bprop.report.plots import curve_figure

    rep = Report(f"bprop train --diagnostics: {data}")
    rep.heading("Training")
    curves = {"train loss": hist.train_loss}
    if hist.val_loss and hist.val_loss[0] is not None:
        curves["validation loss"] = hist.val_loss
    rep.figure(curve_figure(curves, log=True, title="loss per epoch"), "Loss against epochs.")
    rep.heading("Gradient diagnostics")
    add_diagnostics(rep, diag, "Per-layer gradient norms, saturation and dead units")
    options = {k: v for k, v in vars(args).items() if k not in ("func", "given")}
    rep.reproduce(options, "bprop " + " ".join(sys.argv[1:]))
    return rep.write(out_dir)
