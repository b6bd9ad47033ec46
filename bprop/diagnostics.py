"""Gradient diagnostics: per-layer gradient norms, saturated and dead units, and ‖∂L/∂h_t‖.

The challenges of backpropagation the seeds name — vanishing and exploding gradients — are
measured, not guessed. :func:`measure` runs one forward and backward pass of a network on a
fixed sample and returns:

- **per-layer gradient norm** ‖∂L/∂θ_ℓ‖₂ over all trainable parameters θ_ℓ of each
  parameterised layer ℓ (Dense, recurrent, …), numbered from the input (``"Dense 1"`` is the
  first). In a deep sigmoid net every layer multiplies the backpropagated error by
  f′(z) ≤ ¼ and by Wᵀ, so the first layer's norm is orders of magnitude below the last's;
  ReLU with He initialisation keeps them within a small factor.
- **saturation** of every sigmoid/tanh layer: the fraction of (example, unit) outputs within
  ``saturation_threshold`` (default 0.01) of an asymptote — y < 0.01 or y > 0.99 for the
  sigmoid (there f′ = y(1 − y) < 0.0099), |y| > 0.99 for tanh (f′ = 1 − y² < 0.0199).
- **dead ReLUs**: the fraction of a ReLU layer's units that output 0 for *every* example of
  the sample (no gradient reaches their incoming weights).
- for recurrent layers, **‖∂L/∂h_t‖** for every time step t (Frobenius norm over the batch of
  the total gradient on h_t, recorded by :class:`bprop.recurrent.Recurrent` with
  ``record_grad_norms``).

:class:`GradientDiagnostics` is a trainer callback that measures at the end of every ``every``-th
epoch on its own fixed sample with its own forward/backward pass (the trainer's gradient buffer
is overwritten in place by update rules, so it is never read; the buffer's contents are
restored afterwards). The forward pass runs in evaluation mode (dropout off). It records the
series on itself and in ``trainer.history.extra`` (keys ``"grad_norm/<layer>"``,
``"saturated/<layer>"``, ``"dead_relu/<layer>"``), and warns with a :class:`GradientWarning`
naming the layer when gradients **vanish** (a layer's norm below ``vanish_ratio`` = 10⁻³ times
the largest layer norm, or ‖∂L/∂h_1‖ below ``vanish_ratio`` × ‖∂L/∂h_T‖ through time) or
**explode** (a layer's norm above ``explode_norm`` = 10³, or ‖∂L/∂h_1‖ above 1/``vanish_ratio``
× ‖∂L/∂h_T‖); each condition warns once per layer.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.diagnostics import measure
    >>> X = np.random.default_rng(0).normal(size=(64, 8)); y = (X[:, 0] > 0).astype(int)
    >>> net = bp.mlp([8] + [16] * 9 + [2], activation="sigmoid", seed=0)
    >>> d = measure(net, X, y, bp.SoftmaxCrossEntropy())
    >>> d["grad_norms"]["Dense 1"] < d["grad_norms"]["Dense 10"] / 100
    True
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from bprop.train.callbacks import Callback


class GradientWarning(UserWarning):
    """Gradients vanish or explode; the message names the layer."""


def _layer_names(net: Any) -> list[tuple[str, Any]]:
    """(name, layer) for every leaf layer with trainable parameters, numbered per type."""
    counts: dict[str, int] = {}
    out = []
    for leaf in net.leaves():
        if not any(n not in leaf.frozen for n in leaf.params):
            continue
        kind = type(leaf).__name__
        if kind == "Recurrent":
            kind = type(leaf.cell).__name__
        counts[kind] = counts.get(kind, 0) + 1
        out.append((f"{kind} {counts[kind]}", leaf))
    return out


def _activation_layers(net: Any) -> list[tuple[str, str, Any]]:
    """(name, kind, layer) for the sigmoid/tanh/ReLU layers, named by the layer they follow."""
    out = []
    counts: dict[str, int] = {}
    for leaf in net.leaves():
        kind = getattr(leaf, "name", None) if type(leaf).__name__ != "LeakyReLU" else None
        if kind in ("sigmoid", "tanh", "relu"):
            counts[kind] = counts.get(kind, 0) + 1
            out.append((f"{kind} {counts[kind]}", kind, leaf))
    return out


def measure(
    net: Any,
    X: Any,
    y: Any,
    loss: Any,
    saturation_threshold: float = 0.01,
    prepared: bool = False,
) -> dict[str, Any]:
    """One forward/backward pass of ``net`` on ``(X, y)``; returns ``grad_norms`` (layer →
    ‖∂L/∂θ‖), ``saturation`` (sigmoid/tanh layer → fraction), ``dead_relu`` (ReLU layer →
    fraction) and ``time_norms`` (recurrent layer → array of ‖∂L/∂h_t‖ over t). The net's
    gradient buffer is restored afterwards."""
    from bprop import backend
    from bprop.losses import get_loss

    loss = get_loss(loss)
    if not prepared:
        from bprop.train.trainer import Trainer

        X, y = Trainer(net, loss, verbose=0).prepare(X, y)
    space = net.space
    saved = space.grads.copy()
    acts = _activation_layers(net)
    act_ids = {id(layer): (name, kind) for name, kind, layer in acts}
    recs = [
        (name, layer) for name, layer in _layer_names(net) if type(layer).__name__ == "Recurrent"
    ]
    flags = [(layer, layer.record_grad_norms) for _, layer in recs]
    outputs: dict[str, Any] = {}

    def run(layer: Any, x: Any) -> tuple[Any, Any]:
        y_, cache = layer.forward(x, train=False)
        if id(layer) in act_ids:
            outputs[act_ids[id(layer)][0]] = backend.to_numpy(y_)
        return y_, cache

    try:
        for layer, _ in flags:
            layer.record_grad_norms = True
        space.grads.fill(0)
        layers = net.layers if hasattr(net, "layers") else [net]
        a, caches = X, []
        for layer in layers:  # layer by layer, to see every activation's output
            if hasattr(layer, "layers"):
                sub = []
                for inner in layer.layers:
                    a, c = run(inner, a)
                    sub.append(c)
                caches.append(sub)
            else:
                a, c = run(layer, a)
                caches.append(c)
        _, dy = loss.value_and_grad(a, y)
        for layer, cache in zip(reversed(layers), reversed(caches), strict=True):
            dy = layer.backward(dy, cache)
        grad_norms = {}
        for name, layer in _layer_names(net):
            sq = sum(
                float((backend.to_numpy(g).astype(np.float64) ** 2).sum())
                for n, g in layer.grads.items()
                if n not in layer.frozen
            )
            grad_norms[name] = float(np.sqrt(sq))
        time_norms = {name: np.asarray(layer.grad_norms, np.float64) for name, layer in recs}
    finally:
        for layer, flag in flags:
            layer.record_grad_norms = flag
        space.grads[...] = saved
    saturation, dead = {}, {}
    eps = float(saturation_threshold)
    for name, kind, _ in acts:
        out = outputs.get(name)
        if out is None:
            continue
        if kind == "sigmoid":
            saturation[name] = float(((out < eps) | (out > 1 - eps)).mean())
        elif kind == "tanh":
            saturation[name] = float((np.abs(out) > 1 - eps).mean())
        else:
            flat = out.reshape(-1, out.shape[-1])
            dead[name] = float((flat <= 0).all(axis=0).mean())
    return {
        "grad_norms": grad_norms,
        "saturation": saturation,
        "dead_relu": dead,
        "time_norms": time_norms,
    }


class GradientDiagnostics(Callback):
    """Trainer callback: gradient norms per layer (and per time step), saturated and dead
    units, measured on a fixed sample at the end of every ``every``-th epoch.

    Args:
        X_sample, y_sample: a fixed sample of the training data (e.g. 256 examples).
        every: measure every this many epochs (1: every epoch).
        saturation_threshold: distance from an asymptote counted as saturated (0.01).
        vanish_ratio: warn when a layer's norm is below this times the largest (1e-3), or
            ‖∂L/∂h_1‖ below this times ‖∂L/∂h_T‖.
        explode_norm: warn when a layer's gradient norm exceeds this (1e3).
        warn: issue :class:`GradientWarning` (else only record ``messages``).

    Attributes (filled during training): ``epochs`` (the measured epochs), ``grad_norms``,
    ``saturation``, ``dead_relu`` (name → list over measured epochs), ``time_norms``
    (recurrent layer → list of (T,) arrays), ``messages`` (the warnings' texts).

    Example::

        >>> import numpy as np, bprop as bp
        >>> from bprop.diagnostics import GradientDiagnostics
        >>> X = np.random.default_rng(0).normal(size=(64, 4)); y = (X[:, 0] > 0).astype(int)
        >>> net = bp.mlp([4, 8, 8, 2], activation="relu", seed=0)
        >>> diag = GradientDiagnostics(X[:32], y[:32])
        >>> h = bp.fit(net, X, y, optimizer=bp.SGD(0.1), epochs=3, callbacks=[diag], verbose=0)
        >>> diag.epochs, sorted(diag.grad_norms)
        ([1, 2, 3], ['Dense 1', 'Dense 2', 'Dense 3'])
    """

    def __init__(
        self,
        X_sample: Any,
        y_sample: Any,
        every: int = 1,
        saturation_threshold: float = 0.01,
        vanish_ratio: float = 1e-3,
        explode_norm: float = 1e3,
        warn: bool = True,
    ) -> None:
        if int(every) < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.X_sample, self.y_sample = X_sample, y_sample
        self.every = int(every)
        self.saturation_threshold = float(saturation_threshold)
        self.vanish_ratio, self.explode_norm = float(vanish_ratio), float(explode_norm)
        self.warn = bool(warn)
        self.epochs: list[int] = []
        self.grad_norms: dict[str, list[float]] = {}
        self.saturation: dict[str, list[float]] = {}
        self.dead_relu: dict[str, list[float]] = {}
        self.time_norms: dict[str, list[np.ndarray]] = {}
        self.messages: list[str] = []
        self._warned: set[tuple[str, str]] = set()
        self._prepared: tuple[Any, Any] | None = None

    def on_train_begin(self, trainer: Any) -> None:
        self._prepared = trainer.prepare(self.X_sample, self.y_sample)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> bool | None:
        if epoch % self.every:
            return None
        if self._prepared is None:
            self.on_train_begin(trainer)
        X, y = self._prepared  # type: ignore[misc]
        m = measure(trainer.net, X, y, trainer.loss, self.saturation_threshold, prepared=True)
        self.record(epoch, m, trainer.history.extra)
        return None

    def record(self, epoch: int, m: dict[str, Any], extra: dict[str, list] | None = None) -> None:
        """Append one measurement (from :func:`measure`) and check for vanishing/exploding."""
        self.epochs.append(int(epoch))
        for key, store in (
            ("grad_norms", self.grad_norms),
            ("saturation", self.saturation),
            ("dead_relu", self.dead_relu),
            ("time_norms", self.time_norms),
        ):
            for name, v in m[key].items():
                store.setdefault(name, []).append(v)
                if extra is not None and key != "time_norms":
                    prefix = {"grad_norms": "grad_norm", "saturation": "saturated"}.get(key, key)
                    extra.setdefault(f"{prefix}/{name}", []).append(v)
        self._check(epoch, m)

    def _emit(self, key: tuple[str, str], text: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.messages.append(text)
        if self.warn:
            warnings.warn(text, GradientWarning, stacklevel=4)

    def _check(self, epoch: int, m: dict[str, Any]) -> None:
        norms = m["grad_norms"]
        if norms:
            top_name = max(norms, key=norms.get)
            top = norms[top_name]
            for name, v in norms.items():
                if top > 0 and v < self.vanish_ratio * top:
                    self._emit(
                        (name, "vanish"),
                        f"vanishing gradient in layer {name!r} at epoch {epoch}: its gradient "
                        f"norm {v:.3g} is {v / top:.2g} × that of {top_name!r} ({top:.3g})",
                    )
                if not np.isfinite(v) or v > self.explode_norm:
                    self._emit(
                        (name, "explode"),
                        f"exploding gradient in layer {name!r} at epoch {epoch}: gradient norm "
                        f"{v:.3g} > {self.explode_norm:g}",
                    )
        for name, tn in m["time_norms"].items():
            tn = tn[np.isfinite(tn)]
            if tn.size < 2 or tn[-1] <= 0:
                continue
            ratio = tn[0] / tn[-1]
            if ratio < self.vanish_ratio:
                self._emit(
                    (name, "vanish-time"),
                    f"vanishing gradient through time in layer {name!r} at epoch {epoch}: "
                    f"‖∂L/∂h_1‖ is {ratio:.2g} × ‖∂L/∂h_T‖",
                )
            elif ratio > 1 / self.vanish_ratio:
                self._emit(
                    (name, "explode-time"),
                    f"exploding gradient through time in layer {name!r} at epoch {epoch}: "
                    f"‖∂L/∂h_1‖ is {ratio:.2g} × ‖∂L/∂h_T‖",
                )

    # --- summaries ------------------------------------------------------------------------
    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per layer: gradient norm at the first and last measured epochs, its ratio
        to the largest layer's norm at the last epoch, and saturation / dead fractions."""
        rows: list[dict[str, Any]] = []
        if not self.epochs:
            return rows
        top = max((v[-1] for v in self.grad_norms.values()), default=0.0)
        for name, v in self.grad_norms.items():
            rows.append(
                {
                    "layer": name,
                    f"grad norm (epoch {self.epochs[0]})": v[0],
                    f"grad norm (epoch {self.epochs[-1]})": v[-1],
                    "÷ largest": v[-1] / top if top else None,
                }
            )
        for name, v in {**self.saturation, **self.dead_relu}.items():
            kind = "saturated" if name in self.saturation else "dead"
            rows.append(
                {
                    "layer": f"{name} ({kind})",
                    f"grad norm (epoch {self.epochs[0]})": None,
                    f"grad norm (epoch {self.epochs[-1]})": None,
                    "÷ largest": None,
                    "fraction (first)": v[0],
                    "fraction (last)": v[-1],
                }
            )
        for r in rows:
            r.setdefault("fraction (first)", None)
            r.setdefault("fraction (last)", None)
        return rows

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable digest: per layer the first/last gradient norms and
        saturation/dead fractions, and the warnings."""
        if not self.epochs:
            return {}
        out: dict[str, Any] = {
            "epochs": [self.epochs[0], self.epochs[-1]],
            "grad_norm": {n: [v[0], v[-1]] for n, v in self.grad_norms.items()},
        }
        if self.saturation:
            out["saturated"] = {n: [v[0], v[-1]] for n, v in self.saturation.items()}
        if self.dead_relu:
            out["dead_relu"] = {n: [v[0], v[-1]] for n, v in self.dead_relu.items()}
        if self.time_norms:
            out["grad_norm_h1_over_hT"] = {
                n: float(v[-1][0] / v[-1][-1]) if v[-1][-1] else None
                for n, v in self.time_norms.items()
            }
        out["warnings"] = list(self.messages)
        return out

    def format_summary(self) -> str:
        """A short plain-text table of per-layer gradient norms (``bprop train --diagnostics``)."""
        if not self.epochs:
            return "no diagnostics recorded"
        e0, e1 = self.epochs[0], self.epochs[-1]
        lines = [f"{'layer':14s} {'‖∂L/∂θ‖ epoch ' + str(e0):>18s} {'epoch ' + str(e1):>12s}"]
        for name, v in self.grad_norms.items():
            lines.append(f"{name:14s} {v[0]:18.3e} {v[-1]:12.3e}")
        for name, v in self.saturation.items():
            lines.append(f"{name + ' saturated':24s} {v[0]:8.1%} {v[-1]:12.1%}")
        for name, v in self.dead_relu.items():
            lines.append(f"{name + ' dead':24s} {v[0]:8.1%} {v[-1]:12.1%}")
        for m in self.messages:
            lines.append("warning: " + m)
        return "\n".join(lines)
