"""``BackpropClassifier``: a bprop multi-layer perceptron behind scikit-learn's classifier API."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from bprop.losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, SquaredError
from bprop.sklearn._base import ATTRIBUTES_DOC, PARAMETERS_DOC, BackpropEstimator


class BackpropClassifier(ClassifierMixin, BackpropEstimator):
    __doc__ = f"""A multi-layer perceptron classifier trained by backpropagation with any of
    bprop's update rules (SGD, momentum, Nesterov, the four Rprop variants, Quickprop, the
    bold driver, AdaGrad, RMSprop, Adam) and schedules (online, mini-batch, batch).

    It handles binary, multi-class and multi-label problems (``y`` a 0/1 indicator matrix).
    With ``loss="auto"`` (the same as ``"cross_entropy"``) the network's outputs are logits:
    multi-class problems use a softmax output and :class:`bprop.SoftmaxCrossEntropy`; binary
    and multi-label problems use one sigmoid output per label and
    :class:`bprop.BinaryCrossEntropy` on logits. ``loss="squared_error"`` is the classic
    setting of Rumelhart, Hinton & Williams (1986): sigmoid output units trained towards 0/1
    targets with :class:`bprop.SquaredError` (½·Σ over outputs, averaged over examples); its
    ``predict_proba`` then gives the output activations, normalised to sum to one for
    multi-class problems (scores, not calibrated probabilities).

    Inputs are used as given, not scaled: put a ``StandardScaler`` in front in a
    :class:`~sklearn.pipeline.Pipeline` (gradient training of tanh/sigmoid units needs inputs
    of roughly unit scale). Training runs in bprop's default float32; predictions are computed
    in float64 from the float32 weights, so a row's prediction does not depend on the other
    rows in the call.

{PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (for multi-label ``y``: ``0 .. n_labels - 1``).
    out_activation_ : str
        "softmax" (multi-class cross-entropy) or "sigmoid" (the other cases).
{ATTRIBUTES_DOC}
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from bprop.sklearn import BackpropClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     BackpropClassifier(method="irprop+", epochs=100, random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    """

    LOSSES = ("auto", "cross_entropy", "squared_error")

    def __sklearn_tags__(self) -> Any:  # scikit-learn >= 1.6 reads these
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # --- targets ------------------------------------------------------------------------
    def _validate_targets(
        self, y: np.ndarray, first: bool, incremental: bool, classes: Any = None
    ) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"{type(self).__name__} handles binary, multi-class and multi-label targets; "
                f"got {kind} targets"
            )
        multilabel = kind == "multilabel-indicator"
        if first:
            self._logit_outputs = self.loss != "squared_error"
            if multilabel:
                self.classes_ = np.arange(y.shape[1])
                if classes is not None and len(unique_labels(classes)) != y.shape[1]:
                    raise ValueError(
                        f"classes has {len(unique_labels(classes))} labels but y has "
                        f"{y.shape[1]} columns"
                    )
            else:
                if classes is None and incremental:
                    raise ValueError("classes must be passed on the first call to partial_fit.")
                self.classes_ = unique_labels(y if classes is None else classes)
                if len(self.classes_) < 2:
                    raise ValueError(
                        f"{type(self).__name__} needs at least 2 classes, but the data holds "
                        f"only one class: {self.classes_[0]!r}"
                    )
            self._multilabel = multilabel
            self.n_outputs_ = (
                y.shape[1] if multilabel else (1 if len(self.classes_) == 2 else len(self.classes_))
            )
            self.out_activation_ = (
                "softmax"
                if self.n_outputs_ > 1 and not multilabel and self._logit_outputs
                else "sigmoid"
            )
        else:
            if multilabel != self._multilabel or (multilabel and y.shape[1] != self.n_outputs_):
                raise ValueError(
                    "y has a different form from the first fit: "
                    + (
                        f"multi-label with {self.n_outputs_} labels"
                        if self._multilabel
                        else "one label per example"
                    )
                    + " was expected"
                )
            if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call: {self.classes_!r}"
                )
        if multilabel:
            return y.astype(np.float32)
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            raise ValueError(
                f"y contains labels not in classes_ {self.classes_!r}: {np.unique(y[unseen])!r}"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _loss_and_output(self) -> tuple[Loss, str | None]:
        if not self._logit_outputs:
            return SquaredError(reduction="mean"), "sigmoid"
        if self.out_activation_ == "softmax":
            return SoftmaxCrossEntropy(), None
        return BinaryCrossEntropy(from_logits=True), None

    # --- the scikit-learn API -----------------------------------------------------------
    def fit(self, X: Any, y: Any) -> BackpropClassifier:
        """Train a new network on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,)
        or a 0/1 indicator matrix (n_samples, n_labels); returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BackpropClassifier:
        """One more pass over ``X``, ``y`` with the current network and update-rule state (a
        new network on the first call, which needs every class in ``classes=``; multi-label
        ``y`` needs none). Early stopping is not used; ``epochs`` is ignored."""
        return self._fit(X, y, incremental=True, classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): the softmax of the logits, or
        the sigmoid for binary problems; for multi-label ``y``, one probability per label,
        shape (n_samples, n_labels)."""
        out = self._outputs(X)
        if self._logit_outputs:
            p = softmax(out, axis=1) if self.out_activation_ == "softmax" else expit(out)
        else:
            p = out
            if not self._multilabel and p.shape[1] > 1:
                total = p.sum(axis=1, keepdims=True)
                p = np.divide(p, total, out=np.full_like(p, 1 / p.shape[1]), where=total > 0)
        if not self._multilabel and p.shape[1] == 1:
            p = np.hstack([1 - p, p])
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba` (from the logits directly where the network
        outputs logits, so very small probabilities keep their precision)."""
        check_is_fitted(self)
        if not self._logit_outputs:
            with np.errstate(divide="ignore"):
                return np.log(self.predict_proba(X))
        out = self._outputs(X)
        if self.out_activation_ == "softmax":
            return log_softmax(out, axis=1)
        if not self._multilabel:  # binary: log σ(−z), log σ(z)
            out = np.hstack([-out, out])
        return -np.logaddexp(0.0, -out)  # log σ(z) = −log(1 + e^(−z))

    def predict(self, X: Any) -> np.ndarray:
        """Class labels, shape (n_samples,), or a 0/1 indicator matrix (n_samples, n_labels)
        for multi-label ``y``."""
        out = self._outputs(X)
        threshold = 0.0 if self._logit_outputs else 0.5
        if self._multilabel:
            return (out > threshold).astype(self.classes_.dtype)
        if out.shape[1] == 1:
            return self.classes_[(out[:, 0] > threshold).astype(np.intp)]
        return self.classes_[out.argmax(axis=1)]
