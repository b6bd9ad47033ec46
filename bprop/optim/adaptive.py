"""Per-weight adaptive learning rates from gradient statistics: AdaGrad, RMSprop, Adam.

All three divide the gradient by a running root-mean-square of past gradients. Where ε goes
matters for exact comparisons; here it is *added to the square root*, as in each paper's
formula and in ``torch.optim`` (so equal settings give equal steps)::

    AdaGrad   G(t) = G(t−1) + g²                    Δw = −η g / (√G(t) + ε)
    RMSprop   r(t) = ρ r(t−1) + (1 − ρ) g²          Δw = −η g / (√r(t) + ε)
    Adam      m(t) = β₁ m(t−1) + (1 − β₁) g          m̂ = m(t) / (1 − β₁ᵗ)
              v(t) = β₂ v(t−1) + (1 − β₂) g²         v̂ = v(t) / (1 − β₂ᵗ)
                                                    Δw = −η m̂ / (√v̂ + ε)

- AdaGrad: Duchi, Hazan & Singer (2011), "Adaptive subgradient methods for online learning and
  stochastic optimization", JMLR 12, 2121–2159 (the diagonal version, δ = ε added to √G).
  Defaults η = 0.01, ε = 1e-10, G(0) = 0, as ``torch.optim.Adagrad`` (without its optional
  ``lr_decay``, which is not in the paper).
- RMSprop: Tieleman & Hinton (2012), "Lecture 6.5 — rmsprop", COURSERA: Neural Networks for
  Machine Learning. Defaults ρ = 0.9 (the lecture's "MeanSquare = 0.9·MeanSquare +
  0.1·grad²"), η = 0.001, ε = 1e-8. PyTorch's defaults differ (``alpha=0.99``, ``lr=0.01``);
  ``RMSprop(lr, rho=alpha, eps)`` equals ``torch.optim.RMSprop(lr, alpha, eps)`` (not centred,
  no momentum).
- Adam: Kingma & Ba (2015), "Adam: a method for stochastic optimization", ICLR, Algorithm 1.
  Defaults η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, as the paper and ``torch.optim.Adam``.
  The step is computed as PyTorch does, (η/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε), which is
  Algorithm 1 rearranged (not the paper's "ε̂" variant of §2, which moves ε).

Each rule is a transform that divides by the root mean square, then ``scale(−η)``:
``AdaGrad = chain(scale_by_adagrad(ε), scale(−η))``, ``RMSprop = chain(scale_by_rms(ρ, ε),
scale(−η))``, ``Adam = chain(scale_by_adam(β₁, β₂, ε), scale(−η))``, so a learning-rate
schedule or another scaling composes with the direction they compute. Weight decay is not built
in: chain :class:`bprop.optim.transforms.WeightDecay` in front (``Chain(WeightDecay(1e-4),
Adam())`` is ``torch.optim.Adam(weight_decay=1e-4)``).

Example::

    >>> import numpy as np, bprop as bp
    >>> w = np.array([1.0, -2.0]); rule = bp.optim.Adam(lr=0.1); state = rule.init(w)
    >>> upd, state = rule.update(np.array([3.0, -0.5]), state, w)
    >>> upd.round(6).tolist()  # Adam's first step is −η·sign(g) (up to ε)
    [-0.1, 0.1]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bprop.backend import get_xp, into
from bprop.ops.numba import njit
from bprop.optim.base import Alias, State, UpdateRule, check_lr
from bprop.optim.registry import register
from bprop.optim.transforms import Scale


def _adam_step(g: Any, m: Any, v: Any, b1, c1, b2, c2, s2, eps, scale) -> None:  # pragma: no cover
    """ScaleByAdam.update_scaled in one pass: the same float operations, in the same order, as
    its NumPy code (so the results are identical), without its dozen passes and temporaries."""
    for i in range(g.shape[0]):
        gi = g[i]
        mi = m[i] * b1 + c1 * gi
        vi = v[i] * b2 + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        g[i] = mi / (np.sqrt(vi) / s2 + eps) * scale


# error_model="numpy": x/0 gives inf as in NumPy, and no zero check keeps the loop vectorised;
# None without Numba
_fused_adam = njit(_adam_step, error_model="numpy")


def _check_eps(eps: float) -> float:
    if not eps >= 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    return float(eps)


def _check_decay_rate(name: str, value: float) -> float:
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


@register
class ScaleByAdagrad(UpdateRule):
    """g ← g / (√G + ε), G ← G + g² (``optax.scale_by_rss``, ε added to the root).
    State ``sum_sq`` (G)."""

    def __init__(self, eps: float = 1e-10, initial_accumulator: float = 0.0) -> None:
        self.eps = _check_eps(eps)
        if not initial_accumulator >= 0:
            raise ValueError(f"initial_accumulator must be non-negative, got {initial_accumulator}")
        self.initial_accumulator = float(initial_accumulator)

    def init(self, params: Any) -> State:
        return {"sum_sq": get_xp().full_like(params, self.initial_accumulator)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        G = state["sum_sq"]
        G += grads * grads
        denom = get_xp().sqrt(G)
        denom += self.eps
        grads /= denom
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"eps": self.eps, "initial_accumulator": self.initial_accumulator}


@register
class ScaleByRms(UpdateRule):
    """g ← g / (√r + ε), r ← ρ r + (1 − ρ) g² (``optax.scale_by_rms``, ε added to the root).
    State ``mean_sq`` (r)."""

    def __init__(self, rho: float = 0.9, eps: float = 1e-8) -> None:
        self.rho, self.eps = _check_decay_rate("rho", rho), _check_eps(eps)

    def init(self, params: Any) -> State:
        return {"mean_sq": get_xp().zeros_like(params)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        r = state["mean_sq"]
        r *= self.rho
        r += (1.0 - self.rho) * (grads * grads)
        denom = get_xp().sqrt(r)
        denom += self.eps
        grads /= denom
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"rho": self.rho, "eps": self.eps}


@register
class ScaleByAdam(UpdateRule):
    """g ← m̂ / (√v̂ + ε) with bias-corrected moments (``optax.scale_by_adam``), computed as
    (m / (√v / √(1 − β₂ᵗ) + ε)) · 1/(1 − β₁ᵗ). State ``m``, ``v`` and the step count ``t``.

    A following ``Scale(c)`` is folded into the last multiplication, c/(1 − β₁ᵗ), so
    ``chain(scale_by_adam(), scale(−η))`` rounds as PyTorch's Adam does.
    """

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.beta1 = _check_decay_rate("beta1", beta1)
        self.beta2 = _check_decay_rate("beta2", beta2)
        self.eps = _check_eps(eps)

    def init(self, params: Any) -> State:
        xp = get_xp()
        return {"m": xp.zeros_like(params), "v": xp.zeros_like(params), "t": 0.0}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        return self.update_scaled(grads, state, params, loss, 1.0)

    def update_scaled(
        self, grads: Any, state: State, params: Any, loss: float | None, factor: float
    ):
        xp = get_xp()
        t = state["t"] + 1.0
        m, v = state["m"], state["v"]
        bc1 = 1.0 - self.beta1**t
        bc2 = 1.0 - self.beta2**t
        state["t"] = t
        if (
            _fused_adam is not None
            and all(type(a) is np.ndarray and a.ndim == 1 for a in (grads, m, v))
            and grads.dtype == m.dtype == v.dtype
            and grads.dtype in (np.float32, np.float64)
        ):
            dt = grads.dtype.type  # the scalars as the NumPy code rounds them
            b1, b2 = self.beta1, self.beta2
            scalars = (b1, 1.0 - b1, b2, 1.0 - b2, math.sqrt(bc2), self.eps, factor / bc1)
            _fused_adam(grads, m, v, *(dt(c) for c in scalars))
            return grads, state
        m *= self.beta1
        m += (1.0 - self.beta1) * grads
        v *= self.beta2
        v += (1.0 - self.beta2) * (grads * grads)
        denom = xp.sqrt(v)
        denom /= math.sqrt(bc2)
        denom += self.eps
        into(xp.divide, m, denom, out=grads)
        grads *= factor / bc1
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


@register
class AdaGrad(Alias):
    """AdaGrad (Duchi, Hazan & Singer 2011): Δw = −η g / (√(Σ g²) + ε);
    ``chain(scale_by_adagrad(eps, initial_accumulator), scale(−lr))``.

    Args:
        lr: η > 0 (default 0.01).
        eps: ε ≥ 0 added to the square root (default 1e-10).
        initial_accumulator: G(0) ≥ 0 (default 0).
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-10, initial_accumulator: float = 0.0):
        self.lr = check_lr(lr)
        inner = ScaleByAdagrad(eps, initial_accumulator)
        super().__init__(inner, Scale(-self.lr))
        self.eps, self.initial_accumulator = inner.eps, inner.initial_accumulator

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "eps": self.eps, "initial_accumulator": self.initial_accumulator}


@register
class RMSprop(Alias):
    """RMSprop (Tieleman & Hinton 2012): Δw = −η g / (√r + ε), r = ρ r + (1 − ρ) g²;
    ``chain(scale_by_rms(rho, eps), scale(−lr))``.

    Args:
        lr: η > 0 (default 0.001).
        rho: decay ρ in [0, 1) of the mean square (default 0.9; PyTorch's ``alpha``).
        eps: ε ≥ 0 added to the square root (default 1e-8).
    """

    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-8) -> None:
        self.lr = check_lr(lr)
        inner = ScaleByRms(rho, eps)
        super().__init__(inner, Scale(-self.lr))
        self.rho, self.eps = inner.rho, inner.eps

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}


@register
class Adam(Alias):
    """Adam (Kingma & Ba 2015, Algorithm 1), with bias-corrected moments;
    ``chain(scale_by_adam(beta1, beta2, eps), scale(−lr))``.

    Args:
        lr: η > 0 (default 0.001).
        beta1, beta2: moment decay rates in [0, 1) (defaults 0.9, 0.999).
        eps: ε ≥ 0 added to √v̂ (default 1e-8).
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr = check_lr(lr)
        inner = ScaleByAdam(beta1, beta2, eps)
        super().__init__(inner, Scale(-self.lr))
        self.beta1, self.beta2, self.eps = inner.beta1, inner.beta2, inner.eps

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


#: optax's names for these transforms
scale_by_adagrad = ScaleByAdagrad
scale_by_rms = ScaleByRms
scale_by_adam = ScaleByAdam
