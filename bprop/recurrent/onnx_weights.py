"""Weights of ONNX's recurrent operators ``RNN``, ``LSTM`` and ``GRU``, into bprop's cells (and
back, for :func:`bprop.export_onnx`).

ONNX stacks the gate blocks of ``W`` (input weights, [directions, G·H, D]), ``R`` (recurrent
weights, [directions, G·H, H]) and ``B`` (biases, [directions, 2·G·H] = [Wb | Rb]) in its own
orders; bprop keeps PyTorch's (see :mod:`bprop.recurrent.cells`):

=====  ================  ================  ==============================================
op     ONNX gate order   bprop gate order  biases, peepholes
=====  ================  ================  ==============================================
RNN    —                 —                 b = Wb + Rb
LSTM   i, o, f, c        i, f, g (= c), o  b = Wb + Rb; P = [p_i, p_o, p_f] → [p_i, p_f, p_o]
GRU    z, r, h           r, z, n (= h)     b_ih = Wb, b_hh = Rb
=====  ================  ================  ==============================================

The GRU's ``linear_before_reset`` says where the reset gate sits: 1 is
:class:`~bprop.recurrent.GRU` (``reset_after=True``), 0 (ONNX's default) is Cho et al.'s
original, :class:`~bprop.recurrent.GRUResetBefore`. An LSTM with ``P`` is a
:class:`~bprop.recurrent.PeepholeLSTM`. Only what bprop's cells compute is accepted: the default
activations (or ``Relu`` for an RNN), no ``clip``, no ``input_forget``, one forward direction;
anything else is a clear error.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.onnx_weights import cell_from_onnx, gate_order
    >>> gate_order("LSTM")   # bprop's block k is ONNX's block gate_order[k]
    (0, 2, 3, 1)
    >>> W, R = np.zeros((1, 12, 2)), np.zeros((1, 12, 3))
    >>> type(cell_from_onnx("GRU", W[:, :9], R[:, :9], linear_before_reset=1)).__name__
    'GRU'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.recurrent.cells import Cell
from bprop.recurrent.elman import Elman
from bprop.recurrent.gru import GRU
from bprop.recurrent.gru_reset_before import GRUResetBefore
from bprop.recurrent.initializers import to_array
from bprop.recurrent.lstm import LSTM
from bprop.recurrent.peephole import PeepholeLSTM

__all__ = ["cell_from_onnx", "gate_order", "load_onnx", "onnx_op", "to_onnx"]

_ORDERS = {"RNN": (0,), "LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2)}
_PEEPHOLE_ORDER = (0, 2, 1)  # bprop's [p_i, p_f, p_o] from ONNX's [p_i, p_o, p_f]
_DEFAULT_ACTIVATIONS = {
    "RNN": ("tanh",),
    "LSTM": ("sigmoid", "tanh", "tanh"),
    "GRU": ("sigmoid", "tanh"),
}


def gate_order(op: str) -> tuple[int, ...]:
    """For op ``"RNN"``, ``"LSTM"`` or ``"GRU"``: bprop's gate block k is ONNX's block
    ``gate_order(op)[k]``."""
    if op not in _ORDERS:
        raise ValueError(f"ONNX recurrent op must be 'RNN', 'LSTM' or 'GRU', got {op!r}")
    return _ORDERS[op]


def _blocks(a: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Reorder the len(order) equal blocks of a's first axis."""
    parts = np.split(a, len(order))
    return np.concatenate([parts[k] for k in order])


def _one_direction(name: str, a: Any, ndim: int) -> np.ndarray | None:
    if a is None:
        return None
    a = to_array(a)
    if a.ndim == ndim + 1:
        if a.shape[0] != 1:
            raise ValueError(
                f"ONNX {name} holds {a.shape[0]} directions; bprop loads one forward direction "
                "(bidirectional ONNX layers are not supported here)"
            )
        a = a[0]
    if a.ndim != ndim:
        raise ValueError(f"ONNX {name} must have {ndim + 1} axes [directions, ...], got {a.shape}")
    return a


def onnx_op(cell: Cell) -> str:
    """The ONNX operator computing ``cell``: ``"RNN"``, ``"LSTM"`` or ``"GRU"``."""
    for cls, op in ((Elman, "RNN"), (LSTM, "LSTM"), (GRU, "GRU")):
        if isinstance(cell, cls):
            return op
    raise ValueError(f"no ONNX operator computes a {type(cell).__name__} cell")


def load_onnx(cell: Cell, W: Any, R: Any, B: Any = None, P: Any = None) -> Cell:
    """Copy ONNX ``W``, ``R``, ``B`` (and ``P``, peepholes) of the operator that computes
    ``cell`` (see the module docstring) into it; returns the cell."""
    op = onnx_op(cell)
    order, GH = gate_order(op), cell.n_gates * cell.n_hidden
    W, R = _one_direction("W", W, 2), _one_direction("R", R, 2)
    B, P = _one_direction("B", B, 1), _one_direction("P", P, 1)
    expect = {"W": (W, (GH, cell.n_in)), "R": (R, (GH, cell.n_hidden)), "B": (B, (2 * GH,))}
    expect["P"] = (P, (3 * cell.n_hidden,))
    for name, (a, shape) in expect.items():
        if a is not None and a.shape != shape:
            raise ValueError(f"ONNX {name} has shape {a.shape}, this cell expects {shape}")
    if B is None:
        B = np.zeros(2 * GH)
    Wb, Rb = _blocks(B[:GH], order), _blocks(B[GH:], order)
    values = {"W_ih": _blocks(W, order), "W_hh": _blocks(R, order)}
    if cell.h_bias is None:
        values[cell.x_bias] = Wb + Rb
    else:
        values[cell.x_bias], values[cell.h_bias] = Wb, Rb
    if isinstance(cell, PeepholeLSTM):
        values["p"] = np.zeros(3 * cell.n_hidden) if P is None else _blocks(P, _PEEPHOLE_ORDER)
    elif P is not None and np.any(P != 0):
        raise ValueError(f"ONNX P (peepholes) given, but a {type(cell).__name__} has none")
    for name, v in values.items():
        cell.params[name][...] = backend.asarray(v, dtype=cell.params[name].dtype)
    return cell


def _check_attributes(op: str, activations: Any, clip: Any, input_forget: int, direction: str):
    if direction != "forward":
        raise ValueError(
            f"ONNX {op} direction={direction!r}: bprop loads one forward direction; reverse and "
            "bidirectional layers are not supported here"
        )
    if clip is not None:
        raise ValueError(f"ONNX {op} clip={clip}: bprop's cells do not clip their gates")
    if input_forget:
        raise ValueError(f"ONNX {op} input_forget=1 (coupled gates) is not a bprop cell")
    default = _DEFAULT_ACTIVATIONS[op]
    acts = default if activations is None else tuple(str(a).lower() for a in activations)
    if op == "RNN" and acts in (("tanh",), ("relu",)):
        return acts[0]
    if acts != default:
        raise ValueError(
            f"ONNX {op} activations {list(activations)}: bprop's {op} computes {list(default)}"
        )
    return None


def cell_from_onnx(
    op: str,
    W: Any,
    R: Any,
    B: Any = None,
    P: Any = None,
    *,
    activations: Any = None,
    clip: float | None = None,
    input_forget: int = 0,
    linear_before_reset: int = 0,
    direction: str = "forward",
    hidden_size: int | None = None,
    dtype: Any = None,
) -> Cell:
    """The bprop cell an ONNX ``RNN``/``LSTM``/``GRU`` node computes, with its weights.

    ``W``, ``R``, ``B``, ``P`` are the node's inputs (arrays); the keyword arguments its
    attributes (ONNX's names and defaults). ``dtype`` defaults to W's floating type."""
    gate_order(op)
    act = _check_attributes(op, activations, clip, input_forget, direction)
    W, R = _one_direction("W", W, 2), _one_direction("R", R, 2)
    H, D = R.shape[1], W.shape[1]
    if hidden_size is not None and int(hidden_size) != H:
        raise ValueError(f"ONNX hidden_size={hidden_size} but R has {H} columns")
    with backend.default_dtype(dtype or (W.dtype if W.dtype.kind == "f" else "float32")):
        if op == "RNN":
            cell: Cell = Elman(D, H, activation=act or "tanh", rng=0)
        elif op == "LSTM":
            cell = LSTM(D, H, rng=0) if P is None else PeepholeLSTM(D, H, rng=0)
        else:
            cell = GRU(D, H, rng=0) if linear_before_reset else GRUResetBefore(D, H, rng=0)
    return load_onnx(cell, W, R, B, P)


def to_onnx(cell: Cell) -> dict[str, np.ndarray]:
    """The cell's weights as ONNX node inputs ``W``, ``R``, ``B`` (and ``P`` for peepholes),
    each with one direction axis, as NumPy arrays (the inverse of :func:`load_onnx`; a fused
    bias becomes Wb with Rb = 0)."""
    order = tuple(np.argsort(gate_order(onnx_op(cell))))  # ONNX's block j is bprop's order[j]
    p = {k: backend.to_numpy(v) for k, v in cell.params.items()}
    Wb = _blocks(p[cell.x_bias], order)
    Rb = np.zeros_like(Wb) if cell.h_bias is None else _blocks(p[cell.h_bias], order)
    out = {
        "W": _blocks(p["W_ih"], order)[None],
        "R": _blocks(p["W_hh"], order)[None],
        "B": np.concatenate([Wb, Rb])[None],
    }
    if isinstance(cell, PeepholeLSTM):
        out["P"] = _blocks(p["p"], _PEEPHOLE_ORDER)[None]
    return out
