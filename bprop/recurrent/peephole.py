"""The LSTM with peephole connections of Gers, Schraudolph & Schmidhuber (2002), "Learning
precise timing with LSTM recurrent networks" (JMLR 3).

The gates of the plain :class:`~bprop.recurrent.LSTM` see only x_t and h_{t-1}; when the output
gate is shut, nothing about the cell state reaches them. Peepholes are diagonal weights from
the cell state to the gates: the input and forget gates see c_{t-1}, the output gate sees the
new c_t. One step, gate blocks i, f, g, o as in :class:`~bprop.recurrent.LSTM`, peephole
weights ``p`` = [p_i, p_f, p_o] (3H,) (the order of ONNX's ``P``)::

    a_t = W_ih x_t + W_hh h_{t-1} + b
    i_t = σ(a_i + p_i ⊙ c_{t-1})    f_t = σ(a_f + p_f ⊙ c_{t-1})    g_t = tanh(a_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(a_o + p_o ⊙ c_t)        h_t = o_t ⊙ tanh(c_t)

Backward through one step, with g_h = ∂L/∂h_t (from above plus from step t + 1) and g_c the
∂L/∂c_t carried back from step t + 1::

    δo = g_h ⊙ tanh(c_t) ⊙ o(1 − o)
    g_c ← g_c + g_h ⊙ o_t ⊙ (1 − tanh² c_t) + p_o ⊙ δo          (c_t also feeds o_t)
    δi = g_c ⊙ g_t ⊙ i(1 − i)    δf = g_c ⊙ c_{t-1} ⊙ f(1 − f)    δg = g_c ⊙ i_t ⊙ (1 − g_t²)
    ∂L/∂p_i += Σ δi ⊙ c_{t-1}    ∂L/∂p_f += Σ δf ⊙ c_{t-1}    ∂L/∂p_o += Σ δo ⊙ c_t
    ∂L/∂c_{t-1} = g_c ⊙ f_t + p_i ⊙ δi + p_f ⊙ δf
    (W_ih, W_hh, b, ∂L/∂x_t and ∂L/∂h_{t-1} as in the plain LSTM)

The fast path's element-wise steps are the ops ``peephole_lstm_forward`` and
``peephole_lstm_backward`` of :mod:`bprop.ops` (in :mod:`bprop.ops.recurrent`); the peephole
gradients are one reduction per block of backpropagated steps.

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import PeepholeLSTM, Recurrent
    >>> cell = PeepholeLSTM(3, 4, rng=0)
    >>> cell.params["p"].shape
    (12,)
    >>> Recurrent(cell)(np.ones((2, 6, 3))).shape
    (2, 6, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, ops
from bprop.layers.base import Shapes, config_size
from bprop.recurrent.cells import add_into
from bprop.recurrent.initializers import to_array
from bprop.recurrent.lstm import LSTM
from bprop.rng import as_generator


class PeepholeLSTM(LSTM):
    """LSTM cell with forget gate and peephole connections; state (h, c).

    Args: those of :class:`~bprop.recurrent.LSTM`, and
        p (3H,): the peephole weights [p_i, p_f, p_o]; by default drawn from U(±1/√H), like
            the other weights, from ``rng`` after them.
    """

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
        p: Any = None,
        rng: Any = None,
        kernel: str = "auto",
    ) -> None:
        gen = as_generator(rng)
        super().__init__(
            n_in, n_hidden, forget_bias, init, recurrent_init, W_ih, W_hh, b, gen, kernel
        )
        H = self.n_hidden
        if p is None:
            p = gen.uniform(-1.0, 1.0, size=3 * H) / np.sqrt(H)
        p = to_array(p)
        if p.shape != (3 * H,):
            raise ValueError(
                f"p (peepholes p_i, p_f, p_o) has shape {p.shape}, expected ({3 * H},)"
            )
        self.add_param("p", p, decay=True)  # connection weights, like W_ih and W_hh

    def load_torch(self, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None) -> LSTM:
        """PyTorch's ``nn.LSTM`` weights, with the peepholes it lacks set to zero (so the cell
        computes what ``nn.LSTM`` does)."""
        super().load_torch(W_ih, W_hh, b_ih, b_hh)
        self.params["p"][...] = 0
        return self

    # --- reference step -------------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        h_prev, c_prev = state
        p, H = self.params, self.n_hidden
        P = p["p"]
        a = x_t @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b"]
        i = ops.sigmoid(a[:, :H] + P[:H] * c_prev)
        f = ops.sigmoid(a[:, H : 2 * H] + P[H : 2 * H] * c_prev)
        g = ops.tanh(a[:, 2 * H : 3 * H])
        c = f * c_prev + i * g
        o = ops.sigmoid(a[:, 3 * H :] + P[2 * H :] * c)
        tc = ops.tanh(c)
        h = o * tc
        return h, (h, c), (x_t, h_prev, c_prev, i, f, g, o, c, tc)

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        x, h_prev, c_prev, i, f, g, o, c, tc = cache
        xp, H, P = backend.get_xp(), self.n_hidden, self.params["p"]
        gh = add_into(dh_t, None if dstate is None else dstate[0])
        gh = xp.zeros_like(h_prev) if gh is None else gh
        gc = xp.zeros_like(c_prev) if dstate is None or dstate[1] is None else dstate[1]
        do = gh * tc * o * (1 - o)
        gc = gc + gh * o * (1 - tc * tc) + P[2 * H :] * do
        di = gc * g * i * (1 - i)
        df = gc * c_prev * f * (1 - f)
        dg = gc * i * (1 - g * g)
        delta = backend.concat([di, df, dg, do], axis=1)
        self._accumulate_step(x, h_prev, delta, delta)
        dP = backend.concat([xp.sum(di * c_prev, axis=0), xp.sum(df * c_prev, axis=0),
                             xp.sum(do * c, axis=0)])  # fmt: skip
        self.grads["p"] += dP
        dc_prev = gc * f + P[:H] * di + P[H : 2 * H] * df
        return delta @ self.params["W_ih"], (delta @ self.params["W_hh"], dc_prev)

    # --- fast path ------------------------------------------------------------------------
    def fast_ops(self) -> tuple[str, str]:
        return "peephole_lstm_forward", "peephole_lstm_backward"

    def fast_forward(self, ws: Any) -> None:
        W, P, op, Hs = ws.W_step, self.params["p"], ws.forward_op, ws.Hs
        matmul = backend.get_xp().matmul
        for z, G, XP_t, c_prev, c, tc, col in self._step_views(ws):
            matmul(W, z, out=G)  # W_hh h_{t-1} (stacked: all of a_t)
            op(G, XP_t, P, c_prev, c, tc, Hs, col)

    def fast_step_backward(self, ws: Any, bw: Any, t: int, dy_t: Any, norm: bool = False):
        gh, gc = bw.dstate
        if dy_t is not None:
            gh += dy_t
        nrm = backend.norm64(gh) if norm else None
        _, G, _, c_prev, _, tc, _ = self._step_views(ws)[t]
        col = (t % bw.steps) * ws.N
        ws.backward_op(G, self.params["p"], tc, c_prev, gh, gc, bw.dXP, col)
        backend.get_xp().matmul(bw.W_hhT, bw.cols(bw.dXP, t), out=gh)  # ∂L/∂h_{t-1} = W_hhᵀ δ
        return nrm

    def fast_backward_flush(self, ws: Any, bw: Any, lo: int, hi: int) -> None:
        """The LSTM's block products, and the peephole gradients of steps ``lo … hi-1``."""
        super().fast_backward_flush(ws, bw, lo, hi)
        H, N, s = self.n_hidden, ws.N, hi - lo
        k = (lo % bw.steps) * N
        d = bw.dXP[:, k : k + s * N]

        def peek(rows: slice, c: Any) -> Any:  # Σ over steps and batch of δ ⊙ c
            return (d[rows].reshape(H, s, N) * c.transpose(1, 0, 2)).sum(axis=(1, 2))

        c_prev, c_now = ws.Cs[lo:hi], ws.Cs[lo + 1 : hi + 1]
        dP = backend.concat(
            [
                peek(slice(0, H), c_prev),
                peek(slice(H, 2 * H), c_prev),
                peek(slice(3 * H, None), c_now),
            ]
        )
        bw.accumulate(ws, "p", dP)  # added into grads["p"] with the others (backward_end)

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        params, buffers = super().declared_shapes(config)
        params["p"] = (3 * config_size(config, "n_hidden"),)
        return params, buffers
