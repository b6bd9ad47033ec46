"""Embedding: a lookup table from integer ids (words, characters) to learnt vectors.

Shapes: ids of any shape S (e.g. (N, T) for a batch of token sequences), table W (V, D),
output y = W[ids] of shape S + (D,). The layer is a Dense layer on one-hot inputs
(y = onehot(id) W) without ever building the one-hot: its forward pass is a row lookup, and
its backward pass adds each position's upstream gradient δ into the row of its id::

    ∂L/∂W[v] += Σ_{positions p with id_p = v} δ_p

so only the rows that occur in the batch are touched (ids repeated in a batch add up). The
inputs are discrete, so there is no ∂L/∂ids: backward returns None. Put it in front of any
recurrent layer (Bengio et al. 2003, "A neural probabilistic language model"; the shared
word-vector table of Mikolov et al. 2010)::

    net = bp.Sequential(bp.Embedding(V, 64), Recurrent(LSTM(64, 256)),
                        TimeDistributed(bp.Dense(256, V)))

Ids may arrive as floats holding whole numbers (a model's inputs are converted to its dtype
on the way in); anything else outside 0 … V−1 is refused with a clear error.

Example::

    >>> import numpy as np, bprop as bp
    >>> emb = bp.Embedding(5, 3, rng=0)
    >>> emb(np.array([[0, 4, 4]])).shape
    (1, 3, 3)
    >>> y, cache = emb.forward(np.array([1, 1, 2]), train=True)
    >>> emb.backward(np.ones((3, 3)), cache) is None, emb.grads["W"][:3, 0].tolist()
    (True, [0.0, 2.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer, Shapes, config_size
from bprop.rng import as_generator


class Embedding(Layer):
    """Lookup table ``y = W[ids]``, W of shape (vocab, dim).

    Args:
        vocab: number of ids (V); ids run 0 … V−1.
        dim: vector size (D).
        scale: the initial entries are drawn from N(0, scale²) (default 1, as PyTorch's
            ``nn.Embedding``); ignored when ``W`` is given.
        W: explicit starting table (V, D).
        rng: a ``numpy.random.Generator`` or seed for the initialiser.
    """

    #: the inputs are integer ids, not feature vectors (so a model's input size is not checked
    #: against a last axis of features)
    takes_ids = True

    def __init__(
        self,
        vocab: int,
        dim: int,
        scale: float = 1.0,
        W: Any = None,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if int(vocab) < 1 or int(dim) < 1:
            raise ValueError(f"Embedding sizes must be positive, got ({vocab}, {dim})")
        self.vocab, self.dim, self.scale = int(vocab), int(dim), float(scale)
        if W is None:
            W = self.scale * as_generator(rng).standard_normal((self.vocab, self.dim))
        W = np.asarray(backend.to_numpy(W))
        if W.shape != (self.vocab, self.dim):
            raise ValueError(f"W has shape {W.shape}, expected {(self.vocab, self.dim)}")
        self.add_param("W", W, decay=True)

    @property
    def n_out(self) -> int:
        """Width of each output vector (``dim``)."""
        return self.dim

    def ids(self, x: Any) -> Any:
        """``x`` as integer ids, checked to lie in 0 … vocab−1."""
        xp = backend.get_xp()
        if not hasattr(x, "dtype"):
            x = backend.asarray(x, dtype=np.int64)
        kind = backend.np_dtype(x.dtype).kind
        if kind == "f":
            ids = backend.astype(x, "int64")
            if not bool(xp.all(backend.astype(ids, x.dtype) == x)):
                raise ValueError("Embedding inputs must be whole-number ids; got fractions")
        elif kind in "iu":
            ids = backend.astype(x, "int64")
        else:
            raise ValueError(f"Embedding inputs must be integer ids, got dtype {x.dtype}")
        if ids.size and (int(xp.min(ids)) < 0 or int(xp.max(ids)) >= self.vocab):
            raise ValueError(
                f"Embedding ids must lie in 0 … {self.vocab - 1} (vocab={self.vocab}); they "
                f"range from {int(xp.min(ids))} to {int(xp.max(ids))}"
            )
        return ids

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        ids = self.ids(x)
        xp = backend.get_xp()
        flat = xp.reshape(ids, (-1,))
        y = xp.take(self.params["W"], flat, axis=0)
        return xp.reshape(y, (*ids.shape, self.dim)), flat

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        flat = cache
        xp = backend.get_xp()
        dy2 = xp.reshape(dy, (flat.shape[0], self.dim))
        dW = self.grads["W"]
        add = getattr(xp, "add", None)
        if add is not None and hasattr(add, "at"):  # NumPy, CuPy: scatter-add, rows in place
            add.at(dW, flat, dy2)
        else:  # other array libraries: one row per distinct id
            for v in backend.to_numpy(xp.unique_values(flat)).tolist():
                dW[v, :] += xp.sum(dy2[flat == v], axis=0)
        return None

    def get_config(self) -> dict[str, Any]:
        return {"vocab": self.vocab, "dim": self.dim, "scale": self.scale}

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        return {"W": (config_size(config, "vocab"), config_size(config, "dim"))}, {}
