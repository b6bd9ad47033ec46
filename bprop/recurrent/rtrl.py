"""Real-time recurrent learning (RTRL) for the Elman network (Williams & Zipser 1989).

Reference:
    R. J. Williams and D. Zipser (1989), "A learning algorithm for continually running fully
    recurrent neural networks", Neural Computation 1 (2), 270–280.

Backpropagation through time stores the whole trajectory and runs backwards over it. RTRL
instead carries the *sensitivities* of the state to every weight forward in time, so the exact
gradient of the error at the current step is available at that step, with no unrolling and no
stored history — the network can learn while it runs, on a stream of unbounded length.

**The network** is an Elman cell (:class:`bprop.recurrent.Elman`) followed by a per-step
feedforward head, normally a linear readout y_t = V h_t + c (``TimeDistributed(Dense)``),
optionally followed by an activation::

    a_t = W_ih x_t + W_hh h_{t−1} + b,      h_t = f(a_t),      y_t = head(h_t)

Let θ be the cell's parameters flattened in the order (W_ih, W_hh, b), |θ| = H·D + H² + H.

**The sensitivity recursion.** P_t = ∂h_t/∂θ is an (H, |θ|) matrix per sequence (P_0 = 0: the
initial state does not depend on θ). Differentiating the step,

    P_t = D_t (∂a_t/∂θ|direct + W_hh P_{t−1}),        D_t = diag f′(a_t),

where the direct term is sparse: ∂a_t[k]/∂W_ih[i, j] = [k = i] x_t[j],
∂a_t[k]/∂W_hh[i, j] = [k = i] h_{t−1}[j], ∂a_t[k]/∂b[i] = [k = i]. With e_t = ∂L_t/∂h_t (from
the head's ordinary backward pass) the gradient of the step's loss is

    ∂L_t/∂θ = e_t P_t,

and the head's own weights get their gradient directly (∂L_t/∂V = (∂L_t/∂y_t) h_tᵀ, …): the
head has no recurrence. With the weights frozen over a sequence, Σ_t ∂L_t/∂θ is *exactly* the
full-BPTT gradient of Σ_t L_t (the tests check it against :class:`bprop.recurrent.Recurrent`
to 1e-8 in float64). For a loss with ``reduction="sum"`` (e.g. :class:`bprop.SquaredError`)
Σ_t L_t is the loss of the whole (N, T, K) output; with ``"mean"`` it is T times that loss.

**Truly online learning** (Williams & Zipser's "real-time" mode): the weights are updated at
every step with ∂L_t/∂θ, and P is carried on across the weight changes. P then mixes
sensitivities computed under slightly different weights, so the gradient is approximate, which
is harmless for small learning rates (Williams & Zipser 1989, section 3) — and it is the only
exact-in-the-limit gradient method that needs no storage growing with time.

**Cost, plainly.** P has N·H·|θ| entries; for a fully connected network of n = H units with
D ≪ H that is ≈ n³ per sequence, and the product W_hh P_{t−1} costs ≈ 2·H²·|θ| ≈ 2n⁴
multiply-adds per step — O(n⁴) time and O(n³) memory, against O(n²) per step for BPTT. It is
practical for tens of units, not hundreds: 100 units cost ~2·10⁸ multiply-adds and 8 MB of P
per step. :class:`RTRL` warns (``UserWarning``) when a step would cost more than
``warn_flops`` multiply-adds and raises ``MemoryError`` naming the size when P would exceed
``memory_limit`` bytes.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent.rtrl import RTRL, rtrl_network
    >>> from bprop.train import train_online
    >>> net = rtrl_network(1, 8, 1, rng=0)
    >>> rtrl = RTRL(net, loss=bp.SquaredError())
    >>> x = np.sin(np.arange(201) / 4.0)[None, :, None]         # one stream (N=1, T, D=1)
    >>> out = train_online(rtrl, x[:, :-1], x[:, 1:], bp.SGD(0.05))  # predict the next value
    >>> float(np.mean(out.losses[-50:])) < float(np.mean(out.losses[:50]))
    True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers.dense import Dense
from bprop.layers.sequential import Sequential
from bprop.losses import Loss, SquaredError, get_loss
from bprop.optim.base import State
from bprop.recurrent.elman import Elman
from bprop.recurrent.unroll import Recurrent, TimeDistributed
from bprop.rng import as_generator

__all__ = ["RTRL", "OnlineResult", "rtrl_cost", "rtrl_network"]

#: the cell's parameters in the order of θ
THETA = ("W_ih", "W_hh", "b")


def rtrl_cost(n_in: int, n_hidden: int, batch: int = 1, itemsize: int = 8) -> dict[str, int]:
    """The size of RTRL's sensitivity tensor and its work per step, for an Elman cell.

    Returns ``n_theta`` (|θ| = H·D + H² + H), ``p_entries`` (N·H·|θ|), ``p_bytes`` and
    ``flops_per_step`` (multiply-adds of W_hh P_{t−1} and e_t P_t: N·(H² + H)·|θ|).
    """
    D, H, N = int(n_in), int(n_hidden), int(batch)
    n_theta = H * D + H * H + H
    entries = N * H * n_theta
    return {
        "n_theta": n_theta,
        "p_entries": entries,
        "p_bytes": entries * int(itemsize),
        "flops_per_step": N * (H * H + H) * n_theta,
    }


def rtrl_network(
    n_in: int,
    n_hidden: int,
    n_out: int,
    activation: str = "tanh",
    output_activation: str | None = None,
    rng: Any = None,
) -> Sequential:
    """An Elman network with a linear readout, ready for :class:`RTRL`:
    ``Sequential(Recurrent(Elman(n_in, n_hidden)), TimeDistributed(Dense(n_hidden, n_out)))``
    (plus ``Sigmoid``/``Tanh``/… after the readout if ``output_activation`` is given).
    The same network also runs (and trains) with full BPTT."""
    from bprop.layers import ACTIVATION_LAYERS

    gen = as_generator(rng)
    layers: list[Any] = [
        Recurrent(Elman(n_in, n_hidden, activation=activation, rng=gen)),
        TimeDistributed(Dense(n_hidden, n_out, rng=gen)),
    ]
    if output_activation is not None:
        if output_activation not in ACTIVATION_LAYERS:
            raise ValueError(
                f"unknown output_activation {output_activation!r}; "
                f"choose one of {sorted(ACTIVATION_LAYERS)}"
            )
        layers.append(ACTIVATION_LAYERS[output_activation]())
    return Sequential(*layers)


@dataclass
class OnlineResult:
    """What :func:`bprop.train.train_online` returns: the loss of every step (T,) *before*
    that step's update, the outputs (N, T, K), and the update rule's state (to continue)."""

    losses: np.ndarray
    outputs: np.ndarray
    state: State


class RTRL:
    """Real-time recurrent learning for ``net`` = ``Sequential(Recurrent(Elman), head…)``.

    Args:
        net: the network: its first layer a :class:`~bprop.recurrent.Recurrent` over an
            :class:`~bprop.recurrent.Elman` cell with ``return_sequences=True``, the rest a
            feedforward head applied at every step (``TimeDistributed(Dense)``, activations).
            RTRL updates the network's own weights (its flat parameter buffer), so the same
            network can be evaluated or trained with BPTT as well (see :func:`rtrl_network`).
        loss: the per-step loss L_t(y_t, target_t) (default :class:`bprop.SquaredError`).
        memory_limit: the most bytes P may take; larger raises ``MemoryError`` (default 1 GiB).
        warn_flops: warn (``UserWarning``) when a step costs more multiply-adds than this
            (default 5·10⁷, about 70 fully connected units).

    State: ``h`` (N, H) the current hidden state and ``P`` (N, H, |θ|) the sensitivities;
    :meth:`reset` starts a new sequence (h = h0 or 0, P = 0).
    """

    def __init__(
        self,
        net: Sequential,
        loss: Loss | str | None = None,
        memory_limit: float = 2**30,
        warn_flops: float = 5e7,
    ) -> None:
        if not isinstance(net, Sequential) or not net.layers:
            raise TypeError("RTRL needs a bp.Sequential whose first layer is Recurrent(Elman)")
        rec = net.layers[0]
        if not isinstance(rec, Recurrent) or type(rec.cell) is not Elman:
            raise TypeError(
                "RTRL is implemented for the Elman cell: the network's first layer must be "
                f"Recurrent(Elman(...)), got {rec!r}"
            )
        if not rec.return_sequences:
            raise ValueError("RTRL needs a per-step output: Recurrent(..., return_sequences=True)")
        for layer in net.layers[1:]:
            if any(isinstance(leaf, Recurrent) for leaf in layer.leaves()):
                raise ValueError("RTRL supports one recurrent layer followed by a feedforward head")
        self.net, self.rec, self.cell = net, rec, rec.cell
        self.head = net.layers[1:]
        self.loss = get_loss(loss) if loss is not None else SquaredError()
        self.memory_limit, self.warn_flops = float(memory_limit), float(warn_flops)
        D, H = self.cell.n_in, self.cell.n_hidden
        self.n_theta = H * D + H * H + H
        self._offsets = {"W_ih": 0, "W_hh": H * D, "b": H * D + H * H}
        self._ar = np.arange(H)
        self.h: Any = None
        self.P: Any = None
        self.check_size(1)

    def __getattr__(self, name: str) -> Any:
        if name == "train_online":  # the loop moved up to the training layer
            raise AttributeError(
                "RTRL.train_online moved to bprop.train.train_online(rtrl, X, targets, rule, "
                "state, h0, reset): the training loop lives in bprop.train"
            )
        raise AttributeError(f"'RTRL' object has no attribute {name!r}")

    # --- size ---------------------------------------------------------------------------------
    def cost(self, batch: int = 1) -> dict[str, int]:
        """:func:`rtrl_cost` for this network."""
        itemsize = backend.np_dtype(self.cell.params["W_hh"].dtype).itemsize
        return rtrl_cost(self.cell.n_in, self.cell.n_hidden, batch, itemsize)

    def check_size(self, batch: int) -> None:
        """Raise ``MemoryError`` if P would exceed ``memory_limit``; warn if a step is slow."""
        c = self.cost(batch)
        D, H = self.cell.n_in, self.cell.n_hidden
        if c["p_bytes"] > self.memory_limit:
            raise MemoryError(
                f"RTRL for an Elman network of {H} hidden units and {D} inputs (batch {batch}) "
                f"needs a sensitivity tensor P of {batch}×{H}×{c['n_theta']} = "
                f"{c['p_entries']:,} entries ({c['p_bytes'] / 2**20:,.1f} MiB), over the "
                f"memory_limit of {self.memory_limit / 2**20:,.1f} MiB. RTRL's memory grows as "
                "n³ (time as n⁴); use fewer units, raise memory_limit, or train with BPTT "
                "(bprop.fit_stream)."
            )
        if c["flops_per_step"] > self.warn_flops:
            warnings.warn(
                f"RTRL with {H} hidden units (batch {batch}) costs {c['flops_per_step']:.3g} "
                f"multiply-adds per time step (O(n⁴)); this will be slow. Truncated BPTT "
                "(bprop.fit_stream) costs O(n²) per step.",
                UserWarning,
                stacklevel=3,
            )

    # --- the recursion --------------------------------------------------------------------------
    def reset(self, batch: int = 1, h0: Any = None) -> None:
        """Start new sequences: h = h0 (or zero), P = 0."""
        xp = backend.get_xp()
        dtype = self.cell.params["W_hh"].dtype
        H = self.cell.n_hidden
        self.check_size(batch)
        if h0 is None:
            self.h = xp.zeros((batch, H), dtype=dtype)
        else:
            self.h = xp.asarray(self.cell.check_state(h0, batch)[0], copy=True)
        self.P = xp.zeros((batch, H, self.n_theta), dtype=dtype)

    def _advance(self, x_t: Any) -> Any:
        """One step of the network and of P_t = D_t (direct + W_hh P_{t−1}); returns h_t."""
        p = self.cell.params
        h_prev, P_prev = self.h, self.P
        N, D = x_t.shape
        H = self.cell.n_hidden
        a = x_t @ p["W_ih"].T
        a += h_prev @ p["W_hh"].T
        a += p["b"]
        xp = backend.get_xp()
        h = self.cell._f(a)
        d = self.cell._df(h, xp.ones_like(h))  # f′(a_t) from h_t
        P = xp.matmul(p["W_hh"], P_prev)  # (H, H) @ (N, H, |θ|): W_hh P_{t−1}, O(n⁴)
        # the direct term, row k: x_t in W_ih[k, :], h_{t−1} in W_hh[k, :], 1 in b[k]
        ar, o_hh, o_b = self._ar, self._offsets["W_hh"], self._offsets["b"]
        if backend.numpy_like():
            P[:, :, :o_hh].reshape(N, H, H, D)[:, ar, ar, :] += x_t[:, None, :]
            P[:, :, o_hh:o_b].reshape(N, H, H, H)[:, ar, ar, :] += h_prev[:, None, :]
            P[:, ar, o_b + ar] += 1
        else:  # the same additions, row by row (the standard has no fancy-index assignment)
            for k in range(H):
                P[:, k, k * D : (k + 1) * D] += x_t
                P[:, k, o_hh + k * H : o_hh + (k + 1) * H] += h_prev
                P[:, k, o_b + k] += 1.0
        P *= d[:, :, None]
        self.h, self.P = h, P
        return h

    def _head(self, h: Any, target: Any) -> tuple[Any, float, Any]:
        """Head forward and backward at one step: (y_t, L_t, e_t = ∂L_t/∂h_t); the head's own
        weight gradients are added into its grads."""
        y, caches = h, []
        for layer in self.head:
            y, c = layer.forward(y, True)
            caches.append(c)
        loss, dy = self.loss.value_and_grad(y, target)
        for layer, c in zip(reversed(self.head), reversed(caches), strict=True):
            dy = layer.backward(dy, c, True)
        return y, float(loss), dy

    def _add_cell_grad(self, e: Any) -> None:
        """∂L_t/∂θ = e_t P_t (summed over the batch), added into the cell's grads."""
        xp = backend.get_xp()
        g = xp.sum(xp.matmul(e[:, None, :], self.P), axis=0)[0, ...]
        grads = self.cell.grads
        for name in THETA:
            off = self._offsets[name]
            grads[name] += xp.reshape(g[off : off + grads[name].size], grads[name].shape)

    def step(self, x_t: Any, target_t: Any = None) -> tuple[Any, float | None]:
        """Advance one step on inputs ``x_t`` (N, D). With a target (N, K) (or labels (N,)),
        add ∂L_t/∂θ (and the head's gradient) into the network's grads and return
        (y_t, L_t); without, return (y_t, None)."""
        xp = backend.get_xp()
        dtype = self.cell.params["W_hh"].dtype
        x_t = xp.asarray(x_t, dtype=dtype)
        if x_t.ndim != 2 or x_t.shape[1] != self.cell.n_in:
            raise ValueError(f"x_t must have shape (batch, {self.cell.n_in}), got {x_t.shape}")
        if self.h is None or self.h.shape[0] != x_t.shape[0]:
            self.reset(x_t.shape[0])
        h = self._advance(x_t)
        if target_t is None:
            y = h
            for layer in self.head:
                y, _ = layer.forward(y, False)
            return y, None
        y, loss, e = self._head(h, target_t)
        self._add_cell_grad(e)
        return y, loss

    # --- whole sequences ------------------------------------------------------------------------
    def prepare(self, X: Any, T: Any) -> tuple[Any, Any]:
        """Check and convert inputs X (N, T, D) and targets for a pass: arrays of the network's
        dtype (integer labels stay integers); a ValueError says what does not match."""
        xp = backend.get_xp()
        dtype = self.cell.params["W_hh"].dtype
        X = xp.asarray(backend.to_numpy(X), dtype=dtype)
        if X.ndim != 3 or X.shape[2] != self.cell.n_in:
            raise ValueError(
                f"X must have shape (batch, time, {self.cell.n_in}), got {tuple(X.shape)}"
            )
        n_out = self.net.n_out if self.net.n_out is not None else self.cell.n_hidden
        Tt = self.loss.prepare_targets(T, n_out)
        if Tt.shape[:2] != X.shape[:2]:
            raise ValueError(
                f"targets of shape {tuple(np.shape(T))} do not match inputs {tuple(X.shape)}"
            )
        Tt = backend.asarray(Tt, dtype=np.int64 if Tt.dtype.kind in "iu" else dtype)
        return X, Tt

    def accumulate(self, X: Any, targets: Any, h0: Any = None) -> float:
        """Run RTRL over sequences ``X`` (N, T, D) with the weights frozen and *add* the
        gradient of Σ_t L_t into the network's grads (call ``net.zero_grad()`` first). Returns
        Σ_t L_t. This equals the full-BPTT gradient of the same loss."""
        X, Tt = self.prepare(X, targets)
        self.reset(X.shape[0], h0)
        total = 0.0
        for t in range(X.shape[1]):
            total += self.step(X[:, t, ...], Tt[:, t, ...])[1]
        return total
