"""What a worker runs: load its shard, and compute its shard's loss and gradient *sums* at the
weights the driver sends.

The same functions run in a Dask worker process and, with the local executor, in the driver
itself, so the cluster and the out-of-core path on one machine share every line of the
computation. For shard s at weights w the task returns

    Lₛ = Σ_{n ∈ s} Eₙ(w),   gₛ = Σ_{n ∈ s} ∇Eₙ(w)   (float64),   |s|,   correct answers

computed with the loss's ``reduction="sum"`` form (so nothing is divided by a shard size);
the driver adds the shards' sums in shard order and divides by the total count once.

Dropout is seeded by (seed, epoch, shard), so a recomputed task draws the same masks. Batch
normalisation needs statistics over all shards, which one pass of independent tasks cannot
give: a model containing it is refused (:func:`check_shardable`).
"""

from __future__ import annotations

import copy
import pickle
import uuid
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.batchnorm import BatchNorm
from bprop.layers.dropout import Dropout
from bprop.train.sources import count_correct, counts_accuracy, prepare_examples

#: model token → (net, sum-form loss), one per worker process (a few runs at most)
_MODELS: dict[str, tuple[Any, Any]] = {}
_KEEP = 4


class ModelSpec:
    """The model a gradient task runs: the pickled network and loss, and a token that lets a
    worker unpickle them once per run rather than once per task."""

    def __init__(self, net: Any, loss: Any) -> None:
        check_shardable(net)
        self.token = uuid.uuid4().hex
        total = copy.copy(loss)
        total.reduction = "sum"
        self.blob = pickle.dumps((net, total), protocol=pickle.HIGHEST_PROTOCOL)

    def model(self) -> tuple[Any, Any]:
        """(net, loss) of this process for this run."""
        got = _MODELS.get(self.token)
        if got is None:
            while len(_MODELS) >= _KEEP:
                _MODELS.pop(next(iter(_MODELS)))
            got = _MODELS[self.token] = pickle.loads(self.blob)
        return got


def check_shardable(net: Any) -> None:
    """Refuse a model whose gradient is not a sum of per-shard gradients."""
    leaves = net.leaves() if hasattr(net, "leaves") else [net]
    bad = [type(layer).__name__ for layer in leaves if isinstance(layer, BatchNorm)]
    if bad:
        raise ValueError(
            f"{bad[0]} cannot be trained on shards exactly: its batch statistics span every "
            "shard, so one pass of independent shard tasks does not give the full-batch "
            "gradient. Train it in one process, or use a model without batch normalisation"
        )


def load_shard(shard: Any, spec: ModelSpec) -> tuple[Any, Any]:
    """Load one shard and convert it for the model (inputs in its dtype, targets in the
    loss's form), with the same checks as in-memory data; errors name the shard."""
    net, loss = spec.model()
    X, y = shard.load()
    try:
        return prepare_examples(net, loss, X, y)
    except ValueError as err:
        raise ValueError(f"{shard!r}: {err}") from err


def shard_gradient(
    spec: ModelSpec, params: Any, data: tuple[Any, Any], index: int, epoch: int, seed: int
) -> tuple[float, np.ndarray, int, int, int]:
    """(loss sum, float64 gradient sum, examples, correct, decisions) of one shard."""
    net, loss = spec.model()
    space = net.space
    space.params[...] = params
    for i, layer in enumerate(net.leaves() if hasattr(net, "leaves") else [net]):
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng([int(seed), int(epoch), int(index), i])
    X, T = data
    space.grads.fill(0)
    out, cache = net.forward(X, train=True)
    value, dy = loss.value_and_grad(out, T)
    net.backward(dy, cache, need_dx=False)
    correct, count = count_correct(out, T, loss.threshold) if counts_accuracy(T) else (0, 0)
    grad = np.array(backend.to_numpy(space.grads), dtype=np.float64)
    return float(value), grad, int(X.shape[0]), correct, count


def shard_loss(spec: ModelSpec, params: Any, data: tuple[Any, Any]) -> tuple[float, int]:
    """(loss sum, examples) of one shard in evaluation mode (the divergence test's scale)."""
    net, loss = spec.model()
    net.space.params[...] = params
    X, T = data
    out, _ = net.forward(X, train=False)
    return float(loss.value_and_grad(out, T)[0]), int(X.shape[0])
