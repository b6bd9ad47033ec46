"""The fast path's reusable workspaces (bprop.recurrent.workspace.Workspace): buffers are
reused only once nothing refers to the forward pass that filled them — neither its cache nor
the outputs it handed out (or views of them) — and a reused workspace computes what a fresh
one does."""

import gc

import numpy as np
import pytest

from bprop.recurrent import GRU, LSTM, Elman, Recurrent
from bprop.recurrent.workspace import _KEEP_FREE, _WORKSPACES, Workspace


def make(kind):
    return {"elman": Elman, "lstm": LSTM, "gru": GRU}[kind](3, 5, rng=0)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_live_caches_keep_their_own_workspaces(kind):
    rng = np.random.default_rng(0)
    cell = make(kind)
    rnn = Recurrent(cell)
    X1, X2 = rng.normal(size=(2, 2, 7, 3))
    dy = rng.normal(size=(2, 7, 5))
    # the gradient of X1 alone, from a fresh forward pass
    y1, c1 = rnn.forward(X1, train=True)
    cell.zero_grad()
    rnn.backward(dy, c1)
    expected = {k: v.copy() for k, v in cell.grads.items()}
    y1_copy = y1.copy()
    state1 = tuple(s.copy() for s in c1.final_state)
    # a second forward of the same shape while c1 is alive must not overwrite c1's buffers
    y2, c2 = rnn.forward(X2, train=True)
    assert c2.ws is not c1.ws
    cell.zero_grad()
    rnn.backward(dy, c1)
    for k, v in expected.items():
        np.testing.assert_array_equal(cell.grads[k], v)
    np.testing.assert_array_equal(y1, y1_copy)
    for a, b in zip(c1.final_state, state1, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["elman", "lstm", "gru"])
def test_workspace_reused_only_when_its_cache_and_outputs_are_gone(kind):
    rng = np.random.default_rng(1)
    cell = make(kind)
    rnn = Recurrent(cell)
    X1, X2, X3 = rng.normal(size=(3, 4, 6, 3))
    y1, c1 = rnn.forward(X1, train=True)
    rnn.backward(rng.normal(size=y1.shape), c1)
    ws1, y1_copy, dinit1 = c1.ws, y1.copy(), c1.dinitial_state
    d1 = tuple(d.copy() for d in dinit1)
    del c1
    gc.collect()
    # the caller still holds the outputs (here a view of them): not reused, not overwritten
    view = y1[:, 2:]
    del y1
    y2, c2 = rnn.forward(X2, train=True)
    assert c2.ws is not ws1
    np.testing.assert_array_equal(view, y1_copy[:, 2:])
    del view, y2, c2
    gc.collect()
    # nothing refers to the first pass any more: its buffers are reused
    y3, c3 = rnn.forward(X3, train=True)
    assert c3.ws is ws1
    rnn.backward(rng.normal(size=y3.shape), c3)
    for a, b in zip(dinit1, d1, strict=True):  # gradients handed out earlier are copies
        np.testing.assert_array_equal(a, b)
    # and the reused buffers give the same result as fresh ones
    fresh = Recurrent(make(kind))
    np.testing.assert_allclose(fresh.forward(X3)[0], y3, rtol=0, atol=1e-15)


def test_another_shape_gets_its_own_workspace_and_idle_ones_are_bounded():
    rnn = Recurrent(LSTM(3, 4, rng=0))
    rng = np.random.default_rng(2)
    for T in (5, 6, 7, 8, 5, 6, 7, 8):
        y, cache = rnn.forward(rng.normal(size=(2, T, 3)), train=True)
        assert cache.ws.T == T
        del y, cache
    assert len(_WORKSPACES[rnn.cell]) <= _KEEP_FREE
    assert isinstance(next(iter(_WORKSPACES[rnn.cell]))[1], Workspace)
