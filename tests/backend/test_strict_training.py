"""The backend seam, proven for learning: every registered update rule and transform (with and
without a learning-rate schedule) and training steps of every schedule — online, mini-batch,
full batch, truncated BPTT on a stream, RTRL — run on the array-API standard's strict namespace
and give the NumPy results to round-off (same seeds, float64; see conftest.py). A newly
registered rule without a row in RULES fails :func:`test_the_rules_cover_the_registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop import backend, registry

pytest.importorskip("array_api_strict")


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# --- update rules -----------------------------------------------------------------------
def _rules() -> dict[str, Callable[[], Any]]:
    from bprop import optim as o
    from bprop.optim import schedules as s

    per = "update"  # the schedules advance per update here (and per epoch in the loop below)
    return {
        "AdaGrad": lambda: o.AdaGrad(0.5),
        "Adam": lambda: o.Adam(0.05),
        "BoldDriver": lambda: o.BoldDriver(0.1),
        "BoldDriver+momentum": lambda: o.BoldDriver(0.1, momentum=0.5),
        "Chain": lambda: o.Chain(o.ClipByValue(1.0), o.Momentum(0.1, 0.5)),
        "ClipByGlobalNorm": lambda: o.Chain(o.ClipByGlobalNorm(1.0), o.Adam(0.05)),
        "ClipByValue": lambda: o.Chain(o.ClipByValue(0.5), o.SGD(0.1)),
        "Quickprop": lambda: o.Quickprop(0.1),
        "Quickprop+decay": lambda: o.Quickprop(0.1, decay=0.05),
        "RMSprop": lambda: o.RMSprop(0.01, rho=0.9),
        "ReduceOnPlateau": lambda: o.Chain(o.Momentum(0.1, 0.5), o.ReduceOnPlateau(patience=1)),
        **{
            f"Rprop({v})": (lambda v=v: o.Rprop(v))
            for v in ("rprop+", "rprop-", "irprop+", "irprop-")
        },
        "SGD": lambda: o.SGD(0.1),
        "SGD+momentum": lambda: o.SGD(0.1, momentum=0.9),
        "SGD+nesterov": lambda: o.SGD(0.1, momentum=0.9, nesterov=True),
        "Scale": lambda: o.Scale(-0.2),
        "ScaleByAdagrad": lambda: o.Chain(o.ScaleByAdagrad(), o.Scale(-0.5)),
        "ScaleByAdam": lambda: o.Chain(o.ScaleByAdam(), o.Scale(-0.05)),
        "ScaleByBoldDriver": lambda: o.ScaleByBoldDriver(0.1, momentum=0.5),
        "ScaleByQuickprop": lambda: o.Chain(o.WeightDecay(0.05), o.ScaleByQuickprop(0.1)),
        "ScaleByRms": lambda: o.Chain(o.ScaleByRms(0.9), o.Scale(-0.01)),
        "ScaleByRprop": lambda: o.ScaleByRprop("irprop+"),
        "ScaleBySchedule(constant)": lambda: o.Chain(o.SGD(0.1), s.ScaleBySchedule(s.Constant())),
        "ScaleBySchedule(step)": lambda: o.Chain(
            o.SGD(0.1), s.ScaleBySchedule(s.StepDecay(2, 0.5))
        ),
        "ScaleBySchedule(exponential)": lambda: o.Chain(
            o.Adam(0.05), s.ScaleBySchedule(s.Exponential(0.9), per)
        ),
        "ScaleBySchedule(warmup)": lambda: o.Chain(
            o.SGD(0.1), s.ScaleBySchedule(s.LinearWarmup(4), per)
        ),
        "ScaleBySchedule(cosine)": lambda: o.Chain(
            o.Adam(0.05), s.ScaleBySchedule(s.Cosine(12, warmup=3), per)
        ),
        "Trace": lambda: o.Chain(o.Trace(0.5), o.Scale(-0.1)),
        "Trace+nesterov": lambda: o.Chain(o.Scale(-0.1), o.Trace(0.5, nesterov=True)),
        "WeightDecay": lambda: o.Chain(o.WeightDecay(0.05), o.SGD(0.1)),
    }


RULES = _rules()
_A = data(7, 7, seed=11)
_A = _A @ _A.T / 7 + np.eye(7)  # symmetric positive definite
_B = data(7, seed=12)


def descend(rule: Any, steps: int = 12) -> Any:
    """``steps`` updates of ``rule`` on f(w) = ½ wᵀAw − bᵀw (an epoch end every 4 updates,
    with a validation loss, for the epoch schedules and reduce-on-plateau)."""
    A, B = backend.asarray(_A), backend.asarray(_B)
    w = backend.asarray(data(7, seed=13))
    state = rule.init(w)
    for i in range(steps):
        loss = float(0.5 * (w @ (A @ w)) - B @ w)
        state = rule.apply(A @ w - B, state, w, loss)
        if i % 4 == 3:
            state = rule.on_epoch_end(state, {"train_loss": loss, "val_loss": loss})
    return w, {k: v for k, v in state.items() if not isinstance(v, str | bool)}


@pytest.mark.parametrize("scheduled", [False, True])
@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_steps(name: str, scheduled: bool, same_on_both: Any) -> None:
    from bprop.optim import Chain
    from bprop.optim.schedules import Cosine, ScaleBySchedule

    def make() -> Any:
        rule = RULES[name]()
        return Chain(rule, ScaleBySchedule(Cosine(12, warmup=2), "update")) if scheduled else rule

    same_on_both(lambda: descend(make()), name)


# --- training steps of each schedule --------------------------------------------------------
def _examples() -> tuple[np.ndarray, np.ndarray]:
    X = data(12, 3, seed=21)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _fit(schedule: Any, loss: str, rule: Any) -> Any:
    from bprop.train import Trainer

    X, y = _examples()
    net = bp.Sequential(bp.Dense(3, 4, rng=0), bp.Tanh(), bp.Dense(4, 2, rng=1))
    trainer = Trainer(net, loss, rule, schedule, verbose=0, seed=3, l2=1e-3)
    h = trainer.fit(X, y, epochs=2, validation_data=(X[:4], y[:4]))
    predicted = net.predict(X, batch_size=5)  # a NumPy array, whatever the backend
    assert isinstance(predicted, np.ndarray)
    return net.space.params, [*h.train_loss, *h.val_loss], backend.asarray(predicted)


@pytest.mark.parametrize("schedule", ["online", "minibatch", "batch"])
def test_training_steps_on_examples(schedule: str, same_on_both: Any) -> None:
    from bprop.train.schedules import get_schedule

    sched = get_schedule(schedule, 5 if schedule == "minibatch" else None)
    rule = bp.Rprop("irprop+") if schedule == "batch" else bp.SGD(0.1, momentum=0.5)
    same_on_both(lambda: _fit(sched, "softmax_cross_entropy", rule), schedule)
    same_on_both(lambda: _fit(sched, "squared_error", bp.Adam(0.01)), schedule)


def test_training_steps_on_a_stream_truncated_bptt(same_on_both: Any) -> None:
    from bprop.recurrent import Recurrent, TimeDistributed
    from bprop.train import StreamSchedule, Trainer

    stream = np.random.default_rng(0).integers(0, 3, 61)

    def run() -> Any:
        cell = registry.lookup("cell", "LSTM")(3, 4, rng=0, kernel="numpy")
        net = bp.Sequential(Recurrent(cell, fast=False), TimeDistributed(bp.Dense(4, 3, rng=1)))
        trainer = Trainer(net, "cross_entropy", bp.Adam(0.01), StreamSchedule(5, 7, 2), verbose=0)
        h = trainer.fit(
            stream[:-1], stream[1:], epochs=2, validation_data=(stream[:-1], stream[1:])
        )
        return net.space.params, [*h.train_loss, *h.val_loss]

    same_on_both(run, "stream")


@pytest.mark.parametrize("seq", [False, True])
def test_training_steps_on_sequences_of_different_lengths(seq: bool, same_on_both: Any) -> None:
    """Ragged id sequences through the loop: padded with their lengths, bucketed mini-batches,
    the masked loss (per-step targets) or each sequence's last step (one target each)."""
    from bprop.recurrent import GRU, Recurrent, TimeDistributed
    from bprop.train import Trainer
    from bprop.train.schedules import MiniBatch

    rng = np.random.default_rng(5)
    seqs = [rng.integers(0, 4, int(rng.integers(1, 7))) for _ in range(10)]
    y = [s % 2 for s in seqs] if seq else np.array([int(s[-1]) % 2 for s in seqs])

    def run() -> Any:
        dense = bp.Dense(4, 2, rng=1)
        net = bp.Sequential(
            bp.Embedding(4, 3, rng=2),
            Recurrent(GRU(3, 4, rng=0, kernel="numpy"), return_sequences=seq, fast=False),
            TimeDistributed(dense) if seq else dense,
        )
        sched = MiniBatch(4, bucket=True)
        trainer = Trainer(net, "softmax_cross_entropy", bp.Adam(0.02), sched, verbose=0, seed=3)
        h = trainer.fit(seqs, y, epochs=2, validation_data=(seqs[:4], y[:4]))
        return net.space.params, [*h.train_loss, *h.val_loss]

    same_on_both(run, "lengths")


def test_training_steps_of_rtrl(same_on_both: Any) -> None:
    from bprop.recurrent.rtrl import RTRL, rtrl_network
    from bprop.train import StepSchedule, Trainer

    X = np.sin(np.arange(21) / 4.0)[None, :, None]

    def run() -> Any:
        rtrl = RTRL(rtrl_network(1, 4, 1, rng=0))
        trainer = Trainer(
            rtrl.net, rtrl.loss, bp.SGD(0.05, momentum=0.5), StepSchedule(), verbose=0
        )
        h = trainer.fit(X[:, :-1], X[:, 1:], epochs=2, rtrl=rtrl)
        return rtrl.net.space.params, list(h.train_loss)

    same_on_both(run, "rtrl")


def _parts(rule: Any) -> list[Any]:
    return [*getattr(rule, "rules", []), *getattr(rule, "transforms", [])]


def test_the_rules_cover_the_registry() -> None:
    used: set[type] = set()

    def collect(rule: Any) -> None:
        used.add(type(rule))
        for inner in _parts(rule):
            collect(inner)

    for make in RULES.values():
        collect(make())
    missing = sorted(n for n, cls in registry.table("rule").items() if cls not in used)
    assert not missing, f"rules without a row in RULES: {missing}"
