"""bprop.layout: flattening (N, T, F) sequences into rows in memory order, and the layers and
losses that use it giving the same results whatever the layout of their input."""

import numpy as np
import pytest

import bprop as bp
from bprop.layout import rows, rows_like, unrows
from bprop.recurrent import LSTM, Recurrent, TimeDistributed

N, T, F = 3, 4, 5


def layouts():
    """The same (N, T, F) values held example-major, time-major, feature-major (as the
    recurrent fast path hands them out) and strided (neither order is a view)."""
    x = np.random.default_rng(0).normal(size=(N, T, F))
    return {
        "example-major": x.copy(),
        "time-major": np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2),
        "feature-major": np.ascontiguousarray(x.transpose(2, 1, 0)).transpose(2, 1, 0),
        "strided": np.concatenate([x, x[:, :1]], axis=1)[:, :T],
    }


@pytest.mark.parametrize("name", list(layouts()))
def test_rows_round_trip_and_view_when_possible(name):
    x = layouts()[name]
    r, time_major = rows(x)
    assert r.shape == (N * T, F)
    assert time_major == (name in ("time-major", "feature-major"))
    assert np.shares_memory(r, x) == (name != "strided")
    np.testing.assert_array_equal(unrows(r, N, T, time_major), x)
    if time_major:
        pairs = [(n, t) for t in range(T) for n in range(N)]
    else:
        pairs = [(n, t) for n in range(N) for t in range(T)]
    np.testing.assert_array_equal(r, [x[n, t] for n, t in pairs])
    labels = np.arange(N * T).reshape(N, T)
    np.testing.assert_array_equal(rows_like(labels, time_major), [labels[n, t] for n, t in pairs])


@pytest.mark.parametrize("name", list(layouts()))
def test_time_distributed_and_loss_do_not_depend_on_the_layout(name):
    x = layouts()[name]
    labels = np.random.default_rng(1).integers(0, 2, size=(N, T))
    results = []
    for inp in (layouts()["example-major"], x):
        with bp.backend.default_dtype("float64"):
            td = TimeDistributed(bp.Dense(F, 2, rng=0))
        y, cache = td.forward(inp, train=True)
        loss, dy = bp.SoftmaxCrossEntropy().value_and_grad(y, labels)
        dx = td.backward(dy, cache)
        results.append((y, loss, dy, dx, td.grads["W"].copy(), td.grads["b"].copy()))
    (y0, l0, dy0, dx0, w0, b0), (y1, l1, dy1, dx1, w1, b1) = results
    for a, b in ((y1, y0), (dy1, dy0), (dx1, dx0), (w1, w0), (b1, b0)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    assert l1 == pytest.approx(l0, rel=1e-14)


def test_recurrent_outputs_are_time_major_views_that_flow_without_copies():
    rnn = Recurrent(LSTM(F, 6, rng=0))
    y, _ = rnn.forward(np.ones((N, T, F), np.float32), train=True)
    assert y.shape == (N, T, 6) and not y.flags.c_contiguous
    r, time_major = rows(y)
    assert time_major and np.shares_memory(r, y)
