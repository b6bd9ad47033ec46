"""Recurrent networks and backpropagation through time.

Cells (one time step each): :class:`Elman` (Elman 1990), :class:`LSTM` (Hochreiter &
Schmidhuber 1997, forget gate of Gers et al. 2000), :class:`PeepholeLSTM` (peepholes of Gers,
Schraudolph & Schmidhuber 2002), :class:`GRU` (Cho et al. 2014, PyTorch's reset-gate placement)
and :class:`GRUResetBefore` (``GRU(reset_after=False)``, Cho et al.'s own placement).
:class:`Recurrent` unrolls a cell and backpropagates through time (full
BPTT); :class:`Bidirectional` reads sequences both ways; :class:`TimeDistributed` applies a
layer at every step; padded batches of variable-length sequences take ``lengths``
(:mod:`bprop.recurrent.lengths`, :func:`pad_sequences`); :func:`tbptt_updates` is
truncated BPTT(k1, k2) over a long stream (Williams & Peng 1990), which
:func:`bprop.fit_stream` trains with. :class:`SettlingNetwork` is
recurrent backpropagation (Almeida 1987; Pineda 1987): relax to a fixed point, then relax the
adjoint. :class:`RTRL` is real-time recurrent learning (Williams & Zipser 1989). :class:`Seq2Seq` is
an encoder–decoder with additive attention (Bahdanau et al. 2015), decoded greedily or by beam
search (:mod:`bprop.recurrent.decode`).

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent import LSTM, Recurrent, TimeDistributed
    >>> net = bp.Sequential(Recurrent(LSTM(5, 16, rng=0)), TimeDistributed(bp.Dense(16, 5, rng=1)))
    >>> net.predict(np.zeros((2, 3, 5))).shape
    (2, 3, 5)
"""

from bprop import registry
from bprop.recurrent.bidirectional import Bidirectional
from bprop.recurrent.cells import Cell
from bprop.recurrent.elman import Elman
from bprop.recurrent.gru import GRU
from bprop.recurrent.gru_reset_before import GRUResetBefore
from bprop.recurrent.lengths import pad_sequences
from bprop.recurrent.lstm import LSTM
from bprop.recurrent.onnx_weights import bidirectional_from_onnx, cell_from_onnx, cells_from_onnx
from bprop.recurrent.peephole import PeepholeLSTM
from bprop.recurrent.rbp import RelaxationError, RelaxationWarning, SettlingNetwork
from bprop.recurrent.rtrl import RTRL, rtrl_cost, rtrl_network
from bprop.recurrent.seq2seq import Seq2Seq
from bprop.recurrent.truncated import stream_loss, tbptt_updates
from bprop.recurrent.unroll import Recurrent, SequenceCache, TimeDistributed

#: the cells by class name (model files): the cell table of :mod:`bprop.registry`
CELLS: dict[str, type[Cell]] = registry.table("cell")
for _cell in (Elman, LSTM, GRU, PeepholeLSTM, GRUResetBefore):
    registry.register("cell", _cell)
_CELL_ALIASES = {"rnn": "Elman"}


def make_cell(kind: str, n_in: int, n_hidden: int, rng=None, **kwargs) -> Cell:
    """A cell by name, case-insensitive: ``"lstm"``, ``"gru"``, ``"elman"`` (alias ``"rnn"``)."""
    by_name = {name.lower(): cls for name, cls in CELLS.items()}
    key = _CELL_ALIASES.get(kind.lower(), kind).lower()
    if key not in by_name:
        raise ValueError(f"unknown cell {kind!r}; choose one of {sorted([*by_name, 'rnn'])}")
    return by_name[key](n_in, n_hidden, rng=rng, **kwargs)


#: names that moved up to the training layer (bprop.train), where the one training loop lives
_MOVED = {
    "fit_stream": "bprop.fit_stream (bprop.train.fit_stream)",
    "StreamHistory": "bprop.train.StreamHistory",
}


def __getattr__(name: str):
    """A clear error for the names that moved to :mod:`bprop.train`."""
    if name in _MOVED:
        raise AttributeError(
            f"bprop.recurrent.{name} moved to {_MOVED[name]}: training loops live in bprop.train"
        )
    raise AttributeError(f"module 'bprop.recurrent' has no attribute {name!r}")


# so bp.save / bp.load know the recurrent layers (the model-file registry)
for _cls in (Recurrent, TimeDistributed, Bidirectional, Seq2Seq):
    registry.register("layer", _cls)

__all__ = [
    "CELLS",
    "Bidirectional",
    "GRU",
    "GRUResetBefore",
    "LSTM",
    "PeepholeLSTM",
    "Cell",
    "Elman",
    "RTRL",
    "Seq2Seq",
    "Recurrent",
    "RelaxationError",
    "RelaxationWarning",
    "SettlingNetwork",
    "SequenceCache",
    "TimeDistributed",
    "bidirectional_from_onnx",
    "cell_from_onnx",
    "cells_from_onnx",
    "make_cell",
    "pad_sequences",
    "rtrl_cost",
    "rtrl_network",
    "stream_loss",
    "tbptt_updates",
]
