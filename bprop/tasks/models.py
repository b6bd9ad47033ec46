"""What the sequence tasks share: a recurrent model by name and the default update rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bprop.layers.dense import Dense
from bprop.layers.dropout import Dropout
from bprop.layers.embedding import Embedding
from bprop.layers.sequential import Sequential
from bprop.optim.base import Chain, UpdateRule
from bprop.recurrent import make_cell
from bprop.recurrent.unroll import Recurrent, TimeDistributed


def hidden_sizes(n_hidden: int | Sequence[int], layers: int = 1) -> list[int]:
    """The sizes of the stacked recurrent layers: ``layers`` layers of ``n_hidden`` units, or
    one layer per size of a list (``layers`` then left at 1 or equal to its length)."""
    if isinstance(n_hidden, (int, np.integer)):
        if int(layers) < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        sizes = [int(n_hidden)] * int(layers)
    else:
        sizes = [int(h) for h in n_hidden]
        if int(layers) not in (1, len(sizes)):
            raise ValueError(f"{len(sizes)} hidden sizes {sizes} but layers={layers}")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"hidden sizes must be positive, got {sizes}")
    return sizes


def sequence_model(
    n_in: int,
    n_hidden: int | Sequence[int],
    n_out: int,
    cell: str = "lstm",
    layers: int = 1,
    return_sequences: bool = True,
    seed: int = 0,
    dropout: float = 0.0,
    embed: int | None = None,
) -> Sequential:
    """Stacked recurrent layers (:func:`hidden_sizes`: ``n_hidden`` = 256 with ``layers`` = 2,
    or ``[256, 256]``), each but the last handing its every step to the next through
    ``Dropout(dropout)`` when ``dropout`` > 0 (Zaremba et al. 2014: dropout between layers,
    never on the recurrent connections), and a Dense head (per step, or on the last state).
    ``embed``: the inputs are ids 0 … n_in−1, looked up in an ``Embedding(n_in, embed)``
    (else they are vectors of n_in features, e.g. one-hot)."""
    sizes = hidden_sizes(n_hidden, layers)
    rng = np.random.default_rng(seed)
    stack: list[Any] = []
    size = n_in
    if embed:
        stack.append(Embedding(n_in, int(embed), rng=rng))
        size = int(embed)
    for k, h in enumerate(sizes):
        last = k == len(sizes) - 1
        if k and dropout:
            stack.append(Dropout(dropout, rng=rng))
        stack.append(
            Recurrent(
                make_cell(cell, size, h, rng=rng), return_sequences=return_sequences or not last
            )
        )
        size = h
    head = Dense(size, n_out, rng=rng)
    stack.append(TimeDistributed(head) if return_sequences else head)
    return Sequential(*stack)


def training_rule(optimizer: Any, lr: float, clip_norm: float | None) -> UpdateRule:
    """``optimizer`` (default Adam(lr)), with the gradient clipped to ``clip_norm`` first."""
    from bprop.optim.adaptive import Adam
    from bprop.optim.transforms import ClipByGlobalNorm

    rule = optimizer if optimizer is not None else Adam(lr)
    return Chain(ClipByGlobalNorm(clip_norm), rule) if clip_norm else rule


def cell_words(cell: Any) -> str:
    """A cell as the papers name it: ``"lstm"`` → ``"LSTM"``, ``"elman"`` → ``"Elman"``."""
    return {"lstm": "LSTM", "gru": "GRU", "elman": "Elman"}.get(str(cell).lower(), str(cell))
