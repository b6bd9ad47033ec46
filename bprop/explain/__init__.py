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

from bprop.explain.render import render
from bprop.explain.trace import MAX_UNITS, MAX_WEIGHTS, ExplainError, Explanation, Section, gather

__all__ = [
    "MAX_UNITS",
    "MAX_WEIGHTS",
    "ExplainError",
    "Explanation",
    "Section",
    "explain",
    "gather",
    "render",
]


def explain(
    network=None,
    method: str = "sgd",
    steps: int = 1,
    fmt: str = "text",
    lr: float | None = None,
    inputs=None,
    targets=None,
    digits: int = 9,
    **hyper,
) -> str:
    """A step-by-step trace of ``steps`` training steps, as text (``fmt="text"``) or Markdown
    (``fmt="md"``): :func:`gather` collects the values, :func:`render` lays them out. See
    :func:`gather` for the arguments; ``digits`` is the number of decimals shown."""
    if fmt not in ("text", "md"):
        raise ExplainError(f"format must be 'text' or 'md', got {fmt!r}")
    return render(gather(network, method, steps, lr, inputs, targets, **hyper), fmt, digits)
