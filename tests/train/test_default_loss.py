"""The loss ``fit`` (and ``fit_stream``) choose when none is given, for every target form:
class labels per example (N,) and per step (N, T) get softmax cross-entropy; one-hot rows,
one-hot sequences and float targets get mean squared error."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import Elman, Recurrent, TimeDistributed
from bprop.recurrent.truncated import default_loss as stream_default_loss
from bprop.train.fit import default_loss

rng = np.random.default_rng(0)
N, T, F, C = 6, 5, 3, 4
X_SEQ = rng.normal(size=(N, T, F))


def per_step_classifier():
    return bp.Sequential(Recurrent(Elman(F, 6, rng=0)), TimeDistributed(bp.Dense(6, C, rng=1)))


def sequence_to_one():
    return bp.Sequential(
        Recurrent(Elman(F, 6, rng=0), return_sequences=False), bp.Dense(6, C, rng=1)
    )


CE, MSE = "SoftmaxCrossEntropy", "MeanSquaredError"
CASES = [
    ("labels (N,)", bp.mlp([F, 5, C], seed=0), rng.integers(0, C, N), CE),
    ("labels (N,), sequence to one", sequence_to_one(), rng.integers(0, C, N), CE),
    ("labels (N,), one output", bp.mlp([F, 1], seed=0), rng.integers(0, 2, N), MSE),
    ("labels (N, T)", per_step_classifier(), rng.integers(0, C, (N, T)), CE),
    ("labels (N, T), T = C", per_step_classifier(), np.tile(np.arange(C), (N, 1)), CE),
    (
        "labels of ragged sequences",
        per_step_classifier(),
        [rng.integers(0, C, t) for t in (2, 5, 3)],
        CE,
    ),
    (
        "one-hot (N, T, C) floats",
        per_step_classifier(),
        np.eye(C)[rng.integers(0, C, (N, T))],
        MSE,
    ),
    (
        "one-hot (N, T, C) ints",
        per_step_classifier(),
        np.eye(C, dtype=int)[rng.integers(0, C, (N, T))],
        MSE,
    ),
    (
        "one-hot (N, K) ints: the 8-3-8 encoder",
        bp.mlp([8, 3, 8], seed=0),
        np.eye(8, dtype=int),
        MSE,
    ),
    ("float regression (N,)", bp.mlp([F, 1], seed=0), rng.normal(size=N), MSE),
    (
        "float regression (N, T, 1)",
        bp.Sequential(Recurrent(Elman(F, 6, rng=2)), TimeDistributed(bp.Dense(6, 1, rng=3))),
        rng.normal(size=(N, T, 1)),
        MSE,
    ),
    (
        "float rows (N, T) that look like labels",
        per_step_classifier(),
        rng.integers(0, C, (N, T)).astype(float),
        MSE,
    ),
]


@pytest.mark.parametrize(("net", "y", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_the_default_loss_of_each_target_form(net, y, expected):
    assert type(default_loss(net, y)).__name__ == expected


def test_fit_trains_a_per_step_classifier_on_integer_labels_with_cross_entropy():
    y = rng.integers(0, C, (N, T))
    net = per_step_classifier()
    expected = bp.SoftmaxCrossEntropy().value(net.predict(X_SEQ), y)
    hist = bp.fit(net, X_SEQ, y, optimizer=bp.SGD(0.1), schedule="batch", epochs=3, verbose=0)
    assert isinstance(hist.trainer.loss, bp.SoftmaxCrossEntropy)
    # full batch: the first epoch's loss is the loss at the initial weights
    assert hist.train_loss[0] == pytest.approx(float(expected), rel=1e-5)
    assert hist.train_accuracy[0] is not None  # accuracy is reported for labels


def test_stream_default_loss_labels_and_float_streams():
    assert isinstance(stream_default_loss(rng.integers(0, C, 50)), bp.SoftmaxCrossEntropy)
    assert isinstance(stream_default_loss(rng.integers(0, C, (50, 2))), bp.SoftmaxCrossEntropy)
    assert isinstance(stream_default_loss(rng.normal(size=(50, 2))), bp.MeanSquaredError)
