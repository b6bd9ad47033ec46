"""The FANN peer of ``bench/bench_online.py --fann`` (``bench/fann_peer.py``): FANN 2.2 trains
the same network as bprop with the same maths, up to FANN's clip of the tanh derivative."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import bprop as bp

# loaded from its file: bench/ is not a package, and putting it on sys.path would shadow
# module names (bench/common.py) for the rest of the session
_spec = importlib.util.spec_from_file_location(
    "fann_peer", Path(__file__).resolve().parents[1] / "bench" / "fann_peer.py"
)
fann_peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fann_peer)
if fann_peer.load() is None:
    pytest.skip(f"FANN is not installed: {fann_peer.INSTALL}", allow_module_level=True)

rng = np.random.default_rng(5)
X = rng.random((120, 6), dtype=np.float32)
T = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 120)]
LR = 0.05


def bprop_epoch(scale):
    net = bp.mlp([6, 5, 3], activation="tanh", seed=2)
    for leaf in net.leaves():
        if "W" in leaf.params:
            leaf.params["W"] *= scale
    init = [
        (leaf.params["W"].copy(), leaf.params["b"].copy())
        for leaf in net.leaves()
        if "W" in leaf.params
    ]
    trainer = bp.Trainer(
        net, bp.SquaredError(), bp.SGD(LR), schedule=bp.Online(shuffle=False), verbose=0
    )
    loss = trainer.fit(X, T, epochs=1).train_loss[-1] / len(X)  # SquaredError sums: per example
    after = [
        (leaf.params["W"].copy(), leaf.params["b"].copy())
        for leaf in net.leaves()
        if "W" in leaf.params
    ]
    return init, after, loss


def test_fann_trains_as_bprop_where_no_unit_saturates():
    init, after, loss = bprop_epoch(1.0)
    net = fann_peer.FannNet(init, LR)
    assert fann_peer.max_rel_diff(net.weights(), init) == 0.0  # the weights went in as they are
    fresh = net.copy()  # a copy trains the same (fann_copy alone drops the training algorithm)
    mse = fresh.train_epoch(fann_peer.FannData(X, T))
    _, saturated = fann_peer.replay(init, X, T, LR, clip=False)
    assert saturated == 0
    assert fann_peer.max_rel_diff(fresh.weights(), after) < 1e-5
    assert mse == pytest.approx(2 * loss / T.shape[1], rel=1e-5)  # FANN's MSE: Σ(t − a)² / (N K)


def test_fann_clips_the_tanh_derivative_at_098():
    init, after, _ = bprop_epoch(4.0)  # large weights: hidden units pass |tanh| = 0.98
    fresh = fann_peer.FannNet(init, LR)
    fresh.train_epoch(fann_peer.FannData(X, T))
    plain, saturated = fann_peer.replay(init, X, T, LR, clip=False)
    clipped, _ = fann_peer.replay(init, X, T, LR, clip=True)
    assert saturated > 0
    assert fann_peer.max_rel_diff(fresh.weights(), clipped) < 1e-5
    assert fann_peer.max_rel_diff(after, plain) < 1e-5
    assert fann_peer.max_rel_diff(fresh.weights(), after) > 1e-3
