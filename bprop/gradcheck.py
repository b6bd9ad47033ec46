"""Finite-difference gradient checking for any layer, loss or whole network.

Each analytic partial derivative ∂f/∂θᵢ from a backward pass is compared with the fourth-order
central difference, computed in float64,

    (f(θ − 2h eᵢ) − 8 f(θ − h eᵢ) + 8 f(θ + h eᵢ) − f(θ + 2h eᵢ)) / 12h

whose truncation error is O(h⁴), so a larger step (h = 1e-3) keeps round-off small (≈ 1e-12
absolute) where the two-point formula's best accuracy is ≈ 1e-10. The error reported is

    rel = |analytic − numeric| / max(|analytic|, |numeric|, floor)

where ``floor`` keeps derivatives that are zero up to round-off (|∂f/∂θ| ≲ floor) from
dividing round-off by round-off. For a layer, f is a fixed random projection Σ r ⊙ y of its
output (so every output element matters); for a network with a loss, f is the loss. Random
layers (Dropout) draw the same mask in every evaluation; BatchNorm is checked in training mode.

Example::

    >>> import numpy as np, bprop as bp
    >>> x = np.random.default_rng(0).normal(size=(4, 3))
    >>> result = bp.gradcheck(bp.Sequential(bp.Dense(3, 2, rng=0), bp.Tanh()), x)
    >>> result.max_rel_error < 1e-7
    True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer
from bprop.losses import Loss
from bprop.recurrent.lengths import masked_loss


@dataclass
class GradcheckResult:
    """``max_rel_error`` and where it occurred (e.g. ``"0.W[2, 1]"`` or ``"input[0, 3]"``),
    with the analytic and numeric values there; ``errors`` maps each checked array to its
    worst relative error."""

    max_rel_error: float
    where: str
    analytic: float
    numeric: float
    n_checked: int
    errors: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"max relative error {self.max_rel_error:.3g} at {self.where} "
            f"(analytic {self.analytic:.10g}, numeric {self.numeric:.10g}; "
            f"{self.n_checked} derivatives checked)"
        )


def _rel(a: np.ndarray, n: np.ndarray, floor: float) -> np.ndarray:
    return np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)


class _Tracker:
    def __init__(self, floor: float) -> None:
        self.floor, self.worst, self.n = floor, (-1.0, "", 0.0, 0.0), 0
        self.errors: dict[str, float] = {}

    def add(self, name: str, analytic: np.ndarray, numeric: np.ndarray) -> None:
        analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
        if analytic.size == 0:
            return
        rel = _rel(analytic, numeric, self.floor)
        i = int(np.argmax(rel))
        idx = np.unravel_index(i, rel.shape)
        self.errors[name] = float(rel.flat[i])
        self.n += rel.size
        if rel.flat[i] > self.worst[0]:
            where = f"{name}[{', '.join(map(str, idx))}]"
            self.worst = (
                float(rel.flat[i]),
                where,
                float(analytic.flat[i]),
                float(numeric.flat[i]),
            )

    def result(self) -> GradcheckResult:
        err, where, a, n = self.worst
        return GradcheckResult(max(err, 0.0), where, a, n, self.n, self.errors)


def _numeric(f: Any, arr: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of scalar ``f()`` with respect to every element of ``arr``."""
    grad = np.zeros(arr.shape)
    flat = arr.reshape(-1)  # a view: arr is contiguous
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        values = []
        for k in (-2, -1, 1, 2):
            flat[i] = old + k * eps
            values.append(f())
        flat[i] = old
        g[i] = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * eps)
    return grad


def gradcheck(
    obj: Layer | Loss,
    x: Any,
    target: Any = None,
    loss: Loss | None = None,
    *,
    eps: float = 1e-3,
    floor: float = 1e-4,
    check_input: bool = True,
    train: bool = True,
    seed: int = 0,
    lengths: Any = None,
) -> GradcheckResult:
    """Check a layer's (or network's, or loss's) backward pass against central differences.

    Args:
        obj: a :class:`Layer` (any layer or a whole network) or a :class:`Loss`.
        x: the input (for a loss: the prediction y).
        target: targets, for a loss or for a network checked through ``loss``.
        loss: check the network through this loss instead of a random projection.
        eps: the finite-difference step h. The stencil spans ±2h: near a kink (ReLU at 0)
            use a smaller h so the stencil does not cross it.
        floor: the smallest denominator of the relative error (see module docstring).
        check_input: also check ∂f/∂x.
        train: run layers in training mode (Dropout active, BatchNorm with batch statistics).
        lengths: a padded batch of variable-length sequences: the lengths go to the layers
            that take them and the loss is taken over real steps only
            (:mod:`bprop.recurrent.lengths`).
    """
    x = np.array(backend.to_numpy(x), dtype=np.float64, order="C")  # views below need C order
    tracker = _Tracker(floor)
    if isinstance(obj, Loss):
        t = None if target is None else np.asarray(backend.to_numpy(target))
        if t is not None and t.dtype.kind == "f":
            t = t.astype(np.float64)
        _, dy = obj.value_and_grad(x.copy(), t)
        tracker.add("input", dy, _numeric(lambda: obj.value_and_grad(x.copy(), t)[0], x, eps))
        return tracker.result()

    layer = copy.deepcopy(obj).astype(np.float64)
    leaves = layer.leaves()
    rng_states = [
        (leaf.rng, copy.deepcopy(leaf.rng.bit_generator.state))
        for leaf in leaves
        if isinstance(getattr(leaf, "rng", None), np.random.Generator)
    ]
    run = {} if lengths is None else {"lengths": lengths}
    t = None
    if loss is not None:
        t = (
            loss.prepare_targets(target, int(layer.forward(x, train, **run)[0].shape[-1]))
            if target is not None
            else None
        )
        if t is not None and t.dtype.kind == "f":
            t = t.astype(np.float64)
    proj = np.random.default_rng(seed).normal(size=layer.forward(x, train, **run)[0].shape)

    def f_and_dy() -> tuple[float, Any, Any]:
        for gen, state in rng_states:
            gen.bit_generator.state = copy.deepcopy(state)
        y, cache = layer.forward(x, train, **run)
        if loss is None:
            return float((y * proj).sum()), proj.copy(), cache
        value, dy = masked_loss(loss, y, t, lengths)
        return value, dy, cache

    for leaf in leaves:
        leaf.zero_grad()
    _, dy, cache = f_and_dy()
    dx = layer.backward(dy, cache)
    analytic = {(id(leaf), n): np.array(leaf.grads[n]) for leaf in leaves for n in leaf.params}
    names = _param_names(layer)
    for leaf in leaves:
        for n, p in leaf.params.items():
            if n in leaf.frozen:
                continue
            num = _numeric(lambda: f_and_dy()[0], p, eps)
            tracker.add(names.get((id(leaf), n), n), analytic[(id(leaf), n)], num)
    if check_input:
        tracker.add("input", dx, _numeric(lambda: f_and_dy()[0], x, eps))
    return tracker.result()


def _param_names(layer: Layer) -> dict[tuple[int, str], str]:
    named = getattr(layer, "named_params", None)
    if named is None:
        return {}
    return {(id(lyr), n): path for path, lyr, n in named()}
