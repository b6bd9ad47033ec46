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
        for n in range(N):
            i = 0.5 * G[j, n] + 0.5
            f = 0.5 * G[H + j, n] + 0.5
            G[j, n] = i
            G[H + j, n] = f
            G[3 * H + j, n] = 0.5 * G[3 * H + j, n] + 0.5
            c[j, n] = f * c_prev[j, n] + i * G[2 * H + j, n]


def _lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int) -> None:
    """From the activated gates G (4H, N), tanh(c_t), c_{t-1}, the total ∂L/∂h_t (gh) and the
    carried ∂L/∂c_t (gc), all (H, N): write δ = ∂L/∂a_t into columns col … col + N − 1 of
    dXP (4H, T·N) and replace gc by ∂L/∂c_{t-1}. (The whole contiguous dXP and an offset,
    rather than a strided view of it, let the compiler vectorise the inner loop.)"""
    H, N = gc.shape
    for j in range(H):
        for n in range(N):
            i = G[j, n]
            f = G[H + j, n]
            g = G[2 * H + j, n]
            o = G[3 * H + j, n]
            t = tc[j, n]
            dh = gh[j, n]
            dc = gc[j, n] + dh * o * (1.0 - t * t)
            dXP[j, col + n] = dc * g * i * (1.0 - i)
            dXP[H + j, col + n] = dc * c_prev[j, n] * f * (1.0 - f)
            dXP[2 * H + j, col + n] = dc * i * (1.0 - g * g)
            dXP[3 * H + j, col + n] = dh * t * o * (1.0 - o)
            gc[j, n] = dc * f


if _HAVE_NUMBA:
    _cell = numba.njit(cache=True, nogil=True)(_lstm_cell)
    _bwd = numba.njit(cache=True, nogil=True)(_lstm_backward)
else:  # pragma: no cover
    _cell = _bwd = None


def lstm_cell(G: Any, c_prev: Any, c: Any) -> None:
    _cell(G, c_prev, c)


def lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int) -> None:
    _bwd(G, tc, c_prev, gh, gc, dXP, col)
