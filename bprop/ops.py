"""The small table of hot element-wise operations, in readable NumPy-API form.

Each activation has a forward ``f(x, out)`` and a backward ``df(y, dy, out)`` written in terms of
the *output* y = f(x) (so the backward pass needs no extra cache). This NumPy version is the
reference; faster kernels (a Numba loop, a CUDA kernel) may fill the same names and are tested
against it.

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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bprop.backend import get_xp


def sigmoid(x: Any, out: Any = None) -> Any:
    xp = get_xp()
    out = xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def sigmoid_backward(y: Any, dy: Any, out: Any = None) -> Any:
    xp = get_xp()
    out = xp.subtract(1.0, y, out=out)
    out *= y
    out *= dy
    return out


def tanh(x: Any, out: Any = None) -> Any:
    return get_xp().tanh(x, out=out)


def tanh_backward(y: Any, dy: Any, out: Any = None) -> Any:
    xp = get_xp()
    out = xp.multiply(y, y, out=out)
    xp.subtract(1.0, out, out=out)
    out *= dy
    return out


def relu(x: Any, out: Any = None) -> Any:
    if type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim:
        # Same values as maximum(x, 0), faster: NumPy's SIMD loop for maximum runs when both
        # operands are contiguous arrays, while a scalar 0 takes a loop 2-4x slower (a
        # mini-batch epoch of bench/bench_minibatch.py spends 15 ms in ReLU forward with the
        # scalar, 9 ms with this). So compare with a read-only array of zeros of x's shape, or,
        # for big x, of its last axis (broadcast, still faster than the scalar).
        shape = x.shape if x.size <= _ZEROS_MAX_SIZE else x.shape[-1:]
        return np.maximum(x, _zeros(shape, x.dtype), out=out)
    return get_xp().maximum(x, 0, out=out)


def relu_backward(y: Any, dy: Any, out: Any = None) -> Any:
    xp = get_xp()
    out = xp.multiply(dy, y > 0, out=out)
    return out


def leaky_relu(x: Any, alpha: float = 0.01) -> Any:
    return get_xp().where(x > 0, x, x * alpha)


def leaky_relu_backward(y: Any, dy: Any, alpha: float = 0.01) -> Any:
    return get_xp().where(y > 0, dy, dy * alpha)


def identity(x: Any, out: Any = None) -> Any:
    if out is None:
        return x.copy()
    out[...] = x
    return out


def identity_backward(y: Any, dy: Any, out: Any = None) -> Any:
    return identity(dy, out)


def softmax(x: Any, axis: int = -1) -> Any:
    """Numerically stable softmax: subtract the row maximum before exponentiating."""
    xp = get_xp()
    e = x - x.max(axis=axis, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


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
