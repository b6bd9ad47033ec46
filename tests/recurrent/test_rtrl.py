"""Real-time recurrent learning: the accumulated gradient equals full BPTT on frozen weights;
online mode updates every step; the size guard."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import Elman, Recurrent, TimeDistributed
from bprop.recurrent.rtrl import RTRL, rtrl_cost, rtrl_network
from bprop.train import train_online


def bptt_gradient(net, X, T, loss, h0=None):
    net.zero_grad()
    rec = net.layers[0]
    y, caches = None, []
    y, c0 = rec.forward(X, True, initial_state=h0)
    caches.append(c0)
    for layer in net.layers[1:]:
        y, c = layer.forward(y, True)
        caches.append(c)
    value, dy = loss.value_and_grad(y, T)
    for layer, c in zip(reversed(net.layers), reversed(caches), strict=True):
        dy = layer.backward(dy, c)
    return value, net.space.grads.copy()


@pytest.mark.parametrize(
    "activation,output_activation,loss",
    [
        ("tanh", None, bp.SquaredError()),
        ("relu", "sigmoid", bp.SquaredError()),
        ("tanh", None, bp.BinaryCrossEntropy(from_logits=True, reduction="sum")),
    ],
)
def test_accumulated_rtrl_gradient_equals_full_bptt(activation, output_activation, loss):
    rng = np.random.default_rng(0)
    with bp.backend.default_dtype("float64"):
        net = rtrl_network(
            3, 5, 2, activation=activation, output_activation=output_activation, rng=1
        )
    N, T = 4, 9
    X = rng.normal(size=(N, T, 3))
    Y = rng.normal(size=(N, T, 2)) if output_activation is None else rng.random((N, T, 2))
    if isinstance(loss, bp.BinaryCrossEntropy):
        Y = (Y > 0).astype(float)
    h0 = rng.normal(size=(N, 5))
    value, g_bptt = bptt_gradient(net, X, Y, loss, h0=(h0,))
    rtrl = RTRL(net, loss=loss)
    net.zero_grad()
    total = rtrl.accumulate(X, Y, h0=h0)
    g = net.space.grads
    assert total == pytest.approx(value, rel=1e-12)
    rel = np.abs(g - g_bptt).max() / np.abs(g_bptt).max()
    assert rel <= 1e-8
    # and it adds into the gradient (+=), like every backward pass
    rtrl.accumulate(X, Y, h0=h0)
    np.testing.assert_allclose(net.space.grads, 2 * g_bptt, rtol=0, atol=1e-12)


def test_sum_of_mean_losses_is_T_times_the_sequence_mean():
    rng = np.random.default_rng(1)
    with bp.backend.default_dtype("float64"):
        net = rtrl_network(2, 4, 3, rng=2)
    X = rng.normal(size=(3, 6, 2))
    labels = rng.integers(0, 3, size=(3, 6))
    loss = bp.SoftmaxCrossEntropy()
    value, g_bptt = bptt_gradient(net, X, labels, loss)
    net.zero_grad()
    total = RTRL(net, loss=loss).accumulate(X, labels)
    assert total == pytest.approx(6 * value, rel=1e-12)
    np.testing.assert_allclose(net.space.grads, 6 * g_bptt, rtol=1e-9, atol=1e-12)


def test_step_by_step_matches_the_unrolled_outputs():
    rng = np.random.default_rng(2)
    net = rtrl_network(2, 3, 1, rng=0)
    X = rng.normal(size=(2, 5, 2)).astype(np.float32)
    rtrl = RTRL(net)
    rtrl.reset(2)
    ys = [rtrl.step(X[:, t])[0] for t in range(5)]
    np.testing.assert_allclose(np.stack(ys, 1), net.predict(X), rtol=1e-5, atol=1e-6)


def test_online_mode_changes_the_weights_every_step_and_learns():
    net = rtrl_network(1, 6, 1, rng=0)
    rtrl = RTRL(net, loss=bp.SquaredError())
    x = np.sin(np.arange(401) / 4.0)[None, :, None]
    seen = []
    rule = bp.SGD(0.05)

    class Spy(bp.UpdateRule):
        def update(self, grads, state, params, loss=None):
            seen.append(params.copy())
            return rule.update(grads, state, params, loss)

    out = train_online(rtrl, x[:, :-1], x[:, 1:], Spy())
    seen.append(net.space.params.copy())
    assert len(seen) == 401
    diffs = np.array([np.abs(b - a).max() for a, b in zip(seen[:-1], seen[1:], strict=True)])
    assert np.all(diffs > 0)  # one update per time step
    assert out.losses.shape == (400,) and out.outputs.shape == (1, 400, 1)
    assert out.losses[-50:].mean() < 0.2 * out.losses[:50].mean()
    # continuing the stream carries h and P on
    h_before = rtrl.h.copy()
    train_online(rtrl, x[:, :5], x[:, 1:6], bp.SGD(0.05), reset=False)
    assert not np.allclose(rtrl.h, h_before)


def test_online_with_frozen_rule_equals_accumulation():
    """With a zero learning rate the online pass is the frozen-weight pass: its per-step
    losses sum to the accumulated loss."""
    rng = np.random.default_rng(3)
    with bp.backend.default_dtype("float64"):
        net = rtrl_network(2, 3, 1, rng=0)
    X, Y = rng.normal(size=(1, 8, 2)), rng.normal(size=(1, 8, 1))
    rtrl = RTRL(net)
    out = train_online(rtrl, X, Y, bp.SGD(1e-300))
    net.zero_grad()
    assert out.losses.sum() == pytest.approx(rtrl.accumulate(X, Y), rel=1e-12)


def test_size_guard_and_warning():
    c = rtrl_cost(10, 100, batch=1, itemsize=8)
    assert c["n_theta"] == 100 * 10 + 100 * 100 + 100
    assert c["p_bytes"] == 8 * 100 * c["n_theta"]
    net = rtrl_network(10, 100, 1, rng=0)
    with pytest.raises(MemoryError, match=r"100 hidden units.*MiB.*memory_limit"):
        RTRL(net, memory_limit=1e6)
    with pytest.warns(UserWarning, match=r"O\(n⁴\)"):
        RTRL(net)
    small = RTRL(rtrl_network(1, 4, 1, rng=0), memory_limit=4e4)
    with pytest.raises(MemoryError, match="batch 1000"):
        small.reset(1000)


def test_bad_networks_and_input():
    with pytest.raises(TypeError, match="Elman"):
        RTRL(bp.Sequential(Recurrent(bp.recurrent.LSTM(2, 3, rng=0))))
    with pytest.raises(ValueError, match="return_sequences"):
        RTRL(bp.Sequential(Recurrent(Elman(2, 3, rng=0), return_sequences=False)))
    with pytest.raises(ValueError, match="feedforward head"):
        RTRL(bp.Sequential(Recurrent(Elman(2, 3, rng=0)), Recurrent(Elman(3, 3, rng=0))))
    rtrl = RTRL(bp.Sequential(Recurrent(Elman(2, 3, rng=0)), TimeDistributed(bp.Dense(3, 1))))
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        rtrl.accumulate(np.zeros((2, 3)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="do not match"):
        rtrl.accumulate(np.zeros((2, 3, 2)), np.zeros((2, 4, 1)))
