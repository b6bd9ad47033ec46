"""A character- or word-level language model on any text file, trained with truncated BPTT.

:func:`train_lm` trains it and reports the held-out loss per token (nats) and the perplexity
exp(loss) on the tail of the text; :func:`sample` generates text; :func:`save_lm` /
:func:`load_lm` keep the model with its vocabulary. See :mod:`bprop.tasks` for an example.
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
    Vocabulary,
    load_text,
)
from bprop.layers.sequential import Sequential
from bprop.losses import SoftmaxCrossEntropy
from bprop.recurrent.truncated import stream_loss
from bprop.recurrent.unroll import Recurrent
from bprop.tasks.models import cell_words, sequence_model, training_rule
from bprop.train.history import StreamHistory
from bprop.train.stream import fit_stream


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
    hidden: int | list[int] = 256,
    layers: int = 1,
    dropout: float = 0.0,
    embed: int | None = None,
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
    ``optimizer`` is given. ``hidden`` is one size, or a list of them for stacked layers
    (``dropout`` between them); ``embed`` puts an :class:`bprop.Embedding` of vectors of that
    size in front (default: one-hot inputs).
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
    net = sequence_model(V, hidden, V, cell, layers, True, seed, dropout, embed)
    val_batch = max(1, min(batch_size, (len(held) - 1) // max(1, min(k1, len(held) - 1))))
    hist = fit_stream(
        net,
        train[:-1],
        train[1:],
        k1,
        k2,
        loss=SoftmaxCrossEntropy(),
        optimizer=training_rule(optimizer, lr, clip_norm),
        batch_size=batch_size,
        epochs=epochs,
        max_seconds=max_seconds,
        eval_every=eval_every,
        validation=(held[:-1], held[1:]) if eval_every else None,
        verbose=verbose,
        label=f"{unit} language model · {cell_words(cell)} · truncated BPTT({k1}, {k2 or k1})",
        keep_best=bool(eval_every),  # end with the best held-out weights, not the last
    )
    val = stream_loss(net, held[:-1], held[1:], SoftmaxCrossEntropy(), val_batch, k1)
    config = {
        "unit": unit,
        "cell": cell,
        "hidden": hidden,
        "layers": layers,
        "dropout": dropout,
        "embed": embed,
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
    if getattr(net.leaves()[0], "takes_ids", False):  # an Embedding reads the ids themselves
        eye = np.arange(V)
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
