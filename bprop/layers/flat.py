"""One flat parameter buffer and one flat gradient buffer per model.

Each layer's ``params[name]`` and ``grads[name]`` become *views* into two contiguous vectors, so
zeroing every gradient is one ``fill`` and every update rule is a few vector operations on the
whole model per step, not a loop over layers. Frozen parameters are left out of the buffer: update
rules never see them (their gradients go to a private scratch array).

Example::

    >>> import bprop as bp
    >>> net = bp.Sequential(bp.Dense(2, 3), bp.Tanh(), bp.Dense(3, 1))
    >>> space = net.space
    >>> space.params.shape          # 2*3 + 3 + 3*1 + 1
    (13,)
    >>> net.layers[0].params["W"].base is space.params
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.base import Layer


@dataclass
class Slot:
    layer: Layer
    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        """The number of entries of the parameter."""
        return int(np.prod(self.shape, dtype=np.int64))


class ParamSpace:
    """The flat ``params``/``grads`` vectors of a set of layers, and where each parameter lives.

    ``decay_mask`` is 1.0 where L2 weight decay applies (weight matrices) and 0.0 elsewhere.
    """

    def __init__(self, layers: list[Layer]) -> None:
        xp = backend.get_xp()
        self.slots: list[Slot] = []
        dtypes = set()
        offset = 0
        for layer in layers:
            for name, value in layer.params.items():
                if name in layer.frozen:
                    continue
                self.slots.append(Slot(layer, name, offset, tuple(value.shape)))
                offset += int(value.size)
                dtypes.add(backend.np_dtype(value.dtype))
        if len(dtypes) > 1:
            raise ValueError(f"parameters have mixed dtypes {sorted(map(str, dtypes))}")
        dtype = backend.xp_dtype(dtypes.pop() if dtypes else None)
        self.params = xp.empty(offset, dtype=dtype)
        self.grads = xp.zeros(offset, dtype=dtype)
        self.decay_mask = xp.zeros(offset, dtype=dtype)
        for s in self.slots:
            p = xp.reshape(self.params[s.offset : s.offset + s.size], s.shape)
            p[...] = s.layer.params[s.name]
            s.layer.params[s.name] = p
            s.layer.grads[s.name] = xp.reshape(self.grads[s.offset : s.offset + s.size], s.shape)
            if s.name in s.layer.decay:
                self.decay_mask[s.offset : s.offset + s.size] = 1
        # frozen parameters get private gradient arrays (computed or not, never used)
        for layer in layers:
            for name in layer.frozen:
                if name in layer.params:
                    layer.grads[name] = xp.zeros_like(layer.params[name])

    @property
    def size(self) -> int:
        """The number of trainable entries (the length of the flat vector)."""
        return int(self.params.size)

    @property
    def dtype(self) -> Any:
        """The dtype of the flat parameter and gradient buffers."""
        return self.params.dtype

    def zero_grad(self) -> None:
        """Set the whole flat gradient buffer to zero (one fill)."""
        backend.zero(self.grads)

    def slot_of(self, index: int) -> tuple[Slot, tuple[int, ...]]:
        """Which parameter (and which element of it) flat position ``index`` belongs to."""
        for s in self.slots:
            if s.offset <= index < s.offset + s.size:
                return s, tuple(int(i) for i in np.unravel_index(index - s.offset, s.shape))
        raise IndexError(index)
