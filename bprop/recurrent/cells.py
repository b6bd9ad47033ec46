"""The recurrent-cell contract: one time step, its backward, and the hooks of the fast path.

A *cell* is one time step of a recurrent network. Unrolling over time, full backpropagation
through time and truncation live in one place outside the cells
(:mod:`bprop.recurrent.unroll`, :mod:`bprop.recurrent.truncated`). A cell offers two ways to
run a step:

**The reference step** (readable maths, one step at a time)::

    h_t, state_t, cache = cell.step(x_t, state_{t-1})
    dx_t, dstate_{t-1} = cell.step_backward(dh_t, dstate_t, cache)   # adds into cell.grads

``state`` is a tuple of (N, H) arrays: ``(h,)`` for Elman and GRU, ``(h, c)`` for LSTM; ``h_t``
is ``state_t[0]``. In ``step_backward``, ``dh_t`` is ∂L/∂h_t arriving from *above* (the loss or
the next layer) and ``dstate_t`` is ∂L/∂state_t arriving from the *future* (step t + 1); either
may be None (zero). The total gradient on h_t is their sum — this is the BPTT recursion.

**The fast path** (used by :class:`bprop.recurrent.Recurrent` for a whole sequence): every input
projection W_ih x_t (+ bias) of the sequence is computed in one matrix product before the loop,
the per-step work is one recurrent product W_hh h_{t-1} into a preallocated gate buffer plus
the gate element-wise work — one op of the op table (:mod:`bprop.ops`) forward and one
backward, looked up by name once per pass, so the cell does not choose kernels — and the
backward pass gathers ∂L/∂(pre-activations) δ_t of a block of steps so the weight gradients are
a few large matrix products, one per block of about ``BACKWARD_BLOCK_COLUMNS`` (time step,
example) columns (see
:class:`~bprop.recurrent.workspace.BackwardBuffers`)::

    ∂L/∂W_ih += Σ_t δ_t x_tᵀ = Σ_blocks Δ X          ∂L/∂W_hh += Σ_t δ^h_t h_{t-1}ᵀ

The inputs enter in one of two ways, chosen per pass by
:func:`~bprop.recurrent.workspace.stacks`. *Projecting ahead* (the GRU always; the others above
512 gate rows — an LSTM of 129 units or more — or for one sequence): XP = W_ih X + b for all T
steps is made before the loop (the bias rides in the product as a row of ones under X), and a
step's element-wise op adds its block XP[t] to the recurrent product W_hh h_{t-1} as its first
work (:mod:`bprop.ops.recurrent`).
*Stacking* (cells with one fused bias, up to 512 gate rows, batches of N > 1): each step is one
product ``[W_ih | b | W_hh] [x_t; 1; h_{t-1}]`` with the column block of ``ws.Z`` (whose h rows are
``ws.Hs``), and the op's XP[t] is zero. The flops are the same; the stacked per-step product is
wider but BLAS runs it on two threads, where the T small products of the projection run on one.
Either way the weight gradients are [∂W_ih | ∂b] += Δ [X; 1]ᵀ and ∂W_hh += Δ H_{t-1}ᵀ.

The fast path's buffers are *feature-major*: one column per (time step, example), so step t of a
batch of N is the column block ``[:, t·N:(t+1)·N]`` — ``ws.Hs`` (H, (T+1)·N) holds h_0 … h_T,
and the backward ring ``bw.dXP`` (G·H, steps·N) the pre-activation gradients of the current
block. The per-step products are then a wide weight
matrix times an (·, N) block, which BLAS runs faster than the (N, ·) × (·, G·H) product of the
batch-major layout (measured on the 256-unit LSTM of ``bench/bench_lstm.py``: 97 against
133 µs per recurrent product on two threads), and the weight gradients are plain
two-dimensional products. Only the projected inputs ``ws.XP`` are time-major, (T, G·H, N), so
that the block a step reads is contiguous (the column blocks of a feature-major (G·H, T·N)
buffer put each row on another page: the LSTM step op 2.3× slower at H 1024, batch 32). The
states handed out (``fast_state``) are batch-major copies; the outputs (``fast_outputs``) are
(N, T, H) views of a feature-major buffer.

The buffers live in a :class:`~bprop.recurrent.workspace.Workspace`, reused across passes of
the same sequence shape (:mod:`bprop.recurrent.workspace`). The fast path is tested against
the reference step.

A cell is also an ordinary :class:`bprop.Layer` whose ``forward`` maps the packed input
``[x_t | state_{t-1}]`` (N, D + S·H) to the packed new state ``[state_t]`` (N, S·H), so
``bp.gradcheck(cell, packed)`` checks every path of one step (weights, input, and state).

Weight layout (PyTorch's, so weights map one-to-one onto ``nn.RNN``/``nn.LSTM``/``nn.GRU``):
``W_ih`` (G·H, D) and ``W_hh`` (G·H, H) with the G gate blocks stacked by rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, ops
from bprop.layers.base import Layer, Shapes, config_size
from bprop.recurrent import workspace
from bprop.recurrent.initializers import gate_weights, to_array
from bprop.recurrent.workspace import BackwardBuffers, Workspace
from bprop.rng import as_generator


def add_into(a: Any, b: Any) -> Any:
    """a + b where either may be None (zero)."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


class Cell(Layer):
    """Base class of recurrent cells (see the module docstring for the contract).

    Subclasses set ``n_gates`` (blocks of H rows in W_ih/W_hh), ``state_names``, the names of
    the bias on the input side (``x_bias``) and on the recurrent side (``h_bias``, or None when
    the cell keeps one fused bias), and implement ``step``, ``step_backward``, ``fast_ops``,
    ``fast_step`` (or ``fast_forward``) and ``fast_step_backward``.
    """

    n_gates = 1
    state_names: tuple[str, ...] = ("h",)
    x_bias = "b"
    h_bias: str | None = None
    kernel = "auto"  # the op table's kernel choice (LSTM and GRU take it as an argument)

    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        if int(n_in) < 1 or int(n_hidden) < 1:
            raise ValueError(
                f"{type(self).__name__} sizes must be positive, got ({n_in}, {n_hidden})"
            )
        self.n_in, self.n_hidden = int(n_in), int(n_hidden)

    @property
    def n_out(self) -> int:
        """The output size of one step: the hidden size H."""
        return self.n_hidden

    def _init_params(
        self,
        init: str,
        recurrent_init: str | None,
        rng: Any,
        W_ih: Any,
        W_hh: Any,
        biases: dict[str, Any],
    ) -> None:
        self.init, self.recurrent_init = init, recurrent_init
        gen = as_generator(rng)
        G, H, D = self.n_gates, self.n_hidden, self.n_in
        if W_ih is None:
            W_ih = gate_weights(init, G, H, D, gen)
        if W_hh is None:
            W_hh = gate_weights(recurrent_init or init, G, H, H, gen)
        W_ih, W_hh = to_array(W_ih), to_array(W_hh)
        if W_ih.shape != (G * H, D):
            raise ValueError(f"W_ih has shape {W_ih.shape}, expected {(G * H, D)}")
        if W_hh.shape != (G * H, H):
            raise ValueError(f"W_hh has shape {W_hh.shape}, expected {(G * H, H)}")
        self.add_param("W_ih", W_ih, decay=True)
        self.add_param("W_hh", W_hh, decay=True)
        for name, value in biases.items():
            value = to_array(value)
            if value.shape != (G * H,):
                raise ValueError(f"{name} has shape {value.shape}, expected ({G * H},)")
            self.add_param(name, value)

    def _set_kernel(self, kernel: str) -> None:
        self.kernel = ops.check_kernel(kernel)
        if kernel == "numba" and not ops.fused.available():
            raise ImportError(
                f"{type(self).__name__}(kernel='numba') needs numba: pip install numba"
            )

    def fast_ops(self) -> tuple[str, str]:
        """The names in the op table (:mod:`bprop.ops`) of the fast path's element-wise step
        forward and backward; :meth:`fast_begin` looks them up once per pass as
        ``ws.forward_op`` and ``ws.backward_op``."""
        raise NotImplementedError

    # --- state ----------------------------------------------------------------------------
    def init_state(self, batch: int, dtype: Any = None) -> tuple[Any, ...]:
        """The zero state for a batch of ``batch`` sequences."""
        xp = backend.get_xp()
        dtype = self.params["W_hh"].dtype if dtype is None else dtype
        return tuple(xp.zeros((batch, self.n_hidden), dtype=dtype) for _ in self.state_names)

    def check_state(self, state: Any, batch: int) -> tuple[Any, ...]:
        """Validate a given state; a single array is accepted for one-part states."""
        if not isinstance(state, (tuple, list)):
            state = (state,)
        state = tuple(state)
        if len(state) != len(self.state_names):
            raise ValueError(
                f"{type(self).__name__} state has {len(self.state_names)} parts "
                f"{self.state_names}, got {len(state)}"
            )
        dtype = self.params["W_hh"].dtype
        out = []
        for name, s in zip(self.state_names, state, strict=False):
            s = backend.asarray(s, dtype=dtype)
            if s.shape != (batch, self.n_hidden):
                raise ValueError(
                    f"initial state {name!r} has shape {tuple(s.shape)}, expected "
                    f"(batch, hidden) = {(batch, self.n_hidden)}"
                )
            out.append(s)
        return tuple(out)

    # --- the reference step ---------------------------------------------------------------
    def step(self, x_t: Any, state: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...], Any]:
        """The reference forward step: ``(h_t, new_state, cache)`` from the input ``x_t`` (N, D)
        and the previous state (a tuple of (N, H) arrays: ``(h,)``, or ``(h, c)`` for the
        LSTM)."""
        raise NotImplementedError

    def step_backward(
        self, dh_t: Any, dstate: tuple[Any, ...] | None, cache: Any
    ) -> tuple[Any, tuple[Any, ...]]:
        """The reference backward step: from ∂L/∂h_t (``dh_t``, or None) and the gradient
        arriving on the new state (``dstate``, or None), add this step's weight gradients into
        ``grads`` and return ``(∂L/∂x_t, ∂L/∂state_{t−1})``."""
        raise NotImplementedError

    def _accumulate_step(self, x: Any, h_prev: Any, dxp: Any, dah: Any) -> None:
        """Per-step weight gradients of the reference path (one outer product per step)."""
        self.grads["W_ih"] += dxp.T @ x
        self.grads["W_hh"] += dah.T @ h_prev
        xp = backend.get_xp()
        self.grads[self.x_bias] += xp.sum(dxp, axis=0)
        if self.h_bias is not None:
            self.grads[self.h_bias] += xp.sum(dah, axis=0)

    # --- the Layer view of one step (for gradcheck) ---------------------------------------
    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        """Packed step: ``[x_t | state]`` (N, D + S·H) → ``[new state]`` (N, S·H)."""
        D, H, S = self.n_in, self.n_hidden, len(self.state_names)
        if x.ndim != 2 or x.shape[1] != D + S * H:
            raise ValueError(
                f"{type(self).__name__} as a layer takes the packed input [x_t | state] of shape "
                f"(batch, {D} + {S}·{H}); got {tuple(x.shape)}. Use Recurrent(cell) for sequences."
            )
        state = tuple(x[:, D + k * H : D + (k + 1) * H] for k in range(S))
        _, new_state, cache = self.step(x[:, :D], state)
        return backend.concat(new_state, axis=1), cache

    def backward(self, dy: Any, cache: Any, need_dx: bool = True) -> Any:
        H, S = self.n_hidden, len(self.state_names)
        dstate = tuple(dy[:, k * H : (k + 1) * H] for k in range(S))
        dx, dprev = self.step_backward(None, dstate, cache)
        return backend.concat((dx, *dprev), axis=1)

    # --- the fast path --------------------------------------------------------------------
    def fast_begin(self, X: Any, state0: tuple[Any, ...], owner: Any = None) -> Workspace:
        """Set up the workspace of a batch of sequences X (N, T, D) and initial state (see
        :func:`bprop.recurrent.workspace.begin`); ``owner`` (the forward pass's cache) marks
        it busy for as long as it lives."""
        return workspace.begin(self, X, state0, owner)

    def _fast_alloc(self, ws: Workspace, state0: tuple[Any, ...]) -> None:
        """Set up the cell's own per-step buffers (``ws.buffer``) and initial values."""

    def fast_step(self, ws: Workspace, t: int) -> None:
        """The fast path's forward step t on the workspace ``ws`` (see
        :mod:`bprop.recurrent.workspace`), writing h_t into it; tested equal to :meth:`step`.
        (A cell may instead override :meth:`fast_forward`.)"""
        raise NotImplementedError

    def fast_forward(self, ws: Workspace) -> None:
        """The fast path's forward pass over all ``ws.T`` steps: :meth:`fast_step` at each.
        A cell may run the loop itself instead, on per-step views made once per workspace and
        its weights and op in locals (the LSTMs: ~1 µs less Python work per step)."""
        for t in range(ws.T):
            self.fast_step(ws, t)

    def fast_state(self, ws: Workspace, t: int) -> tuple[Any, ...]:
        """The state after t steps (t = 0 is the initial state), as batch-major copies."""
        return (ws.cols(ws.Hs, t).T.copy(),)

    def fast_outputs(self, ws: Workspace) -> Any:
        """h_1 … h_T as an (N, T, H) array the caller may keep
        (:func:`bprop.recurrent.workspace.outputs`)."""
        return workspace.outputs(self, ws)

    def fast_backward_begin(
        self, ws: Workspace, dstate: tuple[Any, ...] | None, need_dx: bool = False
    ) -> BackwardBuffers:
        """Set up the backward buffers from the carried ∂L/∂state_T (or None)
        (:func:`bprop.recurrent.workspace.backward_begin`)."""
        return workspace.backward_begin(self, ws, dstate, need_dx)

    def fast_step_backward(
        self, ws: Workspace, bw: Any, t: int, dy_t: Any, norm: bool = False
    ) -> float | None:
        """Backpropagate step t: add ``dy_t`` (H, N) — ∂L/∂h_t from above, feature-major, or
        None — to the carried ∂L/∂h_t, write the step's pre-activation gradients into its
        column block ``bw.cols(bw.dXP, t)`` (and of ``bw.dAH``) and update the carried
        ``bw.dstate`` to ∂L/∂state_{t-1}. Returns ‖∂L/∂h_t‖ when ``norm``, else None."""
        raise NotImplementedError

    def fast_backward_flush(self, ws: Workspace, bw: BackwardBuffers, lo: int, hi: int) -> None:
        """The weight gradients and ∂L/∂x of steps ``lo … hi-1``
        (:func:`bprop.recurrent.workspace.backward_flush`)."""
        workspace.backward_flush(self, ws, bw, lo, hi)

    def fast_backward_end(self, ws: Workspace, bw: BackwardBuffers) -> Any:
        """Add the accumulated weight gradients into ``grads``; return ∂L/∂X or None
        (:func:`bprop.recurrent.workspace.backward_end`)."""
        return workspace.backward_end(self, ws, bw)

    # --- PyTorch interop ------------------------------------------------------------------
    def load_torch(self, W_ih: Any, W_hh: Any, b_ih: Any = None, b_hh: Any = None) -> Cell:
        """Copy weights given in PyTorch's layout (``weight_ih_l0``, ``weight_hh_l0``,
        ``bias_ih_l0``, ``bias_hh_l0``; tensors or arrays). A fused bias gets b_ih + b_hh."""
        GH = self.n_gates * self.n_hidden
        b_ih = np.zeros(GH) if b_ih is None else to_array(b_ih)
        b_hh = np.zeros(GH) if b_hh is None else to_array(b_hh)
        values = {"W_ih": to_array(W_ih), "W_hh": to_array(W_hh)}
        if self.h_bias is None:
            values[self.x_bias] = b_ih + b_hh
        else:
            values[self.x_bias], values[self.h_bias] = b_ih, b_hh
        for name, v in values.items():
            if v.shape != tuple(self.params[name].shape):
                raise ValueError(
                    f"{name}: PyTorch weight has shape {v.shape}, this cell expects "
                    f"{tuple(self.params[name].shape)}"
                )
            self.params[name][...] = backend.asarray(v, dtype=self.params[name].dtype)
        return self

    def load_torch_module(self, module: Any, layer: int = 0) -> Cell:
        """Copy the weights of layer ``layer`` of a ``torch.nn.RNN``/``LSTM``/``GRU``."""
        sfx = f"_l{layer}"
        get = lambda n: getattr(module, n + sfx, None)  # noqa: E731
        return self.load_torch(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"))

    def load_onnx(self, W: Any, R: Any, B: Any = None, P: Any = None) -> Cell:
        """Copy weights given as the inputs ``W``, ``R``, ``B`` (, ``P``) of an ONNX
        ``RNN``/``LSTM``/``GRU`` node (gate orders iofc / zrh; see
        :mod:`bprop.recurrent.onnx_weights`, whose ``cell_from_onnx`` builds the cell too)."""
        from bprop.recurrent.onnx_weights import load_onnx

        return load_onnx(self, W, R, B, P)

    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n_in": self.n_in, "n_hidden": self.n_hidden, "init": self.init}
        if self.recurrent_init is not None:
            cfg["recurrent_init"] = self.recurrent_init
        if self.kernel != "auto":
            cfg["kernel"] = self.kernel
        return cfg

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        D, H = config_size(config, "n_in"), config_size(config, "n_hidden")
        GH = cls.n_gates * H
        params = {"W_ih": (GH, D), "W_hh": (GH, H), cls.x_bias: (GH,)}
        if cls.h_bias is not None:
            params[cls.h_bias] = (GH,)
        return params, {}
