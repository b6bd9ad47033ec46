"""The tour's last part: vanishing gradients, per layer and through time."""

from __future__ import annotations

from typing import Any

import numpy as np

import bprop as bp
from bprop.demo.common import say


def section_diagnostics(rep: Any) -> None:
    """The demo's section 7: per-layer gradient norms of a deep sigmoid net and of a ReLU net,
    and ‖∂L/∂h_t‖ through time for an Elman network and an LSTM, into the report ``rep``."""
    from sklearn.datasets import load_digits

    from bprop.diagnostics import GradientDiagnostics, measure
    from bprop.recurrent import LSTM, Elman, Recurrent
    from bprop.report import add_diagnostics
    from bprop.report.plots import time_norm_figure

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rep.heading("7. Gradient diagnostics: vanishing gradients")
    rep.paragraph(
        "Ten Dense layers of 32 units on the digits (mini-batch SGD, η = 0.05, 5 epochs); the "
        "gradient norm of every layer is measured after each epoch on 256 fixed training "
        "examples. With sigmoid units (f′ ≤ ¼) the error signal shrinks at every layer on its "
        "way down; with ReLU units and He initialisation it does not."
    )
    for title, act, init in (
        ("10-layer sigmoid network (Glorot initialisation)", "sigmoid", None),
        ("10-layer ReLU network (He initialisation)", "relu", "he"),
    ):
        net = bp.mlp([64] + [32] * 9 + [10], activation=act, init=init, seed=0)
        diag = GradientDiagnostics(X[:256], y[:256], warn=False)
        bp.fit(net, X, y, optimizer=bp.SGD(0.05), batch_size=32, epochs=5, callbacks=[diag],
               verbose=0)  # fmt: skip
        add_diagnostics(rep, diag, title)
        g = diag.grad_norms
        say(
            f"  {title}: ‖∂L/∂θ‖ first layer / last layer = "
            f"{g['Dense 1'][-1] / g['Dense 10'][-1]:.2g}"
        )
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(64, 60, 1))
    ys = Xs[:, 0, :]  # the target is the very first input: the longest dependency
    series = {}
    for cell in (Elman(1, 16, rng=0), LSTM(1, 16, rng=0)):
        net = bp.Sequential(Recurrent(cell, return_sequences=False), bp.Dense(16, 1, rng=1))
        m = measure(net, Xs, ys, bp.MeanSquaredError())
        name = f"{type(cell).__name__} (16 units)"
        series[name] = next(iter(m["time_norms"].values()))
        say(f"  {name}: ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {series[name][0] / series[name][-1]:.2g}")
    rep.heading("Through time: ‖∂L/∂h_t‖", level=3)
    rep.paragraph(
        "A sequence-to-one network reads 60 random inputs and is scored at the last step only; "
        "the figure shows how much of the error gradient reaches each earlier hidden state, at "
        "initialisation. The gradient reaching step 1 is what learning a dependency that long "
        "requires; the LSTM's cell state (with its forget gate) carries it further than the "
        "Elman network's repeated multiplication by W_hh and tanh′."
    )
    rep.figure(time_norm_figure(series), "‖∂L/∂h_t‖ against t (log scale).")
