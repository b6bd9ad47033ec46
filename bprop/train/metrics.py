"""Evaluation metrics from a model's outputs, computed by scikit-learn's ``sklearn.metrics``.

- classes (integer labels, or 0/1 target vectors): ``accuracy`` and the ``confusion_matrix``
  C, where C[i, j] counts the examples of true class i predicted as class j (``labels`` names
  the rows and columns: 0 … K−1); a single output is class 1 above the loss's threshold;
- regression: ``r2`` (coefficient of determination, 1 − SS_res/SS_tot, averaged over the
  outputs), ``mae`` (mean absolute error) and ``rmse`` (root of the mean squared error), each
  on the targets' own scale.

Sequences (N, T, ·) count every time step as one example.

Example::

    >>> import numpy as np
    >>> from bprop.train.metrics import class_metrics, regression_metrics
    >>> out = np.array([[2.0, 0.1], [0.3, 1.0], [0.9, 0.2]])
    >>> m = class_metrics(out, np.array([0, 1, 1]), threshold=0.5)
    >>> m["accuracy"], m["confusion_matrix"]
    (0.6666666666666666, [[1, 0], [1, 1]])
    >>> r = regression_metrics(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [4.0]]))
    >>> round(r["r2"], 4), round(r["mae"], 4), round(r["rmse"], 4)
    (0.7857, 0.3333, 0.5774)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def predicted_labels(out: np.ndarray, T: np.ndarray, threshold: float) -> tuple[Any, Any, int]:
    """(true labels, predicted labels, number of classes) as flat integer arrays."""
    out = np.asarray(out)
    T = np.asarray(T)
    k = out.shape[-1]
    if T.dtype.kind in "iu":
        true = T.reshape(-1)
    elif k == 1:
        true = (T[..., 0] > 0.5).reshape(-1).astype(np.int64)
    else:
        true = T.reshape(-1, k).argmax(axis=1)
    if k == 1:
        pred = (out[..., 0] > threshold).reshape(-1).astype(np.int64)
        k = 2
    else:
        pred = out.reshape(-1, k).argmax(axis=1)
    return true.astype(np.int64), pred.astype(np.int64), k


def class_metrics(out: np.ndarray, T: np.ndarray, threshold: float) -> dict[str, Any]:
    """``accuracy``, ``confusion_matrix`` (a list of rows: true class) and ``labels``."""
    from sklearn.metrics import accuracy_score, confusion_matrix

    true, pred, k = predicted_labels(out, T, threshold)
    labels = list(range(max(k, int(true.max(initial=0)) + 1)))
    cm = confusion_matrix(true, pred, labels=labels)
    return {
        "accuracy": float(accuracy_score(true, pred)),
        "confusion_matrix": cm.tolist(),
        "labels": labels,
    }


def regression_metrics(out: np.ndarray, T: np.ndarray) -> dict[str, Any]:
    """``r2``, ``mae`` and ``rmse`` of the outputs against the targets."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    k = np.asarray(out).shape[-1]
    y = np.asarray(T, np.float64).reshape(-1, k)
    p = np.asarray(out, np.float64).reshape(-1, k)
    if y.shape[0] < 2:
        raise ValueError("R² needs at least two examples to evaluate a regression on")
    return {
        "r2": float(r2_score(y, p)),
        "mae": float(mean_absolute_error(y, p)),
        "rmse": float(np.sqrt(mean_squared_error(y, p))),
    }


def format_confusion(cm: list[list[int]], names: list[str] | None = None) -> str:
    """The confusion matrix as a text table (rows: true class, columns: predicted).

    >>> print(format_confusion([[5, 1], [0, 4]], ["no", "yes"]))
    true \\ predicted   no  yes
    no                  5    1
    yes                 0    4
    """
    names = names or [str(i) for i in range(len(cm))]
    w = max(3, *(len(n) for n in names), *(len(str(v)) for row in cm for v in row))
    corner = "true \\ predicted"
    first = max(len(corner), *(len(n) for n in names))
    lines = [f"{corner:<{first}}" + "".join(f"  {n:>{w}}" for n in names)]
    for name, row in zip(names, cm, strict=True):
        lines.append(f"{name:<{first}}" + "".join(f"  {v:>{w}}" for v in row))
    return "\n".join(lines)


def evaluate(trainer: Any, X: Any, y: Any) -> dict[str, Any]:
    """What :meth:`bprop.Trainer.evaluate` returns: the loss and the metrics above."""
    from bprop import backend

    Xb, Tb = trainer.prepare(X, y)
    outs: list[Any] = []
    loss, acc = trainer.evaluate_prepared(Xb, Tb, outputs=outs)
    out, T = np.concatenate(outs), backend.to_numpy(Tb)
    if acc is not None:
        return {"loss": loss, **class_metrics(out, T, trainer.loss.threshold)}
    return {"loss": loss, "accuracy": None, **regression_metrics(out, T)}
