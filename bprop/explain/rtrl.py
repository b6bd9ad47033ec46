"""Gathering what ``bprop explain --algorithm rtrl`` shows: real-time recurrent learning
(Williams & Zipser 1989) on a tiny Elman net, step by step.

RTRL carries the sensitivities P_t = ∂h_t/∂θ (H × |θ|, θ the cell's W_ih, W_hh and b) forward
in time with the network::

    P_t = D_t (∂⁺h_t/∂θ + W_hh P_{t−1}),   D_t = diag f′(a_t),   P_0 = 0

(∂⁺ the step's direct dependence: x_t in row k of W_ih, h_{t−1} in row k of W_hh, 1 in b_k),
so the gradient of the step's loss is available at once, ∂ℓ_t/∂θ = e_t P_t with
e_t = ∂ℓ_t/∂h_t — no unrolling. Per step the trace shows h_t, y_t, ℓ_t, e_t, the matrix P_t
and e_t P_t; with ``realtime=True`` (default) the weights are updated after every step, as in
real-time learning, else they stay frozen and Σ_t e_t P_t is the full-BPTT gradient.

The numbers are :class:`bprop.recurrent.RTRL`'s own (its ``P`` after each step); the tests
check P_t against finite differences of h_t and Σ_t e_t P_t against BPTT.

Example::

    >>> from bprop.explain.rtrl import gather_rtrl
    >>> ex = gather_rtrl(T=2, realtime=False)
    >>> [s.title for s in ex.steps[0]][:2]
    ['Step t = 1', 'Sensitivities P_1 = ∂h_1/∂θ']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.explain.recurrent import _prepare, recurrent_diagram
from bprop.explain.trace import ExplainError, Explanation, Section
from bprop.explain.weights import param_name, weight_section


def theta_names(cell: Any) -> list[str]:
    """The names of θ's entries in RTRL's order (W_ih, W_hh, b, each row-major)."""
    return [
        param_name(cell, k, idx)
        for k in ("W_ih", "W_hh", "b")
        for idx in np.ndindex(*cell.params[k].shape)
    ]


def gather_rtrl(
    T: int = 3,
    method: str = "sgd",
    lr: float | None = 0.1,
    network: Any = None,
    inputs: Any = None,
    targets: Any = None,
    seed: int = 0,
    loss: Any = None,
    realtime: bool = True,
    arithmetic: bool = False,
    **hyper: Any,
) -> Explanation:
    """Trace RTRL over one sequence of the echo task (see
    :func:`bprop.explain.recurrent.echo_task`), on an Elman net (``network``: an
    ``Sequential(Recurrent(Elman), readout)`` to use instead)."""
    from bprop.optim.methods import make_rule
    from bprop.recurrent.rtrl import RTRL

    net, kind, X, Y, loss_fn = _prepare("elman", network, T, inputs, targets, seed, loss)
    if kind != "elman":
        raise ExplainError(f"RTRL is implemented for the Elman cell, not {kind.upper()}")
    rtrl = RTRL(net, loss_fn)
    rule = make_rule(method, lr=lr, **hyper)
    state = rule.init(net.space.params)
    cell = rtrl.cell
    names = theta_names(cell)
    rtrl.reset(1)
    steps, total = [], np.zeros(rtrl.n_theta)
    for t in range(X.shape[1]):
        if realtime or t == 0:
            net.space.zero_grad()
        before = {k: cell.grads[k].copy() for k in ("W_ih", "W_hh", "b")}
        y, value = rtrl.step(X[:, t], Y[:, t])
        gP = np.concatenate([(cell.grads[k] - before[k]).ravel() for k in ("W_ih", "W_hh", "b")])
        total += gP
        P = rtrl.P[0]
        head = Section(
            f"Step t = {t + 1}",
            ["x_t", *(f"h{j + 1}" for j in range(cell.n_hidden)), "y_t", "target", "loss ℓ_t"],
            [
                [
                    *np.ravel(X[0, t]),
                    *np.ravel(rtrl.h[0]),
                    *np.ravel(y[0]),
                    ", ".join(f"{v:g}" for v in np.ravel(Y[0, t])),
                    value,
                ]
            ],
        )
        sens = Section(
            f"Sensitivities P_{t + 1} = ∂h_{t + 1}/∂θ",
            ["unit", *names],
            [[f"h{j + 1}", *P[j]] for j in range(cell.n_hidden)],
            ["P_t = D_t (∂⁺h_t/∂θ + W_hh P_{t−1}), D_t = diag f′(a_t)."],
        )
        grad = Section(
            "This step's gradient e_t P_t" + ("" if realtime else " and the running sum"),
            ["", *names],
            [["e_t P_t", *gP]] + ([] if realtime else [["Σ e P", *total]]),
        )
        sections = [head, sens, grad]
        if realtime or t == X.shape[1] - 1:
            wsecs, state = weight_section(net, rule, state, value, arithmetic)
            sections += wsecs
        steps.append(sections)
    when = "after every step (real-time learning)" if realtime else "once, after the sequence"
    summary = (
        f"Elman cell, {cell.n_hidden} hidden units, linear readout; one sequence of "
        f"{X.shape[1]} steps; RTRL with |θ| = {rtrl.n_theta} cell weights; update rule {rule!r} "
        f"applied {when}; loss {type(loss_fn).__name__}."
    )
    title = "Real-time recurrent learning, step by step"
    return Explanation(title, summary, steps, "Time step", recurrent_diagram(net, "elman"))
