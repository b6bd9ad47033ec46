"""The identities that tie the schedules together (DESIGN.md types 2-4)."""

import numpy as np
import pytest

import bprop as bp

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 4))
Y = rng.integers(0, 3, size=12)


def make_net():
    with bp.backend.default_dtype("float64"):
        return bp.Sequential(bp.Dense(4, 5, rng=1), bp.Tanh(), bp.Dense(5, 3, rng=2))


def batch_grad(net, loss, x, y):
    net.zero_grad()
    out, cache = net.forward(x, train=True)
    _, dy = loss.value_and_grad(out, y)
    net.backward(dy, cache)
    return net.space.grads.copy()


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_batch_gradient_is_sum_or_mean_of_per_example_gradients(reduction):
    net, loss = make_net(), bp.SoftmaxCrossEntropy(reduction)
    full = batch_grad(net, loss, X, Y)
    per = np.array([batch_grad(net, loss, X[i : i + 1], Y[i : i + 1]) for i in range(12)])
    expected = per.sum(0) if reduction == "sum" else per.mean(0)
    np.testing.assert_allclose(full, expected, rtol=1e-12, atol=1e-15)


def test_minibatch_of_size_n_equals_batch():
    a, b = make_net(), make_net()
    bp.fit(a, X, Y, optimizer=bp.SGD(0.3, momentum=0.5), schedule="batch", epochs=7, verbose=0)
    bp.fit(
        b,
        X,
        Y,
        optimizer=bp.SGD(0.3, momentum=0.5),
        schedule=bp.MiniBatch(12),
        epochs=7,
        verbose=0,
        seed=5,
    )
    np.testing.assert_array_equal(a.space.params, b.space.params)


@pytest.mark.parametrize("fast", [False, True])
def test_online_epoch_equals_sequential_batch_of_one_updates(fast):
    a, b = make_net(), make_net()
    trainer = bp.Trainer(
        a, bp.SoftmaxCrossEntropy(), bp.SGD(0.1), bp.Online(shuffle=False), verbose=0, fast=fast
    )
    trainer.fit(X, Y, epochs=1)
    loss = bp.SoftmaxCrossEntropy()
    for i in range(12):  # by hand: gradient of one example, then w ← w − η g
        g = batch_grad(b, loss, X[i : i + 1], Y[i : i + 1])
        b.space.params -= 0.1 * g
    np.testing.assert_allclose(a.space.params, b.space.params, rtol=1e-12, atol=1e-14)


def test_seeded_shuffles_reproduce_and_differ_between_seeds():
    runs = {}
    for seed in (1, 1, 2):
        net = make_net()
        bp.fit(net, X, Y, optimizer=bp.SGD(0.1), batch_size=4, epochs=3, seed=seed, verbose=0)
        runs.setdefault(seed, []).append(net.space.params.copy())
    np.testing.assert_array_equal(runs[1][0], runs[1][1])
    assert not np.allclose(runs[1][0], runs[2][0])
