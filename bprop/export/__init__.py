"""Export a trained network to ONNX, so that it runs anywhere ONNX runs (onnxruntime, the
browser, a phone) without bprop: ``bp.export_onnx(net, "model.onnx")`` or, from the shell,
``bprop export model.bprop model.onnx``.

Feedforward networks (Dense, the activations, Softmax, Dropout, BatchNorm) and recurrent ones
(:class:`~bprop.recurrent.Recurrent` over Elman, LSTM, PeepholeLSTM, GRU and GRUResetBefore
cells, sequence-to-sequence or sequence-to-one, with TimeDistributed layers) are exported in
evaluation mode, as float32, with a free batch size (and sequence length); see
:mod:`bprop.export.onnx_nodes` for the nodes of each layer. The input is named ``input``
((batch, features) or (batch, time, features)) and the output ``output``. ``scaler`` (the
``{"mean": …, "scale": …}`` a model trained by ``bprop train`` keeps) puts the input's
standardisation (x − μ)/σ into the file, so it takes raw features.

The file is built with the ``onnx`` package's helper API (``pip install 'bprop[onnx]'``),
checked with ``onnx.checker``, and written atomically (:mod:`bprop.modelfile.atomic`). The
tests run each exported file in onnxruntime against bprop's own predictions. Not exported
(yet): bidirectional and variable-length (masked) recurrent layers.

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
from bprop.layers.sequential import Sequential

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


def _is_recurrent(net: Sequential) -> bool:
    from bprop.recurrent.unroll import Recurrent, TimeDistributed

    first = net.layers[0] if net.layers else None
    while isinstance(first, Sequential) and first.layers:
        first = first.layers[0]
    return isinstance(first, (Recurrent, TimeDistributed))


def to_onnx_model(net: Layer, scaler: dict[str, Any] | None = None, name: str = "bprop") -> Any:
    """The ``onnx.ModelProto`` of ``net`` (see the module docstring), checked."""
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from bprop.export.onnx_nodes import Graph, convert

    net = net if isinstance(net, Sequential) else Sequential(net)
    if not net.layers:
        raise ValueError("cannot export an empty network")
    rank = 3 if _is_recurrent(net) else 2
    n_in = _first_size(net)
    g = Graph(helper, numpy_helper, rank)
    x = "input"
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
    out_dims = ["batch", "time"][: g.rank - 1] + [net.n_out or "outputs"]
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
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


def export_onnx(net: Layer, path: str | os.PathLike, scaler: dict[str, Any] | None = None) -> str:
    """Write ``net`` to ``path`` as an ONNX model, atomically; return the file written
    (see the module docstring)."""
    from bprop.modelfile.atomic import check_writable, write_atomically

    check_writable(path)
    data = to_onnx_model(net, scaler).SerializeToString()
    return write_atomically(path, lambda fh: fh.write(data))
