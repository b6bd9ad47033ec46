"""Keras/PyTorch conveniences: History as lists, ModelCheckpoint, net.summary(), evaluate's
metrics (checked against direct formulas, not against the library that computes them)."""

import json
import os

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import TimeDistributed
from bprop.train.metrics import format_confusion

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def test_history_lists_and_as_dict():
    hist = bp.fit(bp.mlp([3, 4, 2]), X, Y, epochs=4, validation_split=0.25, verbose=0, seed=0)
    assert hist.epochs == [1, 2, 3, 4] and hist.n_epochs == 4
    d = hist.as_dict()
    assert d["epochs"] == [1, 2, 3, 4]
    assert all(len(d[k]) == 4 for k in ("train_loss", "val_loss", "train_accuracy", "seconds"))
    json.dumps(d)  # plain values
    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in d.items() if isinstance(v, list)})
    assert list(frame["epochs"]) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "use",
    [
        lambda h: h.epochs == 4,
        lambda h: h.epochs < 5,
        lambda h: h.epochs + 1,
        lambda h: range(h.epochs),
        lambda h: f"{h.epochs:d}",
        lambda h: int(h.epochs),
    ],
)
def test_history_epochs_used_as_a_count_says_what_to_use(use):
    hist = bp.fit(bp.mlp([3, 2]), X, Y, epochs=4, verbose=0)
    with pytest.raises(TypeError, match="n_epochs"):
        use(hist)


def test_history_epochs_still_works_as_a_list():
    hist = bp.fit(bp.mlp([3, 2]), X, Y, epochs=3, verbose=0)
    assert list(hist.epochs) == [1, 2, 3] and hist.epochs[-1] == 3 and len(hist.epochs) == 3
    assert hist.epochs + [4] == [1, 2, 3, 4] and f"{hist.epochs}" == "[1, 2, 3]"


def test_summary_counts_every_kind_of_layer():
    net = bp.Sequential(
        bp.Recurrent(bp.GRU(3, 5, rng=0)),
        TimeDistributed(bp.Dense(5, 4, rng=1)),
        bp.BatchNorm(4),
        bp.Tanh(),
        bp.Dropout(0.1),
    )
    s = net.summary()
    counts = [r["count"] for r in s.rows]
    assert counts == [15 * 3 + 15 * 5 + 15 + 15, 5 * 4 + 4, 8, 0, 0]  # GRU: two biases
    assert s.total == net.space.params.size == sum(counts)
    assert "Recurrent(GRU 3 → 5)" in str(s) and "TimeDistributed(Dense 5 → 4)" in str(s)
    net.layers[2].freeze("gamma")
    assert net.summary().trainable == s.total - 4
    for cell in (bp.Elman(2, 3, rng=0), bp.LSTM(2, 3, rng=0)):
        n = bp.Sequential(bp.Recurrent(cell))
        assert n.summary().total == n.space.params.size
    settle = bp.Sequential(bp.SettlingNetwork(4, 2, output_units=1, rng=0))
    assert settle.summary().total == 4 * 4 + 4 * 2 + 4
    assert "SettlingNetwork" in repr(settle.summary())


def _fits_and_keeps_everything(s, width):
    text = s.format(width) if width != 100 else str(s)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, text
    # the table holds every layer and every parameter whole, wrapped but never cut
    flat = " ".join(line.strip() for line in lines)
    for r in s.rows:
        assert f"{r['count']:,}" in flat
        for part in r["parameters"].split(", "):
            assert part in flat, (part, text)
    return lines


def test_summary_of_wide_models_fits_100_columns():
    from bprop.layers.summary import summarize
    from bprop.recurrent import Bidirectional, Seq2Seq

    wide = bp.Sequential(
        Bidirectional(bp.LSTM(30, 64, rng=0), bp.LSTM(30, 64, rng=1)),
        TimeDistributed(bp.Dense(128, 5000, rng=2)),
    )
    seq2seq = summarize(Seq2Seq(40, 50, hidden=16, attention=8, rng=0))
    for s in (wide.summary(), seq2seq):
        unwrapped = max(len("  ".join((r["path"], r["layer"], r["parameters"]))) for r in s.rows)
        assert unwrapped > 100  # one line per layer would not fit
        lines = _fits_and_keeps_everything(s, 100)
        assert len(lines) > len(s.rows) + 2  # so some row wrapped
    lines = _fits_and_keeps_everything(wide.summary(), 60)
    assert any("TimeDistributed(" in ln for ln in lines)  # the layer column wraps after "("
    assert lines[1].startswith("0  Bidirectional") and lines[1].endswith("48,640")


def test_evaluate_classes_accuracy_and_confusion_matrix():
    net = bp.mlp([3, 6, 2], seed=0)
    trainer = bp.Trainer(net, "cross_entropy", bp.Adam(0.05), verbose=0)
    trainer.fit(X, Y, epochs=30)
    out = trainer.evaluate(X, Y)
    pred = net.predict_classes(X)
    cm = np.zeros((2, 2), int)
    for t, p in zip(Y, pred, strict=True):
        cm[t, p] += 1
    assert out["confusion_matrix"] == cm.tolist() and out["labels"] == [0, 1]
    assert out["accuracy"] == pytest.approx(np.mean(pred == Y))
    text = format_confusion(out["confusion_matrix"], ["neg", "pos"])
    assert text.splitlines()[1].split()[1:] == [str(v) for v in cm[0]]


def test_evaluate_single_sigmoid_output_uses_the_threshold():
    net = bp.Sequential(bp.Dense(3, 1, rng=0), bp.Sigmoid())
    trainer = bp.Trainer(net, bp.BinaryCrossEntropy(), bp.Adam(0.05), verbose=0)
    yb = Y.reshape(-1, 1).astype(float)
    trainer.fit(X, yb, epochs=20)
    out = trainer.evaluate(X, yb)
    pred = (net.predict(X)[:, 0] > 0.5).astype(int)
    assert np.trace(np.array(out["confusion_matrix"])) == int(np.sum(pred == Y))
    assert sum(map(sum, out["confusion_matrix"])) == len(Y)


def test_evaluate_regression_r2_mae_rmse():
    yr = X @ np.array([1.0, -2.0, 0.5])
    net = bp.mlp([3, 1], seed=0)
    trainer = bp.Trainer(net, "mse", bp.Adam(0.05), verbose=0)
    trainer.fit(X, yr, epochs=10)
    out = trainer.evaluate(X, yr)
    p = net.predict(X)[:, 0].astype(np.float64)
    err = yr - p
    assert out["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-5)
    assert out["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-5)
    r2 = 1 - np.sum(err**2) / np.sum((yr - yr.mean()) ** 2)
    assert out["r2"] == pytest.approx(r2, rel=1e-5) and out["accuracy"] is None


def _losses_fit(tmp_path, **kw):
    trainer = bp.Trainer(bp.mlp([3, 4, 2], seed=0), "cross_entropy", bp.SGD(0.5), verbose=0)
    ck = bp.ModelCheckpoint(tmp_path / "m-{epoch}.bprop", **kw)
    trainer.callbacks.append(ck)
    trainer.fit(X, Y, epochs=7, validation_split=0.3)
    return trainer, ck


def test_checkpoint_every_n_epochs_and_the_last(tmp_path):
    trainer, ck = _losses_fit(tmp_path, every=3)
    assert sorted(os.listdir(tmp_path)) == ["m-3.bprop", "m-6.bprop", "m-7.bprop"]
    resumed = bp.load_trainer(tmp_path / "m-7.bprop")
    assert resumed.epoch == 7
    np.testing.assert_array_equal(resumed.net.space.params, trainer.net.space.params)


def test_checkpoint_best_only_keeps_the_best_epoch(tmp_path):
    trainer, ck = _losses_fit(tmp_path, best_only=True)
    val = trainer.history.val_loss
    best = int(np.argmin(val)) + 1
    assert ck.best_epoch == best and ck.best == pytest.approx(min(val))
    saved = sorted(int(p.split("-")[-1].split(".")[0]) for p in ck.saved)
    # one file per improvement: exactly the epochs that beat every earlier one
    assert saved == [e + 1 for e in range(7) if val[e] < min(val[:e], default=np.inf)]


def test_checkpoint_refuses_an_unlogged_monitor_and_bad_options(tmp_path):
    with pytest.raises(ValueError, match="validation_split"):
        bp.fit(bp.mlp([3, 2]), X, Y, epochs=2, verbose=0,
               callbacks=[bp.ModelCheckpoint(tmp_path / "a", best_only=True)])  # fmt: skip
    with pytest.raises(ValueError, match="every"):
        bp.ModelCheckpoint(tmp_path / "a", every=0)
    with pytest.raises(ValueError, match="logged values"):
        bp.fit(bp.mlp([3, 2]), X, Y, epochs=1, verbose=0,
               callbacks=[bp.ModelCheckpoint(str(tmp_path / "{nope}"))])  # fmt: skip
