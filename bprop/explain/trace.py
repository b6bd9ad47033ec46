"""Gathering what ``bprop explain`` shows: every value of a few training steps, as tables of
numbers (:class:`Explanation`), with no formatting — :mod:`bprop.explain.render` lays them out.

The values come from bprop's own layers, loss and update rules (via
:func:`bprop.textbook.trace`), not from a separate re-implementation.

Example::

    >>> from bprop.explain import gather
    >>> ex = gather(steps=1)
    >>> [s.title for s in ex.steps[0]]
    ['Forward pass', 'Error', 'Deltas (backward pass)', 'Gradients and weight changes']
    >>> ex.steps[0][0].rows[0][0], round(float(ex.steps[0][0].rows[0][2]), 9)  # out_h1
    ('h1', 0.593269992)
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: the largest network ``explain`` traces: units per layer and weights in all
MAX_UNITS = 64
MAX_WEIGHTS = 5000


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
            hint = {
                "Recurrent": " (trace it with --algorithm bptt, tbptt or rtrl)",
                "SettlingNetwork": " (trace it with --algorithm almeida-pineda)",
            }.get(type(layer).__name__, "")
            raise ExplainError(
                f"explain traces stacks of Dense layers and element-wise activations; layer {i} "
                f"is a {type(layer).__name__}{hint}"
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
    if size >= 0 and arr.shape[1] != size:
        raise ExplainError(f"the {name} has {arr.shape[1]} values; the network needs {size}")
    if not np.all(np.isfinite(arr)):
        raise ExplainError(f"the {name} holds NaN or infinite values: give finite numbers")
    return arr


@dataclass
class Section:
    """One table of a step: ``rows`` hold strings and numbers (numbers are formatted by the
    renderer); ``notes`` are lines shown after the table — a string, or a (label, number) pair
    shown as "label = number"."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    notes: list[Any] = field(default_factory=list)


@dataclass
class Explanation:
    """What :func:`gather` found: a title, a one-paragraph summary of the network and the rule,
    and per training step its sections (forward pass, error, deltas, weight changes)."""

    title: str
    summary: str
    steps: list[list[Section]]
    step_label: str = "Step"
    #: the network to draw (a :class:`bprop.explain.diagram.Diagram`), for the HTML page
    diagram: Any = None


def gather(
    network: Any = None,
    method: str = "sgd",
    steps: int = 1,
    lr: float | None = None,
    inputs: Any = None,
    targets: Any = None,
    loss: Any = None,
    arithmetic: bool = False,
    **hyper: Any,
) -> Explanation:
    """Train for ``steps`` steps and collect every value static backpropagation computes.

    Args:
        network: ``None`` for the textbook 2-2-2 example, a path to a model saved with
            ``bp.save`` or a ``bp.Sequential`` of Dense layers and activations (at most
            :data:`MAX_UNITS` units per layer); it is traced in float64 on a copy.
        method: update-rule name (see :data:`bprop.optim.methods.METHODS`); Rprop variants
            also show step sizes and sign changes.
        lr: learning rate (default: 0.5 for the textbook example, else the rule's default).
        inputs, targets: one example (or a few, one per row) as numbers or a comma-separated
            string; required for a user's network, default 0.05,0.10 → 0.01,0.99 otherwise.
        loss: a loss name or object; default the loss saved with the network, else the
            textbook's ½ Σ (t − o)² (:class:`bprop.SquaredError`).
        arithmetic: also write every delta and every weight change with its numbers.
        hyper: other hyper-parameters for :func:`bprop.optim.methods.make_rule`.
    """
    from bprop import textbook
    from bprop.explain.weights import feedforward_weight_section
    from bprop.losses import SquaredError, get_loss
    from bprop.optim.methods import make_rule

    if int(steps) < 1:
        raise ExplainError(f"steps must be at least 1, got {steps}")
    net, source, textbook_net, saved_loss = _network(network)
    dense, acts = _check_network(net)
    loss_fn = get_loss(loss) if loss is not None else saved_loss or SquaredError()
    if textbook_net:
        x = textbook.INPUTS if inputs is None else _parse_vector(inputs, 2, "input")
        t = textbook.TARGETS if targets is None else _parse_targets(targets, 2, loss_fn)
    else:
        if inputs is None or targets is None:
            raise ExplainError("a user's network needs --input and --target values")
        x = _parse_vector(inputs, dense[0].n_in, "input")
        t = _parse_targets(targets, dense[-1].n_out, loss_fn)
    if x.shape[0] != t.shape[0]:
        raise ExplainError(f"{x.shape[0]} input rows but {t.shape[0]} target rows")
    if lr is None and textbook_net:
        lr = textbook.LEARNING_RATE
    rule = make_rule(method, lr=lr, **hyper)
    names = _Names(len(dense), textbook_net)
    layers = " → ".join(
        [str(dense[0].n_in)]
        + [
            f"{d.n_out} {a.name if i < len(acts) else 'linear'}"
            for i, (d, a) in enumerate(zip(dense, [*acts, None], strict=False))
        ]
    )
    summary = (
        f"Update rule: {rule!r} ({method}); {steps} step(s); loss E = {_loss_text(loss_fn)}"
        + (" (over the examples)" if x.shape[0] > 1 else "")
        + f". Layers: {layers}."
    )
    state = rule.init(net.space.params)
    all_steps = []
    for step in range(1, int(steps) + 1):
        before_state = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in state.items()}
        biases_before = [d.params["b"].copy() if d.bias else None for d in dense]
        r = textbook.trace(net, x, t, lr=lr or 0.0, rule=rule, state=state, loss=loss_fn)
        state = r["state"]
        ctx = _StepContext(dense, x, t, r, names, loss_fn, acts)
        weights = feedforward_weight_section(
            ctx, rule, before_state, state, biases_before, net.space
        )
        if step == 1:
            frozen = [f"layer {i + 1}" for i, d in enumerate(dense) if d.bias and "b" in d.frozen]
            if frozen:
                weights.notes.append(f"Biases of {', '.join(frozen)} are fixed (not trained).")
        sections = [_forward_section(ctx), _error_section(ctx), _delta_section(ctx), weights]
        if arithmetic:
            from bprop.explain.arithmetic import arithmetic_section

            sections.append(arithmetic_section(ctx, rule, before_state, state, biases_before, net))
        all_steps.append(sections)
    title = f"Backpropagation, step by step: {source}"
    return Explanation(title, summary, all_steps, diagram=_diagram(dense, names))


def _diagram(dense: list[Any], names: _Names) -> Any:
    """The layered drawing of the net, with the weights after the last step."""
    from bprop.explain.diagram import Diagram

    layers = [[names.source(0, i) for i in range(dense[0].n_in)]]
    edges = []
    for li, d in enumerate(dense):
        layers.append([names.unit(li, j) for j in range(d.n_out)])
        W = d.params["W"]
        for i in range(d.n_in):
            for j in range(d.n_out):
                edges.append((li, i, li + 1, j, names.weight(li, i, j), float(W[i, j])))
    return Diagram(layers, edges)


def _network(network: Any) -> tuple[Any, str, bool, Any]:
    """(the network in float64, a phrase naming it, whether it is the textbook example, the
    loss saved with it or None)."""
    import bprop as bp
    from bprop import textbook

    if network is None:
        return textbook.network(), "the textbook 2-2-2 example (Mazur 2015)", True, None
    saved_loss = None
    if isinstance(network, (str, os.PathLike)):
        from bprop.io import load_checkpoint

        with bp.backend.default_dtype("float64"):
            ck = load_checkpoint(network)
        net, saved_loss = ck.net, ck.loss
        source = f"the network in {os.fspath(network)}"
    else:
        net, source = copy.deepcopy(network), "the given network"  # traced on a copy
    net.astype(np.float64)
    return net, source, False, saved_loss


def _loss_text(loss: Any) -> str:
    from bprop.losses import SquaredError

    if isinstance(loss, SquaredError):
        return "½ Σ (t − o)² over outputs" + (" ÷ N" if loss.reduction == "mean" else "")
    return f"{type(loss).__name__}(reduction={loss.reduction!r})"


def _parse_targets(v: Any, size: int, loss: Any) -> np.ndarray:
    """Targets as numbers per output, or (for a classifier's loss) class labels."""
    from bprop.losses import SoftmaxCrossEntropy

    if isinstance(loss, SoftmaxCrossEntropy) and size > 1:
        arr = np.atleast_1d(_parse_vector(v, -1, "target").ravel()) if isinstance(v, str) else None
        labels = np.asarray(v if arr is None else arr)
        if labels.ndim == 1 and labels.size and np.all(labels == np.round(labels)):
            if labels.size != size or not np.all((labels == 0) | (labels == 1)):
                if labels.min() < 0 or labels.max() >= size:
                    raise ExplainError(f"class labels must be 0 … {size - 1}, got {labels}")
                return np.eye(size)[labels.astype(np.int64)]
    return _parse_vector(v, size, "target")


class _Names:
    """Unit and weight names: the textbook's w1 … w8, h1, o1; else w2[1→3], h1.2, o1."""

    def __init__(self, n_layers: int, textbook_net: bool) -> None:
        self.n_layers, self.textbook = n_layers, textbook_net

    def weight(self, li: int, i: int, j: int) -> str:
        if self.textbook:  # the published numbering: w1..w4 into h1, h2; w5..w8 into o1, o2
            return f"w{4 * li + 2 * j + i + 1}"
        return f"w{li + 1}[{i + 1}→{j + 1}]"

    def unit(self, li: int, j: int) -> str:
        if li == self.n_layers - 1:
            return f"o{j + 1}"
        return f"h{j + 1}" if self.n_layers == 2 else f"h{li + 1}.{j + 1}"

    def source(self, li: int, i: int) -> str:
        return f"i{i + 1}" if li == 0 else self.unit(li - 1, i)


@dataclass
class _StepContext:
    dense: list[Any]
    x: np.ndarray
    t: np.ndarray
    r: dict[str, Any]
    names: _Names
    loss: Any = None
    acts: list[Any] = field(default_factory=list)

    @property
    def squared(self) -> bool:
        from bprop.losses import SquaredError

        return isinstance(self.loss, SquaredError) or self.loss is None

    def example(self, n: int) -> list[str]:
        """The leading "example" cell, present when several examples are traced."""
        return [str(n + 1)] if self.x.shape[0] > 1 else []

    def headers(self, *names: str) -> list[str]:
        return (["example"] if self.x.shape[0] > 1 else []) + list(names)


def _forward_section(c: _StepContext) -> Section:
    rows = []
    for li, d in enumerate(c.dense):
        z = c.r["net_inputs"][li]
        a = c.r["activations"][li] if li < len(c.r["activations"]) else z
        for n in range(c.x.shape[0]):
            for j in range(d.n_out):
                rows.append([*c.example(n), c.names.unit(li, j), z[n, j], a[n, j]])
    heads = c.headers("unit", "net input z = Σ w·a + b", "activation a = f(z)")
    return Section("Forward pass", heads, rows)


def _error_section(c: _StepContext) -> Section:
    o, last = c.r["outputs"], len(c.dense) - 1
    last_col = c.r["errors"] if c.squared else c.r["output_gradient"]
    rows = [
        [*c.example(n), c.names.unit(last, k), c.t[n, k], o[n, k], last_col[n, k]]
        for n in range(c.x.shape[0])
        for k in range(o.shape[1])
    ]
    head = "error ½(t − o)²" if c.squared else "∂E/∂o"
    heads = c.headers("output", "target t", "output o", head)
    notes: list[Any] = [("E_total", c.r["total_error"])]
    if c.squared and c.loss is not None and c.loss.reduction == "mean":
        notes.insert(0, "E_total = Σ ½(t − o)² ÷ N (the loss's mean reduction)")
    elif not c.squared:
        notes.insert(0, f"E = {_loss_text(c.loss)}; the table shows ∂E/∂o per output.")
    return Section("Error", heads, rows, notes)


def output_delta_text(c: _StepContext) -> str:
    """How the output delta comes from the loss (the formula in words)."""
    from bprop.losses import SoftmaxCrossEntropy

    act = c.acts[len(c.dense) - 1].name if len(c.acts) >= len(c.dense) else "linear"
    if c.squared:
        return "output δ = (o − t)·f′(z)" if act != "linear" else "output δ = o − t"
    mean = " ÷ N" if c.loss.reduction == "mean" and c.x.shape[0] > 1 else ""
    if isinstance(c.loss, SoftmaxCrossEntropy) and act == "linear":
        return f"output δ = softmax(z) − t{mean}"
    return "output δ = ∂E/∂o · f′(z)"


def _delta_section(c: _StepContext) -> Section:
    rows, deltas, last = [], c.r["deltas"], len(c.dense) - 1
    for li in range(last, -1, -1):
        kind = output_delta_text(c) if li == last else "hidden δ = (Σ w δ)·f′(z)"
        for n in range(c.x.shape[0]):
            for j in range(c.dense[li].n_out):
                rows.append([*c.example(n), c.names.unit(li, j), kind, deltas[li][n, j]])
    return Section("Deltas (backward pass)", c.headers("unit", "delta", "δ = ∂E/∂z"), rows)
