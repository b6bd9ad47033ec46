"""The ``bprop`` command: train, evaluate and use networks from the shell.

Examples::

    bprop datasets
    bprop train --data digits --hidden 32 --method momentum --schedule minibatch \\
        --epochs 30 --out digits.bprop
    bprop train --resume digits.bprop --epochs 10          # 10 more epochs of that run
    bprop train --data table.csv --target price --hidden 16,8 --loss mse --json
    bprop train --data table.csv --delimiter ';' --target 4    # target by 0-based index
    bprop evaluate digits.bprop --data digits
    bprop predict digits.bprop --data new.csv
    bprop export digits.bprop digits.onnx
    bprop compare --data xor --methods sgd,momentum,irprop-,quickprop --schedules batch \\
        --seeds 5 --epochs 500 --target-loss 0.05 --hidden 4 --out report/
    bprop explain --method irprop+ --steps 2 --format md
    bprop explain --algorithm bptt --cell lstm --arithmetic --format html --out bptt.html
    bprop compare --algorithm bptt --algorithm tbptt:4,16 --algorithm rtrl --method adam:lr=1e-2
    bprop diagnose --cells elman,lstm,gru --length 50 --out gradients
    bprop train --data digits --hidden 32,32,32 --activation sigmoid --diagnostics --out d.bprop

Every error is one line, ``bprop CMD: error: …``, naming the option and what to do, with exit
status 2 (a bug in bprop itself: one line and status 1); no Python traceback reaches the user.
Ctrl-C or SIGTERM during training saves the work (see :mod:`bprop.cli.train`) and exits 130.
The sub-commands live in :mod:`bprop.cli.train` (with its options in
:mod:`bprop.cli.train_options` and the applications of :data:`bprop.tasks.TASKS` in
:mod:`bprop.cli.tasks`), :mod:`bprop.cli.models`, :mod:`bprop.cli.compare` and
:mod:`bprop.cli.export`; what they share in :mod:`bprop.cli.common`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

import bprop as bp
from bprop.cli.common import (
    EXIT_INTERRUPTED,
    CLIError,
    Stopped,
    finite_float,
    fraction,
    hidden_sizes,
    int_at_least,
    name_list,
    positive_float,
)
from bprop.cli.compare import add_compare_options, cmd_compare
from bprop.cli.diagnose import add_diagnose_parser
from bprop.cli.export import add_export_parser
from bprop.cli.models import (
    cmd_datasets,
    cmd_evaluate,
    cmd_explain,
    cmd_predict,
    cmd_sample,
    cmd_translate,
)
from bprop.cli.train import cmd_train
from bprop.cli.train_options import add_train_parser
from bprop.explain import ALGORITHMS as EXPLAIN_ALGORITHMS
from bprop.explain import FORMATS as EXPLAIN_FORMATS
from bprop.layers.activations import ACTIVATION_LAYERS
from bprop.losses import LOSSES
from bprop.optim.methods import METHODS

__all__ = ["CLIError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``bprop train: error: argument --seed: …``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_parser() -> argparse.ArgumentParser:
    """The ``bprop`` command's argument parser, one sub-command per verb (``train``,
    ``evaluate``, ``predict``, ``compare``, ``explain``, …)."""
    parser = _Parser(
        prog="bprop", description="Every classic type of backpropagation, from the shell."
    )
    parser.add_argument("--version", action="version", version=f"bprop {bp.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    add_train_parser(sub, cmd_train)

    smp = sub.add_parser("sample", help="generate text from a language model")
    smp.add_argument("model", help="a model written by `bprop train --task charlm --out`")
    smp.add_argument("--length", type=int_at_least(0), default=500)
    smp.add_argument("--temperature", type=positive_float, default=1.0)
    smp.add_argument("--prime", help="text to start from")
    smp.add_argument("--seed", type=int_at_least(0), default=0)
    smp.add_argument("--json", action="store_true")
    smp.set_defaults(func=cmd_sample)

    tr = sub.add_parser("translate", help="translate strings with a sequence-to-sequence model")
    tr.add_argument("model", help="a model written by `bprop train --task dates --out`")
    tr.add_argument("text", nargs="+", help="the strings to translate")
    tr.add_argument("--beam", type=int_at_least(1), default=1, help="beam width (1: greedy)")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_translate)

    for name, func, text in (
        ("evaluate", cmd_evaluate, "loss, accuracy and confusion matrix (or R², MAE, RMSE)"),
        ("predict", cmd_predict, "predictions of a saved model"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("model", help="a model file written by `bprop train --out`")
        p.add_argument("--data", required=True, help="built-in dataset name or CSV file")
        p.add_argument(
            "--target",
            help="target column of a CSV file, name or 0-based index (default: the one the "
            "model was trained on; predict needs none)",
        )
        p.add_argument("--delimiter", default=",", help="field separator of a CSV file")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "predict":
            p.add_argument("--out", help="write one prediction per line to this file")
        p.set_defaults(func=func)

    cmp_ = sub.add_parser(
        "compare",
        help="compare training methods and schedules over several seeds (HTML report + CSV)",
    )
    cmp_.add_argument(
        "--data", help="built-in dataset name or CSV file (with --algorithm: a sequence task)"
    )
    cmp_.add_argument("--target", help="target column of a CSV file (name or 0-based index)")
    cmp_.add_argument("--delimiter", help="field separator of a CSV file (default ,)")
    cmp_.add_argument(
        "--methods",
        type=name_list,
        default=["sgd", "momentum", "irprop-"],
        help=f"comma-separated update rules from {', '.join(sorted(METHODS))}",
    )
    cmp_.add_argument(
        "--schedules",
        type=name_list,
        help="comma-separated schedules: online, minibatch, batch (default batch)",
    )
    cmp_.add_argument(
        "--seeds", type=int_at_least(1), default=5, help="seeds per combination (0 … n−1)"
    )
    cmp_.add_argument("--epochs", type=int_at_least(1), default=200, help="most epochs per run")
    cmp_.add_argument(
        "--target-loss",
        type=finite_float,
        default=0.05,
        help="training loss that counts as success",
    )
    cmp_.add_argument("--hidden", type=hidden_sizes, help="hidden sizes, e.g. 32,16 (default 8)")
    cmp_.add_argument(
        "--activation",
        choices=[a for a in ACTIVATION_LAYERS if a != "softmax"],
        help="hidden-layer activation (default tanh)",
    )
    cmp_.add_argument("--lr", type=positive_float, help="learning rate (default: each rule's own)")
    cmp_.add_argument("--batch-size", type=int_at_least(1), default=32, help="mini-batch size")
    cmp_.add_argument(
        "--validation-split", type=fraction, help="fraction held out for validation (default 0)"
    )
    cmp_.add_argument("--jobs", type=_jobs, default=-1, help="worker processes (-1: all cores)")
    cmp_.add_argument(
        "--backend",
        choices=["loky", "threading", "dask", "ray"],
        help="joblib backend that runs the grid (default loky; dask with --scheduler)",
    )
    cmp_.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (tcp://host:8786), or local:N for a local cluster of N "
        "worker processes",
    )
    cmp_.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="also run full-batch rules (Rprop, Quickprop, bold driver) on online/mini-batch "
        "schedules (flagged in the summary)",
    )
    cmp_.add_argument("--out", default="report", help="folder for index.html and results.csv")
    cmp_.add_argument("--json", action="store_true", help="print one JSON object")
    cmp_.add_argument("--quiet", action="store_true", help="no progress bar")
    add_compare_options(cmp_)
    cmp_.set_defaults(func=cmd_compare)

    exp = sub.add_parser("explain", help="step-by-step trace of training a small network")
    exp.add_argument(
        "--algorithm",
        default="backprop",
        choices=list(EXPLAIN_ALGORITHMS),
        help="backprop (a feedforward net, default), bptt, tbptt (truncated BPTT), rtrl or "
        "almeida-pineda",
    )
    exp.add_argument(
        "--method", default="sgd", choices=sorted(METHODS), help="update rule (default sgd)"
    )
    exp.add_argument("--steps", type=int_at_least(1), default=1, help="training steps to trace")
    exp.add_argument("--format", default="text", choices=list(EXPLAIN_FORMATS))
    exp.add_argument(
        "--network",
        help="a small model saved with bp.save / bprop train --out (default: the "
        "textbook 2-2-2 example, or a tiny recurrent net)",
    )
    exp.add_argument(
        "--input", help="input values, e.g. 0.05,0.10 (a sequence: 0.5;-0.2;0.9, ';' between steps)"
    )
    exp.add_argument("--target", help="target values, e.g. 0.01,0.99 (a sequence: as --input)")
    exp.add_argument("--lr", type=positive_float, help="learning rate (textbook default 0.5)")
    exp.add_argument(
        "--loss", choices=sorted(LOSSES), help="loss (default: the model's, else squared error)"
    )
    exp.add_argument(
        "--arithmetic", action="store_true", help="write each delta and update with its numbers"
    )
    exp.add_argument(
        "--cell", default="elman", choices=["elman", "lstm", "gru"], help="cell for bptt/tbptt"
    )
    exp.add_argument(
        "--length", type=int_at_least(1), default=4, help="time steps of the recurrent example"
    )
    exp.add_argument("--k1", type=int_at_least(1), default=2, help="tbptt: steps per update")
    exp.add_argument("--k2", type=int_at_least(1), help="tbptt: steps backpropagated (≥ k1)")
    exp.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the tiny nets")
    exp.add_argument(
        "--frozen",
        action="store_true",
        help="rtrl: keep the weights frozen over the sequence and update once at the end "
        "(Σ e_t P_t is then full BPTT's gradient) instead of after every step",
    )
    exp.add_argument("--out", help="write the trace to this file (atomically) instead of stdout")
    exp.set_defaults(func=cmd_explain)

    add_export_parser(sub)
    add_diagnose_parser(sub)

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
    elif command == "translate":
        for line in result["translations"]:
            print(line)
    elif command in ("sample", "explain"):
        print(result["text"].rstrip("\n"))
    elif command == "diagnose":
        print(result["table"])
        for key in ("csv", "report"):
            if key in result:
                print(f"{key + ':':8s} {result[key]}")
    elif command == "compare":
        print(result["table"])
        print(f"\nresults: {result['csv']}\nreport:  {result['report']}")
    elif command in ("train", "evaluate"):
        matrix = ("diagnostics", "confusion_matrix", "labels", "class_names")
        for key, value in result.items():
            if key in matrix:
                continue
            print(f"{key:16s} {_human_value(value)}")
        if result.get("confusion_matrix"):
            from bprop.train.metrics import format_confusion

            names = result.get("class_names") or [str(v) for v in result["labels"]]
            print("\nconfusion matrix (rows: true class, columns: predicted class)")
            print(format_confusion(result["confusion_matrix"], names))
    else:
        for key, value in result.items():
            print(f"{key:16s} {_human_value(value)}")


def _human_value(value: Any) -> str:
    """One value of a result for the terminal: floats to 6 significant digits, short lists
    of numbers in full, and what would fill the screen (a list of curves, a long list) as a
    one-line summary that points to ``--json`` for the whole."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (list, tuple)) for v in value):
            lengths = sorted({len(v) for v in value if isinstance(v, (list, tuple))})
            span = f"{lengths[0]}" if len(lengths) == 1 else f"{lengths[0]}–{lengths[-1]}"
            return f"{len(value)} series of {span} values (--json prints them)"
        if len(value) > 12:
            return f"{len(value)} values (--json prints them)"
        return "[" + ", ".join(_human_value(v) for v in value) + "]"
    return str(value)


def _jobs(text: str) -> int:
    """--jobs: a positive number of worker processes, or -1 (all cores), -2 (all but one)…"""
    value = int_at_least(-(os.cpu_count() or 1))(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (1: no workers; -1: all cores)")
    return value


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """Warnings as one line each, ``bprop: warning: …``."""
    print(f"bprop: warning: {_one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bprop`` command with ``argv`` (default: ``sys.argv[1:]``); the exit status:
    0 done, 2 a user error (one line on stderr), 130 interrupted (work saved; one line),
    1 a bug in bprop (one line). Argument errors exit through ``SystemExit(2)`` as usual."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"bprop {args.command}"
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            result = args.func(args)
        except Stopped as done:
            print(f"{prefix}: {_one_line(done)}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside training
            print(f"{prefix}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (CLIError, ValueError, OSError, bp.TrainingDiverged) as err:
            # ValueError covers the library's DataError, ModelFileError and bad arguments;
            # OSError a file that cannot be read or written
            print(f"{prefix}: error: {_one_line(err)}", file=sys.stderr)
            return 2
        except MemoryError:
            print(
                f"{prefix}: error: out of memory; use a smaller network or less data",
                file=sys.stderr,
            )
            return 2
        except Exception as err:  # a bug: still one line, and how to see more
            if os.environ.get("BPROP_TRACEBACK"):
                raise
            print(
                f"{prefix}: internal error: {type(err).__name__}: {_one_line(err)} (a bug in "
                "bprop; please report it with the command; BPROP_TRACEBACK=1 shows where)",
                file=sys.stderr,
            )
            return 1
    try:
        if getattr(args, "json", False):
            print(json.dumps(result))
        else:
            _print_human(args.command, result)
        sys.stdout.flush()
    except BrokenPipeError:  # `bprop predict … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    late = getattr(args, "late_error", None)
    if late:
        print(f"{prefix}: error: {_one_line(late)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
