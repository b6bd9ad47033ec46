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
        # the slots zero_grad(lazy=True) leaves to their layer's first gradient, and the ranges
        # of the others, which it fills
        # (not for a layer listed twice: its gradient views point into its last slots only)
        count: dict[tuple[int, str], int] = {}
        for s in self.slots:
            count[id(s.layer), s.name] = count.get((id(s.layer), s.name), 0) + 1
        twice = {key[0] for key, n in count.items() if n > 1}
        self._lazy = [
            s for s in self.slots if s.layer.assigns_first_gradient and id(s.layer) not in twice
        ]
        self._filled: list[tuple[int, int]] = []
        for s in self.slots:
            if s in self._lazy:
                s.layer.unwritten = set()
            elif self._filled and self._filled[-1][1] == s.offset:
                self._filled[-1] = (self._filled[-1][0], s.offset + s.size)
            else:
                self._filled.append((s.offset, s.offset + s.size))
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

    def zero_grad(self, lazy: bool = False) -> None:
        """Set the whole flat gradient buffer to zero (one fill).

        ``lazy=True`` (the trainer's steps): the gradients of layers that can *write* their
        first gradient instead of adding it to zeros (``assigns_first_gradient``, e.g. Dense:
        ∂L/∂W = xᵀδ straight into the buffer by the matrix product) are only marked
        ``unwritten``, which saves a fill and an addition pass over them; :meth:`finish_grads`
        must then run before the gradient is read. The result is the same gradient (a sum
        with zeros is exact)."""
        if not lazy or not self._lazy:
            backend.zero(self.grads)
            for s in self._lazy:
                s.layer.unwritten.discard(s.name)
            return
        for a, b in self._filled:
            backend.zero(self.grads[a:b])
        for s in self._lazy:
            s.layer.unwritten.add(s.name)

    def finish_grads(self) -> None:
        """After a backward pass that began with ``zero_grad(lazy=True)``: zero the gradients
        no backward wrote (a layer that did not run, a frozen input path), so the buffer holds
        the whole gradient."""
        for s in self._lazy:
            if s.name in s.layer.unwritten:
                s.layer.unwritten.discard(s.name)
                backend.zero(self.grads[s.offset : s.offset + s.size])

    def slot_of(self, index: int) -> tuple[Slot, tuple[int, ...]]:
        """Which parameter (and which element of it) flat position ``index`` belongs to."""
        for s in self.slots:
            if s.offset <= index < s.offset + s.size:
                return s, tuple(int(i) for i in np.unravel_index(index - s.offset, s.shape))
        raise IndexError(index)
