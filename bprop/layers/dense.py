"""Fully connected layer: y = x W + b.

Shapes: x (N, n_in), W (n_in, n_out), b (n_out,), y (N, n_out). With upstream gradient
δ = ∂L/∂y the backward pass is the chain rule for an affine map::

    ∂L/∂W += xᵀ δ        ∂L/∂b += Σ_rows δ        ∂L/∂x = δ Wᵀ

Example::

    >>> import numpy as np, bprop as bp
    >>> layer = bp.Dense(2, 2, W=[[0.15, 0.25], [0.20, 0.30]], b=[0.35, 0.35])
    >>> layer(np.array([[0.05, 0.10]], dtype=np.float32)).round(4)
    array([[0.3775, 0.3925]], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer, Shapes, config_size
from bprop.layers.initializers import initialize
from bprop.rng import as_generator


class Dense(Layer):
    """Affine layer ``y = x @ W + b``.

    Args:
        n_in, n_out: input and output sizes.
        init: weight initialiser name (see :mod:`bprop.layers.initializers`), default
            ``"glorot"``; ignored when ``W`` is given.
        init_scale: half-width ``a`` for ``init="uniform"``.
        W, b: explicit starting values (e.g. a textbook example's published weights).
        bias: whether to have a bias at all.
        freeze: names of parameters to keep fixed, e.g. ``("b",)``.
        rng: a ``numpy.random.Generator`` or seed for the initialiser.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        init: str = "glorot",
        init_scale: float | None = None,
        W: Any = None,
        b: Any = None,
        bias: bool = True,
        freeze: tuple[str, ...] = (),
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if int(n_in) < 1 or int(n_out) < 1:
            raise ValueError(f"Dense sizes must be positive, got ({n_in}, {n_out})")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.init, self.init_scale, self.bias = init, init_scale, bias
        if W is None:
            W = initialize(init, (self.n_in, self.n_out), as_generator(rng), init_scale)
        W = backend.to_numpy(W)
        if W.shape != (self.n_in, self.n_out):
            raise ValueError(f"W has shape {W.shape}, expected (n_in, n_out) = {(n_in, n_out)}")
        self.add_param("W", W, decay=True)
        if bias:
            b = np.zeros(self.n_out) if b is None else backend.to_numpy(b)
            if b.shape != (self.n_out,):
                raise ValueError(f"b has shape {b.shape}, expected ({self.n_out},)")
            self.add_param("b", b)
        if freeze:
            self.freeze(*freeze)

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"Dense({self.n_in}, {self.n_out}) expects input of shape (batch, {self.n_in}), "
                f"got {tuple(x.shape)}"
            )
        y = x @ self.params["W"]
        if self.bias:
            y += self.params["b"]
        return y, x

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        x = cache
        # Profiled (bench/bench_minibatch.py): this is BLAS-bound. xᵀ and Wᵀ are transposed
        # views that BLAS reads where they lie (for the first layer x is a row slice of the
        # data), so nothing is copied. A GEMM with β = 1 straight into the gradient view would
        # save the += pass (~2% of an epoch), but NumPy does not expose β, and
        # scipy.linalg.blas loads a second OpenBLAS whose idle threads spin against NumPy's:
        # an epoch ran 10x slower on 2 cores.
        if "W" not in self.frozen:
            self.grads["W"] += x.T @ dy
        if self.bias and "b" not in self.frozen:
            self.grads["b"] += backend.get_xp().sum(dy, axis=0)
        return dy @ self.params["W"].T if need_dx else None

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n_in": self.n_in, "n_out": self.n_out, "init": self.init}
        if self.init_scale is not None:
            cfg["init_scale"] = self.init_scale
        if not self.bias:
            cfg["bias"] = False
        if self.frozen:
            cfg["freeze"] = sorted(self.frozen)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Dense:
        """Rebuild from a saved config; weights start at zero and are loaded afterwards."""
        config = dict(config)
        init = config.pop("init", "glorot")
        config["freeze"] = tuple(config.get("freeze", ()))
        layer = cls(**config, init="zeros")
        layer.init = init
        return layer

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        n_in, n_out = config_size(config, "n_in"), config_size(config, "n_out")
        params = {"W": (n_in, n_out)}
        if config.get("bias", True):
            params["b"] = (n_out,)
        return params, {}
