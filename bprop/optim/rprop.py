"""Resilient backpropagation (Rprop) in its four published variants.

Rprop adapts one step size Δᵢⱼ per weight from the *signs* of successive full-batch gradients
gᵢⱼ(t) = ∂E/∂wᵢⱼ(t); the size of the gradient is never used. Per weight, with
p = g(t−1)·g(t)::

    p > 0:  Δ(t) = min(η⁺·Δ(t−1), Δmax)    Δw(t) = −sign(g(t))·Δ(t)
    p < 0:  Δ(t) = max(η⁻·Δ(t−1), Δmin)    then, depending on the variant:
              Rprop+   Δw(t) = −Δw(t−1)                       (backtrack), g(t) := 0
              Rprop−   Δw(t) = −sign(g(t))·Δ(t)               (step with the smaller Δ)
              iRprop+  Δw(t) = −Δw(t−1) if E(t) > E(t−1) else 0,        g(t) := 0
              iRprop−  Δw(t) = 0,                                        g(t) := 0
    p = 0:  Δ(t) = Δ(t−1)                  Δw(t) = −sign(g(t))·Δ(t)
    w(t+1) = w(t) + Δw(t)

"g(t) := 0" means the gradient is *forgotten*: the next step sees p = 0, so Δ is not adapted
twice for one sign change and the next step is a plain −sign(g)·Δ step. At t = 1 the previous
gradient is 0, so the first step is −sign(g)·Δ0 for every variant.

- **Rprop+** (Riedmiller & Braun 1993, "A direct adaptive method for faster backpropagation
  learning: the RPROP algorithm", Proc. IEEE ICNN, 586–591) is the original algorithm, with
  weight-backtracking: after a sign change the previous weight change is reverted
  (Δw(t) = −Δw(t−1), as the paper writes it).
- **Rprop−**, **iRprop+** and **iRprop−** are from Igel & Hüsken (2000), "Improving the Rprop
  learning algorithm", Proc. NC 2000, 115–121, and (2003) "Empirical evaluation of the improved
  Rprop learning algorithms", Neurocomputing 50, 105–123. Rprop− drops backtracking;
  iRprop+ backtracks only when the error E rose since the previous epoch; iRprop− drops
  backtracking but still forgets the gradient, so a sign change costs one idle step.

Only Rprop+ and iRprop+ read the previous weight change, and only iRprop+ reads the loss
(``update(..., loss=E(t))``, the error at the current weights; it raises without one).
Where a Rprop+/iRprop+ step is a sign-change step, the stored "previous weight change" is the
change actually made (−Δw(t−1), or 0); it is never read, because the next step sees p = 0.

The step sizes are updated by clipping every Δ to [Δmin, Δmax] after multiplying by
η⁺/η⁻/1; since Δmin ≤ Δ0 ≤ Δmax is required, this equals the paper's min/max per case.

State (a flat dict, saved with the model): ``step_size`` (Δ), ``prev_sign`` (sign of g(t−1),
0 where forgotten) for every variant; ``prev_update`` (Δw(t−1)) for Rprop+ and iRprop+;
``prev_loss`` (E(t−1), None before the first step) for iRprop+. Keeping sign(g) rather than g
makes no difference to any decision, since only sign(g(t−1)·g(t)) is used, and avoids one
pitfall of storing g: in float32 the product of two tiny gradients (say 1e-25 · 1e-25)
underflows to 0 and would be mistaken for p = 0.

**PyTorch.** ``torch.optim.Rprop`` is iRprop−: ``Rprop("irprop-", delta0=lr,
eta_minus=etas[0], eta_plus=etas[1], delta_min=step_sizes[0], delta_max=step_sizes[1])``
takes the same steps (``bench/bench_rprop.py`` finds the weights bit-identical until some
gradient component is zero to round-off). PyTorch's ``etas=(0.5, 1.2)`` and
``step_sizes=(1e-6, 50)`` are the papers' values, but its ``lr=0.01`` (Δ0) is not: the
default here is the papers' Δ0 = 0.1. PyTorch keeps g(t−1) and tests sign(g(t−1)·g(t)), so
where that product underflows (float32 gradients below ~1e-23) it treats a sign change or a
repeat as p = 0; the two implementations differ only there. PyTorch has no Rprop+, Rprop− or
iRprop+.

**As a transform.** The step does not decompose into smaller transforms — its sizes come from
the signs of successive gradients, and the backtracking reverts the previous *step* — so
``Rprop(variant, …)`` is the single transform ``scale_by_rprop(variant, …)``
(:class:`ScaleByRprop`) under the name saved files use. It returns the step itself (optax's
``scale_by_rprop`` returns it with the opposite sign, for a ``scale(−1)`` after it).

Rprop assumes full-batch gradients (the sign of a mini-batch gradient flips by noise alone);
the trainer warns when it meets another schedule.

Example (f(w) = w², first steps from w = 1)::

    >>> import numpy as np, bprop as bp
    >>> rule = bp.optim.Rprop("irprop-")
    >>> w = np.array([1.0]); state = rule.init(w)
    >>> for _ in range(3):
    ...     upd, state = rule.update(2 * w, state, w)
    ...     w += upd
    >>> w.round(6).tolist()  # 1 − 0.1 − 0.12 − 0.144
    [0.636]
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp, into
from bprop.optim.base import Alias, State, UpdateRule
from bprop.optim.registry import register

VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-")


@register
class ScaleByRprop(UpdateRule):
    """The Rprop step Δw(t) of one variant (see the module docs); a transform of its own, as
    its step sizes come from gradient signs alone (optax's ``scale_by_rprop`` followed by
    ``scale(−1)``: this one returns the step itself, backtracking included).

    Args:
        variant: ``"rprop+"`` (Riedmiller & Braun 1993), ``"rprop-"``, ``"irprop+"`` or
            ``"irprop-"`` (Igel & Hüsken 2000).
        eta_plus: step-size growth factor η⁺ > 1 (default 1.2).
        eta_minus: step-size shrink factor 0 < η⁻ < 1 (default 0.5).
        delta0: initial step size Δ0 (default 0.1).
        delta_max: largest step size Δmax (default 50).
        delta_min: smallest step size Δmin ≥ 0 (default 1e-6).
    """

    requires_full_batch = True
    #: why, for the trainer's warning on other schedules
    full_batch_reason = (
        "its step sizes adapt to sign changes between successive gradients, and the sign of a "
        "mini-batch gradient flips by sampling noise alone"
    )

    def __init__(
        self,
        variant: str = "irprop-",
        eta_plus: float = 1.2,
        eta_minus: float = 0.5,
        delta0: float = 0.1,
        delta_max: float = 50.0,
        delta_min: float = 1e-6,
    ) -> None:
        v = str(variant).lower().replace("\u2212", "-")  # accept the typographic minus
        if v not in VARIANTS:
            raise ValueError(f"unknown Rprop variant {variant!r}; choose one of {VARIANTS}")
        if not eta_plus > 1:
            raise ValueError(f"eta_plus must be greater than 1, got {eta_plus}")
        if not 0 < eta_minus < 1:
            raise ValueError(f"eta_minus must be in (0, 1), got {eta_minus}")
        if not delta0 > 0:
            raise ValueError(f"delta0 (the initial step size) must be positive, got {delta0}")
        if not 0 <= delta_min <= delta0 <= delta_max:
            raise ValueError(
                "step sizes must satisfy 0 <= delta_min <= delta0 <= delta_max, got "
                f"delta_min={delta_min}, delta0={delta0}, delta_max={delta_max}"
            )
        self.variant = v
        self.eta_plus, self.eta_minus = float(eta_plus), float(eta_minus)
        self.delta0, self.delta_max, self.delta_min = (
            float(delta0),
            float(delta_max),
            float(delta_min),
        )
        self._backtracks = v in ("rprop+", "irprop+")
        self._forgets = v != "rprop-"
        self._tables: dict[tuple[str, Any], Any] = {}  # factor tables by (backend, dtype)

    def init(self, params: Any) -> State:
        xp = get_xp()
        state: State = {
            "step_size": xp.full_like(params, self.delta0),
            "prev_sign": xp.zeros_like(params),
        }
        if self._backtracks:
            state["prev_update"] = xp.zeros_like(params)
        if self.variant == "irprop+":
            state["prev_loss"] = None
        return state

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        xp = get_xp()
        if self.variant == "irprop+" and loss is None:
            raise ValueError(
                "iRprop+ needs the loss at the current weights: call update(grads, state, "
                "params, loss=E)"
            )
        step, prev = state["step_size"], state["prev_sign"]
        sign = into(xp.sign, grads, out=grads)  # grads now holds sign(g(t))
        p = sign * prev  # sign of g(t−1)·g(t): +1, −1 or 0
        # Δ ← Δ·(η⁻, 1, η⁺)[p + 1], exactly, by table look-up (masked ufuncs are slow)
        step *= xp.take(self._factor_table(step.dtype), xp.astype(p + 1, xp.int8))
        into(xp.minimum, step, self.delta_max, out=step)
        into(xp.maximum, step, self.delta_min, out=step)
        if self._forgets:
            keep = into(xp.minimum, p, 0.0, out=p)
            keep += 1  # 0 where the sign changed, 1 elsewhere
            sign *= keep  # forget g(t) where its sign changed
        prev[...] = sign
        upd = into(xp.multiply, sign, step, out=grads)
        into(xp.negative, upd, out=upd)  # −sign(g)·Δ; 0 where forgotten
        if self._backtracks:
            last = state["prev_update"]
            revert = True
            if self.variant == "irprop+":  # revert only if the error rose
                prev_loss = state["prev_loss"]
                revert = prev_loss is not None and float(loss) > prev_loss
                state["prev_loss"] = float(loss)
            if revert:
                changed = into(xp.subtract, 1.0, keep, out=keep)  # 1 where the sign changed
                changed *= last
                upd -= changed  # −Δw(t−1) where the sign changed (upd is 0 there)
            last[...] = upd
        return upd, state

    def _factor_table(self, dtype: Any) -> Any:
        """(η⁻, 1, η⁺) in ``dtype``, indexed by p + 1."""
        xp = get_xp()
        key = (xp.__name__, dtype)  # dtypes hash by value; str(dtype) costs µs per step
        table = self._tables.get(key)
        if table is None:
            table = xp.asarray([self.eta_minus, 1.0, self.eta_plus], dtype=dtype)
            self._tables[key] = table
        return table

    def get_config(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "eta_plus": self.eta_plus,
            "eta_minus": self.eta_minus,
            "delta0": self.delta0,
            "delta_max": self.delta_max,
            "delta_min": self.delta_min,
        }


@register
class Rprop(Alias):
    """Resilient backpropagation: Rprop+, Rprop−, iRprop+ or iRprop− (see the module docs):
    the transform ``scale_by_rprop(variant, ...)`` alone, under the name saved files use.

    Args: as :class:`ScaleByRprop`.
    """

    def __init__(
        self,
        variant: str = "irprop-",
        eta_plus: float = 1.2,
        eta_minus: float = 0.5,
        delta0: float = 0.1,
        delta_max: float = 50.0,
        delta_min: float = 1e-6,
    ) -> None:
        inner = ScaleByRprop(variant, eta_plus, eta_minus, delta0, delta_max, delta_min)
        super().__init__(inner)
        self.variant, self.eta_plus, self.eta_minus = inner.variant, inner.eta_plus, inner.eta_minus
        self.delta0, self.delta_max, self.delta_min = inner.delta0, inner.delta_max, inner.delta_min

    def get_config(self) -> dict[str, Any]:
        return self.transforms[0].get_config()


#: optax's name for the transform
scale_by_rprop = ScaleByRprop
