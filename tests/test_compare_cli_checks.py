"""bprop compare: both kinds of grid on one executor, options that would be ignored refused,
results written atomically, every --method run, the paired tests in the HTML report, and X
kept in the networks' float32."""

import csv
import os

import numpy as np
import pytest

from bprop.cli import main
from bprop.compare import grid as grid_module
from bprop.compare import read_csv, run_grid, write_csv
from bprop.compare.grid import _features
from bprop.compare.sequence import run_sequence_grid
from bprop.modelfile import ModelFileError

TIMING = ("seconds", "seconds_to_target", "peak_memory_mb")


def _strip(rows):
    """The rows without wall-clock and memory columns (the curves' seconds too)."""
    out = []
    for r in rows:
        r = {k: v for k, v in r.items() if k not in TIMING}
        r["curves"] = {k: v for k, v in r["curves"].items() if k != "seconds"}
        out.append(r)
    return out


def test_sequence_grid_runs_on_the_shared_executor_and_equals_local():
    args = (["bptt", "tbptt:2", "rtrl"], ["sgd:lr=0.05", "adam:lr=0.01"])
    kw = dict(seeds=2, epochs=2, target_loss=None, length=48, batch_size=4, hidden=3, delay=1)
    local = run_sequence_grid(*args, n_jobs=1, **kw)
    threads = run_sequence_grid(*args, n_jobs=2, backend="threading", **kw)
    assert len(local) == 12 and _strip(threads) == _strip(local)
    assert all(r["peak_memory_mb"] > 0 for r in threads)
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        run_sequence_grid(*args, backend="spark", **kw)
    with pytest.raises(ValueError, match="scheduler address is for backend='dask'"):
        run_sequence_grid(*args, backend="threading", scheduler="local:2", **kw)


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--schedules", "online"], "--schedules"),
        (["--schedules", "batch"], "--schedules"),  # given, even at its default
        (["--activation", "relu", "--validation-split", "0.2"], "--activation, --validation"),
        (["--target", "y"], "--target"),
    ],
)
def test_algorithm_refuses_feedforward_options(capsys, tmp_path, extra, named):
    argv = ["compare", "--algorithm", "bptt", "--out", str(tmp_path / "r"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and "--algorithm" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()  # refused before anything ran


def test_feedforward_refuses_sequence_options(capsys, tmp_path):
    argv = ["compare", "--data", "xor", "--cell", "lstm", "--length", "100"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--cell, --length" in err and "add --algorithm" in err and len(err.splitlines()) == 1


def test_write_csv_is_atomic(tmp_path):
    path = tmp_path / "results.csv"
    row = {"method": "sgd", "schedule": "batch", "seed": 0, "train_loss": 0.25, "success": True}
    write_csv([row], path)
    before = path.read_bytes()

    class Broken:
        def __str__(self):
            raise RuntimeError("cannot format")

    with pytest.raises(RuntimeError, match="cannot format"):
        write_csv([row, dict(row, method=Broken())], path)
    assert path.read_bytes() == before  # the old file is left whole
    assert os.listdir(tmp_path) == ["results.csv"]  # and no temporary file behind
    assert read_csv(path)[0]["success"] == "1"
    with pytest.raises(ModelFileError, match="is a directory"):
        write_csv([row], tmp_path)


def test_every_method_runs_and_the_report_has_the_paired_tests(capsys, tmp_path):
    out = tmp_path / "ff"
    argv = ["compare", "--data", "xor", "--method", "sgd", "--method", "irprop-", "--seeds",
            "3", "--epochs", "40", "--hidden", "3", "--jobs", "1", "--quiet",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    with open(out / "results.csv", newline="") as fh:
        runs = [(r["method"], r["seed"]) for r in csv.DictReader(fh)]
    assert sorted(runs) == [(m, str(s)) for m in ("irprop-", "sgd") for s in range(3)]
    assert "Wilcoxon" in printed
    html = (out / "index.html").read_text()
    assert "Paired tests of the final train_loss" in html and "Wilcoxon signed-rank" in html
    table = html[html.rindex("Paired tests of the final train_loss") :]  # not the contents
    table = table[: table.index("</table>")]
    # one row: the group that is not the best, against the best
    assert table.count("<tr") == 2 and "sgd" in table and "irprop-" in table


def test_features_scale_in_float64_and_round_once():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(1000, 5)).astype(np.float32)
    X[:, 2] = 1.5  # a constant feature: sd taken as 1
    X[:, 4] += 1e5  # a large offset: x − mean in float32 would lose the spread's digits
    X64 = X.astype(np.float64)
    sd = X64.std(axis=0)
    sd[sd == 0] = 1.0
    before = ((X64 - X64.mean(axis=0)) / sd).astype(np.float32)  # the old path, rounded
    got = _features(X, True, np.float32, block=64)  # blocks that do not divide 1000
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, before, rtol=0, atol=1e-6)
    assert np.array_equal(_features(X, False, np.float32), X)
    assert _features(X, True, np.float64).dtype == np.float64


def test_grid_gives_the_runs_float32_x(monkeypatch):
    seen = []
    run = grid_module.one_run

    def spy(job):
        seen.append(job["X"].dtype)
        return run(job)

    monkeypatch.setattr(grid_module, "one_run", spy)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    kw = dict(seeds=1, epochs=5, hidden=[3], n_jobs=1, progress=False, target_loss=None)
    rows64 = run_grid((X, y), ["sgd"], **kw)
    rows32 = run_grid((X.astype(np.float32), y), ["sgd"], **kw)
    assert seen == [np.float32, np.float32]
    np.testing.assert_allclose(
        rows32[0]["curves"]["train_loss"], rows64[0]["curves"]["train_loss"], rtol=1e-5
    )
    with pytest.raises(ValueError, match="numeric"):
        run_grid((np.array([["a"], ["b"]]), np.array([0, 1])), ["sgd"], **kw)
    with pytest.raises(ValueError, match="with examples"):
        run_grid((np.zeros((0, 3)), np.zeros(0, np.int64)), ["sgd"], **kw)
