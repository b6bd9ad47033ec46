"""Element-wise activation layers and the softmax layer.

Each activation caches its *output* y and uses the derivative written in y (see
:mod:`bprop.ops`): σ′ = y(1 − y), tanh′ = 1 − y², ReLU′ = [y > 0].

Example::

    >>> import numpy as np, bprop as bp
    >>> round(float(bp.Sigmoid()(np.array([[0.3775]]))[0, 0]), 9)  # σ(0.3775), Mazur's out_h1
    0.593269992
"""

from __future__ import annotations

from typing import Any

from bprop import ops
from bprop.layers.base import Layer


class Activation(Layer):
    """An element-wise nonlinearity chosen by name from :data:`bprop.ops.ACTIVATIONS`."""

    name = "identity"

    # Why the output is a new array and never x overwritten in place: this layer cannot know
    # who else holds x. Every activation returns its output *as its cache*, so in
    # Sequential(Sigmoid(), ReLU()) an in-place ReLU would overwrite the sigmoid's cache and
    # corrupt its backward pass; Dropout in evaluation mode passes its input through, so in
    # Sequential(Dropout(0.5), ReLU()) it would overwrite the caller's data; a recurrent cell
    # may keep x for a later time step. A fresh output costs an allocation, not a pass over
    # the data (the pass is needed either way). The same holds for dy in backward: it may be
    # the very array another layer or the caller still uses, so it is only read.
    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        f, _ = ops.ACTIVATIONS[self.name]
        y = f(x)
        return y, y

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        _, df = ops.ACTIVATIONS[self.name]
        return df(cache, dy)


class Sigmoid(Activation):
    """Logistic sigmoid σ(x) = 1 / (1 + e^(−x)); σ′ = σ(1 − σ)."""

    name = "sigmoid"


class Tanh(Activation):
    """Hyperbolic tangent; tanh′ = 1 − tanh²."""

    name = "tanh"


class ReLU(Activation):
    """Rectified linear unit max(0, x); derivative 1 where x > 0, else 0."""

    name = "relu"


class Identity(Activation):
    """y = x (a linear output unit)."""

    name = "identity"


class LeakyReLU(Activation):
    """x for x > 0, αx otherwise (α = 0.01 by default)."""

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if not 0 < alpha < 1:
            raise ValueError(f"LeakyReLU alpha must be in (0, 1), got {alpha}")
        self.alpha = float(alpha)

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        y = ops.leaky_relu(x, self.alpha)
        return y, y

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        return ops.leaky_relu_backward(cache, dy, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Softmax(Layer):
    """Softmax over the last axis, yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ).

    Its Jacobian-vector product is ∂L/∂xᵢ = yᵢ (∂L/∂yᵢ − Σⱼ yⱼ ∂L/∂yⱼ). For classification,
    prefer a linear output with :class:`bprop.SoftmaxCrossEntropy`, which fuses the two.
    """

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        y = ops.softmax(x)
        return y, y

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        return ops.softmax_backward(cache, dy)


ACTIVATION_LAYERS: dict[str, type[Layer]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
    "softmax": Softmax,
}
