"""The gated recurrent unit of Cho et al. (2014), in PyTorch's formulation.

One step (gate order r, z, n in the stacked weights, as in ``torch.nn.GRU``)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)              reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)              update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))   candidate
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

**Reset-gate placement.** Cho et al. (2014) apply the reset gate *before* the recurrent
product, n_t = tanh(W x_t + U (r_t ⊙ h_{t-1})). This cell uses PyTorch's (and cuDNN's)
placement, r_t ⊙ (W_hn h_{t-1} + b_hn), *after* the product — so weights map one-to-one onto
``nn.GRU`` and the recurrent products of all gates are one fused matmul. This is why the cell
keeps two biases: b_hn sits inside the reset gate and is not redundant with b_in.
``GRU(..., reset_after=False)`` builds Cho et al.'s placement instead
(:mod:`bprop.recurrent.gru_reset_before`).

Backward, with g = ∂L/∂h_t (from above plus from step t + 1), a_n = W_hn h_{t-1} + b_hn::

    δn = g ⊙ (1 − z) ⊙ (1 − n²)      δz = g ⊙ (h_{t-1} − n) ⊙ z(1 − z)
    δr = δn ⊙ a_n ⊙ r(1 − r)
    input side  δˣ = [δr, δz, δn]    recurrent side  δʰ = [δr, δz, δn ⊙ r]
    ∂L/∂W_ih += δˣᵀ x_t   ∂L/∂b_ih += Σ δˣ   ∂L/∂W_hh += δʰᵀ h_{t-1}   ∂L/∂b_hh += Σ δʰ
    ∂L/∂x_t = δˣ W_ih     ∂L/∂h_{t-1} = g ⊙ z + δʰ W_hh

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import GRU, Recurrent
    >>> Recurrent(GRU(3, 4, rng=0), return_sequences=False)(np.ones((2, 5, 3))).shape
    (2, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, ops
from bprop.recurrent.cells import Cell, add_into


class GRU(Cell):
    """Gated recurrent unit (Cho et al. 2014) with PyTorch's reset-gate placement.

    Args:
        n_in, n_hidden: input size D and hidden size H.
        init, recurrent_init: initialisers (see :func:`bprop.recurrent.initializers.gate_weights`).
        W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,): explicit starting values, gate
            blocks in the order r, z, n.
        rng: Generator or seed.
        kernel: the fast path's step ops ``gru_forward``/``gru_backward`` from the op table
            (:mod:`bprop.ops`): ``"auto"`` (the fused Numba twins when Numba is installed and
            the backend is NumPy), ``"numba"`` or ``"numpy"`` (the readable reference ops).
        reset_after: True (this cell) or False: the original placement, before the recurrent
            product, which builds a :class:`~bprop.recurrent.gru_reset_before.GRUResetBefore`.
    """

    n_gates = 3
    reset_after = True
    state_names = ("h",)
    x_bias = "b_ih"
    h_bias = "b_hh"

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        init: str = "uniform",
        recurrent_init: str | None = None,
        W_ih: Any = None,
        W_hh: Any = None,
        b_ih: Any = None,
        b_hh: Any = None,
        rng: Any = None,
        kernel: str = "auto",
        reset_after: bool | None = None,
    ) -> None:
        if reset_after is not None and bool(reset_after) != self.reset_after:
            raise ValueError(f"{type(self).__name__} has reset_after={self.reset_after}")
        super().__init__(n_in, n_hidden)
        self._set_kernel(kernel)
        G = 3 * n_hidden
        biases = {
            "b_ih": np.zeros(G) if b_ih is None else b_ih,
            "b_hh": np.zeros(G) if b_hh is None else b_hh,
        }
        self._init_params(init, recurrent_init, rng, W_ih, W_hh, biases)

    def __new__(cls, *args: Any, reset_after: bool | None = None, **kwargs: Any) -> GRU:
        if cls is GRU and reset_after is not None and not reset_after:
            from bprop.recurrent.gru_reset_before import GRUResetBefore

            cls = GRUResetBefore
        return super().__new__(cls)

    # --- reference step -------------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        (h_prev,) = state
        p, H = self.params, self.n_hidden
        ax = x_t @ p["W_ih"].T + p["b_ih"]
        ah = h_prev @ p["W_hh"].T + p["b_hh"]
        r = ops.sigmoid(ax[:, :H] + ah[:, :H])
        z = ops.sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
        n = ops.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
        h = (1 - z) * n + z * h_prev
        return h, (h,), (x_t, h_prev, r, z, n, ah[:, 2 * H :])

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        x, h_prev, r, z, n, ahn = cache
        xp = backend.get_xp()
        g = add_into(dh_t, None if dstate is None else dstate[0])
        if g is None:
            g = xp.zeros_like(h_prev)
        dn = g * (1 - z) * (1 - n * n)
        dz = g * (h_prev - n) * z * (1 - z)
        dr = dn * ahn * r * (1 - r)
        dxp = backend.concat([dr, dz, dn], axis=1)
        dah = backend.concat([dr, dz, dn * r], axis=1)
        self._accumulate_step(x, h_prev, dxp, dah)
        dh_prev = g * z + dah @ self.params["W_hh"]
        return dxp @ self.params["W_ih"], (dh_prev,)

    # --- fast path ------------------------------------------------------------------------
    def fast_ops(self) -> tuple[str, str]:
        return "gru_forward", "gru_backward"

    def _fast_alloc(self, ws: Any, state0: tuple[Any, ...]) -> None:
        shape = (ws.T, 3 * self.n_hidden, ws.N)
        ws.AH = ws.buffer("AH", shape)  # W_hh h_{t-1} + b_hh of each step
        ws.G = ws.buffer("G", shape)  # r, z, n of each step
        ws.WdAH = ws.buffer("WdAH", (self.n_hidden, ws.N))  # W_hhᵀ δʰ of a backward step

    def fast_step(self, ws: Any, t: int) -> None:
        N = ws.N
        # W_hh h_{t-1}
        backend.get_xp().matmul(self.params["W_hh"], ws.cols(ws.Hs, t), out=ws.AH[t])
        # the op's projected inputs: step t's block, from its column 0
        ws.forward_op(ws.AH[t], ws.G[t], self.params["b_hh"], ws.XP[t], 0, ws.Hs, (t + 1) * N)

    def fast_step_backward(self, ws: Any, bw: Any, t: int, dy_t: Any, norm: bool = False):
        g = bw.dstate[0]
        if dy_t is not None:
            g += dy_t
        nrm = backend.norm64(g) if norm else None
        col = (t % bw.steps) * ws.N  # δˣ, δʰ into the ring; g ← g ⊙ z
        ws.backward_op(ws.G[t], ws.AH[t], ws.Hs, t * ws.N, g, bw.dXP, bw.dAH, col)
        backend.get_xp().matmul(bw.W_hhT, bw.cols(bw.dAH, t), out=ws.WdAH)
        g += ws.WdAH  # ∂L/∂h_{t-1} = g z + W_hhᵀ δʰ
        return nrm
