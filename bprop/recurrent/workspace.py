"""The recurrent fast path's buffers, kept per cell and sequence shape and reused.

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

from bprop import backend

__all__ = ["BACKWARD_BLOCK_COLUMNS", "BackwardBuffers", "Workspace", "workspace_for"]


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
#: in the backward pass (see BackwardBuffers)
BACKWARD_BLOCK_COLUMNS = 320


class BackwardBuffers(SimpleNamespace):
    """The fast backward pass's buffers. The pre-activation gradients ``dXP``/``dAH`` hold only
    the last ``steps`` time steps (a ring: step t in column block t mod ``steps``); after each
    such block ``fast_backward_flush`` turns it into its share of the weight gradients, one
    product of ``steps``·N ≈ ``BACKWARD_BLOCK_COLUMNS`` columns. Against one product over all
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
