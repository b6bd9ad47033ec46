"""The fused Numba kernels of the LSTM fast path: the float32 rational tanh against float64
tanh, and the one-pass float32 forward step against the NumPy step it replaces. (The whole
fast path against the reference path is in test_bptt.py.)"""

import numpy as np
import pytest

from bprop.recurrent import kernels

numba = pytest.importorskip("numba")


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


def test_forward32_matches_numpy_step():
    # the one-pass kernel against the float32 NumPy step of LSTM.fast_step: G holds the
    # halved i, f, o and the g pre-activations; σ(a) = ½ + ½ tanh(a/2)
    rng = np.random.default_rng(0)
    H, N, D, T = 7, 5, 3, 4
    G = (3 * rng.normal(size=(4 * H, N))).astype(np.float32)
    c_prev = rng.normal(size=(H, N)).astype(np.float32)
    A = np.tanh(G)
    sig = lambda a: 0.5 * a + 0.5  # noqa: E731
    i, f, g, o = sig(A[:H]), sig(A[H : 2 * H]), A[2 * H : 3 * H], sig(A[3 * H :])
    c_ref = f * c_prev + i * g
    h_ref = o * np.tanh(c_ref)

    Z = np.full((D + H + 1, T * N), 7.0, np.float32)
    c, tc = np.empty_like(c_prev), np.empty_like(c_prev)
    kernels.lstm_forward32(G, c_prev, c, tc, Z, D, 2 * N)
    np.testing.assert_allclose(G, np.concatenate([i, f, g, o]), atol=3e-7, rtol=0)
    np.testing.assert_allclose(c, c_ref, atol=1e-6, rtol=0)
    np.testing.assert_allclose(tc, np.tanh(c_ref), atol=1e-6, rtol=0)
    np.testing.assert_allclose(Z[D : D + H, 2 * N : 3 * N], h_ref, atol=1e-6, rtol=0)
    Z[D : D + H, 2 * N : 3 * N] = 7.0
    assert np.all(Z == 7.0)  # nothing outside h_t's block was written


def test_gru_forward32_matches_numpy_step():
    # the one-pass GRU kernel against the GRU equations in float32 NumPy
    rng = np.random.default_rng(1)
    H, N = 6, 4
    f32 = lambda *s: (2 * rng.normal(size=s)).astype(np.float32)  # noqa: E731
    AH, b_hh, XP, Hs = f32(3 * H, N), f32(3 * H), f32(3 * H, 3 * N), f32(H, 4 * N)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    ah = AH + b_hh[:, None]
    x = XP[:, N : 2 * N]
    h_prev = Hs[:, N : 2 * N].copy()
    r, z = sig(x[:H] + ah[:H]), sig(x[H : 2 * H] + ah[H : 2 * H])
    n = np.tanh(x[2 * H :] + r * ah[2 * H :])
    before = Hs.copy()
    G = np.empty_like(AH)
    kernels.gru_forward32(AH, G, b_hh, XP, N, Hs, 2 * N, N)
    np.testing.assert_allclose(AH, ah, atol=0, rtol=0)  # b_hh added: a_n kept for backward
    np.testing.assert_allclose(G, np.concatenate([r, z, n]), atol=1e-6, rtol=0)
    np.testing.assert_allclose(Hs[:, 2 * N : 3 * N], (1 - z) * n + z * h_prev, atol=1e-6, rtol=0)
    Hs[:, 2 * N : 3 * N] = before[:, 2 * N : 3 * N]
    np.testing.assert_array_equal(Hs, before)  # nothing else in Hs was written
