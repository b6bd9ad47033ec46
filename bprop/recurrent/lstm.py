"""Long short-term memory (Hochreiter & Schmidhuber 1997) with the forget gate of Gers,
Schmidhuber & Cummins (2000).

One step, gate blocks stacked in PyTorch's order i, f, g, o (so ``W_ih`` (4H, D) and ``W_hh``
(4H, H) map one-to-one onto ``torch.nn.LSTM``'s ``weight_ih_l0``/``weight_hh_l0``)::

    a_t = W_ih x_t + W_hh h_{t-1} + b          (4H pre-activations, one product per weight)
    i_t = σ(a_i)    f_t = σ(a_f)    g_t = tanh(a_g)    o_t = σ(a_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t            (the constant error carousel, gated)
    h_t = o_t ⊙ tanh(c_t)

The bias b is PyTorch's b_ih + b_hh (``load_torch`` adds them). Its forget block starts at
``forget_bias`` (1.0 by default, Gers et al. 2000; Jozefowicz et al. 2015), so the cell
remembers by default.

Backward through one step, with g_h = ∂L/∂h_t (from above plus from step t + 1) and g_c the
∂L/∂c_t carried back from step t + 1::

    δo = g_h ⊙ tanh(c_t) ⊙ o(1 − o)
    g_c ← g_c + g_h ⊙ o_t ⊙ (1 − tanh²(c_t))
    δi = g_c ⊙ g_t ⊙ i(1 − i)    δf = g_c ⊙ c_{t-1} ⊙ f(1 − f)    δg = g_c ⊙ i_t ⊙ (1 − g_t²)
    δ = [δi, δf, δg, δo]
    ∂L/∂W_ih += δᵀ x_t   ∂L/∂W_hh += δᵀ h_{t-1}   ∂L/∂b += Σ_batch δ
    ∂L/∂x_t = δ W_ih     ∂L/∂h_{t-1} = δ W_hh     ∂L/∂c_{t-1} = g_c ⊙ f_t

The path c_{t-1} → c_t is multiplied only by f_t, not by a weight matrix and a squashing
derivative, which is why gradients survive over long time lags.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import LSTM, Recurrent
    >>> lstm = LSTM(3, 4, rng=0)
    >>> float(lstm.params["b"][4:8].mean())   # forget-gate bias
    1.0
    >>> Recurrent(lstm)(np.ones((2, 6, 3), dtype=np.float32)).shape
    (2, 6, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, ops
from bprop.recurrent.cells import Cell, add_into


class LSTM(Cell):
    """LSTM cell with forget gate; state (h, c).

    Args:
        n_in, n_hidden: input size D and hidden size H.
        forget_bias: starting value of the forget-gate bias block (default 1.0); ignored when
            ``b`` is given.
        init, recurrent_init: initialisers (see :func:`bprop.recurrent.initializers.gate_weights`).
        W_ih (4H, D), W_hh (4H, H), b (4H,): explicit starting values, blocks i, f, g, o.
        rng: Generator or seed.
        kernel: the fast path's step ops ``lstm_forward``/``lstm_backward`` from the op table
            (:mod:`bprop.ops`): ``"auto"`` (the fused Numba twins when Numba is installed and
            the backend is NumPy), ``"numba"`` or ``"numpy"`` (the readable reference ops).
    """

    n_gates = 4
    state_names = ("h", "c")
    x_bias = "b"
    h_bias = None

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        forget_bias: float = 1.0,
        init: str = "uniform",
        recurrent_init: str | None = None,
        W_ih: Any = None,
        W_hh: Any = None,
        b: Any = None,
        rng: Any = None,
        kernel: str = "auto",
    ) -> None:
        super().__init__(n_in, n_hidden)
        self._set_kernel(kernel)
        self.forget_bias = float(forget_bias)
        if b is None:
            b = np.zeros(4 * n_hidden)
            b[n_hidden : 2 * n_hidden] = forget_bias
        self._init_params(init, recurrent_init, rng, W_ih, W_hh, {"b": b})

    # --- reference step -------------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        h_prev, c_prev = state
        p, H = self.params, self.n_hidden
        a = x_t @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b"]
        i = ops.sigmoid(a[:, :H])
        f = ops.sigmoid(a[:, H : 2 * H])
        g = ops.tanh(a[:, 2 * H : 3 * H])
        o = ops.sigmoid(a[:, 3 * H :])
        c = f * c_prev + i * g
        tc = ops.tanh(c)
        h = o * tc
        return h, (h, c), (x_t, h_prev, c_prev, i, f, g, o, tc)

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        x, h_prev, c_prev, i, f, g, o, tc = cache
        xp = backend.get_xp()
        gh = add_into(dh_t, None if dstate is None else dstate[0])
        gh = xp.zeros_like(h_prev) if gh is None else gh
        gc = xp.zeros_like(c_prev) if dstate is None or dstate[1] is None else dstate[1]
        do = gh * tc * o * (1 - o)
        gc = gc + gh * o * (1 - tc * tc)
        di = gc * g * i * (1 - i)
        df = gc * c_prev * f * (1 - f)
        dg = gc * i * (1 - g * g)
        delta = backend.concat([di, df, dg, do], axis=1)
        self._accumulate_step(x, h_prev, delta, delta)
        return delta @ self.params["W_ih"], (delta @ self.params["W_hh"], gc * f)

    # --- fast path ------------------------------------------------------------------------
    def fast_ops(self) -> tuple[str, str]:
        return "lstm_forward", "lstm_backward"

    def _fast_alloc(self, ws: Any, state0: tuple[Any, ...]) -> None:
        T, N, H = ws.T, ws.N, self.n_hidden
        ws.G = ws.buffer("G", (T, 4 * H, N))  # activated gates i, f, g, o of each step
        ws.Cs = ws.buffer("Cs", (T + 1, H, N))
        ws.Cs[0] = state0[1].T
        ws.TC = ws.buffer("TC", (T, H, N))  # tanh(c_t)

    def _step_views(self, ws: Any) -> list[tuple[Any, ...]]:
        """Per step t: the views the forward and backward steps work on — the per-step
        product's column block (h_{t-1}, or [x_t; 1; h_{t-1}] stacked), the gates,
        XP[t], c_{t-1}, c_t, tanh c_t and h_t's column in ws.Hs — made once per workspace (its
        buffers outlive the pass) rather than sliced afresh at every step."""
        views = ws.__dict__.get("step_views")
        if views is None:
            N = ws.N
            views = ws.step_views = [
                (
                    ws.cols(ws.step_in, t),
                    ws.G[t],
                    ws.XP[t],
                    ws.Cs[t],
                    ws.Cs[t + 1],
                    ws.TC[t],
                    (t + 1) * N,
                )
                for t in range(ws.T)
            ]
        return views

    def fast_forward(self, ws: Any) -> None:
        W, op, matmul, Hs = ws.W_step, ws.forward_op, backend.get_xp().matmul, ws.Hs
        for z, G, XP_t, c_prev, c, tc, col in self._step_views(ws):
            matmul(W, z, out=G)  # W_hh h_{t-1} (stacked: all of a_t, and XP_t is zero)
            # a_t = G + (W_ih x_t + b); gates, c_t, tanh c_t; h_t into column block t + 1 of Hs
            op(G, XP_t, c_prev, c, tc, Hs, col)

    def fast_state(self, ws: Any, t: int) -> tuple[Any, ...]:
        return (ws.cols(ws.Hs, t).T.copy(), ws.Cs[t].T.copy())

    def fast_step_backward(self, ws: Any, bw: Any, t: int, dy_t: Any, norm: bool = False):
        gh, gc = bw.dstate
        if dy_t is not None:
            gh += dy_t
        nrm = backend.norm64(gh) if norm else None
        _, G, _, c_prev, _, tc, _ = self._step_views(ws)[t]
        ws.backward_op(G, tc, c_prev, gh, gc, bw.dXP, (t % bw.steps) * ws.N)  # δ, gc ← ∂L/∂c_{t-1}
        # ∂L/∂h_{t-1} = W_hhᵀ δ, with the current weights (as the other cells and the reference
        # step: truncated BPTT backpropagates stored chunks after updates), copied contiguous
        # once per backward pass (workspace.backward_begin)
        backend.get_xp().matmul(bw.W_hhT, bw.cols(bw.dXP, t), out=gh)
        return nrm

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["forget_bias"] = self.forget_bias
        return cfg
