"""Every update rule and transform in bprop, driven from one table.

Each row: a name, the rule for the quadratic, the rule for the Rosenbrock function (per-rule
hyper-parameters, tuned once and fixed here), and the iteration budgets. Every rule must

- reach ‖w − w*‖ < 1e-4 on the quadratic f(w) = ½ wᵀAw − bᵀw from (2, −1.5) (f* = −0.7 < 0,
  which also checks that loss-comparing rules cope with negative losses);
- reach ‖w − (1, 1)‖ < 1e-2 on Rosenbrock's (1 − x)² + 100 (y − x²)² from (−1.2, 1);
- keep its state structure (same keys, shapes and dtypes) through updates, in float32 and float64;
- round-trip its state exactly through ``bp.save`` / ``bp.load_checkpoint``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop.data import xor
from bprop.optim import (
    RULES,
    SGD,
    AdaGrad,
    Adam,
    BoldDriver,
    Chain,
    ClipByGlobalNorm,
    ClipByValue,
    Momentum,
    Nesterov,
    Quickprop,
    ReduceOnPlateau,
    RMSprop,
    Rprop,
    Scale,
    ScaleByAdagrad,
    ScaleByAdam,
    ScaleByBoldDriver,
    ScaleByQuickprop,
    ScaleByRms,
    ScaleByRprop,
    ScaleBySchedule,
    Trace,
    UpdateRule,
    WeightDecay,
    rule_to_config,
)
from bprop.optim.schedules import Cosine

A = np.array([[3.0, 1.0], [1.0, 2.0]])
B = np.array([1.0, -1.0])


def quadratic(w: np.ndarray) -> tuple[float, np.ndarray]:
    return float(0.5 * w @ A @ w - B @ w), A @ w - B


def rosenbrock(w: np.ndarray) -> tuple[float, np.ndarray]:
    x, y = w
    r = y - x * x
    return float((1 - x) ** 2 + 100 * r * r), np.array([-2 * (1 - x) - 400 * x * r, 200 * r])


QUAD_START, ROSEN_START = (2.0, -1.5), (-1.2, 1.0)
QUAD_BUDGET, ROSEN_BUDGET = 2_000, 20_000

# name: (rule for the quadratic, rule for Rosenbrock); a chained WeightDecay adds ½λ‖w‖² to f
TABLE: dict[str, tuple[Callable[[], UpdateRule], Callable[[], UpdateRule]]] = {
    "sgd": (lambda: SGD(0.3), lambda: SGD(0.002)),
    "momentum": (lambda: Momentum(0.1, 0.5), lambda: Momentum(0.001, 0.9)),
    "nesterov": (lambda: Nesterov(0.1, 0.5), lambda: Nesterov(0.001, 0.9)),
    "rprop+": (lambda: Rprop("rprop+"), lambda: Rprop("rprop+")),
    "rprop-": (lambda: Rprop("rprop-"), lambda: Rprop("rprop-")),
    "irprop+": (lambda: Rprop("irprop+"), lambda: Rprop("irprop+")),
    "irprop-": (lambda: Rprop("irprop-"), lambda: Rprop("irprop-")),
    "quickprop": (lambda: Quickprop(0.1), lambda: Quickprop(0.001)),
    "bold_driver": (lambda: BoldDriver(0.1), lambda: BoldDriver(0.001)),
    "bold_driver_momentum": (
        lambda: BoldDriver(0.1, momentum=0.9),
        lambda: BoldDriver(0.001, momentum=0.9),
    ),
    "adagrad": (lambda: AdaGrad(0.5), lambda: AdaGrad(0.5)),
    "rmsprop": (lambda: RMSprop(0.01, rho=0.99), lambda: RMSprop(0.001, rho=0.99)),
    "adam": (lambda: Adam(0.05), lambda: Adam(0.05)),
    "clip_value+momentum": (
        lambda: Chain(ClipByValue(1.0), Momentum(0.1, 0.5)),
        lambda: Chain(ClipByValue(1.0), Momentum(0.001, 0.9)),
    ),
    "clip_norm+adam": (
        lambda: Chain(ClipByGlobalNorm(1.0), Adam(0.05)),
        lambda: Chain(ClipByGlobalNorm(1.0), Adam(0.01)),
    ),
    "clip_norm+irprop-": (
        lambda: Chain(ClipByGlobalNorm(1.0), Rprop("irprop-")),
        lambda: Chain(ClipByGlobalNorm(1.0), Rprop("irprop-")),
    ),
    # learning-rate schedules, chained after the rule they scale (per update here: the table
    # calls update only; the trainer's epoch hook is tested in test_schedules.py)
    "adam+cosine": (
        lambda: Chain(Adam(0.05), ScaleBySchedule(Cosine(QUAD_BUDGET, warmup=10), "update")),
        lambda: Chain(Adam(0.05), ScaleBySchedule(Cosine(ROSEN_BUDGET, warmup=100), "update")),
    ),
    "momentum+plateau": (
        lambda: Chain(Momentum(0.1, 0.5), ReduceOnPlateau(patience=2)),
        lambda: Chain(Momentum(0.001, 0.9), ReduceOnPlateau(patience=2)),
    ),
    "decay+sgd": (
        lambda: Chain(WeightDecay(0.05), SGD(0.3)),
        lambda: Chain(WeightDecay(1e-4), SGD(0.002)),
    ),
    "quickprop_decay": (lambda: Quickprop(0.1, decay=0.05), lambda: Quickprop(0.001, decay=1e-4)),
    # the transforms the rules above are made of, composed by hand (optax's names in comments)
    "scale": (lambda: Scale(-0.3), lambda: Scale(-0.002)),
    "trace+scale": (  # chain(trace(μ), scale(−η)): optax's order, momentum on raw gradients
        lambda: Chain(Trace(0.5), Scale(-0.1)),
        lambda: Chain(Trace(0.9), Scale(-0.001)),
    ),
    "scale+trace_nesterov": (
        lambda: Chain(Scale(-0.1), Trace(0.5, nesterov=True)),
        lambda: Chain(Scale(-0.001), Trace(0.9, nesterov=True)),
    ),
    "scale_by_adagrad": (
        lambda: Chain(ScaleByAdagrad(), Scale(-0.5)),
        lambda: Chain(ScaleByAdagrad(), Scale(-0.5)),
    ),
    "scale_by_rms": (
        lambda: Chain(ScaleByRms(0.99), Scale(-0.01)),
        lambda: Chain(ScaleByRms(0.99), Scale(-0.001)),
    ),
    "scale_by_adam": (
        lambda: Chain(ScaleByAdam(), Scale(-0.05)),
        lambda: Chain(ScaleByAdam(), Scale(-0.05)),
    ),
    "scale_by_rprop": (lambda: ScaleByRprop("rprop+"), lambda: ScaleByRprop("irprop+")),
    "decay+scale_by_quickprop": (
        lambda: Chain(WeightDecay(0.05), ScaleByQuickprop(0.1)),
        lambda: Chain(WeightDecay(1e-4), ScaleByQuickprop(0.001)),
    ),
    "scale_by_bold_driver": (
        lambda: ScaleByBoldDriver(0.1, momentum=0.5),
        lambda: ScaleByBoldDriver(0.001),
    ),
}


def parts(rule: UpdateRule) -> list[UpdateRule]:
    """The rules a chain or an alias is made of (none for a single transform)."""
    return [*getattr(rule, "rules", []), *getattr(rule, "transforms", [])]


def decay_of(rule: UpdateRule) -> float:
    """λ of the WeightDecay transforms in ``rule`` (Quickprop's ``decay`` is one)."""
    return (rule.rate if isinstance(rule, WeightDecay) else 0.0) + sum(map(decay_of, parts(rule)))


def iterations_to_reach(
    rule: UpdateRule, fn: Callable, start: tuple, target: np.ndarray, tol: float, budget: int
) -> int | None:
    """Run ``rule`` on ``fn`` from ``start``; the first iteration within ``tol`` of ``target``."""
    w = np.array(start, dtype=np.float64)
    state = rule.init(w)
    decay = decay_of(rule)
    for i in range(budget):
        if np.linalg.norm(w - target) < tol:
            return i
        loss, g = fn(w)
        loss += 0.5 * decay * float(w @ w)
        upd, state = rule.update(g, state, w, loss)
        w += upd
    return None


@pytest.mark.parametrize("name", sorted(TABLE))
def test_converges_on_a_quadratic(name: str) -> None:
    rule = TABLE[name][0]()
    target = np.linalg.solve(A + decay_of(rule) * np.eye(2), B)  # minimum of f + ½λ‖w‖²
    n = iterations_to_reach(rule, quadratic, QUAD_START, target, 1e-4, QUAD_BUDGET)
    assert n is not None, f"{name} did not reach the minimum in {QUAD_BUDGET} iterations"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_converges_on_rosenbrock(name: str) -> None:
    rule = TABLE[name][1]()
    n = iterations_to_reach(rule, rosenbrock, ROSEN_START, np.ones(2), 1e-2, ROSEN_BUDGET)
    assert n is not None, f"{name} did not reach (1, 1) in {ROSEN_BUDGET} iterations"


def test_the_table_covers_every_registered_rule() -> None:
    used: set[type] = set()

    def collect(rule: UpdateRule) -> None:
        used.add(type(rule))
        for inner in parts(rule):
            collect(inner)

    for make_quad, make_rosen in TABLE.values():
        collect(make_quad())
        collect(make_rosen())
    assert set(RULES.values()) <= used, set(RULES.values()) - used
    variants = {
        r.variant for r in map(lambda row: row[0](), TABLE.values()) if isinstance(r, Rprop)
    }
    assert variants == {"rprop+", "rprop-", "irprop+", "irprop-"}


def structure(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            out[key] = ("array", value.shape, value.dtype)
        else:
            assert value is None or type(value) is float, (key, type(value))
            out[key] = "scalar"
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(TABLE))
def test_state_keeps_its_structure(name: str, dtype: type) -> None:
    rng = np.random.default_rng(0)
    rule = TABLE[name][0]()
    w = rng.normal(size=7).astype(dtype)
    state = rule.init(w)
    before = structure(state)
    for step in range(6):
        g = rng.normal(size=7).astype(dtype)
        upd, state = rule.update(g, state, w, loss=float(10 - step + (step == 3) * 20))
        assert upd.shape == w.shape and upd.dtype == w.dtype
        w += upd
    assert structure(state) == before
    assert all(
        isinstance(v, float) for k, v in state.items() if k.endswith(("prev_loss", "lr", "t"))
    ), "loss-reading rules must have stored a float by now"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_state_round_trips_through_save_and_load(name: str, tmp_path) -> None:
    data = xor()
    rule = TABLE[name][0]()
    net = bp.mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=1)
    trainer = bp.Trainer(net, "squared_error", rule, schedule="batch", verbose=0)
    trainer.fit(data.X, data.y, epochs=4)
    path = tmp_path / "model.bprop"
    bp.save(trainer, path)
    ck = bp.load_checkpoint(path)
    assert rule_to_config(ck.optimizer) == rule_to_config(rule)
    assert ck.optimizer_state is not None
    assert set(ck.optimizer_state) == set(trainer.state)
    assert structure(ck.optimizer_state) == structure(trainer.state)
    for key, value in trainer.state.items():
        loaded = ck.optimizer_state[key]
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(loaded, value)
        else:
            assert loaded == value


def test_full_batch_rules_say_why() -> None:
    # the reason is for the trainer's warning when such a rule meets mini-batches
    for make_quad, _ in TABLE.values():
        rule = make_quad()
        for r in [rule, *parts(rule)]:
            if r.requires_full_batch:
                assert "mini-batch" in r.full_batch_reason, type(r).__name__
    # the transforms that need them say so; the aliases and chains made of them inherit it
    assert {ScaleByRprop, ScaleByQuickprop, ScaleByBoldDriver} == {
        cls for cls in RULES.values() if getattr(cls, "requires_full_batch", False) is True
    }
    for rule in (Rprop(), Quickprop(), BoldDriver(), Chain(ClipByValue(1.0), Rprop())):
        assert rule.requires_full_batch and "mini-batch" in rule.full_batch_reason
    assert (
        not SGD(0.1).requires_full_batch and not Chain(Adam(), ClipByValue(1)).requires_full_batch
    )
