"""``bprop explain --arithmetic``: every delta, gradient and weight change of a feedforward
trace written out with its numbers substituted, e.g. for the textbook example::

    δ_o1 = (o − t)·f′(z) = (0.751365 − 0.01)×0.186816 = 0.138499
    ∂E/∂w5 = δ_o1·a_h1 = 0.138499×0.59327 = 0.0821670
    w5: Δw = −η·g = −0.5×0.082167 = -0.0410835

The numbers are the traced ones (:func:`bprop.textbook.trace`); f′(z) is the activation
layer's own derivative; the weight change is the update rule's (see
:func:`bprop.explain.weights.update_arithmetic`). Tests evaluate each written expression and
compare it with the value on its right.

Example::

    >>> from bprop.explain import gather
    >>> ex = gather(arithmetic=True)
    >>> ex.steps[0][-1].rows[0][1]
    'δ_o1 = (o − t)·f′(z) = (0.751365 − 0.01)×0.186816 = 0.138499'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.explain.trace import Section
from bprop.explain.weights import _n, update_arithmetic

#: the most terms of a sum written out; longer sums are shown by their value
MAX_TERMS = 6


def derivative(act: Any, z: np.ndarray) -> np.ndarray:
    """f′(z) of an activation layer, from its own forward and backward."""
    y, cache = act.forward(z, train=True)
    return act.backward(np.ones_like(y), cache)


def arithmetic_section(
    c: Any, rule: Any, before: dict, after: dict, biases_before: list, net: Any, spec: str = ".6g"
) -> Section:
    """The written-out arithmetic of one step (see the module docstring)."""
    from bprop.explain.trace import output_delta_text

    def n(v: float) -> str:
        return _n(v, spec)

    def res(v: float) -> str:
        return format(float(v), spec)

    rows: list[list[str]] = []
    deltas, last, r = c.r["deltas"], len(c.dense) - 1, c.r
    N = c.x.shape[0]
    tag = (lambda k: f" (example {k + 1})") if N > 1 else (lambda k: "")
    for li in range(last, -1, -1):
        act = c.acts[li] if li < len(c.acts) else None
        fp = derivative(act, r["net_inputs"][li]) if act is not None else None
        for k in range(N):
            for j in range(c.dense[li].n_out):
                u, d = c.names.unit(li, j), deltas[li][k, j]
                if li == last:
                    text = output_delta_text(c)
                    if c.squared and fp is not None and c.loss.reduction == "sum":
                        o, t = r["outputs"][k, j], c.t[k, j]
                        line = f"δ_{u} = (o − t)·f′(z) = ({n(o)} − {n(t)})×{n(fp[k, j])} = {res(d)}"
                    else:
                        line = f"δ_{u}: {text} = {res(d)}"
                else:
                    W = r["weights_before"][li + 1]
                    terms = [(W[j, m], deltas[li + 1][k, m]) for m in range(W.shape[1])]
                    s = sum(w * dd for w, dd in terms)
                    if len(terms) <= MAX_TERMS:
                        total = " + ".join(f"{n(w)}×{n(dd)}" for w, dd in terms)
                    else:
                        total = res(s)
                    f = n(fp[k, j]) if fp is not None else "1"
                    line = f"δ_{u} = (Σ w·δ)·f′(z) = ({total})×{f} = {res(d)}"
                rows.append([f"δ {u}{tag(k)}", line])
    space = net.space
    offsets = {(s.layer, s.name): s for s in space.slots}
    for li in range(last, -1, -1):
        d, g = c.dense[li], r["weight_gradients"][li]
        a_in = c.x if li == 0 else r["activations"][li - 1]
        w0, w1 = r["weights_before"][li], r["weights_after"][li]
        slot = offsets.get((d, "W"))
        for j in range(d.n_out):
            for i in range(d.n_in):
                w = c.names.weight(li, i, j)
                src, u = c.names.source(li, i), c.names.unit(li, j)
                prods = [(deltas[li][k, j], a_in[k, i]) for k in range(N)]
                sub = " + ".join(f"{n(dd)}×{n(a)}" for dd, a in prods[:MAX_TERMS])
                if N > MAX_TERMS:
                    sub = f"Σ over {N} examples"
                sigma = "Σ " if N > 1 else ""
                line = f"∂E/∂{w} = {sigma}δ_{u}·a_{src} = {sub} = {res(g[i, j])}"
                rows.append([f"∂E/∂{w}", line])
                if slot is not None:
                    flat = slot.offset + int(np.ravel_multi_index((i, j), slot.shape))
                    dw = w1[i, j] - w0[i, j]
                    rows.append(
                        [w, update_arithmetic(rule, g[i, j], before, after, flat, dw, spec)]
                    )
        slot_b = offsets.get((d, "b"))
        if slot_b is not None:
            for j in range(d.n_out):
                u = c.names.unit(li, j)
                gb = deltas[li][:, j].sum()
                dw = float(d.params["b"][j] - biases_before[li][j])
                line = update_arithmetic(rule, gb, before, after, slot_b.offset + j, dw, spec)
                rows.append([f"b[{u}]", f"∂E/∂b = Σ δ_{u} = {res(gb)}; " + line])
    return Section("The arithmetic, numbers substituted", ["quantity", "computation"], rows)
