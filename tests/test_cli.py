import json

import numpy as np
import pytest

from bprop.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_then_evaluate_and_predict(capsys, tmp_path):
    model = str(tmp_path / "iris.bprop")
    code, out, _ = run(
        capsys,
        "train",
        "--data",
        "iris",
        "--hidden",
        "8",
        "--method",
        "momentum",
        "--lr",
        "0.05",
        "--epochs",
        "40",
        "--json",
        "--out",
        model,
    )
    assert code == 0
    result = json.loads(out)
    for key in ("train_loss", "val_loss", "val_accuracy", "epochs", "seconds"):
        assert key in result
    assert result["epochs"] == 40 and result["val_accuracy"] > 0.8
    code, out, _ = run(capsys, "evaluate", model, "--data", "iris", "--json")
    assert code == 0 and json.loads(out)["accuracy"] > 0.8
    code, out, _ = run(capsys, "predict", model, "--data", "iris")
    assert code == 0 and len(out.split()) == 150


def test_train_on_a_csv_regression(capsys, tmp_path):
    path = tmp_path / "lin.csv"
    rows = ["a,b,y"] + [f"{i / 10},{(i % 7) / 7},{i / 10 + (i % 7) / 7}" for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = run(
        capsys,
        "train",
        "--data",
        str(path),
        "--target",
        "y",
        "--hidden",
        "8",
        "--loss",
        "mse",
        "--schedule",
        "batch",
        "--lr",
        "0.1",
        "--epochs",
        "300",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["val_accuracy"] is None and result["train_loss"] < 0.05


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "digits", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["train", "--data", "digits", "--method", "magic"], "invalid choice: 'magic'"),
        (["train", "--data", "digits", "--hidden", "3,x"], "comma-separated sizes"),
    ],
)
def test_bad_options_are_rejected_by_name(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_errors_are_one_clear_line(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--data", "digitz")
    assert code == 2 and "digits" in err  # suggests the close name
    code, _, err = run(capsys, "train", "--data", str(tmp_path / "x.csv"))
    assert code == 2 and "--target" in err
    bad = tmp_path / "bad.bprop"
    bad.write_bytes(b"garbage")
    code, _, err = run(capsys, "evaluate", str(bad), "--data", "iris")
    assert code == 2 and "corrupt" in err


def test_datasets_lists_the_built_ins(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    for name in (
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "xor",
        "parity-N",
        "encoder-8-3-8",
        "two-spirals",
    ):
        assert name in out


@pytest.mark.parametrize(
    "method",
    [
        "sgd",
        "momentum",
        "nesterov",
        "rprop+",
        "rprop-",
        "irprop+",
        "irprop-",
        "quickprop",
        "bold-driver",
        "adagrad",
        "rmsprop",
        "adam",
    ],
)
def test_every_method_trains_from_the_command_line(capsys, method):
    code, out, err = run(
        capsys,
        "train",
        "--data",
        "iris",
        "--hidden",
        "6",
        "--method",
        method,
        "--epochs",
        "30",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == method and result["epochs"] == 30
    # learned, not guessed: chance is a loss of ln 3 ≈ 1.099 and an accuracy of 1/3 (all 12
    # methods end at ≤ 0.53 and ≥ 0.8 here)
    assert result["train_loss"] < 0.6
    assert result["val_accuracy"] >= 0.8
    full_batch = method in ("rprop+", "rprop-", "irprop+", "irprop-", "quickprop", "bold-driver")
    assert result["schedule"] == ("batch" if full_batch else "minibatch")


def test_language_model_train_and_sample(capsys, tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("to be or not to be, that is the question. " * 40)
    model = str(tmp_path / "lm.bprop")
    code, out, err = run(
        capsys,
        "train",
        "--task",
        "charlm",
        "--data",
        str(text),
        "--hidden",
        "16",
        "--k1",
        "10",
        "--batch-size",
        "4",
        "--epochs",
        "3",
        "--json",
        "--out",
        model,
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["vocabulary"] == len(set(text.read_text()))
    # it uses context: better than the best context-free guess, the text's own letter
    # frequencies (entropy ≈ 2.376 nats; uniform over 15 symbols would be ln 15 ≈ 2.708)
    counts = np.unique(list(text.read_text()), return_counts=True)[1]
    p = counts / counts.sum()
    assert result["val_loss"] < float(-(p * np.log(p)).sum())
    code, out, err = run(capsys, "sample", model, "--length", "30", "--prime", "to be")
    assert code == 0, err
    assert out.startswith("to be") and len(out.rstrip("\n")) == 35


def test_forecast_beats_persistence_on_sunspots(capsys):
    code, out, err = run(capsys, "train", "--task", "forecast", "--epochs", "30", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["rmse"] < result["persistence_rmse"]


def test_sequence_task_bad_input(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = run(capsys, "train", "--task", "charlm", "--data", str(empty))
    assert code == 2 and "empty" in err
    code, _, err = run(capsys, "train", "--task", "charlm")
    assert code == 2 and "--data" in err


def test_recurrent_backprop_and_rtrl_tasks(capsys):
    code, out, err = run(capsys, "train", "--task", "completion", "--epochs", "20", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["bit_accuracy"] > result["input_bit_accuracy"]  # it repairs flipped bits
    code, out, err = run(capsys, "train", "--task", "temporal-xor", "--steps", "600", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert len(result["error_by_position"]) == 3 and result["n_steps"] == 600
