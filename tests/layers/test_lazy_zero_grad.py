"""ParamSpace.zero_grad(lazy=True): Dense writes its first gradient instead of adding it to a
zeroed buffer, and finish_grads zeroes what no backward wrote. Checked against the eager fill
on buffers full of stale values, for nets where that can go wrong."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import LSTM, Recurrent, TimeDistributed


def _nets():
    shared = bp.Dense(4, 4, rng=3)  # one layer run twice: its second gradient must add
    frozen_b = bp.Dense(4, 3, rng=4, freeze=("b",))
    yield "mlp", bp.mlp([5, 4, 3], activation="tanh", seed=1), (6, 5)
    yield (
        "shared",
        bp.Sequential(bp.Dense(5, 4, rng=2), bp.Tanh(), shared, bp.Tanh(), shared),
        (6, 5),
    )
    yield "frozen", bp.Sequential(bp.Dense(5, 4, rng=2, bias=False), bp.ReLU(), frozen_b), (6, 5)
    yield (
        "mixed",
        bp.Sequential(bp.Dense(5, 4, rng=2), bp.BatchNorm(4), bp.Dense(4, 3, rng=5)),
        (6, 5),
    )
    yield (
        "lstm",
        bp.Sequential(Recurrent(LSTM(3, 4)), TimeDistributed(bp.Dense(4, 2, rng=6))),
        (2, 5, 3),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [c[0] for c in _nets()])
def test_lazy_zero_grad_gives_the_gradient_of_the_eager_fill(case, dtype):
    name, net, shape = next(c for c in _nets() if c[0] == case)
    net.astype(dtype)
    space = net.space
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    dy = None
    grads = []
    for lazy in (False, True, True):  # the second lazy step meets the first one's gradient
        space.grads[...] = 7.0  # stale values that must not leak into the gradient
        space.zero_grad(lazy=lazy)
        out, cache = net.forward(x, train=True)
        dy = rng.normal(size=out.shape).astype(dtype) if dy is None else dy
        net.backward(dy, cache)
        space.finish_grads()
        grads.append(space.grads.copy())
    assert np.any(grads[0] != 0)
    np.testing.assert_array_equal(grads[1], grads[0])
    np.testing.assert_array_equal(grads[2], grads[0])


def test_finish_grads_zeroes_what_no_backward_wrote_and_eager_zero_clears_the_marks():
    net = bp.mlp([3, 2, 2], activation="tanh", seed=0)
    space = net.space
    space.grads[...] = 5.0
    space.zero_grad(lazy=True)
    dense = net.leaves()[0]
    assert dense.unwritten == {"W", "b"}
    space.finish_grads()  # no backward ran
    assert not np.any(space.grads) and dense.unwritten == set()
    space.zero_grad(lazy=True)
    space.zero_grad()
    assert dense.unwritten == set()
    space.grads[...] = 0
    out, cache = net.forward(np.ones((2, 3)), train=True)
    net.backward(np.ones_like(out), cache)
    once = space.grads.copy()
    net.backward(np.ones_like(out), cache)  # no zero in between: backward adds
    np.testing.assert_allclose(space.grads, 2 * once)
