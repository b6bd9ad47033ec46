"""The fused twin of the op ``softmax_cross_entropy`` (:mod:`bprop.ops.reference` has the maths)
for integer labels: the loss, its gradient and the predicted classes in four passes over the
logits instead of the reference's eight (row maxima, shift, exp, row sums, divide, the label
entries, the scale, and a training loop's own arg-max for its accuracy).

Per row n of the logits y (N, K), with label tₙ:

1. one compiled pass finds the first arg-max ŷₙ and writes zₙ = yₙ − yₙ[ŷₙ] (and reads zₙ[tₙ]);
2. ``numpy.exp`` turns z into e^z in place — NumPy's vectorised exp is ~5× faster than the
   scalar libm ``exp`` a compiled loop calls (and ``numpy.log`` takes the N logs of step 3);
3. one compiled pass sums each row: Σₙ = Σₖ e^zₙₖ; the loss is Σₙ (log Σₙ − zₙ[tₙ]), summed
   in float64;
4. one compiled pass writes the gradient scale · (e^z / Σ − onehot(tₙ)), as
   e^z · (scale / Σ) − scale · onehot(tₙ): one division per row instead of one per entry.

Labels outside [0, K) raise an IndexError (the reference's indexing raises for labels ≥ K).
The row sums are taken in another order than the reference's BLAS product and the gradient
is scaled once instead of divided then scaled, so the two agree to round-off (tested in
``tests/test_ops.py``); NaN logits make the loss NaN, as there. Probability-row targets, rare
(soft labels), are served by the reference.

Measured (one loaded 2-core machine, float32, min of 300 calls): 6–11 µs against 26–37 for
the reference plus an arg-max on 128 × 10 logits (a mini-batch of
``bench/bench_minibatch.py``), 55 against 133 on 1,797 × 10 (the digits, full batch), 274
against 516 on 3,200 × 65 (the character LSTM of ``bench/bench_lstm.py``).

Registered in :data:`bprop.ops.numba.TWINS` (that module is the one importing Numba; this one
compiles through its :func:`~bprop.ops.numba.njit`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops import numba as fused
from bprop.ops import reference


def _shift(y: Any, t: Any, z: Any, pred: Any, zt: Any) -> int:
    """Pass 1: ŷ, z = y − max(y) row by row, and z at the labels; returns the number of
    labels outside [0, K) (0 when all are classes)."""
    n, k = y.shape
    bad = 0
    for i in range(n):
        m = y[i, 0]
        a = 0
        for j in range(1, k):
            if y[i, j] > m:
                m = y[i, j]
                a = j
        pred[i] = a
        for j in range(k):
            z[i, j] = y[i, j] - m
        c = t[i]
        if c < 0 or c >= k:
            bad += 1
            zt[i] = 0
        else:
            zt[i] = z[i, c]
    return bad


def _row_sums(e: Any, s: Any) -> None:
    """Pass 3: s = Σⱼ e[:, j] (summed in any order, so the loop vectorises)."""
    n, k = e.shape
    for i in range(n):
        a = e[i, 0] * 0
        for j in range(k):
            a += e[i, j]
        s[i] = a


def _scale_rows(e: Any, t: Any, s: Any, scale: Any) -> None:
    """Pass 4: e ← scale · (e / s − onehot(t)), as e · (scale / s) − scale·onehot(t)."""
    n, k = e.shape
    for i in range(n):
        r = scale / s[i]
        for j in range(k):
            e[i, j] *= r
        e[i, t[i]] -= scale


def softmax_cross_entropy(y: Any, target: Any, scale: float = 1.0) -> tuple[float, Any, Any]:
    """The op ``softmax_cross_entropy`` (see :func:`bprop.ops.reference.softmax_cross_entropy`),
    fused for integer labels; probability rows (and anything else) go to the reference."""
    if target.ndim != 1 or target.dtype.kind not in "iu" or 0 in y.shape:
        return reference.softmax_cross_entropy(y, target, scale)  # (and its errors)
    n = y.shape[0]
    p = np.empty_like(y, order="C")
    pred = np.empty(n, dtype=np.int64)
    zt = np.empty(n, dtype=y.dtype)
    if _shift_c(y, target, p, pred, zt):
        raise IndexError(f"class labels must lie in [0, {y.shape[1] - 1}] for {y.shape[1]} logits")
    np.exp(p, out=p)
    sums = np.empty(n, dtype=y.dtype)
    _row_sums_c(p, sums)
    logs = np.log(sums)  # NumPy's vectorised log, as exp above
    logs -= zt
    loss = float(np.add.reduce(logs, dtype=np.float64))
    _scale_rows_c(p, target, sums, y.dtype.type(scale))
    return loss * scale, p, pred


# the row sums may be reassociated (so they vectorise); NaN and inf propagate everywhere (no
# "nnan"/"ninf": a diverging network is seen, not hidden)
_shift_c = fused.njit(_shift, error_model="numpy")
_row_sums_c = fused.njit(_row_sums, error_model="numpy", fastmath={"reassoc", "nsz"})
_scale_rows_c = fused.njit(_scale_rows, error_model="numpy")
