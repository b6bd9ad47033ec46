"""When training has diverged: the one criterion and the one message every training loop uses.

Training has **diverged** when

- the loss or the weights are NaN or infinite (at once), or
- the loss exceeds ``factor`` × *reference* at ``patience`` (= 2) consecutive checks, where

      reference = max(loss of the null model, loss at the weights training started from)

  both measured on (a strided sample of) the training data before the first update. The
  *null model* is the same network with every parameter zero: it predicts the constant f(0)
  for every input, so its loss is the chance level (log K for softmax cross-entropy over K
  classes, log 2 for a sigmoid output with binary cross-entropy, the targets' mean square for
  a linear output with squared error). The reference is a *scale* of the loss, not its best
  value so far: near a loss of 0, online and mini-batch noise easily multiply the loss by
  10⁴ from one epoch to the next, which is not divergence, while a loss ``factor`` times worse
  than guessing is. The start loss guards a network initialised far from the null model (its
  first losses may exceed chance level), and resuming an already trained network still gets
  the chance-level scale (not its near-zero start loss).

Losses are compared on one scale per loop: the epoch loss (:class:`bprop.Trainer`), the loss
per time step (:func:`bprop.fit_stream`, :func:`bprop.train.train_online` for RTRL); for
``reduction="sum"`` the reference is the sum over the same number of examples or steps.

Why these defaults: ``factor`` = 1000 (:data:`DEFAULT_FACTOR`) and two consecutive checks. No
run of the test suite (every update rule, schedule and loss, both reductions: about 15,000
epoch and 500 chunk checks, and 300,000 single-step checks of RTRL) comes near it: the
largest ratio loss / reference seen was 1.5 for an epoch (a run with a strong L2 penalty,
which the reference does not include) and 8.7 for one RTRL step, while real divergence
(``SGD(1e6)`` on the digits: loss 6·10⁶ against a reference of 2.6) exceeds it by orders of
magnitude. A bounded loss (squared error on sigmoid or tanh outputs) cannot grow 1000-fold
over chance level, so there only NaN/inf (and a settling network's failed relaxation) stop
training. The second check lets a rule that makes one worse step by design and then undoes
it (the bold driver, iRprop+) or corrects it (Rprop, Quickprop) recover. A reference that is
0 (a network starting at a zero-loss null model) or negative disables the growth test;
NaN/inf are always divergence. Pass ``divergence_factor=None`` to any loop to keep only the
NaN/inf test.

Every loop restores the last weights whose loss passed the check (each says which) and the
update rule's state that went with them, then raises :class:`bprop.TrainingDiverged` with
:func:`message`, which names the likely causes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from bprop import backend

__all__ = [
    "DEFAULT_FACTOR",
    "REFERENCE_ROWS",
    "PATIENCE",
    "DivergenceGuard",
    "copy_state",
    "message",
    "reference_loss",
]

#: the reference is measured on every k-th training example, at most this many: a scale for a
#: 1000-fold threshold needs no more, and two forward passes over them cost a fit() ~1 % of a
#: 60,000-example epoch of the 784-256-256-10 benchmark net (4096 rows cost ~10 %)
REFERENCE_ROWS = 512

#: the default ``divergence_factor``: the loss may grow to this multiple of the reference
DEFAULT_FACTOR = 1000.0
#: consecutive checks over the threshold before the loss counts as diverged
PATIENCE = 2


def check_factor(factor: float | None) -> float | None:
    """Validate a ``divergence_factor`` argument: None, or a number > 1."""
    if factor is None:
        return None
    factor = float(factor)
    if not factor > 1:
        raise ValueError(
            f"divergence_factor must be greater than 1 (or None to test only NaN/inf), got {factor}"
        )
    return factor


def copy_state(state: dict[str, Any], into: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of an update rule's state (a dict of arrays and numbers) to restore later:
    rules update their state in place. ``into``: an old copy whose arrays of the same shape
    and dtype are overwritten instead of allocated anew (it becomes the returned copy)."""
    if not into:
        return {k: backend.copy(v) if hasattr(v, "shape") else v for k, v in state.items()}
    out = {}
    for k, v in state.items():
        old = into.get(k)
        same = hasattr(v, "shape") and getattr(old, "shape", None) == v.shape
        if same and old.dtype == v.dtype and type(old) is type(v):
            old[...] = v
            out[k] = old
        else:
            out[k] = backend.copy(v) if hasattr(v, "shape") else v
    return out


def all_finite(w: Any) -> bool:
    """Whether the flat array ``w`` holds no NaN or infinity. A finite Σ w² proves it (NaN and
    ±inf propagate into the sum): one BLAS dot product, with no array of flags made; the
    element-wise test runs only when the sum is not finite (it may also just overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(w @ w)):
            return True
    xp = backend.get_xp()
    return bool(xp.all(xp.isfinite(w)))


def reference_loss(evaluate: Callable[[], float], params: Any) -> float | None:
    """max(loss at the current weights, loss with every weight zero): the scale of the loss
    that :class:`DivergenceGuard` compares with (see the module docs).

    ``evaluate()`` computes the loss on a fixed sample of the data with the current contents
    of the flat parameter buffer ``params``; this zeroes ``params`` for the second call and
    restores them bit for bit. Non-finite values are ignored; None if neither is finite.
    """
    start = float(evaluate())
    saved = backend.copy(params)
    try:
        backend.zero(params)
        null = float(evaluate())
    finally:
        params[...] = saved
    finite = [v for v in (start, null) if math.isfinite(v)]
    return max(finite) if finite else None


class DivergenceGuard:
    """The divergence test of one training run (see the module docs).

    Args:
        factor: the loss may grow to ``factor`` × reference (None: only NaN/inf count).
        reference: the loss scale from :func:`reference_loss` (None or ≤ 0 disables the
            growth test).
    """

    def __init__(self, factor: float | None, reference: float | None) -> None:
        self.factor = check_factor(factor)
        self.reference = reference
        self.over = 0  # consecutive checks over the threshold
        #: the loss above which a check counts as over; None when growth is not tested
        self.threshold: float | None = None
        if self.factor is not None and reference is not None and reference > 0:
            self.threshold = self.factor * reference

    def check(self, loss: float, params: Any = None) -> str | None:
        """Record one loss (and, if given, test the weights for NaN/inf); return why training
        diverged, or None while it has not."""
        if not math.isfinite(loss):
            return f"the loss became {loss}"
        if params is not None and not all_finite(params):
            return "the weights became NaN or infinite"
        limit = self.threshold

        if limit is not None and loss > limit:
            self.over += 1
            if self.over >= PATIENCE:
                return (
                    f"the loss ({loss:.4g}) stayed above divergence_factor = {self.factor:g} "
                    f"× its reference {self.reference:.4g} (the larger of the loss with all "
                    f"weights zero and the loss at the start) for {PATIENCE} consecutive "
                    "checks (divergence_factor=None tests only for NaN/inf)"
                )
            return None
        self.over = 0
        return None

    def passed(self) -> bool:
        """Whether the last :meth:`check` was under the threshold (its weights are 'good')."""
        return self.over == 0


def _learning_rate(rule: Any) -> str | None:
    """The rule's learning rate (or Rprop's initial step Δ0) as text, looking into Chains."""
    for r in getattr(rule, "rules", [rule]):
        for name in ("lr", "delta0"):
            if isinstance(getattr(r, name, None), int | float):
                return f"{name} = {getattr(r, name):g} in {r!r}"
    return None


def message(
    reason: str,
    where: str,
    restored: str,
    rule: Any = None,
    l2: float = 0.0,
    data: Any = None,
) -> str:
    """The one-paragraph error of :class:`bprop.TrainingDiverged`: what happened (``reason``,
    ``where``), what the weights were restored to (``restored``), and the likely causes — the
    learning rate of ``rule``, the L2 penalty ``l2``, the scale of the inputs ``data``."""
    fixes = []
    lr = _learning_rate(rule)
    fixes.append(f"Lower the learning rate (now {lr})" if lr else "Take smaller steps")
    if l2:
        fixes.append(f"lower the L2 penalty (now λ = {l2:g})")
    if data is not None:
        x = np.asarray(backend.to_numpy(data))
        if x.size and np.issubdtype(x.dtype, np.number):
            fixes.append(
                f"standardise the inputs if their scale is large (largest |x| = "
                f"{float(np.abs(x).max()):.4g})"
            )
    fixes.append("or clip the gradients (clip_norm / ClipByGlobalNorm)")
    return (
        f"training diverged {where}: {reason}. The weights and the update rule's state "
        f"were restored to {restored}. {'; '.join(fixes)}."
    )
