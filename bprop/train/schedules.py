"""Schedules: how training examples become weight updates.

==================  ===================================  ======================================
schedule            one update per                       classic name
==================  ===================================  ======================================
``Online``          example (batch of one)               online / incremental / per-pattern
``MiniBatch``       k shuffled examples                  stochastic / mini-batch gradient descent
``FullBatch``       the whole training set, each epoch   batch / offline / per-epoch learning
``StreamSchedule``  k1 new steps of a long stream        truncated BPTT(k1, k2)
``StepSchedule``    one time step of running sequences   real-time (RTRL) learning
==================  ===================================  ======================================

Whether a batch gradient is the **sum** or the **mean** of its per-example gradients is the
loss's ``reduction`` (see :mod:`bprop.losses`): with ``"sum"`` a full-batch step is N times
larger than with ``"mean"`` at the same learning rate.

Shuffling uses the trainer's seeded generator, so a seed reproduces the data order exactly.
``MiniBatch(N)`` over N examples, without shuffling, is exactly ``FullBatch()``.

A :class:`StreamSchedule` trains on one long stream instead of examples: the stream is split
into ``batch_size`` parallel sub-streams, the recurrent state is carried from chunk to chunk,
and each update sees the next k1 steps, backpropagated k2 steps into the past
(:func:`bprop.recurrent.tbptt_updates`); a pass over the stream is an epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Schedule:
    batch_size: int | None  # None: the whole training set
    shuffle: bool = True
    name: str = "minibatch"
    bucket: bool = False  # batches of similar sequence lengths (bprop.train.buckets)

    def size(self, n: int) -> int:
        """The number of examples one update sees, out of ``n``."""
        return n if self.batch_size is None else min(self.batch_size, n)

    def order(self, n: int, rng: np.random.Generator, lengths: Any = None) -> np.ndarray | None:
        """The permutation for this epoch, or None to keep the data order; bucketed by
        ``lengths`` (variable-length sequences) for a bucketing schedule."""
        if not self.shuffle or self.size(n) >= n:
            return None
        if self.bucket and lengths is not None:
            from bprop.train.buckets import bucket_order

            return bucket_order(lengths, self.size(n), rng)
        return rng.permutation(n)


def Online(shuffle: bool = True) -> Schedule:  # noqa: N802 - reads as a schedule
    """Update after every example, visiting them in a fresh random order each epoch."""
    return Schedule(1, shuffle, "online")


def MiniBatch(batch_size: int = 32, shuffle: bool = True, bucket: bool = False) -> Schedule:  # noqa: N802
    """Update after every ``batch_size`` examples, reshuffled each epoch. ``bucket=True``:
    with variable-length sequences (``lengths``), batches of similar lengths, each trimmed
    to its longest (:mod:`bprop.train.buckets`)."""
    if int(batch_size) < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return Schedule(int(batch_size), shuffle, "minibatch", bool(bucket))


def FullBatch() -> Schedule:  # noqa: N802
    """One update per epoch from the gradient over the whole training set."""
    return Schedule(None, False, "batch")


@dataclass(frozen=True)
class StreamSchedule:
    """Truncated BPTT(k1, k2) on a stream (Williams & Peng 1990): update every ``k1`` steps,
    backpropagating ``k2`` ≥ k1 steps (default k2 = k1), over ``batch_size`` parallel
    sub-streams that each carry their recurrent state across chunks."""

    k1: int
    k2: int | None = None
    batch_size: int = 32
    name: str = "stream"

    def __post_init__(self) -> None:
        from bprop.recurrent.truncated import check_truncation

        k1, k2 = check_truncation(self.k1, self.k2)
        object.__setattr__(self, "k1", k1)
        object.__setattr__(self, "k2", k2)
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        object.__setattr__(self, "batch_size", int(self.batch_size))


@dataclass(frozen=True)
class StepSchedule:
    """Update at every time step of sequences that keep running (Williams & Zipser's
    real-time learning): the gradient source carries the recurrent state — and, for RTRL,
    its sensitivities — from step to step across the updates; a pass over the sequences is
    an epoch (see :mod:`bprop.train.realtime`)."""

    name: str = "steps"


SCHEDULES = ("online", "minibatch", "batch")


def get_schedule(
    schedule: str | Schedule | StreamSchedule | StepSchedule | None, batch_size: int | None
) -> Schedule | StreamSchedule | StepSchedule:
    """Resolve ``fit``'s ``schedule``/``batch_size`` pair into a :class:`Schedule` (a
    :class:`StreamSchedule` or :class:`StepSchedule` is returned as it is).

    ``schedule=None`` picks from ``batch_size``: 1 → online, None → mini-batch of 32,
    k → mini-batch of k.
    """
    if isinstance(schedule, Schedule | StreamSchedule | StepSchedule):
        return schedule
    if schedule is None:
        if batch_size == 1:
            return Online()
        return MiniBatch(32 if batch_size is None else batch_size)
    if schedule == "online":
        return Online()
    if schedule in ("minibatch", "mini-batch", "stochastic"):
        return MiniBatch(32 if batch_size is None else batch_size)
    if schedule in ("batch", "full", "fullbatch", "offline"):
        return FullBatch()
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")
