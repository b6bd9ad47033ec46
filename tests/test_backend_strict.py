"""The backend seam, proven: the reference path of every registered layer, cell and update rule,
every loss and a few training steps of each schedule run with ``xp`` set to the array-API
standard's strict namespace (``array_api_strict``), where any NumPy-only call on a model array
fails, and give the NumPy results to round-off (same seeds, float64).

The tables are keyed by the registry's names (:mod:`bprop.registry`), so a newly registered
layer, cell or rule without a row here fails :func:`test_the_tables_cover_the_registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop import backend, registry
from bprop.losses import LOSSES

xps = pytest.importorskip("array_api_strict")

RTOL, ATOL = 1e-12, 1e-13


@pytest.fixture(autouse=True)
def _no_silent_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NumPy function given a strict array converts it through ``__array__`` and carries on
    in NumPy (on Python < 3.12): make that fail, as it does on Python ≥ 3.12 and for arrays
    on a device, so a NumPy-only call on a model array cannot pass unseen."""

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a NumPy function was called on an array_api_strict array")

    monkeypatch.setattr(type(xps.asarray(0.0)), "__array__", refuse)


def host(tree: Any) -> Any:
    """Arrays (of any backend) in nested tuples/lists/dicts as NumPy float64 arrays."""
    if isinstance(tree, dict):
        return {k: host(v) for k, v in sorted(tree.items())}
    if isinstance(tree, list | tuple):
        return [host(v) for v in tree]
    if isinstance(tree, float | int | np.floating | np.integer) or tree is None:
        return tree
    return np.asarray(backend.to_numpy(tree))


def assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif a is None:
        assert b is None, where
    else:
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL, err_msg=where)


def on_both(run: Callable[[], Any]) -> tuple[Any, Any]:
    """``run()`` under NumPy and under array_api_strict (float64 both), results on the host.
    Under strict, every array ``run`` returns must be a strict array (it ran there)."""
    with backend.default_dtype("float64"):
        ref = host(run())
        with backend.using("array_api_strict"):
            out = run()
            _assert_strict(out)
            strict = host(out)
    return ref, strict


def _assert_strict(tree: Any) -> None:
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, list | tuple):
        for v in tree:
            _assert_strict(v)
    elif hasattr(tree, "shape"):
        assert isinstance(tree, type(xps.asarray(0.0))), (
            f"a {type(tree).__name__} escaped the strict run"
        )


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# --- layers -------------------------------------------------------------------------------
def _settling() -> bp.Layer:
    from bprop.recurrent import SettlingNetwork

    return SettlingNetwork(5, 3, output_units=2, init_scale=0.5, rng=4)


def _recurrent() -> bp.Layer:
    from bprop.recurrent import Elman, Recurrent

    return Recurrent(Elman(3, 4, rng=0), fast=False)


def _time_distributed() -> bp.Layer:
    from bprop.recurrent import TimeDistributed

    return TimeDistributed(bp.Dense(3, 2, rng=0))


# registered name: (make the layer, input shape)
LAYERS: dict[str, tuple[Callable[[], bp.Layer], tuple[int, ...]]] = {
    "BatchNorm": (lambda: bp.BatchNorm(5), (6, 5)),
    "Dense": (lambda: bp.Dense(5, 4, rng=1), (6, 5)),
    "Dropout": (lambda: bp.Dropout(0.4, rng=7), (6, 5)),
    "Identity": (bp.Identity, (6, 5)),
    "LeakyReLU": (lambda: bp.LeakyReLU(0.1), (6, 5)),
    "ReLU": (bp.ReLU, (6, 5)),
    "Recurrent": (_recurrent, (2, 5, 3)),
    "Sequential": (
        lambda: bp.Sequential(bp.Dense(5, 4, rng=0), bp.Tanh(), bp.Dense(4, 3, rng=1)),
        (6, 5),
    ),
    "SettlingNetwork": (_settling, (4, 3)),
    "Sigmoid": (bp.Sigmoid, (6, 5)),
    "Softmax": (bp.Softmax, (6, 5)),
    "Tanh": (bp.Tanh, (6, 5)),
    "TimeDistributed": (_time_distributed, (2, 4, 3)),
}


def forward_backward(layer: bp.Layer, x: np.ndarray, train: bool) -> Any:
    xb = backend.asarray(x)
    y, cache = layer.forward(xb, train=train)
    dx = layer.backward(backend.asarray(data(*y.shape, seed=9)), cache)
    grads = {f"{i}.{k}": v for i, leaf in enumerate(layer.leaves()) for k, v in leaf.grads.items()}
    return y, dx, grads


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_forward_backward(name: str, train: bool) -> None:
    make, shape = LAYERS[name]
    ref, strict = on_both(lambda: forward_backward(make(), data(*shape), train))
    assert_same(ref, strict, name)


# --- losses ---------------------------------------------------------------------------------
def _targets(name: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if name == "softmax_cross_entropy":
        return rng.integers(0, 4, 6)
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, (6, 4)).astype(np.float64)
    return rng.normal(size=(6, 4))


# every loss, in each of its forms: (name, constructor arguments, probabilities as outputs)
LOSS_CASES = [
    *((name, {"reduction": r}, name == "binary_cross_entropy") for name in LOSSES
      for r in ("sum", "mean")),
    ("binary_cross_entropy", {"from_logits": True}, False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "probabilities"), LOSS_CASES)
def test_loss_value_and_grad(name: str, kwargs: dict[str, Any], probabilities: bool) -> None:
    y = data(6, 4)
    if probabilities:
        y = 1 / (1 + np.exp(-y))

    def run() -> Any:
        t = _targets(name)
        t = backend.get_xp().asarray(t) if t.dtype.kind == "i" else backend.asarray(t)
        loss, dy = LOSSES[name](**kwargs).value_and_grad(backend.asarray(y), t)
        assert isinstance(loss, float)
        return [loss, dy]

    ref, strict = on_both(run)
    assert_same(ref, strict, name)


# --- cells (the per-step reference path, through a Recurrent layer) -----------------------
def _cell(name: str) -> Any:
    cls = registry.lookup("cell", name)
    kwargs = {} if name == "Elman" else {"kernel": "numpy"}
    return cls(3, 4, rng=5, **kwargs)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("name", sorted(registry.table("cell")))
def test_cell_forward_backward_through_time(name: str, return_sequences: bool) -> None:
    from bprop.recurrent import Recurrent

    def run() -> Any:
        rnn = Recurrent(_cell(name), return_sequences=return_sequences, fast=False)
        x = backend.asarray(data(2, 6, 3))
        y, cache = rnn.forward(x, train=True)
        dx = rnn.backward(backend.asarray(data(*y.shape, seed=2)), cache)
        return y, dx, dict(rnn.grads), cache.dinitial_state

    ref, strict = on_both(run)
    assert_same(ref, strict, name)


# --- the op table's readable online epoch -----------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("loss", ["softmax_ce", "squared", "mse", "bce", "bce_logits"])
def test_online_epoch_reference(loss: str, nesterov: bool) -> None:
    from bprop.ops import online

    sizes, w_off, b_off = np.array([3, 4, 2]), np.array([0, 16]), np.array([12, 24])
    out_act = online.ACTIVATIONS.index("sigmoid" if loss == "bce" else "identity")
    acts, alphas = np.array([online.ACTIVATIONS.index("leaky_relu"), out_act]), np.array([0.1, 0])
    decay = np.r_[np.ones(12), np.zeros(4), np.ones(8), np.zeros(2)]
    rng = np.random.default_rng(31)
    labels = loss == "softmax_ce"
    T = rng.integers(0, 2, (6, 1 if labels else 2))
    T = T if labels or loss.startswith("bce") else rng.normal(size=(6, 2))

    def run() -> Any:
        P, V = backend.asarray(data(26, seed=32) * 0.5), backend.asarray(np.zeros(26))
        Tb = backend.get_xp().asarray(T) if labels else backend.asarray(T)
        code = online.LOSSES.index(loss)
        total, right = online.online_epoch(
            backend.asarray(data(6, 3, seed=33)), Tb, labels, P, V, sizes, w_off, b_off, acts,
            alphas, code, 0.1, 0.5, nesterov, 1e-3, backend.asarray(decay), None, None, 0.5,
        )  # fmt: skip
        return P, V, float(total), int(right)

    ref, strict = on_both(run)
    assert_same(ref, strict, loss)


# --- update rules -----------------------------------------------------------------------
def _rules() -> dict[str, Callable[[], Any]]:
    from bprop import optim as o
    from bprop.optim import schedules as s

    per = "update"  # the schedules advance per update here (and per epoch in the loop below)
    return {
        "AdaGrad": lambda: o.AdaGrad(0.5),
        "Adam": lambda: o.Adam(0.05),
        "BoldDriver": lambda: o.BoldDriver(0.1),
        "BoldDriver+momentum": lambda: o.BoldDriver(0.1, momentum=0.5),
        "Chain": lambda: o.Chain(o.ClipByValue(1.0), o.Momentum(0.1, 0.5)),
        "ClipByGlobalNorm": lambda: o.Chain(o.ClipByGlobalNorm(1.0), o.Adam(0.05)),
        "ClipByValue": lambda: o.Chain(o.ClipByValue(0.5), o.SGD(0.1)),
        "Quickprop": lambda: o.Quickprop(0.1),
        "Quickprop+decay": lambda: o.Quickprop(0.1, decay=0.05),
        "RMSprop": lambda: o.RMSprop(0.01, rho=0.9),
        "ReduceOnPlateau": lambda: o.Chain(o.Momentum(0.1, 0.5), o.ReduceOnPlateau(patience=1)),
        **{
            f"Rprop({v})": (lambda v=v: o.Rprop(v))
            for v in ("rprop+", "rprop-", "irprop+", "irprop-")
        },
        "SGD": lambda: o.SGD(0.1),
        "SGD+momentum": lambda: o.SGD(0.1, momentum=0.9),
        "SGD+nesterov": lambda: o.SGD(0.1, momentum=0.9, nesterov=True),
        "Scale": lambda: o.Scale(-0.2),
        "ScaleByAdagrad": lambda: o.Chain(o.ScaleByAdagrad(), o.Scale(-0.5)),
        "ScaleByAdam": lambda: o.Chain(o.ScaleByAdam(), o.Scale(-0.05)),
        "ScaleByBoldDriver": lambda: o.ScaleByBoldDriver(0.1, momentum=0.5),
        "ScaleByQuickprop": lambda: o.Chain(o.WeightDecay(0.05), o.ScaleByQuickprop(0.1)),
        "ScaleByRms": lambda: o.Chain(o.ScaleByRms(0.9), o.Scale(-0.01)),
        "ScaleByRprop": lambda: o.ScaleByRprop("irprop+"),
        "ScaleBySchedule(constant)": lambda: o.Chain(o.SGD(0.1), s.ScaleBySchedule(s.Constant())),
        "ScaleBySchedule(step)": lambda: o.Chain(
            o.SGD(0.1), s.ScaleBySchedule(s.StepDecay(2, 0.5))
        ),
        "ScaleBySchedule(exponential)": lambda: o.Chain(
            o.Adam(0.05), s.ScaleBySchedule(s.Exponential(0.9), per)
        ),
        "ScaleBySchedule(warmup)": lambda: o.Chain(
            o.SGD(0.1), s.ScaleBySchedule(s.LinearWarmup(4), per)
        ),
        "ScaleBySchedule(cosine)": lambda: o.Chain(
            o.Adam(0.05), s.ScaleBySchedule(s.Cosine(12, warmup=3), per)
        ),
        "Trace": lambda: o.Chain(o.Trace(0.5), o.Scale(-0.1)),
        "Trace+nesterov": lambda: o.Chain(o.Scale(-0.1), o.Trace(0.5, nesterov=True)),
        "WeightDecay": lambda: o.Chain(o.WeightDecay(0.05), o.SGD(0.1)),
    }


RULES = _rules()
_A = data(7, 7, seed=11)
_A = _A @ _A.T / 7 + np.eye(7)  # symmetric positive definite
_B = data(7, seed=12)


def descend(rule: Any, steps: int = 12) -> Any:
    """``steps`` updates of ``rule`` on f(w) = ½ wᵀAw − bᵀw (an epoch end every 4 updates,
    with a validation loss, for the epoch schedules and reduce-on-plateau)."""
    A, B = backend.asarray(_A), backend.asarray(_B)
    w = backend.asarray(data(7, seed=13))
    state = rule.init(w)
    for i in range(steps):
        loss = float(0.5 * (w @ (A @ w)) - B @ w)
        state = rule.apply(A @ w - B, state, w, loss)
        if i % 4 == 3:
            state = rule.on_epoch_end(state, {"train_loss": loss, "val_loss": loss})
    return w, {k: v for k, v in state.items() if not isinstance(v, str | bool)}


@pytest.mark.parametrize("scheduled", [False, True])
@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_steps(name: str, scheduled: bool) -> None:
    from bprop.optim import Chain
    from bprop.optim.schedules import Cosine, ScaleBySchedule

    def make() -> Any:
        rule = RULES[name]()
        return Chain(rule, ScaleBySchedule(Cosine(12, warmup=2), "update")) if scheduled else rule

    ref, strict = on_both(lambda: descend(make()))
    assert_same(ref, strict, name)


# --- training steps of each schedule --------------------------------------------------------
def _examples() -> tuple[np.ndarray, np.ndarray]:
    X = data(12, 3, seed=21)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _fit(schedule: Any, loss: str, rule: Any) -> Any:
    from bprop.train import Trainer

    X, y = _examples()
    net = bp.Sequential(bp.Dense(3, 4, rng=0), bp.Tanh(), bp.Dense(4, 2, rng=1))
    trainer = Trainer(net, loss, rule, schedule, verbose=0, seed=3, l2=1e-3)
    h = trainer.fit(X, y, epochs=2, validation_data=(X[:4], y[:4]))
    predicted = net.predict(X, batch_size=5)  # a NumPy array, whatever the backend
    assert isinstance(predicted, np.ndarray)
    return net.space.params, [*h.train_loss, *h.val_loss], backend.asarray(predicted)


@pytest.mark.parametrize("schedule", ["online", "minibatch", "batch"])
def test_training_steps_on_examples(schedule: str) -> None:
    from bprop.train.schedules import get_schedule

    sched = get_schedule(schedule, 5 if schedule == "minibatch" else None)
    rule = bp.Rprop("irprop+") if schedule == "batch" else bp.SGD(0.1, momentum=0.5)
    ref, strict = on_both(lambda: _fit(sched, "softmax_cross_entropy", rule))
    assert_same(ref, strict, schedule)
    ref, strict = on_both(lambda: _fit(sched, "squared_error", bp.Adam(0.01)))
    assert_same(ref, strict, schedule)


def test_training_steps_on_a_stream_truncated_bptt() -> None:
    from bprop.recurrent import Recurrent, TimeDistributed
    from bprop.train import StreamSchedule, Trainer

    stream = np.random.default_rng(0).integers(0, 3, 61)

    def run() -> Any:
        cell = registry.lookup("cell", "LSTM")(3, 4, rng=0, kernel="numpy")
        net = bp.Sequential(Recurrent(cell, fast=False), TimeDistributed(bp.Dense(4, 3, rng=1)))
        trainer = Trainer(net, "cross_entropy", bp.Adam(0.01), StreamSchedule(5, 7, 2), verbose=0)
        h = trainer.fit(
            stream[:-1], stream[1:], epochs=2, validation_data=(stream[:-1], stream[1:])
        )
        return net.space.params, [*h.train_loss, *h.val_loss]

    ref, strict = on_both(run)
    assert_same(ref, strict, "stream")


def test_training_steps_of_rtrl() -> None:
    from bprop.recurrent.rtrl import RTRL, rtrl_network
    from bprop.train import StepSchedule, Trainer

    X = np.sin(np.arange(21) / 4.0)[None, :, None]

    def run() -> Any:
        rtrl = RTRL(rtrl_network(1, 4, 1, rng=0))
        trainer = Trainer(
            rtrl.net, rtrl.loss, bp.SGD(0.05, momentum=0.5), StepSchedule(), verbose=0
        )
        h = trainer.fit(X[:, :-1], X[:, 1:], epochs=2, rtrl=rtrl)
        return rtrl.net.space.params, list(h.train_loss)

    ref, strict = on_both(run)
    assert_same(ref, strict, "rtrl")


# --- the tables cover the registry -------------------------------------------------------
def _parts(rule: Any) -> list[Any]:
    return [*getattr(rule, "rules", []), *getattr(rule, "transforms", [])]


def test_the_tables_cover_the_registry() -> None:
    assert set(LAYERS) == set(registry.table("layer")), "add a row to LAYERS for a new layer"
    used: set[type] = set()

    def collect(rule: Any) -> None:
        used.add(type(rule))
        for inner in _parts(rule):
            collect(inner)

    for make in RULES.values():
        collect(make())
    missing = sorted(n for n, cls in registry.table("rule").items() if cls not in used)
    assert not missing, f"rules without a row in RULES: {missing}"
    assert set(LOSSES) == {case[0] for case in LOSS_CASES}


# --- the backend module itself -------------------------------------------------------------
def test_using_switches_for_a_block_and_back_even_on_error() -> None:
    with pytest.raises(RuntimeError, match="inside"):
        with backend.using("array_api_strict") as xp:
            assert xp is xps and backend.get_xp() is xps and not backend.numpy_like()
            raise RuntimeError("inside")
    assert backend.get_xp() is np and backend.is_numpy()
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        backend.set_backend("jax")
    assert backend.get_xp() is np


@pytest.mark.parametrize("name", ["numpy", "array_api_strict"])
def test_into_writes_into_out_on_any_namespace(name: str) -> None:
    with backend.using(name) as xp:
        x = xp.asarray([-1.0, 0.5, 2.0])
        out = xp.zeros(3)
        assert backend.into(xp.maximum, x, 0.0, out=out) is out
        assert backend.to_numpy(out).tolist() == [0.0, 0.5, 2.0]
        assert backend.to_numpy(backend.into(xp.negative, x)).tolist() == [1.0, -0.5, -2.0]
        assert backend.np_dtype(x.dtype) == np.float64 and backend.xp_dtype("float64") == x.dtype


def test_the_in_place_fast_path_is_left_to_numpy_like_namespaces() -> None:
    from bprop.recurrent import LSTM, Recurrent

    with backend.default_dtype("float64"):
        x = data(2, 3, 3)
        assert Recurrent(LSTM(3, 4, rng=0)).forward(backend.asarray(x))[1].fast
        with backend.using("array_api_strict"):
            y, cache = Recurrent(LSTM(3, 4, rng=0)).forward(backend.asarray(x))
    assert not cache.fast and y.shape == (2, 3, 4)
