"""The validation split: which training examples are held out, kept across ``fit`` calls.

``Trainer.fit(validation_split=f)`` holds out a fraction f of the examples, stratified by class
when the targets are labels. The held-out rows are drawn once from the trainer's generator and
stored in ``trainer.split`` (``{"n", "fraction", "val_index"}``), so every later ``fit`` on data
of the same size and fraction — in particular one that resumes after an interrupt — holds out
the same rows, and held-out examples never reach training.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def hold_out(
    trainer: Any, X: np.ndarray, y: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val) for ``validation_split=fraction``: the held-out
    rows of ``trainer.split`` when it was made for the same number of examples and fraction,
    else a new stratified split drawn from ``trainer.rng`` (and stored in ``trainer.split``).
    Training rows keep their order."""
    n = X.shape[0]
    s = trainer.split
    if s is None or int(s["n"]) != n or float(s["fraction"]) != float(fraction):
        val_index = split_indices(y, fraction, trainer.rng)
        trainer.split = {"n": n, "fraction": float(fraction), "val_index": val_index}
    val_index = np.asarray(trainer.split["val_index"], dtype=np.int64)
    train = np.ones(n, dtype=bool)
    train[val_index] = False
    return X[train], y[train], X[val_index], y[val_index]


def split_indices(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The sorted indices (int64) of ``fraction`` of the examples, held out for validation:
    stratified by class when ``y`` holds labels; one draw from ``rng`` seeds the split."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    seed = int(rng.integers(2**31))
    rows = np.arange(y.shape[0])
    stratify = y if (y.ndim == 1 and np.issubdtype(y.dtype, np.integer)) else None
    try:
        _, val = train_test_split(rows, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError:  # a class too small to stratify
        _, val = train_test_split(rows, test_size=fraction, random_state=seed)
    return np.sort(val).astype(np.int64)
