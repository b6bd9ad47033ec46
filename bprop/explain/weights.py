"""The weight table of ``bprop explain``: per weight its gradient, the update rule's state
(momentum/Nesterov velocity, Adam's moments, RMSprop/AdaGrad accumulators, Quickprop's previous
slope and step, Rprop's step sizes and sign changes) and, with ``arithmetic``, the update
written out with the numbers substituted.

The written-out update uses the very numbers the rule's state holds before and after the step,
and its result is the change the rule made (tests evaluate the written expressions and compare
them with that change).

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.explain.weights import update_arithmetic
    >>> rule = bp.SGD(0.5, momentum=0.9)
    >>> update_arithmetic(rule, 0.2, {"velocity": np.array([0.1])},
    ...                   {"velocity": np.array([-0.01])}, 0, -0.01, ".6g")
    'Δw = −η·g + μ·Δw(t−1) = −0.5×0.2 + 0.9×0.1 = -0.01'
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from bprop.explain.trace import Section

#: what each array of a rule's state is called in the tables
STATE_NAMES = {
    "velocity": "velocity Δw(t−1)→Δw(t)",
    "m": "m (1st moment)",
    "v": "v (2nd moment)",
    "mean_sq": "r (mean g²)",
    "sum_sq": "G (Σ g²)",
    "prev_slope": "previous slope",
    "prev_step": "previous step",
    "step_size": "step Δ",
    "prev_sign": "sign g(t−1)",
}


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of an update rule's state, so the trace can show it before and after."""
    return copy.deepcopy(state)


def state_arrays(state: dict[str, Any], size: int) -> list[str]:
    """The keys of the per-weight arrays of a rule's state (not Rprop's, shown apart)."""
    return [
        k for k, v in state.items() if k in STATE_NAMES and hasattr(v, "shape") and v.size == size
    ]


def _n(v: float, spec: str) -> str:
    s = format(float(v), spec)
    return s.replace("-", "−") if not s.startswith("-") else "(" + s.replace("-", "−") + ")"


def update_arithmetic(
    rule: Any, g: float, before: dict, after: dict, flat: int, dw: float, spec: str
) -> str:
    """Δw of one weight written out with its numbers, as the rule computes it."""
    from bprop.optim.adaptive import AdaGrad, Adam, RMSprop
    from bprop.optim.quickprop import Quickprop
    from bprop.optim.rprop import Rprop
    from bprop.optim.sgd import SGD

    def n(v: float) -> str:
        return _n(v, spec)

    res = format(float(dw), spec)
    if isinstance(rule, SGD) and not rule.momentum:
        return f"Δw = −η·g = −{n(rule.lr)}×{n(g)} = {res}"
    if isinstance(rule, SGD) and not rule.nesterov:
        v0 = before["velocity"][flat]
        return f"Δw = −η·g + μ·Δw(t−1) = −{n(rule.lr)}×{n(g)} + {n(rule.momentum)}×{n(v0)} = {res}"
    if isinstance(rule, SGD):
        v0, v1 = before["velocity"][flat], after["velocity"][flat]
        mu, lr = n(rule.momentum), n(rule.lr)
        return (
            f"v = μ·v(t−1) − η·g = {mu}×{n(v0)} − {lr}×{n(g)} = {format(float(v1), spec)}; "
            f"Δw = μ·v − η·g = {mu}×{n(v1)} − {lr}×{n(g)} = {res}"
        )
    if isinstance(rule, Adam):
        t = after["t"]
        m0, v0 = before["m"][flat], before["v"][flat]
        m1, v1 = after["m"][flat], after["v"][flat]
        b1, b2 = rule.beta1, rule.beta2
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        return (
            f"m = β₁·m + (1−β₁)·g = {n(b1)}×{n(m0)} + {n(1 - b1)}×{n(g)} = {format(m1, spec)}; "
            f"v = β₂·v + (1−β₂)·g² = {n(b2)}×{n(v0)} + {n(1 - b2)}×{n(g)}² = {format(v1, spec)}; "
            f"Δw = −η·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) = −{n(rule.lr)}×({n(m1)}/{n(bc1)}) / "
            f"(√({n(v1)}/{n(bc2)}) + {rule.eps:g}) = {res}"
        )
    if isinstance(rule, RMSprop):
        r0, r1 = before["mean_sq"][flat], after["mean_sq"][flat]
        return (
            f"r = ρ·r + (1−ρ)·g² = {n(rule.rho)}×{n(r0)} + {n(1 - rule.rho)}×{n(g)}² = "
            f"{format(r1, spec)}; Δw = −η·g / (√r + ε) = −{n(rule.lr)}×{n(g)} / (√({n(r1)}) + "
            f"{rule.eps:g}) = {res}"
        )
    if isinstance(rule, AdaGrad):
        G0, G1 = before["sum_sq"][flat], after["sum_sq"][flat]
        return (
            f"G = G + g² = {n(G0)} + {n(g)}² = {format(G1, spec)}; Δw = −η·g / (√G + ε) = "
            f"−{n(rule.lr)}×{n(g)} / (√({n(G1)}) + {rule.eps:g}) = {res}"
        )
    if isinstance(rule, Rprop):
        step = after["step_size"][flat]
        if dw != 0 and math.isclose(abs(dw), step, rel_tol=1e-9):
            return f"Δw = −sign(g)·Δ = −({'+1' if g > 0 else '−1'})×{n(step)} = {res}"
        if dw != 0:
            return f"Δw = −Δw(t−1) (sign changed: the previous step is taken back) = {res}"
        return f"Δw = 0 (g = 0 or the sign changed: this step only shrinks Δ) = {res}"
    if isinstance(rule, Quickprop) and not rule.decay:
        return _quickprop(rule, g, before["prev_slope"][flat], before["prev_step"][flat], res, n)
    return f"Δw = {res} (by {type(rule).__name__}; its state is shown in the table)"


def _quickprop(rule: Any, s: float, p: float, d: float, res: str, n: Any) -> str:
    """Fahlman's step for one weight, in the branch the rule took (see
    :mod:`bprop.optim.quickprop`): S = ∂E/∂w now, S(t−1) and Δw(t−1) before."""
    if s == 0:
        return f"Δw = 0 (S = 0: a stationary point) = {res}"
    grad = f" − {n(rule.lr)}×{n(s)}" if d * s <= 0 else ""
    grad_sym = " − ε·S" if d * s <= 0 else ""
    if d == 0:
        return f"Δw = −ε·S = −{n(rule.lr)}×{n(s)} = {res}"
    if d * (s - rule.mu / (1 + rule.mu) * p) <= 0 or p == s:
        return f"Δw = μ·Δw(t−1){grad_sym} = {n(rule.mu)}×{n(d)}{grad} = {res}"
    return f"Δw = S/(S(t−1) − S)·Δw(t−1){grad_sym} = {n(s)}/({n(p)} − {n(s)})×{n(d)}{grad} = {res}"


def state_cells(keys: list[str], after: dict, flat: int) -> list[Any]:
    """The rule-state values of weight ``flat`` (one per key of ``keys``), for its table row."""
    return [after[k][flat] for k in keys]


def weight_section(
    net: Any, rule: Any, state: dict, loss: float, arithmetic: bool = False, spec: str = ".6g"
) -> tuple[list[Section], dict]:
    """Apply one update of ``rule`` to ``net`` (its gradient already in ``net.space.grads``)
    and return the table of every trainable weight (and the new state): value before, ∂L/∂w,
    the rule's state after the step, Δw and the value after; with ``arithmetic`` a second
    table writes each change out with its numbers."""
    space = net.space
    grads = space.grads.copy()
    before = copy_state(state)
    w0 = space.params.copy()
    updates, state = rule.update(space.grads, state, space.params, loss)
    space.params += updates
    keys = state_arrays(state, space.params.size)
    rows, arith = [], []
    for slot in space.slots:
        for k, idx in enumerate(np.ndindex(*slot.shape)):
            flat = slot.offset + k
            name = param_name(slot.layer, slot.name, idx)
            dw = float(space.params[flat] - w0[flat])
            cells = state_cells(keys, state, flat)
            rows.append([name, w0[flat], grads[flat], *cells, dw, space.params[flat]])
            if arithmetic:
                line = update_arithmetic(rule, grads[flat], before, state, flat, dw, spec)
                arith.append([name, line])
    heads = ["weight", "before", "∂L/∂w", *(STATE_NAMES[k] for k in keys), "change Δw", "after"]
    out = [Section("Gradients and weight changes", heads, rows)]
    if arithmetic:
        out.append(Section("The arithmetic, numbers substituted", ["weight", "update"], arith))
    return out, state


def param_name(layer: Any, name: str, idx: tuple[int, ...]) -> str:
    """``W_ih[f2,1]`` (gate f, unit 2, input 1) for cells, ``V[1,2]`` for the readout."""
    from bprop.explain.recurrent import GATES

    cell = getattr(layer, "cell", getattr(layer, "layer", layer))
    kind = type(cell).__name__.lower()
    if kind in GATES and name != "W" and getattr(cell, "n_hidden", None):
        H, gates = cell.n_hidden, GATES[kind]
        row = idx[0]
        unit = f"{gates[row // H]}{row % H + 1}"
        return f"{name}[{unit}" + (f",{idx[1] + 1}]" if len(idx) > 1 else "]")
    if kind == "dense":  # a readout: its (n_in, n_out) W[i, j] connects h_i to y_j
        name = {"W": "V", "b": "c"}.get(name, name)
    return f"{name}[" + ",".join(str(i + 1) for i in idx) + "]"


def feedforward_weight_section(
    c: Any, rule: Any, before: dict, after: dict, biases_before: list, space: Any
) -> Section:
    """The weight table of a feedforward step (textbook names, connections, Rprop's step
    sizes and sign changes, other rules' state arrays)."""
    from bprop.optim.rprop import Rprop

    rprop, names, deltas = isinstance(rule, Rprop), c.names, c.r["deltas"]
    offsets = {(s.layer, s.name): s for s in space.slots}
    keys = [] if rprop else state_arrays(after, space.params.size)  # Rprop's are shown apart

    def state_of(slot: Any, index: tuple) -> list[Any]:
        if slot is None:
            return ["" for _ in keys]
        flat = slot.offset + int(np.ravel_multi_index(index, slot.shape))
        return [after[k][flat] for k in keys]

    rows = []
    for li in range(len(c.dense) - 1, -1, -1):
        d = c.dense[li]
        g = c.r["weight_gradients"][li]
        w0, w1 = c.r["weights_before"][li], c.r["weights_after"][li]
        slot = offsets.get((d, "W"))
        for j in range(d.n_out):
            for i in range(d.n_in):
                row = [names.weight(li, i, j), f"{names.source(li, i)}→{names.unit(li, j)}"]
                row += [w0[i, j], g[i, j], w1[i, j] - w0[i, j], w1[i, j]]
                if rprop:
                    row += _rprop_cells(before, after, slot, (i, j), g[i, j])
                row += state_of(slot, (i, j))
                rows.append(row)
        if d.bias and "b" not in d.frozen:
            slot_b, gb, b0, b1 = (
                offsets.get((d, "b")),
                deltas[li].sum(axis=0),
                biases_before[li],
                d.params["b"],
            )
            for j in range(d.n_out):
                u = names.unit(li, j)
                row = [f"b[{u}]", f"bias→{u}", b0[j], gb[j], b1[j] - b0[j], b1[j]]
                if rprop:
                    row += _rprop_cells(before, after, slot_b, (j,), gb[j])
                row += state_of(slot_b, (j,))
                rows.append(row)
    heads = ["weight", "connection", "before", "∂E/∂w", "change Δw", "after"]
    notes = []
    if rprop:
        heads += ["sign g(t−1)", "p", "step Δ before", "step Δ after"]
        notes.append(
            "p = sign(g(t−1)·g(t)): + same sign (Δ grows by η⁺), − sign changed (Δ shrinks "
            "by η⁻; the gradient is forgotten"
            + (", the previous change reverted" if rule.variant == "rprop+" else "")
            + (", reverted only if E rose" if rule.variant == "irprop+" else "")
            + "), 0 first step or after a forgotten gradient (Δ kept)."
        )
    heads += [f"{STATE_NAMES[k]} after" for k in keys]
    return Section("Gradients and weight changes", heads, rows, notes)


def _rprop_cells(before: dict, after: dict, slot: Any, index: tuple, g: float) -> list[Any]:
    """Sign of g(t−1), p, Δ before and after for one parameter element."""
    if slot is None:
        return ["", "", "", ""]
    flat = slot.offset + int(np.ravel_multi_index(index, slot.shape))
    prev = float(before["prev_sign"][flat])
    symbol = {1.0: "+", -1.0: "−", 0.0: "0"}
    p = float(np.sign(prev * np.sign(g)))
    return [
        symbol[float(np.sign(prev))],
        symbol[p],
        before["step_size"][flat],
        after["step_size"][flat],
    ]
