"""Additive attention (Bahdanau, Cho & Bengio 2015), forward and backward, with a padding mask.

At decoder step t the previous decoder state s_{t-1} (N, H_d) scores every source annotation
h_j (N, S, H_e) by a one-hidden-layer network, the scores become weights by a softmax over the
source positions, and the context vector is the weighted mean of the annotations::

    z_tj = tanh(W_a s_{t-1} + U_a h_j + b_a)          (A units)
    e_tj = v_aᵀ z_tj                                  alignment score
    α_tj = exp(e_tj) / Σ_k exp(e_tk)   over the real positions only; α_tj = 0 on padding
    c_t  = Σ_j α_tj h_j

U_a h_j does not depend on t, so it is computed once per source (:func:`project_keys`).
Positions where ``mask`` is False (padding past a sequence's end) get e = −∞, hence α = 0:
they take no part in the context and receive no gradient.

Backward, given ∂L/∂c_t = g (N, H_e)::

    ∂L/∂h_j  += α_tj g                    (through the context)
    ∂L/∂α_tj  = h_jᵀ g
    ∂L/∂e_tj  = α_tj (∂L/∂α_tj − Σ_k α_tk ∂L/∂α_tk)          softmax Jacobian
    ∂L/∂v_a  += Σ_j ∂L/∂e_tj z_tj
    δ_tj      = ∂L/∂e_tj v_a ⊙ (1 − z_tj²)                    (A units)
    ∂L/∂(U_a h_j) += δ_tj     ∂L/∂b_a += Σ_j δ_tj
    ∂L/∂W_a  += (Σ_j δ_tj) s_{t-1}ᵀ     ∂L/∂s_{t-1} = W_aᵀ Σ_j δ_tj

Example::

    >>> import numpy as np
    >>> from bprop.recurrent.attention import attend
    >>> rng = np.random.default_rng(0)
    >>> h, mask = rng.normal(size=(2, 4, 3)), np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    >>> W, U, b, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), np.zeros(5), np.ones(5)
    >>> c, cache = attend(rng.normal(size=(2, 3)), h, h @ U.T, mask, W, b, v)
    >>> alpha = cache[1]
    >>> alpha.sum(axis=1).round(12).tolist(), float(alpha[0, 3])
    ([1.0, 1.0], 0.0)
"""

from __future__ import annotations

from typing import Any

from bprop import backend


def project_keys(h: Any, U: Any) -> Any:
    """U_a h_j for every annotation: (N, S, H_e) → (N, S, A), once per source."""
    return h @ U.T


def attend(s_prev: Any, h: Any, keys: Any, mask: Any, W: Any, b: Any, v: Any) -> tuple[Any, Any]:
    """The context c_t (N, H_e) for decoder states ``s_prev`` (N, H_d) over annotations ``h``
    (N, S, H_e) with projected ``keys`` = U_a h (N, S, A) and ``mask`` (N, S, bool: real
    positions); returns ``(c_t, cache)`` with the weights α_t (N, S) as ``cache[1]``."""
    xp = backend.get_xp()
    z = xp.tanh(keys + (s_prev @ W.T + b)[:, None, :])
    e = z @ v
    e = xp.where(mask, e, -xp.inf)
    e = e - xp.max(e, axis=1, keepdims=True)
    alpha = xp.exp(e)
    alpha /= xp.sum(alpha, axis=1, keepdims=True)
    c = (alpha[:, None, :] @ h)[:, 0, :]
    return c, (z, alpha, s_prev)


def attend_backward(
    dc: Any, h: Any, W: Any, v: Any, cache: Any, grads: dict[str, Any], dkeys: Any
) -> Any:
    """Backpropagate ∂L/∂c_t ``dc`` (N, H_e) through the scores of :func:`attend`: add into
    ``dkeys`` (∂L/∂(U_a h), N × S × A) and ``grads["W"]``, ``grads["b"]``, ``grads["v"]``;
    return ∂L/∂s_{t-1} (N, H_d). The direct path into the annotations, ∂L/∂h_j += α_tj g,
    is left to the caller (:func:`context_backward` does it for all steps at once)."""
    z, alpha, s_prev = cache
    xp = backend.get_xp()
    dalpha = (h @ dc[:, :, None])[:, :, 0]
    de = alpha * (dalpha - xp.sum(alpha * dalpha, axis=1, keepdims=True))
    grads["v"] += xp.reshape(de, (-1,)) @ xp.reshape(z, (-1, z.shape[2]))
    delta = z * z  # δ = ∂L/∂e v ⊙ (1 − z²), in place
    backend.into(xp.subtract, 1.0, delta, out=delta)
    delta *= v
    delta *= de[:, :, None]
    dkeys += delta
    dq = xp.sum(delta, axis=1)
    grads["b"] += xp.sum(dq, axis=0)
    grads["W"] += dq.T @ s_prev
    return dq @ W


def context_backward(alphas: Any, dcs: Any) -> Any:
    """∂L/∂h through the contexts of all steps: Σ_t α_tj g_t for weights ``alphas`` (N, T, S)
    and ∂L/∂c ``dcs`` (N, T, H_e), as one batched product (N, S, H_e)."""
    return backend.permute_dims(alphas, (0, 2, 1)) @ dcs
