"""Hand-traced trajectories of the four Rprop variants.

f(w) = w1² + 10·w2², ∇f = (2·w1, 20·w2), start w = (1.0, 0.3), defaults η+ = 1.2, η− = 0.5,
Δ0 = 0.1 (Δmax = 50, Δmin = 1e-6 never bind here). Only sign(∇f) = sign(w) matters, so each
coordinate moves by its own step size, and the two coordinates interact only through the loss
that iRprop+ compares. Call t receives the point P(t−1) and returns P(t); "g" below is the sign
of the gradient at P(t−1), "prev" the stored sign from call t−1 (0 at the start or after it was
forgotten).

Coordinate w1 (never changes sign before call 8). Every variant does the same first 7 calls:
p = g·prev > 0 from call 2 on, Δ grows by 1.2: 0.1, 0.12, 0.144, 0.1728, 0.20736, 0.248832,
0.2985984, and w1 = 1 − ΣΔ:
    P1..P7: 0.9, 0.78, 0.636, 0.4632, 0.25584, 0.007008, −0.2915904
Call 8: g < 0, prev > 0: sign change, Δ = 0.2985984·0.5 = 0.1492992.
    Rprop−:  step +0.1492992              -> −0.1422912
             call 9: g < 0, prev < 0 (not forgotten): Δ = 0.17915904, -> 0.03686784
             call 10: g > 0, prev < 0: Δ = 0.08957952, step −Δ -> −0.05271168
    Rprop+:  backtrack −Δw(7) = +0.2985984 -> 0.007008, forget
             call 9: prev = 0: step −0.1492992 -> −0.1422912
             call 10: change, Δ = 0.0746496, backtrack +0.1492992 -> 0.007008
    iRprop−: no step (−0.2915904), forget
             call 9: prev = 0, step +0.1492992 -> −0.1422912
             call 10: g < 0, prev < 0: Δ = 0.17915904 -> 0.03686784
    iRprop+: the error rose (see the loss column below), so as Rprop+:
             0.007008, −0.1422912, 0.007008 (Δ after call 10: 0.0746496)

Coordinate w2: calls 1–3 are common: Δ = 0.1, 0.12, 0.144; w2 = 0.2, 0.08, −0.064.
Call 4: g < 0, prev > 0: change, Δ = 0.072.
    Rprop−:  step +0.072 -> 0.008
             5: change (g > 0, prev < 0), Δ = 0.036, step −Δ -> −0.028
             6: change, Δ = 0.018, step + -> −0.010
             7: same sign, Δ = 0.0216 -> 0.0116
             8: change, Δ = 0.0108 -> 0.0008
             9: same sign, Δ = 0.01296 -> −0.01216
             10: change, Δ = 0.00648 -> −0.00568
    Rprop+:  backtrack −Δw(3) = +0.144 -> 0.08, forget
             5: prev 0, step −0.072 -> 0.008
             6: same sign, Δ = 0.0864 -> −0.0784
             7: change, Δ = 0.0432, backtrack +0.0864 -> 0.008, forget
             8: prev 0, step −0.0432 -> −0.0352
             9: change, Δ = 0.0216, backtrack +0.0432 -> 0.008, forget
             10: prev 0, step −0.0216 -> −0.0136
    iRprop−: no step (−0.064), forget
             5: prev 0, step +0.072 -> 0.008
             6: change (g > 0, prev < 0), Δ = 0.036, no step (0.008), forget
             7: prev 0, step −0.036 -> −0.028
             8: change, Δ = 0.018, no step (−0.028), forget
             9: prev 0, step +0.018 -> −0.010
             10: same sign, Δ = 0.0216 -> 0.0116
    iRprop+: E(t) = f at the point the call receives; backtrack only if E(t) > E(t−1):
             E(P2) = 0.6084 + 0.064 = 0.6724, E(P3) = 0.404496 + 0.04096 = 0.445456
             4: change, E(P3) < E(P2): no backtrack, as iRprop−: −0.064
             E(P4) = 0.21455424 + 0.04096 = 0.25551424, E(P5) = 0.0654541056 + 0.00064
             = 0.0660941056
             5: 0.008 (as iRprop−);  6: change, E(P5) < E(P4): as iRprop−: 0.008
             7: −0.028 (as iRprop−). P6 = (0.007008, 0.008), E(P6) = 0.000049112064 + 0.00064
             = 0.000689112064; P7 = (−0.2915904, −0.028), E(P7) ≈ 0.0850 + 0.00784 ≈ 0.0929
             8: both coordinates change sign and E(P7) > E(P6): backtrack both:
                w1 -> 0.007008, w2 = −0.028 + 0.036 -> 0.008 (Δ2 = 0.018); P8 = P6
             9: prev 0: w1 -> −0.1422912, w2 -> 0.008 − 0.018 = −0.010;
                E(P9) ≈ 0.02025 + 0.001 > E(P8) = 0.000689
             10: both change and the error rose: backtrack both: (0.007008, 0.008), Δ2 = 0.009

The table (P1..P10):

 t | Rprop+               | Rprop−                  | iRprop+              | iRprop−
 1 | 0.9,        0.2      | 0.9,         0.2        | 0.9,        0.2      | 0.9,        0.2
 2 | 0.78,       0.08     | 0.78,        0.08       | 0.78,       0.08     | 0.78,       0.08
 3 | 0.636,     −0.064    | 0.636,      −0.064      | 0.636,     −0.064    | 0.636,     −0.064
 4 | 0.4632,     0.08     | 0.4632,      0.008      | 0.4632,    −0.064    | 0.4632,    −0.064
 5 | 0.25584,    0.008    | 0.25584,    −0.028      | 0.25584,    0.008    | 0.25584,    0.008
 6 | 0.007008,  −0.0784   | 0.007008,   −0.010      | 0.007008,   0.008    | 0.007008,   0.008
 7 | −0.2915904, 0.008    | −0.2915904,  0.0116     | −0.2915904, −0.028   | −0.2915904, −0.028
 8 | 0.007008,  −0.0352   | −0.1422912,  0.0008     | 0.007008,   0.008    | −0.2915904, −0.028
 9 | −0.1422912, 0.008    | 0.03686784, −0.01216    | −0.1422912, −0.010   | −0.1422912, −0.010
10 | 0.007008,  −0.0136   | −0.05271168, −0.00568   | 0.007008,   0.008    | 0.03686784,  0.0116

First step at which each pair differs: every pair involving Rprop+ or Rprop− at step 4 (the
first sign change, in w2: backtrack vs. smaller step vs. no step); iRprop+ and iRprop− agree
while the error keeps falling and first differ at step 8, the first sign change after an error
increase.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bprop.optim import Rprop

START = (1.0, 0.3)

EXPECTED = {
    "rprop+": [
        (0.9, 0.2),
        (0.78, 0.08),
        (0.636, -0.064),
        (0.4632, 0.08),
        (0.25584, 0.008),
        (0.007008, -0.0784),
        (-0.2915904, 0.008),
        (0.007008, -0.0352),
        (-0.1422912, 0.008),
        (0.007008, -0.0136),
    ],
    "rprop-": [
        (0.9, 0.2),
        (0.78, 0.08),
        (0.636, -0.064),
        (0.4632, 0.008),
        (0.25584, -0.028),
        (0.007008, -0.010),
        (-0.2915904, 0.0116),
        (-0.1422912, 0.0008),
        (0.03686784, -0.01216),
        (-0.05271168, -0.00568),
    ],
    "irprop+": [
        (0.9, 0.2),
        (0.78, 0.08),
        (0.636, -0.064),
        (0.4632, -0.064),
        (0.25584, 0.008),
        (0.007008, 0.008),
        (-0.2915904, -0.028),
        (0.007008, 0.008),
        (-0.1422912, -0.010),
        (0.007008, 0.008),
    ],
    "irprop-": [
        (0.9, 0.2),
        (0.78, 0.08),
        (0.636, -0.064),
        (0.4632, -0.064),
        (0.25584, 0.008),
        (0.007008, 0.008),
        (-0.2915904, -0.028),
        (-0.2915904, -0.028),
        (-0.1422912, -0.010),
        (0.03686784, 0.0116),
    ],
}

# step sizes (Δ1, Δ2) after the ten steps, from the traces above
EXPECTED_DELTA = {
    "rprop+": (0.0746496, 0.0216),
    "rprop-": (0.08957952, 0.00648),
    "irprop+": (0.0746496, 0.009),
    "irprop-": (0.17915904, 0.0216),
}

FIRST_DIFFERENCE = {
    ("rprop+", "rprop-"): 4,
    ("rprop+", "irprop+"): 4,
    ("rprop+", "irprop-"): 4,
    ("rprop-", "irprop+"): 4,
    ("rprop-", "irprop-"): 4,
    ("irprop+", "irprop-"): 8,
}


def f(w: np.ndarray) -> float:
    return float(w[0] ** 2 + 10 * w[1] ** 2)


def grad(w: np.ndarray) -> np.ndarray:
    return np.array([2 * w[0], 20 * w[1]])


def trajectory(variant: str, steps: int = 10) -> tuple[np.ndarray, dict]:
    rule = Rprop(variant)
    w = np.array(START, dtype=np.float64)
    state = rule.init(w)
    points = []
    for _ in range(steps):
        upd, state = rule.update(grad(w), state, w, loss=f(w))
        w += upd
        points.append(w.copy())
    return np.array(points), state


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_ten_steps_match_the_hand_trace(variant: str) -> None:
    points, state = trajectory(variant)
    np.testing.assert_allclose(points, np.array(EXPECTED[variant]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["step_size"], EXPECTED_DELTA[variant], rtol=0, atol=1e-12)


def first_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    differs = np.abs(a - b).max(axis=1) > 1e-9
    return int(np.argmax(differs)) + 1 if differs.any() else None


@pytest.mark.parametrize("pair", sorted(FIRST_DIFFERENCE))
def test_variants_first_differ_where_the_papers_say(pair: tuple[str, str]) -> None:
    a, b = (trajectory(v)[0] for v in pair)
    assert first_difference(a, b) == FIRST_DIFFERENCE[pair]


def test_every_pair_of_variants_is_covered() -> None:
    pairs = {frozenset(p) for p in itertools.combinations(EXPECTED, 2)}
    assert {frozenset(p) for p in FIRST_DIFFERENCE} == pairs


# --- the other branches: bounds, zero gradients, float32, errors -----------------------------


def test_step_size_is_capped_at_delta_max() -> None:
    # f = w² from 1, Rprop−, Δmax = 0.15: Δ = 0.1, 0.12, 0.144, then 0.1728 → 0.15, 0.15
    rule = Rprop("rprop-", delta_max=0.15)
    w = np.array([1.0])
    state = rule.init(w)
    seen = []
    for _ in range(5):
        upd, state = rule.update(2 * w, state, w)
        w += upd
        seen.append(w[0])
    np.testing.assert_allclose(seen, [0.9, 0.78, 0.636, 0.486, 0.336], rtol=0, atol=1e-12)


def test_step_size_is_floored_at_delta_min() -> None:
    # gradients +1, −1, +1, −1 (a sign change every step), Rprop−, Δmin = 0.03:
    # Δ = 0.1, 0.05, 0.025 → 0.03, 0.015 → 0.03; steps −0.1, +0.05, −0.03, +0.03
    rule = Rprop("rprop-", delta_min=0.03)
    w = np.zeros(1)
    state = rule.init(w)
    steps = [rule.update(np.array([g]), state, w)[0][0] for g in (1.0, -1.0, 1.0, -1.0)]
    np.testing.assert_allclose(steps, [-0.1, 0.05, -0.03, 0.03], rtol=0, atol=1e-15)


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_a_zero_gradient_takes_no_step_and_keeps_the_step_size(variant: str) -> None:
    # g = 1 (step −0.1), then g = 0: p = 0, Δ stays 0.1, no step; then g = 1 again: p = 0
    # (the stored sign is 0), so Δ is still not adapted and the step is −0.1
    rule = Rprop(variant)
    w = np.zeros(1)
    state = rule.init(w)
    steps = [rule.update(np.array([g]), state, w, loss=1.0)[0][0] for g in (1.0, 0.0, 1.0)]
    assert steps == [-0.1, 0.0, -0.1]
    assert state["step_size"][0] == 0.1


def test_float32_tiny_gradients_do_not_underflow_the_sign_test() -> None:
    # 1e-25 · 1e-25 = 1e-50 is 0 in float32, which a product-based test would read as "p = 0";
    # Rprop compares signs, so the second step grows Δ to 0.12
    rule = Rprop("irprop-")
    w = np.zeros(1, dtype=np.float32)
    state = rule.init(w)
    for _ in range(2):
        upd, state = rule.update(np.array([1e-25], dtype=np.float32), state, w)
    assert upd.dtype == np.float32
    assert upd[0] == pytest.approx(-0.12, abs=1e-6)  # not −0.1: Δ was adapted


def test_irprop_plus_needs_the_loss() -> None:
    rule = Rprop("irprop+")
    w = np.zeros(2)
    with pytest.raises(ValueError, match="loss"):
        rule.update(np.ones(2), rule.init(w), w)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "rprop"}, r"rprop\+.*rprop-.*irprop\+.*irprop-"),
        ({"eta_minus": 1.0}, "eta_minus"),
        ({"eta_minus": 0.0}, "eta_minus"),
        ({"eta_plus": 1.0}, "eta_plus"),
        ({"delta0": -0.1}, "delta0"),
        ({"delta0": 100.0}, "delta_max"),
        ({"delta_min": 0.5}, "delta_min"),
    ],
)
def test_bad_hyper_parameters_are_rejected_clearly(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rprop(**kwargs)


def test_variant_names_accept_upper_case_and_the_typographic_minus() -> None:
    assert Rprop("iRprop\u2212").variant == "irprop-"
    assert Rprop("RPROP+").variant == "rprop+"


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_the_trainer_warns_for_mini_batches_naming_rmsprop(variant: str) -> None:
    import bprop as bp

    net = bp.mlp([2, 2, 1], seed=0)
    with pytest.warns(UserWarning, match="full-batch.*RMSprop"):
        bp.Trainer(net, "squared_error", Rprop(variant), schedule="minibatch", verbose=0)
