"""What the trainer works out once per fit instead of every epoch (issue 14, item 1): the
target classes behind the training accuracy, the compiled online path's plan, and the
buffers of the divergence snapshot. Each is checked against what it replaces."""

import numpy as np

import bprop as bp
from bprop import divergence
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
