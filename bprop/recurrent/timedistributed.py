"""TimeDistributed: one layer applied at every time step of a batch of sequences.

It maps (N, T, F) to (N·T, F) rows (:mod:`bprop.layout`: no copy for a Recurrent layer's
time-major outputs), runs the layer once on all of them, and maps back; its backward pass is
the layer's, on the same rows. With ``lengths`` (a padded batch of variable-length sequences,
:mod:`bprop.recurrent.lengths`) the layer runs on the real steps' rows only — so a
BatchNorm's statistics hold no padding — the outputs at padded steps are zero and no gradient
flows from them.
"""

from __future__ import annotations

from typing import Any

from bprop import backend, layout
from bprop.layers.base import Layer, Shapes
from bprop.recurrent import lengths as padded


class TimeDistributed(Layer):
    """Apply ``layer`` to every time step: (N, T, F) → (N·T, F) → layer → (N, T, K).

    The layer's parameters are shared (the same arrays). Inputs of any other rank are passed
    to the layer unchanged, so a TimeDistributed Dense also works after a sequence-to-one
    Recurrent.

    Example::

        >>> import numpy as np, bprop as bp
        >>> from bprop.recurrent import TimeDistributed
        >>> TimeDistributed(bp.Dense(4, 2, rng=0))(np.ones((3, 5, 4))).shape
        (3, 5, 2)
    """

    takes_lengths = True

    def __init__(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed needs a Layer, got {type(layer).__name__}")
        if len(layer.leaves()) != 1 or layer.leaves()[0] is not layer:
            raise ValueError("TimeDistributed wraps a single (leaf) layer, e.g. Dense")
        super().__init__()
        self.layer = layer
        self.params, self.grads, self.buffers = layer.params, layer.grads, layer.buffers
        self.frozen, self.decay = layer.frozen, layer.decay

    @property
    def _version(self) -> int:  # type: ignore[override]
        return self.layer._version

    @_version.setter
    def _version(self, value: int) -> None:
        if "layer" in self.__dict__:
            self.layer._version = value

    @property
    def n_in(self) -> Any:
        """The wrapped layer's input width (None if it has none, e.g. an activation)."""
        return getattr(self.layer, "n_in", None)

    @property
    def n_out(self) -> Any:
        """The wrapped layer's output width (None if it has none, e.g. an activation)."""
        return getattr(self.layer, "n_out", None)

    def forward(self, x: Any, train: bool = False, lengths: Any = None) -> tuple[Any, Any]:
        if x.ndim != 3:
            y, cache = self.layer.forward(x, train)
            return y, (None, cache)
        N, T, F = x.shape
        if lengths is not None:  # the real steps only, as rows (BatchNorm sees no padding)
            m = padded.mask(padded.check_lengths(lengths, N, T), T)
            y_real, cache = self.layer.forward(x[m], train)
            y = backend.get_xp().zeros((N, T, *y_real.shape[1:]), dtype=y_real.dtype)
            y[m] = y_real
            return y, ((N, T, False, (m, tuple(x.shape[2:]))), cache)
        x2, time_major = layout.rows(x)  # no copy for a Recurrent's (time-major) outputs either
        y, cache = self.layer.forward(x2, train)
        return layout.unrows(y, N, T, time_major), ((N, T, time_major, None), cache)

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        shape, inner = cache
        if shape is None:
            return self.layer.backward(dy, inner, need_dx)
        N, T, time_major, masked = shape
        if masked is not None:  # nothing flows from (or to) padded steps
            m, rest = masked
            dx_real = self.layer.backward(dy[m], inner, need_dx)
            if dx_real is None:
                return None
            dx = backend.get_xp().zeros((N, T, *rest), dtype=dx_real.dtype)
            dx[m] = dx_real
            return dx
        dx = self.layer.backward(layout.rows_like(dy, time_major), inner, need_dx)
        return None if dx is None else layout.unrows(dx, N, T, time_major)

    def get_config(self) -> dict[str, Any]:
        return {"layer": {"type": type(self.layer).__name__, "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        from bprop.layers import LAYERS

        spec = config["layer"]
        inner = LAYERS.get(spec.get("type", ""))
        if inner is None:
            raise ValueError(f"unknown layer type {spec.get('type')!r}")
        return cls(inner.from_config(spec.get("config", {})))

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        from bprop.layers import LAYERS, Sequential

        spec = config.get("layer")
        inner = LAYERS.get(spec.get("type", "")) if isinstance(spec, dict) else None
        if inner is None or inner is Sequential:
            raise ValueError(f"TimeDistributed wraps a single registered layer, got {spec!r}")
        return inner.declared_shapes(spec.get("config", {}))

    def __repr__(self) -> str:
        return f"TimeDistributed({self.layer!r})"
