"""The textbook 2-2-2 worked example of static backpropagation, traced value by value.

This is the widely taught "step by step backpropagation" network (Mazur 2015): inputs
(0.05, 0.10), targets (0.01, 0.99), sigmoid hidden and output units, squared error
E = ½ Σ (t − o)², learning rate 0.5, starting weights w1..w8 = 0.15, 0.20, …, 0.55, and biases
b1 = 0.35, b2 = 0.60 that are *not* updated. Unit h1 receives w1·i1 + w2·i2 and h2 receives
w3·i1 + w4·i2; o1 receives w5·h1 + w6·h2 and o2 receives w7·h1 + w8·h2. In bprop's Dense layout
(W[i, j] connects input i to unit j) that is W1 = [[w1, w3], [w2, w4]], W2 = [[w5, w7], [w6, w8]].

The trace is produced by bprop's own layers, loss and SGD rule — nothing is recomputed by hand
here — so it shows exactly what the library does:

    net input  z = W·a + b,  activation a = σ(z)
    output delta   δ_o = (o − t) · o (1 − o)
    hidden delta   δ_h = (Σ_o w_ho δ_o) · h (1 − h)
    gradient       ∂E/∂w_ij = a_i δ_j
    weight change  Δw = −η ∂E/∂w

Example::

    >>> from bprop.textbook import trace
    >>> round(trace()["total_error"], 9)
    0.298371109
"""

from __future__ import annotations

from typing import Any

import numpy as np

INPUTS = np.array([[0.05, 0.10]])
TARGETS = np.array([[0.01, 0.99]])
W1 = np.array([[0.15, 0.25], [0.20, 0.30]])
B1 = np.array([0.35, 0.35])
W2 = np.array([[0.40, 0.50], [0.45, 0.55]])
B2 = np.array([0.60, 0.60])
LEARNING_RATE = 0.5

#: The example's published numbers, as printed there (after one step unless noted): net
#: inputs, activations, errors, one gradient, the eight updated weights, and the total error
#: after 10,000 steps. Tests check bprop's trace and ``bprop explain`` against these.
PUBLISHED = {
    "net_h1": "0.3775",
    "out_h1": "0.593269992",
    "out_h2": "0.596884378",
    "net_o1": "1.105905967",
    "out_o1": "0.75136507",
    "out_o2": "0.772928465",
    "E_o1": "0.274811083",
    "E_o2": "0.023560026",
    "E_total": "0.298371109",
    "dE_dw5": "0.082167041",
    "w5": "0.35891648",
    "w6": "0.408666186",
    "w7": "0.511301270",
    "w8": "0.561370121",
    "w1": "0.149780716",
    "w2": "0.19956143",
    "w3": "0.24975114",
    "w4": "0.29950229",
    "E_after_10000": "0.0000351085",
}


def network() -> Any:
    """The 2-2-2 sigmoid network with the published starting weights (float64, frozen
    biases)."""
    import bprop as bp

    with bp.backend.default_dtype("float64"):
        return bp.Sequential(
            bp.Dense(2, 2, W=W1, b=B1, freeze=("b",)),
            bp.Sigmoid(),
            bp.Dense(2, 2, W=W2, b=B2, freeze=("b",)),
            bp.Sigmoid(),
        )


def trace(
    net: Any = None,
    x: Any = INPUTS,
    t: Any = TARGETS,
    lr: float = LEARNING_RATE,
    rule: Any = None,
    state: Any = None,
    loss: Any = None,
) -> dict[str, Any]:
    """One training step of ``net`` (default: the textbook network), returning every
    intermediate value: net inputs, activations, errors, deltas, gradients, updated weights.

    ``rule``/``state`` let a caller trace another update rule (default SGD(lr)); the returned
    dict then also holds the rule's new ``state``. ``loss`` is any loss (default the
    textbook's ½ Σ (t − o)², :class:`bprop.SquaredError`); ``deltas[l]`` is ∂E/∂z of the net
    inputs of Dense layer l, whatever follows it, and ``output_gradient`` is ∂E/∂o.
    """
    import bprop as bp
    from bprop.layers.activations import Activation

    net = network() if net is None else net
    rule = bp.SGD(lr) if rule is None else rule
    space = net.space
    state = rule.init(space.params) if state is None else state
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    dense = [layer for layer in net.layers if isinstance(layer, bp.Dense)]
    weights_before = [d.params["W"].copy() for d in dense]

    space.zero_grad()
    a, caches, net_inputs, activations = x, [], [], []
    for layer in net.layers:  # forward, one layer at a time, recording every value
        a, cache = layer.forward(a, train=True)
        caches.append(cache)
        if isinstance(layer, bp.Dense):
            net_inputs.append(a.copy())
        elif isinstance(layer, Activation):
            activations.append(a.copy())
    loss = bp.SquaredError() if loss is None else loss
    total, grad = loss.value_and_grad(a, t)
    output_gradient = grad.copy()
    deltas: list[np.ndarray] = []
    for layer, cache in zip(reversed(net.layers), reversed(caches), strict=True):
        if isinstance(layer, bp.Dense):
            deltas.insert(0, grad.copy())  # δ = ∂E/∂(net input) of that layer's units
        grad = layer.backward(grad, cache)
    grads = [d.grads["W"].copy() for d in dense]
    updates, state = rule.update(space.grads, state, space.params, total)
    space.params += updates
    return {
        "inputs": x,
        "targets": t,
        "net_inputs": net_inputs,
        "activations": activations,
        "outputs": a,
        "errors": 0.5 * (t - a) ** 2,
        "total_error": total,
        "output_gradient": output_gradient,
        "deltas": deltas,
        "weight_gradients": grads,
        "weights_before": weights_before,
        "weights_after": [d.params["W"].copy() for d in dense],
        "state": state,
    }
