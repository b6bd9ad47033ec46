"""The op table: bprop's hot element-wise operations, looked up by name.

Each op has exactly two implementations with one name and one signature: the readable one in
:mod:`bprop.ops.reference` (and :mod:`bprop.ops.recurrent`, :mod:`bprop.ops.online`), written
with the backend's array namespace — the maths a student reads — and, for the ops where fusing
pays, a fused CPU twin in :mod:`bprop.ops.numba` (tested equal to the reference). A GPU twin
could fill the same names. A caller chooses once — e.g. when a recurrent workspace is set up —
with :func:`lookup`, then calls the function it got at every step.

=====================  =================================================  ===================
op                     what it computes                                   fused twin
=====================  =================================================  ===================
sigmoid, tanh, …       the activations and their backward (ACTIVATIONS)   —
softmax, …_backward    numerically stable softmax and its backward        —
softmax_cross_entropy  fused softmax + cross-entropy: loss, ∂L/∂logits,   float32/64
                       and the arg-max (predicted classes)                labels
elman_tanh, …_relu     an Elman step's h_t                                —
lstm_forward           an LSTM step's gates, c_t, tanh c_t and h_t        float32
lstm_backward          an LSTM step's δ and ∂L/∂c_{t-1}                   float32/64
gru_forward            a GRU step's gates and h_t                         float32
gru_backward           a GRU step's δˣ, δʰ and part of ∂L/∂h_{t-1}        float32/64
peephole_lstm_…        the same for the LSTM with peepholes               as lstm_…
gru_reset_before_…     the same for the GRU with the reset gate before    —
online_epoch           an epoch of per-example SGD through Dense layers   float32/64
=====================  =================================================  ===================

Kernel choice (the ``kernel`` argument of the cells): ``"auto"`` takes the fused twin when
Numba is installed, the backend is NumPy and the twin serves the dtype, else the reference;
``"numba"`` the same but fails without Numba; ``"numpy"`` always the reference.

Example::

    >>> import numpy as np
    >>> from bprop import ops
    >>> ops.lookup("lstm_forward", "numpy") is ops.recurrent.lstm_forward
    True
    >>> ops.sigmoid(np.zeros(2))
    array([0.5, 0.5])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.ops import numba as fused
from bprop.ops import online, recurrent
from bprop.ops.reference import (
    ACTIVATIONS,
    identity,
    identity_backward,
    leaky_relu,
    leaky_relu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softmax,
    softmax_backward,
    softmax_cross_entropy,
    tanh,
    tanh_backward,
)

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "REFERENCE",
    "check_kernel",
    "has_fused",
    "identity",
    "identity_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "lookup",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy",
    "tanh",
    "tanh_backward",
]

KERNELS = ("auto", "numba", "numpy")
"""The kernel choices :func:`lookup` takes."""

REFERENCE: dict[str, Any] = {
    **{name: f for name, (f, _) in ACTIVATIONS.items()},
    **{name + "_backward": df for name, (_, df) in ACTIVATIONS.items()},
    "softmax": softmax,
    "softmax_backward": softmax_backward,
    "softmax_cross_entropy": softmax_cross_entropy,
    "elman_tanh": recurrent.elman_tanh,
    "elman_relu": recurrent.elman_relu,
    "lstm_forward": recurrent.lstm_forward,
    "lstm_backward": recurrent.lstm_backward,
    "gru_forward": recurrent.gru_forward,
    "gru_backward": recurrent.gru_backward,
    "peephole_lstm_forward": recurrent.peephole_lstm_forward,
    "peephole_lstm_backward": recurrent.peephole_lstm_backward,
    "gru_reset_before_forward": recurrent.gru_reset_before_forward,
    "gru_reset_before_backward": recurrent.gru_reset_before_backward,
    "online_epoch": online.online_epoch,
}
"""Op name → its readable implementation."""


def check_kernel(kernel: str) -> str:
    """``kernel`` if it is one of :data:`KERNELS`, else a ValueError naming them."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be 'auto', 'numba' or 'numpy', got {kernel!r}")
    return kernel


def has_fused(name: str, dtype: Any = None) -> bool:
    """Whether op ``name`` has a compiled twin here that serves ``dtype`` (any, when None)
    under the current backend."""
    fn, dtypes = fused.TWINS.get(name, (None, ()))
    if fn is None or not backend.is_numpy():
        return False
    return dtype is None or np.dtype(dtype) in dtypes


def lookup(name: str, kernel: str = "auto", dtype: Any = None) -> Any:
    """The implementation of op ``name`` to use for arrays of ``dtype``: its fused twin, or
    its reference (see the module docstring for ``kernel``)."""
    if name not in REFERENCE:
        raise KeyError(f"no op {name!r} in the op table; ops: {', '.join(sorted(REFERENCE))}")
    if check_kernel(kernel) == "numpy":
        return REFERENCE[name]
    if kernel == "numba" and not fused.available():
        raise ImportError(f"kernel='numba' needs numba (for op {name!r}): pip install numba")
    return fused.TWINS[name][0] if has_fused(name, dtype) else REFERENCE[name]
