"""The published cell variants: the LSTM with peepholes (Gers, Schraudolph & Schmidhuber 2002)
and the GRU with the reset gate before the recurrent product (Cho et al. 2014). Finite
differences through 20 steps, the fast path against the reference step, the equations by hand,
saving and loading, and that each reduces to its plain cell where it should."""

import copy

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, GRUResetBefore, PeepholeLSTM, Recurrent, TimeDistributed

TOL = 1e-6
VARIANTS = ["peephole", "reset_before"]


def make(name, n_in, n_hidden, seed, dtype="float64", **kw):
    with bp.backend.default_dtype(dtype):
        if name == "peephole":
            return PeepholeLSTM(n_in, n_hidden, rng=seed, **kw)
        return GRU(n_in, n_hidden, reset_after=False, rng=seed, **kw)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("name", VARIANTS)
def test_one_step_all_paths(name):
    cell = make(name, 3, 4, seed=1)
    x = np.random.default_rng(2).normal(size=(5, 3 + 4 * len(cell.state_names)))
    result = bp.gradcheck(cell, x)
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("fast", [True, False])
def test_unrolled_20_steps(name, fast):
    cell = make(name, 3, 4, seed=3)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(Recurrent(cell, fast=fast), TimeDistributed(bp.Dense(4, 3, rng=4)))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2, 20, 3))
    y = rng.integers(0, 3, size=(2, 20))
    result = bp.gradcheck(net, X, y, loss=bp.SoftmaxCrossEntropy())
    assert result.max_rel_error <= TOL, str(result)


@pytest.fixture(params=[320, 4], ids=["one-block", "blocks-of-2-steps"])
def block_columns(request, monkeypatch):
    monkeypatch.setattr("bprop.recurrent.workspace.BACKWARD_BLOCK_COLUMNS", request.param)
    return request.param


def run(cell, fast, X, dy, s0, dfin, stop_at=None):
    rnn = Recurrent(cell, fast=fast, record_grad_norms=True)
    cell.zero_grad()
    y, cache = rnn.forward(X, train=True, initial_state=s0)
    kw = {} if stop_at is None else {"stop_at": stop_at}
    dx = rnn.backward(dy, cache, need_dx=True, dfinal_state=dfin, **kw)
    return y, cache, dx, {k: v.copy() for k, v in cell.grads.items()}


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("stop_at", [0, 4])
def test_fast_path_equals_reference_path(name, dtype, tol, stop_at, block_columns, step_product):
    rng = np.random.default_rng(1)
    cell = make(name, 4, 6, seed=0, dtype=dtype)
    N, T = 3, 9
    X = rng.normal(size=(N, T, 4)).astype(dtype)
    dy = rng.normal(size=(N, T, 6)).astype(dtype)
    s0 = tuple(rng.normal(size=(N, 6)).astype(dtype) for _ in cell.state_names)
    dfin = tuple(rng.normal(size=(N, 6)).astype(dtype) for _ in cell.state_names)
    ref = run(cell, False, X, dy, s0, dfin, stop_at)
    fast = run(cell, True, X, dy, s0, dfin, stop_at)

    def close(a, b):
        np.testing.assert_allclose(a, b, atol=tol * max(1.0, float(np.abs(b).max())), rtol=0)

    close(fast[0], ref[0])
    close(fast[2], ref[2])
    for k in ref[3]:
        close(fast[3][k], ref[3][k])
    for a, b in zip(fast[1].dinitial_state, ref[1].dinitial_state, strict=True):
        close(a, b)
    np.testing.assert_allclose(fast[1].grad_norms, ref[1].grad_norms, rtol=1e-4)


def test_peephole_step_is_the_published_equations():
    cell = make("peephole", 2, 3, seed=0)
    rng = np.random.default_rng(0)
    x, h, c = rng.normal(size=(4, 2)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    p = cell.params
    a = x @ p["W_ih"].T + h @ p["W_hh"].T + p["b"]
    pi, pf, po = p["p"][:3], p["p"][3:6], p["p"][6:]
    i, f = sigmoid(a[:, :3] + pi * c), sigmoid(a[:, 3:6] + pf * c)
    c_new = f * c + i * np.tanh(a[:, 6:9])
    h_new = sigmoid(a[:, 9:] + po * c_new) * np.tanh(c_new)
    for fast in (False, True):
        y, cache = Recurrent(cell, fast=fast).forward(x[:, None], initial_state=(h, c))
        np.testing.assert_allclose(y[:, 0], h_new, rtol=1e-12)
        np.testing.assert_allclose(cache.final_state[1], c_new, rtol=1e-12)


def test_reset_before_step_is_the_published_equations():
    cell = make("reset_before", 2, 3, seed=0)
    rng = np.random.default_rng(0)
    cell.params["b_hh"][...] = rng.normal(size=9)
    x, h = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    W, U, bw, bu = (cell.params[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh"))
    r = sigmoid(x @ W[:3].T + bw[:3] + h @ U[:3].T + bu[:3])
    z = sigmoid(x @ W[3:6].T + bw[3:6] + h @ U[3:6].T + bu[3:6])
    n = np.tanh(x @ W[6:].T + bw[6:] + (r * h) @ U[6:].T + bu[6:])
    for fast in (False, True):
        y = Recurrent(cell, fast=fast).forward(x[:, None], initial_state=h)[0]
        np.testing.assert_allclose(y[:, 0], (1 - z) * n + z * h, rtol=1e-12)


def test_variants_reduce_to_the_plain_cells():
    """Zero peepholes give the plain LSTM; with h_{t-1} = 0 both GRU placements agree."""
    X = np.random.default_rng(0).normal(size=(2, 7, 3))
    with bp.backend.default_dtype("float64"):
        plain, after = LSTM(3, 4, rng=9), GRU(3, 4, rng=9)
    peep = make("peephole", 3, 4, seed=0)
    peep.params["p"][...] = 0
    for k in ("W_ih", "W_hh", "b"):
        plain.params[k][...] = peep.params[k]
    np.testing.assert_allclose(Recurrent(peep)(X), Recurrent(plain)(X), rtol=1e-12)
    before = make("reset_before", 3, 4, seed=1)
    for k in after.params:
        after.params[k][...] = before.params[k]
    one = X[:, :1]
    np.testing.assert_allclose(Recurrent(before)(one), Recurrent(after)(one), rtol=1e-12)
    assert not np.allclose(Recurrent(before)(X), Recurrent(after)(X))


@pytest.mark.parametrize("name", VARIANTS)
def test_save_and_load_round_trip(name, tmp_path):
    cell = make(name, 3, 4, seed=0, dtype="float32")
    net = bp.Sequential(Recurrent(cell, return_sequences=False), bp.Dense(4, 2, rng=2))
    X = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    bp.save(net, tmp_path / "rnn.bprop")
    loaded = bp.load(tmp_path / "rnn.bprop")
    assert type(loaded.layers[0].cell) is type(cell)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


def test_gru_reset_after_chooses_the_class_and_bad_values_are_clear_errors():
    assert type(GRU(2, 3, rng=0)) is GRU
    assert type(GRU(2, 3, reset_after=True, rng=0)) is GRU
    assert type(GRUResetBefore(2, 3, rng=0)) is GRUResetBefore
    with pytest.raises(ValueError, match="reset_after=False"):
        GRUResetBefore(2, 3, reset_after=True)
    with pytest.raises(ValueError, match=r"p \(peepholes"):
        PeepholeLSTM(2, 3, p=np.zeros(4))


@pytest.mark.parametrize("name", VARIANTS)
def test_make_cell_and_declared_shapes(name):
    from bprop.recurrent import make_cell

    kind = {"peephole": "PeepholeLSTM", "reset_before": "GRUResetBefore"}[name]
    cell = make_cell(kind.lower(), 3, 4, rng=0)
    assert type(cell).__name__ == kind
    params, _ = type(cell).declared_shapes(cell.get_config())
    assert params == {k: tuple(v.shape) for k, v in cell.params.items()}


def test_pytorch_weights_load_only_where_the_cell_computes_the_same():
    """nn.LSTM has no peepholes (they load as zero); nn.GRU resets after the product."""
    rng = np.random.default_rng(0)
    peep = make("peephole", 2, 3, seed=0)
    peep.load_torch(rng.normal(size=(12, 2)), rng.normal(size=(12, 3)))
    assert not peep.params["p"].any()
    with pytest.raises(ValueError, match="reset gate after"):
        make("reset_before", 2, 3, seed=0).load_torch(np.zeros((9, 2)), np.zeros((9, 3)))


@pytest.mark.parametrize("k1,k2", [(12, 12), (3, 7)])
def test_truncated_bptt_through_the_variants(k1, k2, block_columns):
    """BPTT(k1, k2) over both variants: with k ≥ T it is full BPTT exactly; below, each chunk's
    gradient is that of its own loss from the state k2 steps back (the definition)."""
    from bprop.recurrent import tbptt_updates

    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(
            Recurrent(make("peephole", 3, 5, seed=0)),
            Recurrent(make("reset_before", 5, 4, seed=1)),
            TimeDistributed(bp.Dense(4, 2, rng=2)),
        )
    ref = copy.deepcopy(net)
    loss, rng = bp.SoftmaxCrossEntropy(), np.random.default_rng(0)
    X, Y = rng.normal(size=(2, 12, 3)), rng.integers(0, 2, size=(2, 12))
    for m, _ in enumerate(tbptt_updates(net, loss, X, Y, k1, k2)):
        s, e = m * k1, min(m * k1 + k1, 12)
        w = max(0, e - k2)
        states = [None, None]
        if w > 0:
            _, c = ref.forward(X[:, :w])
            states = [c[0].final_state, c[1].final_state]
        ref.space.grads.fill(0)
        r1, r2, head = ref.layers
        y1, c1 = r1.forward(X[:, w:e], True, initial_state=states[0])
        y2, c2 = r2.forward(y1, True, initial_state=states[1])
        out, c3 = head.forward(y2, True)
        dy = np.zeros_like(out)
        _, dy[:, s - w :] = loss.value_and_grad(out[:, s - w :], Y[:, s:e])
        r1.backward(r2.backward(head.backward(dy, c3), c2), c1)
        np.testing.assert_allclose(net.space.grads, ref.space.grads, rtol=0, atol=1e-14)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_peephole_numba_kernel_equals_numpy_kernel_through_bptt(dtype, tol):
    pytest.importorskip("numba")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 9, 4)).astype(dtype)
    dy = rng.normal(size=(3, 9, 6)).astype(dtype)
    s0 = tuple(rng.normal(size=(3, 6)).astype(dtype) for _ in range(2))
    runs = [
        run(make("peephole", 4, 6, 0, dtype, kernel=k), True, X, dy, s0, s0)
        for k in ("numba", "numpy")
    ]
    for a, b in [(runs[0][0], runs[1][0]), (runs[0][2], runs[1][2])] + [
        (runs[0][3][k], runs[1][3][k]) for k in runs[1][3]
    ]:
        np.testing.assert_allclose(a, b, atol=tol * max(1.0, float(np.abs(b).max())), rtol=0)
