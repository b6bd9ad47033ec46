"""Rprop and Quickprop on the classic small tasks, and exact resumption of every stateful rule.

Epoch counts (10 seeds here, in float64; ``bench/rprop_epochs.py`` runs the full 20-seed
comparison in float32): full batch, E = ½ΣΣ(y − t)², sigmoid units, train until E ≤ target.
XOR 2-2-1 has plateaus (E = 1/4, 1/3 with saturated units) that every method falls into from
some starts — the fast methods more often — so the medians are over the runs that reached the
target, and the success counts are checked separately. (The budgets only cap the failures:
every success of a fast method here takes under 100 epochs, every success of batch GD under
500.)
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

import bprop as bp
from bprop.data import encoder, xor
from bprop.optim import (
    SGD,
    AdaGrad,
    Adam,
    BoldDriver,
    Chain,
    ClipByGlobalNorm,
    Momentum,
    Nesterov,
    Quickprop,
    RMSprop,
    Rprop,
    UpdateRule,
)

SEEDS = range(10)
FAST = {
    "rprop+": lambda: Rprop("rprop+"),
    "rprop-": lambda: Rprop("rprop-"),
    "irprop+": lambda: Rprop("irprop+"),
    "irprop-": lambda: Rprop("irprop-"),
    "quickprop": lambda: Quickprop(1.0),
}
TASKS = {
    # name: (data, layer sizes, target E, budget for the fast methods, budget for GD,
    #        fewest successes out of 10 required of every method)
    "xor": (xor, [2, 2, 1], 0.02, 300, 1000, 3),
    "encoder": (lambda: encoder(8, 3), [8, 3, 8], 0.1, 300, 1000, 8),
}


def epochs_to_target(task: str, rule: UpdateRule, seed: int, budget: int) -> int | None:
    make_data, sizes, target, *_ = TASKS[task]
    data = make_data()
    with bp.backend.default_dtype("float64"):  # less sensitive to summation order
        net = bp.mlp(sizes, activation="sigmoid", output="sigmoid", seed=seed)
    trainer = bp.Trainer(net, bp.SquaredError(), rule, schedule="batch", verbose=0)
    return trainer.fit(data.X, data.y, epochs=budget, target_loss=target).target_epoch


@pytest.fixture(scope="module")
def epochs() -> dict[str, dict[str, list[int]]]:
    """task -> method -> epochs of the successful runs."""
    out: dict[str, dict[str, list[int]]] = {}
    for task, (*_, fast_budget, gd_budget, _) in TASKS.items():
        runs = {"gd": [epochs_to_target(task, SGD(4.0), s, gd_budget) for s in SEEDS]}
        for name, make in FAST.items():
            runs[name] = [epochs_to_target(task, make(), s, fast_budget) for s in SEEDS]
        out[task] = {name: [e for e in r if e is not None] for name, r in runs.items()}
    return out


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_method_solves_the_task_from_enough_starts(task: str, epochs) -> None:
    need = TASKS[task][-1]
    for name, solved in epochs[task].items():
        assert len(solved) >= need, f"{name} solved {task} from only {len(solved)}/10 starts"


@pytest.mark.parametrize("method", sorted(FAST))
@pytest.mark.parametrize("task", sorted(TASKS))
def test_rprop_and_quickprop_need_far_fewer_epochs_than_gradient_descent(
    task: str, method: str, epochs
) -> None:
    # batch GD at lr 4, its best reliable rate on both tasks (bench/rprop_epochs.py scans it);
    # the fast methods need about a fifth of its epochs here — at least a third is required
    fast, gd = statistics.median(epochs[task][method]), statistics.median(epochs[task]["gd"])
    assert fast * 3 <= gd, f"{task}: {method} median {fast} vs batch GD {gd}"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_the_improved_variants_are_no_slower(task: str, epochs) -> None:
    med = {name: statistics.median(e) for name, e in epochs[task].items()}
    assert med["irprop+"] <= med["rprop+"], med
    assert med["irprop-"] <= med["rprop-"], med


# --- resuming: k + save/load + k epochs equals 2k epochs in one go -----------------------

STATEFUL = {
    "momentum": lambda: Momentum(0.5, 0.9),
    "nesterov": lambda: Nesterov(0.5, 0.9),
    "rprop+": lambda: Rprop("rprop+"),
    "rprop-": lambda: Rprop("rprop-"),
    "irprop+": lambda: Rprop("irprop+"),
    "irprop-": lambda: Rprop("irprop-"),
    "quickprop": lambda: Quickprop(1.0, decay=1e-4),
    "bold_driver": lambda: BoldDriver(4.0, increase=1.5),  # overshoots: rejections happen
    "bold_driver_momentum": lambda: BoldDriver(4.0, increase=1.5, momentum=0.9),
    "adagrad": lambda: AdaGrad(0.5),
    "rmsprop": lambda: RMSprop(0.05),
    "adam": lambda: Adam(0.05),
    "clip+irprop+": lambda: Chain(ClipByGlobalNorm(0.5), Rprop("irprop+")),
}
K = 12


def xor_trainer(rule: UpdateRule) -> bp.Trainer:
    net = bp.mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=3)
    return bp.Trainer(net, bp.SquaredError(), rule, schedule="batch", verbose=0)


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_resuming_from_a_saved_trainer_gives_identical_weights(name: str, tmp_path) -> None:
    data = xor()
    straight = xor_trainer(STATEFUL[name]())
    straight.fit(data.X, data.y, epochs=2 * K)

    first = xor_trainer(STATEFUL[name]())
    first.fit(data.X, data.y, epochs=K)
    path = tmp_path / "half.bprop"
    bp.save(first, path)
    resumed = bp.load_trainer(path)
    assert resumed.epoch == K
    resumed.fit(data.X, data.y, epochs=K)

    np.testing.assert_array_equal(resumed.net.space.params, straight.net.space.params)
    assert set(resumed.state) == set(straight.state)
    for key, value in straight.state.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(resumed.state[key], value)
        else:
            assert resumed.state[key] == value


def test_the_bold_driver_resume_case_really_rejects_steps() -> None:
    # guards the test above: with lr 4 the bold driver must undo steps within 2K epochs
    data = xor()
    trainer = xor_trainer(STATEFUL["bold_driver"]())
    rates = []
    for _ in range(2 * K):
        trainer.fit(data.X, data.y, epochs=1)
        rates.append(trainer.state["lr"])
    assert any(b < a for a, b in zip(rates, rates[1:], strict=False)), rates
