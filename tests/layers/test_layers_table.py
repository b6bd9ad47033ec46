"""Every layer through forward, backward (accumulating) and a float64 gradient check.

One table, one suite (Chainer's FunctionTestCase idea): adding a layer means adding a row.
"""

import numpy as np
import pytest

import bprop as bp

TOL = 1e-7  # feedforward layers: max relative error, float64


def _inputs(shape, seed=0, away_from_zero=False):
    x = np.random.default_rng(seed).normal(size=shape)
    if away_from_zero:  # keep ReLU-type kinks more than the FD stencil (2h) away
        x = np.where(np.abs(x) < 0.05, 0.3, x)
    return x


LAYERS = {
    "dense": (lambda: bp.Dense(5, 4, rng=1), (6, 5), False),
    "dense_he": (lambda: bp.Dense(5, 4, init="he", rng=2), (6, 5), False),
    "dense_uniform": (lambda: bp.Dense(5, 4, init="uniform", init_scale=0.3, rng=3), (6, 5), False),
    "dense_no_bias": (lambda: bp.Dense(5, 4, bias=False, rng=1), (6, 5), False),
    "sigmoid": (bp.Sigmoid, (6, 5), False),
    "tanh": (bp.Tanh, (6, 5), False),
    "relu": (bp.ReLU, (6, 5), True),
    "leaky_relu": (lambda: bp.LeakyReLU(0.1), (6, 5), True),
    "identity": (bp.Identity, (6, 5), False),
    "softmax": (bp.Softmax, (6, 5), False),
    "dropout": (lambda: bp.Dropout(0.4, rng=7), (6, 5), False),
    "batchnorm": (lambda: bp.BatchNorm(5), (6, 5), False),
    "sequential": (
        lambda: bp.Sequential(
            bp.Dense(5, 4, rng=0), bp.Tanh(), bp.Dense(4, 3, rng=1), bp.Sigmoid()
        ),
        (6, 5),
        False,
    ),
    "deep_mixed": (
        lambda: bp.Sequential(
            bp.Dense(5, 8, rng=0),
            bp.BatchNorm(8),
            bp.LeakyReLU(0.2),
            bp.Dropout(0.3, rng=1),
            bp.Dense(8, 3, rng=2),
            bp.Softmax(),
        ),
        (7, 5),
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradcheck(name):
    make, shape, kinks = LAYERS[name]
    # BatchNorm can put a LeakyReLU input within the ±2h stencil of its kink: smaller h
    eps = 1e-4 if name == "deep_mixed" else 1e-3
    result = bp.gradcheck(make(), _inputs(shape, away_from_zero=kinks), eps=eps)
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", ["batchnorm", "dropout", "deep_mixed"])
def test_gradcheck_in_evaluation_mode(name):
    make, shape, _ = LAYERS[name]
    result = bp.gradcheck(make(), _inputs(shape), train=False)
    assert result.max_rel_error <= TOL, str(result)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_adds_into_grads(name):
    make, shape, kinks = LAYERS[name]
    with bp.backend.default_dtype("float64"):
        layer = make()
    x = _inputs(shape, away_from_zero=kinks)
    leaves = layer.leaves()
    for leaf in leaves:
        leaf.zero_grad()
    y, cache = layer.forward(x, train=True)
    dy = np.random.default_rng(1).normal(size=y.shape)
    dx1 = layer.backward(dy, cache)
    once = [g.copy() for leaf in leaves for g in leaf.grads.values()]
    dx2 = layer.backward(dy, cache)
    twice = [g.copy() for leaf in leaves for g in leaf.grads.values()]
    np.testing.assert_allclose(dx1, dx2)
    for a, b in zip(once, twice, strict=True):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12, atol=1e-15)
    assert x.shape == dx1.shape


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_float32_stays_float32(name):
    make, shape, _ = LAYERS[name]
    layer = make()
    x = _inputs(shape).astype(np.float32)
    y, cache = layer.forward(x, train=True)
    assert y.dtype == np.float32
    dx = layer.backward(np.ones_like(y), cache)
    assert dx.dtype == np.float32
    for leaf in layer.leaves():
        for g in leaf.grads.values():
            assert g.dtype == np.float32


def test_gradcheck_catches_a_wrong_backward():
    class BrokenTanh(bp.Tanh):
        def backward(self, dy, cache, need_dx=True):
            return dy * (1 - cache)  # should be 1 − y²

    result = bp.gradcheck(bp.Sequential(bp.Dense(3, 3, rng=0), BrokenTanh()), _inputs((4, 3)))
    assert result.max_rel_error > 1e-2
    assert "input" in result.where or "W" in result.where or "b" in result.where
