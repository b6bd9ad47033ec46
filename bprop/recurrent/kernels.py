"""Fused Numba kernels for the LSTM and GRU steps' element-wise work (the fast path's op table).

NumPy runs each element-wise operation of a gate update as a separate pass over memory; an
LSTM step has about a dozen such passes forward and twenty backward on (N, 4H) arrays. These
kernels fuse them. They compute exactly the formulas of :mod:`bprop.recurrent.lstm` (see there
for the maths) and are tested against its NumPy reference step. σ(x) is computed as
½ + ½ tanh(x/2), as in :func:`bprop.ops.sigmoid`.

The backward step is one pass. Forward, Numba's scalar ``tanh`` (a libm call per element) is
~40× slower than NumPy's vectorised one, so:

* in float32 one pass does everything, with ``tanh`` as a rational function that vectorises
  (:func:`tanh32`, the minimax approximation Eigen and XLA use for float32; max abs error
  2.6e-7 against float64 ``tanh``, ≤ 4.3 float32 ulps: tests/recurrent/test_kernels.py);
* in float64 (gradient checks) NumPy's ``tanh`` does the transcendental work and a kernel
  fuses the rest, so the fast path agrees with the reference path to rounding.

Measured on the 256-unit, batch-32 LSTM of ``bench/bench_lstm.py``: a float32 forward step's
element-wise work takes 13.5 µs in the one pass, against 24 µs for tanh, kernel, tanh, multiply.

Compiled lazily on first use (and cached on disk); :func:`available` is False without Numba.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_F32 = np.float32

try:  # pragma: no cover - depends on the environment
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    _HAVE_NUMBA = False


def available() -> bool:
    """Whether the Numba kernels can be used."""
    return _HAVE_NUMBA


def _lstm_cell(G: Any, c_prev: Any, c: Any) -> None:
    """G (4H, N) holds tanh of the *halved* i, f, o pre-activations and of the g
    pre-activation; turns the i, f, o blocks into σ(a) = ½ + ½ tanh(a/2) in place and writes
    c_t = f ⊙ c_{t-1} + i ⊙ g. (The transcendental work is NumPy's vectorised tanh.)
    Feature-major: c, c_prev (H, N); row j of each gate block is unit j."""
    H, N = c.shape
    for j in range(H):
        # one contiguous row per operand, so the loop over the batch vectorises
        gi, gf, gg, go = G[j], G[H + j], G[2 * H + j], G[3 * H + j]
        cp, cj = c_prev[j], c[j]
        for n in range(N):
            i = 0.5 * gi[n] + 0.5
            f = 0.5 * gf[n] + 0.5
            gi[n] = i
            gf[n] = f
            go[n] = 0.5 * go[n] + 0.5
            cj[n] = f * cp[n] + i * gg[n]


def _tanh32(x: Any) -> Any:
    """tanh(x) for float32 as x·p(x²)/q(x²), p of degree 6 and q of degree 3 in x² (Eigen's
    ``ptanh_float`` coefficients), with x clamped to ±7.9053 first (there the quotient is
    within 3e-7 of ±1, as tanh is)."""
    x = min(max(x, _F32(-7.90531110763549805)), _F32(7.90531110763549805))
    x2 = x * x
    p = _F32(-2.76076847742355e-16)
    p = p * x2 + _F32(2.00018790482477e-13)
    p = p * x2 + _F32(-8.60467152213735e-11)
    p = p * x2 + _F32(5.12229709037114e-08)
    p = p * x2 + _F32(1.48572235717979e-05)
    p = p * x2 + _F32(6.37261928875436e-04)
    p = p * x2 + _F32(4.89352455891786e-03)
    q = _F32(1.19825839466702e-06)
    q = q * x2 + _F32(1.18534705686654e-04)
    q = q * x2 + _F32(2.26843463243900e-03)
    q = q * x2 + _F32(4.89352518554385e-03)
    return x * p / q


def _lstm_forward32(G: Any, c_prev: Any, c: Any, tc: Any, Z: Any, row: int, col: int) -> None:
    """The whole float32 forward step after the product, in one pass. G (4H, N) holds the
    i, f, o pre-activations halved and the g pre-activation; on return it holds the activated
    gates i, f, g, o. Writes c_t into ``c``, tanh(c_t) into ``tc`` and h_t = o ⊙ tanh(c_t) into
    rows row … row + H − 1, columns col … col + N − 1 of Z (the stacked inputs of the next
    step; passed whole so that each row is a contiguous slice)."""
    H, N = c.shape
    half = _F32(0.5)
    for j in range(H):
        gi, gf, gg, go = G[j], G[H + j], G[2 * H + j], G[3 * H + j]
        cp, cj, tj, hj = c_prev[j], c[j], tc[j], Z[row + j, col : col + N]
        for n in range(N):
            i = half * tanh32(gi[n]) + half
            f = half * tanh32(gf[n]) + half
            g = tanh32(gg[n])
            o = half * tanh32(go[n]) + half
            gi[n], gf[n], gg[n], go[n] = i, f, g, o
            cc = f * cp[n] + i * g
            t = tanh32(cc)
            cj[n], tj[n], hj[n] = cc, t, o * t


def _lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int) -> None:
    """From the activated gates G (4H, N), tanh(c_t), c_{t-1}, the total ∂L/∂h_t (gh) and the
    carried ∂L/∂c_t (gc), all (H, N): write δ = ∂L/∂a_t into columns col … col + N − 1 of
    dXP (4H, T·N) and replace gc by ∂L/∂c_{t-1}."""
    H, N = gc.shape
    for j in range(H):
        gi, gf, gg, go = G[j], G[H + j], G[2 * H + j], G[3 * H + j]
        tj, cp, hj, cj = tc[j], c_prev[j], gh[j], gc[j]
        di, df = dXP[j, col : col + N], dXP[H + j, col : col + N]
        dg, do = dXP[2 * H + j, col : col + N], dXP[3 * H + j, col : col + N]
        for n in range(N):
            i, f, g, o, t, dh = gi[n], gf[n], gg[n], go[n], tj[n], hj[n]
            dc = cj[n] + dh * o * (1.0 - t * t)
            di[n] = dc * g * i * (1.0 - i)
            df[n] = dc * cp[n] * f * (1.0 - f)
            dg[n] = dc * i * (1.0 - g * g)
            do[n] = dh * t * o * (1.0 - o)
            cj[n] = dc * f


def _gru_forward32(
    AH: Any, G: Any, b_hh: Any, XP: Any, xcol: int, Hs: Any, hcol: int, N: int
) -> None:
    """The whole float32 GRU step after the recurrent product (see :mod:`bprop.recurrent.gru`).
    AH (3H, N) holds W_hh h_{t-1}; adds b_hh to it. With the projected inputs in columns
    xcol … of XP (3H, ·) and h_{t-1} in columns hcol − N … of Hs (H, ·), writes the gates
    r, z, n into G (3H, N) and h_t = n + z (h_{t-1} − n) into columns hcol … of Hs."""
    H = Hs.shape[0]
    half = _F32(0.5)
    for j in range(H):
        ar, az, an = AH[j], AH[H + j], AH[2 * H + j]
        xr, xz = XP[j, xcol : xcol + N], XP[H + j, xcol : xcol + N]
        xn = XP[2 * H + j, xcol : xcol + N]
        gr, gz, gn = G[j], G[H + j], G[2 * H + j]
        hp, hj = Hs[j, hcol - N : hcol], Hs[j, hcol : hcol + N]
        br, bz, bn = b_hh[j], b_hh[H + j], b_hh[2 * H + j]
        for n in range(N):
            a_r, a_z, a_n = ar[n] + br, az[n] + bz, an[n] + bn
            ar[n], az[n], an[n] = a_r, a_z, a_n
            r = half * tanh32(half * (xr[n] + a_r)) + half
            z = half * tanh32(half * (xz[n] + a_z)) + half
            c = tanh32(xn[n] + r * a_n)
            gr[n], gz[n], gn[n] = r, z, c
            hj[n] = c + z * (hp[n] - c)


def _gru_backward(
    G: Any, AH: Any, Hs: Any, hcol: int, g: Any, dXP: Any, dAH: Any, col: int
) -> None:
    """From the gates G (3H, N), AH (3H, N) (whose n block is a_n = W_hn h_{t-1} + b_hn),
    h_{t-1} in columns hcol … of Hs and the total ∂L/∂h_t (g, (H, N)): write δˣ into columns
    col … col + N − 1 of dXP and δʰ into those of dAH, and replace g by g ⊙ z (the direct part
    of ∂L/∂h_{t-1}; the caller adds W_hhᵀ δʰ)."""
    H, N = g.shape
    for j in range(H):
        gr, gz, gn = G[j], G[H + j], G[2 * H + j]
        a_n, hp, gj = AH[2 * H + j], Hs[j, hcol : hcol + N], g[j]
        dr, dz, dn = dXP[j, col : col + N], dXP[H + j, col : col + N], dXP[2 * H + j, col : col + N]
        hr, hz, hn = dAH[j, col : col + N], dAH[H + j, col : col + N], dAH[2 * H + j, col : col + N]
        for n in range(N):
            r, z, c, gh = gr[n], gz[n], gn[n], gj[n]
            d_n = gh * (1.0 - z) * (1.0 - c * c)
            d_z = gh * (hp[n] - c) * z * (1.0 - z)
            d_r = d_n * a_n[n] * r * (1.0 - r)
            dr[n], dz[n], dn[n] = d_r, d_z, d_n
            hr[n], hz[n], hn[n] = d_r, d_z, d_n * r
            gj[n] = gh * z


if _HAVE_NUMBA:
    # the compiled kernels themselves (no wrapper: they run at every time step)
    lstm_cell = numba.njit(cache=True, nogil=True)(_lstm_cell)
    lstm_backward = numba.njit(cache=True, nogil=True)(_lstm_backward)
    # what lets the rational tanh vectorise: no zero-division check (error_model="numpy"),
    # fused multiply-adds and a reciprocal for the division; not "nnan"/"ninf", so NaN and
    # inf still propagate (a diverging network is caught, not clamped to ±1)
    _vector = dict(fastmath={"contract", "arcp", "nsz"}, error_model="numpy")
    tanh32 = numba.njit(inline="always", **_vector)(_tanh32)
    lstm_forward32 = numba.njit(cache=True, nogil=True, **_vector)(_lstm_forward32)
    gru_forward32 = numba.njit(cache=True, nogil=True, **_vector)(_gru_forward32)
    gru_backward = numba.njit(cache=True, nogil=True)(_gru_backward)
else:  # pragma: no cover
    lstm_cell = lstm_backward = tanh32 = lstm_forward32 = gru_forward32 = gru_backward = None
