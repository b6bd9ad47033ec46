"""Quickprop (Fahlman 1988).

S. E. Fahlman, "An empirical study of learning speed in back-propagation networks",
Technical Report CMU-CS-88-162, Carnegie Mellon University, 1988 (and "Faster-learning
variations on back-propagation", Proc. 1988 Connectionist Models Summer School, 38–51).

Quickprop treats the error, as a function of each weight alone, as a parabola, and jumps to its
minimum using the current and previous slopes S(t) = ∂E/∂w(t) (+ decay·w(t), below) and the
previous weight change Δw(t−1)::

    Δw(t) = S(t) / (S(t−1) − S(t)) · Δw(t−1)                         (the quadratic jump)

Exactly the rule implemented here, per weight, with d = Δw(t−1), μ the maximum growth factor
and ε the learning rate:

0. **S(t) = 0** (the weight sits at a stationary point): Δw(t) = 0. The quadratic jump
   d·S(t)/(S(t−1) − S(t)) is 0 there — or 0/0 when S(t−1) = 0 as well, which rule 2's
   "infinite jump" test would read as S(t) = S(t−1) and answer with μ·d, growing the weight by
   the factor μ every epoch while its gradient stays exactly zero (a saturated unit, or a
   softmax whose float32 output already equals its target), until the weights overflow.
1. **d = 0** (the first step, or a weight at rest): plain gradient descent, Δw(t) = −ε·S(t).
2. **Max-growth switch.** If the quadratic step would be too large (more than μ·|d|),
   infinite (S(t) = S(t−1)) or uphill on the current slope, take Δw(t) = μ·d instead. For a
   previous downhill step all three cases are the one test  d·(S(t) − μ/(1+μ)·S(t−1)) ≤ 0
   (μ/(1+μ) is Fahlman's "shrink factor"); otherwise the quadratic jump is used.
3. **Gradient term.** −ε·S(t) is *added* to the step of 2 when the current slope still points
   along the previous step (d·S(t) < 0: the minimum has not been crossed), and left out when
   the minimum has been crossed (the quadratic step alone then lands between the last two
   points).

Fahlman's paper states rule 3 with the signs of the slopes ("… unless the current slope is
opposite in sign from the previous slope, in which case the quadratic term is used alone");
this implementation tests the sign of the current slope against the previous *step*, as
Fahlman's own reference code does. The two agree whenever the previous step was downhill on the
previous slope, which every Quickprop step is (each branch moves against S(t)).

Weight decay is Fahlman's: S(t) = ∂E/∂w(t) + decay·w(t), and the decayed slope is what is
stored and compared — which is exactly L2 weight decay chained in front of the bare step, so
``Quickprop(lr, mu, decay)`` is ``chain(add_decayed_weights(decay), scale_by_quickprop(lr,
mu))`` (without the first transform when decay = 0); the jump itself does not decompose
further, as it needs the raw slopes and the previous step together. Fahlman used decay = 1e-4
in his experiments; the default here is 0, so that the rule is the bare published update (on a
one-dimensional parabola the quadratic jump then lands exactly on the minimum) and weight decay
stays an explicit choice.

Defaults: ε = ``lr`` = 0.01 (no universal value exists: Fahlman tuned ε per problem, and it
scales with the loss's reduction; for XOR and the 8-3-8 encoder with E = ½ΣΣ(y − t)², ε of
order 1 works, and ``bench/rprop_epochs.py`` uses 1), μ = 1.75 (Fahlman's recommendation),
decay = 0. Not part of the update rule and not
included: Fahlman's other two changes (adding 0.1 to the sigmoid's derivative, and the
hyperbolic-arctangent error), which belong to the network and the loss.

State: ``prev_slope`` S(t−1) and ``prev_step`` Δw(t−1). Quickprop assumes full-batch
gradients; the trainer warns otherwise.

Example (f(w) = w², ε = 0.05)::

    >>> import numpy as np, bprop as bp
    >>> rule = bp.optim.Quickprop(lr=0.05)
    >>> w = np.array([1.0]); state = rule.init(w)
    >>> for _ in range(2):
    ...     upd, state = rule.update(2 * w, state, w)
    ...     w += upd
    >>> w.round(6).tolist()  # 1 − 0.1 = 0.9, then 0.9 + 1.75·(−0.1) − 0.05·1.8
    [0.635]
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp
from bprop.optim.base import Alias, State, UpdateRule, check_lr
from bprop.optim.registry import register
from bprop.optim.transforms import WeightDecay


@register
class ScaleByQuickprop(UpdateRule):
    """Fahlman's Quickprop step from the slopes it is given (see the module docs).

    Args:
        lr: ε > 0, the gradient-descent coefficient.
        mu: maximum growth factor μ > 0 (default 1.75).
    """

    requires_full_batch = True
    #: why, for the trainer's warning on other schedules
    full_batch_reason = (
        "its quadratic jump divides by the difference of successive slopes, which the noise "
        "of mini-batch gradients dominates"
    )

    def __init__(self, lr: float = 0.01, mu: float = 1.75) -> None:
        self.lr = check_lr(lr)
        if not mu > 0:
            raise ValueError(f"maximum growth factor mu must be positive, got {mu}")
        self.mu = float(mu)

    def init(self, params: Any) -> State:
        xp = get_xp()
        return {"prev_slope": xp.zeros_like(params), "prev_step": xp.zeros_like(params)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        xp = get_xp()
        p, d = state["prev_slope"], state["prev_step"]
        s = grads  # the slope S(t), decayed by a WeightDecay in front when there is one
        shrink = self.mu / (1.0 + self.mu)
        denom = p - s
        # rule 2: maximum step μ·d when the quadratic step is too large, infinite or uphill
        use_max = d * (s - shrink * p) <= 0
        use_max |= denom == 0
        ds = d * s
        denom[use_max] = 1  # unused there; avoids dividing by zero
        # the quadratic jump d·S/(S(t−1) − S), or μ·d
        step = xp.where(use_max, self.mu * d, ds / denom)
        # rules 1 and 3: the gradient term where d = 0 or the minimum was not crossed
        step -= xp.where(ds <= 0, self.lr * s, 0)
        # rule 0: no step where the slope is exactly zero (the jump d·0/(S(t−1) − 0) is 0)
        step[s == 0] = 0
        p[...] = s
        d[...] = step
        grads[...] = step
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "mu": self.mu}


@register
class Quickprop(Alias):
    """Fahlman's Quickprop with his weight decay: ``chain(add_decayed_weights(decay),
    scale_by_quickprop(lr, mu))`` (see the module docs for the exact rule).

    Args:
        lr: ε > 0, the gradient-descent coefficient.
        mu: maximum growth factor μ > 0 (default 1.75).
        decay: weight decay ≥ 0 added to each slope as decay·w (default 0; Fahlman used 1e-4).
    """

    def __init__(self, lr: float = 0.01, mu: float = 1.75, decay: float = 0.0) -> None:
        step = ScaleByQuickprop(lr, mu)
        if not decay >= 0:
            raise ValueError(f"decay must be non-negative, got {decay}")
        super().__init__(*([WeightDecay(decay)] if decay else []), step)
        self.lr, self.mu, self.decay = step.lr, step.mu, float(decay)

    def get_config(self) -> dict[str, Any]:
        return {"lr": self.lr, "mu": self.mu, "decay": self.decay}


#: the transform's name in optax's style
scale_by_quickprop = ScaleByQuickprop
