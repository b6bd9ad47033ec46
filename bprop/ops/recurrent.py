"""The op table's readable recurrent step ops: the element-wise part of one time step of the
recurrent fast path (:mod:`bprop.recurrent.cells`), after its recurrent product, written with the
backend's array namespace like :mod:`bprop.ops.reference`.

All arrays are feature-major (one column per example): a step of a batch of N is a column block
of N columns. The forward ops take the step's recurrent product W_hh h_{t-1} (in the gate
buffer) and the step's inputs projected ahead, XP_t = W_ih x_t + b (a contiguous (G·H, N)
block, made for all steps before the loop), and add the two as their first element-wise work,
so the sum costs no pass of its own in the fused twins (:mod:`bprop.ops.numba`). The cells'
maths are in :mod:`bprop.recurrent.elman`, :mod:`~bprop.recurrent.lstm`,
:mod:`~bprop.recurrent.gru`, :mod:`~bprop.recurrent.peephole` and
:mod:`~bprop.recurrent.gru_reset_before`. An Elman step's backward is its activation's backward
(:mod:`bprop.ops.reference`).

Example: an Elman step with H = 2 units and a batch of N = 1::

    >>> import numpy as np
    >>> from bprop.ops.recurrent import elman_tanh
    >>> A = np.array([[0.5], [-0.5]])        # W_hh h_{t-1}
    >>> XP_t = np.array([[1.0], [1.0]])       # W_ih x_t + b
    >>> elman_tanh(A, XP_t)                   # A ← tanh(A + XP_t)
    >>> A.round(4)
    array([[0.9051],
           [0.4621]])
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp, into
from bprop.ops.reference import relu, sigmoid, tanh


def elman_tanh(A: Any, XP_t: Any) -> None:
    """One Elman step after its recurrent product, tanh units: A (H, N) holds W_hh h_{t-1};
    replaces it by h_t = tanh(A + XP_t), XP_t (H, N) being the step's projected inputs
    W_ih x_t + b. (No fused twin: NumPy's vectorised tanh in place is faster than a Numba
    loop here, 2.5 against 4.7 µs at H 64, batch 32.)"""
    A += XP_t
    tanh(A, out=A)


def elman_relu(A: Any, XP_t: Any) -> None:
    """As :func:`elman_tanh`, with ReLU units: h_t = max(0, A + W_ih x_t + b)."""
    A += XP_t
    relu(A, out=A)


def lstm_forward(G: Any, XP_t: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, hcol: int) -> None:
    """One LSTM step after its recurrent product: G (4H, N) holds W_hh h_{t-1}, gate blocks
    i, f, g, o, and XP_t (4H, N) the step's projected inputs W_ih x_t + b; their sum is the
    pre-activation a_t. On return G holds the activated gates
    (kept for the backward step). Writes c_t = f ⊙ c_{t-1} + i ⊙ g into ``c``, tanh(c_t) into
    ``tc`` and h_t = o ⊙ tanh(c_t) into columns hcol … hcol + N − 1 of Hs (H, ·), all
    feature-major."""
    xp = get_xp()
    H, N = c.shape
    G += XP_t  # a_t = W_hh h_{t-1} + (W_ih x_t + b)
    sigmoid(G[: 2 * H, ...], out=G[: 2 * H, ...])  # i, f
    tanh(G[2 * H : 3 * H, ...], out=G[2 * H : 3 * H, ...])  # g
    sigmoid(G[3 * H :, ...], out=G[3 * H :, ...])  # o
    i, f, g, o = G[:H, ...], G[H : 2 * H, ...], G[2 * H : 3 * H, ...], G[3 * H :, ...]
    into(xp.multiply, f, c_prev, out=c)
    c += i * g
    tanh(c, out=tc)
    into(xp.multiply, o, tc, out=Hs[:, hcol : hcol + N])


def lstm_backward(G: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int) -> None:
    """One LSTM step backward, from the activated gates G (4H, N), tanh(c_t), c_{t-1}, the total
    ∂L/∂h_t (gh) and the carried ∂L/∂c_t (gc), all feature-major::

        g_c ← g_c + g_h ⊙ o ⊙ (1 − tanh² c_t)
        δi = g_c ⊙ g ⊙ i(1 − i)   δf = g_c ⊙ c_{t-1} ⊙ f(1 − f)   δg = g_c ⊙ i ⊙ (1 − g²)
        δo = g_h ⊙ tanh(c_t) ⊙ o(1 − o)

    writes δ = [δi, δf, δg, δo] into columns col … col + N − 1 of dXP (4H, ·) and replaces gc by
    ∂L/∂c_{t-1} = g_c ⊙ f."""
    H, N = gc.shape
    i, f, g, o = G[:H, ...], G[H : 2 * H, ...], G[2 * H : 3 * H, ...], G[3 * H :, ...]
    d = dXP[:, col : col + N]
    gc += gh * o * (1 - tc * tc)
    d[:H, ...] = gc * g * i * (1 - i)
    d[H : 2 * H, ...] = gc * c_prev * f * (1 - f)
    d[2 * H : 3 * H, ...] = gc * i * (1 - g * g)
    d[3 * H :, ...] = gh * tc * o * (1 - o)
    gc *= f


def gru_forward(AH: Any, G: Any, b_hh: Any, XP: Any, xcol: int, Hs: Any, hcol: int) -> None:
    """One GRU step after the recurrent product: AH (3H, N) holds W_hh h_{t-1}, to which b_hh
    is added (a_n = W_hn h_{t-1} + b_hn is kept for the backward step). With the projected
    inputs W_ih x_t + b_ih in columns xcol … of XP (3H, ·) and h_{t-1} in the N columns before
    hcol of Hs (H, ·)::

        r = σ(xr + ar)    z = σ(xz + az)    n = tanh(xn + r ⊙ a_n)    h_t = n + z ⊙ (h_{t-1} − n)

    writes the gates r, z, n into G (3H, N) and h_t into columns hcol … of Hs."""
    H, N = Hs.shape[0], G.shape[1]
    AH += b_hh[:, None]
    x, h_prev = XP[:, xcol : xcol + N], Hs[:, hcol - N : hcol]
    r, z, n = G[:H, ...], G[H : 2 * H, ...], G[2 * H :, ...]
    sigmoid(x[: 2 * H, ...] + AH[: 2 * H, ...], out=G[: 2 * H, ...])  # r, z
    tanh(x[2 * H :, ...] + r * AH[2 * H :, ...], out=n)
    Hs[:, hcol : hcol + N] = n + z * (h_prev - n)


def gru_backward(G: Any, AH: Any, Hs: Any, hcol: int, g: Any, dXP: Any, dAH: Any, col: int) -> None:
    """One GRU step backward, from the gates G (3H, N), AH (3H, N) (its n block a_n),
    h_{t-1} in columns hcol … of Hs and the total ∂L/∂h_t (g, (H, N))::

        δn = g ⊙ (1 − z) ⊙ (1 − n²)    δz = g ⊙ (h_{t-1} − n) ⊙ z(1 − z)    δr = δn ⊙ a_n ⊙ r(1 − r)

    writes δˣ = [δr, δz, δn] into columns col … col + N − 1 of dXP and δʰ = [δr, δz, δn ⊙ r]
    into those of dAH, and replaces g by g ⊙ z (the direct part of ∂L/∂h_{t-1}; the caller
    adds W_hhᵀ δʰ)."""
    H, N = g.shape
    r, z, n = G[:H, ...], G[H : 2 * H, ...], G[2 * H :, ...]
    h_prev = Hs[:, hcol : hcol + N]
    dx, dh = dXP[:, col : col + N], dAH[:, col : col + N]
    dx[2 * H :, ...] = g * (1 - z) * (1 - n * n)
    dx[H : 2 * H, ...] = g * (h_prev - n) * z * (1 - z)
    dx[:H, ...] = dx[2 * H :, ...] * AH[2 * H :, ...] * r * (1 - r)
    dh[: 2 * H, ...] = dx[: 2 * H, ...]
    dh[2 * H :, ...] = dx[2 * H :, ...] * r
    g *= z


# --- the published cell variants (bprop.recurrent.peephole, bprop.recurrent.gru_reset_before)
def peephole_lstm_forward(
    G: Any, XP_t: Any, P: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, hcol: int
) -> None:
    """One step of the LSTM with peepholes (Gers, Schraudolph & Schmidhuber 2002) after its
    recurrent product: as :func:`lstm_forward` (a = G + XP_t), but the input and forget
    gates also see c_{t-1} and the output gate sees c_t, through the diagonal peephole weights
    P = [p_i, p_f, p_o] (3H,)::

        i = σ(a_i + p_i ⊙ c_{t-1})   f = σ(a_f + p_f ⊙ c_{t-1})   g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g    o = σ(a_o + p_o ⊙ c_t)       h_t = o ⊙ tanh(c_t)

    G (4H, N) holds W_hh h_{t-1} and is left holding the activated gates i, f, g, o."""
    xp = get_xp()
    H, N = c.shape
    G += XP_t  # a_t = W_hh h_{t-1} + (W_ih x_t + b)
    G[:H, ...] += P[:H, None] * c_prev
    G[H : 2 * H, ...] += P[H : 2 * H, None] * c_prev
    sigmoid(G[: 2 * H, ...], out=G[: 2 * H, ...])  # i, f
    tanh(G[2 * H : 3 * H, ...], out=G[2 * H : 3 * H, ...])  # g
    i, f, g = G[:H, ...], G[H : 2 * H, ...], G[2 * H : 3 * H, ...]
    into(xp.multiply, f, c_prev, out=c)
    c += i * g
    G[3 * H :, ...] += P[2 * H :, None] * c
    sigmoid(G[3 * H :, ...], out=G[3 * H :, ...])  # o
    tanh(c, out=tc)
    into(xp.multiply, G[3 * H :, ...], tc, out=Hs[:, hcol : hcol + N])


def peephole_lstm_backward(
    G: Any, P: Any, tc: Any, c_prev: Any, gh: Any, gc: Any, dXP: Any, col: int
) -> None:
    """One step of the peephole LSTM backward (see :func:`peephole_lstm_forward`), from the
    activated gates G, tanh(c_t), c_{t-1}, the total ∂L/∂h_t (gh) and the carried ∂L/∂c_t (gc)::

        δo = g_h ⊙ tanh(c_t) ⊙ o(1 − o)
        g_c ← g_c + g_h ⊙ o ⊙ (1 − tanh² c_t) + p_o ⊙ δo
        δi = g_c ⊙ g ⊙ i(1 − i)   δf = g_c ⊙ c_{t-1} ⊙ f(1 − f)   δg = g_c ⊙ i ⊙ (1 − g²)
        ∂L/∂c_{t-1} = g_c ⊙ f + p_i ⊙ δi + p_f ⊙ δf

    writes δ = [δi, δf, δg, δo] into columns col … col + N − 1 of dXP (4H, ·) and replaces gc by
    ∂L/∂c_{t-1}. The peephole gradients Σ δi ⊙ c_{t-1}, Σ δf ⊙ c_{t-1}, Σ δo ⊙ c_t are the
    caller's (one reduction per block of steps)."""
    H, N = gc.shape
    i, f, g, o = G[:H, ...], G[H : 2 * H, ...], G[2 * H : 3 * H, ...], G[3 * H :, ...]
    pi, pf, po = P[:H, None], P[H : 2 * H, None], P[2 * H :, None]
    d = dXP[:, col : col + N]
    d[3 * H :, ...] = gh * tc * o * (1 - o)
    gc += gh * o * (1 - tc * tc) + po * d[3 * H :, ...]
    d[:H, ...] = gc * g * i * (1 - i)
    d[H : 2 * H, ...] = gc * c_prev * f * (1 - f)
    d[2 * H : 3 * H, ...] = gc * i * (1 - g * g)
    gc *= f
    gc += pi * d[:H, ...] + pf * d[H : 2 * H, ...]


def gru_reset_before_forward(
    AH: Any, G: Any, W_hn: Any, b_hh: Any, XP: Any, xcol: int, Hs: Any, hcol: int, Q: Any
) -> None:
    """One step of the GRU with the reset gate *before* the recurrent product (Cho et al. 2014;
    ONNX ``linear_before_reset=0``, Keras ``reset_after=False``). AH (3H, N) holds
    W_hr h_{t-1}, W_hz h_{t-1} in its first 2H rows; with the projected inputs
    W_ih x_t + b_ih in columns xcol … of XP and h_{t-1} in the N columns before hcol of Hs::

        r = σ(xr + ar + b_hr)   z = σ(xz + az + b_hz)   q = r ⊙ h_{t-1}
        n = tanh(xn + W_hn q + b_hn)     h_t = n + z ⊙ (h_{t-1} − n)

    The product W_hn q sits between the gates, so this op makes it (into AH's n block).
    Writes r, z, n into G (3H, N), q into columns xcol … of Q (H, ·), h_t into columns hcol …
    of Hs."""
    xp = get_xp()
    H, N = Hs.shape[0], G.shape[1]
    x, h_prev = XP[:, xcol : xcol + N], Hs[:, hcol - N : hcol]
    AH[: 2 * H, ...] += b_hh[: 2 * H, None]
    sigmoid(x[: 2 * H, ...] + AH[: 2 * H, ...], out=G[: 2 * H, ...])  # r, z
    q = Q[:, xcol : xcol + N]
    into(xp.multiply, G[:H, ...], h_prev, out=q)
    into(xp.matmul, W_hn, q, out=AH[2 * H :, ...])
    AH[2 * H :, ...] += b_hh[2 * H :, None]
    n, z = G[2 * H :, ...], G[H : 2 * H, ...]
    tanh(x[2 * H :, ...] + AH[2 * H :, ...], out=n)
    Hs[:, hcol : hcol + N] = n + z * (h_prev - n)


def gru_reset_before_backward(
    G: Any, W_hn: Any, Hs: Any, hcol: int, g: Any, dXP: Any, col: int, dq: Any
) -> None:
    """One step of the reset-before GRU backward (see :func:`gru_reset_before_forward`), from
    the gates G (3H, N), h_{t-1} in columns hcol … of Hs and the total ∂L/∂h_t (g, (H, N))::

        δn = g ⊙ (1 − z) ⊙ (1 − n²)    δz = g ⊙ (h_{t-1} − n) ⊙ z(1 − z)
        ∂L/∂q = W_hnᵀ δn               δr = ∂L/∂q ⊙ h_{t-1} ⊙ r(1 − r)

    writes δ = [δr, δz, δn] (the same on the input and the recurrent side) into columns
    col … col + N − 1 of dXP, ∂L/∂q into dq (H, N), and replaces g by g ⊙ z + ∂L/∂q ⊙ r (the
    caller adds [W_hr; W_hz]ᵀ [δr; δz])."""
    xp = get_xp()
    H, N = g.shape
    r, z, n = G[:H, ...], G[H : 2 * H, ...], G[2 * H :, ...]
    h_prev = Hs[:, hcol : hcol + N]
    d = dXP[:, col : col + N]
    d[2 * H :, ...] = g * (1 - z) * (1 - n * n)
    d[H : 2 * H, ...] = g * (h_prev - n) * z * (1 - z)
    into(xp.matmul, W_hn.T, d[2 * H :, ...], out=dq)
    d[:H, ...] = dq * h_prev * r * (1 - r)
    g *= z
    g += dq * r
