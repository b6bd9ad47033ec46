"""Embedding (issue 15): a lookup whose gradient adds rows (no one-hot), equal to a Dense layer on
one-hot inputs; gradient-checked; in front of a recurrent layer; saved and loaded; bad ids."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, Recurrent, TimeDistributed


def test_hand_traced_rows_add_up():
    emb = bp.Embedding(4, 2, W=np.arange(8.0).reshape(4, 2))
    y, cache = emb.forward(np.array([[3, 1, 3]]), train=True)
    assert y.tolist() == [[[6.0, 7.0], [2.0, 3.0], [6.0, 7.0]]]
    assert emb.backward(np.array([[[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]]]), cache) is None
    assert emb.grads["W"].tolist() == [[0, 0], [10, 20], [0, 0], [101, 202]]
    emb.backward(np.ones((1, 3, 2)), cache)  # backward adds into the gradient
    assert emb.grads["W"].tolist() == [[0, 0], [11, 21], [0, 0], [103, 204]]


def test_equals_a_dense_layer_on_one_hot_inputs():
    V, D = 7, 3
    ids = np.random.default_rng(0).integers(0, V, size=(4, 5))
    with bp.backend.default_dtype("float64"):
        emb = bp.Embedding(V, D, rng=1)
        dense = bp.Dense(V, D, W=emb.params["W"].copy(), bias=False)
    onehot = np.eye(V)[ids].reshape(-1, V)
    dy = np.random.default_rng(2).normal(size=(4, 5, D))
    y, cache = emb.forward(ids, train=True)
    yd, cd = dense.forward(onehot, train=True)
    np.testing.assert_allclose(y.reshape(-1, D), yd, rtol=1e-15)
    emb.backward(dy, cache)
    dense.backward(dy.reshape(-1, D), cd)
    np.testing.assert_allclose(emb.grads["W"], dense.grads["W"], rtol=1e-14, atol=1e-15)


def test_gradcheck_in_front_of_a_recurrent_layer_with_lengths():
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            bp.Embedding(6, 3, rng=0),
            Recurrent(GRU(3, 4, rng=1)),
            TimeDistributed(bp.Dense(4, 6, rng=2)),
        )
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 6, size=(2, 8))
    y = rng.integers(0, 6, size=(2, 8))
    result = bp.gradcheck(
        net, ids, y, loss=bp.SoftmaxCrossEntropy(), check_input=False, lengths=np.array([8, 5])
    )
    assert result.max_rel_error <= 1e-7, str(result)


def test_trains_a_sequence_classifier_from_ids_and_saves(tmp_path):
    rng = np.random.default_rng(4)
    seqs = [rng.integers(1, 5, size=rng.integers(2, 9)) for _ in range(60)]
    y = np.array([int((s == 1).any()) for s in seqs])  # does symbol 1 occur?
    net = bp.Sequential(
        bp.Embedding(5, 4, rng=0), Recurrent(GRU(4, 8, rng=1), False), bp.Dense(8, 2, rng=2)
    )
    assert net.n_in is None
    h = bp.fit(net, seqs, y, optimizer=bp.Adam(0.03), batch_size=10, epochs=30, verbose=0)
    assert h.train_accuracy[-1] > 0.9
    path = str(tmp_path / "emb.bprop")
    bp.save(net, path)
    np.testing.assert_array_equal(bp.load(path).predict(seqs), net.predict(seqs))


@pytest.mark.parametrize(
    ("ids", "message"),
    [([0, 5], r"0 … 4"), ([-1, 2], r"0 … 4"), ([0.5, 1.0], "whole-number"), (["a"], "integer")],
)
def test_bad_ids_are_refused_clearly(ids, message):
    with pytest.raises(ValueError, match=message):
        bp.Embedding(5, 2, rng=0)(np.array(ids))
