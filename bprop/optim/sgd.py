"""Gradient descent with optional heavy-ball or Nesterov momentum.

Plain gradient descent (the delta rule of Rumelhart, Hinton & Williams 1986)::

    Δw(t) = −η g(t)

Momentum ("heavy ball"; the α term of Rumelhart et al. 1986)::

    Δw(t) = −η g(t) + μ Δw(t−1)

Nesterov momentum, in the form of Sutskever et al. (2013) that evaluates the gradient at the
current weights (the same as ``torch.optim.SGD(nesterov=True)``)::

    v(t) = μ v(t−1) − η g(t)          Δw(t) = μ v(t) − η g(t)

With a constant η these equal PyTorch's v ← μv + g, w ← w − ηv (here Δw = −ηv).

The state is the previous weight change ``velocity`` (absent without momentum).

**As transforms.** ``SGD(lr, momentum, nesterov)`` is the chain ``scale(−η)`` then
``trace(μ, nesterov)`` (:mod:`bprop.optim.transforms`): the velocity accumulates steps, not
raw gradients, so it is the previous weight change, as saved files have always held it.
(optax's ``sgd`` puts ``trace`` first; with a constant η the two orders take the same steps.)

**"Recurrent backpropagation" with a forgetting factor.** One of the articles this library was
built from gives, under that name, the update Δw(t) = −η Σ_{k≤t} λ^{t−k} ∂E/∂w(k): past
gradients weighted by powers of a forgetting factor λ. That exponentially weighted sum of
gradients is heavy-ball momentum — v(t) = λ v(t−1) − η g(t), Δw(t) = v(t) unrolls to the same
sum — so it is ``SGD(lr=η, momentum=λ)``, not a recurrent-network algorithm. Recurrent
backpropagation in the literature is Almeida–Pineda (:mod:`bprop.recurrent.rbp`).

Example::

    >>> import numpy as np, bprop as bp
    >>> rule = bp.SGD(lr=0.5, momentum=0.9)
    >>> w = np.array([1.0]); state = rule.init(w)
    >>> for _ in range(2):
    ...     upd, state = rule.update(2 * w, state, w)  # gradient of w²
    ...     w += upd
    >>> w.round(3).tolist()  # w=1 → 0 → 0 + 0.9·(−1) − 0.5·0 = −0.9
    [-0.9]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops.numba import njit
from bprop.optim.base import Alias, State, check_lr
from bprop.optim.registry import register
from bprop.optim.transforms import Scale, Trace


def _momentum_step(p: Any, v: Any, g: Any, lr: Any, mu: Any) -> None:  # pragma: no cover
    for i in range(p.shape[0]):
        vi = v[i] * mu + g[i] * -lr  # the same float operations, in the same order, as update
        v[i] = vi
        p[i] += vi


_fused_momentum = njit(_momentum_step)  # None without Numba


@register
class SGD(Alias):
    """Stochastic/batch gradient descent with optional (Nesterov) momentum:
    ``chain(scale(−lr), trace(momentum, nesterov))`` (no trace without momentum).

    Args:
        lr: learning rate η > 0.
        momentum: μ in [0, 1); 0 is plain gradient descent.
        nesterov: use Nesterov momentum (needs ``momentum > 0``).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr = check_lr(lr)
        momentum_part = [Trace(momentum, nesterov)] if momentum or nesterov else []
        super().__init__(Scale(-self.lr), *momentum_part)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def apply(self, grads: Any, state: State, params: Any, loss: float | None = None) -> State:
        """Heavy-ball momentum in one fused pass on NumPy (v ← μv − ηg; w ← w + v per
        element) instead of four; the other cases use the definition in the base class."""
        if (
            _fused_momentum is None
            or not self.momentum
            or self.nesterov
            or type(params) is not np.ndarray
            or params.dtype != grads.dtype
        ):
            return super().apply(grads, state, params, loss)
        v = state["velocity"]
        dt = params.dtype.type
        _fused_momentum(params, v, grads, dt(self.lr), dt(self.momentum))
        return state

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


def Momentum(lr: float = 0.01, momentum: float = 0.9) -> SGD:  # noqa: N802 - reads as a rule
    """Heavy-ball momentum: ``SGD(lr, momentum)``."""
    return SGD(lr, momentum)


def Nesterov(lr: float = 0.01, momentum: float = 0.9) -> SGD:  # noqa: N802
    """Nesterov momentum: ``SGD(lr, momentum, nesterov=True)``."""
    return SGD(lr, momentum, nesterov=True)
