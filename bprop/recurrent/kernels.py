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
    """G (N, 4H) holds tanh of the *halved* i, f, o pre-activations and of the g
    pre-activation; turns the i, f, o blocks into σ(a) = ½ + ½ tanh(a/2) in place and writes
    c_t = f ⊙ c_{t-1} + i ⊙ g. (The transcendental work is NumPy's vectorised tanh.)"""
    N, H = c.shape
    for n in range(N):
        for j in range(H):
            i = 0.5 * G[n, j] + 0.5
            f = 0.5 * G[n, H + j] + 0.5
            G[n, j] = i
            G[n, H + j] = f
            G[n, 3 * H + j] = 0.5 * G[n, 3 * H + j] + 0.5
            c[n, j] = f * c_prev[n, j] + i * G[n, 2 * H + j]


def _lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, d: Any) -> None:
    """From the activated gates G, tanh(c_t), c_{t-1}, the total ∂L/∂h_t (gh) and the carried
    ∂L/∂c_t (gc): write δ = ∂L/∂a_t into d (N, 4H) and replace gc by ∂L/∂c_{t-1}."""
    N, H = gc.shape
    for n in range(N):
        for j in range(H):
            i = G[n, j]
            f = G[n, H + j]
            g = G[n, 2 * H + j]
            o = G[n, 3 * H + j]
            t = tc[n, j]
            dh = gh[n, j]
            dc = gc[n, j] + dh * o * (1.0 - t * t)
            d[n, j] = dc * g * i * (1.0 - i)
            d[n, H + j] = dc * c_prev[n, j] * f * (1.0 - f)
            d[n, 2 * H + j] = dc * i * (1.0 - g * g)
            d[n, 3 * H + j] = dh * t * o * (1.0 - o)
            gc[n, j] = dc * f


if _HAVE_NUMBA:
    _cell = numba.njit(cache=True, nogil=True)(_lstm_cell)
    _bwd = numba.njit(cache=True, nogil=True)(_lstm_backward)
else:  # pragma: no cover
    _cell = _bwd = None


def lstm_cell(G: Any, c_prev: Any, c: Any) -> None:
    _cell(G, c_prev, c)


def lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, d: Any) -> None:
    _bwd(G, tc, c_prev, gh, gc, d)
