"""The options of ``bprop train``: feedforward training's own, and the applications' built from
:data:`bprop.tasks.TASKS` (``--task``'s choices and help, the options only tasks take and each
task's defaults in their help).

Every option records that it was given in ``args.given`` (a set of option names), so a task can
refuse an option it does not take even when its value equals the default
(:func:`refused_options`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from bprop.cli.common import (
    finite_float,
    fraction,
    hidden_sizes,
    int_at_least,
    non_negative_float,
    positive_float,
)
from bprop.layers.activations import ACTIVATION_LAYERS
from bprop.layers.initializers import INITIALIZERS
from bprop.losses import LOSSES
from bprop.optim.methods import HYPERPARAMETERS, METHODS
from bprop.tasks import ARGS, TASKS, Arg

#: feedforward training, the default ``--task``; the others are the entries of TASKS
CLASSIFY = "classify"
#: options every task takes: they choose how the result is shown
OUTPUT_OPTIONS = frozenset({"task", "json", "quiet", "log_dir"})


class _Store(argparse.Action):
    """argparse's ``store``, remembering that the option was given."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = {*getattr(namespace, "given", ()), self.dest}


class _StoreTrue(_Store):
    """argparse's ``store_true``, remembering that the flag was given."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, const=True, default=False, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        super().__call__(parser, namespace, self.const, option)


def flag(name: str) -> str:
    """The long option of an option name: ``vocab_limit`` → ``--vocab-limit``."""
    return "--" + name.replace("_", "-")


def refused_options(task: str, given: Iterable[str]) -> list[str]:
    """The given options ``task`` does not take, as flags: for ``classify`` the options only
    applications take (:data:`bprop.tasks.ARGS`), for an application those not among its
    ``options``."""
    if task == CLASSIFY:
        return [flag(n) for n in sorted(given) if n in ARGS]
    takes = {*OUTPUT_OPTIONS, *TASKS[task].options}
    if "out" in takes and TASKS[task].keep is not None:  # a saved model can be saved early
        takes.add("checkpoint_every")
    return [flag(n) for n in sorted(set(given) - takes)]


def _task_defaults(name: str) -> str:
    """``(default 100)``, or per task: ``(default 256 for charlm, 32 for adding)``."""
    values = {t.name: t.options[name] for t in TASKS.values() if name in t.options}
    shown = {k: v for k, v in values.items() if v is not None}
    if not shown:
        return ""
    if len(set(map(repr, values.values()))) == 1:
        return f" (default {next(iter(shown.values()))})"
    return " (default " + ", ".join(f"{v} for {k}" for k, v in shown.items()) + ")"


def _arg_type(arg: Arg) -> Callable[[str], Any] | None:
    if arg.choices:
        return None
    return int_at_least(arg.minimum) if arg.kind is int else positive_float


def add_train_parser(sub: Any, func: Callable[[argparse.Namespace], Any]) -> None:
    """Add ``bprop train`` to the sub-commands ``sub``, running ``func``."""
    train = sub.add_parser("train", help="train a feedforward network, or run an application")
    train.register("action", None, _Store)
    train.register("action", "store", _Store)
    train.register("action", "store_true", _StoreTrue)
    tasks = "; ".join(f"{t.name}: {t.help}" for t in TASKS.values())
    train.add_argument(
        "--task",
        default=CLASSIFY,
        choices=[CLASSIFY, *TASKS],
        help=f"{CLASSIFY}: feedforward training on --data (default); {tasks}",
    )
    train.add_argument(
        "--data",
        help="built-in dataset name (see `bprop datasets`) or a CSV file; for charlm a text "
        "file; for forecast 'sunspots' (default) or a CSV file with --target COLUMN",
    )
    train.add_argument(
        "--target", help="target column of a CSV file: its name, or its 0-based index"
    )
    train.add_argument("--delimiter", default=",", help="field separator of a CSV file (default ,)")
    train.add_argument(
        "--resume",
        metavar="FILE",
        help="continue the run saved in FILE (by --out, or when a run was interrupted) with "
        "its own options and data; trains its remaining epochs, or --epochs N more; saves to "
        "--out (default: FILE)",
    )
    train.add_argument(
        "--hidden",
        type=hidden_sizes,
        help="hidden sizes, e.g. 32,16 (default 32; recurrent tasks: one size per stacked layer"
        + _task_defaults("hidden")
        + ")",
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
    train.add_argument(
        "--batch-size",
        type=int_at_least(1),
        default=32,
        help="mini-batch size (default 32"
        + _task_defaults("batch_size").replace(" (default ", "; ", 1),
    )
    train.add_argument(
        "--epochs",
        type=int_at_least(0),
        help="epochs to train (default 100; with --resume: the run's remaining epochs)",
    )
    train.add_argument(
        "--l2", type=non_negative_float, default=0.0, help="L2 penalty λ, added to the loss"
    )
    train.add_argument(
        "--lr-schedule",
        choices=["constant", "step", "exponential", "warmup", "cosine", "plateau"],
        help="learning-rate schedule over the epochs: cosine (after --warmup epochs), step "
        "(x0.1 every third of them), exponential (x0.95 per epoch), warmup (linear), plateau "
        "(x0.1 after 10 epochs without a better validation loss); not for rprop, quickprop, "
        "bold-driver",
    )
    train.add_argument(
        "--warmup", type=int_at_least(0), default=0, help="warm-up epochs (cosine, warmup)"
    )
    group = train.add_argument_group("update-rule hyper-parameters (defaults: the rule's own)")
    for name, help_text in HYPERPARAMETERS.items():
        kind = positive_float if name == "lr" else finite_float
        group.add_argument(flag(name), type=kind, help=help_text + _task_defaults(name))
    train.add_argument(
        "--validation-split",
        type=fraction,
        help="fraction held out to validate (default 0.2; none for sets under 50 examples)",
    )
    train.add_argument("--early-stopping", type=int_at_least(1), metavar="PATIENCE")
    train.add_argument(
        "--target-loss", type=finite_float, help="stop when the training loss is this"
    )
    train.add_argument(
        "--scale",
        default="standard",
        choices=["standard", "none"],
        help="standardise inputs (the scaler is saved with the model)",
    )
    train.add_argument("--seed", type=int_at_least(0), default=0)
    beyond = train.add_argument_group("beyond one process (bprop.distributed)")
    beyond.add_argument(
        "--shards",
        metavar="DIR_OR_GLOB",
        help="train on data shards (.npz with X and y, or numeric CSV; a folder or a glob) "
        "instead of --data: out-of-core here, or on a Dask cluster with --scheduler",
    )
    beyond.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="--shards: the Dask scheduler (tcp://host:8786, or local:N for N local workers)",
    )
    beyond.add_argument(
        "--checkpoint-every",
        type=int_at_least(1),
        metavar="N",
        help="save to --out every N epochs (atomically): feedforward runs the resumable "
        "trainer (resume with --resume), --task runs the model trained so far",
    )
    beyond.add_argument(
        "--mpi",
        action="store_true",
        help="data-parallel over MPI ranks: mpiexec -n R python -m mpi4py -m bprop train ... "
        "--mpi (each rank takes batch-size examples of every update)",
    )
    train.add_argument("--out", help="save the trained model (and optimizer state) here")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--log-dir",
        help="write a CSV log (log.csv, one row per epoch) and TensorBoard event files "
        "(needs tensorboardX) in this folder",
    )
    train.add_argument(
        "--diagnostics",
        action="store_true",
        help="classify: record per-layer gradient norms, saturated and dead units each epoch "
        "(on 256 training examples), print a summary, warn on vanishing/exploding gradients; "
        "with --out also write an HTML report beside the model",
    )
    train.add_argument(
        "--report", help="--diagnostics, --task dates/numbers: write the HTML report in this folder"
    )
    own = train.add_argument_group("options only applications (--task) take")
    for arg in ARGS.values():
        takers = ", ".join(t.name for t in TASKS.values() if arg.name in t.options)
        own.add_argument(
            flag(arg.name),
            type=_arg_type(arg),
            choices=arg.choices or None,
            help=f"{takers}: {arg.help}{_task_defaults(arg.name)}",
        )
    train.set_defaults(func=func, given=frozenset())
