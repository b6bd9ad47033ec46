"""The table of applications, bprop.tasks.TASKS: its entries are complete and consistent, and the
rule a task trains with follows its options."""

import inspect

import pytest

from bprop.optim.methods import make_rule
from bprop.tasks import ARGS, TASKS, Options, Task
from bprop.tasks.table import chosen_rule


@pytest.mark.parametrize("name", list(TASKS))
def test_every_entry_is_complete(name):
    task = TASKS[name]
    assert isinstance(task, Task) and task.name == name
    assert task.help and "\n" not in task.help
    assert len(inspect.signature(task.run).parameters) == 1
    # a task that keeps a model can write it (--out), says how to use it, and vice versa
    assert ("out" in task.options) == (task.keep is not None) == bool(task.use)
    assert set(task.required) <= set(task.options)
    # a method means the whole rule: its hyper-parameters, schedule and warm-up
    if "method" in task.options:
        assert {"lr", "lr_schedule", "warmup", "momentum", "clip_norm"} <= set(task.options)


def test_every_task_only_option_is_taken_by_some_task():
    taken = {n for t in TASKS.values() for n in t.options}
    assert set(ARGS) <= taken
    for arg in ARGS.values():
        assert arg.kind in (int, float, str) and (arg.kind is str) == bool(arg.choices)


def test_options_lay_the_given_values_over_the_defaults():
    opts = Options({"lr": 0.5, "epochs": 100}, verbose=1, epochs=3)
    assert dict(opts) == {"lr": 0.5, "epochs": 3, "verbose": 1}
    assert opts.given == {"epochs"}


def _rule(task, **given):
    return chosen_rule(Options(TASKS[task].options, **given))


def test_the_task_trains_with_its_own_adam_unless_a_rule_is_chosen():
    assert _rule("adding") is None  # train_adding's Adam(lr) with its clipping
    # another rule starts from its own learning rate, not the task's (tuned for Adam) ...
    assert repr(_rule("adding", method="sgd")) == repr(make_rule("sgd"))
    assert repr(_rule("adding", method="sgd", lr=0.3)) == repr(make_rule("sgd", lr=0.3))
    # ... while a schedule alone schedules the task's Adam at the task's rate, over its epochs
    want = make_rule("adam", lr=5e-3, lr_schedule="cosine", epochs=7, warmup=2)
    assert repr(_rule("adding", lr_schedule="cosine", epochs=7, warmup=2)) == repr(want)


def test_forecast_wants_the_column_of_a_csv_series(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("t,v\n" + "".join(f"{i},{i % 5}\n" for i in range(40)))
    task = TASKS["forecast"]
    with pytest.raises(ValueError, match="name the series' column with --target"):
        task.run(Options(task.options, data=str(path)))
