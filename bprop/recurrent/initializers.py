"""Initial weights of recurrent cells: one block per gate, and conversion of given weights.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.initializers import gate_weights
    >>> W = gate_weights("orthogonal", 4, 3, 3, np.random.default_rng(0))  # 4 gates, H = 3
    >>> W.shape, bool(np.allclose(W[:3] @ W[:3].T, np.eye(3)))
    ((12, 3), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend

WEIGHT_INITS = ("uniform", "glorot", "orthogonal")


def gate_weights(
    kind: str, n_gates: int, n_hidden: int, fan_in: int, rng: np.random.Generator
) -> np.ndarray:
    """A (n_gates·H, fan_in) float64 weight matrix, initialised block by block (one block per
    gate).

    ``"uniform"``: U(−1/√H, 1/√H), PyTorch's default for its recurrent layers.
    ``"glorot"``: U(−a, a), a = √(6 / (fan_in + H)) per block (Glorot & Bengio 2010).
    ``"orthogonal"``: each block a (semi-)orthogonal matrix (Saxe et al. 2014), the usual
    choice for recurrent weights.
    """
    H = n_hidden
    if kind == "uniform":
        a = 1.0 / np.sqrt(H)
        return rng.uniform(-a, a, size=(n_gates * H, fan_in))
    if kind == "glorot":
        a = np.sqrt(6.0 / (fan_in + H))
        return rng.uniform(-a, a, size=(n_gates * H, fan_in))
    if kind == "orthogonal":
        blocks = []
        for _ in range(n_gates):
            m = rng.normal(size=(max(H, fan_in), min(H, fan_in)))
            q, r = np.linalg.qr(m)
            q *= np.sign(np.diag(r))
            blocks.append(q if H >= fan_in else q.T)
        return np.concatenate(blocks, axis=0)
    raise ValueError(f"unknown recurrent initialiser {kind!r}; choose one of {WEIGHT_INITS}")


def to_array(a: Any) -> np.ndarray:
    """A float64 NumPy copy of an array or a torch tensor."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.array(backend.to_numpy(a), dtype=np.float64)
