"""Bucketing: mini-batches of sequences of similar lengths, each padded only to its own longest.

A padded batch costs as many time steps as its longest sequence. Shuffling sequences of mixed
lengths into batches wastes most of that on padding; sorting them all by length would make
every epoch's batches the same. Bucketing does both halves: each epoch the examples are
shuffled, cut into pools of ``pool`` batches, sorted by length within each pool, cut into
batches, and the batches shuffled. The trainer then trims each batch to its longest sequence
(``X[:, :max(lengths)]``), so the work per batch follows the lengths in it.

:func:`bucket_order` is the permutation (used by ``MiniBatch(k, bucket=True)``);
:func:`bucket_batches` iterates over the trimmed batches themselves, for a loop of one's own.

Example::

    >>> import numpy as np
    >>> from bprop.train.buckets import bucket_batches
    >>> lengths = np.array([1, 9, 2, 8, 1, 9])
    >>> X = np.zeros((6, 9, 1))
    >>> sorted(lb.tolist() for xb, lb, idx in bucket_batches(X, lengths, 2, rng=0))
    [[1, 1], [2, 8], [9, 9]]
    >>> sorted(xb.shape[1] for xb, lb, idx in bucket_batches(X, lengths, 2, rng=0))
    [1, 8, 9]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from bprop.rng import as_generator

__all__ = ["bucket_batches", "bucket_order"]


def bucket_order(
    lengths: Any, batch_size: int, rng: np.random.Generator, pool: int = 50
) -> np.ndarray:
    """A permutation of the examples whose consecutive runs of ``batch_size`` are the epoch's
    batches: shuffled, sorted by length within pools of ``pool`` batches, batches shuffled.
    One ``rng.permutation`` draw for the examples and one for the batches."""
    L = np.asarray(lengths, dtype=np.int64)
    n, bs = L.shape[0], int(batch_size)
    if bs < 1 or int(pool) < 1:
        raise ValueError(f"batch_size and pool must be at least 1, got {batch_size}, {pool}")
    perm = rng.permutation(n)
    span = bs * int(pool)
    for lo in range(0, n, span):  # sort each pool by length (stable: ties keep the shuffle)
        chunk = perm[lo : lo + span]
        perm[lo : lo + span] = chunk[np.argsort(L[chunk], kind="stable")]
    batches = [perm[i : i + bs] for i in range(0, n, bs)]
    full = [b for b in batches if b.shape[0] == bs]
    order = rng.permutation(len(full))
    rest = [b for b in batches if b.shape[0] != bs]  # a short last batch stays last
    return np.concatenate([full[i] for i in order] + rest) if batches else perm


def bucket_batches(
    X: Any,
    lengths: Any,
    batch_size: int,
    y: Any = None,
    rng: np.random.Generator | int | None = None,
    pool: int = 50,
) -> Iterator[tuple[Any, ...]]:
    """The batches of one epoch of bucketing over a padded batch X (N, T, ...) with
    ``lengths``: ``(xb, lb, idx)`` — or ``(xb, yb, lb, idx)`` when targets ``y`` are given —
    each trimmed to its longest sequence (targets with a time axis of T too), ``idx`` the
    rows of X it holds."""
    L = np.asarray(lengths, dtype=np.int64)
    T = X.shape[1]
    order = bucket_order(L, batch_size, as_generator(rng), pool)
    for i in range(0, order.shape[0], int(batch_size)):
        idx = order[i : i + int(batch_size)]
        lb = L[idx]
        top = int(lb.max())
        xb = X[idx][:, :top]
        if y is None:
            yield xb, lb, idx
            continue
        yb = y[idx]
        if yb.ndim >= 2 and yb.shape[1] == T:
            yb = yb[:, :top]
        yield xb, yb, lb, idx
