"""Finite-difference checks (float64) of every cell's step and of whole unrolled networks."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Elman, Recurrent, TimeDistributed

TOL = 1e-6


def make_cell(name, n_in, n_hidden, seed):
    with bp.backend.default_dtype("float64"):
        if name == "elman_tanh":
            return Elman(n_in, n_hidden, rng=seed)
        if name == "elman_relu":
            return Elman(n_in, n_hidden, activation="relu", init="glorot", rng=seed)
        if name == "lstm":
            return LSTM(n_in, n_hidden, rng=seed)
        return GRU(n_in, n_hidden, rng=seed)


CELLS = ["elman_tanh", "elman_relu", "lstm", "gru"]


def eps_for(name):
    """A smaller step for ReLU, so no difference straddles its kink at 0."""
    return 1e-4 if name == "elman_relu" else 1e-3


@pytest.mark.parametrize("name", CELLS)
def test_one_step_all_paths(name):
    """The packed step [x | state] -> [new state]: weights, input and every state part."""
    cell = make_cell(name, 3, 4, seed=1)
    width = 3 + 4 * len(cell.state_names)
    x = np.random.default_rng(2).normal(size=(5, width))
    result = bp.gradcheck(cell, x, eps=eps_for(name))
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("fast", [True, False])
def test_unrolled_sequence_to_sequence_20_steps(name, fast):
    cell = make_cell(name, 3, 4, seed=3)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(Recurrent(cell, fast=fast), TimeDistributed(bp.Dense(4, 3, rng=4)))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 20, 3))
    y = rng.integers(0, 3, size=(2, 20))
    result = bp.gradcheck(net, X, y, loss=bp.SoftmaxCrossEntropy(), eps=eps_for(name))
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", CELLS)
def test_unrolled_sequence_to_one_20_steps(name):
    cell = make_cell(name, 2, 5, seed=6)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(Recurrent(cell, return_sequences=False), bp.Dense(5, 1, rng=7))
    X = np.random.default_rng(8).normal(size=(3, 20, 2))
    y = np.random.default_rng(9).normal(size=(3, 1))
    result = bp.gradcheck(net, X, y, loss=bp.MeanSquaredError(), eps=eps_for(name))
    assert result.max_rel_error <= TOL, str(result)


def test_stacked_lstm_gru_elman_20_steps():
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            Recurrent(LSTM(3, 4, rng=0)),
            Recurrent(GRU(4, 4, rng=1)),
            Recurrent(Elman(4, 3, rng=2)),
            TimeDistributed(bp.Dense(3, 2, rng=3)),
        )
    X = np.random.default_rng(4).normal(size=(2, 20, 3))
    result = bp.gradcheck(net, X)
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", ["elman_tanh", "lstm", "gru"])
@pytest.mark.parametrize("fast", [True, False])
def test_gradient_of_initial_and_final_state(name, fast):
    """∂L/∂state_0 (cache.dinitial_state) with a non-zero initial state and a gradient on the
    final state, against central differences."""
    cell = make_cell(name, 2, 3, seed=10)
    rnn = Recurrent(cell, fast=fast)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2, 20, 2))
    s0 = tuple(rng.normal(size=(2, 3)) for _ in cell.state_names)
    proj = rng.normal(size=(2, 20, 3))
    dfin = tuple(rng.normal(size=(2, 3)) for _ in cell.state_names)

    def f(state):
        y, cache = rnn.forward(X, initial_state=state)
        return float((y * proj).sum()) + sum(
            float((a * b).sum()) for a, b in zip(cache.final_state, dfin, strict=False)
        )

    _, cache = rnn.forward(X, initial_state=s0)
    rnn.backward(proj, cache, dfinal_state=dfin)
    eps = 1e-5
    for k, part in enumerate(s0):
        num = np.zeros_like(part)
        for idx in np.ndindex(part.shape):
            plus = [p.copy() for p in s0]
            minus = [p.copy() for p in s0]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num[idx] = (f(tuple(plus)) - f(tuple(minus))) / (2 * eps)
        ana = cache.dinitial_state[k]
        rel = np.abs(ana - num) / np.maximum(np.maximum(np.abs(ana), np.abs(num)), 1e-5)
        assert rel.max() <= TOL
