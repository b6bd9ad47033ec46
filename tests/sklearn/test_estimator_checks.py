"""scikit-learn's own estimator checks, run on both estimators.

No check is an expected failure. The configurations keep the checks fast (2 cores, many small
fits): a small hidden layer and few epochs, which still learn the checks' toy problems well
enough for their accuracy and R² thresholds. Besides the mini-batch Adam configuration of each
estimator, the checks also run on the other code paths: full-batch Rprop (the "auto" schedule),
online SGD (the trainer's compiled per-example loop) and the classic squared-error classifier
with sigmoid outputs. (``BackpropClassifier()`` and ``BackpropRegressor()`` with their defaults
pass too; they are left out only because 200 epochs per fit make the checks slow.)
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from bprop.sklearn import BackpropClassifier, BackpropRegressor

ESTIMATORS = [
    BackpropClassifier(hidden_layer_sizes=(8,), learning_rate=0.05, epochs=20),
    BackpropRegressor(hidden_layer_sizes=(8,), learning_rate=0.05, epochs=20),
    BackpropClassifier(hidden_layer_sizes=(8,), method="irprop+", epochs=30),
    BackpropRegressor(hidden_layer_sizes=(8,), method="irprop-", epochs=30),
    BackpropClassifier(hidden_layer_sizes=(8,), method="sgd", schedule="online", epochs=5),
    BackpropClassifier(hidden_layer_sizes=(8,), loss="squared_error", method="rprop+", epochs=30),
]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Run BLAS on one thread. These fits multiply small matrices, where OpenBLAS's two
    threads gain nothing, and on a shared 2-core machine their busy-waiting against other
    processes made the suite up to 30x slower (same results, either way)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
