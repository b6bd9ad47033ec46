"""Truncated BPTT(k1, k2) (Williams & Peng 1990) and the stream trainer."""

import copy

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Recurrent, TimeDistributed, tbptt_updates
from bprop.recurrent.truncated import stream_loss
from bprop.train import fit_stream


def net64():
    with bp.backend.default_dtype("float64"):
        return bp.Sequential(
            Recurrent(LSTM(3, 5, rng=0)),
            Recurrent(GRU(5, 4, rng=1)),
            TimeDistributed(bp.Dense(4, 2, rng=2)),
        )


def data(T=12):
    rng = np.random.default_rng(0)
    return rng.normal(size=(2, T, 3)), rng.integers(0, 2, size=(2, T))


def full_bptt(net, loss, X, Y):
    space = net.space
    space.grads.fill(0)
    out, cache = net.forward(X, train=True)
    value, dy = loss.value_and_grad(out, Y)
    net.backward(dy, cache, need_dx=False)
    return value, space.grads.copy()


@pytest.fixture(params=[320, 4], ids=["one-block", "blocks-of-2-steps"])
def block_columns(request, monkeypatch):
    """The fast backward pass's gradient blocks (workspace.BACKWARD_BLOCK_COLUMNS): the default
    (one block here) and 2-step blocks, so that stop_at falls inside and across blocks."""
    monkeypatch.setattr("bprop.recurrent.workspace.BACKWARD_BLOCK_COLUMNS", request.param)
    return request.param


@pytest.mark.parametrize("k1,k2", [(12, 12), (20, 20), (12, 30)])
def test_k_at_least_T_equals_full_bptt_exactly(k1, k2, block_columns):
    net, loss = net64(), bp.SoftmaxCrossEntropy()
    X, Y = data()
    value, full = full_bptt(net, loss, X, Y)
    updates = list(tbptt_updates(net, loss, X, Y, k1, k2))
    assert len(updates) == 1 and updates[0] == (value, 12)
    np.testing.assert_array_equal(net.space.grads, full)


@pytest.mark.parametrize("k1,k2", [(4, 4), (3, 6)])
def test_k_below_T_differs_from_full_bptt(k1, k2):
    net, loss = net64(), bp.SoftmaxCrossEntropy()
    X, Y = data()
    _, full = full_bptt(net, loss, X, Y)
    total = np.zeros_like(full)
    for _ in tbptt_updates(net, loss, X, Y, k1, k2):
        total += net.space.grads
    # the sum of the truncated chunk gradients is not the full gradient
    assert np.abs(total * k1 / 12 - full).max() > 1e-3


@pytest.mark.parametrize("k1,k2", [(4, 4), (4, 10), (3, 7), (5, 5)])
def test_each_update_is_the_gradient_truncated_k2_steps_back(k1, k2, block_columns):
    """With the weights fixed, the chunk ending at e has the gradient of its own loss run from
    the (detached) state at e − k2: the definition of BPTT(k1, k2)."""
    net, loss = net64(), bp.SoftmaxCrossEntropy()
    X, Y = data()
    ref = copy.deepcopy(net)  # not stateful: the generator makes `net`'s layers stateful
    r1, r2, head = ref.layers
    for m, _ in enumerate(tbptt_updates(net, loss, X, Y, k1, k2)):
        got = net.space.grads.copy()
        s, e = m * k1, min(m * k1 + k1, 12)
        w = max(0, e - k2)
        states = [None, None]
        if w > 0:
            _, c = ref.forward(X[:, :w])
            states = [c[0].final_state, c[1].final_state]
        ref.space.grads.fill(0)
        y1, c1 = r1.forward(X[:, w:e], True, initial_state=states[0])
        y2, c2 = r2.forward(y1, True, initial_state=states[1])
        out, c3 = head.forward(y2, True)
        dy = np.zeros_like(out)
        _, dy[:, s - w :] = loss.value_and_grad(out[:, s - w :], Y[:, s:e])
        r1.backward(r2.backward(head.backward(dy, c3), c2), c1)
        np.testing.assert_allclose(got, ref.space.grads, rtol=0, atol=1e-14)


def test_k2_below_k1_and_short_streams_are_clear_errors():
    net = bp.Sequential(Recurrent(LSTM(4, 8, rng=0)), TimeDistributed(bp.Dense(8, 4, rng=1)))
    ids = np.arange(40) % 4
    with pytest.raises(ValueError, match="k2 = 2 < k1 = 5"):
        list(tbptt_updates(net, bp.SoftmaxCrossEntropy(), ids[None, :-1], ids[None, 1:], 5, 2))
    with pytest.raises(ValueError, match="shorter than one window"):
        fit_stream(net, ids[:-1], ids[1:], k1=10, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="fewer than batch_size"):
        fit_stream(net, ids[:5], ids[1:6], k1=1, batch_size=8, verbose=0)


def test_fit_stream_learns_a_periodic_stream_and_restores_state():
    ids = np.tile(np.array([0, 1, 2, 3, 2, 1]), 200)
    rnn = Recurrent(LSTM(4, 16, rng=0))
    net = bp.Sequential(rnn, TimeDistributed(bp.Dense(16, 4, rng=1)))
    before = stream_loss(net, ids[:-1], ids[1:], batch_size=4)
    hist = fit_stream(
        net,
        ids[:-1],
        ids[1:],
        k1=8,
        k2=16,
        batch_size=8,
        epochs=6,
        optimizer=bp.optim.Adam(0.02),
        clip_norm=5.0,
        validation=(ids[:-1], ids[1:]),
        verbose=0,
    )
    after = stream_loss(net, ids[:-1], ids[1:], batch_size=4)
    assert after < 0.05 < before
    assert hist.val_loss[-1] == pytest.approx(stream_loss(net, ids[:-1], ids[1:], batch_size=8))
    assert hist.epochs == 6 and hist.updates == 6 * int(np.ceil((1199 // 8) / 8))
    assert rnn.stateful is False


def test_memory_is_bounded_by_k2():
    """Only the chunks that the next update can reach stay alive."""
    import gc
    import weakref

    from bprop.recurrent.unroll import SequenceCache

    net = bp.Sequential(Recurrent(LSTM(4, 8, rng=0)), TimeDistributed(bp.Dense(8, 4, rng=1)))
    ids = np.arange(80) % 4
    refs = []
    orig = SequenceCache.__init__

    def track(self, *a, **k):
        orig(self, *a, **k)
        refs.append(weakref.ref(self))

    SequenceCache.__init__ = track
    try:
        gen = tbptt_updates(net, bp.SoftmaxCrossEntropy(), ids[None, :-1], ids[None, 1:], 5, 12)
        for _ in gen:
            gc.collect()
            alive = sum(r() is not None for r in refs)
            assert alive <= 4  # ⌈12/5⌉ + 1 chunks at most
    finally:
        SequenceCache.__init__ = orig


def test_truncation_reaches_the_unroller_as_arguments_not_through_the_cache():
    """The stored chunks are backpropagated with explicit dfinal_state/stop_at arguments:
    no truncation setting is written into a cache that a later backward could pick up."""
    from bprop.recurrent.unroll import SequenceCache

    net = net64()
    X, Y = data()
    caches = []
    orig = SequenceCache.__init__

    def track(self, *a, **k):
        orig(self, *a, **k)
        caches.append(self)

    SequenceCache.__init__ = track
    try:
        for _ in tbptt_updates(net, bp.SoftmaxCrossEntropy(), X, Y, 3, 7):
            pass
    finally:
        SequenceCache.__init__ = orig
    assert caches and not any(hasattr(c, "dfinal_state") or hasattr(c, "stop_at") for c in caches)
