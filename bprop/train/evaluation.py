"""Evaluation: a model's loss and accuracy on data, in evaluation mode (part of
:class:`bprop.Trainer`).

Example::

    >>> import numpy as np, bprop as bp
    >>> net = bp.Sequential(bp.Dense(2, 2, rng=0))
    >>> out = bp.Trainer(net, bp.SoftmaxCrossEntropy(), verbose=0).evaluate(np.eye(2), [0, 1])
    >>> sorted(out)
    ['accuracy', 'confusion_matrix', 'labels', 'loss']
"""

from __future__ import annotations

from typing import Any

from bprop import backend
from bprop.train import metrics
from bprop.train.sources import as_padded, count_correct, forward_loss, target_plan


class Evaluation:
    """Loss and accuracy of the trainer's ``net`` under its ``loss`` (mixed into the Trainer,
    which provides ``net``, ``loss`` and ``prepare``)."""

    net: Any
    loss: Any

    def evaluate_prepared(
        self,
        X: Any,
        T: Any,
        L: Any = None,
        batch_size: int = 4096,
        outputs: Any = None,
        classes: Any = None,
    ) -> tuple[float, Any]:
        """The loss and accuracy (None unless classifying) of the network on prepared inputs and
        targets (see :meth:`prepare`; sequences of lengths ``L``), in batches of ``batch_size``
        without training; ``outputs``, if a list, collects the outputs (as NumPy).
        ``classes``: ``(classify, target classes)`` of ``T`` if already known (a fit works
        them out once for its validation data: :func:`~bprop.train.sources.target_plan`)."""
        total, correct, count, n = 0.0, 0, 0, X.shape[0]
        classify, known = target_plan(T, L) if classes is None else classes
        for i in range(0, n, batch_size):
            j = min(i + batch_size, n)  # the standard has no slices past the end
            loss, _, _, out, tb, pred = forward_loss(
                self.net,
                self.loss,
                X[i:j, ...],
                T[i:j, ...],
                None if L is None else L[i:j],
                train=False,
            )
            total += loss if self.loss.reduction == "sum" else loss * (j - i)
            if classify:
                c, k = count_correct(
                    out, tb, self.loss.threshold, None if known is None else known[i:j], pred
                )
                correct, count = correct + c, count + k
            if outputs is not None:
                outputs.append(backend.to_numpy(out))
        return (total if self.loss.reduction == "sum" else total / n), (
            correct / count if classify else None
        )

    def evaluate(self, X: Any, y: Any, lengths: Any = None) -> dict[str, Any]:
        """The loss and the metrics of :mod:`bprop.train.metrics` on ``X``, ``y`` in evaluation
        mode: accuracy and the confusion matrix for classes, R², MAE and RMSE for regression.
        Sequences of different lengths (a list of them, or padded with ``lengths``) get the loss
        and accuracy over their real steps."""
        if lengths is None and not isinstance(X, (list, tuple)):
            return metrics.evaluate(self, X, y)
        X, y, lengths = as_padded(X, y, lengths)
        Xb, Tb = self.prepare(X, y)
        loss, acc = self.evaluate_prepared(Xb, Tb, lengths)
        return {"loss": loss, "accuracy": acc}
