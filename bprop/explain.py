"""``bprop explain``: a step-by-step trace of training a small network, for teaching.

For every training step it prints every value static backpropagation computes, in tables:

1. **forward pass** — per layer, each unit's net input z_j = Σ_i w_ij a_i + b_j and its
   activation a_j = f(z_j);
2. **error** — per output, E_k = ½ (t_k − o_k)² and E_total = Σ_k E_k (squared error, the
   textbook convention, summed over outputs and examples);
3. **deltas** — the output deltas δ_k = ∂E/∂z_k = (o_k − t_k) f′(z_k) and, layer by layer
   backwards, the hidden deltas δ_j = (Σ_k w_jk δ_k) f′(z_j);
4. **weights** — per weight, its value, the gradient ∂E/∂w_ij = a_i δ_j, the weight change Δw
   the update rule makes and the new value (biases likewise, ∂E/∂b_j = δ_j, when trained).

With a resilient-backpropagation rule (``method="rprop+"``, ``"rprop-"``, ``"irprop+"``,
``"irprop-"``) the weight table also shows, per weight, the sign of the previous gradient,
whether the sign changed (p = sign(g(t−1)·g(t)): ``+`` same sign, ``−`` changed, ``0`` first
step or forgotten), and the step size Δ before and after the step — read from the rule's state.

The values come from bprop's own layers, loss and update rules (via
:func:`bprop.textbook.trace`), not from a separate re-implementation. The default network is
the textbook 2-2-2 example (Mazur 2015; inputs 0.05/0.10, targets 0.01/0.99, learning rate
0.5, biases fixed), whose weights are named w1 … w8 as published.

Example::

    >>> from bprop.explain import explain
    >>> text = explain(fmt="md")
    >>> "0.593269992" in text and "0.358916480" in text   # out_h1 and the new w5
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

#: the largest network ``explain`` traces: units per layer and weights in all
MAX_UNITS = 12
MAX_WEIGHTS = 400


class ExplainError(ValueError):
    """The network or the input cannot be traced (too big, unsupported layers, bad sizes)."""


def _check_network(net: Any) -> tuple[list[Any], list[Any]]:
    """The Dense layers and activations of a Dense/activation stack, or ExplainError."""
    import bprop as bp
    from bprop.layers.activations import Activation

    if not isinstance(net, bp.Sequential):
        raise ExplainError(f"explain traces a bp.Sequential, got {type(net).__name__}")
    dense, acts = [], []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, bp.Dense):
            dense.append(layer)
        elif isinstance(layer, Activation):
            acts.append(layer)
        else:
            raise ExplainError(
                f"explain traces stacks of Dense layers and element-wise activations; layer {i} "
                f"is a {type(layer).__name__}"
            )
    if not dense:
        raise ExplainError("the network has no Dense layer")
    for d in dense:
        if d.n_in > MAX_UNITS or d.n_out > MAX_UNITS:
            raise ExplainError(
                f"Dense({d.n_in}, {d.n_out}) is too large to show on a screen: explain traces "
                f"networks of at most {MAX_UNITS} units per layer"
            )
    n = sum(d.n_in * d.n_out for d in dense)
    if n > MAX_WEIGHTS:
        raise ExplainError(f"{n} weights is too many to show (at most {MAX_WEIGHTS})")
    return dense, acts


def _parse_vector(v: Any, size: int, name: str) -> np.ndarray:
    if isinstance(v, str):
        try:
            v = [float(s) for s in v.replace(";", ",").split(",") if s.strip()]
        except ValueError as err:
            raise ExplainError(f"--{name} takes comma-separated numbers, got {v!r}") from err
    arr = np.asarray(v, np.float64).reshape(1, -1) if np.ndim(v) <= 1 else np.asarray(v, float)
    if arr.shape[1] != size:
        raise ExplainError(f"the {name} has {arr.shape[1]} values; the network needs {size}")
    return arr


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str) -> str:
    if fmt == "md":
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def _heading(text: str, level: int, fmt: str) -> str:
    if fmt == "md":
        return "#" * level + " " + text
    return text + "\n" + ("=" if level <= 2 else "-") * len(text)


def _is_rprop(rule: Any) -> bool:
    from bprop.optim.rprop import Rprop

    return isinstance(rule, Rprop)


def explain(
    network: Any = None,
    method: str = "sgd",
    steps: int = 1,
    fmt: str = "text",
    lr: float | None = None,
    inputs: Any = None,
    targets: Any = None,
    digits: int = 9,
    **hyper: Any,
) -> str:
    """A step-by-step trace of ``steps`` training steps, as text (``fmt="text"``) or Markdown
    (``fmt="md"``).

    Args:
        network: ``None`` for the textbook 2-2-2 example, a path to a model saved with
            ``bp.save`` or a ``bp.Sequential`` of Dense layers and activations (at most
            :data:`MAX_UNITS` units per layer); it is traced in float64 on a copy.
        method: update-rule name (see :data:`bprop.optim.methods.METHODS`); Rprop variants
            also show step sizes and sign changes.
        lr: learning rate (default: 0.5 for the textbook example, else the rule's default).
        inputs, targets: one example (or a few, one per row) as numbers or a comma-separated
            string; required for a user's network, default 0.05,0.10 → 0.01,0.99 otherwise.
        digits: decimals shown.
        hyper: other hyper-parameters for :func:`bprop.optim.methods.make_rule`.
    """
    import bprop as bp
    from bprop import textbook
    from bprop.optim.methods import make_rule

    if fmt not in ("text", "md"):
        raise ExplainError(f"format must be 'text' or 'md', got {fmt!r}")
    if int(steps) < 1:
        raise ExplainError(f"steps must be at least 1, got {steps}")
    textbook_net = network is None
    if textbook_net:
        net = textbook.network()
        source = "the textbook 2-2-2 example (Mazur 2015)"
    else:
        if isinstance(network, (str, os.PathLike)):
            source = f"the network in {os.fspath(network)}"
            with bp.backend.default_dtype("float64"):
                net = bp.load(network)
        else:
            source = "the given network"
            net = network
        net.astype(np.float64)
    dense, acts = _check_network(net)
    if textbook_net:
        x = textbook.INPUTS if inputs is None else _parse_vector(inputs, 2, "input")
        t = textbook.TARGETS if targets is None else _parse_vector(targets, 2, "target")
    else:
        if inputs is None or targets is None:
            raise ExplainError("a user's network needs --input and --target values")
        x = _parse_vector(inputs, dense[0].n_in, "input")
        t = _parse_vector(targets, dense[-1].n_out, "target")
    if x.shape[0] != t.shape[0]:
        raise ExplainError(f"{x.shape[0]} input rows but {t.shape[0]} target rows")
    if lr is None and textbook_net:
        lr = textbook.LEARNING_RATE
    rule = make_rule(method, lr=lr, **hyper)
    rprop = _is_rprop(rule)
    space = net.space
    state = rule.init(space.params)
    f = f".{int(digits)}f"

    def num(v: float) -> str:
        return format(float(v), f)

    def wname(li: int, i: int, j: int) -> str:
        if textbook_net:  # the published numbering: w1..w4 into h1, h2; w5..w8 into o1, o2
            return f"w{4 * li + 2 * j + i + 1}"
        return f"w{li + 1}[{i + 1}→{j + 1}]"

    def unit(li: int, j: int) -> str:
        if li == len(dense) - 1:
            return f"o{j + 1}"
        return f"h{j + 1}" if len(dense) == 2 else f"h{li + 1}.{j + 1}"

    def src(li: int, i: int) -> str:
        return f"i{i + 1}" if li == 0 else unit(li - 1, i)

    out = [
        _heading(f"Backpropagation, step by step: {source}", 1, fmt),
        "",
        f"Update rule: {rule!r} ({method}); {steps} step(s); loss E = ½ Σ (t − o)² over outputs"
        + (" and examples" if x.shape[0] > 1 else "")
        + ". Layers: "
        + " → ".join(
            [str(dense[0].n_in)]
            + [
                f"{d.n_out} {a.name if i < len(acts) else 'linear'}"
                for i, (d, a) in enumerate(zip(dense, [*acts, None], strict=False))
            ]
        )
        + ".",
        "",
    ]
    offsets = {(s.layer, s.name): s for s in space.slots}
    for step in range(1, int(steps) + 1):
        before_state = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in state.items()}
        biases_before = [d.params["b"].copy() if d.bias else None for d in dense]
        r = textbook.trace(net, x, t, lr=lr or 0.0, rule=rule, state=state)
        state = r["state"]
        out += [_heading(f"Step {step}", 2, fmt), ""]
        # --- forward
        out += [_heading("Forward pass", 3, fmt), ""]
        rows = []
        for li, d in enumerate(dense):
            z = r["net_inputs"][li]
            a = r["activations"][li] if li < len(r["activations"]) else z
            for n in range(x.shape[0]):
                for j in range(d.n_out):
                    ex = [str(n + 1)] if x.shape[0] > 1 else []
                    rows.append([*ex, unit(li, j), num(z[n, j]), num(a[n, j])])
        heads = (["example"] if x.shape[0] > 1 else []) + [
            "unit",
            "net input z = Σ w·a + b",
            "activation a = f(z)",
        ]
        out += [_table(heads, rows, fmt), ""]
        # --- error
        out += [_heading("Error", 3, fmt), ""]
        o = r["outputs"]
        rows = []
        for n in range(x.shape[0]):
            for k in range(o.shape[1]):
                ex = [str(n + 1)] if x.shape[0] > 1 else []
                rows.append(
                    [
                        *ex,
                        unit(len(dense) - 1, k),
                        num(t[n, k]),
                        num(o[n, k]),
                        num(r["errors"][n, k]),
                    ]
                )
        heads = (["example"] if x.shape[0] > 1 else []) + [
            "output",
            "target t",
            "output o",
            "error ½(t − o)²",
        ]
        out += [_table(heads, rows, fmt), "", f"E_total = {num(r['total_error'])}", ""]
        # --- deltas
        out += [_heading("Deltas (backward pass)", 3, fmt), ""]
        rows = []
        deltas = r["deltas"]
        if len(deltas) < len(dense):  # a linear output: δ = ∂E/∂o
            deltas = [*deltas, o - t]
        for li in range(len(dense) - 1, -1, -1):
            kind = (
                "output δ = (o − t)·f′(z)" if li == len(dense) - 1 else "hidden δ = (Σ w δ)·f′(z)"
            )
            for n in range(x.shape[0]):
                for j in range(dense[li].n_out):
                    ex = [str(n + 1)] if x.shape[0] > 1 else []
                    rows.append([*ex, unit(li, j), kind, num(deltas[li][n, j])])
        heads = (["example"] if x.shape[0] > 1 else []) + ["unit", "delta", "δ = ∂E/∂z"]
        out += [_table(heads, rows, fmt), ""]
        # --- weights
        out += [_heading("Gradients and weight changes", 3, fmt), ""]
        rows = []
        for li in range(len(dense) - 1, -1, -1):
            d = dense[li]
            g = r["weight_gradients"][li]
            w0, w1 = r["weights_before"][li], r["weights_after"][li]
            slot = offsets.get((d, "W"))
            for j in range(d.n_out):
                for i in range(d.n_in):
                    row = [
                        wname(li, i, j),
                        f"{src(li, i)}→{unit(li, j)}",
                        num(w0[i, j]),
                        num(g[i, j]),
                        num(w1[i, j] - w0[i, j]),
                        num(w1[i, j]),
                    ]
                    if rprop:
                        row += _rprop_cells(before_state, state, slot, (i, j), g[i, j], num)
                    rows.append(row)
            if d.bias and "b" not in d.frozen:
                slot_b = offsets.get((d, "b"))
                gb = deltas[li].sum(axis=0)
                b1 = d.params["b"]
                for j in range(d.n_out):
                    row = [
                        f"b[{unit(li, j)}]",
                        f"bias→{unit(li, j)}",
                        num(biases_before[li][j]),
                        num(gb[j]),
                        num(b1[j] - biases_before[li][j]),
                        num(b1[j]),
                    ]
                    if rprop:
                        row += _rprop_cells(before_state, state, slot_b, (j,), gb[j], num)
                    rows.append(row)
        heads = ["weight", "connection", "before", "∂E/∂w", "change Δw", "after"]
        if rprop:
            heads += ["sign g(t−1)", "p", "step Δ before", "step Δ after"]
        out += [_table(heads, rows, fmt), ""]
        if rprop:
            out += [
                "p = sign(g(t−1)·g(t)): + same sign (Δ grows by η⁺), − sign changed (Δ shrinks "
                "by η⁻; the gradient is forgotten"
                + (", the previous change reverted" if rule.variant == "rprop+" else "")
                + (", reverted only if E rose" if rule.variant == "irprop+" else "")
                + "), 0 first step or after a forgotten gradient (Δ kept).",
                "",
            ]
        frozen = [f"layer {li + 1}" for li, d in enumerate(dense) if d.bias and "b" in d.frozen]
        if frozen and step == 1:
            out += [f"Biases of {', '.join(frozen)} are fixed (not trained).", ""]
    return "\n".join(out).rstrip() + "\n"


def _rprop_cells(before: dict, after: dict, slot: Any, index: tuple, g: float, num) -> list[str]:
    """Sign of g(t−1), p, Δ before and after for one parameter element."""
    if slot is None:
        return ["", "", "", ""]
    flat = slot.offset + int(np.ravel_multi_index(index, slot.shape))
    prev = float(before["prev_sign"][flat])
    p = np.sign(prev * np.sign(g))
    sym = {1.0: "+", -1.0: "−", 0.0: "0"}[float(p)]
    sign = {1.0: "+", -1.0: "−", 0.0: "0"}[float(np.sign(prev))]
    return [sign, sym, num(before["step_size"][flat]), num(after["step_size"][flat])]
