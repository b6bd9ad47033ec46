"""Hand-traced Quickprop steps (Fahlman 1988), one branch of the rule at a time.

Notation: S = slope (gradient, plus decay·w), p = previous slope, d = previous step,
μ = 1.75, shrink = μ/(1 + μ) = 7/11 ≈ 0.636364.
"""

from __future__ import annotations

import numpy as np
import pytest

from bprop.optim import Quickprop


def run_on_parabola(rule: Quickprop, w0: float, steps: int, curvature: float = 2.0):
    """f(w) = ½·curvature·w²: returns the points after each step and the final state."""
    w = np.array([w0])
    state = rule.init(w)
    points = []
    for _ in range(steps):
        upd, state = rule.update(curvature * w, state, w)
        w += upd
        points.append(w[0])
    return points, state


def test_six_steps_on_w_squared() -> None:
    # f(w) = w², S = 2w, ε = 0.05, from w = 1.
    # 1: d = 0: gradient descent −0.05·2 = −0.1                                   -> 0.9
    # 2: S = 1.8, p = 2, d = −0.1. Quadratic jump −0.1·1.8/0.2 = −0.9 is more than μ|d|:
    #    d<0 and S = 1.8 ≥ shrink·p = 1.2727 → μ·d = −0.175; still downhill (d·S < 0) so add
    #    −εS = −0.09: step −0.265                                                 -> 0.635
    # 3: S = 1.27, p = 1.8, d = −0.265; shrink·p = 1.1455 ≤ 1.27 → μ·d = −0.46375; plus
    #    −0.0635: step −0.52725                                                   -> 0.10775
    # 4: S = 0.2155, p = 1.27, d = −0.52725; shrink·p = 0.8082 > S → quadratic jump
    #    d·S/(p − S) = −0.52725·0.2155/1.0545 = −0.10775 (exactly to the minimum of the
    #    parabola), plus −εS = −0.010775 (d·S < 0): step −0.118525                -> −0.010775
    # 5: S = −0.02155, p = 0.2155, d = −0.118525: the slope changed sign (d·S > 0), so no
    #    gradient term; S < shrink·p → quadratic: (−0.118525)(−0.02155)/0.23705 = +0.010775
    #                                                                              -> 0
    # 6: S = 0: the quadratic step d·0/(p − 0) = 0 and the gradient term is 0     -> 0
    points, state = run_on_parabola(Quickprop(lr=0.05), 1.0, 6)
    expected = [0.9, 0.635, 0.10775, -0.010775, 0.0, 0.0]
    np.testing.assert_allclose(points, expected, rtol=0, atol=1e-12)
    assert state["prev_step"][0] == pytest.approx(0.0, abs=1e-12)


def test_infinite_and_uphill_quadratic_steps_take_the_maximum_step() -> None:
    # slopes fed directly (ε = 0.1, decay 0):
    # 1: S = 1, d = 0: −0.1
    # 2: S = 1 = p: the jump S/(p − S) is infinite → μ·d = −0.175, plus −εS = −0.1: −0.275
    # 3: S = 2 > p = 1: the jump 2/(1 − 2)·d = +0.55 would go uphill → μ·d = −0.48125, plus
    #    −0.2: −0.68125
    # 4: S = −1 (minimum crossed), p = 2, d = −0.68125: d·(S − shrink·p) > 0 → quadratic
    #    (−0.68125)(−1)/(2 + 1) = 0.22708333…, no gradient term (d·S > 0)
    rule = Quickprop(lr=0.1)
    w = np.zeros(1)
    state = rule.init(w)
    steps = []
    for s in (1.0, 1.0, 2.0, -1.0):
        upd, state = rule.update(np.array([s]), state, w)
        steps.append(upd[0])
    np.testing.assert_allclose(steps, [-0.1, -0.275, -0.68125, 0.68125 / 3], rtol=0, atol=1e-15)


def test_weight_decay_is_added_to_the_slope() -> None:
    # f = w², decay 0.5, ε = 0.1 from w = 1: S = 2w + 0.5w = 2.5w
    # 1: S = 2.5, d = 0: −0.25                                                    -> 0.75
    # 2: S = 1.875, p = 2.5; shrink·p = 1.5909 ≤ S → μ·d = −0.4375, plus −0.1875 -> 0.125
    # 3: S = 0.3125, p = 1.875; shrink·p = 1.1932 > S → quadratic
    #    −0.625·0.3125/1.5625 = −0.125, plus −0.03125                             -> −0.03125
    # (without decay step 2 would see S = 1.5 and step 3 would differ)
    points, state = run_on_parabola(Quickprop(lr=0.1, decay=0.5), 1.0, 3)
    np.testing.assert_allclose(points, [0.75, 0.125, -0.03125], rtol=0, atol=1e-12)
    assert state["prev_slope"][0] == pytest.approx(0.3125, abs=1e-12)  # the decayed slope
    assert state["prev_step"][0] == pytest.approx(-0.15625, abs=1e-12)


def test_equal_slopes_after_an_uphill_step_do_not_divide_by_zero() -> None:
    # d > 0 with p = S > 0 (only reachable from an arbitrary state): the jump is infinite, so
    # the step is μ·d = 0.175 and no warning is raised (pytest turns warnings into errors)
    rule = Quickprop(lr=0.1)
    w = np.zeros(1)
    state = {"prev_slope": np.array([1.0]), "prev_step": np.array([0.1])}
    upd, _ = rule.update(np.array([1.0]), state, w)
    assert upd[0] == pytest.approx(0.175, abs=1e-15)


def test_vectorised_over_weights_in_float32() -> None:
    # each weight follows its own parabola; the whole vector at once equals one at a time
    curv = np.array([2.0, 0.5, 8.0, 1.0], dtype=np.float32)
    w = np.array([1.0, -2.0, 0.3, 0.0], dtype=np.float32)
    rule = Quickprop(lr=0.05)
    state = rule.init(w)
    singles = [
        run_on_parabola(Quickprop(lr=0.05), float(w[i]), 5, float(curv[i]))[0] for i in range(4)
    ]
    for _ in range(5):
        upd, state = rule.update(curv * w, state, w)
        assert upd.dtype == np.float32
        w += upd
    np.testing.assert_allclose(w, [s[-1] for s in singles], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"lr": -0.1}, "learning rate"), ({"mu": 0}, "mu"), ({"decay": -1e-4}, "decay")],
)
def test_bad_hyper_parameters_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Quickprop(**kwargs)


def test_the_trainer_warns_for_mini_batches() -> None:
    import bprop as bp

    with pytest.warns(UserWarning, match="RMSprop"):
        bp.Trainer(bp.mlp([2, 2, 1]), "squared_error", Quickprop(), schedule="online", verbose=0)


def test_a_zero_slope_stops_the_weight_even_after_equal_zero_slopes() -> None:
    # d = −0.2 and p = S = 0 (a saturated unit whose gradient is exactly 0 twice running):
    # the quadratic jump d·S/(p − S) = 0/0. Rule 2's test d·(S − shrink·p) = 0 ≤ 0 would read
    # it as an infinite jump and take μ·d = −0.35, then −0.6125, … (×1.75 per call, forever,
    # until overflow). Rule 0: S = 0 → step 0, and the gradient term −εS is 0 too.
    # Second weight: S = 0 after p = 1, d = −0.1: the jump (−0.1)(0)/(1 − 0) = 0 as well.
    rule = Quickprop(lr=0.1)
    w = np.zeros(2)
    state = {"prev_slope": np.array([0.0, 1.0]), "prev_step": np.array([-0.2, -0.1])}
    for _ in range(3):
        upd, state = rule.update(np.zeros(2), state, w)
        np.testing.assert_array_equal(upd, [0.0, 0.0])
    np.testing.assert_array_equal(state["prev_step"], [0.0, 0.0])


def test_quickprop_on_xor_stays_finite_once_the_gradient_vanishes() -> None:
    # the CLI reproducer (`bprop train --data xor --hidden 2 --method quickprop --schedule
    # batch --epochs 500`): after ~100 epochs the float32 softmax outputs equal their targets,
    # every slope is exactly 0, and without rule 0 the weights grew ×1.75 per epoch until they
    # overflowed near epoch 307 (TrainingDiverged "… loss = 0.0") on each of these seeds.
    import bprop as bp

    X = np.array([[0, 0], [0, 1], [1, 0]], float)
    y = np.array([0, 1, 1])
    for seed in range(3):
        net = bp.mlp([2, 2, 2], seed=seed)
        hist = bp.fit(
            net,
            X,
            y,
            optimizer=Quickprop(),
            schedule="batch",
            epochs=500,
            verbose=0,
        )
        assert hist.n_epochs == 500 and np.isfinite(net.space.params).all()
        assert np.abs(net.space.params).max() < 1e3
        assert (net.predict_classes(X) == y).all()
