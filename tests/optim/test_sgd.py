"""Hand-traced SGD, momentum and Nesterov steps on f(w) = w1² + 10·w2² (∇f = (2w1, 20w2))."""

import numpy as np
import pytest

import bprop as bp


def trace(rule, steps=3):
    w = np.array([1.0, 0.3])
    state = rule.init(w)
    out = []
    for _ in range(steps):
        g = np.array([2 * w[0], 20 * w[1]])
        upd, state = rule.update(g, state, w)
        w = w + upd
        out.append(w.copy())
    return np.array(out)


def test_plain_gradient_descent():
    # η = 0.05: w1 ← w1 − 0.1 w1 = 0.9 w1; w2 ← w2 − 1.0 w2 = 0
    # step 1: (0.9, 0.0); step 2: (0.81, 0.0); step 3: (0.729, 0.0)
    np.testing.assert_allclose(trace(bp.SGD(0.05)), [[0.9, 0], [0.81, 0], [0.729, 0]], atol=1e-15)


def test_heavy_ball_momentum():
    # η = 0.01, μ = 0.5; Δw(t) = −η g + μ Δw(t−1)
    # t=1: g = (2, 6); Δ = (−0.02, −0.06); w = (0.98, 0.24)
    # t=2: g = (1.96, 4.8); Δ = (−0.0196 − 0.01, −0.048 − 0.03) = (−0.0296, −0.078);
    #      w = (0.9504, 0.162)
    # t=3: g = (1.9008, 3.24); Δ = (−0.019008 − 0.0148, −0.0324 − 0.039)
    #      = (−0.033808, −0.0714); w = (0.916592, 0.0906)
    expected = [[0.98, 0.24], [0.9504, 0.162], [0.916592, 0.0906]]
    np.testing.assert_allclose(trace(bp.SGD(0.01, momentum=0.5)), expected, atol=1e-14)


def test_nesterov_momentum():
    # η = 0.01, μ = 0.5; v(t) = μ v − η g; Δw = μ v(t) − η g
    # t=1: g = (2, 6); v = (−0.02, −0.06); Δ = (−0.01 − 0.02, −0.03 − 0.06) = (−0.03, −0.09)
    #      w = (0.97, 0.21)
    # t=2: g = (1.94, 4.2); v = (−0.01 − 0.0194, −0.03 − 0.042) = (−0.0294, −0.072)
    #      Δ = (−0.0147 − 0.0194, −0.036 − 0.042) = (−0.0341, −0.078); w = (0.9359, 0.132)
    expected = [[0.97, 0.21], [0.9359, 0.132]]
    np.testing.assert_allclose(trace(bp.Nesterov(0.01, 0.5), steps=2), expected, atol=1e-14)


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="momentum"):
        bp.SGD(0.1, momentum=1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        bp.SGD(0.1, nesterov=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_apply_is_params_plus_update(dtype, momentum, nesterov):
    # the trainer calls apply(); SGD fuses it into one pass for heavy-ball momentum
    rng = np.random.default_rng(0)
    rule = bp.SGD(0.1, momentum=momentum, nesterov=nesterov)
    p_apply = rng.normal(size=257).astype(dtype)
    p_update = p_apply.copy()
    s_apply, s_update = rule.init(p_apply), rule.init(p_update)
    for _ in range(4):
        g = rng.normal(size=257).astype(dtype)
        s_apply = rule.apply(g.copy(), s_apply, p_apply)
        upd, s_update = rule.update(g.copy(), s_update, p_update)
        p_update += upd
    np.testing.assert_array_equal(p_apply, p_update)
    for key in s_update:
        np.testing.assert_array_equal(s_apply[key], s_update[key])
