"""A small per-method learning-rate search, so that each method is compared at its best
rather than at one shared rate (Adam at plain gradient descent's rate is not Adam).

For every method that takes a learning rate and whose spec does not fix one, each candidate
rate runs on the *search seeds* — seeds kept apart from the seeds of the comparison itself,
so the rate is not chosen on the very runs it is then judged on. The best rate has the
highest success rate, then the fewest median epochs to target, then the lowest median final
training loss. The comparison then runs ``name:lr=<best>``.

Example::

    >>> with_lr("adam:beta2=0.99", 0.003)
    'adam:lr=0.003,beta2=0.99'
    >>> rows = [{"method": "sgd:lr=0.1", "schedule": "batch", "seed": 0, "success": True,
    ...          "epochs_to_target": 30, "train_loss": 0.01},
    ...         {"method": "sgd:lr=1", "schedule": "batch", "seed": 0, "success": True,
    ...          "epochs_to_target": 8, "train_loss": 0.02}]
    >>> best_specs(["sgd"], [0.1, 1.0], rows)
    {'sgd': 'sgd:lr=1'}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bprop.compare.methods import make, parse_method, rule_lr

#: seeds of the search runs start here, apart from the comparison's 0, 1, 2, …
SEARCH_SEED_OFFSET = 10_000


def with_lr(spec: str, lr: float) -> str:
    """The spec with its learning rate set to ``lr`` (other hyper-parameters kept)."""
    name, hyper = parse_method(spec)
    hyper = {"lr": float(lr), **{k: v for k, v in hyper.items() if k != "lr"}}
    return name + ":" + ",".join(f"{k}={v:g}" for k, v in hyper.items())


def searchable(spec: str) -> bool:
    """Whether a learning-rate search applies: the rule has a rate and the spec fixes none."""
    return "lr" not in parse_method(spec)[1] and rule_lr(make(spec, {})) is not None


def _score(rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    ok = [r for r in rows if r.get("success")]
    epochs = np.median([float(r["epochs_to_target"]) for r in ok]) if ok else np.inf
    losses = [float(r["train_loss"]) for r in rows if r.get("train_loss") is not None]
    loss = float(np.median(losses)) if losses and np.all(np.isfinite(losses)) else np.inf
    return (-len(ok) / max(len(rows), 1), float(epochs), loss)


def best_specs(
    methods: Sequence[str], rates: Sequence[float], rows: Sequence[dict[str, Any]]
) -> dict[str, str]:
    """The best spec per method from the search ``rows`` (methods not searched map to
    themselves)."""
    out = {}
    for m in methods:
        if not searchable(m):
            out[m] = m
            continue
        cands = [with_lr(m, r) for r in rates]
        scored = [(_score([r for r in rows if r["method"] == c]), i) for i, c in enumerate(cands)]
        out[m] = cands[min(scored)[1]]
    return out


def search_lr(
    methods: Sequence[str],
    rates: Sequence[float],
    run: Callable[[list[str], list[int]], list[dict[str, Any]]],
    seeds: int = 2,
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Run every searchable method at every rate on ``seeds`` search seeds with
    ``run(specs, seeds) -> rows`` (one grid for all), and return ({method: best spec}, the
    search rows)."""
    rates = [float(r) for r in rates]
    if not rates or any(not (r > 0 and np.isfinite(r)) for r in rates):
        raise ValueError(f"learning rates to search must be positive numbers, got {rates}")
    specs = [with_lr(m, r) for m in methods if searchable(m) for r in rates]
    if not specs:
        return {m: m for m in methods}, []
    search_seeds = [SEARCH_SEED_OFFSET + s for s in range(int(seeds))]
    rows = list(run(specs, search_seeds))
    return best_specs(methods, rates, rows), rows
