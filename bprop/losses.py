"""Loss functions. Each gives ``value_and_grad(y, target) -> (loss, ∂loss/∂y)``.

Conventions, stated once because textbooks differ:

=======================  =====================================  ================================
class                    per-example loss                       reduction over the N examples
=======================  =====================================  ================================
SquaredError             ½ Σₖ (yₖ − tₖ)²  (the textbook form    ``"sum"`` (default: the classic
                         whose derivative is just y − t)        total error E) or ``"mean"``
MeanSquaredError         (1/K) Σₖ (yₖ − tₖ)²                    mean over examples (so the mean
                                                                over all N·K entries, like
                                                                ``torch.nn.MSELoss``)
SoftmaxCrossEntropy      −log softmax(y)[t], y = logits         ``"mean"`` (default) or ``"sum"``
BinaryCrossEntropy       −Σₖ tₖ log pₖ + (1−tₖ) log(1−pₖ)       ``"mean"`` (default) or ``"sum"``
=======================  =====================================  ================================

The reduction decides whether a batch gradient is the *sum* or the *mean* of the per-example
gradients, and so how the learning rate scales with batch size.

``SoftmaxCrossEntropy`` is fused: it takes logits and its gradient is (softmax(y) − onehot(t))/N,
computed with the max-subtraction trick so it never overflows.

Example::

    >>> import numpy as np, bprop as bp
    >>> loss, dy = bp.SquaredError().value_and_grad(np.array([[0.75, 0.77]]),
    ...                                             np.array([[0.01, 0.99]]))
    >>> round(loss, 4), dy.round(2).tolist()  # ½(0.74² + 0.22²), y − t
    (0.298, [[0.74, -0.22]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, layout, ops


class Loss:
    """Base class: subclasses implement ``value_and_grad``."""

    #: whether targets are class labels (integers) rather than real vectors
    takes_labels = False
    #: decision threshold for a single output (probability outputs: 0.5; logits: 0)
    threshold = 0.5

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction

    def value_and_grad(self, y: Any, target: Any) -> tuple[float, Any]:
        """The loss of outputs ``y`` against ``target`` and its gradient ∂L/∂y (same shape as
        ``y``), the upstream gradient of the network's backward pass."""
        raise NotImplementedError

    def value_grad_argmax(self, y: Any, target: Any) -> tuple[float, Any, Any]:
        """:meth:`value_and_grad` and, where the loss finds it on the way, the arg-max of ``y``
        over its last axis (the predicted classes, which a training loop counts its accuracy
        with); None where it does not (the loop then takes the arg-max itself)."""
        return (*self.value_and_grad(y, target), None)

    def value(self, y: Any, target: Any) -> float:
        """The loss alone (see :meth:`value_and_grad`)."""
        return self.value_and_grad(y, target)[0]

    def _scale(self, y: Any) -> float:
        """1/N for ``"mean"``, where N counts examples (every position but the last axis:
        for sequence outputs (N, T, K) the mean is per time step); 1 for ``"sum"``."""
        return y.shape[-1] / y.size if self.reduction == "mean" else 1.0

    def prepare_targets(self, t: Any, n_out: int) -> Any:
        """Check targets against the network's output size and convert them to the form this
        loss wants: integer labels become one-hot rows for vector losses."""
        t = np.asarray(backend.to_numpy(t))
        if np.issubdtype(t.dtype, np.integer) and (t.ndim == 1 or t.shape[-1] != n_out):
            _check_labels(t, 2 if n_out == 1 else n_out)
            if n_out == 1:
                return t[..., None].astype(np.float64)
            return np.eye(n_out)[t]
        if t.ndim == 1:
            t = t.reshape(-1, 1)
        if t.shape[-1] != n_out:
            raise ValueError(
                f"targets have shape {t.shape} but the network has {n_out} outputs; "
                f"give targets of shape (..., {n_out}) or integer class labels"
            )
        return t

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (saved with a trainer)."""
        return {"reduction": self.reduction}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


def _check_labels(t: np.ndarray, n_classes: int) -> None:
    if t.size and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(
            f"class labels must be integers in [0, {n_classes - 1}] for a network with "
            f"{n_classes} classes, but they range from {t.min()} to {t.max()}"
        )


def _sum_of_squares(a: Any) -> float:
    """Σ a², summed in float64."""
    xp = backend.get_xp()
    return float(xp.sum(xp.astype(a, backend.xp_dtype("float64"), copy=False) ** 2))


def _check_shapes(y: Any, t: Any) -> None:
    if y.shape != t.shape:
        raise ValueError(f"output shape {tuple(y.shape)} does not match target {tuple(t.shape)}")


class SquaredError(Loss):
    """E = ½ Σₙ Σₖ (yₙₖ − tₙₖ)² (``reduction="sum"``), or that divided by N (``"mean"``).

    ∂E/∂y = (y − t) · (1 or 1/N). The ½ makes the textbook derivative exactly y − t.
    """

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction)

    def value_and_grad(self, y: Any, target: Any) -> tuple[float, Any]:
        _check_shapes(y, target)
        diff = y - target
        s = self._scale(y)
        loss = 0.5 * s * _sum_of_squares(diff)
        if s != 1.0:
            diff *= s
        return loss, diff


class MeanSquaredError(Loss):
    """L = (1/(N·K)) Σ (y − t)², the mean over every entry; ∂L/∂y = 2 (y − t) / (N·K)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def value_and_grad(self, y: Any, target: Any) -> tuple[float, Any]:
        _check_shapes(y, target)
        diff = y - target
        s = self._scale(y) / y.shape[-1]
        loss = s * _sum_of_squares(diff)
        diff *= 2.0 * s
        return loss, diff


class SoftmaxCrossEntropy(Loss):
    """Fused softmax + cross-entropy on logits y.

    L = −Σₙ log pₙ[tₙ] (÷N for ``"mean"``), p = softmax(y); ∂L/∂y = (p − onehot(t)) (÷N).
    Targets are integer labels (N,) or probability rows (N, K).
    """

    takes_labels = True

    def prepare_targets(self, t: Any, n_out: int) -> Any:
        t = np.asarray(backend.to_numpy(t))
        if np.issubdtype(t.dtype, np.integer) or t.ndim == 1:
            if not (np.issubdtype(t.dtype, np.integer) or np.all(t == np.round(t))):
                raise ValueError("SoftmaxCrossEntropy targets must be integer class labels")
            t = t.astype(np.int64)
            _check_labels(t, n_out)
            return t
        if t.shape[-1] != n_out:
            raise ValueError(f"targets have shape {t.shape}; expected labels or (..., {n_out})")
        return t

    def value_and_grad(self, y: Any, target: Any) -> tuple[float, Any]:
        return self.value_grad_argmax(y, target)[:2]

    def value_grad_argmax(self, y: Any, target: Any) -> tuple[float, Any, Any]:
        """The loss, ∂L/∂y and the arg-max of ``y`` over the classes (the predicted classes,
        shaped like ``y[..., 0]``), all from the one fused pass of the op
        ``softmax_cross_entropy`` (:mod:`bprop.ops`)."""
        if y.ndim > 2:  # sequences: (N, T, K) logits with (N, T) labels or (N, T, K) rows
            N, T = y.shape[:2]
            y2, time_major = layout.rows(y)  # in memory order: no copy of a time-major y
            loss, grad, pred = self.value_grad_argmax(y2, layout.rows_like(target, time_major))
            return (
                loss,
                layout.unrows(grad, N, T, time_major),
                layout.unrows(pred, N, T, time_major),
            )
        if y.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropy expects (N, K) logits, got {tuple(y.shape)}")
        if target.ndim == 1 and target.shape[0] != y.shape[0]:
            raise ValueError(f"{y.shape[0]} outputs but {target.shape[0]} labels")
        if target.ndim != 1:
            _check_shapes(y, target)
        op = ops.lookup("softmax_cross_entropy", dtype=backend.np_dtype(y.dtype))
        return op(y, target, self._scale(y))


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy for independent 0/1 targets.

    ``from_logits=False`` (default): y are probabilities (a Sigmoid output), clipped to
    [ε, 1 − ε]; ∂L/∂y = (y − t) / (y (1 − y)). ``from_logits=True``: y are logits, the loss is
    softplus(y) − t·y computed stably and ∂L/∂y = σ(y) − t. Both ÷N for ``"mean"``.
    """

    def __init__(self, from_logits: bool = False, reduction: str = "mean", eps: float = 1e-7):
        super().__init__(reduction)
        self.from_logits, self.eps = bool(from_logits), float(eps)
        self.threshold = 0.0 if from_logits else 0.5

    def value_and_grad(self, y: Any, target: Any) -> tuple[float, Any]:
        _check_shapes(y, target)
        xp = backend.get_xp()
        s = self._scale(y)
        if self.from_logits:
            # softplus(y) = max(y, 0) + log(1 + e^(−|y|))
            per = xp.maximum(y, 0) + xp.log1p(xp.exp(-xp.abs(y))) - target * y
            grad = ops.sigmoid(y) - target
        else:
            p = xp.clip(y, self.eps, 1 - self.eps)
            per = -(target * xp.log(p) + (1 - target) * xp.log1p(-p))
            grad = (p - target) / (p * (1 - p))
        loss = s * float(xp.sum(xp.astype(per, backend.xp_dtype("float64"))))
        if s != 1.0:
            grad *= s
        return loss, grad

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "reduction": self.reduction, "eps": self.eps}


LOSSES: dict[str, type[Loss]] = {
    "squared_error": SquaredError,
    "mse": MeanSquaredError,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}


def get_loss(name: str | Loss) -> Loss:
    """A loss from a name in :data:`LOSSES` (or the loss itself)."""
    if isinstance(name, Loss):
        return name
    aliases = {
        "cross_entropy": "softmax_cross_entropy",
        "bce": "binary_cross_entropy",
        "sse": "squared_error",
    }
    key = aliases.get(name, name)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[key]()
