"""The compiled online path against the plain NumPy path (the reference)."""

import numpy as np
import pytest

import bprop as bp
from bprop import ops
from bprop.train import online_fast

pytest.importorskip("numba")

rng = np.random.default_rng(3)
X = rng.normal(size=(200, 6))
LABELS = rng.integers(0, 3, size=200)
TARGETS = rng.random((200, 2))
BINARY = rng.integers(0, 2, size=200)

NETS = {
    "tanh": lambda: [bp.Dense(6, 7, rng=0), bp.Tanh(), bp.Dense(7, 3, rng=1)],
    "sigmoid_relu": lambda: [
        bp.Dense(6, 7, rng=0),
        bp.Sigmoid(),
        bp.Dense(7, 5, rng=2),
        bp.ReLU(),
        bp.Dense(5, 3, rng=1),
    ],
    "leaky_identity": lambda: [
        bp.Dense(6, 4, rng=0),
        bp.LeakyReLU(0.2),
        bp.Dense(4, 3, rng=1),
        bp.Identity(),
    ],
}
CASES = [
    ("tanh", bp.SoftmaxCrossEntropy(), LABELS, bp.SGD(0.05)),
    ("sigmoid_relu", bp.SoftmaxCrossEntropy("sum"), LABELS, bp.SGD(0.05, momentum=0.9)),
    ("leaky_identity", bp.SoftmaxCrossEntropy(), LABELS, bp.SGD(0.05, 0.9, nesterov=True)),
    ("tanh", bp.SquaredError(), LABELS, bp.SGD(0.05, momentum=0.5)),
    ("tanh", bp.MeanSquaredError(), LABELS, bp.SGD(0.05)),
    ("tanh", bp.BinaryCrossEntropy(from_logits=True), LABELS, bp.SGD(0.05)),
]


def run(net_name, loss, y, rule, fast, dtype, l2=0.0, sigmoid_out=False):
    with bp.backend.default_dtype(dtype):
        layers = NETS[net_name]()
        if sigmoid_out:
            layers.append(bp.Sigmoid())
        net = bp.Sequential(*layers)
    trainer = bp.Trainer(
        net, loss, type(rule)(**rule.get_config()), "online", l2=l2, seed=4, verbose=0, fast=fast
    )
    hist = trainer.fit(X, y, epochs=2)
    return trainer, net.space.params.copy(), hist


@pytest.mark.parametrize("case", range(len(CASES)))
def test_fast_path_equals_numpy_path_float64(case):
    net_name, loss, y, rule = CASES[case]
    t_fast, p_fast, h_fast = run(net_name, loss, y, rule, True, "float64", l2=1e-3)
    t_ref, p_ref, h_ref = run(net_name, loss, y, rule, False, "float64", l2=1e-3)
    assert online_fast.supports(t_fast, t_fast.prepare(X, y)[0], t_fast.prepare(X, y)[1])
    np.testing.assert_allclose(p_fast, p_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_fast.train_loss, h_ref.train_loss, rtol=1e-9)
    assert h_fast.train_accuracy == h_ref.train_accuracy


def test_fast_path_float32_and_probability_outputs():
    for loss in (bp.BinaryCrossEntropy(), bp.SquaredError()):
        _, p_fast, h_fast = run(
            "tanh", loss, np.eye(3)[LABELS], bp.SGD(0.05), True, "float32", sigmoid_out=True
        )
        _, p_ref, h_ref = run(
            "tanh", loss, np.eye(3)[LABELS], bp.SGD(0.05), False, "float32", sigmoid_out=True
        )
        assert p_fast.dtype == np.float32
        np.testing.assert_allclose(p_fast, p_ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(h_fast.train_loss, h_ref.train_loss, rtol=1e-4)


def test_unsupported_configurations_fall_back():
    net = bp.Sequential(bp.Dense(6, 3, rng=0), bp.Dropout(0.1, rng=0), bp.Dense(3, 3, rng=1))
    tr = bp.Trainer(net, bp.SoftmaxCrossEntropy(), bp.SGD(0.1), "online", verbose=0)
    assert not online_fast.supports(tr, *tr.prepare(X, LABELS))
    tr = bp.Trainer(
        bp.mlp([6, 3, 3]), bp.SoftmaxCrossEntropy(), bp.SGD(0.1), "minibatch", verbose=0
    )
    assert not online_fast.supports(tr, *tr.prepare(X, LABELS))


REFERENCE_CASES = CASES + [("tanh", bp.BinaryCrossEntropy(), np.eye(3)[LABELS], bp.SGD(0.05))]


# L2 off only in float64: the loops are the same in both dtypes, and without L2's damping
# Nesterov(0.9) on the leaky net amplifies float32 round-off past any useful tolerance
# (the kernel before the specialised loops did the same)
@pytest.mark.parametrize(("dtype", "l2"), [("float64", 1e-3), ("float32", 1e-3), ("float64", 0.0)])
@pytest.mark.parametrize("case", range(len(REFERENCE_CASES)))
def test_online_epoch_twin_equals_its_reference(case, dtype, l2, monkeypatch):
    # the op table's readable online_epoch (bprop.ops.online) against its compiled twin, both
    # run by the trainer's fast path on the same net, data and rule, with L2 on and off:
    # between them the cases take every activation, loss and rule (SGD, momentum, Nesterov)
    # of the twin's specialised loops, in both dtypes (float32: the rational tanh)
    net_name, loss, y, rule = REFERENCE_CASES[case]
    sig = case == len(REFERENCE_CASES) - 1  # probabilities out of a Sigmoid for plain BCE
    t_fused, p_fused, h_fused = run(net_name, loss, y, rule, True, dtype, l2, sig)
    assert online_fast.supports(t_fused, *t_fused.prepare(X, y))
    twin, dtypes = ops.fused.TWINS["online_epoch"]
    calls = []

    def reference(*args):
        calls.append(1)
        return ops.REFERENCE["online_epoch"](*args)

    monkeypatch.setitem(ops.fused.TWINS, "online_epoch", (reference, dtypes))
    _, p_ref, h_ref = run(net_name, loss, y, rule, True, dtype, l2, sig)
    assert len(calls) == 2  # one per epoch: the reference did the training
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p_ref, p_fused, **tol)
    np.testing.assert_allclose(h_ref.train_loss, h_fused.train_loss, rtol=tol["rtol"])
    if dtype == "float64":
        assert h_ref.train_accuracy == h_fused.train_accuracy


@pytest.mark.parametrize(("rule", "l2"), [(bp.SGD(0.05), 0.0), (bp.SGD(0.05, momentum=0.5), 1e-3)])
def test_single_layer_net_fast_equals_numpy_path(rule, l2):
    # one Dense layer (online logistic regression): the compiled loop's per-layer views are
    # tuples of one, a type of their own; plain SGD and momentum with L2
    def fit(fast):
        with bp.backend.default_dtype("float64"):
            net = bp.Sequential(bp.Dense(6, 3, rng=0))
        rule_ = type(rule)(**rule.get_config())
        tr = bp.Trainer(
            net, bp.SoftmaxCrossEntropy(), rule_, "online", l2=l2, seed=4, verbose=0, fast=fast
        )
        assert online_fast.supports(tr, *tr.prepare(X, LABELS))  # fast=False: NumPy path
        return net.space.params.copy(), tr.fit(X, LABELS, epochs=2)

    (p_fast, h_fast), (p_ref, h_ref) = fit(True), fit(False)
    np.testing.assert_allclose(p_fast, p_ref, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_fast.train_loss, h_ref.train_loss, rtol=1e-9)
