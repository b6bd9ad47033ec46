"""What the trainer works out once per fit instead of every epoch (issue 14, item 1): the
target classes behind the training accuracy, the compiled online path's plan, and the
buffers of the divergence snapshot. Each is checked against what it replaces."""

import numpy as np
import pytest

import bprop as bp
from bprop import divergence, ops
from bprop.train import online_fast
from bprop.train.sources import count_correct, target_classes


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return X, rng.integers(0, 3, size=n)


def _fit(y, schedule, epochs=6):
    X, _ = _data()
    with bp.backend.default_dtype(np.float64):
        net = bp.mlp([5, 7, 3], activation="tanh", seed=1)
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.SGD(0.1), schedule=schedule, verbose=0)
    return trainer.fit(X, y, epochs=epochs), net.space.params.copy()


def test_one_hot_targets_count_the_same_accuracy_as_their_labels():
    _, labels = _data()
    one_hot = np.eye(3)[labels]
    for schedule in ("batch", bp.MiniBatch(16)):
        h_labels, w_labels = _fit(labels, schedule)
        h_rows, w_rows = _fit(one_hot, schedule)
        np.testing.assert_allclose(w_rows, w_labels, rtol=1e-12, atol=1e-14)
        assert h_rows.train_accuracy == h_labels.train_accuracy
        assert all(0 < a <= 1 for a in h_rows.train_accuracy)


def test_target_classes_give_the_same_counts_as_the_targets():
    rng = np.random.default_rng(2)
    out = rng.normal(size=(40, 4))
    rows = np.eye(4)[rng.integers(0, 4, 40)]
    multi = (rng.random((40, 4)) < 0.4).astype(float)  # several 1s: arg-max = the first
    single = (rng.random((40, 1)) < 0.5).astype(float)
    for targets, o in ((rows, out), (multi, out), (single, out[:, :1]), (rows.argmax(1), out)):
        expected = (
            (o[:, 0] > 0.1) == (targets[:, 0] > 0.5)
            if targets.ndim == 2 and targets.shape[1] == 1
            else o.argmax(1) == (targets if targets.ndim == 1 else targets.argmax(1))
        )
        got = count_correct(o, targets, 0.1, target_classes(targets))
        assert got == count_correct(o, targets, 0.1) == (int(expected.sum()), 40)


def test_the_online_plan_is_probed_once_per_fit(monkeypatch):
    calls = []
    real = online_fast.supports

    def counting(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(online_fast, "supports", counting)
    X, y = _data()
    net = bp.mlp([5, 7, 3], activation="tanh", seed=1)
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.SGD(0.1), schedule="online", verbose=0)
    trainer.fit(X, y, epochs=5)
    assert len(calls) == 1
    trainer.fit(X, y, epochs=3)
    assert len(calls) == 2


def test_copy_state_into_an_old_copy_reuses_its_arrays():
    state = {"step": np.arange(4.0), "sign": np.ones(4, np.int8), "loss": 2.5, "t": None}
    old = divergence.copy_state(state)
    state["step"] += 1
    state["loss"] = 3.0
    new = divergence.copy_state(state, old)
    assert new["step"] is old["step"] and new["sign"] is old["sign"]
    np.testing.assert_array_equal(new["step"], state["step"])
    assert new["step"] is not state["step"] and new["loss"] == 3.0 and new["t"] is None
    state["step"] = np.zeros(6)  # another shape: a fresh copy
    assert divergence.copy_state(state, new)["step"].shape == (6,)


def _accuracy_at(net, X, y):
    """Accuracy of ``net``'s arg-max (the first of equal maxima) on labels ``y``."""
    return float(np.mean(net.predict(X).argmax(axis=1) == y))


@pytest.mark.parametrize("kernel", ["fused", "reference"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_losss_arg_max_counts_the_same_accuracy_as_the_outputs(monkeypatch, kernel, dtype):
    # the training accuracy now comes from the loss's own arg-max (bprop.ops op
    # softmax_cross_entropy); full batch, so epoch k's accuracy is that of the weights it
    # started from. Zero weights make every logit equal: the prediction is class 0, as argmax
    if kernel == "reference":
        twin = ops.fused.TWINS["softmax_cross_entropy"]
        monkeypatch.setitem(ops.fused.TWINS, "softmax_cross_entropy", (None, twin[1]))
    else:
        pytest.importorskip("numba")
    X, y = _data(90)
    Xv, yv = _data(40, seed=3)
    with bp.backend.default_dtype(dtype):
        net = bp.mlp([5, 7, 3], activation="tanh", seed=1)
    net.space.params[...] = 0
    trainer = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.Adam(0.05), "batch", verbose=0)
    expected, val_expected = [], []
    for _ in range(5):
        expected.append(_accuracy_at(net, X, y))
        trainer.fit(X, y, epochs=1, validation_data=(Xv, np.eye(3)[yv]))  # rows: arg-max
        val_expected.append(_accuracy_at(net, Xv, yv))
    assert expected[0] == np.mean(y == 0) and len(set(expected)) > 1  # learning changed them
    assert trainer.history.train_accuracy == expected
    assert trainer.history.val_accuracy == val_expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_is_the_element_wise_test(dtype):
    rng = np.random.default_rng(4)
    big = np.finfo(dtype).max / 4  # Σ w² overflows: the exact test decides
    for w in (rng.normal(size=300), np.full(50, big), np.zeros(0)):
        w = w.astype(dtype)
        assert divergence.all_finite(w)
        for bad in (np.nan, np.inf, -np.inf):
            if w.size:
                v = w.copy()
                v[len(v) // 2] = bad
                assert not divergence.all_finite(v)
