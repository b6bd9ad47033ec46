"""The ``bprop`` command: train, evaluate and use networks from the shell.

Examples::

    bprop datasets
    bprop train --data digits --hidden 32 --method momentum --schedule minibatch \\
        --epochs 30 --out digits.bprop
    bprop train --data table.csv --target price --hidden 16,8 --loss mse --json
    bprop evaluate digits.bprop --data digits
    bprop predict digits.bprop --data new.csv
    bprop compare --data xor --methods sgd,momentum,irprop-,quickprop --schedules batch \\
        --seeds 5 --epochs 500 --target-loss 0.05 --hidden 4 --out report/
    bprop explain --method irprop+ --steps 2 --format md
    bprop train --data digits --hidden 32,32,32 --activation sigmoid --diagnostics --out d.bprop
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import bprop as bp
from bprop.data import Dataset, list_datasets, load_csv, load_dataset
from bprop.layers.activations import ACTIVATION_LAYERS
from bprop.layers.initializers import INITIALIZERS
from bprop.losses import LOSSES
from bprop.optim.methods import HYPERPARAMETERS, METHODS, make_rule


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _load_data(args: argparse.Namespace) -> Dataset:
    name = args.data
    if name.lower().endswith(".csv"):
        if not args.target:
            raise CLIError(f"--data {name} is a CSV file: name its target column with --target")
        return load_csv(name, args.target)
    return load_dataset(name)


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text else []
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"--hidden takes comma-separated sizes like 32,16; got {text!r}"
        ) from err
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _standardise(X: np.ndarray) -> dict[str, list[float]]:
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return {"mean": X.mean(axis=0).tolist(), "scale": scale.tolist()}


def _apply_scaler(X: np.ndarray, scaler: dict[str, list[float]] | None) -> np.ndarray:
    if not scaler:
        return X
    return (X - np.asarray(scaler["mean"])) / np.asarray(scaler["scale"])


def _default_loss(ds: Dataset) -> str:
    if ds.task == "classification":
        return "softmax_cross_entropy"
    return "mse"


def _sequence_rule(args: argparse.Namespace) -> bp.UpdateRule | None:
    """The rule for a recurrent task: the chosen --method (Adam unless given)."""
    options = {k: getattr(args, k) for k in HYPERPARAMETERS}
    if args.method is None:
        return None
    return make_rule(args.method, **options)


def cmd_train_sequence(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop train --task charlm|adding|reber|forecast``: the recurrent applications."""
    from bprop.recurrent import tasks

    hidden = args.hidden[0] if args.hidden else None
    cell = args.cell
    lr = args.lr
    start = time.perf_counter()
    verbose = 0 if (args.quiet or args.json) else 1
    if args.task == "charlm":
        if not args.data:
            raise CLIError("--task charlm needs --data FILE (a text file)")
        model = tasks.train_lm(
            args.data,
            unit=args.unit,
            vocab_limit=args.vocab_limit,
            cell=cell,
            hidden=hidden or 256,
            k1=args.k1,
            k2=args.k2,
            batch_size=args.batch_size,
            epochs=args.epochs,
            lr=lr or 2e-3,
            clip_norm=args.clip_norm or 5.0,
            max_seconds=args.max_seconds,
            seed=args.seed,
            verbose=verbose,
            optimizer=_sequence_rule(args),
        )
        result: dict[str, Any] = {
            "task": "charlm",
            "unit": args.unit,
            "vocabulary": len(model.vocab),
            "val_loss": model.val_loss,
            "perplexity": model.perplexity,
            "train_loss": model.history.train_loss[-1] if model.history.train_loss else None,
        }
        if args.out:
            tasks.save_lm(model, args.out)
            result["model"] = args.out
    elif args.task == "adding":
        out = tasks.train_adding(
            T=args.T,
            cell=cell,
            hidden=hidden or 32,
            epochs=args.epochs,
            lr=lr or 5e-3,
            seed=args.seed,
            verbose=verbose,
        )
        result = {
            "task": "adding",
            "T": args.T,
            "test_mse": out["test_mse"],
            "constant_mse": out["constant_mse"],
            "success": out["success"],
            "epochs": out["epochs"],
        }
    elif args.task == "reber":
        out = tasks.train_reber(
            cell=cell,
            hidden=hidden or 16,
            epochs=args.epochs,
            lr=lr or 1e-2,
            seed=args.seed,
            verbose=verbose,
        )
        result = {
            "task": "reber",
            "accuracy": out["accuracy"],
            "penultimate_accuracy": out["penultimate_accuracy"],
        }
    elif args.task in ("completion", "rbp-xor", "temporal-xor"):
        from bprop.recurrent import rtrl_tasks

        if args.task == "completion":
            result = rtrl_tasks.pattern_completion(
                n_hidden=hidden or 8, epochs=args.epochs, lr=lr or 0.05, seed=args.seed
            )
        elif args.task == "rbp-xor":
            result = rtrl_tasks.settling_xor(epochs=args.epochs, lr=lr or 0.5)
        else:
            result = rtrl_tasks.temporal_xor(
                n_steps=args.steps, n_hidden=hidden or 16, lr=lr or 0.005, seed=args.seed
            )
        result = {"task": args.task, **result}
    else:
        series = args.data or "sunspots"
        out = tasks.train_forecast(
            series,
            column=args.target,
            window=args.window,
            cell=cell,
            hidden=hidden or 16,
            epochs=args.epochs,
            lr=lr or 1e-2,
            seed=args.seed,
            verbose=verbose,
        )
        result = {
            "task": "forecast",
            "data": series,
            "rmse": out["rmse"],
            "persistence_rmse": out["persistence_rmse"],
        }
        if args.out:
            bp.save(out["net"], args.out)
            result["model"] = args.out
    result["seconds"] = time.perf_counter() - start
    return result


def cmd_sample(args: argparse.Namespace) -> dict[str, Any]:
    from bprop.recurrent import tasks

    model = tasks.load_lm(args.model)
    text = tasks.sample(
        model, length=args.length, temperature=args.temperature, prime=args.prime, rng=args.seed
    )
    return {"text": text}


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    if args.task != "classify":
        return cmd_train_sequence(args)
    if not args.data:
        raise CLIError("--data is required: a built-in dataset name or a CSV file")
    if args.hidden is None:
        args.hidden = [32]
    if args.method is None:
        args.method = "sgd"
    ds = _load_data(args)
    loss_name = args.loss or _default_loss(ds)
    if ds.task == "classification" and loss_name != "softmax_cross_entropy":
        n_out = 1 if ds.n_classes == 2 and loss_name == "binary_cross_entropy" else ds.n_classes
    else:
        n_out = ds.n_outputs
    output = args.output
    if output is None and loss_name == "binary_cross_entropy":
        output = "sigmoid"
    X = np.asarray(ds.X, dtype=np.float64)
    scaler = _standardise(X) if args.scale == "standard" else None
    X = _apply_scaler(X, scaler)
    net = bp.mlp(
        [X.shape[1], *args.hidden, n_out],
        activation=args.activation,
        output=output,
        init=args.init,
        seed=args.seed,
    )
    rule = make_rule(args.method, **{k: getattr(args, k) for k in HYPERPARAMETERS})
    loss = bp.losses.get_loss(loss_name)
    # Rprop, Quickprop and the bold driver are full-batch methods: batch unless asked otherwise
    default_schedule = "batch" if rule.requires_full_batch else "minibatch"
    schedule = bp.train.get_schedule(args.schedule or default_schedule, args.batch_size)
    diag = None
    callbacks: list[Any] = []
    if args.diagnostics:
        from bprop.diagnostics import GradientDiagnostics

        sample = np.random.default_rng(args.seed).permutation(len(X))[:256]
        diag = GradientDiagnostics(X[sample], ds.y[sample], warn=False)
        callbacks.append(diag)
    trainer = bp.Trainer(
        net,
        loss,
        rule,
        schedule,
        l2=args.l2,
        seed=args.seed,
        callbacks=callbacks,
        verbose=0 if (args.quiet or args.json) else 1,
    )
    start = time.perf_counter()
    hist = trainer.fit(
        X,
        ds.y,
        epochs=args.epochs,
        validation_split=args.validation_split,
        early_stopping=args.early_stopping,
        target_loss=args.target_loss,
    )
    result = {
        "data": ds.name,
        "method": args.method,
        "schedule": schedule.name,
        "epochs": hist.epochs,
        "seconds": time.perf_counter() - start,
        "train_loss": hist.train_loss[-1] if hist.train_loss else None,
        "train_accuracy": hist.train_accuracy[-1] if hist.train_accuracy else None,
        "val_loss": hist.val_loss[-1] if hist.val_loss else None,
        "val_accuracy": hist.val_accuracy[-1] if hist.val_accuracy else None,
        "stopped_because": hist.stopped_because,
    }
    if diag is not None:
        result["diagnostics"] = diag.summary()
        if not args.json:
            print(diag.format_summary())  # includes a "warning: …" line per warning
        else:
            for message in diag.messages:
                print(f"bprop train: warning: {message}", file=sys.stderr)
        report_dir = args.report or (_report_dir_for(args.out) if args.out else None)
        if report_dir:
            result["report"] = _diagnostics_report(args, ds.name, hist, diag, report_dir)
    if args.out:
        meta = {
            "task": ds.task,
            "scaler": scaler,
            "data": ds.name,
            "target_names": list(map(str, ds.target_names or [])) or None,
            "binary_output": n_out == 1 and ds.task == "classification",
        }
        bp.save(trainer, args.out, metadata=meta)
        result["model"] = args.out
    return result


def _model_and_data(args: argparse.Namespace) -> tuple[bp.Checkpoint, Dataset, np.ndarray]:
    ck = bp.load_checkpoint(args.model)
    ds = _load_data(args)
    X = np.asarray(ds.X, dtype=np.float64)
    if ck.net.n_in is not None and X.shape[1] != ck.net.n_in:
        raise CLIError(f"{args.data} has {X.shape[1]} features; the model expects {ck.net.n_in}")
    return ck, ds, _apply_scaler(X, ck.metadata.get("scaler"))


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    ck, ds, X = _model_and_data(args)
    loss = ck.loss or bp.MeanSquaredError()
    trainer = bp.Trainer(ck.net, loss, verbose=0)
    out = trainer.evaluate(X, ds.y)
    return {"model": args.model, "data": ds.name, "examples": len(ds), **out}


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    ck, ds, X = _model_and_data(args)
    if ck.metadata.get("task") == "classification":
        threshold = ck.loss.threshold if ck.loss is not None else 0.5
        pred = ck.net.predict_classes(X, threshold=threshold)
        names = ck.metadata.get("target_names")
        values: list[Any] = [names[i] if names else int(i) for i in pred]
    else:
        out = ck.net.predict(X)
        values = out[:, 0].tolist() if out.shape[1] == 1 else out.tolist()
    if args.out:
        with open(args.out, "w") as fh:
            fh.writelines(f"{v}\n" for v in values)
    return {"predictions": values}


def cmd_datasets(args: argparse.Namespace) -> dict[str, Any]:
    return {"datasets": [{"name": n, "description": d} for n, d in list_datasets()]}


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
    rep.reproduce(
        {k: v for k, v in vars(args).items() if k != "func"}, "bprop " + " ".join(sys.argv[1:])
    )
    return rep.write(out_dir)


def _csv_list(text: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise argparse.ArgumentTypeError("give at least one name")
    return items


def cmd_compare(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop compare``: every method × schedule × seed; report, CSV and summary table."""
    import os

    from bprop.compare import format_summary, run_grid, summarize, write_csv
    from bprop.report import compare_report

    unknown = [m for m in args.methods if m.lower() not in METHODS]
    if unknown:
        raise CLIError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)}")
    data: Any = args.data
    if args.data.lower().endswith(".csv"):
        if not args.target:
            raise CLIError(
                f"--data {args.data} is a CSV file: name its target column with --target"
            )
        data = load_csv(args.data, args.target)
    rows = run_grid(
        data,
        [m.lower() for m in args.methods],
        args.schedules,
        seeds=args.seeds,
        epochs=args.epochs,
        target_loss=args.target_loss,
        hidden=args.hidden if args.hidden is not None else [8],
        lr=args.lr,
        activation=args.activation,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        allow_full_batch_mismatch=args.allow_mismatch,
        n_jobs=args.jobs,
        progress=not (args.quiet or args.json),
    )
    os.makedirs(args.out, exist_ok=True)
    csv_path = write_csv(rows, os.path.join(args.out, "results.csv"))
    command = "bprop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["compare"] else None
    if command is None:
        command = _compare_command(args)
    report = compare_report(args.out, rows, command=command)
    summary = summarize(rows)
    return {
        "runs": len(rows),
        "skipped": [f"{m}/{s}" for m, s in rows.skipped],
        "summary": summary,
        "table": format_summary(summary),
        "csv": csv_path,
        "report": report,
    }


def _compare_command(args: argparse.Namespace) -> str:
    parts = [
        "bprop compare",
        f"--data {args.data}",
        f"--methods {','.join(args.methods)}",
        f"--schedules {','.join(args.schedules)}",
        f"--seeds {args.seeds}",
        f"--epochs {args.epochs}",
        f"--target-loss {args.target_loss}",
        f"--hidden {','.join(map(str, args.hidden or [8]))}",
        f"--activation {args.activation}",
        f"--batch-size {args.batch_size}",
        f"--validation-split {args.validation_split}",
        f"--out {args.out}",
    ]
    if args.lr is not None:
        parts.append(f"--lr {args.lr}")
    if args.allow_mismatch:
        parts.append("--allow-mismatch")
    return " ".join(parts)


def cmd_explain(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop explain``: a step-by-step trace of a small network's training."""
    from bprop.explain import explain

    text = explain(
        network=args.network,
        method=args.method,
        steps=args.steps,
        fmt=args.format,
        lr=args.lr,
        inputs=args.input,
        targets=args.target,
    )
    return {"text": text}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bprop", description="Every classic type of backpropagation, from the shell."
    )
    parser.add_argument("--version", action="version", version=f"bprop {bp.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a feedforward network")
    train.add_argument(
        "--task",
        default="classify",
        choices=[
            "classify",
            "charlm",
            "adding",
            "reber",
            "forecast",
            "completion",
            "rbp-xor",
            "temporal-xor",
        ],
        help="classify (feedforward, default), charlm (language model on a text file), "
        "adding, reber (sequence tasks), forecast (time series); Almeida-Pineda recurrent "
        "backprop: completion (pattern completion), rbp-xor; real-time recurrent learning: "
        "temporal-xor",
    )
    train.add_argument(
        "--data",
        help="built-in dataset name (see `bprop datasets`) or a CSV file; for charlm a text "
        "file; for forecast 'sunspots' (default) or a CSV file with --target COLUMN",
    )
    train.add_argument("--target", help="target column of a CSV file (name or index)")
    train.add_argument(
        "--hidden",
        type=_hidden,
        help="hidden sizes, e.g. 32,16 (default 32; recurrent tasks: one size)",
    )
    train.add_argument(
        "--activation", default="tanh", choices=[a for a in ACTIVATION_LAYERS if a != "softmax"]
    )
    train.add_argument(
        "--output",
        choices=list(ACTIVATION_LAYERS),
        help="output activation (default: linear; sigmoid for binary_cross_entropy)",
    )
    train.add_argument("--init", choices=INITIALIZERS, help="weight initialiser")
    train.add_argument(
        "--loss",
        choices=sorted(LOSSES),
        help="default: softmax_cross_entropy for classes, mse otherwise",
    )
    train.add_argument(
        "--method",
        choices=sorted(METHODS),
        help="update rule (default: sgd; adam for recurrent tasks)",
    )
    train.add_argument(
        "--schedule",
        choices=["online", "minibatch", "batch"],
        help="default: batch for rprop±/irprop±/quickprop/bold-driver, minibatch otherwise",
    )
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--l2", type=float, default=0.0, help="L2 penalty λ, added to the loss")
    group = train.add_argument_group("update-rule hyper-parameters (defaults: the rule's own)")
    for name, help_text in HYPERPARAMETERS.items():
        group.add_argument(f"--{name.replace('_', '-')}", type=float, help=help_text)
    train.add_argument("--validation-split", type=float, default=0.2)
    train.add_argument("--early-stopping", type=int, metavar="PATIENCE")
    train.add_argument("--target-loss", type=float, help="stop when the training loss is this")
    train.add_argument(
        "--scale",
        default="standard",
        choices=["standard", "none"],
        help="standardise inputs (the scaler is saved with the model)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="save the trained model (and optimizer state) here")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--diagnostics",
        action="store_true",
        help="classify: record per-layer gradient norms, saturated and dead units each epoch "
        "(on 256 training examples), print a summary, warn on vanishing/exploding gradients; "
        "with --out also write an HTML report beside the model",
    )
    train.add_argument("--report", help="--diagnostics: write the HTML report in this folder")
    seq = train.add_argument_group("recurrent tasks")
    seq.add_argument("--cell", default="lstm", choices=["lstm", "gru", "elman"])
    seq.add_argument("--unit", default="char", choices=["char", "word"])
    seq.add_argument("--vocab-limit", type=int, help="word models: keep this many words")
    seq.add_argument("--k1", type=int, default=100, help="truncated BPTT: forward steps")
    seq.add_argument("--k2", type=int, help="truncated BPTT: backward steps (default k1)")
    seq.add_argument("--max-seconds", type=float, help="stop language-model training after")
    seq.add_argument("--T", type=int, default=50, help="adding problem: sequence length")
    seq.add_argument("--window", type=int, default=12, help="forecast: input window")
    seq.add_argument("--steps", type=int, default=300000, help="temporal-xor: stream length (bits)")
    train.set_defaults(func=cmd_train)

    smp = sub.add_parser("sample", help="generate text from a language model")
    smp.add_argument("model", help="a model written by `bprop train --task charlm --out`")
    smp.add_argument("--length", type=int, default=500)
    smp.add_argument("--temperature", type=float, default=1.0)
    smp.add_argument("--prime", help="text to start from")
    smp.add_argument("--seed", type=int, default=0)
    smp.add_argument("--json", action="store_true")
    smp.set_defaults(func=cmd_sample)

    for name, func, text in (
        ("evaluate", cmd_evaluate, "loss and accuracy of a saved model"),
        ("predict", cmd_predict, "predictions of a saved model"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("model", help="a model file written by `bprop train --out`")
        p.add_argument("--data", required=True, help="built-in dataset name or CSV file")
        p.add_argument("--target", help="target column of a CSV file")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "predict":
            p.add_argument("--out", help="write one prediction per line to this file")
        p.set_defaults(func=func)

    cmp_ = sub.add_parser(
        "compare",
        help="compare training methods and schedules over several seeds (HTML report + CSV)",
    )
    cmp_.add_argument("--data", required=True, help="built-in dataset name or CSV file")
    cmp_.add_argument("--target", help="target column of a CSV file")
    cmp_.add_argument(
        "--methods",
        type=_csv_list,
        default=["sgd", "momentum", "irprop-"],
        help=f"comma-separated update rules from {', '.join(sorted(METHODS))}",
    )
    cmp_.add_argument(
        "--schedules",
        type=_csv_list,
        default=["batch"],
        help="comma-separated schedules: online, minibatch, batch (default batch)",
    )
    cmp_.add_argument("--seeds", type=int, default=5, help="seeds per combination (0 … n−1)")
    cmp_.add_argument("--epochs", type=int, default=200, help="most epochs per run")
    cmp_.add_argument(
        "--target-loss", type=float, default=0.05, help="training loss that counts as success"
    )
    cmp_.add_argument("--hidden", type=_hidden, help="hidden sizes, e.g. 32,16 (default 8)")
    cmp_.add_argument(
        "--activation", default="tanh", choices=[a for a in ACTIVATION_LAYERS if a != "softmax"]
    )
    cmp_.add_argument("--lr", type=float, help="learning rate (default: each rule's own)")
    cmp_.add_argument("--batch-size", type=int, default=32, help="mini-batch size")
    cmp_.add_argument("--validation-split", type=float, default=0.0)
    cmp_.add_argument("--jobs", type=int, default=-1, help="worker processes (-1: all cores)")
    cmp_.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="also run full-batch rules (Rprop, Quickprop, bold driver) on online/mini-batch "
        "schedules (flagged in the summary)",
    )
    cmp_.add_argument("--out", default="report", help="folder for index.html and results.csv")
    cmp_.add_argument("--json", action="store_true", help="print one JSON object")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    cmp_.set_defaults(func=cmd_compare)

    exp = sub.add_parser("explain", help="step-by-step trace of training a small network")
    exp.add_argument(
        "--method", default="sgd", choices=sorted(METHODS), help="update rule (default sgd)"
    )
    exp.add_argument("--steps", type=int, default=1, help="training steps to trace")
    exp.add_argument("--format", default="text", choices=["text", "md"])
    exp.add_argument(
        "--network",
        help="a small model saved with bp.save / bprop train --out (default: the "
        "textbook 2-2-2 example)",
    )
    exp.add_argument("--input", help="input values, e.g. 0.05,0.10")
    exp.add_argument("--target", help="target values, e.g. 0.01,0.99")
    exp.add_argument("--lr", type=float, help="learning rate (textbook default 0.5)")
    exp.set_defaults(func=cmd_explain)

    ds = sub.add_parser("datasets", help="list the built-in datasets")
    ds.add_argument("--json", action="store_true")
    ds.set_defaults(func=cmd_datasets)
    return parser


def _print_human(command: str, result: dict[str, Any]) -> None:
    if command == "datasets":
        for d in result["datasets"]:
            print(f"{d['name']:18s} {d['description']}")
    elif command == "predict":
        for v in result["predictions"]:
            print(v)
    elif command in ("sample", "explain"):
        print(result["text"].rstrip("\n"))
    elif command == "compare":
        print(result["table"])
        print(f"\nresults: {result['csv']}\nreport:  {result['report']}")
    elif command == "train" and "diagnostics" in result:
        for key, value in result.items():
            if key == "diagnostics":
                continue
            print(f"{key:16s} {value:.6g}" if isinstance(value, float) else f"{key:16s} {value}")
    else:
        for key, value in result.items():
            print(f"{key:16s} {value:.6g}" if isinstance(value, float) else f"{key:16s} {value}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except (CLIError, ValueError, FileNotFoundError, bp.TrainingDiverged) as err:
        print(f"bprop {args.command}: error: {err}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        _print_human(args.command, result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
