"""Evaluation: a model's loss and accuracy on data, in evaluation mode (part of
:class:`bprop.Trainer`).

Example::

    >>> import numpy as np, bprop as bp
    >>> net = bp.Sequential(bp.Dense(2, 2, rng=0))
    >>> out = bp.Trainer(net, bp.SoftmaxCrossEntropy(), verbose=0).evaluate(np.eye(2), [0, 1])
    >>> sorted(out)
    ['accuracy', 'loss']
"""

from __future__ import annotations

from typing import Any

from bprop.train.sources import as_padded, count_correct, counts_accuracy, forward_loss


class Evaluation:
    """Loss and accuracy of the trainer's ``net`` under its ``loss`` (mixed into the Trainer,
    which provides ``net``, ``loss`` and ``prepare``)."""

    net: Any
    loss: Any

    def evaluate_prepared(
        self, X: Any, T: Any, L: Any = None, batch_size: int = 4096
    ) -> tuple[float, Any]:
        total, correct, count, n = 0.0, 0, 0, X.shape[0]
        classify = counts_accuracy(T)
        for i in range(0, n, batch_size):
            s = slice(i, i + batch_size)
            loss, _, _, out, tb = forward_loss(
                self.net, self.loss, X[s], T[s], None if L is None else L[s], train=False
            )
            total += loss if self.loss.reduction == "sum" else loss * X[s].shape[0]
            if classify:
                c, k = count_correct(out, tb, self.loss.threshold)
                correct, count = correct + c, count + k
        return (total if self.loss.reduction == "sum" else total / n), (
            correct / count if classify else None
        )

    def evaluate(self, X: Any, y: Any, lengths: Any = None) -> dict[str, Any]:
        """Loss and (for classification) accuracy on ``X``, ``y`` in evaluation mode
        (sequences of different lengths: a list of them, or padded with ``lengths``)."""
        X, y, lengths = as_padded(X, y, lengths)
        Xb, Tb = self.prepare(X, y)
        loss, acc = self.evaluate_prepared(Xb, Tb, lengths)
        return {"loss": loss, "accuracy": acc}
