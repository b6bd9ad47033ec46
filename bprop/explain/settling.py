"""Gathering what ``bprop explain --algorithm almeida-pineda`` shows: recurrent
backpropagation (Almeida 1987; Pineda 1987) on a tiny settling network, iteration by iteration.

The two relaxations of :class:`bprop.recurrent.rbp.SettlingNetwork`:

1. the *forward* relaxation xᵏ⁺¹ = (1 − ρ) xᵏ + ρ f(W xᵏ + U u + b) from x⁰ = 0 to the fixed
   point x* (each row: the iterate and its residual ‖f(·) − x‖);
2. the *adjoint* (error-propagation) relaxation δᵏ⁺¹ = (1 − ρ) δᵏ + ρ D (Wᵀ δᵏ + e) with
   D = diag f′(a*) and e = ∂E/∂x* (nonzero on the output units only), to δ*;

then the gradients ∂E/∂W = δ* x*ᵀ, ∂E/∂U = δ* uᵀ, ∂E/∂b = δ* and the update. The iterates are
the layer's own (recorded with its ``iterates`` list); the tests check the gradient against
finite differences of the loss at the fixed point.

Example::

    >>> from bprop.explain.settling import gather_settling
    >>> ex = gather_settling()
    >>> [s.title for s in ex.steps[0]][:2]
    ['Forward relaxation to the fixed point x*', 'Adjoint relaxation (error propagation) to δ*']
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from bprop.explain.trace import ExplainError, Explanation, Section, _parse_vector
from bprop.explain.weights import weight_section


def tiny_settling(n_units: int = 3, n_in: int = 2, outputs: int = 1, seed: int = 0) -> Any:
    """``Sequential(SettlingNetwork(n_units, n_in, output_units=outputs))`` in float64."""
    import bprop as bp
    from bprop.recurrent.rbp import SettlingNetwork

    with bp.backend.default_dtype("float64"):
        return bp.Sequential(SettlingNetwork(n_units, n_in, output_units=outputs, rng=seed))


def _iter_rows(iterates: list, kind: str) -> list[list[Any]]:
    rows = [(v, r) for k, v, r in iterates if k == kind]
    return [[str(i + 1), *np.ravel(v[0]), r] for i, (v, r) in enumerate(rows)]


def gather_settling(
    network: Any = None,
    inputs: Any = (0.5, -1.0),
    targets: Any = (0.8,),
    method: str = "sgd",
    lr: float | None = 0.5,
    steps: int = 1,
    loss: Any = None,
    seed: int = 0,
    arithmetic: bool = False,
    **hyper: Any,
) -> Explanation:
    """Trace ``steps`` updates of Almeida–Pineda on one example (default: a 3-unit, fully
    connected net with 2 inputs and 1 output unit; ``network`` a ``Sequential`` of one
    :class:`~bprop.recurrent.rbp.SettlingNetwork` to use instead)."""
    from bprop.losses import SquaredError, get_loss
    from bprop.optim.methods import make_rule
    from bprop.recurrent.rbp import SettlingNetwork

    net = tiny_settling(seed=seed) if network is None else copy.deepcopy(network)
    layer = net.layers[0] if getattr(net, "layers", None) else None
    if not isinstance(layer, SettlingNetwork) or len(net.layers) != 1:
        raise ExplainError("explain traces Almeida–Pineda on Sequential(SettlingNetwork(...))")
    net.astype(np.float64)
    u = _parse_vector(inputs, layer.n_in, "input")[:1]
    t = _parse_vector(targets, layer.n_out, "target")[:1]
    loss_fn = SquaredError() if loss is None else get_loss(loss)
    rule = make_rule(method, lr=lr, **hyper)
    state = rule.init(net.space.params)
    n = layer.n_units
    units = [f"x{j + 1}" for j in range(n)]
    out = []
    for _ in range(int(steps)):
        layer.iterates = []
        try:
            net.space.zero_grad()
            y, cache = net.forward(u, train=True)
            value, dy = loss_fn.value_and_grad(y, t)
            net.backward(dy, cache, need_dx=False)
            its = layer.iterates
        finally:
            layer.iterates = None
        outs = ", ".join(units[i] for i in layer.output_index)
        fwd = Section(
            "Forward relaxation to the fixed point x*",
            ["k", *units, "residual"],
            _iter_rows(its, "forward"),
            [f"ρ = {layer.relaxation_rate:g}; output units {outs}; E = {value:.9g}"],
        )
        adj = Section(
            "Adjoint relaxation (error propagation) to δ*",
            ["k", *(f"δ{j + 1}" for j in range(n)), "residual / ‖e‖"],
            _iter_rows(its, "adjoint"),
            [
                "e = ∂E/∂x* = "
                + ", ".join(f"{v:.6g}" for v in np.ravel(dy))
                + " on the output units"
            ],
        )
        wsecs, state = weight_section(net, rule, state, value, arithmetic)
        wsecs[0].notes.insert(0, "∂E/∂W[i,j] = δ*_i x*_j, ∂E/∂U[i,j] = δ*_i u_j, ∂E/∂b_i = δ*_i.")
        out.append([fwd, adj, *wsecs])
    summary = (
        f"A settling network of {n} {layer.activation} units (any connectivity) and "
        f"{layer.n_in} inputs; one example u = {np.ravel(u).tolist()} → target "
        f"{np.ravel(t).tolist()}; loss {type(loss_fn).__name__}; update rule {rule!r}."
    )
    title = "Almeida–Pineda recurrent backpropagation, step by step"
    return Explanation(title, summary, out, "Update", _diagram(layer))


def _diagram(layer: Any) -> Any:
    """Inputs u → units x, every connection W[i, j] (x_j → x_i) drawn as a loop."""
    from bprop.explain.diagram import Diagram

    n, m = layer.n_units, layer.n_in
    W, U = np.asarray(layer.effective_W()), np.asarray(layer.params["U"])
    edges = [
        (0, j, 1, i, f"U[{i + 1},{j + 1}]", float(U[i, j])) for i in range(n) for j in range(m)
    ]
    loops = [
        (1, j, i, f"W[{i + 1},{j + 1}]", float(W[i, j]))
        for i in range(n)
        for j in range(n)
        if W[i, j] != 0
    ]
    return Diagram([[f"u{j + 1}" for j in range(m)], [f"x{i + 1}" for i in range(n)]], edges, loops)
