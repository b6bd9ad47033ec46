"""The bold driver: gradient descent whose learning rate grows after every improvement and
shrinks, with the step undone, after an epoch that made the error worse.

The heuristic is from Vogl, Mangis, Rigler, Zink & Alkon (1988), "Accelerating the convergence
of the back-propagation method", Biological Cybernetics 59, 257–263; Battiti (1989),
"Accelerated backpropagation learning: two optimization methods", Complex Systems 3, named it
the *bold driver*. This class implements it exactly as MATLAB's Neural Network Toolbox does in
``traingda`` (``momentum=0``) and ``traingdx`` (``momentum > 0``), with their defaults
``lr_inc = 1.05``, ``lr_dec = 0.7``, ``max_perf_inc = 1.04``. With E the loss at a trial
point and E₀ the loss of the last accepted point::

    trial step      Δw = mc·Δw_prev − (1 − mc)·η·g(w₀)       (MATLAB's momentum convention;
                                                              Δw = −η g for mc = 0)
    E > max_perf_inc·E₀:   reject: η ← lr_dec·η, return to w₀, and restart the momentum, so
                           the next trial is the plain step −η·g(w₀) with the smaller η
    otherwise:             accept: w₀ ← w₀ + Δw; if E < E₀ also η ← lr_inc·η

The first step (and the first after a rejection) is −η·g, as MATLAB starts with Δw_prev = −η·g.
"Worse by more than the tolerance" is tested as E − E₀ > (max_perf_inc − 1)·|E₀|, which is
MATLAB's E/E₀ > max_perf_inc for the non-negative losses MATLAB has, and stays meaningful for a
loss that can be negative.

**How this maps onto** ``update(grads, state, params, loss)``: the rule sees each point once,
with its loss E and gradient. A rejection is therefore one call that returns −Δw (the negated
previous step, undoing it); the trainer then evaluates w₀ again and the next call takes the
retry step from there. The accepted points and learning rates are exactly MATLAB's; each
rejection costs one extra epoch (MATLAB reuses the stored gradient at w₀ instead). The undo is
exact up to floating-point rounding of (w₀ + Δw) − Δw.

Requires ``loss``; comparing the losses of different mini-batches is meaningless, so the rule
is meant for full-batch training and the trainer warns on other schedules.

**Why the momentum stays a parameter** (rather than a ``trace`` chained after the rule): it
is not the same momentum, and it cannot be a separate transform. MATLAB's traingdx damps the
gradient term by (1 − mc), where ``trace`` adds the full step; and the momentum is part of the
undo — a rejection must revert the last step *including* its momentum, and restart the
momentum from zero — so the velocity and the accept/reject decision are one piece of state
that no transform after the rule could see. ``BoldDriver(...)`` is therefore the single
transform ``scale_by_bold_driver(...)`` under its saved name.

State: ``lr`` (the current η), ``prev_loss`` (E₀ of the point the last step started from, or
None when no trial is pending) and ``velocity`` (the last trial step Δw).

Example (f(w) = w²; η doubles on each improvement until a step overshoots)::

    >>> import numpy as np, bprop as bp
    >>> rule = bp.optim.BoldDriver(lr=0.4, increase=2.0, decrease=0.5)
    >>> w = np.array([1.0]); state = rule.init(w)
    >>> for _ in range(4):
    ...     upd, state = rule.update(2 * w, state, w, loss=float(w[0] ** 2))
    ...     w += upd
    >>> round(state["lr"], 4), w.round(4).tolist()  # w: 1 → 0.2 → −0.12 → 0.264 (worse) → −0.12
    (0.8, [-0.12])
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp, into
from bprop.optim.base import Alias, State, UpdateRule, check_lr
from bprop.optim.registry import register


@register
class ScaleByBoldDriver(UpdateRule):
    """Adaptive-learning-rate gradient descent (MATLAB ``traingda``/``traingdx``), as a
    transform: the step it returns includes η, the momentum and the undo.

    Args:
        lr: initial learning rate η > 0 (MATLAB default 0.01).
        increase: factor > 1 applied to η after an improvement (``lr_inc``, 1.05).
        decrease: factor in (0, 1) applied to η after a rejected step (``lr_dec``, 0.7).
        max_perf_inc: a step is rejected when the loss grows by more than this ratio
            (``max_perf_inc``, 1.04; 1.0 rejects every increase).
        momentum: momentum constant mc in [0, 1) (0: ``traingda``; MATLAB's ``traingdx`` uses
            0.9), in MATLAB's form Δw = mc·Δw_prev − (1 − mc)·η·g.
    """

    requires_full_batch = True
    #: why, for the trainer's warning on other schedules
    full_batch_reason = (
        "it compares the losses before and after each step, and the losses of different "
        "mini-batches are not comparable"
    )

    def __init__(
        self,
        lr: float = 0.01,
        increase: float = 1.05,
        decrease: float = 0.7,
        max_perf_inc: float = 1.04,
        momentum: float = 0.0,
    ) -> None:
        lr = check_lr(lr)
        if not increase >= 1:
            raise ValueError(f"increase must be at least 1, got {increase}")
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be in (0, 1), got {decrease}")
        if not max_perf_inc >= 1:
            raise ValueError(f"max_perf_inc must be at least 1, got {max_perf_inc}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.increase, self.decrease = float(lr), float(increase), float(decrease)
        self.max_perf_inc, self.momentum = float(max_perf_inc), float(momentum)

    def init(self, params: Any) -> State:
        return {"lr": self.lr, "prev_loss": None, "velocity": get_xp().zeros_like(params)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        if loss is None:
            raise ValueError(
                "the bold driver compares successive losses: call update(grads, state, "
                "params, loss=E) with the loss at the current weights"
            )
        xp = get_xp()
        loss = float(loss)
        lr, base, v = state["lr"], state["prev_loss"], state["velocity"]
        if base is not None and loss - base > (self.max_perf_inc - 1.0) * abs(base):
            # worse by more than the tolerance: shrink η, undo the trial step, restart momentum
            state["lr"] = lr * self.decrease
            state["prev_loss"] = None
            into(xp.negative, v, out=grads)
            v[...] = grads
            return grads, state
        if base is None:  # first step, or retry after a rejection: plain −η·g
            grads *= -lr
            v[...] = grads
        else:  # accepted
            if loss < base:
                lr *= self.increase
                state["lr"] = lr
            v *= self.momentum
            v -= ((1.0 - self.momentum) * lr) * grads
            grads[...] = v
        state["prev_loss"] = loss
        return grads, state

    def get_config(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "increase": self.increase,
            "decrease": self.decrease,
            "max_perf_inc": self.max_perf_inc,
            "momentum": self.momentum,
        }


@register
class BoldDriver(Alias):
    """The bold driver (MATLAB ``traingda``/``traingdx``): the transform
    ``scale_by_bold_driver(...)`` alone, under the name saved files use.

    Args: as :class:`ScaleByBoldDriver`.
    """

    def __init__(
        self,
        lr: float = 0.01,
        increase: float = 1.05,
        decrease: float = 0.7,
        max_perf_inc: float = 1.04,
        momentum: float = 0.0,
    ) -> None:
        inner = ScaleByBoldDriver(lr, increase, decrease, max_perf_inc, momentum)
        super().__init__(inner)
        self.lr, self.increase, self.decrease = inner.lr, inner.increase, inner.decrease
        self.max_perf_inc, self.momentum = inner.max_perf_inc, inner.momentum

    def get_config(self) -> dict[str, Any]:
        return self.transforms[0].get_config()


#: the transform's name in optax's style
scale_by_bold_driver = ScaleByBoldDriver
