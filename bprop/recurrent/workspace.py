"""The recurrent fast path's machinery: its buffers, kept per cell and sequence shape and reused,
and the sequence-level steps every cell shares (the bodies of the ``Cell.fast_*`` methods of
:mod:`bprop.recurrent.cells`, whose module docstring describes the fast path): :func:`begin`
lays out a batch of sequences feature-major, stacks the weights or projects the inputs ahead
(:func:`stacks`) and looks up the
cell's step ops in the op table once; :func:`outputs` hands out h_1 … h_T; the backward pass's
:func:`backward_begin`, :func:`backward_flush` (the weight-gradient products of a block of
steps) and :func:`backward_end`. A cell file keeps only its per-step maths.

The buffers of a sequence shape are kept in a :class:`Workspace` and reused by a later forward
pass of the same shape once nothing refers to the pass that filled them — neither its
:class:`bprop.recurrent.unroll.SequenceCache` nor the outputs it handed out — so a training
loop does not allocate and page in tens of megabytes per step. The fast path is tested against
the reference step.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import Recurrent, Elman
    >>> from bprop.recurrent.workspace import _WORKSPACES
    >>> rnn = Recurrent(Elman(2, 3, rng=0))
    >>> y = rnn(np.ones((4, 5, 2)))
    >>> len(_WORKSPACES[rnn.cell]) >= 1
    True
"""

from __future__ import annotations

import sys
import weakref
from types import SimpleNamespace
from typing import Any

import numpy as np

from bprop import backend, ops

__all__ = [
    "BACKWARD_BLOCK_COLUMNS",
    "BackwardBuffers",
    "block_steps",
    "Workspace",
    "backward_begin",
    "backward_end",
    "backward_flush",
    "begin",
    "outputs",
    "workspace_for",
]


class Workspace(SimpleNamespace):
    """The fast path's buffers for one sequence shape (see the module docstring)."""

    def buffer(self, name: str, shape: tuple[int, ...], handed_out: bool = False) -> Any:
        """The buffer ``name`` of this shape: the one kept from an earlier pass, else new.
        ``handed_out``: the caller receives this array (e.g. the outputs) and may keep it."""
        a = self.__dict__.get(name)
        if a is None or tuple(a.shape) != tuple(shape) or a.dtype != self.dtype:
            a = backend.get_xp().empty(shape, dtype=self.dtype)
            setattr(self, name, a)
        if handed_out:
            self.__dict__.setdefault("handed_out", set()).add(name)
        return a

    def in_use(self) -> bool:
        """Whether anything outside the workspace still refers to a buffer it handed out (or
        to a view of one), counted as ``numpy.ndarray.resize`` does: by reference count."""
        names = self.__dict__.get("handed_out", ())
        return any(sys.getrefcount(self.__dict__[n]) > 2 for n in names)  # the dict + the call

    def cols(self, a: Any, t: int) -> Any:
        """Column block t (time step t of the batch) of a feature-major buffer."""
        return a[:, t * self.N : (t + 1) * self.N]


#: columns (time steps × batch) of pre-activation gradients gathered per weight-gradient product
#: in the backward pass while the weight gradient fits in cache (see BackwardBuffers)
BACKWARD_BLOCK_COLUMNS = 320
#: a weight gradient larger than this many bytes scales the block up (see :func:`block_steps`)
BACKWARD_CACHE_BYTES = 1 << 20
#: the most bytes the backward ring of pre-activation gradients may take
BACKWARD_RING_BYTES = 64 << 20


def block_steps(T: int, N: int, rows: int, weight_bytes: int, itemsize: int) -> int:
    """Time steps per weight-gradient product of the backward pass (of ``T`` steps of ``N``
    columns, into a ring of ``rows`` rows): about ``BACKWARD_BLOCK_COLUMNS`` columns while
    the weight gradient (``weight_bytes``, the largest) stays in cache between products; a
    larger one is written to memory by every product after the first (into a temporary,
    then added), so the block grows with it — ×(its size in MiB) — up to a ring of
    ``BACKWARD_RING_BYTES``. The 4096 × 1090 gradient of a stacked 1024-unit LSTM: one product over
    all 100 steps of a batch of 32, 280 against 300 ms in blocks of 320 columns (one thread)."""
    cols = BACKWARD_BLOCK_COLUMNS * max(1.0, weight_bytes / BACKWARD_CACHE_BYTES)
    cols = min(cols, max(BACKWARD_BLOCK_COLUMNS, BACKWARD_RING_BYTES // (rows * itemsize)))
    return max(1, min(T, -(-int(cols) // N)))


class BackwardBuffers(SimpleNamespace):
    """The fast backward pass's buffers. The pre-activation gradients ``dXP``/``dAH`` hold only
    the last ``steps`` time steps (a ring: step t in column block t mod ``steps``); after each
    such block ``fast_backward_flush`` turns it into its share of the weight gradients, one
    product of ``steps``·N columns (:func:`block_steps`). Against one product over all
    T steps at the end, the block a step writes stays in cache and the buffer is 1/10 the
    size (bench_lstm's 100-step LSTM: the backward pass 25.4–26.0 against 27.3–27.6 ms)."""

    def cols(self, a: Any, t: int) -> Any:
        """Column block of step t in a ring buffer."""
        k = (t % self.steps) * self.N
        return a[:, k : k + self.N]

    def accumulate(self, ws: Workspace, name: str, a: Any, b: Any = None) -> None:
        """``acc[name] += a @ b`` (or ``+= a`` when b is None), into workspace buffers."""
        acc = self.acc.get(name)
        shape = a.shape if b is None else (a.shape[0], b.shape[1])
        if acc is None:
            acc = self.acc[name] = ws.buffer("acc_" + name, shape)
            if b is None:
                acc[...] = a
            else:
                backend.get_xp().matmul(a, b, out=acc)
        elif b is None:
            acc += a
        else:
            tmp = ws.buffer("tmp_" + name, shape)
            backend.get_xp().matmul(a, b, out=tmp)
            acc += tmp


#: the most gate rows (G·H) at which cells with one fused bias stack the weights (see
#: :func:`stacks`): an LSTM of up to 128 units, an Elman network of up to 512
STACK_MAX_ROWS = 512


def stacks(cell: Any, N: int) -> bool:
    """Whether the fast path runs each step as one product ``[W_ih | b | W_hh] [x_t; 1; h_{t-1}]``
    rather than projecting the inputs ahead (:mod:`bprop.recurrent.cells`): for cells with one
    fused bias, a batch of N > 1 and at most ``STACK_MAX_ROWS`` gate rows. Both do the same
    flops; projecting ahead makes the per-step product smaller but is T small products that
    BLAS runs on one thread, where the stacked per-step product uses the second (LSTM, 65
    inputs, H 64, batch 32, two threads: the forward pass 3.1 stacked against 3.8 ms, equal on
    one thread; H 128: 6.4 against 6.7; Elman H 256, batch 8: 2.8 against 3.2); at LSTM
    H 256 (batch 8: 8.8 projected against 9.3 ms stacked) and for N = 1 (one product for all
    steps) projecting ahead wins."""
    return cell.h_bias is None and N > 1 and cell.n_gates * cell.n_hidden <= STACK_MAX_ROWS


# --- the sequence-level fast path of a cell (the Cell.fast_* methods) ----------------------
def begin(cell: Any, X: Any, state0: tuple[Any, ...], owner: Any = None) -> Workspace:
    """Set up the workspace of a batch of sequences X (N, T, D).

    ``owner`` (the forward pass's cache) marks the workspace busy for as long as it lives.
    """
    N, T, D = X.shape
    xp, H, GH = backend.get_xp(), cell.n_hidden, cell.n_gates * cell.n_hidden
    p = cell.params
    dtype = np.result_type(X.dtype, p["W_ih"].dtype)
    stack = stacks(cell, N)
    ws = workspace_for(cell, (T, N, D, np.dtype(dtype).str, stack), dtype, owner)
    ws.stacked = stack
    # column block t of Z is [x_t; 1; h_{t-1}] (stacked; else [x_t; 1] only, and h apart)
    rows = D + 1 + H if stack else D + 1
    ws.Z = Z = ws.buffer("Z", (rows, (T + 1) * N))
    Z[:D].reshape(D, T + 1, N)[:, :T] = X.transpose(2, 1, 0)
    Z[:D, T * N :] = 0  # no input after the last step
    Z[D] = 1
    ws.X1, ws.Xfm = Z[: D + 1, : T * N], Z[:D, : T * N]  # [X; 1] and X, feature-major
    W1 = ws.buffer("W1", (GH, rows))  # [W_ih | b] (stacked: [W_ih | b | W_hh])
    W1[:, :D], W1[:, D] = p["W_ih"], p[cell.x_bias]
    if stack:  # one product per step, W1 Z's block: no projected inputs to add
        W1[:, D + 1 :] = p["W_hh"]
        ws.Hs, ws.W_step, ws.step_in = Z[D + 1 :], W1, Z
        zero = ws.buffer("XP0", (GH, N))
        zero.fill(0)
        ws.XP = xp.broadcast_to(zero, (T, GH, N))
    else:
        # the projected inputs W_ih x_t + b, time-major: step t's (G·H, N) block ws.XP[t] is
        # contiguous (the column blocks of a feature-major (G·H, T·N) product lie one page
        # apart per row at large H: 235 against 104 µs per LSTM step at H 1024, batch 32)
        ws.XP = XP = ws.buffer("XP", (T, GH, N))
        X1 = ws.X1
        if N == 1:  # (T, D + 1) (D + 1, G·H): one product, the same memory as (T, G·H, 1)
            xp.matmul(X1.T, W1.T, out=XP.reshape(T, GH))
        else:  # one (G·H, D + 1) (D + 1, N) product per step
            xp.matmul(W1, X1.reshape(D + 1, T, N).transpose(1, 0, 2), out=XP)
        ws.Hs = ws.buffer("Hs", (H, (T + 1) * N))
        ws.W_step, ws.step_in = p["W_hh"], ws.Hs  # the per-step product W_hh h_{t-1}
    ws.Hs[:, :N] = state0[0].T
    forward, backward = cell.fast_ops()  # the kernel choice, made once per pass
    ws.forward_op = ops.lookup(forward, cell.kernel, dtype)
    ws.backward_op = ops.lookup(backward, cell.kernel, dtype)
    cell._fast_alloc(ws, state0)
    return ws


def outputs(cell: Any, ws: Workspace) -> Any:
    """h_1 … h_T as an (N, T, H) view of a feature-major (H, T, N) buffer of the workspace
    that the caller may keep (the workspace is not reused while anything refers to it).
    Filling it is one copy of H contiguous rows (0.3 against 0.9 ms for a batch-major
    copy, bench_lstm's LSTM); :class:`bprop.recurrent.TimeDistributed` and the losses
    read such views without copying (:mod:`bprop.layout`)."""
    T, N, H = ws.T, ws.N, cell.n_hidden
    y = ws.buffer("Y", (H, T, N), handed_out=True)
    y[...] = ws.Hs[:, N:].reshape(H, T, N)
    return y.transpose(2, 1, 0)


def backward_begin(
    cell: Any, ws: Workspace, dstate: tuple[Any, ...] | None, need_dx: bool = False
) -> BackwardBuffers:
    """Set up the backward buffers; ``bw.dstate`` is the carried gradient ∂L/∂state_T,
    feature-major (H, N) per part; ``bw.dX`` (T, N, D) collects ∂L/∂X when ``need_dx``."""
    T, N, GH = ws.T, ws.N, cell.n_gates * cell.n_hidden
    size = np.dtype(ws.dtype).itemsize
    steps = block_steps(T, N, GH, GH * max(cell.n_in, cell.n_hidden) * size, size)
    bw = BackwardBuffers(N=N, steps=steps, acc={})
    bw.dXP = ws.buffer("dXP", (GH, steps * N))
    bw.dAH = bw.dXP if cell.h_bias is None else ws.buffer("dAH", (GH, steps * N))
    bw.dX = backend.get_xp().zeros((T, N, cell.n_in), dtype=ws.dtype) if need_dx else None
    # W_hhᵀ of the current weights, contiguous: the per-step ∂L/∂h_{t-1} = W_hhᵀ δ runs on it
    # 1.4× faster than on the transposed view at 1024 units (7 % at 512; equal at 64-256)
    W_hh = cell.params["W_hh"]
    bw.W_hhT = ws.buffer("W_hhT", W_hh.shape[::-1])
    # in blocks of 16 rows, NumPy's transposing copy takes 0.2 / 0.65 / 5.3 ms at H 256 / 512 /
    # 1024 (LSTM, one thread), against 0.26 / 2.4 / 12.8 in blocks of 64 and 0.29 / 3.9 / 31 whole
    for r in range(0, W_hh.shape[0], 16):
        bw.W_hhT[:, r : r + 16] = W_hh[r : r + 16].T
    bw.dstate = []
    for k, name in enumerate(cell.state_names):
        d = ws.buffer("d_" + name, (cell.n_hidden, N))
        if dstate is None or dstate[k] is None:
            d.fill(0)
        else:
            d[...] = dstate[k].T
        bw.dstate.append(d)
    return bw


def backward_flush(cell: Any, ws: Workspace, bw: BackwardBuffers, lo: int, hi: int) -> None:
    """Gradients of steps ``lo … hi-1`` (one block of ``bw.steps``, just backpropagated):
    the weight-gradient products of the block, [∂W_ih | ∂b] += Δ [X; 1]ᵀ (the bias gradient, a
    row sum, rides in the product as the bias did forward) and ∂W_hh += Δʰ H_{t-1}ᵀ, added to
    ``bw.acc`` (and Σ Δʰ for a recurrent-side bias), and ∂L/∂x of those steps."""
    N = ws.N
    k = (lo % bw.steps) * N
    dXP, dAH = bw.dXP[:, k : k + (hi - lo) * N], bw.dAH[:, k : k + (hi - lo) * N]
    seq = slice(lo * N, hi * N)
    bw.accumulate(ws, "W_ih_b", dXP, ws.X1[:, seq].T)
    bw.accumulate(ws, "W_hh", dAH, ws.Hs[:, seq].T)
    if cell.h_bias is not None:
        bw.accumulate(ws, cell.h_bias, dAH.sum(axis=1))
    if bw.dX is not None:
        bw.dX[lo:hi] = (dXP.T @ cell.params["W_ih"]).reshape(hi - lo, N, cell.n_in)


def backward_end(cell: Any, ws: Workspace, bw: BackwardBuffers) -> Any:
    """Add the accumulated gradients (``bw.acc``, by parameter name) into ``grads``; return
    ∂L/∂X (T, N, D), time-major, zero for the steps not backpropagated, or None."""
    for name, g in bw.acc.items():
        if name == "W_ih_b":
            cell.grads["W_ih"] += g[:, :-1]
            cell.grads[cell.x_bias] += g[:, -1]
        else:
            cell.grads[name] += g
    return bw.dX


# per cell: [(weak reference to the owner, Workspace)]; weak keys, so a cell's buffers go with it
_WORKSPACES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_KEEP_FREE = 2  # idle workspaces kept per cell (e.g. one training and one validation shape)


def _no_owner() -> None:
    """Stands for the weak reference of an idle workspace."""
    return None


def workspace_for(cell: Any, key: tuple[Any, ...], dtype: Any, owner: Any) -> Workspace:
    """A workspace of ``cell`` for sequences of shape ``key``: an idle one of that shape if
    there is one (idle: the owner of its last pass is gone and nothing holds what it handed
    out), else a new one. Without an owner the workspace is not kept."""
    T, N = key[0], key[1]
    if owner is None:
        return Workspace(key=key, T=T, N=N, dtype=dtype)
    entries = _WORKSPACES.setdefault(cell, [])
    busy, idle = [], []
    for owner_ref, w in entries:
        if owner_ref() is None and not w.in_use():
            idle.append(w)
        else:
            busy.append((owner_ref, w))
    ws = next((w for w in idle if w.key == key), None)
    if ws is None:
        ws = Workspace(key=key, T=T, N=N, dtype=dtype)
    else:
        idle.remove(ws)
    kept = idle[max(0, len(idle) - (_KEEP_FREE - 1)) :]  # the most recently idle others
    entries[:] = busy + [(_no_owner, w) for w in kept]
    entries.append((weakref.ref(owner), ws))
    return ws
