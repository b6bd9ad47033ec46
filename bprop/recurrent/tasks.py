"""The seeds' recurrent applications as plain Python entry points (the CLI calls these).

- :func:`train_lm`, :func:`evaluate_lm`, :func:`sample`, :func:`save_lm`, :func:`load_lm` —
  a character- or word-level language model on any text file, trained with truncated BPTT;
  held-out loss per token (nats) and perplexity exp(loss) on the tail of the text.
- :func:`train_adding` — sequence-to-one regression on the adding problem.
- :func:`train_reber` — next-symbol prediction on the embedded Reber grammar.
- :func:`train_forecast` — one-step-ahead forecasting of a univariate series (a CSV column or
  the yearly sunspot numbers), with the RMSE of a persistence baseline (ŷ_{t+1} = y_t).

Example::

    >>> import tempfile, pathlib
    >>> from bprop.recurrent.tasks import train_lm, sample
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "abc.txt"
    >>> _ = path.write_text("abcabcabcabc" * 50)
    >>> lm = train_lm(path, hidden=16, k1=10, batch_size=4, epochs=3, lr=0.02, verbose=0)
    >>> lm.val_loss < 0.2
    True
    >>> sample(lm, length=6, temperature=0.1, prime="ab")
    'abcabcab'
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop import backend
from bprop.data.dataset import DataError
from bprop.data.sequences import (
    ADDING_CONSTANT_MSE,
    REBER_SYMBOLS,
    Vocabulary,
    adding_problem,
    embedded_reber,
    load_series_csv,
    load_sunspots,
    load_text,
    reber_arrays,
    windows,
)
from bprop.layers.dense import Dense
from bprop.layers.sequential import Sequential
from bprop.losses import MeanSquaredError, SoftmaxCrossEntropy
from bprop.optim.base import Chain
from bprop.recurrent.cells import Cell
from bprop.recurrent.elman import Elman
from bprop.recurrent.gru import GRU
from bprop.recurrent.lstm import LSTM
from bprop.recurrent.truncated import StreamHistory, fit_stream, stream_loss
from bprop.recurrent.unroll import Recurrent, TimeDistributed

_CELLS = {"lstm": LSTM, "gru": GRU, "elman": Elman, "rnn": Elman}


def make_cell(kind: str, n_in: int, n_hidden: int, rng: Any = None, **kwargs: Any) -> Cell:
    """A cell by name: ``"lstm"``, ``"gru"``, ``"elman"`` (alias ``"rnn"``)."""
    key = kind.lower()
    if key not in _CELLS:
        raise ValueError(f"unknown cell {kind!r}; choose one of {sorted(_CELLS)}")
    return _CELLS[key](n_in, n_hidden, rng=rng, **kwargs)


def sequence_model(
    n_in: int,
    n_hidden: int,
    n_out: int,
    cell: str = "lstm",
    layers: int = 1,
    return_sequences: bool = True,
    seed: int = 0,
) -> Sequential:
    """``layers`` stacked recurrent layers and a Dense head (per step, or on the last state)."""
    if int(layers) < 1:
        raise ValueError(f"layers must be at least 1, got {layers}")
    rng = np.random.default_rng(seed)
    stack: list[Any] = []
    size = n_in
    for k in range(int(layers)):
        last = k == int(layers) - 1
        stack.append(
            Recurrent(
                make_cell(cell, size, n_hidden, rng=rng),
                return_sequences=return_sequences or not last,
            )
        )
        size = n_hidden
    head = Dense(n_hidden, n_out, rng=rng)
    stack.append(TimeDistributed(head) if return_sequences else head)
    return Sequential(*stack)


def _rule(optimizer: Any, lr: float, clip_norm: float | None) -> Any:
    from bprop.optim.adaptive import Adam
    from bprop.optim.transforms import ClipByGlobalNorm

    rule = optimizer if optimizer is not None else Adam(lr)
    return Chain(ClipByGlobalNorm(clip_norm), rule) if clip_norm else rule


# --- language model ----------------------------------------------------------------------


@dataclass
class LanguageModel:
    """A trained language model: the network (inputs one-hot over the vocabulary, outputs
    logits), its vocabulary, the training history, and the held-out loss per token (nats)
    and perplexity."""

    net: Sequential
    vocab: Vocabulary
    history: StreamHistory | None = None
    val_loss: float | None = None
    perplexity: float | None = None
    config: dict[str, Any] = field(default_factory=dict)


def train_lm(
    data: str | os.PathLike,
    unit: str = "char",
    vocab_limit: int | None = None,
    cell: str = "lstm",
    hidden: int = 256,
    layers: int = 1,
    k1: int = 100,
    k2: int | None = None,
    batch_size: int = 32,
    epochs: int = 1,
    lr: float = 2e-3,
    clip_norm: float | None = 5.0,
    val_fraction: float = 0.1,
    max_seconds: float | None = None,
    eval_every: int | None = None,
    seed: int = 0,
    verbose: int = 1,
    optimizer: Any = None,
) -> LanguageModel:
    """Train a character (``unit="char"``) or word (``unit="word"``) language model on the text
    file ``data`` with truncated BPTT(k1, k2); the last ``val_fraction`` of the text is held
    out and its loss per token reported (``val_loss``, nats; ``perplexity`` = e^val_loss).

    Word models keep the ``vocab_limit − 1`` most frequent words plus ``<unk>``. The update
    rule is Adam(lr) after clipping the global gradient norm to ``clip_norm``, unless an
    ``optimizer`` is given.
    """
    ids, vocab = load_text(data, unit=unit, limit=vocab_limit)
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_val = max(2, int(len(ids) * val_fraction))
    train, held = ids[:-n_val], ids[-n_val - 1 :]
    need = batch_size * k1 + 1
    if len(train) < need:
        raise DataError(
            f"{data}: {len(ids)} {unit}s leave {len(train)} for training, fewer than one window "
            f"of k1 = {k1} steps for each of batch_size = {batch_size} sub-streams ({need}); "
            "use a longer text, a smaller batch_size or a smaller k1"
        )
    V = len(vocab)
    net = sequence_model(V, hidden, V, cell, layers, True, seed)
    val_batch = max(1, min(batch_size, (len(held) - 1) // max(1, min(k1, len(held) - 1))))
    hist = fit_stream(
        net,
        train[:-1],
        train[1:],
        k1,
        k2,
        loss=SoftmaxCrossEntropy(),
        optimizer=_rule(optimizer, lr, clip_norm),
        batch_size=batch_size,
        epochs=epochs,
        max_seconds=max_seconds,
        eval_every=eval_every,
        validation=(held[:-1], held[1:]) if eval_every else None,
        verbose=verbose,
        keep_best=bool(eval_every),  # end with the best held-out weights, not the last
    )
    val = stream_loss(net, held[:-1], held[1:], SoftmaxCrossEntropy(), val_batch, k1)
    config = {
        "unit": unit,
        "cell": cell,
        "hidden": hidden,
        "layers": layers,
        "k1": k1,
        "k2": k2 or k1,
        "batch_size": batch_size,
        "lr": lr,
        "clip_norm": clip_norm,
    }
    return LanguageModel(net, vocab, hist, val, math.exp(val), config)


def evaluate_lm(model: LanguageModel, text: str, batch_size: int = 1) -> tuple[float, float]:
    """Loss per token (nats) and perplexity of ``model`` on ``text`` (unknown symbols map to
    the unknown token, or raise when the vocabulary has none)."""
    ids = model.vocab.encode(text)
    if len(ids) < 2:
        raise DataError("need at least two tokens to evaluate next-token loss")
    loss = stream_loss(model.net, ids[:-1], ids[1:], SoftmaxCrossEntropy(), batch_size, 100)
    return loss, math.exp(loss)


def sample(
    model: LanguageModel,
    vocab: Vocabulary | None = None,
    length: int = 500,
    temperature: float = 1.0,
    prime: str | None = None,
    rng: np.random.Generator | int | None = 0,
) -> str:
    """Generate ``length`` tokens after ``prime`` (default: one random symbol), drawing each
    from softmax(logits / temperature); returns prime + generated text. Lower temperatures
    are more conservative; temperature → 0 approaches greedy decoding."""
    vocab = vocab or model.vocab
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if int(length) < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    net, V = model.net, len(vocab)
    ids = list(vocab.encode(prime)) if prime else [int(gen.integers(V))]
    if not ids:
        raise ValueError("prime has no tokens")
    eye = np.eye(V, dtype=net.space.dtype)
    recs = [leaf for leaf in net.leaves() if isinstance(leaf, Recurrent)]
    saved = [(r.stateful, r.state) for r in recs]
    out_ids: list[int] = []
    try:
        for r in recs:
            r.stateful, r.state = True, None
        if len(ids) > 1:
            net.forward(backend.asarray(eye[ids[:-1]][None], dtype=eye.dtype))
        last = ids[-1]
        for _ in range(int(length)):
            logits, _ = net.forward(backend.asarray(eye[[last]][None], dtype=eye.dtype))
            z = backend.to_numpy(logits)[0, -1].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            p /= p.sum()
            last = int(gen.choice(V, p=p))
            out_ids.append(last)
    finally:
        for r, (stateful, state) in zip(recs, saved, strict=False):
            r.stateful, r.state = stateful, state
    return vocab.decode(ids + out_ids)


def save_lm(model: LanguageModel, path: str | os.PathLike) -> None:
    """Save a language model (network + vocabulary + scores) as a bprop model file."""
    from bprop.io import save

    meta = {
        "task": "language_model",
        "vocab": model.vocab.to_dict(),
        "val_loss": model.val_loss,
        "perplexity": model.perplexity,
        "config": model.config,
    }
    save(model.net, path, loss=SoftmaxCrossEntropy(), metadata=meta)


def load_lm(path: str | os.PathLike) -> LanguageModel:
    """Load a language model saved by :func:`save_lm`."""
    from bprop.io import ModelFileError, load_checkpoint

    ck = load_checkpoint(path)
    meta = ck.metadata
    if meta.get("task") != "language_model" or "vocab" not in meta:
        raise ModelFileError(f"{path} is a bprop model but not a language model (no vocabulary)")
    return LanguageModel(
        ck.net,
        Vocabulary.from_dict(meta["vocab"]),
        None,
        meta.get("val_loss"),
        meta.get("perplexity"),
        meta.get("config", {}),
    )


# --- the adding problem ------------------------------------------------------------------


def train_adding(
    T: int = 50,
    cell: str = "lstm",
    hidden: int = 32,
    n_train: int = 10000,
    n_test: int = 1000,
    epochs: int = 15,
    batch_size: int = 50,
    lr: float = 5e-3,
    clip_norm: float | None = 1.0,
    target_mse: float = 0.01,
    seed: int = 0,
    verbose: int = 0,
) -> dict[str, Any]:
    """Train a sequence-to-one network on the adding problem (Hochreiter & Schmidhuber 1997).

    Stops as soon as the test MSE falls below ``target_mse``. Returns ``net``, ``test_mse``
    (after each epoch: ``test_mse_curve``), ``constant_mse`` (1/6, always predicting the mean
    target 1), ``success`` (test MSE < target_mse) and ``epochs``.
    """
    from bprop.train.trainer import Trainer

    X, y = adding_problem(n_train, T, rng=np.random.default_rng(seed))
    Xt, yt = adding_problem(n_test, T, rng=np.random.default_rng(seed + 10_000))
    net = sequence_model(2, hidden, 1, cell, 1, False, seed)
    trainer = Trainer(
        net,
        MeanSquaredError(),
        _rule(None, lr, clip_norm),
        batch_size=batch_size,
        seed=seed,
        verbose=verbose,
    )
    curve = []
    for _ in range(int(epochs)):
        trainer.fit(X, y, epochs=1)
        curve.append(float(((net.predict(Xt) - yt) ** 2).mean()))
        if curve[-1] < target_mse:
            break
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
    hidden: int = 16,
    n_train: int = 2000,
    n_test: int = 500,
    epochs: int = 30,
    batch_size: int = 20,
    lr: float = 1e-2,
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
    net = sequence_model(K, hidden, K, cell, 1, True, seed)
    hist = fit(
        net,
        train["X"],
        train["y"],
        loss=SoftmaxCrossEntropy(),
        optimizer=_rule(None, lr, 1.0),
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        verbose=verbose,
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
    hidden: int = 16,
    test_fraction: float = 0.2,
    epochs: int = 200,
    batch_size: int = 16,
    lr: float = 1e-2,
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
    net = sequence_model(1, hidden, 1, cell, 1, False, seed)
    hist = fit(
        net,
        Xs[:split],
        ys[:split],
        loss=MeanSquaredError(),
        optimizer=_rule(None, lr, 1.0),
        batch_size=batch_size,
        epochs=epochs,
        seed=seed,
        verbose=verbose,
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
