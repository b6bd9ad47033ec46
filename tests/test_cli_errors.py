"""Every bad input to the ``bprop`` command gets exactly one line on stderr naming what is
wrong, exit status 2, and no Python traceback (issue 12, item 5)."""

import os
import subprocess
import sys

import pytest

from bprop.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the bad inputs refer to, and one small model trained on a CSV file."""
    d = tmp_path_factory.mktemp("bad-inputs")
    rows = [f"{i % 5},{(i * 7) % 3},{['cat', 'dog', 'eel'][i % 3]}" for i in range(60)]
    (d / "good.csv").write_text("x1,x2,animal\n" + "\n".join(rows) + "\n")
    (d / "missing.csv").write_text("x1,x2,animal\n1,2,cat\n3,,dog\n")
    (d / "text.csv").write_text("x1,x2,animal\n1,2,cat\n3,blue,dog\n")
    (d / "unknown.csv").write_text("x1,x2,animal\n1,2,cat\n3,4,fox\n")
    (d / "other-columns.csv").write_text("x1,x3,animal\n1,2,cat\n3,4,dog\n")
    (d / "bad.bprop").write_bytes(b"PK\x03\x04 this is not a model")
    (d / "text.txt").write_text("abcabc " * 200)
    (d / "sub").mkdir()
    model = str(d / "model.bprop")
    code = main(["train", "--data", str(d / "good.csv"), "--target", "animal", "--hidden", "4",
                 "--epochs", "2", "--quiet", "--out", model])  # fmt: skip
    assert code == 0
    import bprop as bp

    bp.save(bp.mlp([2, 3, 3], seed=0), str(d / "plain.bprop"))
    return d


# (argv with {d} for the files' folder, a piece of the expected message)
CASES = [
    # the reproducers of the issue
    (["train", "--data", "xor", "--seed", "-1"], "argument --seed: must be at least 0"),
    (["train", "--task", "temporal-xor", "--steps", "0"], "argument --steps"),
    (["train", "--data", "iris", "--hidden", "1000000000"], "--hidden: the network 4-1000000000-3"),
    (["train", "--task", "temporal-xor", "--hidden", "8,8"], "has one layer of units"),
    (["train", "--task", "charlm", "--data", "{d}/text.txt", "--dropout", "1"],
     "--dropout is a probability below 1"),
    (["train", "--data", "{d}/good.csv", "--target", "7"], "index 7 is out of range"),
    # files
    (["train", "--data", "{d}/nope.csv", "--target", "y"], "CSV file not found"),
    (["evaluate", "{d}/bad.bprop", "--data", "iris"], "bad.bprop"),
    (["evaluate", "{d}/nope.bprop", "--data", "iris"], "nope.bprop"),
    (["train", "--data", "xor", "--out", "{d}/sub"], "cannot save to {d}/sub: it is a directory"),
    (["train", "--data", "xor", "--out", "/dev/null"], "not a regular file"),
    (["train", "--data", "xor", "--method", "irprop-", "--lr-schedule", "cosine"],
     "sets its own step sizes"),
    (["train", "--data", "xor", "--out", "{d}/no/such/m.bprop"], "does not exist"),
    (["predict", "{d}/model.bprop", "--data", "{d}/good.csv", "--out", "{d}/sub"],
     "is a directory"),
    (["compare", "--data", "xor", "--out", "{d}/good.csv"], "is a file"),
    (["train", "--task", "charlm", "--data", "{d}/nope.txt"], "not found"),
    # names and numbers
    (["train", "--data", "irsi"], "Did you mean 'iris'"),
    (["train", "--data", "iris", "--method", "magic"], "argument --method: invalid choice"),
    (["compare", "--data", "xor", "--methods", "sgd,magic"], "--methods: unknown method"),
    (["compare", "--data", "xor", "--seeds", "0"], "argument --seeds"),
    (["train", "--data", "iris", "--epochs", "-3"], "argument --epochs: must be at least 0"),
    (["train", "--data", "iris", "--hidden", "3,x"], "argument --hidden"),
    (["train", "--data", "iris", "--hidden", "0"], "hidden sizes must be positive"),
    (["train", "--data", "iris", "--lr", "nan"], "argument --lr"),
    (["train", "--data", "iris", "--validation-split", "1.5"], "argument --validation-split"),
    (["train", "--data", "xor", "--early-stopping", "5"], "--early-stopping needs"),
    (["train", "--task", "completion", "--out", "{d}/c.bprop"], "drop --out"),
    (["train", "--task", "completion", "--method", "sgd"], "--method does not apply"),
    (["train", "--task", "forecast", "--data", "{d}/good.csv"], "column with --target"),
    (["train", "--data", "{d}/good.csv", "--target", "animal", "--delimiter", ";;"],
     "delimiter must be one character"),
    (["explain", "--steps", "0"], "argument --steps"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    # data
    (["train", "--data", "{d}/missing.csv", "--target", "animal"],
     "column 'x2', row 2 (line 3): missing value ''"),
    (["train", "--data", "{d}/text.csv", "--target", "animal"], "non-numeric value 'blue'"),
    (["train", "--data", "{d}/good.csv"], "name its target column with --target"),
    (["evaluate", "{d}/model.bprop", "--data", "{d}/unknown.csv"], "label(s) ['fox']"),
    (["evaluate", "{d}/model.bprop", "--data", "{d}/other-columns.csv"], "lacks the column"),
    (["predict", "{d}/model.bprop", "--data", "iris"], "lacks the column(s) ['x1', 'x2']"),
    (["sample", "{d}/model.bprop"], "not a language model"),
    # resuming
    (["train", "--resume", "{d}/plain.bprop"], "holds no resumable run"),
    (["train", "--resume", "{d}/model.bprop", "--hidden", "9"], "--hidden [9] (the run used [4])"),
    (["train", "--resume", "{d}/model.bprop"], "already trained all its 2 epochs"),
    (["train", "--task", "adding", "--resume", "{d}/model.bprop"], "--resume continues"),
    (["train", "--data", "iris", "--lr", "1e6", "--epochs", "30"], "diverged"),
]  # fmt: skip


def _argv(argv, d):
    return [a.replace("{d}", str(d)) for a in argv]


@pytest.mark.parametrize(("argv", "message"), CASES)
def test_bad_input_is_one_line_exit_2(files, capsys, argv, message):
    try:
        code = main([*_argv(argv, files), *(["--quiet"] if argv[0] == "train" else [])])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert message.replace("{d}", str(files)) in lines[0]
    assert lines[0].startswith("bprop")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "xor", "--seed", "-1"], "--seed"),
        (["evaluate", "{d}/bad.bprop", "--data", "iris"], "bad.bprop"),
        (["train", "--data", "xor", "--out", "{d}/sub", "--quiet"], "--out"),
    ],
)
def test_bad_input_from_the_shell(files, argv, message):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "bprop.cli", *_argv(argv, files)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr


def test_an_unexpected_error_is_one_line_with_status_1(monkeypatch, capsys):
    import bprop.cli as cli_module

    def broken(args):
        raise AttributeError("'NoneType' object has no attribute 'x'")

    monkeypatch.setattr(cli_module, "cmd_datasets", broken)  # build_parser reads it at call
    assert main(["datasets"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "internal error: AttributeError" in err


def test_out_on_a_read_only_or_full_filesystem_is_refused_before_training(
    tmp_path, monkeypatch, capsys
):
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)  # root ignores permissions: simulate
    code = main(["train", "--data", "xor", "--quiet", "--out", str(tmp_path / "m.bprop")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1
    assert "--out" in err and "Read-only file system" in err and "not writable" in err
