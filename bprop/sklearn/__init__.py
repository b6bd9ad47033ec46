"""scikit-learn estimators backed by bprop: every classic type of backpropagation behind the
interface of pipelines, cross-validation and grid search.

- :class:`BackpropClassifier` — binary, multi-class and multi-label classification.
- :class:`BackpropRegressor` — single- and multi-output regression.

Both pass scikit-learn's own estimator checks with every update rule
(``tests/sklearn/test_estimator_checks.py``).
Their fitted ``net_`` is an ordinary :class:`bprop.Sequential`, so bprop's tools (``bp.save``,
``bp.gradcheck``, diagnostics) work on it.

Example::

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from bprop.sklearn import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), BackpropClassifier(epochs=50, random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
"""

from bprop.sklearn.classifier import BackpropClassifier
from bprop.sklearn.regressor import BackpropRegressor

__all__ = ["BackpropClassifier", "BackpropRegressor"]
