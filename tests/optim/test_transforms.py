"""Rules as transforms: every alias is its chain, the transforms compose, the registry has no
import cycle, and the methods table derives what it can from the rules."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop.optim import (
    SGD,
    AdaGrad,
    Adam,
    Alias,
    BoldDriver,
    Chain,
    Quickprop,
    RMSprop,
    Rprop,
    Scale,
    ScaleByAdam,
    Trace,
    UpdateRule,
    add_decayed_weights,
    chain,
    scale,
    scale_by_adam,
    scale_by_quickprop,
    scale_by_schedule,
    trace,
)
from bprop.optim.methods import HYPERPARAMETERS, METHODS, SELF_STEPPING, make_rule
from bprop.optim.schedules import StepDecay

ALIASES: dict[str, Callable[[], Alias]] = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: SGD(0.1, momentum=0.9),
    "nesterov": lambda: SGD(0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda: AdaGrad(0.1),
    "rmsprop": lambda: RMSprop(0.01),
    "adam": lambda: Adam(0.01),
    **{v: (lambda v=v: Rprop(v)) for v in ("rprop+", "rprop-", "irprop+", "irprop-")},
    "quickprop": lambda: Quickprop(0.1),
    "quickprop_decay": lambda: Quickprop(0.1, decay=0.01),
    "bold_driver": lambda: BoldDriver(0.1, momentum=0.5),
}


def run(rule: UpdateRule, dtype: type, steps: int = 6, use_apply: bool = False):
    """Weights and state after ``steps`` seeded steps (losses that sometimes rise)."""
    rng = np.random.default_rng(4)
    w = rng.normal(size=33).astype(dtype)
    state = rule.init(w)
    for step in range(steps):
        g = rng.normal(size=33).astype(dtype)
        loss = float(5 - step + 3 * (step % 3 == 2))
        if use_apply:
            state = rule.apply(g, state, w, loss)
        else:
            upd, state = rule.update(g, state, w, loss)
            w += upd
    return w, state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ALIASES))
def test_an_alias_is_its_chain_bit_for_bit(name: str, dtype: type) -> None:
    alias = ALIASES[name]()
    as_chain = Chain(*alias.transforms)
    w_alias, s_alias = run(alias, dtype)
    w_chain, s_chain = run(as_chain, dtype)
    np.testing.assert_array_equal(w_alias, w_chain)
    # the same state, under the transforms' own keys instead of the chain's "i/key"
    assert {k.split("/", 1)[1]: v for k, v in s_chain.items()}.keys() == s_alias.keys()
    for key, value in s_chain.items():
        np.testing.assert_array_equal(s_alias[key.split("/", 1)[1]], value)
    # and the trainer's apply (fused for heavy-ball momentum) is the same again
    np.testing.assert_array_equal(run(alias, dtype, use_apply=True)[0], w_alias)


def test_aliases_are_made_of_the_transforms_their_docs_name() -> None:
    assert [type(t) for t in SGD(0.1).transforms] == [Scale]
    assert [type(t) for t in SGD(0.1, 0.9, nesterov=True).transforms] == [Scale, Trace]
    assert SGD(0.1, 0.9).transforms[0].step == -0.1
    assert [type(t) for t in Adam(0.1).transforms] == [ScaleByAdam, Scale]
    assert [type(t).__name__ for t in Quickprop(0.1, decay=0.01).transforms] == [
        "WeightDecay",
        "ScaleByQuickprop",
    ]
    assert [type(t).__name__ for t in Quickprop(0.1).transforms] == ["ScaleByQuickprop"]


def test_quickprop_decay_is_weight_decay_in_front() -> None:
    # Fahlman's decayed slope, S = ∂E/∂w + decay·w, is the L2 transform in front of the step
    w_alias, s_alias = run(Quickprop(0.1, decay=0.01), np.float64)
    w_hand, s_hand = run(chain(add_decayed_weights(0.01), scale_by_quickprop(0.1)), np.float64)
    np.testing.assert_array_equal(w_alias, w_hand)
    np.testing.assert_array_equal(s_alias["prev_slope"], s_hand["1/prev_slope"])


def test_momentum_on_steps_equals_optax_momentum_on_gradients() -> None:
    # chain(scale(−η), trace(μ)) keeps the previous step as velocity; optax's
    # chain(trace(μ), scale(−η)) keeps the gradient sum: the same steps to round-off
    w_bprop, s_bprop = run(chain(scale(-0.1), trace(0.9)), np.float64)
    w_optax, s_optax = run(chain(trace(0.9), scale(-0.1)), np.float64)
    np.testing.assert_allclose(w_bprop, w_optax, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(s_bprop["1/velocity"], -0.1 * s_optax["0/velocity"], rtol=1e-12)


def test_a_scale_after_adam_is_folded_into_its_bias_correction() -> None:
    # one rounding of (−η)/(1 − β₁ᵗ), as torch.optim.Adam: not (x/(1 − β₁ᵗ))·(−η)
    rng = np.random.default_rng(0)
    w = np.zeros(1000)
    rule, bare, adam = chain(scale_by_adam(), scale(-0.3)), scale_by_adam(), Adam(0.3)
    s_rule, s_bare, s_adam = rule.init(w), bare.init(w), adam.init(w)
    for _ in range(3):
        g = rng.normal(size=1000)
        folded, s_rule = rule.update(g.copy(), s_rule, w)
        unfolded, s_bare = bare.update(g.copy(), s_bare, w)
        unfolded *= -0.3
        by_name, s_adam = adam.update(g.copy(), s_adam, w)
        np.testing.assert_allclose(folded, unfolded, rtol=1e-15)
        np.testing.assert_array_equal(by_name, folded)
    assert not np.array_equal(folded, unfolded)  # 1000 elements: some round differently


def test_a_schedule_chains_after_transforms() -> None:
    rule = chain(scale_by_adam(), scale(-0.1), scale_by_schedule(StepDecay(1, 0.5)))
    w = np.zeros(3)
    state = rule.init(w)
    steps = []
    for _ in range(3):
        upd, state = rule.update(np.ones(3), state, w)
        steps.append(float(upd[0]))
        state = rule.on_epoch_end(state, {"train_loss": 1.0})
    np.testing.assert_allclose(steps, [-0.1, -0.05, -0.025], rtol=1e-6)


def test_an_alias_refuses_transforms_that_share_state_keys() -> None:
    class TwoTraces(Alias):
        def __init__(self) -> None:
            super().__init__(Trace(0.5), Trace(0.9))

    with pytest.raises(ValueError, match="velocity"):
        TwoTraces().init(np.zeros(2))


@pytest.mark.parametrize("step", [0.0, float("nan"), float("inf")])
def test_scale_refuses_a_useless_step(step: float) -> None:
    with pytest.raises(ValueError, match="scale step"):
        Scale(step)


def test_transforms_round_trip_through_configs() -> None:
    rule = chain(add_decayed_weights(0.01), scale_by_adam(0.8), scale(-0.2), trace(0.5, True))
    again = bp.optim.rule_from_config(bp.optim.rule_to_config(rule))
    assert repr(again) == repr(rule)


# --- the import graph ------------------------------------------------------------------------
OPTIM = Path(bp.__file__).parent / "optim"


def optim_imports(path: Path) -> set[str]:
    """The bprop.optim modules ``path`` imports anywhere (inside functions too)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bprop.optim."):
            out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[2] for a in node.names if a.name.startswith("bprop.optim.")}
    return out


def test_the_optim_modules_import_each_other_without_a_cycle() -> None:
    graph = {p.stem: optim_imports(p) for p in OPTIM.glob("*.py") if p.stem != "__init__"}
    assert graph["registry"] == set(), "the registry must import no rule module"
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle {' → '.join((*path, node))}"
        if node not in done:
            for nxt in graph[node]:
                visit(nxt, (*path, node))
            done.add(node)

    for module in graph:
        visit(module, ())


def test_no_optim_module_is_over_400_lines() -> None:
    for path in OPTIM.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name


# --- the methods table -----------------------------------------------------------------------
SAMPLE = {
    "lr": 0.123,
    "momentum": 0.37,
    "eta_plus": 1.3,
    "eta_minus": 0.4,
    "delta0": 0.05,
    "delta_max": 10.0,
    "delta_min": 1e-5,
    "mu": 1.5,
    "decay": 1e-3,
    "increase": 1.1,
    "decrease": 0.6,
    "max_perf_inc": 1.1,
    "rho": 0.8,
    "beta1": 0.8,
    "beta2": 0.99,
    "eps": 1e-7,
}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_method_passes_on_what_it_reads_and_ignores_the_rest(method: str) -> None:
    reads = METHODS[method].reads
    assert reads and set(reads) <= set(SAMPLE) <= set(HYPERPARAMETERS)
    config = make_rule(method, **{h: SAMPLE[h] for h in reads}).get_config()
    assert {h: config[h] for h in reads} == {h: SAMPLE[h] for h in reads}
    ignored = {h: v for h, v in SAMPLE.items() if h not in reads}
    assert make_rule(method, **ignored).get_config() == make_rule(method).get_config()


def test_methods_that_set_their_own_steps_are_those_without_a_scale() -> None:
    assert set(SELF_STEPPING) == {"rprop+", "rprop-", "irprop+", "irprop-", "quickprop"} | {
        "bold-driver"
    }
    assert make_rule("sgd").get_config()["lr"] == 0.1
    assert make_rule("momentum").get_config() == {"lr": 0.05, "momentum": 0.9, "nesterov": False}
    assert make_rule("nesterov").get_config()["nesterov"] is True
