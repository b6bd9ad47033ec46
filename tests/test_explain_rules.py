"""bprop explain on feedforward nets: any loss, every rule's state per weight, and the
arithmetic written out — each checked against the library's own numbers."""

import copy
import math
import re

import numpy as np
import pytest

import bprop as bp
from bprop.explain import explain, gather
from bprop.optim.methods import make_rule
from bprop.textbook import INPUTS, TARGETS, network

RULES = [
    "sgd",
    "momentum",
    "nesterov",
    "adam",
    "rmsprop",
    "adagrad",
    "irprop-",
    "rprop+",
    "quickprop",
]


def _library_step(method, steps, lr=0.5):
    """The textbook net trained by the library's rule: gradient and state of every step."""
    net, rule = network(), make_rule(method, lr=lr)
    state, out = rule.init(net.space.params), []
    for _ in range(steps):
        net.space.zero_grad()
        y, cache = net.forward(INPUTS, train=True)
        loss, dy = bp.SquaredError().value_and_grad(y, TARGETS)
        net.backward(dy, cache)
        g = net.space.grads.copy()
        upd, state = rule.update(net.space.grads, state, net.space.params, loss)
        net.space.params += upd
        out.append((g, {k: (v.copy() if hasattr(v, "copy") else v) for k, v in state.items()}))
    return out


@pytest.mark.parametrize("method", ["momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_rule_state_per_weight_is_the_rules_state(method):
    ex = gather(method=method, steps=2, lr=0.5)
    lib = _library_step(method, 2)
    for step in range(2):
        table = ex.steps[step][3]
        state_cols = [i for i, h in enumerate(table.headers) if h.endswith(" after")]
        assert state_cols, table.headers  # momentum: velocity; Adam: m and v; …
        g, state = lib[step]
        # rows run w5 … w8, w1 … w4; the flat buffer holds layer 1's W then layer 2's
        order = [4, 6, 5, 7, 0, 2, 1, 3]
        grads = [table.rows[k][3] for k in range(8)]
        np.testing.assert_allclose(grads, g[order], rtol=1e-12)
        keys = [k for k, v in state.items() if hasattr(v, "shape") and v.size == g.size]
        for col, key in zip(state_cols, keys, strict=True):
            traced = [table.rows[k][col] for k in range(8)]
            np.testing.assert_allclose(traced, state[key][order], rtol=1e-12, err_msg=key)


def _evaluate(expr):
    expr = expr.replace("×", "*").replace("−", "-").replace("√", "sqrt").replace("²", "**2")
    return eval(expr, {"sqrt": math.sqrt, "__builtins__": {}})  # noqa: S307 - our own digits


@pytest.mark.parametrize("method", RULES)
def test_arithmetic_lines_evaluate_to_the_traced_values(method):
    ex = gather(method=method, steps=3, lr=0.5, arithmetic=True)
    checked = 0
    for sections in ex.steps:
        arith = sections[-1]
        assert arith.title.startswith("The arithmetic")
        for _, line in arith.rows:
            for part in line.split("; "):
                pieces = part.split(" = ")
                if "sign changed" in part or "g = 0" in part or len(pieces) < 3:
                    continue
                got, want = _evaluate(pieces[-2]), float(pieces[-1])
                assert got == pytest.approx(want, rel=2e-4, abs=1e-8), part
                checked += 1
    assert checked >= 3 * 12


@pytest.mark.parametrize("method", ["adam", "nesterov", "rmsprop"])
def test_recurrent_arithmetic_evaluates_to_the_weight_changes(method):
    from bprop.explain import gather_bptt, gather_settling

    for ex in (
        gather_bptt("lstm", T=3, method=method, lr=0.05, arithmetic=True, steps=2),
        gather_settling(method=method, lr=0.05, arithmetic=True, steps=2),
    ):
        for sections in ex.steps:
            table, arith = sections[-2], dict(sections[-1].rows)
            for row in table.rows:
                last = arith[row[0]].split("; ")[-1].split(" = ")
                assert _evaluate(last[-2]) == pytest.approx(row[-2], rel=2e-4, abs=1e-9)
                assert float(last[-1]) == pytest.approx(row[-2], rel=1e-5, abs=1e-12)


def test_arithmetic_result_is_the_weight_change_in_the_table():
    ex = gather(method="momentum", steps=2, arithmetic=True)
    table, arith = ex.steps[1][3], dict(ex.steps[1][-1].rows)
    for row in table.rows:
        written = float(arith[row[0]].rsplit(" = ", 1)[1])
        assert written == pytest.approx(row[4], rel=1e-5)


def test_softmax_cross_entropy_deltas_are_the_library_gradient():
    rng = np.random.default_rng(0)
    with bp.backend.default_dtype("float64"):
        net = bp.Sequential(bp.Dense(3, 4, rng=rng), bp.Tanh(), bp.Dense(4, 3, rng=rng))
    x = np.array([[0.2, -0.4, 0.9]])
    before = net.space.params.copy()
    text = explain(net, inputs=x, targets=[2], loss="softmax_cross_entropy", lr=0.1, fmt="md")
    np.testing.assert_array_equal(net.space.params, before)  # traced on a copy
    assert "output δ = softmax(z) − t" in text and "SoftmaxCrossEntropy" in text
    rng = np.random.default_rng(1)
    with bp.backend.default_dtype("float64"):
        ref = bp.Sequential(bp.Dense(3, 4, rng=rng), bp.Tanh(), bp.Dense(4, 3, rng=rng))
    ex = gather(copy.deepcopy(ref), inputs=x, targets=[2], loss="softmax_cross_entropy", lr=0.1)
    y, cache = ref.forward(x, train=True)
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    deltas = [r[-1] for r in ex.steps[0][2].rows if r[0].startswith("o")]
    np.testing.assert_allclose(deltas, p[0] - np.eye(3)[2], rtol=1e-12)
    _, dy = bp.SoftmaxCrossEntropy().value_and_grad(y, np.array([2]))
    ref.space.zero_grad()
    ref.backward(dy, cache)
    grads = [r[3] for r in ex.steps[0][3].rows if r[0].startswith("w2")]
    W2 = ref.layers[2].grads["W"]
    assert sorted(np.round(grads, 12)) == sorted(np.round(W2.ravel(), 12))


def test_loss_saved_with_the_model_is_used(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    net = bp.Sequential(bp.Dense(3, 4, rng=0), bp.Tanh(), bp.Dense(4, 2, rng=1))
    trainer = bp.Trainer(net, "softmax_cross_entropy", bp.SGD(0.1), verbose=0)
    trainer.fit(X, y, epochs=1)
    bp.save(trainer, tmp_path / "m.bprop")
    text = explain(tmp_path / "m.bprop", inputs="0.1,0.2,0.3", targets="1", lr=0.1)
    assert "SoftmaxCrossEntropy" in text and re.search(r"o1 .*softmax\(z\) − t", text)
