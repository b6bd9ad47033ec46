"""Damped relaxation to a fixed point: the iteration both of Almeida–Pineda's relaxations run.

For a map F (applied row by row to a batch of states), relaxation rate ρ ∈ (0, 1] and a start
x⁰::

    xᵏ⁺¹ = xᵏ + ρ (F(xᵏ) − xᵏ)        until  maxₙ ‖F(xᵏ)ₙ − xᵏₙ‖₂ / scale < tol

and the result is F(xᵏ) at the stopping point (one more, free, step). The forward relaxation of
:class:`bprop.recurrent.rbp.SettlingNetwork` uses F(x) = f(W x + U u + b); its adjoint uses
F(δ) = D (Wᵀ δ + e).

Example (x = cos x, the Dottie number)::

    >>> import numpy as np
    >>> from bprop.recurrent.relaxation import relax
    >>> x, iterations, residual = relax(np.cos, np.zeros((1, 1)), 1.0, 1e-12, 1000)
    >>> round(float(x[0, 0]), 9), residual < 1e-12
    (0.739085133, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bprop import backend


def relax(
    F: Callable[[Any], Any],
    x: Any,
    rho: float,
    tol: float,
    max_iter: int,
    scale: float = 1.0,
    trace: list | None = None,
) -> tuple[Any, int, float]:
    """Relax ``x`` (N, n; updated in place when ρ < 1) towards F's fixed point; returns
    (the last F(x), the iterations run, the final residual). A residual ≥ ``tol`` (or not
    finite) means the relaxation did not converge; the caller decides what that means.
    With a list ``trace``, each iteration appends (a copy of F(xᵏ), its residual)."""
    xp = backend.get_xp()
    residual, it = math.inf, 0
    while it < max_iter:
        it += 1
        fx = F(x)
        diff = fx - x
        residual = float(xp.max(xp.sqrt(xp.sum(diff * diff, axis=1)))) / scale if x.size else 0.0
        if trace is not None:
            trace.append((backend.copy(fx), residual))
        if residual < tol:
            return fx, it, residual
        if not math.isfinite(residual):
            break
        if rho == 1.0:
            x = fx
        else:
            diff *= rho
            x += diff
    return x, it, residual
