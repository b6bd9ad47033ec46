"""The trainer's fast path for online (per-example) training of Dense/activation networks.

Online backprop makes one weight update per example, so a tiny network spends nearly all of its
time in Python and NumPy call overhead, not arithmetic. This module hands a whole epoch of the
*same* algorithm as the NumPy path — forward, loss gradient, backward through every layer, then
the SGD/momentum/Nesterov update of every weight — to the op ``online_epoch`` of the op table
(:mod:`bprop.ops.online` has the maths; its fused twin is one Numba-compiled loop over the flat
parameter buffer, which DESIGN.md §2 sanctions for exactly this). It is used automatically
when :func:`supports` says the model, loss, rule and schedule are ones the op implements and
the op has its compiled twin, and it is tested to give the same weights as the NumPy path
(``tests/train/test_online_fast.py``). Without Numba the trainer simply uses the NumPy path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import ops
from bprop.ops.online import ACTIVATIONS, LOSSES

_ACT = {name: code for code, name in enumerate(ACTIVATIONS)}
_SOFTMAX_CE, _SQUARED, _MSE, _BCE_PROB, _BCE_LOGIT = range(len(LOSSES))


def _plan(trainer: Any) -> tuple | None:
    """Describe the network as arrays for the kernel, or None if it is not supported."""
    from bprop.layers.activations import Activation, LeakyReLU
    from bprop.layers.dense import Dense
    from bprop.losses import (
        BinaryCrossEntropy,
        MeanSquaredError,
        SoftmaxCrossEntropy,
        SquaredError,
    )
    from bprop.optim.sgd import SGD

    if not ops.has_fused("online_epoch"):
        return None
    if trainer.schedule.batch_size != 1 or type(trainer.optimizer) is not SGD:
        return None
    loss = trainer.loss
    if type(loss) is SoftmaxCrossEntropy:
        loss_code = _SOFTMAX_CE
    elif type(loss) is SquaredError:
        loss_code = _SQUARED
    elif type(loss) is MeanSquaredError:
        loss_code = _MSE
    elif type(loss) is BinaryCrossEntropy:
        loss_code = _BCE_LOGIT if loss.from_logits else _BCE_PROB
    else:
        return None
    leaves = trainer.net.leaves()
    space = trainer.net.space
    offsets = {(id(s.layer), s.name): s.offset for s in space.slots}
    dense, acts, alphas = [], [], []
    for leaf in leaves:
        if type(leaf) is Dense:
            if leaf.frozen or not leaf.bias:
                return None
            dense.append(leaf)
            acts.append(0)
            alphas.append(0.0)
        elif isinstance(leaf, Activation) and dense and acts[-1] == 0 and leaf.name in _ACT:
            acts[-1] = _ACT[leaf.name]
            alphas[-1] = leaf.alpha if isinstance(leaf, LeakyReLU) else 0.0
        else:
            return None
    if not dense:
        return None
    sizes = np.array([dense[0].n_in] + [d.n_out for d in dense], dtype=np.int64)
    w_off = np.array([offsets[(id(d), "W")] for d in dense], dtype=np.int64)
    b_off = np.array([offsets[(id(d), "b")] for d in dense], dtype=np.int64)
    return sizes, w_off, b_off, np.array(acts, np.int64), np.array(alphas), loss_code


def supports(trainer: Any, X: Any, T: Any) -> tuple | None:
    """The kernel's description of this trainer's net (for :func:`run_epoch`) if the kernel
    implements its model, loss, rule, schedule and data layout (2-D inputs; labels for softmax
    cross-entropy, target rows otherwise), else None."""
    plan = _plan(trainer)
    if plan is None or X.ndim != 2:
        return None
    labels = T.dtype.kind in "iu"
    ok = (T.ndim == 1 and labels) if plan[-1] == _SOFTMAX_CE else (T.ndim == 2 and not labels)
    return plan if ok else None


def run_epoch(trainer: Any, plan: tuple, X: Any, T: Any) -> tuple[float, int]:
    """One online epoch over ``X``, ``T`` (already in epoch order) with the ``plan`` from
    :func:`supports`; updates the weights and the rule's state in place; returns (the sum of
    the per-example losses, L2 penalties included; the number of examples classified right).
    The trainer turns these into the epoch loss and accuracy and, like for the NumPy path,
    checks for divergence once per epoch (not per example, which would cost more than the
    arithmetic of a tiny network)."""
    sizes, w_off, b_off, acts, alphas, loss_code = plan
    space, rule = trainer.net.space, trainer.optimizer
    velocity = trainer.state.get("velocity", np.zeros(0, dtype=space.dtype))
    labels = T.dtype.kind in "iu"
    T2 = T.reshape(-1, 1) if labels else T
    total_width = int(sizes.sum())
    loss_sum, correct = ops.lookup("online_epoch", dtype=space.dtype)(
        X,
        T2,
        labels,
        space.params,
        velocity,
        sizes,
        w_off,
        b_off,
        acts,
        alphas,
        loss_code,
        rule.lr,
        rule.momentum,
        rule.nesterov,
        trainer.l2,
        space.decay_mask,
        np.empty(total_width, dtype=space.dtype),
        np.empty(total_width, dtype=space.dtype),
        float(trainer.loss.threshold),
    )
    return float(loss_sum), int(correct)
