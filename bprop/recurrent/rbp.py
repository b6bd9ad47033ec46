"""Recurrent backpropagation (Almeida 1987; Pineda 1987): learning in a network that settles.

References:
    L. B. Almeida (1987), "A learning rule for asynchronous perceptrons with feedback in a
    combinatorial environment", Proc. IEEE 1st Int. Conf. on Neural Networks, II, 609–618.
    F. J. Pineda (1987), "Generalization of back-propagation to recurrent neural networks",
    Physical Review Letters 59 (19), 2229–2232.

**The network.** n units with *any* recurrent connectivity: a full weight matrix W (n, n),
W[i, j] the weight from unit j to unit i, optionally multiplied by a fixed 0/1 ``mask`` that
gives the topology (a layered net, a Hopfield-like net without self-connections, …); an
external input u enters through U (n, n_in) and every unit has a bias b. Given u, the state
relaxes from x⁰ = 0 by the discretised continuous-time dynamics
(τ dx/dt = −x + f(W x + U u + b), step ρ = Δt/τ)::

    xᵏ⁺¹ = (1 − ρ) xᵏ + ρ f(W xᵏ + U u + b)          (ρ = 1: the plain iteration x ← f(·))

until the fixed-point residual ‖f(W x + U u + b) − x‖₂ is below ``tol`` for every example (or
``max_iter`` is reached, which is an error). The fixed point

    x* = f(a*),    a* = W x* + U u + b

is the layer's output (only the ``output_units``, if given). ρ < 1 damps oscillations: a fixed
point whose linearisation J = D W (D = diag f′(a*)) has all eigenvalues λ with
|1 − ρ + ρλ| < 1 is reached for a small enough ρ even when the plain iteration (ρ = 1)
oscillates.

**The gradient (implicit differentiation).** Let E(x*) be the loss and e = ∂E/∂x* (zero on
units that are not outputs: targets on any subset of units). Differentiating the fixed-point
equation, dx* = D (dW x* + W dx* + dU u + db), so

    (I − D W) dx* = D (dW x* + dU u + db)
    dE = eᵀ dx* = eᵀ (I − D W)⁻¹ D (dW x* + dU u + db).

Define the adjoint z by the *linear* system (I − D W)ᵀ z = e, i.e. **(I − Wᵀ D) z = e**, and
δ = D z. Then dE = δᵀ (dW x* + dU u + db), which gives

    ∂E/∂W = δ x*ᵀ (masked)    ∂E/∂U = δ uᵀ    ∂E/∂b = δ    ∂E/∂u = Uᵀ δ.

Almeida and Pineda solve the adjoint system not by elimination but by running a second network
to *its* fixed point — the "error-propagation network", the original one with its connections
reversed (Wᵀ) and linearised at x*::

    zᵏ⁺¹ = (1 − ρ) zᵏ + ρ (Wᵀ D zᵏ + e),      or equivalently, for δ = D z,
    δᵏ⁺¹ = (1 − ρ) δᵏ + ρ D (Wᵀ δᵏ + e)        (this is what the code iterates).

Its iteration matrix (1 − ρ) I + ρ Wᵀ D has the same eigenvalues as the forward relaxation's
linearisation (1 − ρ) I + ρ D W, so whenever the forward relaxation converges to a stable fixed
point the adjoint relaxation converges too, at the same rate. Only x*, f(a*), u and δ are kept:
**memory is independent of the number of iterations**, nothing is unrolled (compare BPTT
through the relaxation, which would store every xᵏ; the tests check both give the same
gradient once converged). The adjoint stops when ‖D (Wᵀ δ + e) − δ‖₂ ≤ ``tol``·‖e‖₂ for every
example.

**Non-convergence** of either relaxation (limit cycles, chaos, NaN) is never returned as a
gradient: it raises :class:`RelaxationError` with the residual and the iteration count
(``on_nonconvergence="warn"`` issues a :class:`RelaxationWarning` instead and returns the last
iterate — use it only for diagnostics). :class:`RelaxationError` is a
:class:`bprop.TrainingDiverged`, so when it happens inside ``bp.fit`` the trainer restores the
weights of the start of the epoch before re-raising. Remedies: a smaller relaxation rate ρ,
smaller initial weights, a smaller learning rate.

**Batches.** Every example of a batch relaxes at once (the state is (N, n)); the iteration
stops when the slowest example has converged. The gradient of a batch is the sum of the
per-example gradients, so the network trains with ``bp.fit`` online, in mini-batches or in full
batches, with any update rule (Rprop, Quickprop, …), and is saved by ``bp.save``.

**On "recurrent backpropagation" with a forgetting factor**, as one of this library's source
articles uses the name: that update is heavy-ball momentum (see :mod:`bprop.optim.sgd`), not a
recurrent-network algorithm; in the literature the name means Almeida–Pineda, built here.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent.rbp import SettlingNetwork
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([[0], [1], [1], [0]])
    >>> net = bp.Sequential(SettlingNetwork(4, 2, output_units=1, rng=0))   # 4 units, all linked
    >>> h = bp.fit(net, X, y, loss=bp.SquaredError(), optimizer=bp.SGD(0.5, momentum=0.9),
    ...            schedule="batch", epochs=300, verbose=0)
    >>> net.predict_classes(X).tolist()
    [0, 1, 1, 0]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from bprop import backend, ops, registry
from bprop.errors import RelaxationError, RelaxationWarning
from bprop.layers.base import Layer, Shapes, config_size
from bprop.recurrent.relaxation import relax
from bprop.rng import as_generator

__all__ = ["RelaxationError", "RelaxationWarning", "SettlingCache", "SettlingNetwork"]

_ACTIVATIONS = ("sigmoid", "tanh")


class SettlingCache:
    """What :meth:`SettlingNetwork.forward` returns: the input u (N, n_in), the fixed point
    x* = f(a*) (N, n) — the same array serves as f(a*) for f′ — and the number of iterations
    and final residual of the forward relaxation. Its size does not depend on the iterations."""

    __slots__ = ("u", "x", "iterations", "residual")

    def __init__(self, u: Any, x: Any, iterations: int, residual: float) -> None:
        self.u, self.x, self.iterations, self.residual = u, x, iterations, residual


class SettlingNetwork(Layer):
    """A recurrent network of any topology that relaxes to a fixed point; trained by the
    Almeida–Pineda adjoint relaxation (see the module docstring for the maths).

    Args:
        n_units: number of units n (hidden and output units together).
        n_in: number of external inputs (entering every unit through U).
        mask: optional (n_units, n_units) 0/1 array: connection j → i exists iff
            ``mask[i, j]``. Masked weights are zero, get zero gradient and stay zero under any
            update rule. None: fully connected (self-connections included).
        activation: ``"sigmoid"`` (default) or ``"tanh"``.
        relaxation_rate: ρ in (0, 1]; 1 is the plain discrete iteration x ← f(W x + U u + b).
        tol: convergence tolerance on the fixed-point residual ‖f(a) − x‖₂ (per example) and on
            the adjoint residual relative to ‖∂E/∂x‖₂. None: 1e-10 in float64, 1e-5 in
            float32 (what its round-off allows).
        max_iter: iteration limit of the forward relaxation; ``adjoint_max_iter`` (default:
            the same) of the adjoint relaxation.
        output_units: which units are the layer's output: None (all), an int k (the *last*
            k units), or a sequence of unit indices.
        on_nonconvergence: ``"raise"`` (default; :class:`RelaxationError`) or ``"warn"``.
        init_scale: initial W is U(−s/√n, s/√n) (small: the relaxation of a fresh network is
            a contraction), U is U(−s/√n_in, s/√n_in); default s = 1.
        W, U, b: explicit starting values.
        rng: Generator or seed.

    After each forward, ``last_iterations`` and ``last_residual`` hold the forward
    relaxation's iteration count and final residual; after each backward,
    ``last_adjoint_iterations`` and ``last_adjoint_residual`` those of the adjoint.
    """

    def __init__(
        self,
        n_units: int,
        n_in: int,
        mask: Any = None,
        activation: str = "sigmoid",
        relaxation_rate: float = 1.0,
        tol: float | None = None,
        max_iter: int = 1000,
        adjoint_max_iter: int | None = None,
        output_units: Any = None,
        on_nonconvergence: str = "raise",
        init_scale: float = 1.0,
        W: Any = None,
        U: Any = None,
        b: Any = None,
        rng: Any = None,
    ) -> None:
        super().__init__()
        n, m = int(n_units), int(n_in)
        if n < 1 or m < 1:
            raise ValueError(f"SettlingNetwork sizes must be positive, got ({n_units}, {n_in})")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
        if not 0 < float(relaxation_rate) <= 1:
            raise ValueError(f"relaxation_rate must be in (0, 1], got {relaxation_rate}")
        if tol is not None and not float(tol) > 0:
            raise ValueError(f"tol must be positive, got {tol}")
        if int(max_iter) < 1 or (adjoint_max_iter is not None and int(adjoint_max_iter) < 1):
            raise ValueError("max_iter and adjoint_max_iter must be at least 1")
        if on_nonconvergence not in ("raise", "warn"):
            raise ValueError(
                f"on_nonconvergence must be 'raise' or 'warn', not {on_nonconvergence!r}"
            )
        self.n_units, self.n_in = n, m
        self.activation = activation
        self._f, self._df = ops.ACTIVATIONS[activation]
        self.relaxation_rate = float(relaxation_rate)
        self.tol = None if tol is None else float(tol)
        self.max_iter = int(max_iter)
        self.adjoint_max_iter = None if adjoint_max_iter is None else int(adjoint_max_iter)
        self.on_nonconvergence = on_nonconvergence
        self.init_scale = float(init_scale)

        if mask is None:
            self.mask = None
        else:
            mk = np.asarray(backend.to_numpy(mask))
            if mk.shape != (n, n):
                raise ValueError(
                    f"mask has shape {mk.shape}, but a SettlingNetwork of {n} units needs an "
                    f"(n_units, n_units) = ({n}, {n}) 0/1 matrix (mask[i, j]: connection j → i)"
                )
            if not np.all((mk == 0) | (mk == 1)):
                raise ValueError("mask entries must be 0 or 1 (or booleans)")
            self.mask = backend.asarray(mk.astype(bool), dtype=bool)

        if output_units is None:
            idx = np.arange(n)
            self._output_spec: Any = None
        elif isinstance(output_units, (int, np.integer)):
            k = int(output_units)
            if not 1 <= k <= n:
                raise ValueError(f"output_units={k} must be between 1 and n_units={n}")
            idx = np.arange(n - k, n)
            self._output_spec = k
        else:
            idx = np.asarray(output_units, dtype=np.int64).reshape(-1)
            if idx.size == 0 or idx.min() < 0 or idx.max() >= n or np.unique(idx).size != idx.size:
                raise ValueError(
                    f"output_units must be distinct unit indices in [0, {n}), got {output_units!r}"
                )
            self._output_spec = idx.tolist()
        self.output_index = idx
        self._all_outputs = idx.size == n and bool(np.all(idx == np.arange(n)))

        gen = as_generator(rng)
        s = self.init_scale
        if W is None:
            W = gen.uniform(-s / np.sqrt(n), s / np.sqrt(n), size=(n, n))
        if U is None:
            U = gen.uniform(-s / np.sqrt(m), s / np.sqrt(m), size=(n, m))
        b = np.zeros(n) if b is None else b
        W, U, b = (np.array(backend.to_numpy(a), dtype=np.float64) for a in (W, U, b))
        for name, a, shape in (("W", W, (n, n)), ("U", U, (n, m)), ("b", b, (n,))):
            if a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
        if self.mask is not None:
            W = W * backend.to_numpy(self.mask)
        self.add_param("W", W, decay=True)
        self.add_param("U", U, decay=True)
        self.add_param("b", b)
        self.last_iterations = 0
        self.last_residual = float("nan")
        self.last_adjoint_iterations = 0
        self.last_adjoint_residual = float("nan")
        #: set to a list to record every iterate of both relaxations (for ``bprop explain``):
        #: ("forward" | "adjoint", iterate (N, n), residual) per iteration
        self.iterates: list | None = None

    # --- sizes ------------------------------------------------------------------------------
    @property
    def n_out(self) -> int:
        """The number of output units."""
        return int(self.output_index.size)

    def _tol(self, dtype: Any) -> float:
        if self.tol is not None:
            return self.tol
        return 1e-10 if backend.np_dtype(dtype).itemsize >= 8 else 1e-5

    def effective_W(self) -> Any:
        """W with the mask applied (the weights the dynamics actually use)."""
        W = self.params["W"]
        return W if self.mask is None else W * self.mask

    def _fail(self, what: str, iterations: int, residual: float, hint: str) -> None:
        msg = (
            f"SettlingNetwork: the {what} relaxation did not converge: residual {residual:.3g} "
            f"after {iterations} iterations (tol {self._tol(self.params['W'].dtype):.3g}). "
            f"{hint}"
        )
        if self.on_nonconvergence == "raise" or not np.isfinite(residual):
            raise RelaxationError(msg)
        warnings.warn(msg, RelaxationWarning, stacklevel=3)

    # --- forward: relax to the fixed point ----------------------------------------------------
    def relax(self, u: Any) -> SettlingCache:
        """Relax the state for inputs ``u`` (N, n_in) to its fixed point; returns the cache."""
        xp = backend.get_xp()
        p = self.params
        W = self.effective_W()
        dtype = xp.result_type(u.dtype, W.dtype)
        drive = u @ p["U"].T
        drive += p["b"]  # U u + b, constant during the relaxation
        x = xp.zeros((u.shape[0], self.n_units), dtype=dtype)
        a = xp.empty_like(x)

        def F(x: Any) -> Any:  # f(W x + U u + b), row by row
            backend.into(xp.matmul, x, W.T, out=a)
            return self._f(backend.into(xp.add, a, drive, out=a))

        tol = self._tol(dtype)
        trace = None if self.iterates is None else []
        x, it, residual = relax(F, x, self.relaxation_rate, tol, self.max_iter, trace=trace)
        if trace is not None:
            self.iterates += [("forward", v, r) for v, r in trace]
        self.last_iterations, self.last_residual = it, residual
        if not residual < tol:
            self._fail(
                "forward",
                it,
                residual,
                "Lower relaxation_rate, raise max_iter, or use smaller weights (the fixed "
                "point may be unstable: the network oscillates).",
            )
        return SettlingCache(u, x, it, residual)

    def forward(self, x: Any, train: bool = False) -> tuple[Any, Any]:
        if not hasattr(x, "ndim"):
            x = backend.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"SettlingNetwork expects inputs of shape (batch, {self.n_in}); got "
                f"{tuple(x.shape)}"
            )
        cache = self.relax(x)
        y = cache.x
        if not self._all_outputs:
            xp = backend.get_xp()
            y = xp.take(y, xp.asarray(self.output_index), axis=1)
        return y, cache

    # --- backward: the adjoint relaxation ------------------------------------------------------
    def adjoint(self, e: Any, cache: SettlingCache) -> Any:
        """Solve δ = D (Wᵀ δ + e) by relaxation, D = diag f′(a*); e = ∂E/∂x* (N, n)."""
        xp = backend.get_xp()
        W = self.effective_W()
        d = self._df(cache.x, xp.ones_like(cache.x))  # f′(a*) from f(a*)
        enorm = xp.sqrt(xp.sum(e * e, axis=1))
        scale = float(xp.max(enorm)) if e.size else 0.0
        if scale == 0.0:
            self.last_adjoint_iterations, self.last_adjoint_residual = 0, 0.0
            return xp.zeros_like(e)

        def F(delta: Any) -> Any:  # D (Wᵀ δ + e), row by row
            new = delta @ W
            new += e
            new *= d
            return new

        tol, max_iter = self._tol(cache.x.dtype), self.adjoint_max_iter or self.max_iter
        trace = None if self.iterates is None else []
        delta, it, residual = relax(F, d * e, self.relaxation_rate, tol, max_iter, scale, trace)
        if trace is not None:
            self.iterates += [("adjoint", v, r) for v, r in trace]
        self.last_adjoint_iterations, self.last_adjoint_residual = it, residual
        if not residual < tol:
            self._fail(
                "adjoint (error-propagation)",
                it,
                residual,
                "The fixed point the forward relaxation stopped at is not stable enough; lower "
                "relaxation_rate, raise adjoint_max_iter, or use smaller weights.",
            )
        return delta

    def backward(self, dy: Any, cache: SettlingCache, need_dx: bool = True) -> Any:
        xp = backend.get_xp()
        if self._all_outputs:
            e = dy
        else:
            e = xp.zeros_like(cache.x)
            if backend.numpy_like():
                e[:, self.output_index] = dy
            else:  # the array-API standard has no fancy-index assignment
                for j, i in enumerate(self.output_index.tolist()):
                    e[:, i] = dy[:, j]
        delta = self.adjoint(e, cache)
        gW = delta.T @ cache.x
        if self.mask is not None:
            gW *= self.mask
        self.grads["W"] += gW
        self.grads["U"] += delta.T @ cache.u
        self.grads["b"] += xp.sum(delta, axis=0)
        return delta @ self.params["U"] if need_dx else None

    # --- persistence --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n_units": self.n_units, "n_in": self.n_in}
        if self.mask is not None:
            cfg["mask"] = backend.to_numpy(self.mask).astype(int).tolist()
        cfg.update(activation=self.activation, relaxation_rate=self.relaxation_rate)
        if self.tol is not None:
            cfg["tol"] = self.tol
        cfg["max_iter"] = self.max_iter
        if self.adjoint_max_iter is not None:
            cfg["adjoint_max_iter"] = self.adjoint_max_iter
        if self._output_spec is not None:
            cfg["output_units"] = self._output_spec
        if self.on_nonconvergence != "raise":
            cfg["on_nonconvergence"] = self.on_nonconvergence
        if self.init_scale != 1.0:
            cfg["init_scale"] = self.init_scale
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SettlingNetwork:
        return cls(**config, rng=0)

    @classmethod
    def declared_shapes(cls, config: dict[str, Any]) -> tuple[Shapes, Shapes]:
        n, m = config_size(config, "n_units"), config_size(config, "n_in")
        return {"W": (n, n), "U": (n, m), "b": (n,)}, {}


# so bp.save / bp.load know the layer (the model-file registry)
registry.register("layer", SettlingNetwork)
