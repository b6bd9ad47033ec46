"""A compiled fast path for online (per-example) training of Dense/activation networks.

Online backprop makes one weight update per example, so a tiny network spends nearly all of its
time in Python and NumPy call overhead, not arithmetic. This module runs a whole epoch of the
*same* algorithm as the NumPy path — forward, loss gradient, backward through every layer, then
the SGD/momentum/Nesterov update of every weight — inside one Numba-compiled loop over the flat
parameter buffer (DESIGN.md §2 sanctions Numba for exactly this). It is used automatically
when :func:`supports` says the model, loss, rule and schedule are ones it implements, and it is
tested to give the same weights as the NumPy path (``tests/train/test_online_fast.py``).

Per example, with a⁰ = x and layers l = 1..L (Wˡ of shape (nₗ₋₁, nₗ))::

    aˡ = f_l(aˡ⁻¹ Wˡ + bˡ)                          forward
    δᴸ = ∂loss/∂aᴸ ⊙ f_L′                           (softmax-CE: p − onehot(t))
    δˡ⁻¹ = (δˡ Wˡᵀ) ⊙ f′_{l−1}(aˡ⁻¹)               backward, with the weights before the update
    gˡ = aˡ⁻¹ ⊗ δˡ (+ λWˡ),  then every weight gets the SGD update

If Numba is not installed the trainer simply uses the NumPy path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:  # Numba is a declared dependency, but the NumPy path must work without it
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

# activation codes
_ACT = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4}
# loss codes
_SOFTMAX_CE, _SQUARED, _MSE, _BCE_PROB, _BCE_LOGIT = range(5)


def _plan(trainer: Any) -> tuple | None:
    """Describe the network as arrays for the kernel, or None if it is not supported."""
    from bprop import backend
    from bprop.layers.activations import Activation, LeakyReLU
    from bprop.layers.dense import Dense
    from bprop.losses import (
        BinaryCrossEntropy,
        MeanSquaredError,
        SoftmaxCrossEntropy,
        SquaredError,
    )
    from bprop.optim.sgd import SGD

    if not (_HAVE_NUMBA and backend.is_numpy()):
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
    loss_sum, correct = _epoch(
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


def _epoch_py(
    X,
    T,
    labels,
    P,
    V,
    sizes,
    w_off,
    b_off,
    acts,
    alphas,
    loss_code,
    lr,
    mu,
    nesterov,
    l2,
    decay,
    a,
    d,
    threshold,
):  # pragma: no cover - compiled below
    n_layers = sizes.shape[0] - 1
    a_off = np.zeros(n_layers + 1, np.int64)
    for layer in range(n_layers):
        a_off[layer + 1] = a_off[layer] + sizes[layer]
    n_out = sizes[n_layers]
    top = a_off[n_layers]
    use_momentum = mu > 0.0
    loss_sum = 0.0
    correct = 0
    for ex in range(X.shape[0]):
        # ---- forward
        for i in range(sizes[0]):
            a[i] = X[ex, i]
        for layer in range(n_layers):
            n_in, n_o = sizes[layer], sizes[layer + 1]
            ai, ao, wo, bo = a_off[layer], a_off[layer + 1], w_off[layer], b_off[layer]
            for j in range(n_o):
                a[ao + j] = P[bo + j]
            for i in range(n_in):
                xi = a[ai + i]
                row = wo + i * n_o
                for j in range(n_o):
                    a[ao + j] += xi * P[row + j]
            code = acts[layer]
            for j in range(n_o):
                z = a[ao + j]
                if code == 1:
                    a[ao + j] = 0.5 * np.tanh(0.5 * z) + 0.5
                elif code == 2:
                    a[ao + j] = np.tanh(z)
                elif code == 3:
                    a[ao + j] = z if z > 0 else 0.0 * z
                elif code == 4:
                    a[ao + j] = z if z > 0 else alphas[layer] * z
        # ---- loss and δ at the output (derivative w.r.t. the last layer's output)
        loss = 0.0
        if loss_code == 0:
            t = int(T[ex, 0])
            m = a[top]
            best = 0
            for k in range(1, n_out):
                if a[top + k] > m:
                    m = a[top + k]
                    best = k
            s = 0.0
            for k in range(n_out):
                e = np.exp(a[top + k] - m)
                d[top + k] = e
                s += e
            loss = np.log(s) - (a[top + t] - m)
            for k in range(n_out):
                d[top + k] = d[top + k] / s
            d[top + t] -= 1.0
            if best == t:
                correct += 1
        else:
            for k in range(n_out):
                o = a[top + k]
                tk = T[ex, k]
                if loss_code == 1:
                    loss += 0.5 * (o - tk) * (o - tk)
                    d[top + k] = o - tk
                elif loss_code == 2:
                    loss += (o - tk) * (o - tk) / n_out
                    d[top + k] = 2.0 * (o - tk) / n_out
                elif loss_code == 3:
                    p = min(max(o, 1e-7), 1.0 - 1e-7)
                    loss -= tk * np.log(p) + (1.0 - tk) * np.log1p(-p)
                    d[top + k] = (p - tk) / (p * (1.0 - p))
                else:
                    loss += max(o, 0.0) + np.log1p(np.exp(-abs(o))) - tk * o
                    d[top + k] = (0.5 * np.tanh(0.5 * o) + 0.5) - tk
            if n_out == 1:
                if (a[top] > threshold) == (T[ex, 0] > 0.5):
                    correct += 1
            else:
                bo_ = 0
                bt_ = 0
                for k in range(1, n_out):
                    if a[top + k] > a[top + bo_]:
                        bo_ = k
                    if T[ex, k] > T[ex, bt_]:
                        bt_ = k
                if bo_ == bt_:
                    correct += 1
        loss_sum += loss
        # ---- backward: δ through each activation, then to the layer below
        for layer in range(n_layers - 1, -1, -1):
            n_in, n_o = sizes[layer], sizes[layer + 1]
            ai, ao, wo = a_off[layer], a_off[layer + 1], w_off[layer]
            code = acts[layer]
            for j in range(n_o):
                y = a[ao + j]
                if code == 1:
                    d[ao + j] *= y * (1.0 - y)
                elif code == 2:
                    d[ao + j] *= 1.0 - y * y
                elif code == 3:
                    if not y > 0:
                        d[ao + j] = 0.0
                elif code == 4:
                    if not y > 0:
                        d[ao + j] *= alphas[layer]
            if layer > 0:
                for i in range(n_in):
                    row = wo + i * n_o
                    s = 0.0 * d[ao]
                    for j in range(n_o):
                        s += P[row + j] * d[ao + j]
                    d[ai + i] = s
        # ---- update every layer: g = a ⊗ δ (+ λW); SGD / momentum / Nesterov
        for layer in range(n_layers):
            n_in, n_o = sizes[layer], sizes[layer + 1]
            ai, ao, wo, bo = a_off[layer], a_off[layer + 1], w_off[layer], b_off[layer]
            for i in range(n_in + 1):
                base = wo + i * n_o if i < n_in else bo
                xi = a[ai + i] if i < n_in else 1.0
                for j in range(n_o):
                    idx = base + j
                    g = xi * d[ao + j]
                    if l2 > 0.0:
                        g += l2 * decay[idx] * P[idx]
                        loss_sum += 0.5 * l2 * decay[idx] * P[idx] * P[idx]
                    step = -lr * g
                    if use_momentum:
                        V[idx] = mu * V[idx] + step
                        if nesterov:
                            step = step + mu * V[idx]
                        else:
                            step = V[idx]
                    P[idx] += step
    return loss_sum, correct


if _HAVE_NUMBA:
    _epoch = numba.njit(cache=True, nogil=True)(_epoch_py)
else:  # pragma: no cover
    _epoch = _epoch_py
