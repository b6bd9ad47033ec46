"""Sequential: layers applied one after another; backprop is the chain rule in reverse order.

Forward keeps one cache per layer; backward walks the layers from last to first, handing each
the gradient with respect to its output and receiving the gradient with respect to its input.
The model also owns the flat parameter/gradient buffers (:class:`bprop.layers.flat.ParamSpace`).

Example::

    >>> import numpy as np, bprop as bp
    >>> net = bp.Sequential(bp.Dense(64, 32, rng=0), bp.Tanh(), bp.Dense(32, 10, rng=1))
    >>> net.predict(np.zeros((5, 64))).shape
    (5, 10)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer
from bprop.layers.flat import ParamSpace
from bprop.layers.summary import Summary, summarize


class Sequential(Layer):
    """Layers applied one after another (a list or separate arguments); backward runs them in
    reverse. The model owns the flat parameter and gradient buffers of all its layers
    (``net.space``) that the update rules work on."""

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential item {i} is a {type(layer).__name__}, not a Layer")
        self.layers: list[Layer] = list(layers)
        self._space: ParamSpace | None = None
        self._space_key: tuple = ()

    def __getstate__(self) -> dict[str, Any]:
        # the flat buffer is rebuilt on first use after unpickling: the pickled layer
        # parameters are no longer views of a pickled buffer
        state = self.__dict__.copy()
        state["_space"], state["_space_key"] = None, ()
        return state

    # --- parameters ---------------------------------------------------------------------
    def leaves(self) -> list[Layer]:
        return [leaf for layer in self.layers for leaf in layer.leaves()]

    @property
    def space(self) -> ParamSpace:
        """The flat parameter and gradient buffers (rebuilt if layers were frozen/converted)."""
        key = tuple((id(layer), layer._version) for layer in self.leaves())
        if self._space is None or key != self._space_key:
            self._space = ParamSpace(self.leaves())
            self._space_key = key
        return self._space

    def leaf_paths(self, prefix: str = "") -> list[tuple[str, Layer]]:
        """``(path, layer)`` for every child that is not a Sequential, e.g. ``("4.0", dense)``
        for the first layer of a Sequential at position 4. Model files name arrays by it."""
        out: list[tuple[str, Layer]] = []
        for i, layer in enumerate(self.layers):
            path = f"{prefix}{i}"
            if isinstance(layer, Sequential):
                out += layer.leaf_paths(path + ".")
            else:
                out.append((path, layer))
        return out

    def named_params(self) -> list[tuple[str, Layer, str]]:
        """``(path, layer, name)`` for every parameter, e.g. ``("0.W", dense, "W")``."""
        return [(f"{p}.{n}", layer, n) for p, layer in self.leaf_paths() for n in layer.params]

    def zero_grad(self) -> None:
        self.space.zero_grad()

    def summary(self) -> Summary:
        """Per-layer sizes, parameter shapes and counts, and the totals (printable):
        see :mod:`bprop.layers.summary`."""
        return summarize(self)

    def astype(self, dtype: Any) -> Sequential:
        for leaf in self.leaves():
            leaf.astype(dtype)
        return self

    @property
    def n_in(self) -> int | None:
        """Features per input row; None when the inputs are ids (an Embedding first)."""
        for leaf in self.leaves():
            if getattr(leaf, "takes_ids", False):
                return None
            if hasattr(leaf, "n_in"):
                return int(leaf.n_in)
        return None

    @property
    def n_out(self) -> int | None:
        """The output size of the last layer that declares one (None if none does)."""
        for leaf in reversed(self.leaves()):
            if hasattr(leaf, "n_out"):
                return int(leaf.n_out)
        return None

    # --- the contract -------------------------------------------------------------------
    takes_lengths = True

    def forward(self, x: Any, train: bool = False, lengths: Any = None) -> tuple[Any, list[Any]]:
        """``lengths`` (padded variable-length sequences) goes to the layers that take it."""
        caches = []
        for layer in self.layers:
            if lengths is not None and layer.takes_lengths:
                x, cache = layer.forward(x, train, lengths=lengths)
            else:
                x, cache = layer.forward(x, train)
            caches.append(cache)
        return x, caches

    def backward(self, dy: Any, cache: list[Any], need_dx: bool = True) -> Any:
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            dy = self.layers[i].backward(dy, cache[i], need_dx or i > 0)
        return dy

    # --- inference ----------------------------------------------------------------------
    def predict(self, X: Any, batch_size: int = 4096, lengths: Any = None) -> np.ndarray:
        """Network outputs for ``X`` (evaluation mode), as a NumPy array.

        For a net trained with :class:`bprop.SoftmaxCrossEntropy` these are logits; use
        :meth:`predict_classes` for labels. Sequences of different lengths: a list of them,
        or a padded batch with ``lengths`` (:mod:`bprop.recurrent.lengths`).
        """
        from bprop.recurrent.lengths import is_ragged, pad_sequences

        if is_ragged(X) and lengths is None:
            X, lengths = pad_sequences(X)
        X = backend.asarray(X, dtype=self.space.dtype)
        if X.ndim == 1:
            X = backend.get_xp().reshape(X, (1, -1))
        n = X.shape[0]
        outs = [
            backend.to_numpy(
                self.forward(
                    X[i : min(i + batch_size, n), ...],
                    lengths=None if lengths is None else lengths[i : min(i + batch_size, n)],
                )[0]
            )
            for i in range(0, n, batch_size)
        ]
        return np.concatenate(outs) if outs else np.empty((0, self.n_out or 0))

    def predict_classes(self, X: Any, threshold: float = 0.5, lengths: Any = None) -> np.ndarray:
        """Class labels: the arg-max output, or ``output > threshold`` for a single output."""
        out = self.predict(X, lengths=lengths)
        if out.shape[1] == 1:
            return (out[:, 0] > threshold).astype(np.int64)
        return out.argmax(axis=1)

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"
