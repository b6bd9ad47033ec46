"""Inverted dropout (Srivastava et al. 2014).

In training each unit is kept with probability 1 − p and scaled by 1/(1 − p), so the expected
activation is unchanged and evaluation is the identity. The mask is the cache, so backward uses
exactly the units that forward kept: ∂L/∂x = mask ⊙ ∂L/∂y.

Example::

    >>> import numpy as np, bprop as bp
    >>> layer = bp.Dropout(0.5, rng=0)
    >>> y, mask = layer.forward(np.ones((1, 4)), train=True)
    >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.backend import get_xp
from bprop.layers.base import Layer
from bprop.rng import as_generator


class Dropout(Layer):
    """Drop each unit with probability ``p`` during training (inverted scaling)."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = as_generator(rng)

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        if not train or self.p == 0:
            return x, None
        keep = self.rng.random(x.shape) >= self.p
        mask = get_xp().asarray(keep, dtype=x.dtype) / (1.0 - self.p)
        return x * mask, mask

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        return dy if cache is None else dy * cache

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}
