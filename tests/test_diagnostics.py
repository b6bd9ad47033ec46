"""Gradient diagnostics: vanishing gradients in a deep sigmoid net, not with ReLU + He."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import bprop as bp
from bprop.diagnostics import GradientDiagnostics, GradientWarning, measure
from bprop.recurrent import Elman, Recurrent


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:512] / 16.0, y[:512]


def _train(net, X, y, **kw):
    diag = GradientDiagnostics(X[:256], y[:256], **kw)
    hist = bp.fit(net, X, y, optimizer=bp.SGD(0.05), batch_size=64, epochs=2,
                  callbacks=[diag], verbose=0)  # fmt: skip
    return diag, hist


def test_deep_sigmoid_vanishes_relu_he_does_not(digits):
    X, y = digits
    sig = bp.mlp([64] + [32] * 9 + [10], activation="sigmoid", seed=0)
    with pytest.warns(GradientWarning) as caught:
        diag, hist = _train(sig, X, y)
    assert any("'Dense 1'" in str(w.message) and "vanishing" in str(w.message) for w in caught)
    g = diag.grad_norms
    assert len(g) == 10 and diag.epochs == [1, 2]
    assert g["Dense 1"][-1] * 100 <= g["Dense 10"][-1]
    assert hist.extra["grad_norm/Dense 1"] == g["Dense 1"]
    assert all(0.0 <= v[-1] <= 1.0 for v in diag.saturation.values())
    assert not diag.dead_relu

    relu = bp.mlp([64] + [32] * 9 + [10], activation="relu", init="he", seed=0)
    diag, _ = _train(relu, X, y)  # no warning (pytest turns warnings into errors)
    g = diag.grad_norms
    ratio = g["Dense 1"][-1] / g["Dense 10"][-1]
    assert 0.1 <= ratio <= 10
    assert len(diag.dead_relu) == 9 and all(0 <= v[-1] < 0.5 for v in diag.dead_relu.values())
    assert not diag.saturation and not diag.messages


def test_saturation_and_dead_units_are_counted():
    X = np.random.default_rng(0).normal(size=(50, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    # huge weights saturate every tanh unit; a bias of -100 kills every ReLU unit
    net = bp.Sequential(bp.Dense(4, 6, W=np.full((4, 6), 50.0), b=np.full(6, 1e3)), bp.Tanh(),
                        bp.Dense(6, 5, b=np.full(5, -1e3), rng=0), bp.ReLU(),
                        bp.Dense(5, 2, rng=1))  # fmt: skip
    m = measure(net, X, y, bp.SoftmaxCrossEntropy())
    assert m["saturation"]["tanh 1"] == 1.0
    assert m["dead_relu"]["relu 1"] == 1.0
    assert m["grad_norms"]["Dense 1"] == pytest.approx(0.0, abs=1e-6)


def test_gradient_buffer_restored_and_time_norms():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 30, 1))
    y = X[:, 0, :]
    net = bp.Sequential(Recurrent(Elman(1, 8, rng=0), return_sequences=False),
                        bp.Dense(8, 1, rng=1))  # fmt: skip
    net.space.grads[...] = 7.0
    m = measure(net, X, y, bp.MeanSquaredError())
    assert np.all(net.space.grads == 7.0)
    tn = m["time_norms"]["Elman 1"]
    assert tn.shape == (30,) and tn[0] < tn[-1]
    assert not net.layers[0].record_grad_norms
    diag = GradientDiagnostics(X, y, warn=False, vanish_ratio=0.5)
    diag.record(1, m)
    assert any("through time" in msg and "Elman 1" in msg for msg in diag.messages)
