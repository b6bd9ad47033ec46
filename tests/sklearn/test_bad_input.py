"""The estimators and bad input (issue 12): divergence reported in the estimator's own terms,
and a clear, scikit-learn-style error for bad data and bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

import bprop as bp
from bprop.sklearn import BackpropClassifier, BackpropRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def regression_data(n: int = 200):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(n, 3))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] ** 2


# --- divergence -----------------------------------------------------------------------------
def test_divergence_names_the_learning_rate_parameter():
    """The trainer's TrainingDiverged reaches the user with the estimator's own parameter to
    change, and a fit that diverged leaves no model behind."""
    X, y = regression_data()
    reg = BackpropRegressor(method="sgd", learning_rate=1e6, epochs=20, random_state=0)
    with pytest.raises(bp.TrainingDiverged) as info:
        reg.fit(X, y)
    message = str(info.value)
    assert message.startswith("BackpropRegressor: training diverged")
    assert "learning_rate= (now 1000000.0)" in message
    assert "method_params={'clip_norm': 1.0}" in message and "TransformedTargetRegressor" in message
    assert "\n" not in message
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_divergence_with_the_default_learning_rate_says_which_default():
    """learning_rate=None: the message gives the method's default it used. On a linear
    network, inputs 10⁴ times their usual scale multiply the curvature of the squared error by
    10⁸, so gradient descent at its default rate overshoots by a growing factor every step."""
    X, y = regression_data()
    reg = BackpropRegressor(method="sgd", activation="identity", epochs=20, random_state=0)
    with pytest.raises(bp.TrainingDiverged, match=r"now None, i\.e\. method='sgd''s default 0\.1"):
        reg.fit(X * 1e4, y)


def test_rprop_divergence_names_its_step_sizes():
    """Rprop has no learning rate: the message points at its step sizes instead."""
    X, y = regression_data()
    reg = BackpropRegressor(
        method="irprop-", method_params={"delta0": 1e30, "delta_max": 1e35}, epochs=20
    )
    with pytest.raises(bp.TrainingDiverged, match=r"lower method_params=\{'delta0'") as info:
        reg.fit(X, y)
    assert "learning_rate=" not in str(info.value)


def test_partial_fit_that_diverges_keeps_the_model():
    """partial_fit continues a trained model; when that pass diverges (a batch of inputs 10⁴
    times the scale of the first, on a linear network), the trainer restores the weights and
    rule state it started from and the estimator stays fitted with them."""
    X, y = regression_data()
    reg = BackpropRegressor(
        method="sgd", activation="identity", learning_rate=0.01, epochs=5, random_state=0
    ).fit(X, y)
    before = reg.net_.space.params.copy()
    with pytest.raises(bp.TrainingDiverged, match=r"learning_rate= \(now 0\.01\)"):
        reg.partial_fit(X * 1e4, y)
    np.testing.assert_array_equal(reg.net_.space.params, before)
    assert reg.n_iter_ == 5 and np.isfinite(reg.predict(X)).all()


def test_huge_learning_rate_on_digits_is_divergence():
    """The issue's reproducer, through the classifier: SGD with learning_rate=1e6 on the
    (scaled) digits sends the loss from 2.3 to millions; that must stop training."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(method="sgd", learning_rate=1e6, epochs=20, random_state=0)
    with pytest.raises(bp.TrainingDiverged, match=r"learning_rate= \(now 1000000\.0\)"):
        clf.fit(X, y)


# --- bad data -------------------------------------------------------------------------------
def with_value(a: np.ndarray, value: float) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flat[3] = value
    return a


#: bad training data -> (X, y) made from good data, and what the error says
BAD_DATA = {
    "X NaN": (lambda X, y: (with_value(X, np.nan), y), "Input X contains NaN"),
    "X inf": (lambda X, y: (with_value(X, np.inf), y), "Input X contains infinity"),
    "X -inf": (lambda X, y: (with_value(X, -np.inf), y), "Input X contains infinity"),
    "X beyond float32": (
        lambda X, y: (with_value(X, 1e300), y),
        r"X holds values up to 1e\+300, beyond the",
    ),
    "X 1-D": (lambda X, y: (X[:, 0], y), "Expected 2D array, got 1D array"),
    "X 3-D": (lambda X, y: (X.reshape(len(X), 2, -1), y), "Found array with dim 3"),
    "no rows": (lambda X, y: (X[:0], y[:0]), "0 sample"),
    "no columns": (lambda X, y: (X[:, :0], y), "0 feature"),
    "y shorter": (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    "X complex": (lambda X, y: (X + 1j, y), "Complex data not supported"),
    "y NaN": (lambda X, y: (X, with_value(y, np.nan)), "Input y contains NaN"),
}


@pytest.mark.parametrize("cls", [BackpropClassifier, BackpropRegressor])
@pytest.mark.parametrize(("make", "match"), BAD_DATA.values(), ids=BAD_DATA.keys())
def test_bad_training_data(iris, cls, make, match):
    X, y = make(*iris)
    with pytest.raises(ValueError, match=match):
        cls(epochs=1).fit(X, y)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (lambda y: with_value(y, np.inf), "Input y contains infinity"),
        (lambda y: with_value(y, 1e300), r"y holds values up to 1e\+300.*TransformedTarget"),
        (lambda y: y.reshape(-1, 1, 1), "Found array with dim 3"),
    ],
    ids=["y inf", "y beyond float32", "y 3-D"],
)
def test_bad_regression_targets(iris, y, match):
    X, target = iris
    with pytest.raises(ValueError, match=match):
        BackpropRegressor(epochs=1).fit(X, y(target.astype(float)))


def test_values_beyond_float32_are_refused_before_training(iris):
    """1e300 is a finite float64 but infinite in the float32 the network trains in; it used to
    reach the trainer as inf (and end as TrainingDiverged or an overflow warning). partial_fit
    checks each new batch too."""
    X, y = iris
    clf = BackpropClassifier(epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="beyond the largest float32 .* scale X"):
        clf.partial_fit(X * 1e300, y)
    float32_max = float(np.finfo(np.float32).max)
    BackpropClassifier(epochs=1, random_state=0).fit(X / np.abs(X).max() * float32_max, y)


def test_bad_prediction_input(iris):
    X, y = iris
    clf = BackpropClassifier(epochs=1, random_state=0).fit(X, y)
    for method in (clf.predict, clf.predict_proba, clf.predict_log_proba):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            method(with_value(X, np.nan))
        with pytest.raises(ValueError, match="X has 3 features, but BackpropClassifier is"):
            method(X[:, :3])
        with pytest.raises(ValueError, match="Expected 2D array"):
            method(X[0])


# --- bad parameters -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": "big"}, r"learning_rate must be a positive, finite number .* 'big'"),
        ({"learning_rate": float("inf")}, "learning_rate must be a positive, finite number"),
        ({"learning_rate": float("nan")}, "learning_rate must be a positive, finite number"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive"),
        ({"momentum": "high"}, "momentum must be a number"),
        ({"method": "momentum", "momentum": 2.0}, r"method='momentum' .*momentum=2\.0.*\[0, 1\)"),
        ({"method_params": {"clip_norm": -1.0}}, r"method_params=\{'clip_norm': -1\.0\}"),
        ({"method_params": {"delta0": float("nan")}}, r"method_params\['delta0'\] must be a fin"),
        ({"method_params": {"beta1": "x"}}, r"method_params\['beta1'\] must be a finite number"),
        ({"l2": float("inf")}, "l2 must be a non-negative, finite number"),
        ({"early_stopping": True, "validation_fraction": "a"}, "validation_fraction"),
        ({"verbose": "x"}, "verbose must be a non-negative int"),
        ({"verbose": -1}, "verbose must be a non-negative int"),
    ],
)
def test_bad_parameters_are_named(iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        BackpropClassifier(**params).fit(X, y)


def test_network_too_large_for_memory_names_hidden_layer_sizes(iris):
    """A hidden layer of 10¹⁵ units (32 PB of weights, more than any address space) fails at
    its first allocation with a message naming the parameter, not a bare numpy error."""
    X, y = iris
    with pytest.raises(MemoryError, match=r"hidden_layer_sizes=\(1000000000000000,\)"):
        BackpropClassifier(hidden_layer_sizes=(10**15,)).fit(X, y)
