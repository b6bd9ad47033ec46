"""Flattening batches of sequences (N, T, F) into rows, in whichever order the memory holds.

A layer applied at every time step (:class:`bprop.recurrent.TimeDistributed`) and a loss over
every (example, time step) (:class:`bprop.SoftmaxCrossEntropy`) treat the N·T positions as
rows of one matrix; the order of the rows does not matter to them, so long as it is undone
afterwards. The recurrent fast path hands out its outputs time-major in memory (an (N, T, H)
view of a (H, T, N) or (T, N, H) buffer), and its input gradients the same way, so flattening
them example-major would copy (a transpose of megabytes, ~1 ms per step for the LSTM of
``bench/bench_lstm.py``). :func:`rows` flattens example-major or time-major, whichever is a
view; :func:`unrows` undoes it.

Example::

    >>> import numpy as np
    >>> from bprop.layout import rows, unrows
    >>> x = np.arange(24.0).reshape(3, 2, 4).transpose(1, 0, 2)   # (N=2, T=3, F=4), time-major
    >>> r, time_major = rows(x)
    >>> time_major, r.shape, np.shares_memory(r, x)
    (True, (6, 4), True)
    >>> np.array_equal(unrows(r, 2, 3, time_major), x)
    True
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp


def rows(x: Any) -> tuple[Any, bool]:
    """(N, T, ...) → ((N·T, ...) rows, time_major): rows ordered (t, n) when that is a view of
    x and (n, t) is not, else ordered (n, t) (a view when the memory allows, else a copy)."""
    N, T = x.shape[:2]
    rest = tuple(x.shape[2:])
    s_n, s_t = getattr(x, "strides", (0, 0))[:2]  # an array-API array has no strides
    if N > 1 and T > 1 and s_n != T * s_t and s_t == N * s_n:
        return x.swapaxes(0, 1).reshape((T * N, *rest)), True
    return get_xp().reshape(x, (N * T, *rest)), False


def unrows(r: Any, N: int, T: int, time_major: bool) -> Any:
    """The inverse of :func:`rows`: (N·T, ...) rows in the given order → (N, T, ...)."""
    rest = tuple(r.shape[1:])
    if time_major:
        return r.reshape((T, N, *rest)).swapaxes(0, 1)
    return get_xp().reshape(r, (N, T, *rest))


def rows_like(a: Any, time_major: bool) -> Any:
    """Rows of ``a`` (N, T, ...) in a given order (e.g. targets matched to :func:`rows` of the
    outputs); copies when the memory is in the other order."""
    N, T = a.shape[:2]
    rest = tuple(a.shape[2:])
    if time_major:
        return a.swapaxes(0, 1).reshape((T * N, *rest))
    return get_xp().reshape(a, (N * T, *rest))
