"""The ONNX nodes of each bprop layer, for :func:`bprop.export_onnx` (evaluation mode).

A :class:`Graph` collects nodes and initializers (the weights, as float32) while the layers of
a network are turned into nodes one after another; each converter takes the name of the
tensor flowing in and returns the name of the tensor flowing out. A tensor is either
(batch, features) or, inside a recurrent model, (batch, time, features): ``Graph.rank``.

=================================  ==============================================================
bprop layer                        ONNX
=================================  ==============================================================
Dense                              Gemm (2-D) or MatMul + Add (under TimeDistributed)
Sigmoid, Tanh, ReLU, LeakyReLU,    Sigmoid, Tanh, Relu, LeakyRelu(alpha), Identity, Softmax(−1)
Identity, Softmax
Dropout                            nothing (identity in evaluation)
BatchNorm                          Mul + Add with γ/√(var + ε) and β − mean·γ/√(var + ε)
TimeDistributed(layer)             the layer's nodes on the 3-D tensor (times the (N, T, 1) mask
                                   of real steps in a variable-length model)
Embedding                          Gather of the table's rows (the input is int64 ids (N, T))
Recurrent(Elman / LSTM /           one RNN / LSTM / GRU node (see
PeepholeLSTM / GRU /               :mod:`bprop.export.onnx_recurrent`)
GRUResetBefore)
Bidirectional                      one ``direction="bidirectional"`` node (or a forward and a
                                   reverse one), then Concat or Add of the two directions
=================================  ==============================================================

A recurrent layer starts from the zero state (a ``stateful`` layer's carried state is not part
of the file).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bprop import backend
from bprop.export.onnx_recurrent import bidirectional, recurrent
from bprop.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from bprop.layers.base import Layer
from bprop.layers.batchnorm import BatchNorm
from bprop.layers.dense import Dense
from bprop.layers.dropout import Dropout
from bprop.layers.embedding import Embedding
from bprop.layers.sequential import Sequential
from bprop.recurrent.bidirectional import Bidirectional
from bprop.recurrent.unroll import Recurrent, TimeDistributed

__all__ = ["Graph", "convert"]


class Graph:
    """Nodes and float32 initializers under construction (``helper`` is ``onnx.helper``)."""

    def __init__(self, helper: Any, numpy_helper: Any, rank: int) -> None:
        self.helper, self.numpy_helper, self.rank = helper, numpy_helper, rank
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0
        #: the int32 ``sequence_lens`` tensor of a variable-length model, else None
        self.lengths: str | None = None
        self._mask: str | None = None

    def name(self, hint: str) -> str:
        """A fresh tensor name ``hint_N``, unique within the graph."""
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: Any, dtype: Any = np.float32) -> str:
        """Add ``value`` as an initializer (float32 unless ``dtype`` says otherwise); returns
        its name."""
        name = self.name(hint)
        array = np.ascontiguousarray(np.asarray(backend.to_numpy(value), dtype=dtype))
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def mask(self) -> str:
        """The (N, T, 1) float mask, 1 at real steps (t < lengths[n]) and 0 at padded ones,
        made on first use from the graph inputs ``input`` and ``lengths``."""
        if self._mask is None:
            T = self.node("Shape", ["input"], "steps", start=1, end=2)
            T = self.node("Squeeze", [T], "steps")
            zero, one = (self.const(h, v, np.int64) for h, v in (("zero", 0), ("one", 1)))
            t = self.node("Range", [zero, T, one], "t")  # (T,)
            L = self.node("Unsqueeze", ["lengths", self.const("axes", [1], np.int64)])
            real = self.node("Less", [t, L], "real")  # (N, T)
            real = self.node("Cast", [real], "real", to=1)  # 1: TensorProto.FLOAT
            self._mask = self.node("Unsqueeze", [real, self.const("axes", [2], np.int64)], "mask")
        return self._mask

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        """Append an ONNX ``op`` node reading ``inputs`` (attributes as keywords); returns the
        name of its one output."""
        out = self.name(hint or op.lower())
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out


_ELEMENTWISE = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu", Identity: "Identity"}


def _dense(g: Graph, layer: Dense, x: str) -> str:
    W = g.const("W", layer.params["W"])
    if g.rank == 2 and layer.bias:
        return g.node("Gemm", [x, W, g.const("b", layer.params["b"])], "dense")
    y = g.node("MatMul", [x, W], "dense")
    return g.node("Add", [y, g.const("b", layer.params["b"])], "dense") if layer.bias else y


def _batchnorm(g: Graph, layer: BatchNorm, x: str) -> str:
    p = {k: backend.to_numpy(v).astype(np.float64) for k, v in layer.params.items()}
    var = backend.to_numpy(layer.buffers["running_var"]).astype(np.float64)
    mean = backend.to_numpy(layer.buffers["running_mean"]).astype(np.float64)
    scale = p["gamma"] / np.sqrt(var + layer.eps)
    y = g.node("Mul", [x, g.const("bn_scale", scale)], "batchnorm")
    return g.node("Add", [y, g.const("bn_shift", p["beta"] - mean * scale)], "batchnorm")


def _time_distributed(g: Graph, layer: TimeDistributed, x: str) -> str:
    if g.rank != 3:
        raise ValueError("TimeDistributed needs (batch, time, features) input")
    y = convert(g, layer.layer, x)
    return g.node("Mul", [y, g.mask()], "masked") if g.lengths else y  # zero at padded steps


def _embedding(g: Graph, layer: Embedding, x: str) -> str:
    if x != "input":
        raise ValueError("an Embedding layer is exported as a model's first layer only")
    g.rank = 3  # ids (N, T) → vectors (N, T, D)
    return g.node("Gather", [g.const("embedding", layer.params["W"]), x], "embedding", axis=0)


def _sequential(g: Graph, layer: Sequential, x: str) -> str:
    for child in layer.layers:
        x = convert(g, child, x)
    return x


_CONVERTERS: dict[type, Callable[[Graph, Any, str], str]] = {
    Dense: _dense,
    BatchNorm: _batchnorm,
    Recurrent: recurrent,
    Bidirectional: bidirectional,
    Embedding: _embedding,
    TimeDistributed: _time_distributed,
    Sequential: _sequential,
    LeakyReLU: lambda g, layer, x: g.node("LeakyRelu", [x], alpha=layer.alpha),
    Softmax: lambda g, layer, x: g.node("Softmax", [x], axis=-1),
    Dropout: lambda g, layer, x: x,
}


def convert(g: Graph, layer: Layer, x: str) -> str:
    """Add the nodes of ``layer`` applied to tensor ``x``; return the output tensor's name."""
    if type(layer) in _ELEMENTWISE:
        return g.node(_ELEMENTWISE[type(layer)], [x])
    fn = _CONVERTERS.get(type(layer))
    if fn is None:
        known = sorted({c.__name__ for c in (*_CONVERTERS, *_ELEMENTWISE)})
        raise ValueError(
            f"cannot export a {type(layer).__name__} layer to ONNX; exportable layers: "
            f"{', '.join(known)}"
        )
    return fn(g, layer, x)
