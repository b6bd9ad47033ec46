"""The GRU as Cho et al. (2014) published it: the reset gate applied *before* the recurrent
product ("Learning phrase representations using RNN encoder–decoder for statistical machine
translation", eq. 8). It is ONNX's default (``linear_before_reset=0``) and Keras's
``reset_after=False``; :class:`~bprop.recurrent.GRU` (``reset_after=True``) is PyTorch's and
cuDNN's form. ``GRU(..., reset_after=False)`` builds this cell.

One step, gate blocks r, z, n stacked as in :class:`~bprop.recurrent.GRU`::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    q_t = r_t ⊙ h_{t-1}                                  (reset the memory first …)
    n_t = tanh(W_in x_t + b_in + W_hn q_t + b_hn)        (… then multiply)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Here b_in and b_hn only ever appear as a sum; both are kept so weights map one-to-one onto ONNX
(``Wb``/``Rb``) and onto :class:`~bprop.recurrent.GRU`'s layout. Backward, with
g = ∂L/∂h_t (from above plus from step t + 1)::

    δn = g ⊙ (1 − z) ⊙ (1 − n²)      δz = g ⊙ (h_{t-1} − n) ⊙ z(1 − z)
    ∂L/∂q = W_hnᵀ δn                 δr = ∂L/∂q ⊙ h_{t-1} ⊙ r(1 − r)
    δ = [δr, δz, δn]   (the same on the input and the recurrent side)
    ∂L/∂W_ih += δᵀ x_t   ∂L/∂b_ih += Σ δ   ∂L/∂b_hh += Σ δ
    ∂L/∂[W_hr; W_hz] += [δr, δz]ᵀ h_{t-1}    ∂L/∂W_hn += δnᵀ q_t     (q_t, not h_{t-1})
    ∂L/∂x_t = δ W_ih    ∂L/∂h_{t-1} = g ⊙ z + ∂L/∂q ⊙ r + [δr, δz] [W_hr; W_hz]

Because n's recurrent product needs r first, the per-step work is two products (r and z, then
n), not one; the fast path's element-wise steps are the ops ``gru_reset_before_forward`` and
``gru_reset_before_backward`` of :mod:`bprop.ops` (which include the product with W_hn).

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import GRU, Recurrent
    >>> cell = GRU(3, 4, reset_after=False, rng=0)
    >>> type(cell).__name__, cell.reset_after
    ('GRUResetBefore', False)
    >>> Recurrent(cell, return_sequences=False)(np.ones((2, 5, 3))).shape
    (2, 4)
"""

from __future__ import annotations

from typing import Any

from bprop import backend, ops
from bprop.recurrent.cells import add_into
from bprop.recurrent.gru import GRU


class GRUResetBefore(GRU):
    """Gated recurrent unit with the reset gate before the recurrent product (Cho et al. 2014).

    Takes the arguments of :class:`~bprop.recurrent.GRU`; ``reset_after`` may only be False.
    """

    reset_after = False

    # --- reference step -------------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        (h_prev,) = state
        p, H = self.params, self.n_hidden
        ax = x_t @ p["W_ih"].T + p["b_ih"]
        arz = h_prev @ p["W_hh"][: 2 * H, ...].T + p["b_hh"][: 2 * H]
        r = ops.sigmoid(ax[:, :H] + arz[:, :H])
        z = ops.sigmoid(ax[:, H : 2 * H] + arz[:, H:])
        q = r * h_prev
        n = ops.tanh(ax[:, 2 * H :] + q @ p["W_hh"][2 * H :, ...].T + p["b_hh"][2 * H :])
        h = (1 - z) * n + z * h_prev
        return h, (h,), (x_t, h_prev, r, z, n, q)

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        x, h_prev, r, z, n, q = cache
        xp, H, p = backend.get_xp(), self.n_hidden, self.params
        g = add_into(dh_t, None if dstate is None else dstate[0])
        if g is None:
            g = xp.zeros_like(h_prev)
        dn = g * (1 - z) * (1 - n * n)
        dz = g * (h_prev - n) * z * (1 - z)
        dq = dn @ p["W_hh"][2 * H :, ...]
        dr = dq * h_prev * r * (1 - r)
        drz = backend.concat([dr, dz], axis=1)
        delta = backend.concat([drz, dn], axis=1)
        self.grads["W_ih"] += delta.T @ x
        self.grads["W_hh"][: 2 * H, ...] += drz.T @ h_prev
        self.grads["W_hh"][2 * H :, ...] += dn.T @ q
        self.grads["b_ih"] += xp.sum(delta, axis=0)
        self.grads["b_hh"] += xp.sum(delta, axis=0)
        dh_prev = g * z + dq * r + drz @ p["W_hh"][: 2 * H, ...]
        return delta @ p["W_ih"], (dh_prev,)

    def load_torch(self, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None) -> GRU:
        """Refused: ``torch.nn.GRU`` puts the reset gate after the product (use :class:`GRU`)."""
        raise ValueError(
            "torch.nn.GRU applies the reset gate after the recurrent product; load its weights "
            "into GRU (reset_after=True), not GRUResetBefore"
        )

    # --- fast path ------------------------------------------------------------------------
    def fast_ops(self) -> tuple[str, str]:
        return "gru_reset_before_forward", "gru_reset_before_backward"

    def _fast_alloc(self, ws: Any, state0: tuple[Any, ...]) -> None:
        super()._fast_alloc(ws, state0)
        ws.Q = ws.buffer("Q", (self.n_hidden, ws.T * ws.N))  # q_t = r_t ⊙ h_{t-1} of each step
        ws.dQ = ws.buffer("dQ", (self.n_hidden, ws.N))  # ∂L/∂q of a backward step

    def fast_step(self, ws: Any, t: int) -> None:
        N, H, W = ws.N, self.n_hidden, self.params["W_hh"]
        backend.get_xp().matmul(
            W[: 2 * H], ws.cols(ws.Hs, t), out=ws.AH[t][: 2 * H]
        )  # W_hr, W_hz h_{t-1}
        ws.forward_op(
            ws.AH[t],
            ws.G[t],
            W[2 * H :],
            self.params["b_hh"],
            ws.XP[t],  # step t's projected inputs and q_t's block, from their column 0
            0,
            ws.Hs,
            (t + 1) * N,
            ws.cols(ws.Q, t),
        )

    def fast_step_backward(self, ws: Any, bw: Any, t: int, dy_t: Any, norm: bool = False):
        g, H = bw.dstate[0], self.n_hidden
        if dy_t is not None:
            g += dy_t
        nrm = backend.norm64(g) if norm else None
        W = self.params["W_hh"]
        col = (t % bw.steps) * ws.N  # δ into the ring; g ← g ⊙ z + ∂L/∂q ⊙ r
        ws.backward_op(ws.G[t], W[2 * H :], ws.Hs, t * ws.N, g, bw.dXP, col, ws.dQ)
        backend.get_xp().matmul(W[: 2 * H].T, bw.cols(bw.dXP, t)[: 2 * H], out=ws.WdAH)
        g += ws.WdAH  # ∂L/∂h_{t-1} = g z + ∂L/∂q ⊙ r + [W_hr; W_hz]ᵀ [δr; δz]
        return nrm

    def fast_backward_flush(self, ws: Any, bw: Any, lo: int, hi: int) -> None:
        """Weight gradients and ∂L/∂x of steps ``lo … hi-1``: W_hn's from q_t, not h_{t-1}."""
        N, H = ws.N, self.n_hidden
        k = (lo % bw.steps) * N
        d = bw.dXP[:, k : k + (hi - lo) * N]
        seq = slice(lo * N, hi * N)
        bw.accumulate(ws, "W_ih", d, ws.Xfm[:, seq].T)
        bw.accumulate(ws, "W_hh_rz", d[: 2 * H], ws.Hs[:, seq].T)
        bw.accumulate(ws, "W_hh_n", d[2 * H :], ws.Q[:, seq].T)
        bw.accumulate(ws, "b", d.sum(axis=1))
        if bw.dX is not None:
            bw.dX[lo:hi] = (d.T @ self.params["W_ih"]).reshape(hi - lo, N, self.n_in)

    def fast_backward_end(self, ws: Any, bw: Any) -> Any:
        acc, H = bw.acc, self.n_hidden
        if acc:
            self.grads["W_ih"] += acc["W_ih"]
            self.grads["W_hh"][: 2 * H] += acc["W_hh_rz"]
            self.grads["W_hh"][2 * H :] += acc["W_hh_n"]
            self.grads["b_ih"] += acc["b"]
            self.grads["b_hh"] += acc["b"]
        return bw.dX
