"""Unrolling a cell over time, and full backpropagation through time (BPTT).

This is the one place that unrolls. :class:`Recurrent` turns a cell (one time step) into an
ordinary :class:`bprop.Layer` on sequences (N, T, D); :class:`TimeDistributed` applies any
layer (e.g. :class:`bprop.Dense`) to every time step, so recurrent networks are built, stacked
and trained like any other::

    net = bp.Sequential(Recurrent(LSTM(65, 256)), TimeDistributed(bp.Dense(256, 65)))

**Forward** (the unrolled network): state_0 given, zero, or carried over (``stateful``);
for t = 1 … T: h_t, state_t = cell(x_t, state_{t-1}). The output is (h_1 … h_T), (N, T, H)
with ``return_sequences=True`` (sequence-to-sequence), or h_T, (N, H) (sequence-to-one).

**Full BPTT** (Werbos 1990; Rumelhart, Hinton & Williams 1986, "unfolding in time"): with
e_t = ∂L/∂h_t arriving from above (zero except at T for sequence-to-one), the gradient is
carried backwards through the whole sequence::

    g_T = e_T + ∂L/∂state_T (zero unless given)
    for t = T … 1:   ∂L/∂state_{t-1}, ∂L/∂x_t = cell step backward(e_t + carried, state_t)

and the weight gradient is the sum over all steps of each step's local gradient (the weights are
shared across time). The loss over a sequence-to-sequence output is whatever the loss says —
bprop's losses average over every (example, time step) for (N, T, K) outputs.

Two interchangeable paths compute exactly this: the **fast path** (default; input products
batched, buffers kept and reused, weight gradients accumulated in one matmul per block of steps —
see :mod:`bprop.recurrent.cells`) and the **reference path**
(``fast=False``; ``cell.step``/``cell.step_backward`` step by step). Tests check they agree.

``record_grad_norms=True`` records ‖∂L/∂h_t‖ (Frobenius norm over the batch of the *total*
gradient on h_t) for every step during backward, in ``cache.grad_norms`` and
``layer.grad_norms``: the diagnostic for vanishing and exploding gradients.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent import LSTM, Recurrent, TimeDistributed
    >>> net = bp.Sequential(Recurrent(LSTM(3, 8, rng=0)), TimeDistributed(bp.Dense(8, 2, rng=1)))
    >>> X = np.random.default_rng(0).normal(size=(4, 10, 3))
    >>> y = (X.sum(axis=2) > 0).astype(np.int64)          # (N, T) labels
    >>> h = bp.fit(net, X, y, loss=bp.SoftmaxCrossEntropy(), optimizer=bp.SGD(0.1),
    ...            epochs=2, verbose=0)
    >>> net.predict(X).shape
    (4, 10, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer, Shapes
from bprop.recurrent import lengths as padded
from bprop.recurrent.cells import Cell
from bprop.recurrent.timedistributed import TimeDistributed

__all__ = ["Recurrent", "SequenceCache", "TimeDistributed"]  # TimeDistributed: its own module


class SequenceCache:
    """What :meth:`Recurrent.forward` returns as its cache.

    Attributes set by forward: ``final_state`` (tuple, the state after the last step) and the
    per-step records. Attributes set by backward (its results besides dx):
    ``dinitial_state`` (∂L/∂state_0; for ``stop_at`` > 0 it is ∂L/∂state_{stop_at}) and
    ``grad_norms`` (T,) when recording (NaN for skipped steps).
    """

    def __init__(self, fast: bool, T: int, N: int, x_shape: tuple[int, ...]) -> None:
        self.fast, self.T, self.N, self.x_shape = fast, T, N, x_shape
        self.final_state: tuple[Any, ...] = ()
        self.dinitial_state: tuple[Any, ...] | None = None
        self.grad_norms: np.ndarray | None = None
        self.ws: Any = None  # fast path workspace
        self.cell: Any = None  # the cell whose workspace it is
        self.steps: list[Any] = []  # reference path: per-step caches
        self.states: list[tuple[Any, ...]] = []  # reference path: state after t steps
        self.lengths: np.ndarray | None = None  # each sequence's length (padded batches)

    def state_at(self, t: int) -> tuple[Any, ...]:
        """The (detached copy of the) state after ``t`` steps; t = 0 is the initial state."""
        if self.fast:
            return self.cell.fast_state(self.ws, t)
        return tuple(backend.copy(s) for s in self.states[t])


class Recurrent(Layer):
    """A recurrent layer: a cell unrolled over the time axis of (N, T, D) inputs.

    Args:
        cell: an :class:`bprop.recurrent.Elman`, :class:`~bprop.recurrent.LSTM` or
            :class:`~bprop.recurrent.GRU` (any :class:`~bprop.recurrent.cells.Cell`). The
            layer *shares* the cell's parameters: they are the same arrays.
        return_sequences: output every h_t (N, T, H) (default) or only h_T (N, H).
        stateful: start each forward from the state the previous forward ended in (carried
            over without its gradient), as when a long stream is fed in chunks; the state is
            kept in ``self.state`` and cleared by :meth:`reset_state`.
        fast: the in-place fast path (default; NumPy or CuPy only) or the per-step reference.
        record_grad_norms: record ‖∂L/∂h_t‖ per step during backward.

    ``forward(x, train, initial_state=None)`` also takes an explicit initial state (a tuple of
    (N, H) arrays: (h,) or (h, c)); ``backward(dy, cache, need_dx, dfinal_state=None,
    stop_at=0)`` also takes ∂L/∂state_T (default zero) and backpropagates steps
    ``stop_at … T-1`` only (default 0: full BPTT; truncated BPTT passes both), leaving
    ∂L/∂state_{stop_at} in ``cache.dinitial_state``.

    ``forward(x, train, lengths=L)`` runs a padded batch of variable-length sequences (see
    :mod:`bprop.recurrent.lengths`): each row's state freezes after its own L_n steps.
    """

    takes_lengths = True

    def __init__(
        self,
        cell: Cell,
        return_sequences: bool = True,
        stateful: bool = False,
        fast: bool = True,
        record_grad_norms: bool = False,
    ) -> None:
        if not isinstance(cell, Cell):
            raise TypeError(f"Recurrent needs a recurrent cell, got {type(cell).__name__}")
        super().__init__()
        self.cell = cell
        # one set of parameters: the layer's dicts *are* the cell's
        self.params, self.grads, self.buffers = cell.params, cell.grads, cell.buffers
        self.frozen, self.decay = cell.frozen, cell.decay
        self.return_sequences, self.stateful = bool(return_sequences), bool(stateful)
        self.fast, self.record_grad_norms = bool(fast), bool(record_grad_norms)
        self.state: tuple[Any, ...] | None = None
        #: the last recorded per-step gradient norms (with ``record_grad_norms``)
        self.grad_norms: np.ndarray | None = None

    # the version counter lives on the cell, so freezing through either is seen
    @property
    def _version(self) -> int:  # type: ignore[override]
        return self.cell._version

    @_version.setter
    def _version(self, value: int) -> None:
        if "cell" in self.__dict__:
            self.cell._version = value

    @property
    def n_in(self) -> int:
        """The input size D of each time step."""
        return self.cell.n_in

    @property
    def n_out(self) -> int:
        """The hidden size H (the output size of each step)."""
        return self.cell.n_hidden

    def reset_state(self, state: Any = None) -> None:
        """Forget the carried state (or set it to ``state``)."""
        if state is not None and not isinstance(state, (list, tuple)):
            state = (state,)
        self.state = None if state is None else tuple(state)

    def astype(self, dtype: Any) -> Recurrent:
        Layer.astype(self, dtype)
        if self.state is not None:
            self.state = tuple(backend.astype(s, dtype) for s in self.state)
        return self

    # --- forward --------------------------------------------------------------------------
    def _check_input(self, x: Any) -> Any:
        if not hasattr(x, "ndim"):
            x = backend.asarray(x)
        if x.ndim != 3:
            raise ValueError(
                f"Recurrent({type(self.cell).__name__}) expects sequences of shape "
                f"(batch, time, features) = (N, T, {self.cell.n_in}); got shape {tuple(x.shape)}"
                + (". For one sequence use x[None]" if x.ndim == 2 else "")
            )
        if x.shape[2] != self.cell.n_in:
            raise ValueError(
                f"Recurrent({type(self.cell).__name__}) expects {self.cell.n_in} features per "
                f"time step, got {x.shape[2]} (input shape {tuple(x.shape)})"
            )
        if x.shape[1] < 1:
            raise ValueError("Recurrent needs at least one time step")
        return x

    def forward(
        self, x: Any, train: bool = False, initial_state: Any = None, lengths: Any = None
    ) -> tuple[Any, Any]:
        x = self._check_input(x)
        N, T, _ = x.shape
        lengths = None if lengths is None else padded.check_lengths(lengths, N, T)
        cell = self.cell
        xp = backend.get_xp()
        if initial_state is not None:
            state0 = cell.check_state(initial_state, N)
        elif self.stateful and self.state is not None and self.state[0].shape[0] == N:
            state0 = cell.check_state(self.state, N)
        else:
            state0 = cell.init_state(N, xp.result_type(x.dtype, cell.params["W_hh"].dtype))
        cache = SequenceCache(self.fast and backend.numpy_like(), T, N, tuple(x.shape))
        if cache.fast:
            ws = cell.fast_begin(x, state0, owner=cache)
            cell.fast_forward(ws)  # the T steps
            cache.ws, cache.cell = ws, cell
            cache.final_state = cell.fast_state(ws, T)
            y = cell.fast_outputs(ws) if self.return_sequences else cache.final_state[0].copy()
        else:
            state = state0
            cache.states.append(state0)
            hs = []
            for t in range(T):
                h, state, c = cell.step(x[:, t, ...], state)
                cache.steps.append(c)
                cache.states.append(state)
                hs.append(h)
            cache.final_state = tuple(xp.asarray(s, copy=True) for s in state)
            y = xp.stack(hs, axis=1) if self.return_sequences else xp.asarray(hs[-1], copy=True)
        if lengths is not None:  # each sequence's own end (bprop.recurrent.lengths)
            y = padded.finish_forward(cache, y, lengths, self.return_sequences)
        if self.stateful:  # carried over without its gradient
            self.state = tuple(xp.asarray(s, copy=True) for s in cache.final_state)
        return y, cache

    # --- full BPTT ------------------------------------------------------------------------
    def backward(
        self,
        dy: Any,
        cache: SequenceCache,
        need_dx: bool = True,
        dfinal_state: Any = None,
        stop_at: int = 0,
    ) -> Any:
        T, N = cache.T, cache.N
        seq = self.return_sequences
        expected = (N, T, self.n_out) if seq else (N, self.n_out)
        if dy is not None and tuple(dy.shape) != expected:
            raise ValueError(f"gradient has shape {tuple(dy.shape)}, expected {expected}")
        if cache.lengths is not None:  # from each sequence's own last step
            dy, seq = padded.spread_grad(dy, cache, seq, dfinal_state), True
        dfinal = dfinal_state
        start = int(stop_at)
        if not 0 <= start < T:
            raise ValueError(f"stop_at must be in 0 … {T - 1} (the steps), got {stop_at}")
        record = self.record_grad_norms
        norms = np.full(T, np.nan) if record else None

        def dy_at(t: int) -> Any:
            if dy is None:
                return None
            if seq:
                return dy[:, t, ...]
            return dy if t == T - 1 else None

        cell = self.cell
        if cache.fast:
            ws = cache.ws
            bw = cell.fast_backward_begin(ws, dfinal, need_dx)
            # the cells take ∂L/∂h_t feature-major, (H, N): read transposed from one contiguous
            # (N, H) block (a TimeDistributed layer above hands them so), else copied into one
            # first (6 against 17 µs for the 256-unit LSTM of bench/bench_lstm.py)
            e_t = backend.get_xp().empty((N, self.n_out), dtype=ws.dtype)
            hi = T  # steps t … hi-1 are backpropagated but not yet in the weight gradients
            for t in range(T - 1, start - 1, -1):
                e = dy_at(t)
                if e is not None and not e.flags.c_contiguous:
                    e_t[...] = e
                    e = e_t
                n = cell.fast_step_backward(ws, bw, t, None if e is None else e.T, record)
                if record:
                    norms[t] = n
                if t % bw.steps == 0 or t == start:  # a block of the gradient ring is full
                    cell.fast_backward_flush(ws, bw, t, hi)
                    hi = t
            dX = cell.fast_backward_end(ws, bw)
            dx = None if dX is None else dX.transpose(1, 0, 2)
            cache.dinitial_state = tuple(d.T.copy() for d in bw.dstate)
        else:
            xp = backend.get_xp()
            dstate = None if dfinal is None else tuple(dfinal)
            dx = xp.zeros(cache.x_shape, dtype=cache.states[0][0].dtype) if need_dx else None
            for t in range(T - 1, start - 1, -1):
                e = dy_at(t)
                if record:
                    total = e if dstate is None else (dstate[0] if e is None else e + dstate[0])
                    norms[t] = 0.0 if total is None else float(xp.sqrt(xp.sum(total**2)))
                dx_t, dstate = cell.step_backward(e, dstate, cache.steps[t])
                if need_dx:
                    dx[:, t, ...] = dx_t
            if dstate is None:
                dstate = cell.init_state(N, cache.states[0][0].dtype)
            cache.dinitial_state = dstate
        if record:
            cache.grad_norms = norms
            self.grad_norms = norms
        return dx

    # --- persistence ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "cell": {"type": type(self.cell).__name__, "config": self.cell.get_config()},
            "return_sequences": self.return_sequences,
        }
        if self.stateful:
            cfg["stateful"] = True
        if not self.fast:
            cfg["fast"] = False
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Recurrent:
        from bprop.recurrent import CELLS

        config = dict(config)
        spec = config.pop("cell")
        cell_cls = CELLS.get(spec.get("type", ""))
        if cell_cls is None:
            raise ValueError(f"unknown recurrent cell {spec.get('type')!r}")
        return cls(cell_cls(**spec.get("config", {}), rng=0), **config)

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        from bprop.recurrent import CELLS

        spec = config.get("cell")
        cell_cls = CELLS.get(spec.get("type", "")) if isinstance(spec, dict) else None
        if cell_cls is None:
            raise ValueError(f"unknown recurrent cell {spec!r}")
        return cell_cls.declared_shapes(spec.get("config", {}))

    def __repr__(self) -> str:
        return f"Recurrent({self.cell!r}, return_sequences={self.return_sequences})"
