"""``bprop evaluate``, ``predict``, ``sample`` and ``translate``: using a saved model;
``datasets``, ``explain``.

A model written by ``bprop train --out`` carries in its metadata what its inputs and outputs
mean: the input scaler, the class names (``target_names``) and, for a model trained on a CSV
file, the feature columns by name and the target column. Evaluation maps a file's labels onto
those classes by name (a file that lacks a class is scored right; a label the model never saw
is refused), and the features are taken by name, so a file with its columns in another order,
or without the target column (for ``predict``), works.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import bprop as bp
from bprop.cli.common import CLIError, apply_scaler, check_out, is_csv
from bprop.cli.train import labels_for_model
from bprop.data import Dataset, list_datasets, load_csv, load_dataset
from bprop.data.csv import load_csv_features


def _checkpoint(args: argparse.Namespace) -> bp.Checkpoint:
    ck = bp.load_checkpoint(args.model)
    if ck.metadata.get("task") == "language_model":
        raise CLIError(
            f"{args.model} is a language model; generate text with `bprop sample {args.model}`"
        )
    if ck.metadata.get("task") == "translation":
        raise CLIError(f"{args.model} is a translator; use `bprop translate {args.model} TEXT`")
    return ck


def _check_features(args: argparse.Namespace, ck: bp.Checkpoint, X: np.ndarray) -> None:
    if ck.net.n_in is not None and X.shape[1] != ck.net.n_in:
        raise CLIError(
            f"--data {args.data} has {X.shape[1]} feature columns; the model expects "
            f"{ck.net.n_in} (is --target the right column?)"
        )


def _by_name(ds: Dataset, names: list[str] | None, args: argparse.Namespace) -> np.ndarray:
    """The features in the model's column order (CSV-trained models), else as they are."""
    if not names or ds.feature_names is None:
        return ds.X
    have = list(ds.feature_names)
    missing = [n for n in names if n not in have]
    if missing:
        raise CLIError(
            f"--data {args.data} lacks the column(s) {missing} the model was trained on "
            f"(it has {have})"
        )
    return ds.X[:, [have.index(n) for n in names]]


def _labelled(args: argparse.Namespace, ck: bp.Checkpoint) -> tuple[Dataset, np.ndarray]:
    """The data with labels in the model's numbering and scaled features, for evaluation."""
    meta = ck.metadata
    if is_csv(args.data):
        target = args.target if args.target is not None else meta.get("target")
        if target is None:
            raise CLIError(
                f"--data {args.data} is a CSV file: name its target column with --target"
            )
        ds = load_csv(args.data, target, task=meta.get("task"), delimiter=args.delimiter)
    else:
        ds = load_dataset(args.data)
    ds = labels_for_model(ds, meta, f"--data {args.data}")
    X = _by_name(ds, meta.get("feature_names"), args)
    _check_features(args, ck, X)
    return ds, apply_scaler(X, meta.get("scaler"), meta.get("feature_names") or ds.feature_names)


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop evaluate MODEL --data D``: the loss and, for classes, the accuracy and the
    confusion matrix; for regression R², MAE and RMSE (:meth:`bprop.Trainer.evaluate`)."""
    ck = _checkpoint(args)
    ds, X = _labelled(args, ck)
    loss = ck.loss or bp.MeanSquaredError()
    out = bp.Trainer(ck.net, loss, verbose=0).evaluate(X, ds.y)
    names = ck.metadata.get("target_names")
    if names and "labels" in out and len(names) == len(out["labels"]):
        out["class_names"] = [str(n) for n in names]
    shown = {k: v for k, v in out.items() if v is not None}  # no accuracy for regression
    return {"model": args.model, "data": ds.name, "examples": len(ds), **shown}


def cmd_predict(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop predict MODEL --data D``: one prediction per row; a CSV needs no target."""
    if args.out:
        check_out(args.out)
    ck = _checkpoint(args)
    meta = ck.metadata
    names = meta.get("feature_names")
    if is_csv(args.data):
        exclude = args.target if args.target is not None else meta.get("target")
        X, names_read = load_csv_features(
            args.data, names, exclude=exclude, delimiter=args.delimiter
        )
    else:
        ds = load_dataset(args.data)
        X, names_read = _by_name(ds, names, args), ds.feature_names
    _check_features(args, ck, X)
    X = apply_scaler(X, meta.get("scaler"), names or names_read)
    if meta.get("task") == "classification":
        threshold = ck.loss.threshold if ck.loss is not None else 0.5
        pred = ck.net.predict_classes(X, threshold=threshold)
        classes = meta.get("target_names")
        values: list[Any] = [classes[i] if classes else int(i) for i in pred]
    else:
        out = ck.net.predict(X)
        values = out[:, 0].tolist() if out.shape[1] == 1 else out.tolist()
    if args.out:
        from bprop.cli.common import save_or_rescue

        def write(path: str) -> None:
            with open(path, "w") as fh:
                fh.writelines(f"{v}\n" for v in values)

        where, failure = save_or_rescue(write, args.out, suffix=".txt")
        if failure:
            args.late_error = f"{failure}; wrote the predictions to {where} instead"
    return {"predictions": values}


def cmd_sample(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop sample MODEL``: text from a language model."""
    from bprop import tasks

    model = tasks.load_lm(args.model)
    text = tasks.sample(
        model, length=args.length, temperature=args.temperature, prime=args.prime, rng=args.seed
    )
    return {"text": text}


def cmd_translate(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop translate MODEL TEXT…``: a translator's output for each string."""
    from bprop.tasks.translation import load_translator

    translator = load_translator(args.model)
    return {"translations": translator.translate(args.text, beam=args.beam)}


def cmd_datasets(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop datasets``: the built-in data sets."""
    return {"datasets": [{"name": n, "description": d} for n, d in list_datasets()]}


def cmd_explain(args: argparse.Namespace) -> dict[str, Any]:
    """``bprop explain``: a step-by-step trace of a small network's training."""
    from bprop.explain import explain

    if args.frozen and args.algorithm != "rtrl":
        raise CLIError("--frozen applies to --algorithm rtrl only")
    text = explain(
        network=args.network,
        method=args.method,
        steps=args.steps,
        fmt=args.format,
        lr=args.lr,
        inputs=args.input,
        targets=args.target,
        algorithm=args.algorithm,
        loss=args.loss,
        arithmetic=args.arithmetic,
        cell=args.cell,
        T=args.length,
        k1=args.k1,
        k2=args.k2,
        seed=args.seed,
        realtime=not args.frozen,
    )
    if args.out:
        from bprop.modelfile.atomic import write_atomically

        data = text.encode("utf-8")
        write_atomically(args.out, lambda fh: fh.write(data))
        return {"text": f"wrote {args.out}"}
    return {"text": text}
