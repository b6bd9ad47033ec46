"""Gathering what ``bprop explain --cell elman|lstm|gru`` shows: backpropagation through time
on a tiny recurrent net, step by step, as an :class:`~bprop.explain.trace.Explanation`.

The network is ``Recurrent(cell)`` followed by a linear readout y_t = V h_t + c at every
step; the loss is L = Σ_t ℓ_t(y_t, target_t) (default squared error ½ Σ (y − t)², summed).

**Full BPTT** (``algorithm="bptt"``), per training update:

1. *forward through time* — x_t, the state h_t (and c_t for the LSTM), y_t and ℓ_t;
2. *backward through time*, t = T … 1 — the error from the readout e_t = Vᵀ ∂L/∂y_t, the
   error carried back from step t + 1, their sum ∂L/∂h_t and its norm, and the deltas of the
   cell's pre-activations (Elman: δ = f′(a_t) ⊙ ∂L/∂h_t; LSTM: δi, δf, δg, δo; GRU: δr, δz,
   δn — see the cells' docstrings for the formulas);
3. *weights* — every weight's gradient Σ_t (its per-step terms) and its change.

**Truncated BPTT(k1, k2)** (``algorithm="tbptt"``; Williams & Peng 1990): the state runs on
across chunks of k1 steps; each chunk's update backpropagates its own errors k2 steps into the
past (into stored earlier steps when k2 > k1), so each chunk shows its forward steps, which
steps its backward pass reaches and ∂L_m/∂h_t on those, then the update.

Every number is computed by the cells' own reference ``step``/``step_backward`` (the deltas are
read off the bias gradient each step adds), the library's readout layer and loss, and the update
rule — the tests check the totals against :class:`bprop.recurrent.Recurrent` and
:func:`bprop.recurrent.tbptt_updates`.

Example::

    >>> from bprop.explain.recurrent import gather_bptt
    >>> ex = gather_bptt("elman", T=3)
    >>> [s.title for s in ex.steps[0]]
    ['Forward through time', 'Backward through time', 'Gradients and weight changes']
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from bprop.explain.trace import ExplainError, Explanation, Section
from bprop.explain.weights import weight_section

#: the gate blocks of each cell's stacked pre-activations, in the cells' order
GATES = {"elman": ("",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
MAX_HIDDEN = 8
MAX_STEPS = 50


def tiny_network(cell: str = "elman", n_in: int = 1, hidden: int = 2, n_out: int = 1, seed=0):
    """``Sequential(Recurrent(cell), TimeDistributed(Dense))`` in float64, seeded."""
    import bprop as bp
    from bprop.recurrent import Recurrent, TimeDistributed, make_cell

    if cell not in GATES:
        raise ExplainError(f"unknown cell {cell!r}; choose one of {sorted(GATES)}")
    if not 1 <= hidden <= MAX_HIDDEN:
        raise ExplainError(f"hidden must be 1 … {MAX_HIDDEN} units to fit on a screen")
    rng = np.random.default_rng(seed)
    with bp.backend.default_dtype("float64"):
        return bp.Sequential(
            Recurrent(make_cell(cell, n_in, hidden, rng=rng)),
            TimeDistributed(bp.Dense(hidden, n_out, rng=rng)),
        )


def echo_task(T: int = 4, n_in: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A one-sequence memory task: inputs (1, T, n_in) uniform in [−1, 1], targets the input
    of the previous step (0 at t = 1), so the net must carry x_{t−1} in its state."""
    x = np.random.default_rng(seed).uniform(-1, 1, size=(1, T, n_in))
    t = np.zeros_like(x)
    t[:, 1:] = x[:, :-1]
    return x, t


def _cell_kind(net: Any) -> str:
    from bprop.recurrent import Recurrent

    rec = net.layers[0] if getattr(net, "layers", None) else None
    if not isinstance(rec, Recurrent) or type(rec.cell).__name__.lower() not in GATES:
        raise ExplainError("explain traces Sequential(Recurrent(Elman|LSTM|GRU), readout …)")
    if not rec.return_sequences:
        raise ExplainError(
            "explain traces a recurrent net with an output at every step (return_sequences="
            "True); this one outputs only its last state"
        )
    for layer in net.layers[1:]:
        if any(isinstance(leaf, Recurrent) for leaf in layer.leaves()):
            raise ExplainError("explain traces one recurrent layer and a feedforward readout")
    if rec.cell.n_hidden > MAX_HIDDEN:
        raise ExplainError(
            f"{rec.cell.n_hidden} hidden units is too many to show: explain traces recurrent "
            f"nets of at most {MAX_HIDDEN}"
        )
    return type(rec.cell).__name__.lower()


def parse_sequence(v: Any, name: str) -> np.ndarray:
    """One sequence (1, T, D) from an array or from text, steps separated by ``;`` and the
    values of a step by ``,`` (``"0.5;-0.2;0.9"`` is T = 3, D = 1)."""
    if isinstance(v, str):
        try:
            steps = [[float(x) for x in s.split(",") if x.strip()] for s in v.split(";")]
        except ValueError as err:
            raise ExplainError(f"--{name}: numbers, ';' between steps, ',' within one") from err
        if not steps or len({len(s) for s in steps}) != 1 or not steps[0]:
            raise ExplainError(f"--{name}: every step needs the same number of values, got {v!r}")
        v = steps
    arr = np.asarray(v, np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] != 1:
        raise ExplainError(f"one {name} sequence of shape (T, D) or (1, T, D), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ExplainError(f"the {name} sequence holds NaN or infinite values")
    return arr


class _Tape:
    """The forward steps of the net so far: per step its input, cell cache, state and the
    readout's output and cache (so chunks can be backpropagated later with stored values)."""

    def __init__(self, net: Any) -> None:
        self.net, self.cell = net, net.layers[0].cell
        self.head = net.layers[1:]
        self.state = self.cell.init_state(1, np.float64)
        self.steps: list[dict[str, Any]] = []

    def forward(self, x_t: np.ndarray) -> dict[str, Any]:
        h, self.state, cache = self.cell.step(x_t, self.state)
        y, head_caches = h, []
        for layer in self.head:
            y, c = getattr(layer, "layer", layer).forward(y, True)
            head_caches.append(c)
        rec = {"x": x_t, "h": h, "state": self.state, "cache": cache, "y": y, "head": head_caches}
        self.steps.append(rec)
        return rec

    def readout_backward(self, dy: np.ndarray, rec: dict[str, Any]) -> np.ndarray:
        for layer, c in zip(reversed(self.head), reversed(rec["head"]), strict=True):
            dy = getattr(layer, "layer", layer).backward(dy, c)
        return dy


def _deltas(cell: Any, e: np.ndarray, dstate: Any, cache: Any) -> tuple[Any, Any]:
    """One reference step backward; returns (the new carried dstate, the gate deltas) — the
    deltas are what the step added into the input-side bias gradient."""
    before = cell.grads[cell.x_bias].copy()
    _, dprev = cell.step_backward(e, dstate, cache)
    return dprev, cell.grads[cell.x_bias] - before


def _values(v: np.ndarray) -> list[float]:
    return [float(a) for a in np.ravel(v)]


def _unit_heads(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{j + 1}" for j in range(n)]


def _forward_section(tape: _Tape, lo: int, hi: int, losses: list[float], T_all, kind: str):
    H, D = tape.cell.n_hidden, tape.cell.n_in
    K = np.size(tape.steps[0]["y"])
    heads = ["t", *(_unit_heads("x", D) if D > 1 else ["x_t"]), *_unit_heads("h", H)]
    if kind == "lstm":
        heads += _unit_heads("c", H)
    heads += [*(_unit_heads("y", K) if K > 1 else ["y_t"]), "target", "loss ℓ_t"]
    rows = []
    for t in range(lo, hi):
        s = tape.steps[t]
        row: list[Any] = [str(t + 1), *_values(s["x"]), *_values(s["h"])]
        if kind == "lstm":
            row += _values(s["state"][1])
        tgt = np.ravel(T_all[0, t])
        row += [*_values(s["y"]), ", ".join(f"{v:g}" for v in tgt), losses[t - lo]]
        rows.append(row)
    return Section("Forward through time", heads, rows)


def _backward(tape: _Tape, kind: str, dY: np.ndarray, lo: int, hi: int, stop: int):
    """Backpropagate the errors dY (one per step lo … hi−1) from step hi−1 down to ``stop``;
    returns the rows of the backward table (newest step first)."""
    H, cell, gates = tape.cell.n_hidden, tape.cell, GATES[kind]
    dstate, rows = None, []
    for t in range(hi - 1, stop - 1, -1):
        s = tape.steps[t]
        e = tape.readout_backward(dY[t - lo], s) if t >= lo else np.zeros((1, H))
        carried = np.zeros((1, H)) if dstate is None else dstate[0]
        total = e + carried
        dstate, delta = _deltas(cell, e, dstate, s["cache"])
        row: list[Any] = [str(t + 1), *_values(e), *_values(carried)]
        row += [*_values(total), float(np.linalg.norm(total))]
        row += [float(v) for v in delta]
        rows.append(row)
    heads = ["t", *_unit_heads("e", H), *_unit_heads("carried", H), *_unit_heads("∂L/∂h", H)]
    heads += ["‖∂L/∂h_t‖"]
    heads += [f"δ{g}{j + 1}" for g in gates for j in range(H)]
    return heads, rows


_BACKWARD_NOTE = {
    "elman": "δ = f′(a_t) ⊙ ∂L/∂h_t; carried = W_hhᵀ δ of step t + 1.",
    "lstm": (
        "δo = ∂L/∂h ⊙ tanh c ⊙ o(1−o); g_c = carried c-error + ∂L/∂h ⊙ o ⊙ (1 − tanh² c); "
        "δi = g_c ⊙ g ⊙ i(1−i), δf = g_c ⊙ c_{t−1} ⊙ f(1−f), δg = g_c ⊙ i ⊙ (1 − g²); "
        "carried = W_hhᵀ [δi δf δg δo] of step t + 1 (the c-error is carried as g_c ⊙ f)."
    ),
    "gru": (
        "δn = ∂L/∂h ⊙ (1−z) ⊙ (1−n²), δz = ∂L/∂h ⊙ (h_{t−1} − n) ⊙ z(1−z), "
        "δr = δn ⊙ (W_hn h_{t−1} + b_hn) ⊙ r(1−r); carried = z ⊙ ∂L/∂h + W_hhᵀ [δr δz δn⊙r]."
    ),
}


def _prepare(cell: str, network, T, inputs, targets, seed, loss):
    from bprop.losses import SquaredError, get_loss

    if network is None:
        if not 1 <= int(T) <= MAX_STEPS:
            raise ExplainError(f"T must be 1 … {MAX_STEPS} steps")
        network = tiny_network(cell, seed=seed)
    else:
        network = copy.deepcopy(network)  # traced and trained on a copy
    kind = _cell_kind(network)
    network.astype(np.float64)
    n_in, n_out = network.layers[0].cell.n_in, network.n_out
    if inputs is None and targets is None:
        if n_in != n_out:
            raise ExplainError(
                f"the network maps {n_in} inputs to {n_out} outputs: give a sequence of inputs "
                "and its targets (the default echo task has as many outputs as inputs)"
            )
        inputs, targets = echo_task(int(T), n_in, seed)
    elif inputs is None or targets is None:
        raise ExplainError("give both the input sequence and its targets")
    X, Y = parse_sequence(inputs, "input"), parse_sequence(targets, "target")
    if X.shape[2] != n_in or Y.shape[2] != n_out or X.shape[1] != Y.shape[1]:
        raise ExplainError(
            f"the network takes {n_in} inputs and gives {n_out} outputs per step; got inputs "
            f"{X.shape[1:]} and targets {Y.shape[1:]} (steps, values)"
        )
    if X.shape[1] > MAX_STEPS:
        raise ExplainError(f"{X.shape[1]} steps is too many to show (at most {MAX_STEPS})")
    lo = SquaredError() if loss is None else get_loss(loss)
    return network, kind, X, lo.prepare_targets(Y, network.n_out), lo


def _chunk(tape, kind, X, Y, loss, a, b, stop):
    """Forward steps a … b−1 (continuing the tape), backward to ``stop``; the sections."""
    net = tape.net
    net.space.zero_grad()
    for t in range(a, b):
        tape.forward(X[:, t])
    ys = np.stack([tape.steps[t]["y"] for t in range(a, b)], axis=1)
    value, dY = loss.value_and_grad(ys, Y[:, a:b])
    losses = [
        float(loss.value_and_grad(ys[:, [k]], Y[:, a + k : a + k + 1])[0]) for k in range(b - a)
    ]
    fwd = _forward_section(tape, a, b, losses, Y, kind)
    fwd.notes.append(("L", value))
    heads, rows = _backward(tape, kind, [dY[:, k] for k in range(b - a)], a, b, stop)
    bwd = Section("Backward through time", heads, rows, [_BACKWARD_NOTE[kind]])
    return value, fwd, bwd


def gather_bptt(
    cell: str = "elman",
    T: int = 4,
    method: str = "sgd",
    steps: int = 1,
    lr: float | None = 0.1,
    network: Any = None,
    inputs: Any = None,
    targets: Any = None,
    seed: int = 0,
    loss: Any = None,
    k1: int | None = None,
    k2: int | None = None,
    arithmetic: bool = False,
    **hyper: Any,
) -> Explanation:
    """Trace ``steps`` updates of full BPTT (``k1=None``) or truncated BPTT(k1, k2) (one
    update per chunk of k1 steps, over one pass of the sequence) on a tiny recurrent net.

    Args:
        cell: ``"elman"``, ``"lstm"`` or ``"gru"`` (ignored when ``network`` is given).
        T: steps of the default echo task (see :func:`echo_task`).
        method, lr, hyper: the update rule (see :func:`bprop.optim.methods.make_rule`).
        network: a ``Sequential(Recurrent(cell), readout…)`` to trace instead (float64 copy).
        inputs, targets: one sequence (1, T, D) and its targets (1, T, K).
        loss: a loss name or object (default ½ Σ (y − t)², summed over steps).
        k1, k2: the truncation (k2 ≥ k1, default k1).
    """
    from bprop.optim.methods import make_rule

    net, kind, X, Y, loss_fn = _prepare(cell, network, T, inputs, targets, seed, loss)
    rule = make_rule(method, lr=lr, **hyper)
    state = rule.init(net.space.params)
    Tn = X.shape[1]
    truncated = k1 is not None
    if truncated:
        from bprop.recurrent.truncated import check_truncation

        k1, k2 = check_truncation(k1, k2)
    out = []
    for _ in range(int(steps) if not truncated else 1):
        tape = _Tape(net)
        bounds = [(a, min(a + k1, Tn)) for a in range(0, Tn, k1)] if truncated else [(0, Tn)]
        for a, b in bounds:
            stop = max(0, b - k2) if truncated else 0
            _, fwd, bwd = _chunk(tape, kind, X, Y, loss_fn, a, b, stop)
            if truncated:
                bwd.title = f"Backward: steps {b} … {stop + 1} (k2 = {k2})"
                fwd.title = f"Forward: steps {a + 1} … {b} (state carried in)"
            wsecs, state = weight_section(net, rule, state, fwd.notes[-1][1], arithmetic)
            out.append([fwd, bwd, *wsecs])
    what = f"truncated BPTT({k1}, {k2})" if truncated else "full BPTT"
    summary = (
        f"{kind.upper() if kind != 'elman' else 'Elman'} cell, {net.layers[0].cell.n_hidden} "
        f"hidden units, linear readout; one sequence of {Tn} steps; {what}; update rule "
        f"{rule!r}; loss {type(loss_fn).__name__}. e = error from the readout, carried = error "
        "arriving from step t + 1."
    )
    title = f"Backpropagation through time, step by step: {what}"
    label = "Chunk" if truncated else "Update"
    return Explanation(title, summary, out, label, recurrent_diagram(net, kind))


def recurrent_diagram(net: Any, kind: str) -> Any:
    """x → h (recurrent loops) → y; a gated cell's connections are drawn with the weights of
    its candidate block (Elman: its only block; LSTM: g; GRU: n), named for all blocks."""
    from bprop.explain.diagram import Diagram

    cell, readout = net.layers[0].cell, getattr(net.layers[1], "layer", net.layers[1])
    H, D, K = cell.n_hidden, cell.n_in, readout.n_out
    block = {"elman": 0, "lstm": 2, "gru": 2}[kind]
    gates = "".join(GATES[kind])
    W_ih, W_hh, V = cell.params["W_ih"], cell.params["W_hh"], readout.params["W"]
    tag = f" (block {GATES[kind][block]} of {gates})" if kind != "elman" else ""
    layers = [_unit_heads("x", D), _unit_heads("h", H), _unit_heads("y", K)]
    edges = [
        (0, i, 1, j, f"W_ih[{j + 1},{i + 1}]{tag}", float(W_ih[block * H + j, i]))
        for i in range(D)
        for j in range(H)
    ]
    edges += [
        (1, j, 2, k, f"V[{j + 1},{k + 1}]", float(V[j, k])) for j in range(H) for k in range(K)
    ]
    loops = [
        (1, k, j, f"W_hh[{j + 1},{k + 1}]{tag}", float(W_hh[block * H + j, k]))
        for j in range(H)
        for k in range(H)
    ]
    return Diagram(layers, edges, loops)
