import numpy as np
import pytest

import bprop as bp


def test_initialisers_have_their_published_scales():
    n_in, n_out = 400, 300
    rng = np.random.default_rng(0)
    w = bp.Dense(n_in, n_out, init="glorot", rng=rng).params["W"]
    assert abs(w.max() - np.sqrt(6 / (n_in + n_out))) < 1e-3
    w = bp.Dense(n_in, n_out, init="he", rng=rng).params["W"]
    assert abs(w.std() - np.sqrt(2 / n_in)) < 2e-3
    w = bp.Dense(n_in, n_out, init="uniform", init_scale=0.25, rng=rng).params["W"]
    assert 0.249 < w.max() <= 0.25 and -0.25 <= w.min() < -0.249


def test_explicit_weights_and_shape_errors():
    d = bp.Dense(2, 3, W=np.ones((2, 3)), b=[1, 2, 3])
    np.testing.assert_array_equal(d(np.ones((1, 2), np.float32)), [[3, 4, 5]])
    with pytest.raises(ValueError, match=r"W has shape \(3, 2\)"):
        bp.Dense(2, 3, W=np.ones((3, 2)))
    with pytest.raises(ValueError, match="expects input of shape"):
        d.forward(np.ones((1, 5), np.float32))
    with pytest.raises(ValueError, match="unknown initialiser"):
        bp.Dense(2, 3, init="xavier-ish")


def test_frozen_parameters_do_not_move_and_leave_the_flat_buffer():
    net = bp.Sequential(bp.Dense(2, 2, rng=0, freeze=("b",)), bp.Tanh(), bp.Dense(2, 1, rng=1))
    assert net.space.size == 4 + 2 + 1
    b0 = net.layers[0].params["b"].copy()
    W0 = net.layers[0].params["W"].copy()
    X = np.random.default_rng(0).normal(size=(8, 2))
    bp.fit(
        net, X, X[:, :1] * 2, loss=bp.MeanSquaredError(), optimizer=bp.SGD(0.1), epochs=3, verbose=0
    )
    np.testing.assert_array_equal(net.layers[0].params["b"], b0)
    assert not np.array_equal(net.layers[0].params["W"], W0)
    net.layers[0].unfreeze("b")
    assert net.space.size == 4 + 2 + 2 + 1


def test_params_are_views_of_one_flat_buffer():
    net = bp.mlp([3, 4, 2], seed=0)
    space = net.space
    for s in space.slots:
        assert np.shares_memory(s.layer.params[s.name], space.params)
        assert np.shares_memory(s.layer.grads[s.name], space.grads)
    space.params[:] = 0
    assert float(np.abs(net.layers[0].params["W"]).sum()) == 0


def test_dropout_is_inverted_and_identity_in_evaluation():
    layer = bp.Dropout(0.25, rng=0)
    x = np.ones((2000, 50))
    y, mask = layer.forward(x, train=True)
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs(y.mean() - 1.0) < 0.02
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_array_equal(layer.forward(x, train=False)[0], x)


def test_batchnorm_running_statistics_and_evaluation():
    bn = bp.BatchNorm(3, momentum=0.5)
    x = np.random.default_rng(0).normal(4.0, 2.0, size=(500, 3))
    for _ in range(30):
        y, _ = bn.forward(x, train=True)
    np.testing.assert_allclose(bn.buffers["running_mean"], x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.buffers["running_var"], x.var(0, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    ye, _ = bn.forward(x, train=False)
    np.testing.assert_allclose(ye, y * np.sqrt(499 / 500), rtol=1e-4, atol=1e-5)  # unbiased var
    with pytest.raises(ValueError, match="at least 2"):
        bn.forward(x[:1], train=True)


def test_softmax_is_stable_for_huge_logits():
    y = bp.Softmax()(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(y, [[1, 0, 0]])


def test_sequential_rejects_non_layers_and_mlp_rejects_bad_sizes():
    with pytest.raises(TypeError, match="not a Layer"):
        bp.Sequential(bp.Dense(2, 2), "tanh")
    with pytest.raises(ValueError, match="unknown activation"):
        bp.mlp([2, 3, 1], activation="swish")
