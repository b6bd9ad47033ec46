"""The cluster as one more gradient source of the training loop (:mod:`bprop.train.sources`).

:class:`ShardSource` gives :meth:`bprop.Trainer.fit` its epochs from shards
(:mod:`bprop.distributed.shards`): the loop keeps the progress bar, history, callbacks,
divergence, interruption and checkpoints; only the gradient comes from elsewhere.

**Full batch** (batch gradient descent, Rprop+/−, iRprop+/−, Quickprop, the bold driver):
every epoch each shard task computes its loss and gradient sums at the current weights
(:func:`bprop.distributed.worker.shard_gradient`); the driver adds them **in float64, in shard
order**, divides by the total count N for ``reduction="mean"``, and applies the update rule,
whose state never leaves the driver:

    E(w) = (1/N) Σₛ Lₛ(w),   ∇E(w) = (1/N) Σₛ gₛ(w)

So the result equals single-process training on the concatenated data up to the order of
floating-point additions inside the sums: sign-based rules (Rprop) take the very same steps,
and the others agree to round-off.

**Mini-batch and online** schedules stream the shards in this process (shard order and the
examples within each shard shuffled by the trainer's generator), one shard in memory at a
time: out-of-core training on one machine. They are not run on a Dask cluster — synchronous
data-parallel mini-batches go through MPI (:mod:`bprop.distributed.mpi`).

An interrupt (Ctrl-C, SIGTERM) stops training at the end of the epoch in progress; the next
``fit`` continues from there exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop import divergence
from bprop.distributed.executors import DaskExecutor, LocalExecutor, connect
from bprop.distributed.shards import as_shards
from bprop.distributed.worker import ModelSpec
from bprop.train.sources import EpochSource


class ShardSource(EpochSource):
    """Epochs from shards, computed here (``cluster=None``) or on a Dask cluster.

    Args:
        trainer: the :class:`bprop.Trainer`.
        X, y: :class:`~bprop.distributed.shards.Shards`, shard paths (``y`` None), ``dask.array``
            data, or in-memory arrays (cut into one shard per worker).
        validation_data: in-memory ``(X, y)``, evaluated in this process after every epoch.
        cluster: a ``distributed.Client``, a scheduler address or ``"local:N"``.
        seed: seeds the dropout masks, by (seed, epoch, shard).
        keep: keep the loaded shards in memory between epochs (local only; the default
            reloads them, which bounds memory by one shard).
    """

    def __init__(
        self,
        trainer: Any,
        X: Any,
        y: Any,
        epochs: int,
        validation_data: tuple[Any, Any] | None,
        cluster: Any = None,
        seed: int = 0,
        keep: bool = False,
    ) -> None:
        self.trainer, self.seed = trainer, int(seed)
        self.full_batch = trainer.schedule.name == "batch"
        if cluster is not None and not self.full_batch:
            raise ValueError(
                f"the {trainer.schedule.name} schedule does not run on a Dask cluster: one "
                "round trip per update costs more than it saves. Use schedule='batch' (batch "
                "GD, Rprop, Quickprop, the bold driver), or MPI for synchronous mini-batches"
            )
        spec = ModelSpec(trainer.net, trainer.loss)
        if cluster is None:
            self.shards = as_shards(X, y)
            self.executor: Any = LocalExecutor(self.shards, spec, keep=keep)
        else:
            client, closer = connect(cluster)
            workers = len(client.scheduler_info().get("workers", ())) or 1
            self.shards = as_shards(X, y, min(workers, len(y) if y is not None else 1))
            self.executor = DaskExecutor(self.shards, spec, client, closer)
        self.data = f"{len(self.shards)} shards"  # named in the divergence message
        self.n: int | None = None
        try:
            self.val = trainer.prepare(*validation_data) if validation_data else None
            self.guard = divergence.DivergenceGuard(trainer.divergence_factor, self._reference())
        except BaseException:
            self.close()  # a cluster started for this fit
            raise

    @property
    def updates_per_epoch(self) -> int | None:
        """For the progress display: one update per epoch on full batch, unknown (None) when
        the shards are streamed in mini-batches."""
        return 1 if self.full_batch else None

    def run_epoch(self) -> tuple[float, float | None]:
        """One epoch (one full-batch update from the shards' sums, or mini-batches streamed
        shard by shard); returns the epoch's loss and accuracy (None if not classifying)."""
        t = self.trainer
        resume = t.progress
        if resume is not None:  # interrupted after this epoch's updates (its "total" is
            # the epoch loss): report the epoch
            t.rng.bit_generator.state = resume["rng_state"]
            t.progress = None
            count = int(resume["count"])
            return float(resume["total"]), (resume["correct"] / count if count else None)
        loss, correct, count, updates = self._batch() if self.full_batch else self._stream()
        acc = correct / count if count else None
        if math.isfinite(loss):
            t._check_interrupt(t.rng.bit_generator.state, self.n, updates, loss, correct, count)
        return loss, acc

    def _batch(self) -> tuple[float, int, int, int]:
        """One full-batch update from the shards' sums."""
        t = self.trainer
        space = t.net.space
        results = self.executor.gradients(space.params, t.epoch, self.seed)
        total, grad = 0.0, np.zeros(space.params.shape, np.float64)
        n = correct = count = 0
        for value, g, rows, c, k in results:  # in shard order
            total += value
            grad += g
            n, correct, count = n + rows, correct + c, count + k
        self.n = n
        if t.loss.reduction == "mean":
            total /= n
            grad /= n
        if not (math.isfinite(total) and np.isfinite(grad).all()):
            return math.nan, correct, count, 0
        space.grads[...] = grad
        return t.update(total), correct, count, 1

    def _stream(self) -> tuple[float, int, int, int]:
        """One epoch of mini-batch (or online) updates, one shard in memory at a time."""
        t = self.trainer
        k = len(self.shards)
        order = t.rng.permutation(k) if t.schedule.shuffle else range(k)
        total, n, correct, count, updates = 0.0, 0, 0, 0, 0
        for s in order:
            X, T = self.executor.data(int(s))
            rows = t.schedule.order(X.shape[0], t.rng)
            if rows is not None:
                X, T = X[rows], T[rows]
            bs = t.schedule.size(X.shape[0])
            value, c, k, u = _run_batches(t, X, T, bs)
            total, correct, count, updates = total + value, correct + c, count + k, updates + u
            n += X.shape[0]
            if not math.isfinite(value):
                return math.nan, correct, count, updates
        self.n = n
        return (total if t.loss.reduction == "sum" else total / n), correct, count, updates

    def finish(self) -> None:
        """End of ``fit``: release the shards (see :meth:`close`)."""
        self.close()

    def close(self) -> None:
        """Release the shards and stop what this source started (called by the loop however
        ``fit`` ends)."""
        self.executor.close()

    def _reference(self) -> float | None:
        """The divergence test's scale, from the first shard (as an epoch loss)."""
        t = self.trainer
        if t.divergence_factor is None:
            return None
        params = t.net.space.params

        def evaluate() -> float:
            value, rows = self.executor.first_loss(params)
            return value / rows

        ref = divergence.reference_loss(evaluate, params)
        if ref is None or t.loss.reduction == "mean":
            return ref
        return ref * sum(s.rows() for s in self.shards)


def _run_batches(t: Any, X: Any, T: Any, bs: int) -> tuple[float, int, int, int]:
    """Mini-batch updates over one shard: (loss total, correct, decisions, updates)."""
    from bprop.train.sources import count_correct, counts_accuracy

    classify = counts_accuracy(T)
    total, correct, count, updates = 0.0, 0, 0, 0
    for i in range(0, X.shape[0], bs):
        xb, tb = X[i : i + bs], T[i : i + bs]
        loss, out, tb = t.step(xb, tb)
        updates += 1
        if not math.isfinite(loss):
            return math.nan, correct, count, updates
        total += loss if t.loss.reduction == "sum" else loss * xb.shape[0]
        if classify:
            c, k = count_correct(out, tb, t.loss.threshold)
            correct, count = correct + c, count + k
    return total, correct, count, updates
