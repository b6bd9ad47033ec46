"""``mlp``: build a multi-layer perceptron from a list of sizes.

Example::

    >>> import bprop as bp
    >>> bp.mlp([64, 32, 10], activation="tanh", seed=0).n_out
    10
"""

from __future__ import annotations

import numpy as np

from bprop.layers.activations import ACTIVATION_LAYERS
from bprop.layers.sequential import Sequential


def mlp(
    sizes: list[int],
    activation: str = "tanh",
    output: str | None = None,
    init: str | None = None,
    init_scale: float | None = None,
    seed: int | np.random.Generator = 0,
) -> Sequential:
    """A fully connected net ``sizes[0] → … → sizes[-1]``.

    Args:
        activation: hidden-layer activation (sigmoid, tanh, relu, leaky_relu, identity).
        output: output activation name, or None for a linear output (logits for
            softmax cross-entropy).
        init: weight initialiser; default He for ReLU-family hidden layers, Glorot otherwise.
    """
    from bprop.layers.dense import Dense

    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"mlp needs at least two positive sizes, got {sizes}")
    for name in (activation, output):
        if name is not None and name not in ACTIVATION_LAYERS:
            raise ValueError(
                f"unknown activation {name!r}; choose from {sorted(ACTIVATION_LAYERS)}"
            )
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "glorot"
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        last = i == len(sizes) - 2
        layer_init = "glorot" if last and init.startswith("he") else init
        layers.append(Dense(a, b, init=layer_init, init_scale=init_scale, rng=rng))
        if not last:
            layers.append(ACTIVATION_LAYERS[activation]())
    if output is not None:
        layers.append(ACTIVATION_LAYERS[output]())
    return Sequential(*layers)
