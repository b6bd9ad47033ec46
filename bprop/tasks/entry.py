"""What an entry of the task table (:mod:`bprop.tasks.table`) is: a :class:`Task` (name, help,
options with their defaults, how to run it and how to keep an interrupted run's model), the
:class:`Options` it runs with, an :class:`Arg` (an option only applications take), and the
update-rule options every task that trains with any rule shares (:data:`RULE_OPTIONS`,
turned into a rule by :func:`chosen_rule`).

Example::

    >>> from bprop.tasks.entry import RULE_OPTIONS, Options, chosen_rule
    >>> opts = Options({**RULE_OPTIONS, "epochs": 10, "lr": 0.1}, method="sgd")
    >>> sorted(opts.given), chosen_rule(Options({**RULE_OPTIONS, "epochs": 10}))
    (['method'], None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bprop.optim.methods import HYPERPARAMETERS, make_rule

#: writes a trained model to the path it is given
Saver = Callable[[str], None]


@dataclass(frozen=True)
class Arg:
    """An option only applications take: ``kind`` ``int`` (at least ``minimum``), ``float``
    (positive) or ``str`` (one of ``choices``); ``help`` says what it sets (the command line
    adds each task's default)."""

    name: str
    help: str
    kind: type = int
    minimum: int = 1
    choices: tuple[str, ...] = ()


class Options(dict):
    """A task's option values by name: ``defaults`` with the ``given`` ones laid over them;
    ``given`` (a frozenset) names the options the user set. ``verbose`` (0 or 1) is always
    there: whether to show progress."""

    def __init__(self, defaults: Mapping[str, Any], verbose: int = 0, **given: Any) -> None:
        super().__init__(defaults, verbose=verbose, **given)
        self.given = frozenset(given)


@dataclass(frozen=True)
class Task:
    """One application: see the module's docstring."""

    name: str
    help: str
    options: Mapping[str, Any]
    run: Callable[[Options], tuple[dict[str, Any], Saver | None]]
    keep: Callable[[Options, Any], Saver] | None = None
    #: how to use the file ``keep`` wrote (``{}``: its path, quoted for the shell)
    use: str = ""
    #: options that must be given, each with what it is
    required: Mapping[str, str] = field(default_factory=dict)


#: the update-rule options of a task that trains with any rule: ``--method`` (default: the
#: task's own Adam(lr)), its hyper-parameters and a learning-rate schedule over the epochs
RULE_OPTIONS: dict[str, Any] = {
    "method": None,
    "lr_schedule": None,
    "warmup": 0,
    **dict.fromkeys(HYPERPARAMETERS),
}


def chosen_rule(opts: Options) -> Any:
    """The rule ``method`` names with its hyper-parameters and ``lr_schedule`` (over
    ``epochs``, after ``warmup``), or ``None`` (the task's own Adam(lr)) when neither is set.
    The task's default ``lr`` is its Adam's: another rule starts from its own unless ``lr``
    is given."""
    if opts["method"] is None and opts["lr_schedule"] is None:
        return None
    hyper = {k: opts[k] for k in HYPERPARAMETERS}
    if opts["method"] is not None and "lr" not in opts.given:
        hyper["lr"] = None
    return make_rule(
        opts["method"] or "adam",
        lr_schedule=opts["lr_schedule"],
        epochs=opts["epochs"],
        warmup=opts["warmup"],
        **hyper,
    )
