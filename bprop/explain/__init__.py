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
Other rules with a state show it per weight too: the momentum/Nesterov velocity, Adam's moments
m and v, RMSprop's and AdaGrad's accumulators, Quickprop's previous slope and step. The loss is
the one the model was saved with (or ``loss=``): squared error, softmax cross-entropy, binary
cross-entropy. ``arithmetic=True`` adds every delta, gradient and weight change written out
with its numbers (:mod:`bprop.explain.arithmetic`).

The recurrent algorithms have their own traces: backpropagation through time, full or
truncated, unrolled step by step on a tiny Elman/LSTM/GRU (:mod:`bprop.explain.recurrent`),
real-time recurrent learning's sensitivity matrices (:mod:`bprop.explain.rtrl`) and
Almeida–Pineda's two relaxations (:mod:`bprop.explain.settling`). ``fmt="html"`` writes a page
with the network drawn (:mod:`bprop.explain.diagram`).

The values come from bprop's own layers, loss and update rules (via
:func:`bprop.textbook.trace`), not from a separate re-implementation. The default network is
the textbook 2-2-2 example (Mazur 2015; inputs 0.05/0.10, targets 0.01/0.99, learning rate
0.5, biases fixed), whose weights are named w1 … w8 as published.

Example::

    >>> from bprop.explain import explain
    >>> text = explain(fmt="md")
    >>> "0.593269992" in text and "0.358916480" in text   # out_h1 and the new w5
    True
    >>> "Sensitivities P_1" in explain(algorithm="rtrl", T=2)
    True
"""

import os

from bprop.explain.recurrent import gather_bptt
from bprop.explain.render import render, render_html
from bprop.explain.rtrl import gather_rtrl
from bprop.explain.settling import gather_settling
from bprop.explain.trace import MAX_UNITS, MAX_WEIGHTS, ExplainError, Explanation, Section, gather

__all__ = [
    "ALGORITHMS",
    "FORMATS",
    "MAX_UNITS",
    "MAX_WEIGHTS",
    "ExplainError",
    "Explanation",
    "Section",
    "explain",
    "gather",
    "gather_bptt",
    "gather_rtrl",
    "gather_settling",
    "render",
    "render_html",
]


#: what ``explain`` can trace: static backprop and the recurrent algorithms
ALGORITHMS = ("backprop", "bptt", "tbptt", "rtrl", "almeida-pineda")
FORMATS = ("text", "md", "html")


def explain(
    network=None,
    method: str = "sgd",
    steps: int = 1,
    fmt: str = "text",
    lr: float | None = None,
    inputs=None,
    targets=None,
    digits: int = 9,
    algorithm: str = "backprop",
    loss=None,
    arithmetic: bool = False,
    cell: str = "elman",
    T: int = 4,
    k1: int = 2,
    k2: int | None = None,
    seed: int = 0,
    realtime: bool = True,
    **hyper,
) -> str:
    """A step-by-step trace as text (``fmt="text"``), Markdown (``"md"``) or an HTML page with
    the network drawn (``"html"``): the ``gather`` function of the algorithm collects the
    values, :func:`render` / :func:`render_html` lay them out; ``digits`` is the number of
    decimals shown.

    ``algorithm``: ``"backprop"`` (a feedforward net, :func:`gather`), ``"bptt"`` and
    ``"tbptt"`` (an Elman/LSTM/GRU ``cell`` over ``T`` steps, truncated to (``k1``, ``k2``);
    :func:`bprop.explain.recurrent.gather_bptt`), ``"rtrl"``
    (:func:`bprop.explain.rtrl.gather_rtrl`; ``realtime=False`` freezes the weights until the
    end of the sequence) or ``"almeida-pineda"``
    (:func:`bprop.explain.settling.gather_settling`). A recurrent ``network`` is a model file
    or a ``Sequential``; ``inputs``/``targets`` one sequence (1, T, D)/(1, T, K)."""
    if fmt not in FORMATS:
        raise ExplainError(f"format must be one of {FORMATS}, got {fmt!r}")
    if algorithm not in ALGORITHMS:
        raise ExplainError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    common = dict(method=method, lr=lr, loss=loss, arithmetic=arithmetic, **hyper)
    if algorithm == "backprop":
        ex = gather(network, steps=steps, inputs=inputs, targets=targets, **common)
    else:
        if isinstance(network, (str, os.PathLike)):
            import bprop as bp

            with bp.backend.default_dtype("float64"):
                network = bp.load(network)
        if algorithm == "almeida-pineda":
            if (inputs is None) != (targets is None):
                raise ExplainError("give both the input and the target")
            extra = {} if inputs is None else {"inputs": inputs, "targets": targets}
            ex = gather_settling(network, steps=steps, seed=seed, **extra, **common)
        else:
            if lr is None:
                common["lr"] = 0.1 if method == "sgd" else None
            seq = dict(network=network, inputs=inputs, targets=targets, seed=seed, T=T)
            if algorithm == "rtrl":
                ex = gather_rtrl(**seq, realtime=realtime, **common)
            else:
                trunc = {"k1": k1, "k2": k2} if algorithm == "tbptt" else {}
                ex = gather_bptt(cell, steps=steps, **seq, **trunc, **common)
    if fmt == "html":
        return render_html(ex, digits)
    return render(ex, fmt, digits)
