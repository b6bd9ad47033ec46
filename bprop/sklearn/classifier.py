"""``BackpropClassifier``: a bprop multi-layer perceptron behind scikit-learn's classifier API."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, log_expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from bprop.losses import BinaryCrossEntropy, Loss, SoftmaxCrossEntropy, SquaredError
from bprop.sklearn._base import BackpropEstimator
from bprop.sklearn._docs import ATTRIBUTES_DOC, PARAMETERS_DOC


def log_softmax(s: np.ndarray) -> np.ndarray:
    """log softmax(s) along axis 1 in log-sum-exp form, to full relative precision.

    With m = max_k s_k and S = Σ_{k ≠ argmax} e^(s_k − m) (the other classes' weight relative
    to the most probable one): log p_j = (s_j − m) − log1p(S). Every value is finite however
    small p_j is, and the log1p keeps the most probable class's value, ≈ −S, exact where
    log(1 + S), as in ``scipy.special.log_softmax``, rounds it to 0 (S < 1e-16) or loses
    digits (S ≈ 1e-9). (NumPy only: the estimators' outputs are NumPy arrays on any backend.)
    """
    top = s.argmax(axis=1)[:, None]
    shifted = s - np.take_along_axis(s, top, axis=1)
    rest = np.exp(shifted)
    np.put_along_axis(rest, top, 0.0, axis=1)
    return shifted - np.log1p(rest.sum(axis=1, keepdims=True))


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

    def _class_scores(self, X: Any) -> np.ndarray:
        """Unnormalised log-probabilities ``s`` of the classes, computed in float64 from the
        network's pre-activation outputs ``z`` (the logits; for ``loss="squared_error"`` the
        input of the sigmoid output layer), such that

        - one label per example: P = softmax(s), log P = log_softmax(s) (log-sum-exp form);
        - multi-label: P = σ(s), log P = log σ(s) = −log(1 + e^(−s)) per label.

        With those, every probability and its logarithm is computed without forming 1 − p, so
        a probability as small as e^(−40) keeps its precision instead of rounding to 0:

        - softmax output: s = z;
        - binary (one sigmoid unit): s = (0, z), since softmax(0, z) = (σ(−z), σ(z));
        - multi-class squared error: s = log σ(z), since softmax(log σ(z)) = σ(z) / Σ σ(z),
          the output activations normalised to sum to one;
        - multi-label: s = z.
        """
        check_is_fitted(self)
        # the squared-error classifier ends in a Sigmoid layer: stop before it
        z = self._outputs(X, n_layers=None if self._logit_outputs else -1)
        if self._multilabel:
            return z
        if z.shape[1] == 1:
            return np.hstack([np.zeros_like(z), z])
        return z if self._logit_outputs else log_expit(z)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): the softmax of the logits, or
        the sigmoid for binary problems (σ(−z) for the first class, never 1 − σ(z), so a
        small probability does not round to zero); for multi-label ``y``, one probability per
        label, shape (n_samples, n_labels). With ``loss="squared_error"``: the sigmoid
        output activations, normalised to sum to one for multi-class problems."""
        s = self._class_scores(X)
        return expit(s) if self._multilabel else softmax(s, axis=1)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed from the pre-activation outputs
        directly (log-sum-exp and log-sigmoid forms), so it stays finite and exact where the
        probability itself underflows."""
        s = self._class_scores(X)
        return log_expit(s) if self._multilabel else log_softmax(s)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels, shape (n_samples,), or a 0/1 indicator matrix (n_samples, n_labels)
        for multi-label ``y``: the most probable class (the first one on a tie), or each
        label whose probability exceeds ½, so ``predict`` always agrees with
        :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(self.classes_.dtype)
        return self.classes_[proba.argmax(axis=1)]
