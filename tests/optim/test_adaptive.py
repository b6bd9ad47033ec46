"""Hand-traced steps of the bold driver, AdaGrad, RMSprop, Adam and the gradient transforms,
and (when PyTorch is installed) equality with ``torch.optim`` on the same gradients."""

from __future__ import annotations

import numpy as np
import pytest

import bprop as bp
from bprop.optim import (
    SGD,
    AdaGrad,
    Adam,
    BoldDriver,
    Chain,
    ClipByGlobalNorm,
    ClipByValue,
    RMSprop,
    Rprop,
    WeightDecay,
)

# --- bold driver ------------------------------------------------------------------------


def bold_trace(rule: BoldDriver, w0: float, calls: int) -> tuple[list[float], list[float]]:
    """f(w) = w²: the point after each call and the learning rate after each call."""
    w = np.array([w0])
    state = rule.init(w)
    points, rates = [], []
    for _ in range(calls):
        upd, state = rule.update(2 * w, state, w, loss=float(w[0] ** 2))
        w += upd
        points.append(w[0])
        rates.append(state["lr"])
    return points, rates


def test_bold_driver_with_momentum_grows_rejects_undoes_and_restarts() -> None:
    # f = w², η = 0.1, mc = 0.5, ×2 on improvement, ×0.5 on rejection, max_perf_inc 1.04.
    # A step is Δw = mc·Δw_prev − (1 − mc)·η·g; the first (and first after a rejection) −η·g.
    #  1: w = 1, E = 1, first step: −0.1·2 = −0.2                         -> 0.8,      η 0.1
    #  2: E = 0.64 < 1: η = 0.2; Δw = −0.1 − 0.5·0.2·1.6 = −0.26         -> 0.54,     η 0.2
    #  3: E = 0.2916 < 0.64: η = 0.4; Δw = −0.13 − 0.5·0.4·1.08 = −0.346 -> 0.194,    η 0.4
    #  4: E = 0.037636: η = 0.8; Δw = −0.173 − 0.4·0.388 = −0.3282       -> −0.1342,  η 0.8
    #  5: E = 0.01800964: η = 1.6; Δw = −0.1641 + 0.8·0.2684 = 0.05062   -> −0.08358, η 1.6
    #  6: E = 0.0069856164: η = 3.2; Δw = 0.02531 + 1.6·0.16716 = 0.292766 -> 0.209186, η 3.2
    #  7: E = 0.04376 > 1.04·0.0069856: reject: η = 1.6, undo −0.292766  -> −0.08358, η 1.6
    #  8: restart: Δw = −1.6·(−0.16716) = 0.267456                        -> 0.183876, η 1.6
    #  9: E = 0.03381 > 1.04·0.0069856: reject: η = 0.8, undo            -> −0.08358, η 0.8
    # 10: restart: Δw = −0.8·(−0.16716) = 0.133728                        -> 0.050148, η 0.8
    points, rates = bold_trace(BoldDriver(0.1, increase=2.0, decrease=0.5, momentum=0.5), 1.0, 10)
    expected = [0.8, 0.54, 0.194, -0.1342, -0.08358, 0.209186, -0.08358, 0.183876, -0.08358]
    np.testing.assert_allclose(points, [*expected, 0.050148], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        rates, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 1.6, 1.6, 0.8, 0.8], rtol=1e-15
    )


def test_bold_driver_accepts_a_small_increase_without_growing_the_rate() -> None:
    # η = 1.005 overshoots w² slightly: w → (1 − 2η)w = −1.01w, so E grows by 1.0201 ≤ 1.04:
    # accepted, and η stays (it grows only on a strict improvement).
    # 1: w = 1 -> −1.01;  2: E = 1.0201 ≤ 1.04·1: accept, η = 1.005, w -> 1.0201
    points, rates = bold_trace(BoldDriver(1.005, increase=2.0, decrease=0.5), 1.0, 2)
    np.testing.assert_allclose(points, [-1.01, 1.0201], rtol=0, atol=1e-12)
    assert rates == [1.005, 1.005]


def test_bold_driver_defaults_are_matlab_traingda() -> None:
    rule = BoldDriver()
    assert (rule.lr, rule.increase, rule.decrease, rule.max_perf_inc, rule.momentum) == (
        0.01,
        1.05,
        0.7,
        1.04,
        0.0,
    )


def test_bold_driver_needs_the_loss() -> None:
    rule = BoldDriver()
    w = np.zeros(2)
    with pytest.raises(ValueError, match="loss"):
        rule.update(np.ones(2), rule.init(w), w)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, "learning rate"),
        ({"increase": 0.9}, "increase"),
        ({"decrease": 1.0}, "decrease"),
        ({"max_perf_inc": 0.99}, "max_perf_inc"),
        ({"momentum": 1.0}, "momentum"),
    ],
)
def test_bold_driver_rejects_bad_hyper_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BoldDriver(**kwargs)


# --- AdaGrad, RMSprop, Adam (ε = 0 so the hand values are exact) -------------------------


def feed(rule, grads: list[tuple[float, float]]) -> tuple[list[np.ndarray], dict]:
    w = np.zeros(2)
    state = rule.init(w)
    steps = []
    for g in grads:
        upd, state = rule.update(np.array(g, dtype=np.float64), state, w)
        steps.append(upd.copy())
        w += upd
    return steps, state


def test_adagrad_steps() -> None:
    # η = 0.1. g1 = (3, −1): G = (9, 1), step −0.1·(3/3, −1/1) = (−0.1, 0.1)
    # g2 = (4, 0): G = (25, 1), step (−0.1·4/5, 0) = (−0.08, 0)
    # g3 = (12, 0): G = (169, 1), step (−0.1·12/13, 0) = (−0.0923076923…, 0)
    steps, state = feed(AdaGrad(0.1, eps=0.0), [(3, -1), (4, 0), (12, 0)])
    np.testing.assert_allclose(steps, [(-0.1, 0.1), (-0.08, 0), (-1.2 / 13, 0)], atol=1e-15)
    np.testing.assert_array_equal(state["sum_sq"], [169, 1])


def test_rmsprop_steps() -> None:
    # η = 0.01, ρ = 0.75 (so 1 − ρ = 0.25).
    # g1 = (2, −4): r = (1, 4), step −0.01·(2/1, −4/2) = (−0.02, 0.02)
    # g2 = (−1, 2): r = (0.75 + 0.25, 3 + 1) = (1, 4), step (0.01, −0.01)
    # g3 = (0, 0): r = (0.75, 3), step (0, 0)
    steps, state = feed(RMSprop(0.01, rho=0.75, eps=0.0), [(2, -4), (-1, 2), (0, 0)])
    np.testing.assert_allclose(steps, [(-0.02, 0.02), (0.01, -0.01), (0, 0)], atol=1e-15)
    np.testing.assert_allclose(state["mean_sq"], [0.75, 3], atol=1e-15)


def test_adam_steps() -> None:
    # η = 0.1, β1 = 0.5, β2 = 0.75.
    # t=1, g = (2, −4): m = (1, −2), v = (1, 4); m̂ = m/0.5 = (2, −4), v̂ = v/0.25 = (4, 16);
    #      step −0.1·(2/2, −4/4) = (−0.1, 0.1)
    # t=2, g = (−2, 4): m = (0.5 − 1, −1 + 2) = (−0.5, 1); v = (0.75 + 1, 3 + 4) = (1.75, 7);
    #      m̂ = m/0.75 = (−2/3, 4/3), v̂ = v/0.4375 = (4, 16); step −0.1·(−1/3, 1/3)
    steps, state = feed(Adam(0.1, beta1=0.5, beta2=0.75, eps=0.0), [(2, -4), (-2, 4)])
    np.testing.assert_allclose(steps, [(-0.1, 0.1), (0.1 / 3, -0.1 / 3)], atol=1e-15)
    np.testing.assert_allclose(state["m"], [-0.5, 1], atol=1e-15)
    np.testing.assert_allclose(state["v"], [1.75, 7], atol=1e-15)
    assert state["t"] == 2.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_adam_is_identical_to_the_numpy_update(dtype, monkeypatch) -> None:
    # with Numba, Adam.update runs one fused pass; it must give bit-for-bit what the NumPy
    # code gives, step after step (the hand trace above runs whichever path is installed)
    import bprop.optim.adaptive as adaptive

    if adaptive._fused_adam is None:
        pytest.skip("needs numba")
    rng = np.random.default_rng(0)
    grads = [(rng.normal(size=1000) * 10.0 ** rng.integers(-6, 3)).astype(dtype) for _ in range(6)]
    grads[2][:10] = 0.0
    rule = Adam(0.003, beta1=0.8, beta2=0.99, eps=1e-7)
    runs = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(adaptive, "_fused_adam", None)
        state, steps = rule.init(np.zeros(1000, dtype)), []
        for g in grads:
            step, state = rule.update(g.copy(), state, None)
            steps.append(step.copy())
        runs.append((steps, state))
    (steps_f, state_f), (steps_n, state_n) = runs
    for a, b in zip(steps_f, steps_n, strict=True):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state_f["m"], state_n["m"])
    np.testing.assert_array_equal(state_f["v"], state_n["v"])
    assert state_f["t"] == state_n["t"] == 6.0


def test_epsilon_is_added_to_the_square_root() -> None:
    # one step with g = 1e-4 and ε = 1e-4: ε outside the root gives −η·1e-4/(1e-4 + 1e-4) =
    # −η/2; inside the root it would be −η·1e-4/√(1e-8 + 1e-4) ≈ −η·0.01
    g = [(1e-4, 1e-4)]
    assert feed(AdaGrad(0.1, eps=1e-4), g)[0][0][0] == pytest.approx(-0.05, rel=1e-12)
    rms = feed(RMSprop(0.1, rho=0.75, eps=1e-4), g)[0][0][0]  # √r = 0.5e-4
    assert rms == pytest.approx(-0.1 * 1e-4 / (0.5e-4 + 1e-4), rel=1e-12)
    assert feed(Adam(0.1, eps=1e-4), g)[0][0][0] == pytest.approx(-0.05, rel=1e-12)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: AdaGrad(lr=0), "learning rate"),
        (lambda: AdaGrad(eps=-1), "eps"),
        (lambda: RMSprop(rho=1.0), "rho"),
        (lambda: Adam(beta1=1.0), "beta1"),
        (lambda: Adam(beta2=-0.1), "beta2"),
        (lambda: Adam(lr=-0.001), "learning rate"),
    ],
)
def test_adaptive_rules_reject_bad_hyper_parameters(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- transforms ---------------------------------------------------------------------------


def test_clip_by_value() -> None:
    rule = ClipByValue(1.0)
    g, _ = rule.update(np.array([3.0, -0.5, -7.0, 1.0]), {}, np.zeros(4))
    np.testing.assert_array_equal(g, [1.0, -0.5, -1.0, 1.0])


def test_clip_by_global_norm() -> None:
    # ‖(3, 4)‖ = 5 > 1: scale by 1/5; a limit of 10 leaves it alone
    g, _ = ClipByGlobalNorm(1.0).update(np.array([3.0, 4.0]), {}, np.zeros(2))
    np.testing.assert_allclose(g, [0.6, 0.8], atol=1e-15)
    g, _ = ClipByGlobalNorm(10.0).update(np.array([3.0, 4.0]), {}, np.zeros(2))
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_clip_by_global_norm_survives_float32_overflow_of_the_squares() -> None:
    g = np.array([3e20, 4e20], dtype=np.float32)  # g·g overflows float32
    out, _ = ClipByGlobalNorm(1.0).update(g, {}, np.zeros(2, dtype=np.float32))
    np.testing.assert_allclose(out, [0.6, 0.8], rtol=1e-6)


def test_weight_decay_adds_rate_times_w() -> None:
    g, _ = WeightDecay(0.1).update(np.array([1.0, 2.0]), {}, np.array([10.0, -20.0]))
    np.testing.assert_allclose(g, [2.0, 0.0], atol=1e-15)


def test_chain_clip_then_decay_then_sgd() -> None:
    # g = (3, 4) → clip to norm 1: (0.6, 0.8) → + 0.5·w = + (1, −1): (1.6, −0.2) → −0.1·that
    rule = Chain(ClipByGlobalNorm(1.0), WeightDecay(0.5), SGD(0.1))
    upd, _ = rule.update(np.array([3.0, 4.0]), rule.init(np.zeros(2)), np.array([2.0, -2.0]))
    np.testing.assert_allclose(upd, [-0.16, 0.02], atol=1e-15)


@pytest.mark.parametrize(
    "make", [lambda: ClipByValue(0), lambda: ClipByGlobalNorm(-1), lambda: WeightDecay(-0.1)]
)
def test_transforms_reject_bad_settings(make) -> None:
    with pytest.raises(ValueError):
        make()


# --- against torch.optim on the same gradients ------------------------------------------


def torch_pair(name: str):
    """(bprop rule, function making the torch optimizer for a parameter) with equal settings."""
    torch = pytest.importorskip("torch")
    pairs = {
        "adam": (Adam(0.01), lambda p: torch.optim.Adam([p], lr=0.01)),
        "adam-custom": (
            Adam(0.05, beta1=0.8, beta2=0.99, eps=1e-6),
            lambda p: torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6),
        ),
        "rmsprop": (
            RMSprop(0.01, rho=0.99, eps=1e-8),
            lambda p: torch.optim.RMSprop([p], lr=0.01, alpha=0.99, eps=1e-8),
        ),
        "rmsprop-default": (RMSprop(), lambda p: torch.optim.RMSprop([p], lr=0.001, alpha=0.9)),
        "adagrad": (AdaGrad(0.1), lambda p: torch.optim.Adagrad([p], lr=0.1)),
        "irprop-": (
            Rprop("irprop-", delta0=0.01, delta_min=1e-6, delta_max=50),
            lambda p: torch.optim.Rprop([p], lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50)),
        ),
        "irprop-paper-defaults": (
            Rprop("irprop-"),
            lambda p: torch.optim.Rprop([p], lr=0.1, etas=(0.5, 1.2), step_sizes=(1e-6, 50)),
        ),
    }
    return torch, pairs[name]


@pytest.mark.parametrize(
    "name",
    [
        "adam",
        "adam-custom",
        "rmsprop",
        "rmsprop-default",
        "adagrad",
        "irprop-",
        "irprop-paper-defaults",
    ],
)
def test_equals_torch_optim_on_the_same_gradients(name: str) -> None:
    torch, (rule, make_torch) = torch_pair(name)
    rng = np.random.default_rng(42)
    w = rng.normal(size=50)
    p = torch.tensor(w.copy(), dtype=torch.float64, requires_grad=True)
    opt = make_torch(p)
    state = rule.init(w)
    # a quadratic bowl with noise: gradients whose signs flip often (Rprop's branches)
    scale = rng.uniform(0.1, 10, size=50)
    for _ in range(60):
        g = scale * w + rng.normal(scale=0.5, size=50)
        p.grad = torch.tensor(g.copy(), dtype=torch.float64)
        opt.step()
        upd, state = rule.update(g.copy(), state, w)
        w += upd
        np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_trainer_warning_names_rmsprop_for_the_bold_driver() -> None:
    with pytest.warns(UserWarning, match="RMSprop"):
        bp.Trainer(bp.mlp([2, 2, 1]), "squared_error", BoldDriver(), schedule="online", verbose=0)
