"""``bprop train --task NAME`` is built from the table bprop.tasks.TASKS: its choices, help and
task-only options come from the entries, an option a task does not take is refused with one
line, and the README's command lines still parse to options their task takes."""

import json
import re
import shlex
import signal
from pathlib import Path

import pytest

from bprop.cli import build_parser, main
from bprop.cli.train_options import refused_options
from bprop.errors import TrainingInterrupted
from bprop.tasks import ARGS, TASKS, Arg, Task

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_train_commands():
    """The ``bprop train …`` command lines of the README (continuations joined)."""
    text = README.read_text().replace("\\\n", " ")
    return [re.sub(r"\s+#.*", "", m) for m in re.findall(r"^bprop train .*$", text, re.M)]


@pytest.mark.parametrize("command", readme_train_commands())
def test_the_readme_commands_pass_options_their_task_takes(command):
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert refused_options(args.task, args.given) == []


def test_the_readme_has_task_commands():
    assert any("--task" in c for c in readme_train_commands())  # the test above is not empty


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "charlm", "--data", "t.txt", "--T", "5"],
         "--T does not apply to --task charlm: drop --T"),
        (["--data", "xor", "--k1", "5"], "--k1 does not apply to --task classify: drop --k1"),
        # given, even at its default value: still not an option of the task
        (["--task", "adding", "--activation", "tanh"], "--activation does not apply"),
        (["--task", "rbp-xor", "--seed", "0"], "--seed does not apply to --task rbp-xor"),
        (["--task", "temporal-xor", "--k1", "2", "--epochs", "3"],
         "--epochs and --k1 do not apply to --task temporal-xor: drop them"),
        (["--task", "reber", "--diagnostics"], "--diagnostics does not apply"),
    ],
)  # fmt: skip
def test_an_option_the_task_does_not_take_is_refused(capsys, argv, message):
    assert main(["train", *argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err


def _toy_run(opts):
    if opts["width"] < 0:
        raise TrainingInterrupted(net=opts["width"], signal=signal.SIGINT)
    return {"width": opts["width"], "seed": opts["seed"]}, None


def _toy_keep(opts, net):
    return lambda path: Path(path).write_text(f"net {net}")


@pytest.fixture
def toy(monkeypatch):
    """A new application, added to the table alone, with an option of its own."""
    monkeypatch.setitem(ARGS, "width", Arg("width", "toy width", minimum=-5))
    task = Task("toy", "a toy task", {"width": 3, "seed": 0, "out": None}, _toy_run, _toy_keep,
                "read it with: cat {}")  # fmt: skip
    monkeypatch.setitem(TASKS, "toy", task)
    return task


def test_a_new_table_entry_becomes_a_task_of_the_command(toy, capsys, tmp_path):
    assert main(["train", "--task", "toy", "--width", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["task"], result["width"], result["seed"]) == ("toy", 5, 0)
    assert main(["train", "--task", "toy", "--json"]) == 0  # the entry's default
    assert json.loads(capsys.readouterr().out)["width"] == 3
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "toy: a toy task" in text and "--width WIDTH toy: toy width (default 3)" in text
    assert main(["train", "--task", "toy", "--lr", "0.1"]) == 2
    assert "--lr does not apply to --task toy" in capsys.readouterr().err
    # an interrupted run keeps its model with the entry's keep, and says how to use it
    out = tmp_path / "toy.txt"
    assert main(["train", "--task", "toy", "--width", "-2", "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"read it with: cat {out}" in err
    assert out.read_text() == "net -2"


def test_hidden_sizes_stack_recurrent_layers_with_dropout_between(capsys, tmp_path):
    """``--hidden 4,3`` builds two recurrent layers (it once silently used the first size)."""
    import bprop as bp
    from bprop.recurrent import Recurrent

    out = str(tmp_path / "f.bprop")
    argv = ["train", "--task", "forecast", "--hidden", "4,3", "--dropout", "0.2", "--cell", "gru"]
    assert main([*argv, "--epochs", "1", "--quiet", "--out", out]) == 0
    layers = bp.load(out).layers
    assert [type(x).__name__ for x in layers] == ["Recurrent", "Dropout", "Recurrent", "Dense"]
    assert (layers[0].n_out, layers[2].n_in, layers[2].n_out, layers[1].p) == (4, 4, 3, 0.2)
    assert layers[0].return_sequences and not layers[2].return_sequences
    assert isinstance(layers[2], Recurrent)
    assert main(["train", "--task", "completion", "--hidden", "4,4", "--quiet"]) == 2
    assert "one layer of units" in capsys.readouterr().err
    assert main(["train", "--task", "adding", "--dropout", "1.5", "--quiet"]) == 2
    assert "--dropout is a probability below 1" in capsys.readouterr().err


def test_the_command_names_no_task_and_its_modules_are_small():
    """The CLI dispatches through the table (no if/elif over task names), and the CLI, the
    comparison and the applications are modules of one screen each (issue 13: under 400
    lines)."""
    root = Path(__file__).resolve().parent.parent / "bprop"
    for path in (root / "cli").glob("*.py"):
        source = path.read_text()
        assert not [n for n in TASKS if f'"{n}"' in source], path
    for folder in ("cli", "compare", "tasks"):
        for path in (root / folder).glob("*.py"):
            assert len(path.read_text().splitlines()) < 400, path


def test_resume_refuses_a_different_option_even_at_its_default(capsys, tmp_path):
    model = str(tmp_path / "m.bprop")
    common = ["--epochs", "1", "--quiet", "--out", model]
    assert main(["train", "--data", "xor", "--hidden", "3", "--seed", "3", *common]) == 0
    assert main(["train", "--resume", model, "--seed", "0", "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--seed 0 (the run used 3)" in err
    assert main(["train", "--resume", model, "--seed", "3", "--epochs", "1", "--quiet"]) == 0


def test_a_result_with_curves_prints_one_line_per_key_on_the_terminal(capsys):
    # rbp-xor returns ten loss curves: the terminal gets a one-line summary of them and the
    # short lists in full; --json still has every value
    assert main(["train", "--task", "rbp-xor", "--epochs", "20", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    curves = next(line for line in lines if line.startswith("loss_curves"))
    assert curves.split(None, 1)[1] == "10 series of 20 values (--json prints them)"
    finals = next(line for line in lines if line.startswith("final_losses"))
    assert finals.count(",") == 9 and all(len(line) < 200 for line in lines)
    assert main(["train", "--task", "rbp-xor", "--epochs", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["loss_curves"]) == 10 and len(result["loss_curves"][0]) == 20
