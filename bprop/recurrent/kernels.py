"""Fused Numba kernels for the LSTM step's element-wise work (the fast path's op table).

NumPy runs each element-wise operation of a gate update as a separate pass over memory; an
LSTM step has about a dozen such passes forward and twenty backward on (N, 4H) arrays. These
kernels fuse them: the backward step is one pass; the forward step leaves the transcendental
functions to NumPy's vectorised ``tanh`` (much faster than scalar libm calls in a Numba loop)
and fuses the rest. They compute exactly the formulas of
:mod:`bprop.recurrent.lstm` (see there for the maths) and are tested against its NumPy
reference step. σ(x) is computed as ½ + ½ tanh(x/2), as in :func:`bprop.ops.sigmoid`.

Compiled lazily on first use (and cached on disk); :func:`available` is False without Numba.
"""

from __future__ import annotations

from typing import Any

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


if _HAVE_NUMBA:
    # the compiled kernels themselves (no wrapper: they run at every time step)
    lstm_cell = numba.njit(cache=True, nogil=True)(_lstm_cell)
    lstm_backward = numba.njit(cache=True, nogil=True)(_lstm_backward)
else:  # pragma: no cover
    lstm_cell = lstm_backward = None
