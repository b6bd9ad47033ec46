"""The ONNX nodes of bprop's recurrent layers, for :func:`bprop.export_onnx`.

A :class:`~bprop.recurrent.Recurrent` layer is one ONNX ``RNN``/``LSTM``/``GRU`` node on the
time-major input (T, N, D) (weights by :func:`bprop.recurrent.onnx_weights.to_onnx`;
peepholes as ``P``; ``linear_before_reset`` 1 or 0). Its output Y is (T, directions, N, H) and
Y_h (directions, N, H); sequence-to-sequence takes Y back to (N, T, H), sequence-to-one takes
Y_h (N, H).

A :class:`~bprop.recurrent.Bidirectional` layer whose two cells one ONNX node can hold (same
operator, hidden size and GRU variant; an LSTM beside a PeepholeLSTM gets zero peepholes) is
one node with ``direction="bidirectional"``; any other pair is two nodes, the second with
``direction="reverse"``. The directions' outputs are then merged as the layer merges them:
``Concat`` on the feature axis, or ``Add``.

Variable-length models (``export_onnx(..., lengths=True)``) give every recurrent node the
``sequence_lens`` input. What ONNX computes with it is bprop's meaning of ``lengths``
(:mod:`bprop.recurrent.lengths`), and the tests check it in onnxruntime: Y is zero at padded
steps; the forward direction's Y_h is h at each sequence's own last step; the reverse
direction reads each sequence backwards from its own last real step (never from padding),
so its Y_h is ←h_1, the state after reading the first step, as
:class:`~bprop.recurrent.Bidirectional` outputs for sequence-to-one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.recurrent.bidirectional import Bidirectional
from bprop.recurrent.cells import Cell
from bprop.recurrent.gru import GRU
from bprop.recurrent.onnx_weights import onnx_op, to_onnx
from bprop.recurrent.peephole import PeepholeLSTM
from bprop.recurrent.unroll import Recurrent

__all__ = ["bidirectional", "recurrent"]

_RNN_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu"}


def _kind(cell: Cell) -> tuple[str, int, int]:
    """What one ONNX node must share across its directions: operator, hidden size, and the
    GRU's ``linear_before_reset``."""
    op = onnx_op(cell)
    return op, cell.n_hidden, int(op == "GRU" and isinstance(cell, GRU) and cell.reset_after)


def _node(g: Any, x_tm: str, cells: list[Cell], direction: str) -> tuple[list[str], list[str]]:
    """One RNN/LSTM/GRU node over the time-major ``x_tm`` computing ``cells`` (one, or the
    forward and backward cells of a bidirectional node); returns each direction's Y
    (T, 1, N, H) and Y_h (1, N, H)."""
    op, hidden, linear_before_reset = _kind(cells[0])
    attrs: dict[str, Any] = {"hidden_size": hidden, "direction": direction}
    if op == "RNN":
        attrs["activations"] = [_RNN_ACTIVATIONS[c.activation] for c in cells]
    if op == "GRU":
        attrs["linear_before_reset"] = linear_before_reset
    weights = [to_onnx(c) for c in cells]
    inputs = [x_tm] + [g.const(k, np.concatenate([w[k] for w in weights])) for k in ("W", "R", "B")]
    inputs.append(g.lengths or "")  # sequence_lens
    if any(isinstance(c, PeepholeLSTM) for c in cells):
        P = [w.get("P", np.zeros((1, 3 * hidden))) for w in weights]
        inputs += ["", "", g.const("P", np.concatenate(P))]  # no initial_h, initial_c
    while inputs[-1] == "":
        inputs.pop()
    Y, Y_h = g.name(op.lower() + "_Y"), g.name(op.lower() + "_Y_h")
    g.nodes.append(g.helper.make_node(op, inputs, [Y, Y_h], **attrs))
    if len(cells) == 1:
        return [Y], [Y_h]
    ys = [g.name("Y_fwd"), g.name("Y_bwd")]
    g.nodes.append(g.helper.make_node("Split", [Y], ys, axis=1))
    hs = [g.name("Y_h_fwd"), g.name("Y_h_bwd")]
    g.nodes.append(g.helper.make_node("Split", [Y_h], hs, axis=0))
    return ys, hs


def _outputs(g: Any, ys: list[str], hs: list[str], merge: str, sequences: bool) -> str:
    """The layer's output from the directions' Y and Y_h: (N, T, ·) or (N, ·)."""
    parts, axis = (ys, 1) if sequences else (hs, 0)
    if len(parts) == 1:
        y = parts[0]
    elif merge == "concat":
        y = g.node("Concat", parts, "concat", axis=-1)
    else:
        y = g.node("Add", parts, "sum")
    y = g.node("Squeeze", [y, g.const("axes", [axis], np.int64)], "squeeze")
    if not sequences:
        g.rank = 2
        return y  # (N, H)
    return g.node("Transpose", [y], "batch_major", perm=[1, 0, 2])  # (T, N, H) → (N, T, H)


def _time_major(g: Any, x: str, what: str) -> str:
    if g.rank != 3:
        raise ValueError(f"a {what} layer needs (batch, time, features) input")
    return g.node("Transpose", [x], "time_major", perm=[1, 0, 2])  # (T, N, D)


def recurrent(g: Any, layer: Recurrent, x: str) -> str:
    """The nodes of a :class:`~bprop.recurrent.Recurrent` layer on the (N, T, D) tensor
    ``x``; returns the output tensor's name, (N, T, H) or (N, H)."""
    ys, hs = _node(g, _time_major(g, x, "Recurrent"), [layer.cell], "forward")
    return _outputs(g, ys, hs, "concat", layer.return_sequences)


def bidirectional(g: Any, layer: Bidirectional, x: str) -> str:
    """The nodes of a :class:`~bprop.recurrent.Bidirectional` layer on the (N, T, D) tensor
    ``x``; returns the merged output tensor's name, (N, T, ·) or (N, ·)."""
    x_tm = _time_major(g, x, "Bidirectional")
    cells = [layer.cell_fwd, layer.cell_bwd]
    if _kind(cells[0]) == _kind(cells[1]):
        ys, hs = _node(g, x_tm, cells, "bidirectional")
    else:
        (yf,), (hf,) = _node(g, x_tm, cells[:1], "forward")
        (yb,), (hb,) = _node(g, x_tm, cells[1:], "reverse")
        ys, hs = [yf, yb], [hf, hb]
    return _outputs(g, ys, hs, layer.merge, layer.return_sequences)
