"""Bidirectional recurrent layer (Schuster & Paliwal 1997): one cell reads each sequence
forwards, another reads it backwards, and their outputs are merged step by step.

With x_1 … x_L a sequence of length L (its own length in a padded batch)::

    →h_t = cell_fwd(x_t, →h_{t-1}),  t = 1 … L          (→h_0 = 0)
    ←h_t = cell_bwd(x_t, ←h_{t+1}),  t = L … 1          (←h_{L+1} = 0)
    y_t  = [→h_t ; ←h_t]  (merge="concat")  or  →h_t + ←h_t  (merge="sum")

The backward direction is an ordinary unrolled cell run on each sequence reversed *within its
own length* (:func:`bprop.recurrent.lengths.reverse_within`), so it starts at the sequence's last
real step, never at padding; its outputs are reversed back before merging. BPTT is then two
independent full-BPTT passes (:class:`bprop.recurrent.Recurrent`): the merge splits ∂L/∂y_t
into ∂L/∂→h_t and ∂L/∂←h_t (the two halves for "concat", the same gradient twice for "sum"),
the backward direction's half is reversed like its inputs were, and ∂L/∂x is the sum of the
two directions' input gradients. Sequence-to-one (``return_sequences=False``) outputs
[→h_L ; ←h_1] — each direction's final state, as ``torch.nn.LSTM(bidirectional=True)``'s
``h_n`` — and is tested equal to PyTorch's on the same weights (outputs and gradients).

The layer holds both cells' parameters under ``fwd_``/``bwd_`` names (``fwd_W_ih``,
``bwd_b`` …), shared with the cells.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent import Bidirectional, LSTM
    >>> bi = Bidirectional(LSTM(3, 4, rng=0), LSTM(3, 4, rng=1))
    >>> bi(np.zeros((2, 5, 3))).shape
    (2, 5, 8)
    >>> y = bi.forward(np.ones((2, 5, 3)), lengths=np.array([5, 2]))[0]
    >>> float(abs(y[1, 2:]).max())                      # padded steps are zero
    0.0
"""

from __future__ import annotations

from typing import Any

from bprop import backend
from bprop.layers.base import Layer, Shapes
from bprop.recurrent import lengths as padded
from bprop.recurrent.cells import Cell
from bprop.recurrent.unroll import Recurrent

MERGES = ("concat", "sum")


class Bidirectional(Layer):
    """Two cells over the time axis of (N, T, D) inputs, one forwards and one backwards.

    Args:
        cell_fwd, cell_bwd: the two cells (any :class:`~bprop.recurrent.cells.Cell`; same
            input size, and same hidden size for ``merge="sum"``).
        merge: ``"concat"`` (outputs of size H_fwd + H_bwd) or ``"sum"`` (size H).
        return_sequences: every step's merged output (N, T, ·) (default), or the merged final
            states (N, ·).
        fast: the recurrent fast path (default) or the per-step reference path.

    ``forward(x, train, lengths=None)`` takes a padded batch's lengths
    (:mod:`bprop.recurrent.lengths`).
    """

    takes_lengths = True

    def __init__(
        self,
        cell_fwd: Cell,
        cell_bwd: Cell,
        merge: str = "concat",
        return_sequences: bool = True,
        fast: bool = True,
    ) -> None:
        for c in (cell_fwd, cell_bwd):
            if not isinstance(c, Cell):
                raise TypeError(f"Bidirectional needs two recurrent cells, got {type(c).__name__}")
        if merge not in MERGES:
            raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
        if cell_fwd.n_in != cell_bwd.n_in:
            raise ValueError(
                f"the two cells read inputs of different sizes ({cell_fwd.n_in} and "
                f"{cell_bwd.n_in})"
            )
        if merge == "sum" and cell_fwd.n_hidden != cell_bwd.n_hidden:
            raise ValueError(
                f'merge="sum" needs cells of one hidden size, got {cell_fwd.n_hidden} and '
                f"{cell_bwd.n_hidden}"
            )
        super().__init__()
        self.merge, self.return_sequences, self.fast = merge, bool(return_sequences), bool(fast)
        self.directions = {
            "fwd": Recurrent(cell_fwd, self.return_sequences, fast=self.fast),
            "bwd": Recurrent(cell_bwd, self.return_sequences, fast=self.fast),
        }
        for prefix, rnn in self.directions.items():
            for name, value in rnn.cell.params.items():
                self.params[f"{prefix}_{name}"] = value
                self.grads[f"{prefix}_{name}"] = rnn.cell.grads[name]
                if name in rnn.cell.decay:
                    self.decay.add(f"{prefix}_{name}")

    @property
    def cell_fwd(self) -> Cell:
        """The cell reading the sequence forwards (t = 1 … T), bound to this layer's weights."""
        return self._synced("fwd").cell

    @property
    def cell_bwd(self) -> Cell:
        """The cell reading the sequence backwards (t = T … 1), bound to this layer's weights."""
        return self._synced("bwd").cell

    def _synced(self, prefix: str) -> Recurrent:
        """The direction's Recurrent, its cell's arrays made this layer's (which the model's
        flat buffer, ``astype`` or loading may have replaced)."""
        rnn = self.directions[prefix]
        for name in rnn.cell.params:
            rnn.cell.params[name] = self.params[f"{prefix}_{name}"]
            rnn.cell.grads[name] = self.grads[f"{prefix}_{name}"]
        return rnn

    @property
    def n_in(self) -> int:
        """Input features per time step."""
        return self.directions["fwd"].cell.n_in

    @property
    def n_out(self) -> int:
        """Output features per step: H_fwd + H_bwd for ``merge="concat"``, else H."""
        hf, hb = (self.directions[k].cell.n_hidden for k in ("fwd", "bwd"))
        return hf + hb if self.merge == "concat" else hf

    @staticmethod
    def _reverse(x: Any, lengths: Any) -> Any:
        """Each sequence reversed within its own length (all of it without lengths)."""
        if lengths is None:
            return backend.get_xp().flip(x, axis=1)
        return padded.reverse_within(x, lengths)

    def forward(self, x: Any, train: bool = False, lengths: Any = None) -> tuple[Any, Any]:
        fwd, bwd = self._synced("fwd"), self._synced("bwd")
        x = fwd._check_input(x)
        if lengths is not None:
            lengths = padded.check_lengths(lengths, x.shape[0], x.shape[1])
        yf, cf = fwd.forward(x, train, lengths=lengths)
        yb, cb = bwd.forward(self._reverse(x, lengths), train, lengths=lengths)
        if self.return_sequences:
            yb = self._reverse(yb, lengths)
        xp = backend.get_xp()
        y = xp.concat((yf, yb), axis=-1) if self.merge == "concat" else yf + yb
        return y, (cf, cb, lengths)

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        cf, cb, lengths = cache
        fwd, bwd = self._synced("fwd"), self._synced("bwd")
        if self.merge == "concat":
            H = fwd.cell.n_hidden
            dyf, dyb = dy[..., :H], dy[..., H:]
        else:
            dyf = dyb = dy
        if self.return_sequences:
            dyb = self._reverse(dyb, lengths)
        dxf = fwd.backward(dyf, cf, need_dx)
        dxb = bwd.backward(dyb, cb, need_dx)
        if not need_dx:
            return None
        return dxf + self._reverse(dxb, lengths)

    # --- PyTorch interop and persistence ---------------------------------------------------
    def load_torch_module(self, module: Any, layer: int = 0) -> Bidirectional:
        """Copy layer ``layer`` of a ``torch.nn.RNN``/``LSTM``/``GRU`` built with
        ``bidirectional=True`` (``weight_ih_l0`` … and ``weight_ih_l0_reverse`` …)."""
        for prefix, sfx in (("fwd", f"_l{layer}"), ("bwd", f"_l{layer}_reverse")):
            get = lambda n, s=sfx: getattr(module, n + s, None)  # noqa: E731
            self._synced(prefix).cell.load_torch(
                get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")
            )
        return self

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {}
        for prefix, key in (("fwd", "cell_fwd"), ("bwd", "cell_bwd")):
            cell = self.directions[prefix].cell
            cfg[key] = {"type": type(cell).__name__, "config": cell.get_config()}
        cfg.update(merge=self.merge, return_sequences=self.return_sequences)
        if not self.fast:
            cfg["fast"] = False
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        cells = [_cell_class(config.pop(k)) for k in ("cell_fwd", "cell_bwd")]
        return cls(*(c(**spec.get("config", {}), rng=0) for c, spec in cells), **config)

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        params: Shapes = {}
        for prefix, key in (("fwd", "cell_fwd"), ("bwd", "cell_bwd")):
            cell_cls, spec = _cell_class(config.get(key))
            shapes, _ = cell_cls.declared_shapes(spec.get("config", {}))
            params.update({f"{prefix}_{n}": s for n, s in shapes.items()})
        return params, {}

    def __repr__(self) -> str:
        return (
            f"Bidirectional({self.directions['fwd'].cell!r}, {self.directions['bwd'].cell!r}, "
            f"merge={self.merge!r}, return_sequences={self.return_sequences})"
        )


def _cell_class(spec: Any) -> tuple[type[Cell], dict[str, Any]]:
    """The registered cell class a saved ``{"type": …, "config": …}`` names, and the spec."""
    from bprop.recurrent import CELLS

    cell_cls = CELLS.get(spec.get("type", "")) if isinstance(spec, dict) else None
    if cell_cls is None:
        raise ValueError(f"unknown recurrent cell {spec!r}")
    return cell_cls, spec
