"""bprop diagnose: ‖∂L/∂h_t‖ per step and layer for Elman, LSTM and GRU on the same task."""

import csv

import numpy as np

import bprop as bp
from bprop.cli import main
from bprop.data.sequences import adding_problem
from bprop.tasks.models import sequence_model
from bprop.tasks.vanishing import compare_cells


def _reference_norms(cell, T, hidden, layers, n, seed):
    """‖∂L/∂h_t‖ by the per-step reference path of every recurrent layer, by hand."""
    net = sequence_model(2, hidden, 1, cell, layers, False, seed)
    recs = [lyr for lyr in net.layers if hasattr(lyr, "cell")]
    for r in recs:
        r.fast, r.record_grad_norms = False, True
    X, y = adding_problem(n, T, rng=seed)
    out, cache = net.forward(X.astype(net.space.dtype), train=False)
    _, dy = bp.MeanSquaredError().value_and_grad(out, y.astype(net.space.dtype))
    net.backward(dy, cache)
    return [np.asarray(r.grad_norms) for r in recs]


def test_norms_match_the_reference_path_per_layer():
    res = compare_cells(["elman", "gru"], T=12, hidden=5, layers=2, n=16, seed=3)
    for cell in ("elman", "gru"):
        ref = _reference_norms(cell, 12, 5, 2, 16, 3)
        got = list(res["norms"][cell].values())
        assert len(got) == 2
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-4)


def test_training_adds_one_measurement_per_epoch():
    res = compare_cells(["lstm"], T=10, hidden=4, n=32, epochs=2, seed=0)
    assert [r["epoch"] for r in res["rows"]] == [0, 1, 2]
    assert len(res["history"]["lstm"]["LSTM 1"]) == 3
    assert res["rows"][2]["loss"] < res["rows"][0]["loss"]


def test_elman_gradient_vanishes_faster_than_lstm_over_seeds():
    wins = 0
    for seed in range(3):
        rows = compare_cells(["elman", "lstm"], T=40, hidden=8, n=32, seed=seed)["rows"]
        ratio = {r["cell"]: r["ratio_first_last"] for r in rows}
        wins += ratio["elman"] < ratio["lstm"]
    assert wins == 3


def test_cli_diagnose(tmp_path, capsys):
    out = tmp_path / "g"
    args = ["diagnose", "--cells", "elman,lstm", "--length", "8", "--hidden", "4",
            "--layers", "2", "--examples", "16", "--epochs", "1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "‖∂L/∂h_1‖" in text and "LSTM 2" in text
    with open(out / "norms.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 2 * 8  # cells × layers × measurements × steps
    assert (out / "index.html").read_text(encoding="utf-8").count("<img") == 1
    assert main(["diagnose", "--cells", "elman,rnn"]) == 2
    assert "rnn" in capsys.readouterr().err
