"""Numerically stable class probabilities (issue 12): ``predict_proba`` and
``predict_log_proba`` at logits far from zero.

Each test fits a classifier without hidden layer on one feature, then sets the output layer so
that the network's pre-activation outputs are known functions of that feature, ``z = x·w``,
and reads the probabilities at |z| up to 800 (far beyond where e^(−|z|) underflows float64 at
about 745). Reference values come from the closed forms, computed in Python floats where they
are representable. Before the fix, the binary probability of the first class was 1 − σ(z),
exactly 0 from z ≈ 37 while ``predict_log_proba`` stayed finite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bprop.sklearn import BackpropClassifier

#: logits from deep in one tail to deep in the other, both sides of float64's underflow
Z = np.array([-800.0, -100.0, -40.0, -37.0, -20.0, -1.0, 0.0, 1.0, 20.0, 37.0, 40.0, 100.0, 800.0])
TINY = np.finfo(np.float64).tiny  # the smallest normal float64


def fitted(y, weights: np.ndarray, dtype, loss: str = "auto") -> BackpropClassifier:
    """A classifier on one feature whose pre-activation outputs are ``x * weights``, with its
    weights in ``dtype``."""
    X = np.linspace(-1, 1, len(y)).reshape(-1, 1)
    clf = BackpropClassifier(hidden_layer_sizes=(), loss=loss, epochs=1, random_state=0)
    clf.fit(X, y)
    clf.net_.astype(dtype)
    dense = clf.net_.layers[0]
    dense.params["W"][...] = weights.reshape(1, -1)
    dense.params["b"][...] = 0
    return clf


def sigmoid(z: float) -> float:
    """σ(z) in Python floats, from the side that does not cancel."""
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def check_consistent(proba: np.ndarray, log_proba: np.ndarray, rows_sum_to_one: bool = True):
    """What must hold at any logit: probabilities in [0, 1] (summing to one per row), finite
    log-probabilities, and log(predict_proba) = predict_log_proba wherever the probability is
    a normal float64."""
    assert proba.dtype == log_proba.dtype == np.float64
    assert ((proba >= 0) & (proba <= 1)).all()
    if rows_sum_to_one:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4e-16)
    assert np.isfinite(log_proba).all() and (log_proba <= 0).all()
    normal = proba >= TINY
    # a probability carries a rounding error of one ulp, so log(p) is good to ~1e-16 absolute
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(np.log(proba[normal]), log_proba[normal], rtol=1e-13, atol=eps)
    # where the probability underflows, its logarithm still holds the value: e^(log p) = p
    np.testing.assert_array_equal(np.exp(log_proba[~normal]) < TINY, True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["auto", "squared_error"])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_binary_probabilities_at_large_logits(dtype, loss, x_dtype):
    """P(first class) = σ(−z), P(second) = σ(z): never 1 − σ(z), so at z = 40 the first class
    keeps its probability e^(−40)/(1 + e^(−40)) ≈ 4.2e-18 instead of rounding to 0. The same
    holds for the classic squared-error classifier, whose sigmoid output unit is read from its
    input z."""
    clf = fitted(np.array(["a", "b"] * 5), np.array([1.0]), dtype, loss)
    X = Z.reshape(-1, 1).astype(x_dtype)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    check_consistent(proba, log_proba)
    for z, p, lp in zip(Z, proba, log_proba, strict=True):
        # log σ(z) = −log(1 + e^(−z)), the exact value for every z
        expected_log = [-math.log1p(math.exp(z)) if z < 700 else -z, 0.0]
        expected_log[1] = -math.log1p(math.exp(-z)) if z > -700 else z
        np.testing.assert_allclose(lp, expected_log, rtol=1e-14, atol=1e-300)
        expected = [sigmoid(-z), sigmoid(z)]  # 0.0 where e^(−|z|) underflows (|z| = 800)
        np.testing.assert_allclose(p, expected, rtol=1e-14, atol=0)
    at_40 = proba[Z == 40.0][0]
    assert at_40[0] > 0 and at_40[0] == pytest.approx(math.exp(-40), rel=1e-15)
    assert proba[Z == -40.0][0][1] == pytest.approx(math.exp(-40), rel=1e-15)
    assert list(clf.predict(X)) == ["a"] * 6 + ["a"] + ["b"] * 6  # z = 0: a tie, first class


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multiclass_probabilities_at_large_logits(dtype):
    """Softmax over z = (x, 0, −x) in log-sum-exp form: at x = 40 the smallest probability is
    e^(−80)/(1 + e^(−40) + e^(−80)), representable and exact; at x = 800 it underflows to 0
    while its logarithm is still exactly −1600."""
    clf = fitted(np.array([0, 1, 2] * 4), np.array([1.0, 0.0, -1.0]), dtype)
    X = Z.reshape(-1, 1)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    check_consistent(proba, log_proba)
    for x, lp in zip(Z, log_proba, strict=True):
        # log p_j = z_j − log Σ_k e^(z_k) = (z_j − |x|) − log(1 + e^(−|x|) + e^(−2|x|)):
        # the largest of z = (x, 0, −x) is |x|, the others lie |x| and 2|x| below it
        others = math.exp(-abs(x)) + math.exp(-2 * abs(x))
        expected = [v - abs(x) - math.log1p(others) for v in (x, 0.0, -x)]
        np.testing.assert_allclose(lp, expected, rtol=1e-14, atol=1e-300)
    row = proba[Z == 40.0][0]
    assert row[2] == pytest.approx(math.exp(-80) / (1 + math.exp(-40) + math.exp(-80)), rel=1e-14)
    assert log_proba[Z == 800.0][0][2] == pytest.approx(-1600.0, rel=1e-15)
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squared_error_multiclass_probabilities_at_large_inputs(dtype):
    """loss="squared_error": the sigmoid outputs σ(z_k) normalised to sum to one, computed as
    softmax(log σ(z)), so a class whose output is σ(−40) keeps its share instead of 0."""
    clf = fitted(np.array([0, 1, 2] * 4), np.array([1.0, 0.0, -1.0]), dtype, "squared_error")
    X = Z.reshape(-1, 1)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    check_consistent(proba, log_proba)
    for x, p in zip(Z, proba, strict=True):
        out = np.array([sigmoid(x), 0.5, sigmoid(-x)])
        np.testing.assert_allclose(p, out / out.sum(), rtol=1e-14, atol=0)
    assert proba[Z == 40.0][0][2] == pytest.approx(math.exp(-40) / 1.5, rel=1e-14)


@pytest.mark.parametrize("loss", ["auto", "squared_error"])
def test_multilabel_probabilities_at_large_logits(loss):
    """Multi-label: σ(z) and log σ(z) per label, independently (rows need not sum to one)."""
    Y = np.array([[0, 1], [1, 0], [1, 1], [0, 0]] * 3)
    clf = fitted(Y, np.array([1.0, -1.0]), np.float64, loss)
    X = Z.reshape(-1, 1)
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    check_consistent(proba, log_proba, rows_sum_to_one=False)
    for x, p in zip(Z, proba, strict=True):
        np.testing.assert_allclose(p, [sigmoid(x), sigmoid(-x)], rtol=1e-14, atol=0)
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
