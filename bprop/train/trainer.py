"""The trainer: ties a model, a loss, an update rule and a schedule together.

One training step (static backpropagation, Rumelhart, Hinton & Williams 1986)::

    zero the gradient buffer
    y = net.forward(x_batch)                    # forward pass, caches kept
    L, ∂L/∂y = loss.value_and_grad(y, t_batch)
    net.backward(∂L/∂y)                         # chain rule, layer by layer, adds into grads
    updates, state = rule.update(grads, state, params, L)
    params += updates

An epoch runs the steps its :mod:`schedule <bprop.train.schedules>` asks for: one per example
(online), per mini-batch, or one per epoch (batch). The reported ``train_loss`` of an epoch is
the loss over the epoch's examples as they were met during training (the sum for
``reduction="sum"``, the mean otherwise); for full-batch training it is exactly the loss at the
weights before the epoch's update.

Example::

    >>> import numpy as np, bprop as bp
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float); y = np.array([0, 1, 1, 0])
    >>> net = bp.Sequential(bp.Dense(2, 4, rng=0), bp.Tanh(), bp.Dense(4, 1, rng=1), bp.Sigmoid())
    >>> hist = bp.fit(net, X, y, loss=bp.SquaredError(), optimizer=bp.SGD(0.5, momentum=0.9),
    ...               schedule="batch", epochs=500, verbose=0)
    >>> net.predict_classes(X).tolist()
    [0, 1, 1, 0]
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from bprop import backend, interrupt
from bprop.errors import TrainingDiverged
from bprop.layers.base import check_finite
from bprop.layers.sequential import Sequential
from bprop.losses import Loss, MeanSquaredError, SoftmaxCrossEntropy, get_loss
from bprop.optim.base import State, UpdateRule
from bprop.optim.sgd import SGD
from bprop.train import online_fast
from bprop.train.callbacks import Callback, EarlyStopping, as_callback
from bprop.train.history import History
from bprop.train.schedules import Schedule, get_schedule


class Trainer:
    """Stateful training: call :meth:`fit` again to continue where it stopped.

    Args:
        net: the model (a :class:`bprop.Sequential` or any layer with a ``space``).
        loss: a :class:`bprop.losses.Loss` or its name.
        optimizer: an update rule (default ``SGD(0.01)``).
        schedule: ``"online"``, ``"minibatch"``, ``"batch"`` or a Schedule; with
            ``batch_size`` (see :func:`bprop.train.schedules.get_schedule`).
        l2: L2 weight decay λ: adds ½λ‖W‖² over the weight matrices (not biases) to the loss.
        seed: seeds the generator that shuffles the data and splits validation sets.
        optimizer_state: resume from a saved update-rule state.
        fast: allow the compiled online path (tested equal to the NumPy path).
    """

    def __init__(
        self,
        net: Sequential,
        loss: Loss | str,
        optimizer: UpdateRule | None = None,
        schedule: str | Schedule | None = None,
        batch_size: int | None = None,
        l2: float = 0.0,
        seed: int | np.random.Generator = 0,
        callbacks: Iterable[Any] = (),
        verbose: int = 1,
        optimizer_state: State | None = None,
        fast: bool = True,
    ) -> None:
        self.net = net
        self.loss = get_loss(loss)
        self.optimizer = optimizer if optimizer is not None else SGD(0.01)
        if not isinstance(self.optimizer, UpdateRule):
            raise TypeError(f"optimizer must be an update rule, got {type(optimizer).__name__}")
        self.schedule = get_schedule(schedule, batch_size)
        if l2 < 0:
            raise ValueError(f"l2 must be non-negative, got {l2}")
        self.l2 = float(l2)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.callbacks = [as_callback(c) for c in callbacks]
        self.verbose = int(verbose)
        self.fast = fast
        space = net.space
        self.state = (
            optimizer_state if optimizer_state is not None else self.optimizer.init(space.params)
        )
        self.history = History()
        self.epoch = 0
        if self.optimizer.requires_full_batch and self.schedule.name != "batch":
            warnings.warn(
                f"{self.optimizer!r} assumes full-batch gradients, but the schedule is "
                f"{self.schedule.name}: {self.optimizer.full_batch_reason.rstrip('.')}. "
                "Use schedule='batch', or RMSprop for mini-batches.",
                UserWarning,
                stacklevel=3,
            )

    # --- data ---------------------------------------------------------------------------
    def prepare(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Validate ``X``/``y`` and convert them to backend arrays (targets in loss form)."""
        X = np.asarray(backend.to_numpy(X))
        y = np.asarray(backend.to_numpy(y))
        if X.ndim < 2:
            raise ValueError(
                f"X must be 2-D (examples, features) or, for sequences, 3-D (examples, time, "
                f"features); got shape {X.shape}"
            )
        if not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        n_in, n_out = self.net.n_in, self.net.n_out
        if n_in is not None and X.shape[-1] != n_in:
            raise ValueError(f"X has {X.shape[-1]} features but the network expects {n_in}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} examples but y has {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("no training examples")
        check_finite("X", X)
        if np.issubdtype(y.dtype, np.number):
            check_finite("y", y)
        T = self.loss.prepare_targets(y, n_out if n_out is not None else 1)
        dtype = self.net.space.dtype
        Xb = backend.asarray(X, dtype=dtype)
        Tb = backend.asarray(T, dtype=np.int64 if T.dtype.kind in "iu" else dtype)
        return Xb, Tb

    # --- one step and one epoch ---------------------------------------------------------
    def step(self, xb: Any, tb: Any) -> tuple[float, Any]:
        """One forward/backward/update on a batch; returns (batch loss, outputs)."""
        space = self.net.space
        space.grads.fill(0)
        out, cache = self.net.forward(xb, train=True)
        loss, dy = self.loss.value_and_grad(out, tb)
        self.net.backward(dy, cache, need_dx=False)
        if self.l2:
            loss += self._add_l2(space)
        self.state = self.optimizer.apply(space.grads, self.state, space.params, loss)
        return loss, out

    def _add_l2(self, space: Any) -> float:
        """Add λW to the weight gradients; return the penalty ½λ‖W‖² (once per update)."""
        w = space.params * space.decay_mask
        penalty = 0.5 * self.l2 * float(w @ w)
        w *= self.l2
        space.grads += w
        return penalty

    def run_epoch(self, X: Any, T: Any) -> tuple[float, float | None]:
        """Train one epoch; returns (epoch loss, training accuracy or None)."""
        n = X.shape[0]
        order = self.schedule.order(n, self.rng)
        if order is not None:
            X, T = X[order], T[order]
        plan = online_fast.supports(self, X, T) if self.fast else None
        if plan is not None:
            result = online_fast.run_epoch(self, plan, X, T)
            interrupt.check(trainer=self)
            return result
        bs = self.schedule.size(n)
        total, correct, count = 0.0, 0, 0
        classify = self._counts_accuracy(T)
        for i in range(0, n, bs):
            xb, tb = X[i : i + bs], T[i : i + bs]
            loss, out = self.step(xb, tb)
            if not math.isfinite(loss):
                raise TrainingDiverged(self._diverged_message(loss))
            interrupt.check(trainer=self)
            total += loss if self.loss.reduction == "sum" else loss * xb.shape[0]
            if classify:
                c, k = self._correct(out, tb)
                correct, count = correct + c, count + k
        epoch_loss = total if self.loss.reduction == "sum" else total / n
        return epoch_loss, (correct / count if classify else None)

    # --- evaluation ---------------------------------------------------------------------
    def _counts_accuracy(self, T: Any) -> bool:
        """Accuracy is reported for integer labels and for 0/1 target vectors."""
        return T.dtype.kind in "iu" or bool(backend.get_xp().all((T == 0) | (T == 1)))

    def _correct(self, out: Any, tb: Any) -> tuple[int, int]:
        """(number correct, number of decisions) for outputs ``out`` against targets ``tb``."""
        if tb.dtype.kind in "iu":
            return int((out.argmax(axis=-1) == tb).sum()), int(tb.size)
        if out.shape[-1] == 1:
            hits = (out[..., 0] > self.loss.threshold) == (tb[..., 0] > 0.5)
        else:
            hits = out.argmax(axis=-1) == tb.argmax(axis=-1)
        return int(hits.sum()), int(hits.size)

    def evaluate_prepared(self, X: Any, T: Any, batch_size: int = 4096) -> tuple[float, Any]:
        total, correct, count, n = 0.0, 0, 0, X.shape[0]
        classify = self._counts_accuracy(T)
        for i in range(0, n, batch_size):
            out, _ = self.net.forward(X[i : i + batch_size], train=False)
            loss, _ = self.loss.value_and_grad(out, T[i : i + batch_size])
            total += loss if self.loss.reduction == "sum" else loss * out.shape[0]
            if classify:
                c, k = self._correct(out, T[i : i + batch_size])
                correct, count = correct + c, count + k
        return (total if self.loss.reduction == "sum" else total / n), (
            correct / count if classify else None
        )

    def evaluate(self, X: Any, y: Any) -> dict[str, Any]:
        """Loss and (for classification) accuracy on ``X``, ``y`` in evaluation mode."""
        Xb, Tb = self.prepare(X, y)
        loss, acc = self.evaluate_prepared(Xb, Tb)
        return {"loss": loss, "accuracy": acc}

    # --- the loop -----------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        epochs: int = 100,
        validation_split: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        early_stopping: int | EarlyStopping | None = None,
        target_loss: float | None = None,
    ) -> History:
        """Train for up to ``epochs`` more epochs; returns the (cumulative) history."""
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}")
        X_np, y_np = np.asarray(backend.to_numpy(X)), np.asarray(backend.to_numpy(y))
        if validation_data is None and validation_split:
            X_np, y_np, Xv, yv = _split(X_np, y_np, validation_split, self.rng)
            validation_data = (Xv, yv)
        Xt, Tt = self.prepare(X_np, y_np)
        val = self.prepare(*validation_data) if validation_data is not None else None
        callbacks = list(self.callbacks)
        if early_stopping is not None:
            if val is None:
                raise ValueError("early_stopping needs validation_split or validation_data")
            es = early_stopping
            callbacks.append(es if isinstance(es, Callback) else EarlyStopping(int(es)))
        for cb in callbacks:
            cb.on_train_begin(self)

        space = self.net.space
        t_start = time.perf_counter() - (self.history.seconds[-1] if self.history.seconds else 0)
        bar = tqdm(
            total=epochs,
            disable=self.verbose < 1,
            unit="epoch",
            leave=True,
            desc=f"{self.schedule.name} {type(self.optimizer).__name__}",
        )
        self.history.stopped_because = "epochs"
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for _ in range(epochs):
                    snapshot = space.params.copy(), _copy_state(self.state)
                    try:
                        loss, acc = self.run_epoch(Xt, Tt)
                        finite = math.isfinite(loss) and bool(
                            backend.get_xp().isfinite(space.params).all()
                        )
                        if not finite:
                            raise TrainingDiverged(self._diverged_message(loss))
                    except TrainingDiverged:
                        space.params[...] = snapshot[0]
                        self.state = snapshot[1]
                        raise
                    self.epoch += 1
                    logs: dict[str, Any] = {"train_loss": loss, "train_accuracy": acc}
                    if val is not None:
                        logs["val_loss"], logs["val_accuracy"] = self.evaluate_prepared(*val)
                    logs["seconds"] = time.perf_counter() - t_start
                    self.history.append(logs)
                    bar.update(1)
                    if self.verbose:
                        bar.set_postfix(
                            {
                                k: f"{v:.4g}"
                                for k, v in logs.items()
                                if v is not None and k != "seconds"
                            },
                            refresh=False,
                        )
                    stop = False
                    for cb in callbacks:
                        stop = bool(cb.on_epoch_end(self, self.epoch, logs)) or stop
                    if (
                        target_loss is not None
                        and loss <= target_loss
                        and self.history.target_epoch is None
                    ):
                        self.history.target_epoch = self.epoch
                        self.history.stopped_because = "target_loss"
                        stop = True
                    if stop:
                        if self.history.stopped_because == "epochs":
                            self.history.stopped_because = "callback"
                        break
        finally:
            bar.close()
            for cb in callbacks:
                cb.on_train_end(self)
        return self.history

    def _diverged_message(self, loss: float) -> str:
        return (
            f"training diverged at epoch {self.epoch + 1} (loss = {loss}): the weights and "
            "the update rule's state were restored to the start of that epoch. Lower the "
            f"learning rate (now "
            f"{getattr(self.optimizer, 'lr', 'n/a')}), clip gradients, or scale the inputs."
        )


def _copy_state(state: State) -> State:
    return {k: v.copy() if hasattr(v, "copy") else v for k, v in state.items()}


def _split(X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of the data, stratified by class when ``y`` holds labels."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    seed = int(rng.integers(2**31))
    stratify = y if (y.ndim == 1 and np.issubdtype(y.dtype, np.integer)) else None
    try:
        Xt, Xv, yt, yv = train_test_split(
            X, y, test_size=fraction, random_state=seed, stratify=stratify
        )
    except ValueError:  # a class too small to stratify
        Xt, Xv, yt, yv = train_test_split(X, y, test_size=fraction, random_state=seed)
    return Xt, yt, Xv, yv


def default_loss(net: Sequential, y: Any) -> Loss:
    y = np.asarray(backend.to_numpy(y))
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and (net.n_out or 1) > 1:
        return SoftmaxCrossEntropy()
    return MeanSquaredError()


def fit(
    net: Sequential,
    X: Any,
    y: Any,
    loss: Loss | str | None = None,
    optimizer: UpdateRule | None = None,
    *,
    batch_size: int | None = None,
    schedule: str | Schedule | None = None,
    epochs: int = 100,
    validation_split: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    early_stopping: int | EarlyStopping | None = None,
    target_loss: float | None = None,
    callbacks: Iterable[Any] = (),
    l2: float = 0.0,
    seed: int = 0,
    verbose: int = 1,
    optimizer_state: State | None = None,
) -> History:
    """Train ``net`` on ``X``, ``y`` and return its :class:`History`.

    ``history.trainer`` is the :class:`Trainer`, whose ``state`` (the update rule's state)
    and ``fit`` let training continue. ``loss`` defaults to softmax cross-entropy for integer
    labels and mean squared error otherwise. See :class:`Trainer` for the other arguments.

    Example::

        >>> import bprop as bp
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> net = bp.Sequential(bp.Dense(64, 32, rng=0), bp.Tanh(), bp.Dense(32, 10, rng=1))
        >>> h = bp.fit(net, X / 16, y, loss=bp.SoftmaxCrossEntropy(),
        ...            optimizer=bp.SGD(lr=0.1, momentum=0.9), batch_size=32, epochs=5,
        ...            validation_split=0.2, verbose=0)
        >>> h.val_accuracy[-1] > 0.9
        True
    """
    trainer = Trainer(
        net,
        loss if loss is not None else default_loss(net, y),
        optimizer,
        schedule,
        batch_size,
        l2,
        seed,
        callbacks,
        verbose,
        optimizer_state,
    )
    history = trainer.fit(
        X, y, epochs, validation_split, validation_data, early_stopping, target_loss
    )
    history.trainer = trainer  # type: ignore[attr-defined]
    return history
