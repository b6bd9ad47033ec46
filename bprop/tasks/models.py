"""What the sequence tasks share: a recurrent model by name and the default update rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.layers.dense import Dense
from bprop.layers.sequential import Sequential
from bprop.optim.base import Chain, UpdateRule
from bprop.recurrent import make_cell
from bprop.recurrent.unroll import Recurrent, TimeDistributed


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


def training_rule(optimizer: Any, lr: float, clip_norm: float | None) -> UpdateRule:
    """``optimizer`` (default Adam(lr)), with the gradient clipped to ``clip_norm`` first."""
    from bprop.optim.adaptive import Adam
    from bprop.optim.transforms import ClipByGlobalNorm

    rule = optimizer if optimizer is not None else Adam(lr)
    return Chain(ClipByGlobalNorm(clip_norm), rule) if clip_norm else rule


def cell_words(cell: Any) -> str:
    """A cell as the papers name it: ``"lstm"`` → ``"LSTM"``, ``"elman"`` → ``"Elman"``."""
    return {"lstm": "LSTM", "gru": "GRU", "elman": "Elman"}.get(str(cell).lower(), str(cell))
