"""Export a trained network to ONNX, so that it runs anywhere ONNX runs (onnxruntime, the
browser, a phone) without bprop: ``bp.export_onnx(net, "model.onnx")`` or, from the shell,
``bprop export model.bprop model.onnx``.

Feedforward networks (Dense, the activations, Softmax, Dropout, BatchNorm) and recurrent ones
(:class:`~bprop.recurrent.Recurrent` and :class:`~bprop.recurrent.Bidirectional` over Elman,
LSTM, PeepholeLSTM, GRU and GRUResetBefore cells, stacked, sequence-to-sequence or
sequence-to-one, with TimeDistributed layers and an Embedding in front) are exported in
evaluation mode, as float32, with a free batch size (and sequence length); see
:mod:`bprop.export.onnx_nodes` for the nodes of each layer. The input is named ``input``
((batch, features), (batch, time, features), or int64 ids (batch, time) for a model starting
with an Embedding) and the output ``output``. ``lengths=True`` exports a variable-length
model: a second input ``lengths`` (int64, (batch,)) takes each padded sequence's length, and
the file computes ``net.predict(X, lengths=lengths)`` (:mod:`bprop.export.onnx_recurrent`
says how ONNX's ``sequence_lens`` matches bprop's lengths). ``scaler`` (the
``{"mean": …, "scale": …}`` a model trained by ``bprop train`` keeps) puts the input's
standardisation (x − μ)/σ into the file, so it takes raw features.

The file is built with the ``onnx`` package's helper API (``pip install 'bprop[onnx]'``),
checked with ``onnx.checker``, and written atomically (:mod:`bprop.modelfile.atomic`). The
tests run each exported file in onnxruntime against bprop's own predictions.

Example (needs ``onnx``)::

    >>> import bprop as bp, tempfile, os
    >>> net = bp.mlp([4, 8, 3], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.onnx")
    >>> bp.export_onnx(net, path) == os.path.realpath(path)
    True
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bprop.layers.base import Layer
from bprop.layers.embedding import Embedding
from bprop.layers.sequential import Sequential
from bprop.recurrent.bidirectional import Bidirectional
from bprop.recurrent.unroll import Recurrent, TimeDistributed

__all__ = ["OPSET", "export_onnx", "to_onnx_model"]

#: the ONNX operator set the files use (Squeeze takes its axes as an input from 13 on)
OPSET = 17
_IR_VERSION = 8  # the IR version of opset 17, which every onnxruntime since 1.11 reads


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError as e:
        raise ImportError(
            "exporting to ONNX needs the onnx package: pip install 'bprop[onnx]' "
            "(or pip install onnx)"
        ) from e
    return onnx


def _first_size(layer: Layer) -> int | None:
    for leaf in layer.leaves():
        for obj in (leaf, getattr(leaf, "cell", None), getattr(leaf, "layer", None)):
            n = getattr(obj, "n_in", None)
            if n is not None:
                return int(n)
    return None


def _first_layer(net: Sequential) -> Layer | None:
    first = net.layers[0] if net.layers else None
    while isinstance(first, Sequential) and first.layers:
        first = first.layers[0]
    return first


def to_onnx_model(
    net: Layer, scaler: dict[str, Any] | None = None, name: str = "bprop", lengths: bool = False
) -> Any:
    """The ``onnx.ModelProto`` of ``net`` (see the module docstring), checked."""
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from bprop.export.onnx_nodes import Graph, convert

    net = net if isinstance(net, Sequential) else Sequential(net)
    if not net.layers:
        raise ValueError("cannot export an empty network")
    first = _first_layer(net)
    ids = isinstance(first, Embedding)
    rank = 3 if isinstance(first, (Recurrent, TimeDistributed, Bidirectional)) else 2
    n_in = None if ids else _first_size(net)
    g = Graph(helper, numpy_helper, rank)
    x = "input"
    if lengths:
        if rank != 3 and not ids:
            raise ValueError(
                "lengths=True is for models of sequences (starting with a recurrent, "
                f"TimeDistributed or Embedding layer); this one starts with {type(first).__name__}"
            )
        g.lengths = g.node("Cast", ["lengths"], "sequence_lens", to=TensorProto.INT32)
    if scaler and ids:
        raise ValueError("a scaler standardises features; this model takes Embedding ids")
    if scaler:
        mean = np.asarray(scaler["mean"], dtype=np.float64)
        scale = np.asarray(scaler["scale"], dtype=np.float64)
        if n_in is not None and mean.shape != (n_in,):
            raise ValueError(f"scaler has {mean.shape} means; the network takes {n_in} inputs")
        x = g.node("Div", [x, g.const("scaler_scale", scale)], "scaled")
        x = g.node("Sub", [x, g.const("scaler_shift", mean / scale)], "standardised")
    y = convert(g, net, x)
    g.nodes.append(helper.make_node("Identity", [y], ["output"]))
    dims = ["batch", "time"][: rank - 1] + [n_in if n_in is not None else "features"]
    if ids:
        dims = ["batch", "time"]
    kind = TensorProto.INT64 if ids else TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("input", kind, dims)]
    if lengths:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]))
    out_dims = ["batch", "time"][: g.rank - 1] + [net.n_out or "outputs"]
    graph = helper.make_graph(
        g.nodes,
        name,
        inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, out_dims)],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        producer_name="bprop",
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=_IR_VERSION,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(
    net: Layer,
    path: str | os.PathLike,
    scaler: dict[str, Any] | None = None,
    lengths: bool = False,
) -> str:
    """Write ``net`` to ``path`` as an ONNX model, atomically; return the file written
    (see the module docstring)."""
    from bprop.modelfile.atomic import check_writable, write_atomically

    check_writable(path)
    data = to_onnx_model(net, scaler, lengths=lengths).SerializeToString()
    return write_atomically(path, lambda fh: fh.write(data))
