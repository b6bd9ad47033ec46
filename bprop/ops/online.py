"""The op ``online_epoch``: one epoch of online (per-example) SGD through Dense + activation layers.

Online backprop makes one weight update per example, so a tiny network spends nearly all of its
time in call overhead, not arithmetic. This op runs a whole epoch on the network's *flat*
parameter buffer ``P`` (:class:`bprop.layers.base.ParamSpace`): its fused twin in
:mod:`bprop.ops.numba` is one compiled loop; this reference is the same algorithm written for
reading, one example at a time. Per example, with a⁰ = x and layers l = 1..L (Wˡ (nₗ₋₁, nₗ))::

    aˡ = f_l(aˡ⁻¹ Wˡ + bˡ)                      forward
    δᴸ = ∂loss/∂aᴸ ⊙ f_L′                       (softmax-CE: p − onehot(t))
    δˡ⁻¹ = (δˡ Wˡᵀ) ⊙ f′_{l−1}(aˡ⁻¹)            backward, with the weights before the update
    gˡ = aˡ⁻¹ ⊗ δˡ (+ λ m ⊙ Wˡ)                  m: the decay mask (1 for weights, 0 for biases)
    v ← μ v − η g;  W ← W + v  (Nesterov: W ← W + μ v − η g; μ = 0: W ← W − η g)

The network is described by integer arrays (so the compiled twin can take it): ``sizes``
(n₀ … n_L), the offsets of each Wˡ (row-major (nₗ₋₁, nₗ)) and bˡ in P, the activation code of
each layer (:data:`ACTIVATIONS`) with its leaky-ReLU slope, and the loss code (:data:`LOSSES`).
The epoch's loss sum counts each example's loss and, with λ > 0, its L2 penalty ½λ Σ m W²
(weights before that example's update). An example is classified right when the arg-max of
the output equals the label (one output: (a > threshold) = (t > 0.5)).
"""

from __future__ import annotations

from typing import Any

from bprop.backend import get_xp
from bprop.ops import reference

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu")
"""Activation codes: the index of the name."""

LOSSES = ("softmax_ce", "squared", "mse", "bce", "bce_logits")
"""Loss codes: softmax cross-entropy on labels; ½Σ(a − t)²; Σ(a − t)²/K; binary cross-entropy
on probabilities (clipped to [1e-7, 1 − 1e-7]); binary cross-entropy on logits."""


def _loss(code: int, a: Any, t: Any, threshold: float) -> tuple[float, Any, bool]:
    """(loss, ∂loss/∂a, classified right) for one example's output a (K,) and target t."""
    xp = get_xp()
    name = LOSSES[code]
    if name == "softmax_ce":
        label = int(t[0])
        z = a - xp.max(a)
        s = xp.sum(xp.exp(z))
        d = xp.exp(z) / s
        d[label] -= 1.0
        return float(xp.log(s) - z[label]), d, int(xp.argmax(a)) == label
    if name == "squared":
        loss, d = 0.5 * xp.sum((a - t) ** 2), a - t
    elif name == "mse":
        loss, d = xp.sum((a - t) ** 2) / a.shape[0], 2.0 * (a - t) / a.shape[0]
    elif name == "bce":
        p = xp.clip(a, 1e-7, 1.0 - 1e-7)
        loss = -xp.sum(t * xp.log(p) + (1.0 - t) * xp.log1p(-p))
        d = (p - t) / (p * (1.0 - p))
    else:  # bce_logits: softplus(a) − t a, computed stably
        loss = xp.sum(xp.maximum(a, 0.0) + xp.log1p(xp.exp(-abs(a))) - t * a)
        d = reference.sigmoid(a) - t
    if a.shape[0] == 1:
        right = bool(a[0] > threshold) == bool(t[0] > 0.5)
    else:
        right = int(xp.argmax(a)) == int(xp.argmax(t))
    return float(loss), d, right


def _activation(code: int, alpha: float) -> tuple[Any, Any]:
    """(forward, backward) of activation ``code`` from the op table's activations."""
    f, df = reference.ACTIVATIONS[ACTIVATIONS[code]]
    alpha = float(alpha)  # a Python number: the array-API standard takes no NumPy scalars
    if ACTIVATIONS[code] == "leaky_relu":
        return (lambda x: f(x, alpha)), (lambda y, dy: df(y, dy, alpha))
    return f, df


def online_epoch(
    X, T, labels, P, V, sizes, w_off, b_off, acts, alphas, loss_code, lr, mu, nesterov, l2,
    decay, a, d, threshold,
):  # fmt: skip
    """One online epoch over the rows of X (N, n₀) and T (N, K), or (N, 1) labels, in order
    (see the module docstring). Updates P (and the velocity V, when μ > 0) in place; ``a`` and
    ``d`` are scratch buffers of Σ nₗ values (the fused twin's; unused here). Returns (the
    summed loss, the number of examples classified right)."""
    xp = get_xp()
    L = sizes.shape[0] - 1
    layers = []
    for k in range(L):
        n_in, n_out = int(sizes[k]), int(sizes[k + 1])
        wo, bo = int(w_off[k]), int(b_off[k])
        w = slice(wo, wo + n_in * n_out)
        layers.append((w, slice(bo, bo + n_out), (n_in, n_out), _activation(acts[k], alphas[k])))
    loss_sum, correct = 0.0, 0
    for i in range(X.shape[0]):
        t = T[i, ...]
        outs = [X[i, ...]]  # a⁰ … aᴸ
        for w, b, shape, (f, _) in layers:
            outs.append(f(outs[-1] @ xp.reshape(P[w], shape) + P[b]))
        loss, dy, right = _loss(loss_code, outs[-1], t, threshold)
        loss_sum += loss
        correct += right
        deltas = [None] * L
        for k in range(L - 1, -1, -1):  # all δ with the weights before the update
            w, _, shape, (_, df) = layers[k]
            deltas[k] = df(outs[k + 1], dy)
            dy = xp.reshape(P[w], shape) @ deltas[k]
        for k, (w, b, _, _) in enumerate(layers):
            gw = xp.reshape(outs[k][:, None] * deltas[k][None, :], (-1,))
            for idx, g in ((w, gw), (b, deltas[k])):
                if l2 > 0.0:
                    loss_sum += 0.5 * l2 * float(xp.sum(decay[idx] * P[idx] * P[idx]))
                    g = g + l2 * decay[idx] * P[idx]
                step = -lr * g
                if mu > 0.0:
                    V[idx] = mu * V[idx] + step
                    step = step + mu * V[idx] if nesterov else V[idx]
                P[idx] += step
    return loss_sum, correct
