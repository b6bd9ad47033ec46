"""The `Dataset` container every loader in `bprop.data` returns, and the data error types.

A `Dataset` is plain NumPy arrays plus the facts a trainer needs about them:

- ``task="classification"``: ``y`` is a 1-D int64 array of labels ``0 .. n_classes-1``.
- ``task="regression"``: ``y`` is a 2-D float array of shape ``(N, n_outputs)``
  (a 1-D ``y`` is accepted and turned into one column).

Example:
    >>> import numpy as np
    >>> from bprop.data import Dataset
    >>> ds = Dataset(np.zeros((4, 2)), np.array([0, 1, 1, 0]), "classification", "toy", "a toy set")
    >>> len(ds), ds.n_features, ds.n_classes, ds.n_outputs
    (4, 2, 2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

TASKS = ("classification", "regression")


class DataError(ValueError):
    """A data set could not be loaded or is malformed; the message says what to fix."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file or directory does not exist (both a `ValueError` and a `FileNotFoundError`)."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features ``X`` (N, n_features), targets ``y``, and what they mean.

    Attributes:
        X: feature matrix, shape ``(N, n_features)``.
        y: int64 labels of shape ``(N,)`` (classification) or floats of shape
            ``(N, n_outputs)`` (regression).
        task: ``"classification"`` or ``"regression"``.
        name: short identifier, e.g. ``"iris"`` or ``"parity-4"``.
        description: one or two sentences: what the data is and where it comes from.
        n_classes: number of classes K (classification only; inferred as ``max(y)+1`` if omitted).
        feature_names: one name per column of ``X``, or None.
        target_names: one name per class (classification), or None.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    description: str
    n_classes: int | None = None
    feature_names: Sequence[str] | None = None
    target_names: Sequence[str] | None = None

    def __post_init__(self) -> None:
        X, y = np.asarray(self.X), np.asarray(self.y)
        if self.task not in TASKS:
            raise DataError(
                f"Dataset {self.name!r}: task must be one of {TASKS}, got {self.task!r}"
            )
        if X.ndim != 2:
            raise DataError(
                f"Dataset {self.name!r}: X must be 2-D (N, n_features), got shape {X.shape}"
            )
        if len(y) != len(X):
            raise DataError(f"Dataset {self.name!r}: X has {len(X)} rows but y has {len(y)}")
        n_classes = self.n_classes
        if self.task == "classification":
            if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
                raise DataError(
                    f"Dataset {self.name!r}: classification labels must be a 1-D integer array, "
                    f"got shape {y.shape} dtype {y.dtype}"
                )
            y = y.astype(np.int64, copy=False)
            if n_classes is None:
                n_classes = int(y.max()) + 1 if len(y) else 0
            if len(y) and (y.min() < 0 or y.max() >= n_classes):
                raise DataError(
                    f"Dataset {self.name!r}: labels must lie in 0..{n_classes - 1}, "
                    f"found {y.min()}..{y.max()}"
                )
            if self.target_names is not None and len(self.target_names) != n_classes:
                raise DataError(
                    f"Dataset {self.name!r}: {len(self.target_names)} target_names "
                    f"for {n_classes} classes"
                )
        else:
            if y.ndim == 1:
                y = y.reshape(-1, 1)
            if y.ndim != 2:
                raise DataError(
                    f"Dataset {self.name!r}: regression y must be 2-D (N, n_outputs), got {y.shape}"
                )
            if not np.issubdtype(y.dtype, np.floating):
                y = y.astype(np.float64)
            if n_classes is not None:
                raise DataError(
                    f"Dataset {self.name!r}: n_classes is only meaningful for classification"
                )
        if self.feature_names is not None and len(self.feature_names) != X.shape[1]:
            raise DataError(
                f"Dataset {self.name!r}: {len(self.feature_names)} feature_names "
                f"for {X.shape[1]} features"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "n_classes", None if n_classes is None else int(n_classes))
        for field in ("feature_names", "target_names"):
            names = getattr(self, field)
            if names is not None:
                object.__setattr__(self, field, tuple(str(n) for n in names))

    def with_classes(self, classes: Sequence[str]) -> Dataset:
        """The same data with its labels re-encoded as indices into ``classes`` (a model's
        saved class names), matched by name: a file that lacks some classes, or lists them in
        another order, is scored against the model's own numbering. Raises `DataError`
        listing the labels ``classes`` does not contain."""
        if self.task != "classification" or self.target_names is None:
            raise DataError(f"Dataset {self.name!r}: only named classes can be re-encoded")
        index = {str(c): k for k, c in enumerate(classes)}
        unknown = [n for n in self.target_names if n not in index]
        if unknown:
            raise DataError(
                f"label(s) {unknown} of {self.name!r} are not among the model's classes "
                f"{list(map(str, classes))}; drop those rows or retrain with them"
            )
        recode = np.array([index[n] for n in self.target_names], dtype=np.int64)
        return replace(
            self, y=recode[self.y], n_classes=len(index), target_names=tuple(map(str, classes))
        )

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``X``)."""
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        """Network outputs needed: K for classification, ``y.shape[1]`` for regression."""
        return self.n_classes if self.task == "classification" else self.y.shape[1]

    def __repr__(self) -> str:
        extra = (
            f", n_classes={self.n_classes}"
            if self.task == "classification"
            else f", n_outputs={self.n_outputs}"
        )
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n={len(self)}, "
            f"n_features={self.n_features}{extra})"
        )
