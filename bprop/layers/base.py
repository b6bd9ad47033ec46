"""The Layer contract.

A layer owns ``params`` (name -> array) and ``grads`` (the same names). ``forward(x, train)``
returns ``(y, cache)``; ``backward(dy, cache)`` returns ``dx`` and *adds* the parameter
gradients into ``grads`` (``+=``, never ``=``). The cache is returned, not stored on the layer,
so one layer can run at many time steps and be backpropagated many times (micrograd's habit).

Parameters that are *frozen* keep their values during training: they are left out of the model's
flat parameter buffer (see :mod:`bprop.layers.flat`), so no update rule ever sees them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend

Shapes = dict[str, tuple[int, ...]]  # array name -> shape


class Layer:
    """Base class for every layer. Subclasses implement ``forward`` and ``backward``.

    A layer that works on padded batches of variable-length sequences sets ``takes_lengths``
    and has ``forward(x, train, lengths=None)`` (see :mod:`bprop.recurrent.lengths`);
    :class:`bprop.Sequential` hands ``lengths`` to those layers only.
    """

    #: whether ``forward`` takes ``lengths`` (padded variable-length sequences)
    takes_lengths = False

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}  # non-trained state, e.g. BatchNorm running statistics
        self.frozen: set[str] = set()
        self.decay: set[str] = set()  # names that L2 weight decay applies to
        self._version = 0  # bumped when the set or identity of parameters changes

    # --- the contract -------------------------------------------------------------------
    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        """Run the layer on ``x``; return ``(y, cache)``, the cache being whatever ``backward``
        needs. ``train`` selects training behaviour (dropout on, batch statistics in
        BatchNorm)."""
        raise NotImplementedError

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        """Add parameter gradients into ``grads``; return dL/dx (or None if ``need_dx`` is False
        and the layer can skip computing it)."""
        raise NotImplementedError

    # --- conveniences -------------------------------------------------------------------
    def __call__(self, x: Any) -> Any:
        """The output for ``x`` in evaluation mode; NumPy data under another backend becomes an
        array of that backend here, keeping its dtype."""
        if isinstance(x, np.ndarray) and not backend.is_numpy():
            x = backend.get_xp().asarray(x)
        return self.forward(x, train=False)[0]

    def add_param(self, name: str, value: Any, decay: bool = False) -> None:
        """Register a trainable array ``name`` with a zero gradient of the same shape; ``decay``:
        L2 weight decay (``l2=``) applies to it."""
        value = backend.asarray(value)
        self.params[name] = value
        self.grads[name] = backend.get_xp().zeros_like(value)
        if decay:
            self.decay.add(name)
        self._version += 1

    def freeze(self, *names: str) -> Layer:
        """Keep the named parameters (all if none are named) fixed during training."""
        names = names or tuple(self.params)
        for n in names:
            if n not in self.params:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {n!r}; it has {sorted(self.params)}"
                )
        self.frozen.update(names)
        self._version += 1
        return self

    def unfreeze(self, *names: str) -> Layer:
        """Train the named parameters (all if none are named) again; returns self."""
        self.frozen.difference_update(names or tuple(self.params))
        self._version += 1
        return self

    def zero_grad(self) -> None:
        """Set every gradient of this layer to zero."""
        for g in self.grads.values():
            backend.zero(g)

    def leaves(self) -> list[Layer]:
        """The leaf layers inside this one (itself, for a leaf)."""
        return [self]

    def astype(self, dtype: Any) -> Layer:
        """Convert parameters, gradients and buffers to ``dtype`` in place; returns self."""
        for d in (self.params, self.grads, self.buffers):
            for k, v in d.items():
                d[k] = backend.astype(v, dtype)
        self._version += 1
        return self

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (used by :mod:`bprop.io`)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Build the layer from :meth:`get_config`'s dictionary (what :func:`bprop.load` does)."""
        return cls(**config)

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        """The shapes of the ``params`` and ``buffers`` a layer built by ``from_config(config)``
        has, computed from the config alone (nothing allocated), so :mod:`bprop.io` can check a
        model file's size and arrays before building anything. Raises ValueError for a config
        whose sizes are not positive integers."""
        return {}, {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def config_size(config: dict[str, Any], key: str) -> int:
    """``config[key]`` as a size: a positive int (not a bool or float), else ValueError."""
    value = config.get(key) if isinstance(config, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return int(value)


def check_finite(name: str, a: Any) -> None:
    """Raise a clear ValueError if ``a`` holds NaN or infinity.

    A finite sum proves every element finite (NaN and ±inf propagate into it), so the exact
    element-wise test runs only when the sum is not finite (it may also just overflow)."""
    a = backend.to_numpy(a)
    if a.dtype.kind in "fc" and np.isfinite(a.sum()):
        return
    if not bool(np.all(np.isfinite(a))):
        raise ValueError(f"{name} contains NaN or infinity; clean or impute it before training")
