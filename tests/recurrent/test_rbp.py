"""Almeida–Pineda recurrent backpropagation: finite differences, BPTT through the unrolled
relaxation, masked topologies, non-convergence, bad input, training and save/load."""

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent.rbp import RelaxationError, RelaxationWarning, SettlingNetwork

CONFIGS = [
    {},
    {"activation": "tanh", "relaxation_rate": 0.5},
    {"output_units": 2},
    {"output_units": [0, 3]},
    {"mask": "random"},
]


def make(dtype="float64", mask=None, **kw):
    if isinstance(mask, str):
        mask = np.random.default_rng(5).random((5, 5)) < 0.5
    with bp.backend.default_dtype(dtype):
        return SettlingNetwork(5, 3, mask=mask, rng=1, init_scale=1.5, **kw)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(c) or "default")
def test_gradient_equals_finite_differences(cfg):
    rng = np.random.default_rng(0)
    net = make(tol=1e-14, max_iter=20000, **cfg)
    x = rng.normal(size=(4, 3))
    t = rng.normal(size=(4, net.n_out))
    r = bp.gradcheck(net, x, t, loss=bp.SquaredError())
    assert r.max_rel_error <= 1e-6, str(r)
    r = bp.gradcheck(bp.Sequential(net, bp.Dense(net.n_out, 2, rng=0)), x)
    assert r.max_rel_error <= 1e-6, str(r)


def unrolled_gradient(net, u, target, K):
    """Plain BPTT through K steps of x ← (1 − ρ) x + ρ f(W x + U u + b) from x = 0, loss
    ½ Σ (x_K[out] − t)²: an explicit reference written independently of the layer."""
    W, U, b = (np.array(net.params[k], dtype=np.float64) for k in ("W", "U", "b"))
    if net.mask is not None:
        W = W * net.mask
    rho = net.relaxation_rate
    f = np.tanh if net.activation == "tanh" else (lambda a: 1 / (1 + np.exp(-a)))
    xs = [np.zeros((u.shape[0], net.n_units))]
    fs = []
    for _ in range(K):
        fx = f(xs[-1] @ W.T + u @ U.T + b)
        fs.append(fx)
        xs.append((1 - rho) * xs[-1] + rho * fx)
    out = net.output_index
    g = np.zeros_like(xs[-1])
    g[:, out] = xs[-1][:, out] - target
    gW, gU, gb = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    for k in range(K, 0, -1):
        fx = fs[k - 1]
        fprime = 1 - fx**2 if net.activation == "tanh" else fx * (1 - fx)
        da = rho * g * fprime
        gW += da.T @ xs[k - 1]
        gU += da.T @ u
        gb += da.sum(axis=0)
        g = (1 - rho) * g + da @ W
    if net.mask is not None:
        gW *= net.mask
    return {"W": gW, "U": gU, "b": gb}


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: ",".join(c) or "default")
def test_equals_bptt_through_the_converged_relaxation(cfg):
    rng = np.random.default_rng(2)
    net = make(tol=1e-13, max_iter=20000, **cfg)
    u = rng.normal(size=(3, 3))
    t = rng.normal(size=(3, net.n_out))
    net.zero_grad()
    y, cache = net.forward(u, train=True)
    _, dy = bp.SquaredError().value_and_grad(y, t)
    net.backward(dy, cache)
    K = cache.iterations + 200  # past convergence: BPTT's extra steps add ~nothing
    ref = unrolled_gradient(net, u, t, K)
    for k in ("W", "U", "b"):
        scale = np.abs(ref[k]).max()
        assert np.abs(net.grads[k] - ref[k]).max() <= 1e-9 * scale, k
    # and the memory the layer keeps does not grow with the iterations: x*, u only
    assert cache.x.shape == (3, 5) and cache.u.shape == (3, 3)
    # a short unroll (not converged) gives a different gradient: the test has teeth
    short = unrolled_gradient(net, u, t, 2)
    assert np.abs(short["W"] - ref["W"]).max() > 1e-3 * np.abs(ref["W"]).max()


def test_float32_default_tolerance_and_dtype():
    net = make("float32")
    y, cache = net.forward(np.ones((2, 3), np.float32))
    assert y.dtype == np.float32 and net.last_residual < 1e-5
    dx = net.backward(np.ones_like(y), cache)
    assert dx.dtype == np.float32 and net.last_adjoint_residual < 1e-5


def test_mask_topology_respected_under_training():
    rng = np.random.default_rng(3)
    mask = rng.random((6, 6)) < 0.4
    np.fill_diagonal(mask, False)
    layer = SettlingNetwork(6, 2, mask=mask, output_units=1, rng=0)
    assert np.all(layer.params["W"][~mask] == 0)
    X = rng.normal(size=(16, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    net = bp.Sequential(layer)
    for optimizer, schedule in [
        (bp.SGD(0.2, momentum=0.9), "online"),
        (bp.Rprop("irprop-", delta_max=0.5), "batch"),
        (bp.Adam(0.01), "minibatch"),
    ]:
        W0 = layer.params["W"].copy()
        bp.fit(
            net,
            X,
            y,
            loss=bp.SquaredError(),
            optimizer=optimizer,
            schedule=schedule,
            batch_size=4,
            epochs=5,
            l2=1e-3,
            verbose=0,
        )
        W = layer.params["W"]
        assert np.all(W[~mask] == 0)  # masked connections stay absent
        assert np.all(layer.grads["W"][~mask] == 0)
        assert np.any(W[mask] != W0[mask])  # the others learn


def test_training_reduces_the_loss_on_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([[0], [1], [1], [0]], float)
    net = bp.Sequential(SettlingNetwork(4, 2, output_units=1, rng=0))
    h = bp.fit(
        net,
        X,
        y,
        loss=bp.SquaredError(),
        optimizer=bp.SGD(0.5, momentum=0.9),
        schedule="batch",
        epochs=300,
        verbose=0,
    )
    assert h.train_loss[-1] < 0.1 * h.train_loss[0]
    assert net.predict_classes(X).tolist() == [0, 1, 1, 0]


def oscillating(**kw):
    # one tanh unit with a strong negative self-connection: the fixed point is unstable and
    # x ← tanh(−10 x + 1) flips between ≈ ±1 for ever
    with bp.backend.default_dtype("float64"):
        return SettlingNetwork(
            1, 1, activation="tanh", W=[[-10.0]], U=[[0.0]], b=[1.0], max_iter=200, **kw
        )


def test_forward_nonconvergence_is_an_error_with_the_residual():
    net = oscillating()
    with pytest.raises(RelaxationError, match=r"forward relaxation did not converge: residual"):
        net.forward(np.zeros((2, 1)))
    assert isinstance(RelaxationError("x"), bp.TrainingDiverged)
    # damping (ρ < 1) cannot save an unstable fixed point either: |1 − ρ + ρλ| > 1
    with pytest.raises(RelaxationError, match="residual"):
        oscillating(relaxation_rate=0.5).forward(np.zeros((1, 1)))


def test_nonconvergence_can_be_a_warning():
    net = oscillating(on_nonconvergence="warn")
    with pytest.warns(RelaxationWarning, match="residual"):
        y, _ = net.forward(np.zeros((2, 1)))
    assert net.last_iterations == 200


def test_adjoint_nonconvergence_is_an_error():
    net = make(tol=1e-13, adjoint_max_iter=2)
    y, cache = net.forward(np.ones((2, 3)))
    with pytest.raises(RelaxationError, match=r"adjoint .* did not converge: residual"):
        net.backward(np.ones_like(y), cache)


def test_nonconvergence_inside_fit_restores_the_weights():
    net = bp.Sequential(oscillating())
    before = net.space.params.copy()
    with pytest.raises(RelaxationError):
        bp.fit(net, np.zeros((2, 1)), np.zeros((2, 1)), loss=bp.SquaredError(), verbose=0)
    np.testing.assert_array_equal(net.space.params, before)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"mask": np.ones((4, 5))}, r"mask has shape \(4, 5\).*\(5, 5\)"),
        ({"mask": np.full((5, 5), 2.0)}, "0 or 1"),
        ({"output_units": 6}, "output_units"),
        ({"output_units": [0, 0]}, "distinct"),
        ({"relaxation_rate": 0.0}, "relaxation_rate"),
        ({"activation": "relu"}, "activation"),
        ({"W": np.zeros((4, 4))}, r"W has shape"),
    ],
)
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        SettlingNetwork(5, 3, **kw)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        make().forward(np.zeros((2, 4)))


def test_save_load_round_trip(tmp_path):
    mask = np.random.default_rng(0).random((5, 5)) < 0.6
    net = bp.Sequential(
        SettlingNetwork(
            5,
            3,
            mask=mask,
            activation="tanh",
            relaxation_rate=0.7,
            output_units=[1, 4],
            max_iter=500,
            rng=2,
        ),
        bp.Dense(2, 1, rng=0),
    )
    X = np.random.default_rng(1).normal(size=(8, 3))
    bp.fit(net, X, X[:, :1], loss=bp.SquaredError(), optimizer=bp.SGD(0.05), epochs=3, verbose=0)
    path = tmp_path / "settle.bprop"
    bp.save(net, path)
    net2 = bp.load(path)
    layer2 = net2.layers[0]
    assert isinstance(layer2, SettlingNetwork)
    assert layer2.get_config() == net.layers[0].get_config()
    np.testing.assert_array_equal(layer2.mask, mask)
    np.testing.assert_array_equal(net2.predict(X), net.predict(X))


def test_forgetting_factor_formula_is_momentum():
    """Δw(t) = −η Σ_k λ^{t−k} g(k) (the seed's "recurrent backpropagation" with forgetting
    factor λ) is exactly SGD(lr=η, momentum=λ)."""
    eta, lam = 0.1, 0.7
    gs = np.random.default_rng(0).normal(size=(6, 3))
    rule = bp.SGD(eta, momentum=lam)
    w = np.zeros(3)
    state = rule.init(w)
    for t in range(len(gs)):
        upd, state = rule.update(gs[t].copy(), state, w)
        expected = -eta * sum(lam ** (t - k) * gs[k] for k in range(t + 1))
        np.testing.assert_allclose(upd, expected, rtol=1e-12)
