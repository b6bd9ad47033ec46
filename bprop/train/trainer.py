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

from bprop import backend, divergence, interrupt
from bprop.errors import TrainingDiverged, TrainingInterrupted
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
        divergence_factor: stop with :class:`bprop.TrainingDiverged` when the epoch loss stays
            above this multiple of the loss's reference scale for two epochs (NaN/inf stop at
            once); None tests only NaN/inf. See :mod:`bprop.divergence`.

    **Divergence.** When training diverges, :meth:`fit` returns the trainer to the start of
    the last epoch whose loss passed the check (the start of this ``fit`` call if none did):
    weights, the rule's state, the data-order generator, ``epoch`` and ``history`` (whose
    ``stopped_because`` becomes ``"diverged"``), then raises :class:`bprop.TrainingDiverged`.
    For full-batch training those are exactly the weights that had that epoch's loss.

    **Interruption and exact resume.** Inside :func:`bprop.interrupt.deferred_interrupts`, a
    SIGINT/SIGTERM stops training after the current update with
    :class:`bprop.TrainingInterrupted` (``exc.trainer`` is this trainer); ``history`` says
    ``stopped_because = "interrupted"``, the progress bar is closed and the callbacks'
    ``on_train_end`` has run. Calling :meth:`fit` again (with the same data and arguments, or
    on a trainer rebuilt from the saved state) finishes the interrupted epoch from the next
    batch and gives bit-for-bit the weights of an uninterrupted run. What it needs besides the
    weights, the rule's state and ``rng``:

    - ``progress``: None between epochs; after an interruption, the epoch in progress as
      plain JSON-able values: ``{"rng_state": <rng.bit_generator.state at the epoch's start>,
      "n": <training examples>, "updates": <updates done>, "total": <their summed loss>,
      "correct": <int>, "count": <int>}`` (and ``early_stopping`` when early stopping ran:
      its ``best``, ``best_epoch`` and ``wait``);
    - ``best_params``: the early-stopping callback's best weights (an array) or None;
    - ``split``: None, or the validation split ``{"n": <examples>, "fraction": <float>,
      "val_index": <int64 array of held-out rows>}``, reused by every ``fit`` whose data has
      the same ``n`` and ``validation_split``, so held-out examples never reach training;
    - ``epoch`` (and ``history``, for an unbroken record: it does not affect the weights).
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
        divergence_factor: float | None = divergence.DEFAULT_FACTOR,
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
        self.divergence_factor = divergence.check_factor(divergence_factor)
        self.history = History()
        self.epoch = 0
        self.progress: dict[str, Any] | None = None
        self.split: dict[str, Any] | None = None
        self.best_params: Any = None
        self._reference: tuple[Any, float | None] | None = None
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
        """Train one epoch; returns (epoch loss, training accuracy or None).

        If ``progress`` holds an interrupted epoch, the data-order generator is rewound to
        that epoch's start, the same order is drawn again and training continues from the
        first batch not yet done. A deferred interrupt (:func:`bprop.interrupt.check`) after
        an update records ``progress`` and raises :class:`bprop.TrainingInterrupted`; a
        non-finite batch loss raises :class:`_NonFiniteLoss`.
        """
        n = X.shape[0]
        resume = self.progress
        if resume is not None:
            if int(resume.get("n", n)) != n:
                raise ValueError(
                    f"the interrupted epoch in trainer.progress ran over {resume['n']} "
                    f"training examples, but fit() got {n}: resume with the same data (and "
                    "validation_split), or set trainer.progress = None to start a new epoch"
                )
            self.rng.bit_generator.state = resume["rng_state"]
        self.progress = None
        rng_state = self.rng.bit_generator.state
        order = self.schedule.order(n, self.rng)
        if order is not None:
            X, T = X[order], T[order]
        bs = self.schedule.size(n)
        done, total, correct, count = 0, 0.0, 0, 0
        if resume is not None:
            done, total = int(resume["updates"]), float(resume["total"])
            correct, count = int(resume["correct"]), int(resume["count"])
        classify = self._counts_accuracy(T)
        plan = online_fast.supports(self, X, T) if self.fast and done == 0 else None
        if plan is not None:
            total, correct = online_fast.run_epoch(self, plan, X, T)
            done, count = n, (n if classify else 0)
            self._check_interrupt(rng_state, n, done, total, correct, count)
        for i in range(done * bs, n, bs):
            xb, tb = X[i : i + bs], T[i : i + bs]
            loss, out = self.step(xb, tb)
            if not math.isfinite(loss):
                raise _NonFiniteLoss(f"the loss became {loss} at update {i // bs + 1}")
            total += loss if self.loss.reduction == "sum" else loss * xb.shape[0]
            if classify:
                c, k = self._correct(out, tb)
                correct, count = correct + c, count + k
            self._check_interrupt(rng_state, n, i // bs + 1, total, correct, count)
        epoch_loss = total if self.loss.reduction == "sum" else total / n
        return epoch_loss, (correct / count if classify else None)

    def _check_interrupt(
        self,
        rng_state: dict[str, Any],
        n: int,
        updates: int,
        total: float,
        correct: int,
        count: int,
    ) -> None:
        """After an update: if a stop was requested, record the epoch in progress and raise
        :class:`bprop.TrainingInterrupted`."""
        if interrupt.pending() is not None:
            self.progress = {
                "rng_state": rng_state,
                "n": int(n),
                "updates": int(updates),
                "total": float(total),
                "correct": int(correct),
                "count": int(count),
            }
            interrupt.check(trainer=self)

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
        """Train for up to ``epochs`` more epochs (an interrupted epoch in ``progress``
        counts as one of them); returns the (cumulative) history.

        Raises :class:`bprop.TrainingDiverged` (state restored, see the class docs) and
        :class:`bprop.TrainingInterrupted` (resumable, see the class docs)."""
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}")
        X_np, y_np = np.asarray(backend.to_numpy(X)), np.asarray(backend.to_numpy(y))
        if validation_data is None and validation_split:
            X_np, y_np, Xv, yv = self._split(X_np, y_np, validation_split)
            validation_data = (Xv, yv)
        Xt, Tt = self.prepare(X_np, y_np)
        val = self.prepare(*validation_data) if validation_data is not None else None
        callbacks = list(self.callbacks)
        if early_stopping is not None:
            if val is None:
                raise ValueError("early_stopping needs validation_split or validation_data")
            es = early_stopping
            callbacks.append(es if isinstance(es, Callback) else EarlyStopping(int(es)))
        guard = divergence.DivergenceGuard(self.divergence_factor, self._reference_loss(Xt, Tt))
        for cb in callbacks:
            cb.on_train_begin(self)

        t_start = time.perf_counter() - (self.history.seconds[-1] if self.history.seconds else 0)
        bar = tqdm(
            total=epochs,
            disable=self.verbose < 1,
            unit="epoch",
            leave=True,
            desc=f"{self.schedule.name} {type(self.optimizer).__name__}",
        )
        self.history.stopped_because = "epochs"
        params = self.net.space.params
        good = self._snapshot()  # the last point whose loss passed the divergence check
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for _ in range(epochs):
                    start = self._snapshot() if self.epoch > good["epoch"] else good
                    try:
                        loss, acc = self.run_epoch(Xt, Tt)
                        reason = guard.check(loss, params)
                    except _NonFiniteLoss as exc:
                        reason = str(exc)
                    except TrainingDiverged:  # raised inside a step (a settling network)
                        self._restore(good)
                        raise
                    if reason is not None:
                        where = f"in epoch {self.epoch + 1}"
                        self._restore(good)
                        raise TrainingDiverged(
                            divergence.message(
                                reason,
                                where,
                                self._restored_to(good),
                                self.optimizer,
                                self.l2,
                                Xt,
                            )
                        )
                    if guard.passed():
                        good = start
                        good["passed"] = True
                    self.epoch += 1
                    logs: dict[str, Any] = {"train_loss": loss, "train_accuracy": acc}
                    if val is not None:
                        logs["val_loss"], logs["val_accuracy"] = self.evaluate_prepared(*val)
                    logs["seconds"] = time.perf_counter() - t_start
                    self.history.append(logs)
                    # epoch-driven rules: learning-rate schedules, reduce-on-plateau
                    self.state = self.optimizer.on_epoch_end(self.state, logs)
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
        except TrainingInterrupted as exc:
            self.history.stopped_because = "interrupted"
            exc.trainer = self
            raise
        except TrainingDiverged:
            self.history.stopped_because = "diverged"
            raise
        finally:
            bar.close()
            for cb in callbacks:
                cb.on_train_end(self)
        return self.history

    def _split(
        self, X: np.ndarray, y: np.ndarray, fraction: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(X_train, y_train, X_val, y_val) for ``validation_split=fraction``: the held-out
        rows of ``split`` when it was made for the same number of examples and fraction,
        else a new stratified split drawn from ``rng`` (and stored in ``split``). Training
        rows keep their order."""
        n = X.shape[0]
        s = self.split
        if s is None or int(s["n"]) != n or float(s["fraction"]) != float(fraction):
            val_index = _split_indices(y, fraction, self.rng)
            self.split = {"n": n, "fraction": float(fraction), "val_index": val_index}
        val_index = np.asarray(self.split["val_index"], dtype=np.int64)
        train = np.ones(n, dtype=bool)
        train[val_index] = False
        return X[train], y[train], X[val_index], y[val_index]

    def _reference_loss(self, X: Any, T: Any) -> float | None:
        """The divergence test's scale (:func:`bprop.divergence.reference_loss`) on
        every k-th training example (at most 4096 of them), as an epoch loss: scaled up to
        all ``n`` examples for ``reduction="sum"``. None when the test is off.

        Measured on the first ``fit`` with training data of this shape and then kept (it is a
        scale, not a measurement of progress), so ``fit(epochs=1)`` in a loop costs no extra
        forward passes."""
        if self.divergence_factor is None:
            return None
        key = (tuple(X.shape), self.loss.reduction)
        if self._reference is None or self._reference[0] != key:
            self._reference = key, self._measure_reference(X, T)
        return self._reference[1]

    def _measure_reference(self, X: Any, T: Any) -> float | None:
        n = X.shape[0]
        step = -(-n // 4096)
        Xs, Ts = X[::step], T[::step]
        scale = n / Xs.shape[0] if self.loss.reduction == "sum" else 1.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ref = divergence.reference_loss(
                lambda: self.evaluate_prepared(Xs, Ts)[0], self.net.space.params
            )
        return None if ref is None else ref * scale

    def _snapshot(self) -> dict[str, Any]:
        """Everything :meth:`_restore` puts back: weights, rule state, generator, epoch
        count, history length and the epoch in progress."""
        return {
            "params": self.net.space.params.copy(),
            "state": divergence.copy_state(self.state),
            "rng_state": self.rng.bit_generator.state,
            "epoch": self.epoch,
            "history": self.history.epochs,
            "progress": self.progress,
            "passed": False,
        }

    def _restore(self, snap: dict[str, Any]) -> None:
        self.net.space.params[...] = snap["params"]
        self.state = divergence.copy_state(snap["state"])
        self.rng.bit_generator.state = snap["rng_state"]
        self.epoch = snap["epoch"]
        self.history.truncate(snap["history"])
        self.progress = snap["progress"]

    def _restored_to(self, snap: dict[str, Any]) -> str:
        where = f"the start of epoch {snap['epoch'] + 1}"
        if snap["progress"] is not None:
            where += f" (after its update {snap['progress']['updates']}, where it was resumed)"
        if not snap["passed"]:
            return where + ", where this fit() started (no epoch since passed the check)"
        return where + ", the last epoch whose loss passed the check"


class _NonFiniteLoss(ArithmeticError):
    """A batch loss became NaN/inf inside :meth:`Trainer.run_epoch` (the message says
    where); :meth:`Trainer.fit` turns it into :class:`bprop.TrainingDiverged`."""


def _split_indices(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The sorted indices (int64) of ``fraction`` of the examples, held out for validation:
    stratified by class when ``y`` holds labels; one draw from ``rng`` seeds the split."""
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    seed = int(rng.integers(2**31))
    rows = np.arange(y.shape[0])
    stratify = y if (y.ndim == 1 and np.issubdtype(y.dtype, np.integer)) else None
    try:
        _, val = train_test_split(rows, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError:  # a class too small to stratify
        _, val = train_test_split(rows, test_size=fraction, random_state=seed)
    return np.sort(val).astype(np.int64)


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
    divergence_factor: float | None = divergence.DEFAULT_FACTOR,
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
        divergence_factor=divergence_factor,
    )
    history = trainer.fit(
        X, y, epochs, validation_split, validation_data, early_stopping, target_loss
    )
    history.trainer = trainer  # type: ignore[attr-defined]
    return history
