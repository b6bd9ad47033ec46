"""``BackpropRegressor``: a bprop multi-layer perceptron behind scikit-learn's regressor API."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from bprop.losses import Loss, MeanSquaredError, SquaredError
from bprop.sklearn._base import BackpropEstimator
from bprop.sklearn._docs import ATTRIBUTES_DOC, PARAMETERS_DOC


class BackpropRegressor(RegressorMixin, BackpropEstimator):
    __doc__ = f"""A multi-layer perceptron regressor trained by backpropagation with any of
    bprop's update rules (SGD, momentum, Nesterov, the four Rprop variants, Quickprop, the
    bold driver, AdaGrad, RMSprop, Adam) and schedules (online, mini-batch, batch).

    One linear output unit per target column, so ``y`` may be 1-D or (n_samples, n_targets).
    ``loss="auto"`` is ``"squared_error"``: :class:`bprop.SquaredError` with ``reduction=
    "mean"``, the textbook ½·Σ (output − target)² over the outputs, averaged over the examples
    of each update; ``"mse"`` is :class:`bprop.MeanSquaredError`, the mean of (output −
    target)² over every entry (twice the gradient for one output).

    Neither the inputs nor the targets are scaled: put a ``StandardScaler`` in front in a
    :class:`~sklearn.pipeline.Pipeline`, and use
    :class:`~sklearn.compose.TransformedTargetRegressor` for targets far from unit scale.
    Training runs in bprop's default float32; predictions are computed in float64 from the
    float32 weights, so a row's prediction does not depend on the other rows in the call.

{PARAMETERS_DOC}
    Attributes
    ----------
{ATTRIBUTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from bprop.sklearn import BackpropRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> reg = BackpropRegressor(hidden_layer_sizes=(16,), method="irprop-", epochs=300,
    ...                         random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    LOSSES = ("auto", "squared_error", "mse")
    SCALE_ADVICE = (
        "scale X (StandardScaler in a Pipeline) and y (TransformedTargetRegressor with a "
        "StandardScaler)"
    )

    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6 reads these
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate_targets(
        self, y: np.ndarray, first: bool, incremental: bool, classes: Any = None
    ) -> np.ndarray:
        # float targets: integer ones would read as class labels to bprop's losses
        y = np.asarray(y, dtype=np.float64)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = n_outputs
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} targets but the network has {self.n_outputs_}")
        return y.reshape(-1, n_outputs)

    def _loss_and_output(self) -> tuple[Loss, str | None]:
        return (MeanSquaredError() if self.loss == "mse" else SquaredError(reduction="mean")), None

    def fit(self, X: Any, y: Any) -> BackpropRegressor:
        """Train a new network on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_targets); returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> BackpropRegressor:
        """One more pass over ``X``, ``y`` with the current network and update-rule state (a
        new network on the first call). Early stopping is not used; ``epochs`` is ignored."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) for one target, else (n_samples, n_targets)."""
        out = self._outputs(X)
        return out[:, 0] if self.n_outputs_ == 1 else out
