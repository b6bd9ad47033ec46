"""Vanishing gradients through time, Elman vs LSTM vs GRU on the same task (what ``bprop
diagnose`` runs): the norm ‖∂L/∂h_t‖ of the gradient reaching each time step's state, per
recurrent layer, before training and (optionally) after each epoch of training.

The task is the adding problem (:func:`bprop.data.sequences.adding_problem`): sequence-to-one,
so the loss sits on the last step only and ‖∂L/∂h_t‖ measures how much of it reaches step t.
Every cell gets the same sequences, the same hidden size and the same seed. In an Elman net
the error is multiplied at every step by W_hhᵀ diag f′(a_t), so ‖∂L/∂h_t‖ typically decays
geometrically with T − t; the LSTM's cell state passes it on multiplied only by the forget
gate (≈ 1 with the default forget bias), and the GRU's update gate gives a similar additive
path. The measurement is :func:`bprop.diagnostics.measure` (its ``time_norms``); during
training, :class:`bprop.diagnostics.GradientDiagnostics` records it after every epoch.

Example::

    >>> from bprop.tasks.vanishing import compare_cells
    >>> res = compare_cells(["elman", "lstm"], T=30, hidden=8, n=64)
    >>> first = {r["cell"]: r["ratio_first_last"] for r in res["rows"]}
    >>> first["elman"] < first["lstm"]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CELLS = ("elman", "lstm", "gru")


def _rows(cell: str, epoch: int, norms: dict[str, np.ndarray], loss: float) -> list[dict]:
    out = []
    for layer, s in norms.items():
        s = np.asarray(s, np.float64)
        first, last = float(s[0]), float(s[-1])
        out.append(
            {
                "cell": cell,
                "layer": layer,
                "epoch": epoch,
                "norm_h1": first,
                "norm_hT": last,
                "ratio_first_last": first / last if last > 0 else float("nan"),
                "loss": loss,
            }
        )
    return out


def compare_cells(
    cells: Sequence[str] = CELLS,
    T: int = 50,
    hidden: int = 16,
    layers: int = 1,
    n: int = 256,
    epochs: int = 0,
    lr: float = 5e-3,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """Measure ‖∂L/∂h_t‖ for each cell on the same adding-problem data.

    Returns ``norms`` (cell → layer → (T,) array, at the last measurement), ``history``
    (cell → layer → list over measurements of (T,) arrays; measurement 0 is before training)
    and ``rows`` (per cell, layer and measurement: ‖∂L/∂h_1‖, ‖∂L/∂h_T‖, their ratio and the
    loss on the sample).
    """
    import bprop as bp
    from bprop.data.sequences import adding_problem
    from bprop.diagnostics import GradientDiagnostics, measure
    from bprop.tasks.models import sequence_model

    bad = [c for c in cells if c not in CELLS]
    if bad or not cells:
        raise ValueError(f"cells must be some of {CELLS}, got {list(cells)}")
    if int(T) < 2 or int(hidden) < 1 or int(layers) < 1 or int(n) < 1 or int(epochs) < 0:
        raise ValueError("T ≥ 2, hidden ≥ 1, layers ≥ 1, n ≥ 1 and epochs ≥ 0 are needed")
    X, y = adding_problem(int(n), int(T), rng=seed)
    history: dict[str, dict[str, list[np.ndarray]]] = {}
    rows: list[dict[str, Any]] = []
    for cell in cells:
        net = sequence_model(2, int(hidden), 1, cell, int(layers), False, seed)
        loss = bp.MeanSquaredError()
        m = measure(net, X, y, loss)
        value = float(loss.value(net.predict(X), y))
        history[cell] = {k: [v] for k, v in m["time_norms"].items()}
        rows += _rows(cell, 0, m["time_norms"], value)
        if epochs:
            diag = GradientDiagnostics(X, y, warn=False)
            trainer = bp.Trainer(
                net, loss, bp.optim.Adam(lr), batch_size=batch_size, seed=seed, callbacks=[diag],
                verbose=0,
            )  # fmt: skip
            hist = trainer.fit(X, y, epochs=int(epochs))
            for e, k in enumerate(diag.epochs):
                norms = {layer: diag.time_norms[layer][e] for layer in diag.time_norms}
                for layer, s in norms.items():
                    history[cell][layer].append(s)
                rows += _rows(cell, k, norms, float(hist.train_loss[k - 1]))
    norms = {c: {k: v[-1] for k, v in layers_.items()} for c, layers_ in history.items()}
    return {"norms": norms, "history": history, "rows": rows}
