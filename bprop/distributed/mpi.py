"""Synchronous data-parallel mini-batches over MPI (mpi4py): the gradient source of
``Trainer.fit(..., mpi=True)`` and ``mpiexec -n R python -m mpi4py -m bprop train ... --mpi``.

Every rank holds the data and the same generator seed, so every rank draws the same example
order. Each update takes a *global* batch of R·b examples (b = the schedule's batch size);
rank r computes the loss and gradient sums over its slice of b examples, one in-place
``Allreduce`` (buffer form, on the flat gradient buffer) adds the ranks' sums, and every rank
divides by the global count and applies the same update rule to the same gradient — so the
ranks' weights stay identical without ever being sent:

    ∇E = (1/|B|) Σᵣ Σ_{n ∈ Bᵣ} ∇Eₙ,   B = B₀ ∪ … ∪ B_{R−1}

R ranks with batch b equal one process with batch R·b on the same examples (up to the order of
the floating-point additions). Full-batch schedules split the data into R equal slices.
An exception on any rank aborts the whole job (``MPI_Abort``) rather than leave the other ranks
waiting in the collective; Ctrl-C is not deferred under MPI — checkpoint instead.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from bprop.train.sources import ExampleSource, count_correct, counts_accuracy

MPI_EXTRA = 'pip install "bprop[mpi]" (mpi4py and the mpich wheels)'


def import_mpi() -> Any:
    """``mpi4py.MPI``, or an ImportError saying which extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise ImportError(f"training over MPI needs mpi4py: {MPI_EXTRA}") from err
    return MPI


def world() -> Any:
    """``MPI.COMM_WORLD``."""
    return import_mpi().COMM_WORLD


class MPISource(ExampleSource):
    """Epochs of synchronous data-parallel updates (``mpi``: True for ``COMM_WORLD``, or a
    communicator). Validation and the divergence test run on every rank, identically."""

    def __init__(
        self,
        trainer: Any,
        X: Any,
        y: Any,
        epochs: int,
        validation_data: tuple[Any, Any] | None,
        mpi: Any = True,
        validation_split: float = 0.0,
    ) -> None:
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD if mpi is True else mpi
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        if self.rank:
            trainer.verbose = 0  # one progress bar, on rank 0
        self.total_loss = copy.copy(trainer.loss)
        self.total_loss.reduction = "sum"
        super().__init__(trainer, X, y, validation_split, validation_data)
        if self.train[2] is not None:
            raise ValueError(
                "sequences of different lengths (lengths=) are not trained over MPI yet: pad "
                "them to one length, or train in one process"
            )

    def run_epoch(self) -> tuple[float, float | None]:
        try:
            return self._epoch(*self.train[:2])
        except Exception:
            import sys
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            self.comm.Abort(1)  # the other ranks would wait in Allreduce for ever
            raise

    def _epoch(self, X: Any, T: Any) -> tuple[float, float | None]:
        t = self.trainer
        t.progress = None
        n = X.shape[0]
        order = t.schedule.order(n, t.rng)
        if order is not None:
            X, T = X[order], T[order]
        b = -(-n // self.size) if t.schedule.name == "batch" else t.schedule.size(n)
        step = b * self.size
        classify = counts_accuracy(T)
        total, correct, count = 0.0, 0, 0
        for i in range(0, n, step):
            lo = min(i + self.rank * b, n)
            hi = min(lo + b, i + step, n)
            loss, c, k, m = self._update(X[lo:hi], T[lo:hi], classify)
            if not math.isfinite(loss):
                return math.nan, None
            total += loss if t.loss.reduction == "sum" else loss * m
            correct, count = correct + c, count + k
        epoch_loss = total if t.loss.reduction == "sum" else total / n
        return epoch_loss, (correct / count if classify else None)

    def _update(self, xb: Any, tb: Any, classify: bool) -> tuple[float, int, int, int]:
        """One global update; returns (its loss, correct, decisions, global batch size)."""
        t = self.trainer
        space = t.net.space
        space.grads.fill(0)
        stats = np.zeros(4)
        if xb.shape[0]:
            out, cache = t.net.forward(xb, train=True)
            value, dy = self.total_loss.value_and_grad(out, tb)
            t.net.backward(dy, cache, need_dx=False)
            c, k = count_correct(out, tb, t.loss.threshold) if classify else (0, 0)
            stats[:] = value, c, k, xb.shape[0]
        self.comm.Allreduce(self.MPI.IN_PLACE, space.grads, op=self.MPI.SUM)
        self.comm.Allreduce(self.MPI.IN_PLACE, stats, op=self.MPI.SUM)
        value, m = float(stats[0]), int(stats[3])
        if t.loss.reduction == "mean":
            value /= m
            space.grads /= m
        if not math.isfinite(value):
            return math.nan, 0, 0, m
        return t.update(value), int(stats[1]), int(stats[2]), m
