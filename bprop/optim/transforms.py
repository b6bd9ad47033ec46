"""The small transforms rules are made of; each composes with any other through
:class:`bprop.optim.Chain` (``chain``).

Each is an update rule that rewrites the vector it is given (in place) and passes it on. The
lower-case names are optax's, for the same transforms::

    chain(clip_by_global_norm(1.0), Adam())               # clip, then Adam
    chain(add_decayed_weights(1e-4), SGD(0.1, 0.9))       # L2 decay, then momentum
    chain(scale(-0.1), trace(0.9))                        # = SGD(0.1, momentum=0.9)

- ``Scale(step)`` (``scale``): u ← step·u. With step = −η it turns a direction into a
  gradient-descent step; every rule with a learning rate ends (or, for momentum, starts) with it.
- ``Trace(decay, nesterov=False)`` (``trace``): momentum. v ← decay·v + u, then u ← v
  (heavy ball), or u ← u + decay·v (Nesterov, in the form of Sutskever et al. 2013). State
  ``velocity``. After ``scale(−η)`` this is bprop's (and Rumelhart et al.'s) momentum,
  Δw(t) = −η g(t) + μ Δw(t−1), whose ``velocity`` is the previous weight change.
- ``ClipByValue(limit)`` (``clip_by_value``): gᵢ ← min(max(gᵢ, −limit), limit).
- ``ClipByGlobalNorm(max_norm)`` (``clip_by_global_norm``): g ← g · max_norm / ‖g‖₂ when
  ‖g‖₂ > max_norm, where the norm is over the whole model's flat gradient (Pascanu, Mikolov &
  Bengio 2013, "On the difficulty of training recurrent neural networks", ICML).
  ``torch.nn.utils.clip_grad_norm_`` scales by max_norm / (‖g‖ + 1e-6) instead; the difference
  is below 1e-6 relative.
- ``WeightDecay(rate)`` (``add_decayed_weights``): g ← g + rate·w, the gradient of
  ½·rate·‖w‖² (L2 regularisation, as the ``weight_decay`` argument of ``torch.optim`` rules).
  It applies to every parameter in the flat buffer, biases included; for decay on weight
  matrices only use the trainer's ``l2``. The loss passed on to later rules (for iRprop+ or the
  bold driver) does not include the penalty.

The transforms that turn gradients into steps live beside the rules they make:
``scale_by_adam``, ``scale_by_rms``, ``scale_by_adagrad`` (:mod:`bprop.optim.adaptive`),
``scale_by_rprop``, ``scale_by_quickprop``, ``scale_by_bold_driver``, and the learning-rate
schedules ``scale_by_schedule``, ``reduce_on_plateau`` (:mod:`bprop.optim.schedules`).

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.optim import chain, clip_by_global_norm, scale
    >>> rule = chain(clip_by_global_norm(1.0), scale(-0.1))
    >>> g = np.array([3.0, 4.0]); w = np.zeros(2)
    >>> rule.update(g, rule.init(w), w)[0].round(6).tolist()  # g scaled to norm 1, times −0.1
    [-0.06, -0.08]
"""

from __future__ import annotations

import math
from typing import Any

from bprop.backend import get_xp, into, numpy_like
from bprop.optim.base import Chain, State, UpdateRule
from bprop.optim.registry import register


@register
class Scale(UpdateRule):
    """Multiply the update by a constant ``step`` (``optax.scale``); −η for gradient descent."""

    def __init__(self, step: float) -> None:
        if not math.isfinite(step) or step == 0:
            raise ValueError(f"scale step must be a finite non-zero number, got {step}")
        self.step = float(step)
        self.constant_factor = self.step

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        grads *= self.step
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"step": self.step}


@register
class Trace(UpdateRule):
    """Momentum (``optax.trace``): v ← decay·v + u; u ← v, or u ← u + decay·v (Nesterov).

    Args:
        decay: the momentum μ in [0, 1).
        nesterov: Nesterov's look-ahead form (needs ``decay > 0``).
    """

    def __init__(self, decay: float, nesterov: bool = False) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"momentum must be in [0, 1), got {decay}")
        if nesterov and decay == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.decay, self.nesterov = float(decay), bool(nesterov)

    def init(self, params: Any) -> State:
        return {"velocity": get_xp().zeros_like(params)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        v = state["velocity"]
        v *= self.decay
        v += grads
        if self.nesterov:
            grads += self.decay * v
        else:
            grads[...] = v  # a copy: a rule chained after this one must not edit the velocity
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"decay": self.decay, "nesterov": self.nesterov}


@register
class ClipByValue(UpdateRule):
    """Clip every gradient element to [−limit, limit]."""

    def __init__(self, limit: float) -> None:
        if not limit > 0:
            raise ValueError(f"clip limit must be positive, got {limit}")
        self.limit = float(limit)

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        into(get_xp().clip, grads, -self.limit, self.limit, out=grads)
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
        dot = xp.vdot if numpy_like() else xp.vecdot  # vdot: BLAS on NumPy and CuPy
        norm_sq = float(dot(grads, grads))
        if math.isinf(norm_sq) and grads.dtype != xp.float64:  # float32 squares overflowed
            g64 = xp.astype(grads, xp.float64)
            norm_sq = float(dot(g64, g64))
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


#: optax's names for these transforms
chain = Chain
scale = Scale
trace = Trace
clip_by_value = ClipByValue
clip_by_global_norm = ClipByGlobalNorm
add_decayed_weights = WeightDecay
