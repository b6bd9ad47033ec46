"""The op table's readable implementations: the maths a student reads, in NumPy-API (``xp``) form.

Every op here has a name in :mod:`bprop.ops`; a faster twin of the same name and signature (the
fused Numba kernels of :mod:`bprop.ops.numba`, later perhaps a GPU kernel) may stand in for it
and is tested equal to it (``tests/test_ops.py``). Ops that fill buffers write in place, so a
twin can be swapped in without changing the caller.

**Activations.** Each activation has a forward ``f(x, out)`` and a backward ``df(y, dy, out)``
written in terms of the *output* y = f(x) (so the backward pass needs no extra cache).

==========  ===========================  ==============================
name        f(x)                         f′ in terms of y
==========  ===========================  ==============================
sigmoid     1 / (1 + e^(−x))             y (1 − y)
tanh        tanh x                       1 − y²
relu        max(0, x)                    [y > 0]
leaky_relu  x if x > 0 else αx           1 if y > 0 else α
identity    x                            1
==========  ===========================  ==============================

The sigmoid is computed as ½ + ½·tanh(x/2), which is the same function but never overflows.

**Recurrent steps** (the element-wise part of one time step of the recurrent fast path, after
its matrix products; feature-major: one column per example): :func:`lstm_forward`,
:func:`lstm_backward`, :func:`gru_forward`, :func:`gru_backward` (see
:mod:`bprop.recurrent.lstm` and :mod:`bprop.recurrent.gru` for the cells' maths). An Elman step's
element-wise work is its activation and the activation's backward.

**Online training**: :func:`online_epoch`, a whole epoch of per-example SGD through a stack of
Dense + activation layers (:mod:`bprop.ops.online`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bprop.backend import get_xp, into, numpy_like, xp_dtype


def sigmoid(x: Any, out: Any = None) -> Any:
    """σ(x) = 1 / (1 + e^(−x)), computed as ½ tanh(x/2) + ½ (no overflow for large |x|)."""
    xp = get_xp()
    out = into(xp.multiply, x, 0.5, out=out)
    into(xp.tanh, out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_backward(y: Any, dy: Any, out: Any = None) -> Any:
    """∂L/∂x = dy · y (1 − y), from the sigmoid's output y."""
    xp = get_xp()
    out = into(xp.subtract, 1.0, y, out=out)
    out *= y
    out *= dy
    return out


def tanh(x: Any, out: Any = None) -> Any:
    """tanh(x)."""
    return into(get_xp().tanh, x, out=out)


def tanh_backward(y: Any, dy: Any, out: Any = None) -> Any:
    """∂L/∂x = dy · (1 − y²), from tanh's output y."""
    xp = get_xp()
    out = into(xp.multiply, y, y, out=out)
    into(xp.subtract, 1.0, out, out=out)
    out *= dy
    return out


def relu(x: Any, out: Any = None) -> Any:
    """max(x, 0)."""
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim:
        # Same values as maximum(x, 0), faster: NumPy's SIMD loop for maximum runs when both
        # operands are contiguous arrays, while a scalar 0 takes a loop 2-4x slower (a
        # mini-batch epoch of bench/bench_minibatch.py spends 15 ms in ReLU forward with the
        # scalar, 9 ms with this). So compare with a read-only array of zeros of x's shape, or,
        # for big x, of its last axis (broadcast, still faster than the scalar).
        shape = x.shape if x.size <= _ZEROS_MAX_SIZE else x.shape[-1:]
        return np.maximum(x, _zeros(shape, x.dtype), out=out)
    return into(get_xp().maximum, x, 0.0, out=out)


def relu_backward(y: Any, dy: Any, out: Any = None) -> Any:
    """∂L/∂x = dy where y > 0, else 0 (from the ReLU's output y)."""
    xp = get_xp()
    on = y > 0
    return into(xp.multiply, dy, on if numpy_like() else xp.astype(on, dy.dtype), out=out)


def leaky_relu(x: Any, alpha: float = 0.01) -> Any:
    """x where x > 0, else α x."""
    return get_xp().where(x > 0, x, x * alpha)


def leaky_relu_backward(y: Any, dy: Any, alpha: float = 0.01) -> Any:
    """∂L/∂x = dy where y > 0, else α dy (from the leaky ReLU's output y)."""
    return get_xp().where(y > 0, dy, dy * alpha)


def identity(x: Any, out: Any = None) -> Any:
    """x itself, copied (into ``out`` if given)."""
    if out is None:
        return get_xp().asarray(x, copy=True)
    out[...] = x
    return out


def identity_backward(y: Any, dy: Any, out: Any = None) -> Any:
    """∂L/∂x = dy, copied (into ``out`` if given)."""
    return identity(dy, out)


def softmax(x: Any, axis: int = -1) -> Any:
    """Numerically stable softmax: subtract the row maximum before exponentiating."""
    xp = get_xp()
    e = x - xp.max(x, axis=axis, keepdims=True)
    into(xp.exp, e, out=e)
    e /= xp.sum(e, axis=axis, keepdims=True)
    return e


def softmax_backward(y: Any, dy: Any) -> Any:
    """∂L/∂x of y = softmax(x) over the last axis, in terms of y: ∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ), so
    ∂L/∂x = y ⊙ (dy − Σⱼ dyⱼ yⱼ)."""
    return y * (dy - get_xp().sum(dy * y, axis=-1, keepdims=True))


def softmax_cross_entropy(y: Any, target: Any, scale: float = 1.0) -> tuple[float, Any, Any]:
    """Fused softmax + cross-entropy + arg-max of logits y (N, K) against integer labels t (N,)
    or probability rows t (N, K): returns (L, ∂L/∂y, ŷ) with

        L = −scale · Σₙ Σₖ tₙₖ log pₙₖ   (summed in float64),
        ∂L/∂y = scale · (p − t),   p = softmax(y)   (labels: t = onehot),
        ŷₙ = argmaxₖ yₙₖ           (the first of equal maxima, as ``argmax``),

    ``scale`` being 1/N for a mean over the examples. Computed as z = y − max(y),
    log pₙₖ = zₙₖ − log Σₖ e^(zₙₖ), so nothing overflows. The predicted classes ŷ, which a
    training loop counts its accuracy with, come free with the row maxima that stable softmax
    needs: the maximum is read at the arg-max instead of being found by a second pass."""
    xp = get_xp()
    pred = xp.argmax(y, axis=1)
    z = y - xp.take_along_axis(y, pred[:, None], axis=1)
    p = xp.exp(z)
    sums = (p @ xp.ones(p.shape[1], dtype=p.dtype))[:, None]  # BLAS: faster than .sum
    logsum = xp.log(sums)
    p /= sums
    f64 = xp_dtype("float64")
    if target.ndim == 1:
        rows = xp.arange(y.shape[0])
        loss = float(xp.sum(xp.astype(logsum[:, 0] - z[rows, target], f64)))
        if numpy_like():
            p[rows, target] -= 1.0
        else:  # the standard has no fancy-index assignment: subtract the one-hot rows
            p -= xp.astype(target[:, None] == xp.arange(p.shape[1])[None, :], p.dtype)
    else:
        loss = float(xp.sum(xp.astype((logsum - z) * target, f64)))
        p -= target
    if scale != 1.0:
        p *= scale
    return loss * scale, p, pred


# --- read-only arrays of zeros for relu ----------------------------------------------------
_ZEROS: dict[tuple[tuple[int, ...], Any], np.ndarray] = {}
_ZEROS_MAX_SIZE = 1 << 16  # elements; with at most 64 cached shapes: ≤ 32 MB in float64


def _zeros(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A read-only array of zeros, cached per (shape, dtype): nothing ever writes to it."""
    z = _ZEROS.get((shape, dtype))
    if z is None:
        if len(_ZEROS) >= 64:  # many shapes (e.g. varying batch sizes): start afresh
            _ZEROS.clear()
        z = np.zeros(shape, dtype)
        z.flags.writeable = False
        _ZEROS[(shape, dtype)] = z
    return z


ACTIVATIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "relu": (relu, relu_backward),
    "leaky_relu": (leaky_relu, leaky_relu_backward),
    "identity": (identity, identity_backward),
}
"""Each activation's name → (forward, backward)."""


# --- recurrent steps ----------------------------------------------------------------------
def lstm_forward(G: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, col: int) -> None:
    """One LSTM step after its product: G (4H, N) holds the pre-activations a = W [x; h; 1],
    gate blocks i, f, g, o; on return it holds the activated gates (kept for the backward
    step). Writes c_t = f ⊙ c_{t-1} + i ⊙ g into ``c``, tanh(c_t) into ``tc`` and
    h_t = o ⊙ tanh(c_t) into columns col … col + N − 1 of Hs (H, ·), all feature-major."""
    xp = get_xp()
    H, N = c.shape
    sigmoid(G[: 2 * H, ...], out=G[: 2 * H, ...])  # i, f
    tanh(G[2 * H : 3 * H, ...], out=G[2 * H : 3 * H, ...])  # g
    sigmoid(G[3 * H :, ...], out=G[3 * H :, ...])  # o
    i, f, g, o = G[:H, ...], G[H : 2 * H, ...], G[2 * H : 3 * H, ...], G[3 * H :, ...]
    into(xp.multiply, f, c_prev, out=c)
    c += i * g
    tanh(c, out=tc)
    into(xp.multiply, o, tc, out=Hs[:, col : col + N])


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
def peephole_lstm_forward(G: Any, P: Any, c_prev: Any, c: Any, tc: Any, Hs: Any, col: int) -> None:
    """One step of the LSTM with peepholes (Gers, Schraudolph & Schmidhuber 2002) after its
    product: as :func:`lstm_forward`, but the input and forget gates also see c_{t-1} and the
    output gate sees c_t, through the diagonal peephole weights P = [p_i, p_f, p_o] (3H,)::

        i = σ(a_i + p_i ⊙ c_{t-1})   f = σ(a_f + p_f ⊙ c_{t-1})   g = tanh(a_g)
        c_t = f ⊙ c_{t-1} + i ⊙ g    o = σ(a_o + p_o ⊙ c_t)       h_t = o ⊙ tanh(c_t)

    G (4H, N) holds a = W [x; h; 1] and is left holding the activated gates i, f, g, o."""
    xp = get_xp()
    H, N = c.shape
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
    into(xp.multiply, G[3 * H :, ...], tc, out=Hs[:, col : col + N])


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
