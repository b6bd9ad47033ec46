"""The op table's fused CPU twins: Numba kernels with the names and signatures of
:mod:`bprop.ops.reference`, :mod:`bprop.ops.recurrent` and :mod:`bprop.ops.online`, tested equal to
them (``tests/test_ops.py``, ``tests/recurrent/test_kernels.py``). This is the only module of bprop
that imports Numba; other modules compile their own kernels through :func:`njit` and ask
:func:`available`.

NumPy runs each element-wise operation of a gate update as a separate pass over memory; an
LSTM step has about a dozen such passes forward and twenty backward on (4H, N) arrays. These
kernels fuse them into one pass. σ(x) is computed as ½ + ½ tanh(x/2), as in
:func:`bprop.ops.reference.sigmoid`.

Numba's scalar ``tanh`` (a libm call per element) is ~40× slower than NumPy's vectorised one,
so the forward steps are float32 only, with ``tanh`` as a rational function that vectorises
(:func:`tanh32`, the minimax approximation Eigen and XLA use for float32; max abs error 2.6e-7
against float64 ``tanh``, ≤ 4.3 float32 ulps: tests/recurrent/test_kernels.py); in float64
(gradient checks) the table serves the reference forward step (:data:`TWINS` lists each twin's
dtypes). Measured on the 256-unit, batch-32 LSTM of ``bench/bench_lstm.py``: a float32 forward
step's element-wise work takes 13.5 µs in the one pass, against 24 µs for tanh, kernel, tanh,
multiply.

Compiled lazily on first use (and cached on disk); without Numba :func:`available` is False,
:func:`njit` returns None and the table serves the reference ops.
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
    """Whether Numba is installed (so the fused twins exist)."""
    return _HAVE_NUMBA


def njit(fn: Any, **options: Any) -> Any:
    """``fn`` compiled by Numba in nopython mode (cached on disk, releasing the GIL; ``options``
    are ``numba.njit``'s, e.g. ``fastmath``, ``error_model``, ``inline``), or None without
    Numba. Compilation happens on the first call."""
    if not _HAVE_NUMBA:
        return None
    if options.get("inline") != "always":
        options = {"cache": True, "nogil": True, **options}
    return numba.njit(**options)(fn)


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


def _lstm_forward32(G: Any, XP_t: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, hcol: int) -> None:
    """:func:`bprop.ops.recurrent.lstm_forward` in one float32 pass: G (4H, N) holds
    W_hh h_{t-1}, to which XP_t (4H, N) is added, and on return the activated gates i, f, g, o;
    writes c_t into ``c``, tanh(c_t) into ``tc`` and h_t = o ⊙ tanh(c_t) into columns
    hcol … hcol + N − 1 of Hs. G, XP_t, c_prev, c and tc are C-contiguous, so the gate work is
    one flat loop over the H·N elements of each block, which vectorises whatever N is (a loop
    over n inside one over j does not at small N: 15.8 against 5.5 µs per step at H 256,
    batch 8; 8.5 against 4.8 at H 64, batch 32); h_t, a column block of Hs, is written after."""
    H, N = c.shape
    HN = H * N
    half = _F32(0.5)
    g, x = G.reshape(4 * HN), XP_t.reshape(4 * HN)
    cp, cc, tt = c_prev.reshape(HN), c.reshape(HN), tc.reshape(HN)
    for k in range(HN):
        i = half * tanh32(half * (g[k] + x[k])) + half
        f = half * tanh32(half * (g[HN + k] + x[HN + k])) + half
        gg = tanh32(g[2 * HN + k] + x[2 * HN + k])
        o = half * tanh32(half * (g[3 * HN + k] + x[3 * HN + k])) + half
        g[k], g[HN + k], g[2 * HN + k], g[3 * HN + k] = i, f, gg, o
        cv = f * cp[k] + i * gg
        cc[k], tt[k] = cv, tanh32(cv)
    for j in range(H):
        hj = Hs[j, hcol : hcol + N]
        for n in range(N):
            hj[n] = g[3 * HN + j * N + n] * tt[j * N + n]


def _lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int) -> None:
    """:func:`bprop.ops.recurrent.lstm_backward` in one pass. From the activated gates
    G (4H, N), tanh(c_t), c_{t-1}, the total ∂L/∂h_t (gh) and the carried ∂L/∂c_t (gc), all
    (H, N): write δ = ∂L/∂a_t into columns col … col + N − 1 of dXP (4H, T·N) and replace gc
    by ∂L/∂c_{t-1}."""
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


def _peephole_lstm_forward32(
    G: Any, XP_t: Any, P: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, hcol: int
) -> None:
    """:func:`bprop.ops.recurrent.peephole_lstm_forward` in one float32 pass (as
    :func:`_lstm_forward32`, the gates i, f seeing p ⊙ c_{t-1} and o seeing p_o ⊙ c_t)."""
    H, N = c.shape
    half = _F32(0.5)
    for j in range(H):
        gi, gf, gg, go = G[j], G[H + j], G[2 * H + j], G[3 * H + j]
        xi, xf, xg, xo = XP_t[j], XP_t[H + j], XP_t[2 * H + j], XP_t[3 * H + j]
        pi, pf, po = P[j], P[H + j], P[2 * H + j]
        cp, cj, tj, hj = c_prev[j], c[j], tc[j], Hs[j, hcol : hcol + N]
        for n in range(N):
            i = half * tanh32(half * (gi[n] + xi[n] + pi * cp[n])) + half
            f = half * tanh32(half * (gf[n] + xf[n] + pf * cp[n])) + half
            g = tanh32(gg[n] + xg[n])
            cc = f * cp[n] + i * g
            o = half * tanh32(half * (go[n] + xo[n] + po * cc)) + half
            gi[n], gf[n], gg[n], go[n] = i, f, g, o
            t = tanh32(cc)
            cj[n], tj[n], hj[n] = cc, t, o * t


def _peephole_lstm_backward(
    G: Any, P: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int
) -> None:
    """:func:`bprop.ops.recurrent.peephole_lstm_backward` in one pass."""
    H, N = gc.shape
    for j in range(H):
        gi, gf, gg, go = G[j], G[H + j], G[2 * H + j], G[3 * H + j]
        pi, pf, po = P[j], P[H + j], P[2 * H + j]
        tj, cp, hj, cj = tc[j], c_prev[j], gh[j], gc[j]
        di, df = dXP[j, col : col + N], dXP[H + j, col : col + N]
        dg, do = dXP[2 * H + j, col : col + N], dXP[3 * H + j, col : col + N]
        for n in range(N):
            i, f, g, o, t, dh = gi[n], gf[n], gg[n], go[n], tj[n], hj[n]
            d_o = dh * t * o * (1.0 - o)
            dc = cj[n] + dh * o * (1.0 - t * t) + po * d_o
            d_i = dc * g * i * (1.0 - i)
            d_f = dc * cp[n] * f * (1.0 - f)
            di[n], df[n], dg[n], do[n] = d_i, d_f, dc * i * (1.0 - g * g), d_o
            cj[n] = dc * f + pi * d_i + pf * d_f


def _gru_forward32(AH: Any, G: Any, b_hh: Any, XP: Any, xcol: int, Hs: Any, hcol: int) -> None:
    """:func:`bprop.ops.recurrent.gru_forward` in one float32 pass. AH (3H, N) holds
    W_hh h_{t-1}; adds b_hh to it. With the projected inputs in columns xcol … of XP (3H, ·)
    and h_{t-1} in columns hcol − N … of Hs (H, ·), writes the gates r, z, n into G (3H, N)
    and h_t = n + z (h_{t-1} − n) into columns hcol … of Hs."""
    H, N = Hs.shape[0], G.shape[1]
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
    """:func:`bprop.ops.recurrent.gru_backward` in one pass. From the gates G (3H, N), AH
    (3H, N) (whose n block is a_n = W_hn h_{t-1} + b_hn), h_{t-1} in columns hcol … of Hs and
    the total ∂L/∂h_t (g, (H, N)): write δˣ into columns col … col + N − 1 of dXP and δʰ into
    those of dAH, and replace g by g ⊙ z (the direct part of ∂L/∂h_{t-1}; the caller adds
    W_hhᵀ δʰ)."""
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


# the compiled twins (no wrapper: the recurrent ones run at every time step). What lets the
# rational tanh vectorise: no zero-division check (error_model="numpy"), fused multiply-adds and
# a reciprocal for the division; not "nnan"/"ninf", so NaN and inf still propagate (a diverging
# network is caught, not clamped to ±1)
_VECTOR = dict(fastmath={"contract", "arcp", "nsz"}, error_model="numpy")
tanh32 = njit(_tanh32, inline="always", **_VECTOR)
_F32_ONLY, _FLOATS = (np.dtype(np.float32),), (np.dtype(np.float32), np.dtype(np.float64))

# the online epoch's twin has its own module (it compiles through njit and tanh32 above)
from bprop.ops.online_numba import online_epoch  # noqa: E402
from bprop.ops.softmax_numba import softmax_cross_entropy  # noqa: E402

TWINS: dict[str, tuple[Any, tuple[np.dtype, ...]]] = {
    "lstm_forward": (njit(_lstm_forward32, **_VECTOR), _F32_ONLY),
    "lstm_backward": (njit(_lstm_backward), _FLOATS),
    "peephole_lstm_forward": (njit(_peephole_lstm_forward32, **_VECTOR), _F32_ONLY),
    "peephole_lstm_backward": (njit(_peephole_lstm_backward), _FLOATS),
    "gru_forward": (njit(_gru_forward32, **_VECTOR), _F32_ONLY),
    "gru_backward": (njit(_gru_backward), _FLOATS),
    "online_epoch": (online_epoch, _FLOATS),
    "softmax_cross_entropy": (softmax_cross_entropy if _HAVE_NUMBA else None, _FLOATS),
}
"""Op name → (the compiled twin, or None without Numba; the dtypes it serves)."""
