"""The simple recurrent network of Elman (1990), "Finding structure in time".

One step, with f = tanh (default) or ReLU::

    a_t = W_ih x_t + W_hh h_{t-1} + b
    h_t = f(a_t)

Backward (the BPTT recursion through one step), with g_t = ∂L/∂h_t the sum of the gradient
from above and the one carried back from step t + 1::

    δ_t = g_t ⊙ f′(a_t)           (tanh: 1 − h_t²;  ReLU: [h_t > 0])
    ∂L/∂W_ih += δ_tᵀ x_t    ∂L/∂W_hh += δ_tᵀ h_{t-1}    ∂L/∂b += Σ_batch δ_t
    ∂L/∂x_t = δ_t W_ih      ∂L/∂h_{t-1} = δ_t W_hh

Because ∂L/∂h_{t-1} is multiplied by W_hhᵀ diag(f′) at every step, gradients through a plain
RNN vanish or explode geometrically with the distance in time (Bengio, Simard & Frasconi 1994;
Hochreiter 1991) — see ``record_grad_norms`` on :class:`bprop.recurrent.Recurrent`.

PyTorch's ``nn.RNN`` keeps two biases b_ih and b_hh; only their sum matters, so this cell keeps
one, ``b`` (``load_torch`` adds them).

Example::

    >>> import numpy as np
    >>> from bprop.recurrent import Elman, Recurrent
    >>> rnn = Recurrent(Elman(3, 5, rng=0))
    >>> rnn(np.zeros((2, 7, 3), dtype=np.float32)).shape
    (2, 7, 5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, ops
from bprop.recurrent.cells import Cell, add_into


class Elman(Cell):
    """Elman (simple) recurrent cell h_t = f(W_ih x_t + W_hh h_{t-1} + b).

    Args:
        n_in, n_hidden: input size D and hidden size H.
        activation: ``"tanh"`` (default) or ``"relu"``.
        init, recurrent_init: initialisers for W_ih and W_hh (``"uniform"``: PyTorch's
            U(±1/√H); ``"glorot"``; ``"orthogonal"``); ``recurrent_init`` defaults to ``init``.
        W_ih, W_hh, b: explicit starting values.
        rng: Generator or seed.
    """

    n_gates = 1
    state_names = ("h",)
    x_bias = "b"
    h_bias = None

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        activation: str = "tanh",
        init: str = "uniform",
        recurrent_init: str | None = None,
        W_ih: Any = None,
        W_hh: Any = None,
        b: Any = None,
        rng: Any = None,
    ) -> None:
        super().__init__(n_in, n_hidden)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"Elman activation must be 'tanh' or 'relu', got {activation!r}")
        self.activation = activation
        self._f, self._df = ops.ACTIVATIONS[activation]
        b = np.zeros(n_hidden) if b is None else b
        self._init_params(init, recurrent_init, rng, W_ih, W_hh, {"b": b})

    # --- reference step -------------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        (h_prev,) = state
        p = self.params
        a = x_t @ p["W_ih"].T + h_prev @ p["W_hh"].T + p["b"]
        h = self._f(a)
        return h, (h,), (x_t, h_prev, h)

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        x, h_prev, h = cache
        g = add_into(dh_t, None if dstate is None else dstate[0])
        if g is None:
            g = backend.get_xp().zeros_like(h)
        delta = self._df(h, g)
        self._accumulate_step(x, h_prev, delta, delta)
        return delta @ self.params["W_ih"], (delta @ self.params["W_hh"],)

    # --- fast path ------------------------------------------------------------------------
    def fast_ops(self) -> tuple[str, str]:
        return "elman_" + self.activation, self.activation + "_backward"

    def fast_step(self, ws: Any, t: int) -> None:
        a = ws.cols(ws.Hs, t + 1)
        # W_hh h_{t-1} (stacked: all of a_t)
        backend.get_xp().matmul(ws.W_step, ws.cols(ws.step_in, t), out=a)
        if ws.stacked:
            self._f(a, out=a)  # h_t = f(a_t), in place
        else:
            ws.forward_op(a, ws.XP[t])  # h_t = f(a + W_ih x_t + b), in place

    def fast_step_backward(self, ws: Any, bw: Any, t: int, dy_t: Any, norm: bool = False):
        g = bw.dstate[0]
        if dy_t is not None:
            g += dy_t
        n = backend.norm64(g) if norm else None
        delta = ws.backward_op(ws.cols(ws.Hs, t + 1), g, out=bw.cols(bw.dXP, t))
        backend.get_xp().matmul(bw.W_hhT, delta, out=g)
        return n

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg
