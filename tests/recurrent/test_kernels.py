"""The op table's fused recurrent twins (bprop.ops.numba): the float32 rational tanh against
float64 tanh, and every step op's twin against its readable reference on the same buffers,
including that nothing outside the op's outputs is written. (The whole fast path against the
reference step is in test_bptt.py.)"""

import numpy as np
import pytest

from bprop import ops

numba = pytest.importorskip("numba")
kernels = ops.fused


@numba.njit
def _tanh32_all(x, out):
    for k in range(x.size):
        out[k] = kernels.tanh32(x[k])


def tanh32(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _tanh32_all(x, out)
    return out


def test_tanh32_is_within_a_few_ulps_of_tanh():
    x = np.concatenate(
        [
            np.linspace(-20, 20, 400_001, dtype=np.float32),
            np.geomspace(1e-30, 1e-2, 1000).astype(np.float32),
            np.array([0.0, 7.9, 7.91, 8.0, 1e30], np.float32),
        ]
    )
    x = np.concatenate([x, -x])
    y = tanh32(x).astype(np.float64)
    exact = np.tanh(x.astype(np.float64))
    # 2.6e-7 (≤ 4.3 ulps of |tanh x|) with the kernels' fused multiply-adds, 3.2e-7 (≤ 5.4
    # ulps) without (this loop); float32 rounding alone is up to 0.5 ulp
    assert np.abs(y - exact).max() <= 3.5e-7
    small = np.abs(x) < 1e-2  # relative accuracy near zero (tanh x ≈ x)
    assert np.abs(y[small] - exact[small]).max() <= 2e-7 * np.abs(exact[small]).max()
    np.testing.assert_array_equal(y[: x.size // 2], -y[x.size // 2 :])  # odd
    assert np.all(np.abs(y) <= 1.0)


def test_tanh32_propagates_nan_and_saturates_at_inf():
    y = tanh32(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert np.isnan(y[0])
    assert 1 - 3.5e-7 <= y[1] <= 1.0 and y[2] == -y[1]


def _lstm_forward_args(rng, dtype):
    H, N, T = 7, 5, 4
    G = (2 * rng.normal(size=(4 * H, N))).astype(dtype)  # W_hh h_{t-1}, blocks i, f, g, o
    XP_t = (2 * rng.normal(size=(4 * H, N))).astype(dtype)  # W_ih x_t + b
    c_prev = rng.normal(size=(H, N)).astype(dtype)
    c, tc = np.full_like(c_prev, 7.0), np.full_like(c_prev, 7.0)
    Hs = np.full((H, T * N), 7.0, dtype)
    return (G, XP_t, c_prev, c, tc, Hs, 2 * N), {0: G, 3: c, 4: tc, 5: Hs}


def _peephole_lstm_forward_args(rng, dtype):
    (G, XP_t, c_prev, c, tc, Hs, hcol), outputs = _lstm_forward_args(rng, dtype)
    P = rng.normal(size=3 * c.shape[0]).astype(dtype)
    return (G, XP_t, P, c_prev, c, tc, Hs, hcol), {0: G, 4: c, 5: tc, 6: Hs}


def _peephole_lstm_backward_args(rng, dtype):
    (G, tc, c_prev, gh, gc, dXP, col), outputs = _lstm_backward_args(rng, dtype)
    P = rng.normal(size=3 * gc.shape[0]).astype(dtype)
    return (G, P, tc, c_prev, gh, gc, dXP, col), {5: gc, 6: dXP}


def _elman_args(rng, dtype):
    H, N = 6, 4
    A = (2 * rng.normal(size=(H, N))).astype(dtype)  # W_hh h_{t-1}
    XP_t = (2 * rng.normal(size=(H, N))).astype(dtype)  # W_ih x_t + b
    return (A, XP_t), {0: A}


def _lstm_backward_args(rng, dtype):
    H, N, steps = 6, 4, 3
    a = rng.normal(size=(4 * H, N))
    G = np.concatenate([0.5 + 0.5 * np.tanh(a[: 2 * H]), np.tanh(a[2 * H : 3 * H])])
    G = np.concatenate([G, 0.5 + 0.5 * np.tanh(a[3 * H :])]).astype(dtype)
    tc, c_prev, gh, gc = (np.asarray(rng.normal(size=(H, N)), dtype) for _ in range(4))
    tc = np.tanh(tc)
    dXP = np.full((4 * H, steps * N), 7.0, dtype)
    return (G, tc, c_prev, gh, gc, dXP, N), {4: gc, 5: dXP}


def _gru_forward_args(rng, dtype):
    H, N = 6, 4
    f = lambda *s: (2 * rng.normal(size=s)).astype(dtype)  # noqa: E731
    AH, b_hh, XP, Hs = f(3 * H, N), f(3 * H), f(3 * H, 3 * N), f(H, 4 * N)
    G = np.full_like(AH, 7.0)
    return (AH, G, b_hh, XP, N, Hs, 2 * N), {0: AH, 1: G, 5: Hs}


def _gru_backward_args(rng, dtype):
    H, N, steps = 5, 3, 2
    G = np.concatenate(
        [0.5 + 0.5 * np.tanh(rng.normal(size=(2 * H, N))), np.tanh(rng.normal(size=(H, N)))]
    ).astype(dtype)
    AH, Hs, g = (rng.normal(size=s).astype(dtype) for s in [(3 * H, N), (H, 3 * N), (H, N)])
    dXP, dAH = np.full((3 * H, steps * N), 7.0, dtype), np.full((3 * H, steps * N), 7.0, dtype)
    return (G, AH, Hs, N, g, dXP, dAH, N), {4: g, 5: dXP, 6: dAH}


STEP_OPS = {
    "lstm_forward": _lstm_forward_args,
    "lstm_backward": _lstm_backward_args,
    "peephole_lstm_forward": _peephole_lstm_forward_args,
    "peephole_lstm_backward": _peephole_lstm_backward_args,
    "gru_forward": _gru_forward_args,
    "gru_backward": _gru_backward_args,
}


@pytest.mark.parametrize("name", list(STEP_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_twin_equals_reference(name, dtype):
    fused, dtypes = kernels.TWINS[name]
    if np.dtype(dtype) not in dtypes:
        # the table serves the reference for this dtype
        assert ops.lookup(name, "auto", dtype) is ops.REFERENCE[name]
        pytest.skip(f"{name} has no {np.dtype(dtype).name} twin")
    assert ops.lookup(name, "auto", dtype) is fused
    assert ops.lookup(name, "numpy", dtype) is ops.REFERENCE[name]
    args, outputs = STEP_OPS[name](np.random.default_rng(0), dtype)
    ref_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    ops.REFERENCE[name](*ref_args)
    fused(*args)
    # every buffer (outputs, and inputs left alone) as the reference leaves it; float32: the
    # twin's rational tanh is within 3.5e-7 of tanh
    atol = 2e-6 if dtype == np.float32 else 1e-13
    for k, (got, want) in enumerate(zip(args, ref_args, strict=True)):
        if isinstance(got, np.ndarray):
            np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=f"argument {k}")
            if k not in outputs:
                np.testing.assert_array_equal(
                    got, STEP_OPS[name](np.random.default_rng(0), dtype)[0][k]
                )


def test_reference_lstm_forward_is_the_lstm_equations():
    # the reference op against the equations of bprop.recurrent.lstm, σ(a) = 1 / (1 + e^(−a))
    args, _ = _lstm_forward_args(np.random.default_rng(2), np.float64)
    G, XP_t, c_prev, c, tc, Hs, col = args
    H, N = c.shape
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    a = G + XP_t  # W_hh h_{t-1} + (W_ih x_t + b)
    i, f, g, o = sig(a[:H]), sig(a[H : 2 * H]), np.tanh(a[2 * H : 3 * H]), sig(a[3 * H :])
    before, XP_before = Hs.copy(), XP_t.copy()
    ops.recurrent.lstm_forward(*args)
    np.testing.assert_allclose(G, np.concatenate([i, f, g, o]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tc, np.tanh(c), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Hs[:, col : col + N], o * np.tanh(c), rtol=1e-12, atol=1e-15)
    Hs[:, col : col + N] = before[:, col : col + N]
    np.testing.assert_array_equal(Hs, before)
    np.testing.assert_array_equal(XP_t, XP_before)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_reference_elman_step_is_the_elman_equation(activation):
    args, _ = _elman_args(np.random.default_rng(4), np.float64)
    A, XP_t = args
    f = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0)}[activation]
    want = f(A + XP_t)
    getattr(ops.recurrent, "elman_" + activation)(*args)
    np.testing.assert_allclose(A, want, rtol=1e-14, atol=0)
