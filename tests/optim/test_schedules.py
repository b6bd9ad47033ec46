"""Learning-rate schedules: hand-worked factors, PyTorch's lr_scheduler on the same settings,
and the chain SGD/Adam → schedule against torch.optim with a scheduler, step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bprop as bp
from bprop.optim import Chain, ReduceOnPlateau, ScaleBySchedule, rule_from_config, rule_to_config
from bprop.optim.methods import make_rule
from bprop.optim.schedules import (
    Constant,
    Cosine,
    Exponential,
    LinearWarmup,
    StepDecay,
    make_schedule,
)


def factors(schedule, n):
    return [schedule(t) for t in range(n)]


def test_hand_worked_factors():
    # StepDecay(2, 0.5): 1, 1, 0.5, 0.5, 0.25
    assert factors(StepDecay(2, 0.5), 5) == [1, 1, 0.5, 0.5, 0.25]
    # Exponential(0.5): 0.5^t
    assert factors(Exponential(0.5), 4) == [1, 0.5, 0.25, 0.125]
    # LinearWarmup(4, start=0.2): 0.2 + 0.8·t/4 = 0.2, 0.4, 0.6, 0.8, then 1
    assert factors(LinearWarmup(4, 0.2), 6) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1, 1])
    # Cosine(10, warmup=2): warm-up 0, 0.5; then (1 + cos(π·τ/8))/2 for τ = t − 2:
    # t=2 → 1, t=4 → (1 + cos(π/4))/2 = 0.853553, t=6 → 0.5, t=10 → 0, and 0 after
    c = Cosine(10, warmup=2)
    assert [c(t) for t in (0, 1, 2, 4, 6, 10, 15)] == pytest.approx(
        [0, 0.5, 1, (1 + math.sqrt(0.5)) / 2, 0.5, 0, 0], abs=1e-15
    )
    # min_factor m: m + (1 − m)·(1 + cos)/2, so halfway is (1 + m)/2
    assert Cosine(4, min_factor=0.2)(2) == pytest.approx(0.6)
    assert factors(Constant(), 3) == [1, 1, 1]


def test_reduce_on_plateau_hand_trace():
    # patience 1, factor 0.5, threshold 0: losses 4, 3, 3, 3, 2, 2, 2
    #   4 best; 3 best; 3 bad=1; 3 bad=2 > 1 → scale 0.5, bad 0; 2 best; 2 bad 1; 2 bad 2 → 0.25
    rule = ReduceOnPlateau(factor=0.5, patience=1, threshold=0.0)
    state = rule.init(np.zeros(1))
    scales = []
    for loss in (4, 3, 3, 3, 2, 2, 2):
        state = rule.on_epoch_end(state, {"train_loss": loss})
        scales.append(state["scale"])
    assert scales == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    # the validation loss is monitored when there is one
    state = rule.on_epoch_end(rule.init(np.zeros(1)), {"train_loss": 1.0, "val_loss": 7.0})
    assert state["best_loss"] == 7.0


torch = pytest.importorskip("torch")
sched = torch.optim.lr_scheduler


def torch_factors(make, n, lr=1.0):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    s = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"] / lr)
        opt.step()
        s.step()
    return out


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (StepDecay(3, 0.3), lambda o: sched.StepLR(o, 3, 0.3)),
        (Exponential(0.9), lambda o: sched.ExponentialLR(o, 0.9)),
        (LinearWarmup(5, 0.1), lambda o: sched.LinearLR(o, 0.1, 1.0, total_iters=5)),
        (Cosine(12, min_factor=0.1), lambda o: sched.CosineAnnealingLR(o, 12, eta_min=0.1)),
        (
            Cosine(12, warmup=4, start=0.25),
            lambda o: sched.SequentialLR(
                o,
                [sched.LinearLR(o, 0.25, 1.0, total_iters=4), sched.CosineAnnealingLR(o, 8)],
                milestones=[4],
            ),
        ),
    ],
    ids=["step", "exponential", "warmup", "cosine", "cosine-warmup"],
)
def test_factors_equal_torch_lr_scheduler(ours, theirs):
    assert factors(ours, 13) == pytest.approx(torch_factors(theirs, 13), rel=1e-12, abs=1e-15)


def test_reduce_on_plateau_equals_torch():
    rng = np.random.default_rng(0)
    losses = np.cumsum(rng.normal(0.0, 1.0, 60)) + 100  # a random walk: plateaus and drops
    ours = ReduceOnPlateau(factor=0.5, patience=3, threshold=1e-3, cooldown=2, min_scale=0.01)
    state = ours.init(np.zeros(1))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    theirs = sched.ReduceLROnPlateau(
        opt, factor=0.5, patience=3, threshold=1e-3, cooldown=2, min_lr=0.01
    )
    for loss in losses:
        state = ours.on_epoch_end(state, {"val_loss": float(loss)})
        theirs.step(float(loss))
        assert state["scale"] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
    assert state["scale"] < 1  # the walk did trigger reductions


@pytest.mark.parametrize("method", ["momentum", "nesterov", "adam"])
def test_chain_with_schedule_equals_torch_optimizer_with_scheduler(method):
    # three "epochs" of four updates on a quadratic, rate cut by StepDecay(1, 0.5) each epoch
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    rule = make_rule(method, lr=0.05, lr_schedule=ScaleBySchedule(StepDecay(1, 0.5)))
    w = np.array([2.0, -1.5])
    state = rule.init(w)
    p = torch.tensor(w.copy(), requires_grad=True)
    opt = {
        "momentum": lambda: torch.optim.SGD([p], lr=0.05, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD([p], lr=0.05, momentum=0.9, nesterov=True),
        "adam": lambda: torch.optim.Adam([p], lr=0.05),
    }[method]()
    scheduler = sched.StepLR(opt, 1, 0.5)
    At = torch.tensor(A)
    for _ in range(3):
        for _ in range(4):
            upd, state = rule.update(A @ w, state, w)
            w += upd
            opt.zero_grad()
            (0.5 * p @ At @ p).backward()
            opt.step()
        state = rule.on_epoch_end(state, {"train_loss": 0.0})
        scheduler.step()
    np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_config_round_trip_and_names():
    for name in ("step", "exponential", "cosine", "warmup", "plateau", "constant"):
        t = make_schedule(name, epochs=30, warmup=3)
        rule = Chain(bp.SGD(0.1), t)
        again = rule_from_config(rule_to_config(rule))
        assert rule_to_config(again) == rule_to_config(rule)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'cosin'"):
        make_schedule("cosin", epochs=3)
    with pytest.raises(ValueError, match="needs the number of epochs"):
        make_schedule("cosine")
    with pytest.raises(ValueError, match="warmup must be"):
        Cosine(5, warmup=5)
    with pytest.raises(ValueError, match="sets its own step sizes"):
        make_rule("irprop+", lr_schedule="cosine", epochs=10)
    assert isinstance(make_rule("sgd", lr_schedule="constant"), bp.SGD)


def test_the_trainer_steps_schedules_once_per_epoch():
    # full-batch SGD(0.1) on ½‖w − 1‖² from w = 0 (a Dense(1, 1) without bias, x = 1, t = 1),
    # rate halved every epoch: w ← w − 0.1·s(e)·(w − 1) with s = 1, ½, ¼:
    #   w1 = 0.1, w2 = 0.1 + 0.05·0.9 = 0.145, w3 = 0.145 + 0.025·0.855 = 0.166375
    net = bp.Sequential(bp.Dense(1, 1, bias=False, W=np.zeros((1, 1))))
    net.astype(np.float64)
    rule = Chain(bp.SGD(0.1), ScaleBySchedule(StepDecay(1, 0.5)))
    bp.fit(net, np.ones((1, 1)), np.ones((1, 1)), bp.SquaredError(), rule, schedule="batch",
           epochs=3, verbose=0)  # fmt: skip
    assert float(net.space.params[0]) == pytest.approx(0.166375, rel=1e-12)


def test_reduce_on_plateau_sees_the_validation_loss_of_each_epoch():
    seen = []

    class Spy(ReduceOnPlateau):
        def on_epoch_end(self, state, logs):
            seen.append(logs.get("val_loss"))
            return super().on_epoch_end(state, logs)

    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    net = bp.mlp([2, 4, 2], seed=0)
    h = bp.fit(net, X, y, optimizer=Chain(bp.Adam(0.01), Spy(patience=1)), epochs=4,
               validation_split=0.25, verbose=0)  # fmt: skip
    assert seen == h.val_loss and len(seen) == 4


def test_fit_stream_steps_schedules_once_per_pass():
    from bprop.recurrent import Elman, Recurrent, TimeDistributed
    from bprop.train import fit_stream

    net = bp.Sequential(Recurrent(Elman(3, 4, rng=0)), TimeDistributed(bp.Dense(4, 3, rng=1)))
    stream = np.random.default_rng(0).integers(0, 3, 200)
    rule = Chain(bp.Adam(0.01), ScaleBySchedule(StepDecay(1, 0.5)))
    h = fit_stream(net, stream[:-1], stream[1:], 10, optimizer=rule, batch_size=4, epochs=3,
                   verbose=0)  # fmt: skip
    assert h.optimizer_state["1/count"] == 3.0 and h.optimizer_state["1/scale"] == 0.125
