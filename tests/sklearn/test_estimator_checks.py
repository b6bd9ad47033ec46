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

from sklearn.utils.estimator_checks import parametrize_with_checks

from bprop.sklearn import BackpropClassifier, BackpropRegressor

ESTIMATORS = [
    BackpropClassifier(hidden_layer_sizes=(8,), learning_rate=0.05, epochs=20),
    BackpropRegressor(hidden_layer_sizes=(8,), learning_rate=0.05, epochs=20),
    BackpropClassifier(hidden_layer_sizes=(8,), method="irprop+", epochs=30),
    BackpropRegressor(hidden_layer_sizes=(8,), method="irprop-", epochs=30),
    BackpropClassifier(hidden_layer_sizes=(8,), method="sgd", schedule="online", epochs=5),
    BackpropClassifier(hidden_layer_sizes=(8,), loss="squared_error", method="rprop+", epochs=30),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
