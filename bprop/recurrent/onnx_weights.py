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
activations (or ``Relu`` for an RNN), no ``clip``, no ``input_forget``; anything else is a clear
error.

Directions: a ``direction="bidirectional"`` node holds the forward direction's weights at index
0 of the direction axis and the backward one's at index 1 (and, for an RNN, one activation per
direction). :func:`bidirectional_from_onnx` builds the :class:`~bprop.recurrent.Bidirectional`
layer it computes (the ONNX graph's merge, a Concat or an Add of the two outputs, is given as
``merge``); :func:`cells_from_onnx` gives the cells of a node of any direction — a
``"reverse"`` node's cell is run on each sequence reversed within its own length
(:func:`bprop.recurrent.lengths.reverse_within`), which is what ONNX does with
``sequence_lens``. A bidirectional node with ``P`` gives two PeepholeLSTMs (zero peepholes
where the exported cell was a plain LSTM).

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.onnx_weights import bidirectional_from_onnx, cell_from_onnx
    >>> from bprop.recurrent.onnx_weights import gate_order
    >>> gate_order("LSTM")   # bprop's block k is ONNX's block gate_order[k]
    (0, 2, 3, 1)
    >>> W, R = np.zeros((1, 12, 2)), np.zeros((1, 12, 3))
    >>> type(cell_from_onnx("GRU", W[:, :9], R[:, :9], linear_before_reset=1)).__name__
    'GRU'
    >>> W2, R2 = np.zeros((2, 12, 2)), np.zeros((2, 12, 3))   # two directions
    >>> bi = bidirectional_from_onnx("LSTM", W2, R2, merge="sum")
    >>> type(bi.cell_bwd).__name__, bi.n_out
    ('LSTM', 3)
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

__all__ = [
    "bidirectional_from_onnx",
    "cell_from_onnx",
    "cells_from_onnx",
    "gate_order",
    "load_onnx",
    "onnx_op",
    "to_onnx",
]

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


def _directions(name: str, a: Any, ndim: int, count: int) -> list[Any]:
    """``a`` [directions, ...] split into its ``count`` directions (Nones when a is None)."""
    if a is None:
        return [None] * count
    a = to_array(a)
    if a.ndim == ndim and count == 1:
        return [a]
    if a.ndim != ndim + 1:
        raise ValueError(f"ONNX {name} must have {ndim + 1} axes [directions, ...], got {a.shape}")
    if a.shape[0] != count:
        hint = " (a bidirectional node: bidirectional_from_onnx)" if a.shape[0] == 2 else ""
        raise ValueError(f"ONNX {name} holds {a.shape[0]} directions, {count} expected here{hint}")
    return list(a)


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
    (W,), (R,) = _directions("W", W, 2, 1), _directions("R", R, 2, 1)
    (B,), (P,) = _directions("B", B, 1, 1), _directions("P", P, 1, 1)
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


_DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}


def _text(a: Any) -> str:
    return a.decode() if isinstance(a, bytes) else str(a)


def _activations(op: str, activations: Any, clip: Any, input_forget: int, count: int) -> list:
    """Each direction's RNN activation ("tanh" or "relu"; None for LSTM and GRU), after
    refusing what bprop's cells do not compute."""
    if clip is not None:
        raise ValueError(f"ONNX {op} clip={clip}: bprop's cells do not clip their gates")
    if input_forget:
        raise ValueError(f"ONNX {op} input_forget=1 (coupled gates) is not a bprop cell")
    default = _DEFAULT_ACTIVATIONS[op]
    if activations is None:
        return [default[0] if op == "RNN" else None] * count
    acts = [_text(a).lower() for a in activations]
    if len(acts) != count * len(default):
        raise ValueError(
            f"ONNX {op} activations {acts}: {len(default)} per direction expected, "
            f"{count} direction(s)"
        )
    out = []
    for k in range(count):
        own = tuple(acts[k * len(default) : (k + 1) * len(default)])
        if op == "RNN" and own in (("tanh",), ("relu",)):
            out.append(own[0])
        elif own != default:
            raise ValueError(f"ONNX {op} activations {acts}: bprop's {op} computes {list(default)}")
        else:
            out.append(None)
    return out


def cells_from_onnx(
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
) -> list[Cell]:
    """The bprop cells an ONNX ``RNN``/``LSTM``/``GRU`` node computes, one per direction, with
    their weights: ``[cell]`` for ``direction="forward"``; ``[cell]`` for ``"reverse"``, a cell
    that reads each sequence backwards (run it on
    :func:`bprop.recurrent.lengths.reverse_within` of the input and reverse its outputs back,
    or use :func:`bidirectional_from_onnx` for both directions); ``[forward, backward]`` for
    ``"bidirectional"``.

    ``W``, ``R``, ``B``, ``P`` are the node's inputs (arrays); the keyword arguments its
    attributes (ONNX's names and defaults). ``dtype`` defaults to W's floating type."""
    gate_order(op)
    direction = _text(direction)
    if direction not in _DIRECTIONS:
        raise ValueError(f"ONNX direction must be one of {sorted(_DIRECTIONS)}, got {direction!r}")
    count = _DIRECTIONS[direction]
    acts = _activations(op, activations, clip, input_forget, count)
    Ws, Rs = _directions("W", W, 2, count), _directions("R", R, 2, count)
    Bs, Ps = _directions("B", B, 1, count), _directions("P", P, 1, count)
    H, D = Rs[0].shape[1], Ws[0].shape[1]
    if hidden_size is not None and int(hidden_size) != H:
        raise ValueError(f"ONNX hidden_size={hidden_size} but R has {H} columns")
    cells = []
    with backend.default_dtype(dtype or (Ws[0].dtype if Ws[0].dtype.kind == "f" else "float32")):
        for act in acts:
            if op == "RNN":
                cell: Cell = Elman(D, H, activation=act or "tanh", rng=0)
            elif op == "LSTM":
                cell = LSTM(D, H, rng=0) if P is None else PeepholeLSTM(D, H, rng=0)
            else:
                cell = GRU(D, H, rng=0) if linear_before_reset else GRUResetBefore(D, H, rng=0)
            cells.append(cell)
    return [load_onnx(*args) for args in zip(cells, Ws, Rs, Bs, Ps, strict=True)]


def cell_from_onnx(op: str, W: Any, R: Any, B: Any = None, P: Any = None, **attrs: Any) -> Cell:
    """The bprop cell a one-direction, forward ONNX ``RNN``/``LSTM``/``GRU`` node computes, with
    its weights (arguments as :func:`cells_from_onnx`)."""
    direction = _text(attrs.get("direction", "forward"))
    if direction != "forward":
        raise ValueError(
            f"ONNX {op} direction={direction!r} is not one forward cell: "
            "bidirectional_from_onnx builds a Bidirectional layer, cells_from_onnx the cells"
        )
    return cells_from_onnx(op, W, R, B, P, **attrs)[0]


def bidirectional_from_onnx(
    op: str,
    W: Any,
    R: Any,
    B: Any = None,
    P: Any = None,
    *,
    merge: str = "concat",
    return_sequences: bool = True,
    **attrs: Any,
) -> Any:
    """The :class:`~bprop.recurrent.Bidirectional` layer of a ``direction="bidirectional"``
    ONNX node (arguments as :func:`cells_from_onnx`). ONNX keeps the two directions' outputs
    apart (Y is [T, 2, N, H]); ``merge`` says how the graph joins them: ``"concat"`` (a
    Concat of the two on the feature axis) or ``"sum"`` (an Add)."""
    from bprop.recurrent.bidirectional import Bidirectional

    direction = _text(attrs.pop("direction", "bidirectional"))
    if direction != "bidirectional":
        raise ValueError(
            f"bidirectional_from_onnx needs direction='bidirectional', got {direction!r}"
        )
    fwd, bwd = cells_from_onnx(op, W, R, B, P, direction=direction, **attrs)
    return Bidirectional(fwd, bwd, merge=merge, return_sequences=return_sequences)


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
