"""The fused twin of the op ``online_epoch`` (:mod:`bprop.ops.online` has the maths): one
compiled loop over a whole epoch of per-example SGD through Dense + activation layers.

Online training of a small network is per-example overhead, so this loop is written for the
compiler:

- every branch on the *kind* of work — the layer's activation, the loss, the update rule
  (SGD, momentum, Nesterov), L2 on or off — is taken once per layer (or per weight row), and
  each choice has its own branch-free inner loop over the units, which the compiler
  vectorises; no per-element dispatch on codes;
- each layer is reached through views made once per epoch, in Python (Wˡ as an (nₗ₋₁, nₗ)
  matrix; :func:`_layer_views`), so the inner loops index from 0 (no negative-index
  wrap-around test per element, which stops vectorisation) and the example loop makes no
  view (each would cost a pair of reference-count calls);
- the forward product runs four rows of Wˡ per pass over the outputs, summing in the
  reference's order (:func:`_forward`), and reads the inputs into scalars first;
- plain SGD forms η δ once per layer, then W ← W − xᵢ (η δ): one fused multiply-subtract per
  weight;
- arithmetic stays in the parameters' dtype: the learning rate, momentum, λ and constants like
  ½ and 1 are converted to it first, so float32 updates are not widened to float64 and back
  (the epoch's loss sum is accumulated in float64, as the reference does);
- tanh in float32 is :func:`bprop.ops.numba.tanh32` (the rational form the LSTM kernels use,
  within 2.6e-7 of tanh) and σ(x) = ½ + ½ tanh(x/2) through it; float64 calls ``np.tanh``.

Registered in :data:`bprop.ops.numba.TWINS` (that module is the one importing Numba; this one
compiles through its :func:`~bprop.ops.numba.njit`). Tested equal to the reference for every
activation, loss and rule (``tests/train/test_online_fast.py``). Measured (64-h-10 tanh,
digits, SGD, float32, one loaded 2-core machine; ``bench/bench_online.py --fann``): at h = 32,
0.7 µs an example (1.7 before the forward's scalar inputs, its four-row passes and the
per-epoch views), against 3.0 for FANN 2.2's ``fann_train_epoch`` (Debian's build) on the
same network, weights and maths, and 1.3 for the hand loop of ``--floor`` (libm tanh); from
h = 64 to 512, 0.17–0.25 × FANN's time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.ops import numba as fused
from bprop.ops.numba import tanh32

# activation codes, as in bprop.ops.online.ACTIVATIONS
_IDENTITY, _SIGMOID, _TANH, _RELU, _LEAKY = range(5)
# loss codes, as in bprop.ops.online.LOSSES
_SOFTMAX_CE, _SQUARED, _MSE, _BCE_PROB, _BCE_LOGIT = range(5)


def _activate(a: Any, code: int, alpha: Any, rational: bool) -> None:
    """a ← f(a) (a layer's view of the activations) for activation ``code``, one loop per
    kind."""
    half = a.dtype.type(0.5)
    if code == _TANH and rational:
        for j in range(a.shape[0]):
            a[j] = tanh32(a[j])
    elif code == _TANH:
        for j in range(a.shape[0]):
            a[j] = np.tanh(a[j])
    elif code == _SIGMOID and rational:
        for j in range(a.shape[0]):
            a[j] = half * tanh32(half * a[j]) + half
    elif code == _SIGMOID:
        for j in range(a.shape[0]):
            a[j] = half * np.tanh(half * a[j]) + half
    elif code == _RELU:
        for j in range(a.shape[0]):
            a[j] = a[j] if a[j] > 0 else a.dtype.type(0) * a[j]
    elif code == _LEAKY:
        for j in range(a.shape[0]):
            a[j] = a[j] if a[j] > 0 else alpha * a[j]


def _derivative(a: Any, d: Any, code: int, alpha: Any) -> None:
    """d ← d ⊙ f′ (a layer's views), with f′ written through the activation's output a."""
    one = a.dtype.type(1)
    if code == _TANH:
        for j in range(a.shape[0]):
            d[j] *= one - a[j] * a[j]
    elif code == _SIGMOID:
        for j in range(a.shape[0]):
            d[j] *= a[j] * (one - a[j])
    elif code == _RELU:
        for j in range(a.shape[0]):
            d[j] = d[j] if a[j] > 0 else a.dtype.type(0)
    elif code == _LEAKY:
        for j in range(a.shape[0]):
            d[j] = d[j] if a[j] > 0 else d[j] * alpha


def _output_loss(a: Any, d: Any, T: Any, ex: int, k: int, code: int) -> tuple:
    """The loss of example ``ex`` at the outputs a (k,), its gradient into d (k,), and
    whether it was classified right (the arg-max, or one output against ``threshold``, is
    judged by the caller for the non-softmax losses: returns -1 there)."""
    f = a.dtype.type
    one, two, half = f(1), f(2), f(0.5)
    loss = 0.0
    if code == _SOFTMAX_CE:
        t = int(T[ex, 0])
        m, best = a[0], 0
        for j in range(1, k):
            if a[j] > m:
                m, best = a[j], j
        s = f(0)
        for j in range(k):
            e = np.exp(a[j] - m)
            d[j] = e
            s += e
        inv = one / s
        for j in range(k):
            d[j] *= inv
        d[t] -= one
        return np.log(s) - (a[t] - m), int(best == t)
    if code == _SQUARED:
        for j in range(k):
            r = a[j] - T[ex, j]
            loss += half * r * r
            d[j] = r
    elif code == _MSE:
        scale = two / f(k)
        for j in range(k):
            r = a[j] - T[ex, j]
            loss += r * r / k
            d[j] = scale * r
    elif code == _BCE_PROB:
        lo, hi = f(1e-7), one - f(1e-7)
        for j in range(k):
            p, t = min(max(a[j], lo), hi), T[ex, j]
            loss -= t * np.log(p) + (one - t) * np.log1p(-p)
            d[j] = (p - t) / (p * (one - p))
    else:  # binary cross-entropy on logits: softplus(o) − t·o, stably
        for j in range(k):
            o, t = a[j], T[ex, j]
            loss += max(o, f(0)) + np.log1p(np.exp(-abs(o))) - t * o
            d[j] = (half * np.tanh(half * o) + half) - t
    return loss, -1


def _forward(x: Any, W: Any, out: Any) -> None:
    """out ← out + x W, row by row of W as the reference sums, four rows per pass over out:
    out[j] + x₀W₀ⱼ + x₁W₁ⱼ + x₂W₂ⱼ + x₃W₃ⱼ, left to right, rounds exactly as four passes do,
    but each out[j] is loaded and stored once per four rows (one pass per row is a chain of
    store-then-load of out, its latency the loop's time). The xᵢ are read into scalars first:
    out and x are views of one buffer, so xᵢ read in the loop would be reloaded after every
    store to out, which stops vectorisation."""
    n_in, n_o = W.shape
    i = 0
    while i + 4 <= n_in:
        x0, x1, x2, x3 = x[i], x[i + 1], x[i + 2], x[i + 3]
        w0, w1, w2, w3 = W[i], W[i + 1], W[i + 2], W[i + 3]
        for j in range(n_o):
            out[j] = out[j] + x0 * w0[j] + x1 * w1[j] + x2 * w2[j] + x3 * w3[j]
        i += 4
    for r in range(i, n_in):
        xr, wr = x[r], W[r]
        for j in range(n_o):
            out[j] += xr * wr[j]


def _layer_views(P: Any, V: Any, decay: Any, a: Any, d: Any, sizes: Any, w_off: Any, b_off: Any):
    """The per-layer views the loop works on, made once per epoch (not per example: in
    compiled code each view made in the loop costs a reference-count call pair, which at
    64-32-10 was a fifth of the epoch): per layer l = 1..L, Wˡ (nₗ₋₁, nₗ) and bˡ (1, nₗ) of
    P, of the velocity V (empty (0, nₗ) rows without momentum) and of the decay mask; per
    layer 0..L, aˡ and δˡ of the scratch buffers. Tuples of one array type each, so that the
    compiled loop indexes them by the layer."""
    n = sizes.tolist()
    w_at, b_at = w_off.tolist(), b_off.tolist()
    L = len(n) - 1

    def weights(buf: Any) -> tuple:
        if buf.shape[0] == 0:  # no velocity: plain SGD never reads it
            return tuple(buf.reshape((0, n[k + 1])) for k in range(L))
        return tuple(
            buf[w_at[k] : w_at[k] + n[k] * n[k + 1]].reshape((n[k], n[k + 1])) for k in range(L)
        )

    def biases(buf: Any) -> tuple:
        if buf.shape[0] == 0:
            return tuple(buf.reshape((0, n[k + 1])) for k in range(L))
        return tuple(buf[b_at[k] : b_at[k] + n[k + 1]].reshape((1, n[k + 1])) for k in range(L))

    starts = [sum(n[:k]) for k in range(L + 1)]
    return (
        (weights(P), biases(P)),
        (weights(V), biases(V)),
        (weights(decay), biases(decay)),
        tuple(a[s : s + m] for s, m in zip(starts, n, strict=True)),
        tuple(d[s : s + m] for s, m in zip(starts, n, strict=True)),
    )


def _online_epoch(
    X, T, labels, P, V, sizes, w_off, b_off, acts, alphas, loss_code, lr, mu, nesterov, l2,
    decay, a, d, threshold,
):  # fmt: skip
    """:func:`bprop.ops.online.online_epoch` as one compiled loop over the flat buffers: the
    activations aˡ of all layers side by side in ``a``, their δ in ``d``, each layer worked
    on through views made once per epoch (:func:`_layer_views`; Wˡ as an (nₗ₋₁, nₗ) matrix),
    so the inner loops run from 0 over contiguous rows and vectorise."""
    P_, V_, M_, A, D = _layer_views(P, V, decay, a, d, sizes, w_off, b_off)
    return _epoch(X, T, P_, V_, M_, A, D, acts, alphas, loss_code, lr, mu, nesterov, l2, threshold)


def _epoch(X, T, P_, V_, M_, A, D, acts, alphas, loss_code, lr, mu, nesterov, l2, threshold):
    """The compiled loop of :func:`_online_epoch` over the views of :func:`_layer_views`."""
    (Ws, Bs), (VWs, VBs), (MWs, MBs) = P_, V_, M_
    f = Ws[0].dtype.type
    lr, mu, l2, zero = f(lr), f(mu), f(l2), f(0)
    one = np.ones(1, Ws[0].dtype)  # the bias row's "input"
    rational = Ws[0].itemsize == 4  # float32: tanh32
    n_layers = len(Ws)
    top = A[n_layers]
    k = top.shape[0]
    loss_sum, correct = 0.0, 0
    for ex in range(X.shape[0]):
        A[0][:] = X[ex]  # ---- forward
        for layer in range(n_layers):
            out = A[layer + 1]
            out[:] = Bs[layer][0]
            _forward(A[layer], Ws[layer], out)
            _activate(out, acts[layer], f(alphas[layer]), rational)
        loss, right = _output_loss(top, D[n_layers], T, ex, k, loss_code)  # ---- loss, δᴸ
        if right < 0 and k == 1:
            right = int((top[0] > threshold) == (T[ex, 0] > 0.5))
        elif right < 0:
            bo_, bt_ = 0, 0
            for j in range(1, k):
                if top[j] > top[bo_]:
                    bo_ = j
                if T[ex, j] > T[ex, bt_]:
                    bt_ = j
            right = int(bo_ == bt_)
        loss_sum += loss
        correct += right
        for layer in range(n_layers - 1, -1, -1):  # ---- backward, weights before the update
            delta = D[layer + 1]
            _derivative(A[layer + 1], delta, acts[layer], f(alphas[layer]))
            if layer > 0:
                W, below = Ws[layer], D[layer]
                for i in range(W.shape[0]):
                    s = zero
                    for j in range(W.shape[1]):
                        s += W[i, j] * delta[j]
                    below[i] = s
        for layer in range(n_layers):  # ---- update: g = a ⊗ δ (+ λ m W); the rule
            x, delta = A[layer], D[layer + 1]
            if mu == 0 and l2 == 0:  # plain SGD: W ← W − xᵢ (η δ), η δ formed once per layer
                for j in range(delta.shape[0]):
                    delta[j] *= lr
                _sgd(Ws[layer], x, delta)
                _sgd(Bs[layer], one, delta)
                continue
            for W, v, m, xs in (
                (Ws[layer], VWs[layer], MWs[layer], x),
                (Bs[layer], VBs[layer], MBs[layer], one),
            ):
                if l2 > 0:  # the penalty of the weights before this update
                    for i in range(W.shape[0]):
                        for j in range(W.shape[1]):
                            loss_sum += 0.5 * l2 * m[i, j] * W[i, j] * W[i, j]
                _rule(W, v, m, xs, delta, lr, mu, nesterov, l2)
    return loss_sum, correct


def _sgd(W: Any, x: Any, step: Any) -> None:
    """W ← W − x ⊗ step (plain SGD, with step = η δ), one row at a time."""
    for i in range(W.shape[0]):
        xi = x[i]
        for j in range(W.shape[1]):
            W[i, j] -= xi * step[j]


def _rule(W, V, m, x, delta, lr, mu, nesterov, l2) -> None:
    """W ← W + the rule's step for g = x ⊗ δ (+ λ m W): plain SGD, momentum (velocity V) or
    Nesterov, each its own loops."""
    for i in range(W.shape[0]):
        xi = x[i]
        if mu > 0 and nesterov:
            for j in range(W.shape[1]):
                g = xi * delta[j] + (l2 * m[i, j] * W[i, j] if l2 > 0 else 0 * xi)
                V[i, j] = mu * V[i, j] - lr * g
                W[i, j] += mu * V[i, j] - lr * g
        elif mu > 0:
            for j in range(W.shape[1]):
                g = xi * delta[j] + (l2 * m[i, j] * W[i, j] if l2 > 0 else 0 * xi)
                V[i, j] = mu * V[i, j] - lr * g
                W[i, j] += V[i, j]
        elif l2 > 0:
            for j in range(W.shape[1]):
                W[i, j] -= lr * (xi * delta[j] + l2 * m[i, j] * W[i, j])
        else:
            for j in range(W.shape[1]):
                W[i, j] -= lr * (xi * delta[j])


# helpers inlined into the loop (Numba IR inlining), so their branches sit outside its loops
_INLINE = dict(inline="always", **fused._VECTOR)
_forward = fused.njit(_forward, **_INLINE)
_activate = fused.njit(_activate, **_INLINE)
_derivative = fused.njit(_derivative, **_INLINE)
_output_loss = fused.njit(_output_loss, **_INLINE)
_rule = fused.njit(_rule, **_INLINE)
_sgd = fused.njit(_sgd, **_INLINE)
_epoch = fused.njit(_epoch, **fused._VECTOR)
online_epoch = _online_epoch if _epoch is not None else None
"""The twin: the views made in Python, then the compiled loop (None without Numba)."""
