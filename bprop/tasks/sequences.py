"""Sequence tasks trained by full BPTT: the adding problem (sequence-to-one regression,
Hochreiter & Schmidhuber 1997), the embedded Reber grammar (next-symbol prediction), and
one-step-ahead forecasting of a series against the persistence baseline ŷ_{t+1} = y_t.

Each trains with ``optimizer`` (any update rule; default ``Adam(lr)``), with the gradient
clipped to a global norm first."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bprop.data.dataset import DataError
from bprop.data.sequences import (
    ADDING_CONSTANT_MSE,
    REBER_SYMBOLS,
    adding_problem,
    embedded_reber,
    load_series_csv,
    load_sunspots,
    reber_arrays,
    windows,
)
from bprop.losses import MeanSquaredError, SoftmaxCrossEntropy
from bprop.tasks.models import cell_words, sequence_model, training_rule

# --- the adding problem ------------------------------------------------------------------


def train_adding(
    T: int = 50,
    cell: str = "lstm",
    hidden: int | list[int] = 32,
    dropout: float = 0.0,
    n_train: int = 10000,
    n_test: int = 1000,
    epochs: int = 15,
    batch_size: int = 50,
    lr: float = 5e-3,
    clip_norm: float | None = 1.0,
    target_mse: float = 0.01,
    optimizer: Any = None,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train a sequence-to-one network on the adding problem (Hochreiter & Schmidhuber 1997).

    Stops as soon as the test MSE falls below ``target_mse``. Returns ``net``, ``test_mse``
    (after each epoch: ``test_mse_curve``), ``constant_mse`` (1/6, always predicting the mean
    target 1), ``success`` (test MSE < target_mse) and ``epochs``.
    """
    from bprop.train.callbacks import as_callback
    from bprop.train.trainer import Trainer

    X, y = adding_problem(n_train, T, rng=np.random.default_rng(seed))
    Xt, yt = adding_problem(n_test, T, rng=np.random.default_rng(seed + 10_000))
    net = sequence_model(2, hidden, 1, cell, 1, False, seed, dropout)
    trainer = Trainer(
        net,
        MeanSquaredError(),
        training_rule(optimizer, lr, clip_norm),
        batch_size=batch_size,
        seed=seed,
        verbose=verbose,
        label=f"adding problem T={T} · {cell_words(cell)}",
    )
    curve: list[float] = []

    def test_mse(epoch: int, logs: dict[str, Any]) -> bool:
        """After each epoch: the test MSE; stop once it is below the target."""
        curve.append(float(((net.predict(Xt) - yt) ** 2).mean()))
        return curve[-1] < target_mse

    trainer.callbacks.append(as_callback(test_mse))
    trainer.fit(X, y, epochs=int(epochs))
    return {
        "net": net,
        "test_mse": curve[-1] if curve else None,
        "test_mse_curve": curve,
        "constant_mse": ADDING_CONSTANT_MSE,
        "success": bool(curve and curve[-1] < target_mse),
        "epochs": len(curve),
    }


# --- the embedded Reber grammar ----------------------------------------------------------


def train_reber(
    cell: str = "lstm",
    hidden: int | list[int] = 16,
    dropout: float = 0.0,
    n_train: int = 2000,
    n_test: int = 500,
    epochs: int = 30,
    batch_size: int = 20,
    lr: float = 1e-2,
    optimizer: Any = None,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Next-symbol prediction on the embedded Reber grammar.

    Scored the classic way (Hochreiter & Schmidhuber 1997, Exp. 1): a test string counts as
    solved when, at every position, the symbols whose predicted probability exceeds 0.2 are
    among the legal next symbols and include the true one; ``penultimate_accuracy`` is the
    fraction of strings whose long-lag symbol (repeating the second) is predicted best.
    Returns ``net``, ``accuracy``, ``penultimate_accuracy`` and ``history``.
    """
    from bprop.train.trainer import fit

    gen = np.random.default_rng(seed)
    train_strings = embedded_reber(n_train, gen)
    test_strings = embedded_reber(n_test, gen)
    T = max(map(len, train_strings + test_strings)) - 1
    train, test = reber_arrays(train_strings, T), reber_arrays(test_strings, T)
    K = len(REBER_SYMBOLS)
    net = sequence_model(K, hidden, K, cell, 1, True, seed, dropout)
    hist = fit(
        net,
        train["X"],
        train["y"],
        loss=SoftmaxCrossEntropy(),
        optimizer=training_rule(optimizer, lr, 1.0),
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        verbose=verbose,
        label=f"embedded Reber grammar · {cell_words(cell)}",
    )
    logits = net.predict(test["X"])
    p = np.exp(logits - logits.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    predicted = p > 0.2
    legal = test["allowed"] > 0
    ok = ~predicted | legal  # nothing illegal predicted
    true_hit = np.take_along_axis(predicted, test["y"][..., None], axis=2)[..., 0]
    pos_ok = ok.all(axis=2) & true_hit
    solved = (pos_ok | ~test["mask"]).all(axis=1)
    pen = np.array([len(s) - 3 for s in test_strings])
    rows = np.arange(len(test_strings))
    pen_ok = logits[rows, pen].argmax(axis=1) == test["y"][rows, pen]
    return {
        "net": net,
        "accuracy": float(solved.mean()),
        "penultimate_accuracy": float(pen_ok.mean()),
        "history": hist,
    }


# --- forecasting -------------------------------------------------------------------------


def train_forecast(
    series: Any = "sunspots",
    column: str | int | None = None,
    window: int = 12,
    cell: str = "lstm",
    hidden: int | list[int] = 16,
    dropout: float = 0.0,
    test_fraction: float = 0.2,
    epochs: int = 200,
    batch_size: int = 16,
    lr: float = 1e-2,
    optimizer: Any = None,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """One-step-ahead forecasting of a univariate series with a sequence-to-one network.

    ``series`` is ``"sunspots"`` (the built-in yearly sunspot numbers), a path to a CSV file
    (with ``column``, a name or index), or a 1-D array. The last ``test_fraction`` of the
    windows (in time order, no shuffling across the split) is the test set; values are
    standardised with the training part's mean and deviation. Returns ``net``, ``rmse``,
    ``persistence_rmse`` (predicting the last value of each window) and ``predictions``, all in
    the series' own units.
    """
    from bprop.train.trainer import fit

    if isinstance(series, str) and series == "sunspots":
        values = load_sunspots()
    elif isinstance(series, (str, os.PathLike)):
        if column is None:
            raise DataError("give the CSV column of the series (column=NAME or index)")
        values = load_series_csv(series, column)
    else:
        values = np.asarray(series, dtype=np.float64)
    X, y = windows(values, window)
    n_test = int(round(len(X) * test_fraction))
    if not 0 < n_test < len(X):
        raise DataError(
            f"{len(X)} windows cannot be split into train and test with test_fraction "
            f"{test_fraction}"
        )
    split = len(X) - n_test
    mu = float(values[: split + window].mean())
    sd = float(values[: split + window].std()) or 1.0
    Xs, ys = (X - mu) / sd, (y - mu) / sd
    net = sequence_model(1, hidden, 1, cell, 1, False, seed, dropout)
    hist = fit(
        net,
        Xs[:split],
        ys[:split],
        loss=MeanSquaredError(),
        optimizer=training_rule(optimizer, lr, 1.0),
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        verbose=verbose,
        label=f"forecasting · {cell_words(cell)}",
    )
    pred = net.predict(Xs[split:]) * sd + mu
    rmse = float(np.sqrt(((pred - y[split:]) ** 2).mean()))
    persistence = float(np.sqrt(((X[split:, -1, :] - y[split:]) ** 2).mean()))
    return {
        "net": net,
        "rmse": rmse,
        "persistence_rmse": persistence,
        "predictions": pred[:, 0],
        "targets": y[split:, 0],
        "history": hist,
    }
