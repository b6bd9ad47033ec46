"""Small gradient transforms that compose with any rule through :class:`bprop.optim.Chain`.

Each is an update rule with no state that rewrites the gradient it is given (in place) and
passes it on, so it goes *before* the rule that turns gradients into steps::

    Chain(ClipByGlobalNorm(1.0), Adam())          # clip, then Adam
    Chain(WeightDecay(1e-4), SGD(0.1, 0.9))       # L2 decay, then momentum

- ``ClipByValue(limit)``: gᵢ ← min(max(gᵢ, −limit), limit), element by element.
- ``ClipByGlobalNorm(max_norm)``: g ← g · max_norm / ‖g‖₂ when ‖g‖₂ > max_norm, where the norm is
  over the whole model's flat gradient (Pascanu, Mikolov & Bengio 2013, "On the difficulty of
  training recurrent neural networks", ICML). ``torch.nn.utils.clip_grad_norm_`` scales by
  max_norm / (‖g‖ + 1e-6) instead; the difference is below 1e-6 relative.
- ``WeightDecay(rate)``: g ← g + rate·w, the gradient of ½·rate·‖w‖² (L2 regularisation, as the
  ``weight_decay`` argument of ``torch.optim`` rules). It applies to every parameter in the
  flat buffer, biases included; for decay on weight matrices only use the trainer's ``l2``.
  The loss passed on to later rules (for iRprop+ or the bold driver) does not include the
  penalty.

Example::

    >>> import numpy as np, bprop as bp
    >>> rule = bp.Chain(bp.optim.ClipByGlobalNorm(1.0), bp.SGD(lr=0.1))
    >>> g = np.array([3.0, 4.0]); w = np.zeros(2)
    >>> rule.update(g, rule.init(w), w)[0].round(6).tolist()  # g scaled to norm 1, times −0.1
    [-0.06, -0.08]
"""

from __future__ import annotations

import math
from typing import Any

from bprop.backend import get_xp
from bprop.optim.base import State, UpdateRule
from bprop.optim.registry import register


@register
class ClipByValue(UpdateRule):
    """Clip every gradient element to [−limit, limit]."""

    def __init__(self, limit: float) -> None:
        if not limit > 0:
            raise ValueError(f"clip limit must be positive, got {limit}")
        self.limit = float(limit)

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        get_xp().clip(grads, -self.limit, self.limit, out=grads)
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"limit": self.limit}


@register
class ClipByGlobalNorm(UpdateRule):
    """Rescale the whole gradient to Euclidean norm ``max_norm`` when it is longer."""

    def __init__(self, max_norm: float) -> None:
        if not max_norm > 0:
            raise ValueError(f"max_norm must be positive, got {max_norm}")
        self.max_norm = float(max_norm)

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        xp = get_xp()
        norm_sq = float(xp.vdot(grads, grads))
        if math.isinf(norm_sq) and grads.dtype != xp.float64:  # float32 squares overflowed
            norm_sq = float(xp.vdot(grads.astype(xp.float64), grads.astype(xp.float64)))
        norm = math.sqrt(norm_sq)
        if norm > self.max_norm:
            grads *= self.max_norm / norm
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"max_norm": self.max_norm}


@register
class WeightDecay(UpdateRule):
    """Add ``rate``·w to the gradient (L2 weight decay); chain it before the rule."""

    def __init__(self, rate: float) -> None:
        if not rate >= 0:
            raise ValueError(f"weight decay rate must be non-negative, got {rate}")
        self.rate = float(rate)

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        if self.rate:
            grads += self.rate * params
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}
