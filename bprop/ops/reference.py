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
its recurrent product) are in :mod:`bprop.ops.recurrent`.

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
