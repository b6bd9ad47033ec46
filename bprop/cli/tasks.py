"""``bprop train --task NAME`` for the applications of :data:`bprop.tasks.TASKS`: the options
the entry takes (its defaults under the given ones), checked before anything is trained, the
run, and the saving of its model — every ``--checkpoint-every N`` epochs as it trains, at the
end, or, on Ctrl-C/SIGTERM, the model trained so far.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bprop import interrupt
from bprop.cli.common import (
    CLIError,
    Stopped,
    check_out,
    check_size,
    quote,
    save_or_rescue,
    signal_name,
    verbosity,
)
from bprop.cli.train_options import flag
from bprop.errors import TrainingInterrupted
from bprop.tasks import TASKS, Options, Task
from bprop.train.checkpoint import ModelCheckpoint, literal_path
from bprop.train.logs import calling, logging_to

#: blocks of weights a recurrent layer's cell has (the size check before training)
_CELL_GATES = {"lstm": 4, "gru": 3, "elman": 1}


def task_options(task: Task, args: argparse.Namespace) -> Options:
    """The options ``task`` runs with: its defaults, under the ones given on the command line
    (``--hidden 64,64``: stacked recurrent layers); refuses a missing required option."""
    given = {n: getattr(args, n) for n in args.given if n in task.options}
    if "hidden" in given:
        sizes = given.pop("hidden")
        if len(sizes) > 1 and "cell" not in task.options:
            raise CLIError(
                f"--hidden {','.join(map(str, sizes))}: --task {task.name} has one layer of "
                f"units; give one size, e.g. --hidden {sizes[0]}"
            )
        if sizes:
            given["hidden"] = sizes[0] if len(sizes) == 1 else list(sizes)
    if given.get("dropout", 0) >= 1:
        raise CLIError(f"--dropout is a probability below 1, got {given['dropout']}")
    opts = Options(task.options, verbosity(args), **given)
    for name, what in task.required.items():
        if opts[name] is None:
            raise CLIError(f"--task {task.name} needs {flag(name)} {what}")
    return opts


def run_task(args: argparse.Namespace) -> dict[str, Any]:
    """Run the application ``args.task``; its result, with ``seconds`` and, when it saved its
    model, ``model``."""
    task = TASKS[args.task]
    opts = task_options(task, args)
    if "hidden" in opts.given:
        gates = _CELL_GATES[opts["cell"]] if "cell" in opts else 1
        sizes = opts["hidden"] if isinstance(opts["hidden"], list) else [opts["hidden"]]
        for k, h in enumerate(sizes):  # a stacked layer's inputs are the layer below's units
            below = sizes[k - 1] if k else 0
            check_size(gates * h * (h + below + 2), f"a recurrent layer of {h} units")
    if opts.get("out"):
        check_out(opts["out"])
    checkpoints = [_checkpoint(task, opts, args.checkpoint_every)] if args.checkpoint_every else []
    start = time.perf_counter()
    with interrupt.deferred_interrupts():  # until the model is saved (see bprop.cli.train)
        try:
            with logging_to(args.log_dir), calling(checkpoints):
                result, save = task.run(opts)
        except TrainingInterrupted as exc:
            raise Stopped(_save_interrupted(task, opts, exc)) from exc
        result = {"task": task.name, **result}
        if opts.get("out") and save is not None:
            where, failure = save_or_rescue(save, opts["out"])
            result["model"] = where
            if failure:
                args.late_error = f"{failure}; saved the trained model to {where} instead"
    result["seconds"] = time.perf_counter() - start
    return result


def _checkpoint(task: Task, opts: Options, every: int) -> ModelCheckpoint:
    """``--checkpoint-every N``: every N epochs the model trained so far goes to ``--out``, as
    an interrupted run's would (:attr:`Task.keep`: the network with what the task saves beside
    it, such as a language model's vocabulary), atomically."""
    if not opts.get("out"):
        raise CLIError("--checkpoint-every saves the model to --out: give --out FILE")
    savers: dict[int, Any] = {}  # the saver of the network being trained, made once

    def save(trainer: Any, path: str) -> None:
        net = trainer.net
        if id(net) not in savers:
            savers.clear()
            savers[id(net)] = task.keep(opts, net)
        savers[id(net)](path)

    return ModelCheckpoint(literal_path(opts["out"]), every=every, save=save)


def _save_interrupted(task: Task, opts: Options, exc: TrainingInterrupted) -> str:
    """Save what an interrupted task has learnt; the one line to print."""
    stopped = f"interrupted by {signal_name(exc)}"
    net = exc.trainer.net if exc.trainer is not None else exc.net
    if task.keep is None or net is None:
        return f"{stopped}: --task {task.name} keeps no model, so nothing was saved"
    where, failure = save_or_rescue(task.keep(opts, net), opts.get("out"))
    return (
        f"{stopped}: {failure + '; ' if failure else ''}saved the model trained so far to "
        f"{where} ({task.use.format(quote(where))}; --task {task.name} cannot be resumed yet)"
    )
