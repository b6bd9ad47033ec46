"""Full BPTT: the fast path against the per-step reference path, stateful carry-over,
gradient-norm recording, TimeDistributed, training with bp.fit, saving, bad input."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Elman, Recurrent, TimeDistributed


def cells(dtype):
    with bp.backend.default_dtype(dtype):
        return [
            Elman(4, 6, rng=0),
            Elman(4, 6, activation="relu", rng=0),
            LSTM(4, 6, rng=0, kernel="numpy"),
            LSTM(4, 6, rng=0, kernel="numba"),
            GRU(4, 6, rng=0, kernel="numpy"),
            GRU(4, 6, rng=0, kernel="numba"),
        ]


def run(cell, fast, X, dy, s0, dfin, return_sequences=True, need_dx=True, record=True):
    rnn = Recurrent(cell, return_sequences=return_sequences, fast=fast, record_grad_norms=record)
    cell.zero_grad()
    y, cache = rnn.forward(X, train=True, initial_state=s0)
    dx = rnn.backward(dy, cache, need_dx=need_dx, dfinal_state=dfin)
    grads = {k: v.copy() for k, v in cell.grads.items()}
    return y, cache, dx, grads


@pytest.fixture(
    params=[(320, None), (4, None), (4, 1)],
    ids=["one-block", "blocks-of-2-steps", "scaled-by-weight-size-and-capped"],
)
def block_columns(request, monkeypatch):
    """The fast backward pass's gradient blocks (workspace.block_steps): the default (one
    block for these short sequences), 2-step blocks (N = 3), so that the ring of
    pre-activation gradients wraps round and is flushed in several products, and blocks
    grown for a weight gradient "larger than the cache" (1 byte) but capped by a ring of
    ~4 columns per gate row (so again several, uneven, blocks)."""
    columns, cache = request.param
    monkeypatch.setattr("bprop.recurrent.workspace.BACKWARD_BLOCK_COLUMNS", columns)
    if cache is not None:
        monkeypatch.setattr("bprop.recurrent.workspace.BACKWARD_CACHE_BYTES", cache)
        monkeypatch.setattr("bprop.recurrent.workspace.BACKWARD_RING_BYTES", 1000)
    return columns


def test_backward_blocks_grow_with_the_weight_gradient():
    from bprop.recurrent.workspace import block_steps

    mib = 1 << 20
    # a weight gradient within the cache: 320 columns = 10 steps of 32
    assert block_steps(100, 32, 1024, mib // 2, 4) == 10
    # a 1024 × 322 gradient (the 256-unit LSTM on 65 inputs when its weights were stacked):
    # 1.26 MiB -> 402 columns = 13 steps
    assert block_steps(100, 32, 1024, 1024 * 322 * 4, 4) == 13
    # 512 units: 4.5 MiB -> 1443 columns = 46 steps
    assert block_steps(100, 32, 2048, 2048 * 578 * 4, 4) == 46
    # 1024 units: 17 MiB -> 5,450 columns, capped by the 64 MiB ring at 4096: all 100 steps
    assert block_steps(100, 32, 4096, 4096 * 1090 * 4, 4) == 100
    # a long sequence: the ring cap (4096 columns = 128 steps) holds
    assert block_steps(1000, 32, 4096, 4096 * 1090 * 4, 4) == 128
    assert block_steps(5, 1, 8, 10**9, 8) == 5  # never more than T, never less than 1


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("record", [True, False])
def test_fast_path_equals_reference_path(
    dtype, tol, return_sequences, record, block_columns, step_product
):
    rng = np.random.default_rng(1)
    for cell in cells(dtype):
        N, T = 3, 9
        X = rng.normal(size=(N, T, 4)).astype(dtype)
        shape = (N, T, 6) if return_sequences else (N, 6)
        dy = rng.normal(size=shape).astype(dtype)
        s0 = tuple(rng.normal(size=(N, 6)).astype(dtype) for _ in cell.state_names)
        dfin = tuple(rng.normal(size=(N, 6)).astype(dtype) for _ in cell.state_names)
        ref = run(cell, False, X, dy, s0, dfin, return_sequences, record=record)
        fast = run(cell, True, X, dy, s0, dfin, return_sequences, record=record)
        scale = lambda a: max(1.0, float(np.abs(a).max()))  # noqa: E731
        assert fast[0].dtype == np.dtype(dtype)
        np.testing.assert_allclose(fast[0], ref[0], atol=tol * scale(ref[0]), rtol=0)
        for a, b in zip(fast[1].final_state, ref[1].final_state, strict=False):
            np.testing.assert_allclose(a, b, atol=tol * scale(b), rtol=0)
        np.testing.assert_allclose(fast[2], ref[2], atol=tol * scale(ref[2]), rtol=0)
        for k in ref[3]:
            np.testing.assert_allclose(fast[3][k], ref[3][k], atol=tol * scale(ref[3][k]), rtol=0)
        for a, b in zip(fast[1].dinitial_state, ref[1].dinitial_state, strict=False):
            np.testing.assert_allclose(a, b, atol=tol * scale(b), rtol=0)
        if record:
            np.testing.assert_allclose(fast[1].grad_norms, ref[1].grad_norms, rtol=1e-4)


def test_backward_after_a_weight_update_uses_the_current_weights(block_columns):
    # truncated BPTT backpropagates stored chunks after the weights have moved on: both paths
    # must then use the stored activations and the *current* weights
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3, 7, 4))
    dy = rng.normal(size=(3, 7, 6))
    for cell in cells("float64"):
        results = []
        for fast in (False, True):
            before = {k: v.copy() for k, v in cell.params.items()}
            rnn = Recurrent(cell, fast=fast)
            _, cache = rnn.forward(X, train=True)
            for v in cell.params.values():
                v *= 1.25
            cell.zero_grad()
            dx = rnn.backward(dy, cache)
            results.append((dx, {k: v.copy() for k, v in cell.grads.items()}))
            for k, v in before.items():
                cell.params[k][...] = v
        (dx_ref, g_ref), (dx_fast, g_fast) = results
        np.testing.assert_allclose(dx_fast, dx_ref, atol=1e-12)
        for k in g_ref:
            np.testing.assert_allclose(g_fast[k], g_ref[k], atol=1e-12)


def test_backward_adds_into_grads():
    cell = LSTM(3, 4, rng=0)
    rnn = Recurrent(cell)
    X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    y, cache = rnn.forward(X)
    rnn.backward(np.ones_like(y), cache)
    once = cell.grads["W_hh"].copy()
    rnn.backward(np.ones_like(y), cache)  # a cache can be backpropagated again
    np.testing.assert_allclose(cell.grads["W_hh"], 2 * once, rtol=1e-5)


@pytest.mark.parametrize("fast", [True, False])
def test_stateful_chunks_equal_one_long_sequence(fast):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(2, 12, 3))
    with bp.backend.default_dtype("float64"):
        rnn = Recurrent(GRU(3, 5, rng=1), stateful=True, fast=fast)
    whole, _ = Recurrent(rnn.cell).forward(X)
    parts = [rnn.forward(X[:, s : s + 4])[0] for s in (0, 4, 8)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=1e-12)
    rnn.reset_state()
    np.testing.assert_allclose(rnn.forward(X[:, :4])[0], whole[:, :4], atol=1e-12)


def test_grad_norms_vanish_in_elman_not_in_lstm():
    """‖∂L/∂h_t‖ for a loss at the last step only: an Elman net's shrinks geometrically back
    in time, an LSTM's (forget bias 1) much less."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(8, 60, 2)).astype(np.float32)
    ratios = {}
    for cell in (Elman(2, 16, rng=0), LSTM(2, 16, rng=0)):
        rnn = Recurrent(cell, return_sequences=False, record_grad_norms=True)
        y, cache = rnn.forward(X, train=True)
        rnn.backward(np.ones_like(y), cache)
        assert rnn.grad_norms is cache.grad_norms and cache.grad_norms.shape == (60,)
        ratios[type(cell).__name__] = cache.grad_norms[0] / cache.grad_norms[-1]
    assert ratios["Elman"] < 1e-6
    assert ratios["LSTM"] > 100 * ratios["Elman"]


def test_fit_trains_a_sequence_to_sequence_net():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(64, 8, 2)).astype(np.float32)
    y = (np.cumsum(X[:, :, 0], axis=1) > 0).astype(np.int64)  # running-sum sign
    net = bp.Sequential(Recurrent(LSTM(2, 16, rng=0)), TimeDistributed(bp.Dense(16, 2, rng=1)))
    hist = bp.fit(
        net,
        X,
        y,
        loss=bp.SoftmaxCrossEntropy(),
        optimizer=bp.optim.Adam(0.02),
        batch_size=16,
        epochs=30,
        verbose=0,
    )
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.train_accuracy[-1] > 0.9
    assert net.predict(X[:3]).shape == (3, 8, 2)


def test_params_live_in_the_flat_buffer():
    cell = GRU(3, 4, rng=0)
    net = bp.Sequential(Recurrent(cell), TimeDistributed(bp.Dense(4, 2, rng=1)))
    space = net.space
    assert space.size == 3 * 4 * 3 + 3 * 4 * 4 + 2 * 12 + 4 * 2 + 2
    assert cell.params["W_hh"].base is space.params
    assert net.layers[0].params is cell.params


def test_save_and_load_round_trip(tmp_path):
    net = bp.Sequential(
        Recurrent(LSTM(3, 4, forget_bias=0.5, rng=0)),
        Recurrent(Elman(4, 5, activation="relu", rng=1), return_sequences=False),
        bp.Dense(5, 2, rng=2),
    )
    X = np.random.default_rng(0).normal(size=(2, 6, 3)).astype(np.float32)
    bp.save(net, tmp_path / "rnn.bprop")
    loaded = bp.load(tmp_path / "rnn.bprop")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.layers[1].cell.activation == "relu"


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 3), (3,)])
def test_wrong_rank_is_a_clear_error(shape):
    rnn = Recurrent(LSTM(3, 4, rng=0))
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        rnn.forward(np.zeros(shape, dtype=np.float32))


def test_wrong_feature_count_and_state_shape_are_clear_errors():
    rnn = Recurrent(LSTM(3, 4, rng=0))
    with pytest.raises(ValueError, match="expects 3 features"):
        rnn.forward(np.zeros((2, 5, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="2 parts"):
        rnn.forward(np.zeros((2, 5, 3), dtype=np.float32), initial_state=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="expected"):
        rnn.forward(
            np.zeros((2, 5, 3), dtype=np.float32),
            initial_state=(np.zeros((3, 4)), np.zeros((3, 4))),
        )
    with pytest.raises(TypeError):
        Recurrent(bp.Dense(3, 4))
    with pytest.raises(ValueError):
        Elman(3, 4, activation="sigmoid")


def test_kernel_option_is_checked_and_kept_in_the_config():
    for cls in (LSTM, GRU):
        with pytest.raises(ValueError, match="kernel must be 'auto', 'numba' or 'numpy'"):
            cls(3, 4, kernel="cuda")
        rnn = Recurrent(cls(3, 4, rng=0, kernel="numpy"))
        assert Recurrent.from_config(rnn.get_config()).cell.kernel == "numpy"
        assert "kernel" not in Recurrent(cls(3, 4, rng=0)).get_config()["cell"]["config"]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("stop_at", [0, 2, 4])
def test_stop_at_backpropagates_only_the_last_steps(fast, stop_at, block_columns):
    """backward(dy, cache, dfinal_state=d, stop_at=s) (the explicit truncation arguments of
    truncated BPTT) is full BPTT of steps s … T-1 run from the state after s steps."""
    rng = np.random.default_rng(3)
    X, dy = rng.normal(size=(3, 5, 4)), rng.normal(size=(3, 5, 6))
    dfin = (rng.normal(size=(3, 6)), rng.normal(size=(3, 6)))
    with bp.backend.default_dtype("float64"):
        cell = LSTM(4, 6, rng=0)
    rnn = Recurrent(cell, fast=fast)
    cell.zero_grad()
    _, cache = rnn.forward(X, train=True)
    rnn.backward(dy, cache, need_dx=False, dfinal_state=dfin, stop_at=stop_at)
    got = {k: v.copy() for k, v in cell.grads.items()}
    cell.zero_grad()
    _, tail = rnn.forward(X[:, stop_at:], train=True, initial_state=cache.state_at(stop_at))
    rnn.backward(dy[:, stop_at:], tail, need_dx=False, dfinal_state=dfin)
    for k, v in cell.grads.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-10, atol=1e-12)
    for a, b in zip(cache.dinitial_state, tail.dinitial_state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_stop_at_outside_the_sequence_is_a_clear_error():
    rnn = Recurrent(Elman(2, 3, rng=0))
    _, cache = rnn.forward(np.zeros((1, 4, 2)), train=True)
    with pytest.raises(ValueError, match=r"stop_at must be in 0 … 3"):
        rnn.backward(np.zeros((1, 4, 3)), cache, stop_at=4)
