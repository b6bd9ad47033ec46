"""Batch normalisation (Ioffe & Szegedy 2015) over the feature axis of (N, D) inputs.

Training mode, with batch mean μ and (biased) variance σ²::

    x̂ = (x − μ) / √(σ² + ε)          y = γ x̂ + β

and the backward pass (δ = ∂L/∂y, s = 1/√(σ² + ε))::

    ∂L/∂γ += Σ δ x̂      ∂L/∂β += Σ δ
    ∂L/∂x = (s / N) · (N·δγ − Σ δγ − x̂ · Σ (δγ x̂))

Running estimates (running_mean, and running_var with the unbiased batch variance, as in
PyTorch) are updated with ``momentum`` in training and used in evaluation.

Example::

    >>> import numpy as np, bprop as bp
    >>> bn = bp.BatchNorm(3)
    >>> y, _ = bn.forward(np.random.default_rng(0).normal(5, 2, (64, 3)), train=True)
    >>> bool(abs(y.mean()) < 1e-5)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.backend import get_xp
from bprop.layers.base import Layer, Shapes, config_size


class BatchNorm(Layer):
    """Batch normalisation of ``n`` features (see the module docstring for the maths): learned
    scale ``gamma`` and shift ``beta``; running statistics updated with ``momentum`` in
    training and used in evaluation; ``eps`` is added to the variance."""

    def __init__(self, n: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm momentum must be in [0, 1], got {momentum}")
        self.n, self.momentum, self.eps = int(n), float(momentum), float(eps)
        self.add_param("gamma", np.ones(self.n))
        self.add_param("beta", np.zeros(self.n))
        xp = get_xp()
        self.buffers["running_mean"] = xp.zeros_like(self.params["gamma"])
        self.buffers["running_var"] = xp.ones_like(self.params["gamma"])

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"BatchNorm({self.n}) expects (batch, {self.n}), got {x.shape}")
        xp = get_xp()
        gamma, beta = self.params["gamma"], self.params["beta"]
        if train:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    "BatchNorm in training needs batches of at least 2 examples; "
                    "use mini-batch or batch training, or remove BatchNorm for online training"
                )
            mu = xp.mean(x, axis=0)
            var = xp.var(x, axis=0)
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mu
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (n / (n - 1))
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = (x - mu) * inv_std
        return xhat * gamma + beta, (xhat, inv_std, train)

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        xhat, inv_std, train = cache
        xp = get_xp()
        if "gamma" not in self.frozen:
            self.grads["gamma"] += xp.sum(dy * xhat, axis=0)
        if "beta" not in self.frozen:
            self.grads["beta"] += xp.sum(dy, axis=0)
        if not need_dx:
            return None
        dxhat = dy * self.params["gamma"]
        if not train:
            return dxhat * inv_std
        n = dy.shape[0]
        return (inv_std / n) * (
            n * dxhat - xp.sum(dxhat, axis=0) - xhat * xp.sum(dxhat * xhat, axis=0)
        )

    def get_config(self) -> dict[str, Any]:
        return {"n": self.n, "momentum": self.momentum, "eps": self.eps}

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        n = (config_size(config, "n"),)
        return {"gamma": n, "beta": n}, {"running_mean": n, "running_var": n}
