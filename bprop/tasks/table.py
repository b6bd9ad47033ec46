"""The applications as a table: one :class:`Task` per ``bprop train --task NAME``.

An entry says what the task is (one line of help), which options it takes and each one's
default for this task (``options``), which must be given (``required``), how to run it
(``run(opts) -> (result, save)``: a JSON-serialisable dict and a function that writes the
trained model to a path, or ``None`` for a task that keeps no model) and how to keep what an
interrupted run has learnt (``keep(opts, net) -> save``). Options are named as the command
line's long options with ``_`` for ``-`` (``vocab_limit`` is ``--vocab-limit``); the ones no
feedforward run takes are described in :data:`ARGS`. What an entry holds and how its
options are given: :mod:`bprop.tasks.entry`. The command line builds ``--task``'s
choices and help, the task-only options and the refusal of an option a task does not take
from this table alone, so a new application is one entry here.

Example::

    >>> from bprop.tasks import TASKS, Options
    >>> task = TASKS["rbp-xor"]
    >>> sorted(task.options)
    ['epochs', 'lr']
    >>> result, save = task.run(Options(task.options, epochs=30))
    >>> result["runs"], save is None
    (10, True)
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from bprop.data.csv import is_column_index, read_header
from bprop.losses import MeanSquaredError, SoftmaxCrossEntropy
from bprop.tasks.entry import RULE_OPTIONS, Arg, Options, Saver, Task, chosen_rule

__all__ = ["ARGS", "RULE_OPTIONS", "TASKS", "Arg", "Options", "Saver", "Task", "chosen_rule"]

#: the options only applications take
ARGS: dict[str, Arg] = {
    a.name: a
    for a in (
        Arg("cell", "recurrent cell", str, choices=("lstm", "gru", "elman")),
        Arg("dropout", "dropout between stacked recurrent layers (--hidden 64,64)", float),
        Arg("embed", "size of a learnt vector per token (an Embedding; default one-hot)"),
        Arg("encoder", "seq2seq encoder", str, choices=("bidirectional", "forward")),
        Arg("per_class", "names per language (at most)"),
        Arg("unit", "characters or words", str, choices=("char", "word")),
        Arg("vocab_limit", "keep this many words (word models)", minimum=2),
        Arg("k1", "truncated BPTT: forward steps"),
        Arg("k2", "truncated BPTT: backward steps (default k1)"),
        Arg("max_seconds", "stop training after this many seconds", float),
        Arg("T", "sequence length"),
        Arg("window", "input window"),
        Arg("steps", "stream length (bits)"),
        Arg("examples", "training examples"),
        Arg("test_examples", "held-out examples scored"),
        Arg("beam", "beam width of the beam-search score (1: greedy only)"),
    )
}


def _save_net(loss: type, opts: Options, net: Any) -> Saver:
    """Writes ``net``, trained with the loss class ``loss``, as a model file."""
    from bprop.io import save

    return lambda path: save(net, path, loss=loss())


# --- the entries' run and keep functions -------------------------------------------------


def _charlm(o: Options) -> tuple[dict[str, Any], Saver]:
    from bprop.tasks.language import save_lm, train_lm

    model = train_lm(
        o["data"],
        unit=o["unit"],
        vocab_limit=o["vocab_limit"],
        cell=o["cell"],
        hidden=o["hidden"],
        dropout=o["dropout"],
        embed=o["embed"],
        k1=o["k1"],
        k2=o["k2"],
        batch_size=o["batch_size"],
        epochs=o["epochs"],
        lr=o["lr"],
        clip_norm=o["clip_norm"],
        max_seconds=o["max_seconds"],
        seed=o["seed"],
        verbose=o["verbose"],
        optimizer=chosen_rule(o),
    )
    result = {
        "unit": o["unit"],
        "vocabulary": len(model.vocab),
        "val_loss": model.val_loss,
        "perplexity": model.perplexity,
        "train_loss": model.history.train_loss[-1] if model.history.train_loss else None,
    }
    return result, functools.partial(save_lm, model)


def _keep_charlm(o: Options, net: Any) -> Saver:
    """The language model trained so far, with the vocabulary of its text."""
    from bprop.data.sequences import load_text
    from bprop.tasks.language import LanguageModel, save_lm

    _, vocab = load_text(o["data"], unit=o["unit"], limit=o["vocab_limit"])
    model = LanguageModel(net, vocab, config={"unit": o["unit"], "cell": o["cell"]})
    return functools.partial(save_lm, model)


def _common(o: Options) -> dict[str, Any]:
    """The arguments every full-BPTT sequence task takes."""
    return {
        "cell": o["cell"],
        "hidden": o["hidden"],
        "dropout": o["dropout"],
        "epochs": o["epochs"],
        "batch_size": o["batch_size"],
        "lr": o["lr"],
        "optimizer": chosen_rule(o),
        "seed": o["seed"],
        "verbose": o["verbose"],
    }


def _adding(o: Options) -> tuple[dict[str, Any], Saver]:
    from bprop.tasks.sequences import train_adding

    out = train_adding(T=o["T"], **_common(o))
    keys = ("test_mse", "constant_mse", "success", "epochs")
    return {"T": o["T"], **{k: out[k] for k in keys}}, _save_net(MeanSquaredError, o, out["net"])


def _reber(o: Options) -> tuple[dict[str, Any], Saver]:
    from bprop.tasks.sequences import train_reber

    out = train_reber(**_common(o))
    result = {k: out[k] for k in ("accuracy", "penultimate_accuracy")}
    return result, _save_net(SoftmaxCrossEntropy, o, out["net"])


def _forecast(o: Options) -> tuple[dict[str, Any], Saver]:
    from bprop.tasks.sequences import train_forecast

    series, column = o["data"], o["target"]
    if str(series).lower().endswith(".csv"):
        if column is None:
            raise ValueError(
                f"--task forecast --data {series}: name the series' column with --target "
                "(name or 0-based index)"
            )
        if column not in read_header(series, o["delimiter"]) and is_column_index(column):
            column = int(column)
    out = train_forecast(series, column=column, window=o["window"], **_common(o))
    result = {"data": series, "rmse": out["rmse"], "persistence_rmse": out["persistence_rmse"]}
    return result, _save_net(MeanSquaredError, o, out["net"])


#: the options of the translation tasks (dates, numbers)
TRANSLATION_OPTIONS = {**RULE_OPTIONS, "examples": 10000, "test_examples": 1000, "cell": "gru",
    "hidden": 64, "embed": 32, "encoder": "bidirectional", "epochs": 5, "batch_size": 64,
    "lr": 5e-3, "beam": 3, "seed": 0, "out": None, "report": None}  # fmt: skip


def _translation(name: str, help: str) -> Task:
    """A translation task (:mod:`bprop.tasks.translation_task`) on the pairs of the ``split``
    of ``bprop.tasks.<name>`` (imported when the task runs)."""

    def run(o: Options) -> tuple[dict[str, Any], Saver]:
        from bprop.tasks.translation_task import run_translation_task

        pairs = importlib.import_module(f"bprop.tasks.{name}")
        return run_translation_task(o, chosen_rule(o), pairs.split, pairs.TITLE)

    def keep(o: Options, net: Any) -> Saver:
        from bprop.tasks.translation_task import keep_translation

        return keep_translation(o, net, importlib.import_module(f"bprop.tasks.{name}").split)

    use = "translate with: bprop translate {} TEXT"
    return Task(name, help, TRANSLATION_OPTIONS, run, keep, use)


def _name_language(o: Options) -> tuple[dict[str, Any], Saver]:
    from bprop.tasks.names import save_names, train_name_language

    out = train_name_language(
        cell=o["cell"],
        hidden=o["hidden"],
        embed=o["embed"],
        dropout=o["dropout"],
        per_class=o["per_class"],
        epochs=o["epochs"],
        batch_size=o["batch_size"],
        lr=o["lr"],
        optimizer=chosen_rule(o),
        seed=o["seed"],
        verbose=o["verbose"],
    )
    keys = ("accuracy", "baseline_accuracy", "margin", "classes", "n_train", "n_test")
    return {k: out[k] for k in keys}, functools.partial(save_names, out)


def _keep_name_language(o: Options, net: Any) -> Saver:
    """The name classifier trained so far, with the characters of its split."""
    from bprop.tasks.names import save_names, split_names

    _, _, classes, chars = split_names(per_class=o["per_class"], seed=o["seed"])
    return functools.partial(save_names, {"net": net, "chars": chars, "classes": classes})


def _completion(o: Options) -> tuple[dict[str, Any], None]:
    from bprop.tasks.settling import pattern_completion

    return pattern_completion(
        n_hidden=o["hidden"], epochs=o["epochs"], lr=o["lr"], seed=o["seed"], verbose=o["verbose"]
    ), None


def _rbp_xor(o: Options) -> tuple[dict[str, Any], None]:
    from bprop.tasks.settling import settling_xor

    return settling_xor(epochs=o["epochs"], lr=o["lr"], verbose=o["verbose"]), None


def _temporal_xor(o: Options) -> tuple[dict[str, Any], None]:
    from bprop.tasks.temporal_xor import temporal_xor

    return temporal_xor(
        n_steps=o["steps"], n_hidden=o["hidden"], lr=o["lr"], seed=o["seed"], verbose=o["verbose"]
    ), None


def _sequence_task(name: str, help: str, run: Any, loss: type, **options: Any) -> Task:
    """A full-BPTT task that trains with any rule and saves its network."""
    return Task(
        name,
        help,
        {**RULE_OPTIONS, "cell": "lstm", "dropout": 0.0, "seed": 0, "out": None, **options},
        run,
        functools.partial(_save_net, loss),
        "load it with bp.load({!r})",
    )


#: every application, by ``--task`` name
TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "charlm",
            "language model on a text file (truncated BPTT)",
            {
                **RULE_OPTIONS,
                "data": None,
                "unit": "char",
                "vocab_limit": None,
                "cell": "lstm",
                "hidden": 256,
                "dropout": 0.0,
                "embed": None,
                "k1": 100,
                "k2": None,
                "batch_size": 32,
                "epochs": 100,
                "lr": 2e-3,
                "clip_norm": 5.0,
                "max_seconds": None,
                "seed": 0,
                "out": None,
            },
            _charlm,
            _keep_charlm,
            "sample from it with: bprop sample {}",
            {"data": "FILE (a text file)"},
        ),
        _sequence_task(
            "adding",
            "the adding problem (sequence-to-one regression)",
            _adding,
            MeanSquaredError,
            T=50,
            hidden=32,
            batch_size=50,
            epochs=100,
            lr=5e-3,
        ),
        _sequence_task(
            "reber",
            "next symbol of the embedded Reber grammar",
            _reber,
            SoftmaxCrossEntropy,
            hidden=16,
            batch_size=20,
            epochs=100,
            lr=1e-2,
        ),
        _sequence_task(
            "forecast",
            "one-step-ahead forecast of a series: sunspots, or a CSV file's --target column",
            _forecast,
            MeanSquaredError,
            data="sunspots",
            target=None,
            delimiter=",",
            window=12,
            hidden=16,
            batch_size=16,
            epochs=100,
            lr=1e-2,
        ),
        _translation(
            "dates", "translate dates written in 16 languages (Babel) to ISO 8601, with attention"
        ),
        _translation(
            "numbers", "translate numbers written in words in 16 languages (num2words) to digits"
        ),
        Task(
            "name-language",
            "which language a name comes from, character by character (Faker's names; "
            "against a character n-gram logistic regression)",
            {
                **RULE_OPTIONS,
                "cell": "gru",
                "hidden": 128,
                "embed": 64,
                "dropout": 0.5,
                "per_class": 600,
                "epochs": 30,
                "batch_size": 32,
                "lr": 5e-3,
                "seed": 0,
                "out": None,
            },
            _name_language,
            _keep_name_language,
            "load it with bp.load_checkpoint({!r}) (metadata: chars, classes)",
        ),
        Task(
            "completion",
            "Almeida-Pineda recurrent backprop: pattern completion",
            {"hidden": 8, "epochs": 100, "lr": 0.01, "seed": 0},
            _completion,
        ),
        Task(
            "rbp-xor",
            "Almeida-Pineda recurrent backprop: XOR with a settling network",
            {"epochs": 100, "lr": 0.5},
            _rbp_xor,
        ),
        Task(
            "temporal-xor",
            "real-time recurrent learning: Elman's temporal XOR, online",
            {"steps": 300000, "hidden": 16, "lr": 0.005, "seed": 0},
            _temporal_xor,
        ),
    )
}
