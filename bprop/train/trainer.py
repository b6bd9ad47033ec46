"""The trainer — the one training loop: ties a model, a loss, an update rule and a schedule.

:meth:`Trainer.fit` runs epochs of updates from a gradient source (:mod:`bprop.train.sources`:
batches of examples, or chunks of a stream with truncated BPTT) and owns the progress bar,
history, callbacks, divergence and interruption. One training step on examples (static
backpropagation, Rumelhart, Hinton & Williams 1986)::

    zero the gradient buffer
    y = net.forward(x_batch)                    # forward pass, caches kept
    L, ∂L/∂y = loss.value_and_grad(y, t_batch)
    net.backward(∂L/∂y)                         # chain rule, layer by layer, adds into grads
    updates, state = rule.update(grads, state, params, L)
    params += updates

An epoch runs the steps its :mod:`schedule <bprop.train.schedules>` asks for: one per example
(online), per mini-batch, one per epoch (batch), or one per chunk of a stream. The reported
``train_loss`` of an epoch is the loss over the epoch's examples as they were met during
training (the sum for ``reduction="sum"``, the mean otherwise); for full-batch training it is
exactly the loss at the weights before the epoch's update.

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

import time
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from bprop import divergence
from bprop.distributed import gradient_source, is_sharded
from bprop.errors import TrainingDiverged, TrainingInterrupted
from bprop.layers.sequential import Sequential
from bprop.losses import Loss, get_loss
from bprop.optim.base import State, UpdateRule
from bprop.optim.sgd import SGD
from bprop.train import progress as _progress
from bprop.train.callbacks import Callback, EarlyStopping, as_callback
from bprop.train.evaluation import Evaluation
from bprop.train.fit import default_loss, fit
from bprop.train.history import History, StreamHistory
from bprop.train.logs import active as active_logs
from bprop.train.realtime import RTRLSource
from bprop.train.resume import Resumable
from bprop.train.schedules import Schedule, StepSchedule, StreamSchedule, get_schedule
from bprop.train.sources import ExampleSource, prepare_examples
from bprop.train.sources import NonFiniteLoss as _NonFiniteLoss
from bprop.train.steps import ExampleSteps
from bprop.train.stream import StreamSource

__all__ = ["Trainer", "default_loss", "fit"]


class Trainer(ExampleSteps, Evaluation, Resumable):
    """Stateful training: call :meth:`fit` again to continue where it stopped.

    Args:
        net: the model (a :class:`bprop.Sequential` or any layer with a ``space``).
        loss: a :class:`bprop.losses.Loss` or its name.
        optimizer: an update rule (default ``SGD(0.01)``).
        schedule: ``"online"``, ``"minibatch"``, ``"batch"``, a Schedule (with ``batch_size``,
            see :func:`~bprop.train.schedules.get_schedule`), a ``StreamSchedule`` (truncated
            BPTT) or a ``StepSchedule`` (RTRL): see :mod:`bprop.train.sources`.
        l2: L2 weight decay λ: adds ½λ‖W‖² over the weight matrices (not biases) to the loss.
        seed: seeds the generator that shuffles the data and splits validation sets.
        optimizer_state: resume from a saved update-rule state.
        fast: allow the compiled online path (tested equal to the NumPy path).
        divergence_factor: stop with :class:`bprop.TrainingDiverged` when the epoch loss stays
            above this multiple of the loss's reference scale for two epochs (NaN/inf stop at
            once); None tests only NaN/inf. See :mod:`bprop.divergence`.
        verbose, label: 1 shows one progress display per ``fit`` (:mod:`bprop.train.progress`)
            named ``label`` (default: the schedule and the rule); 0 shows nothing.

    **Divergence.** When training diverges, :meth:`fit` returns the trainer to the start of
    the last epoch whose loss passed the check (the start of this ``fit`` call if none did):
    weights, the rule's state, the data-order generator, ``epoch`` and ``history`` (whose
    ``stopped_because`` becomes ``"diverged"``), then raises :class:`bprop.TrainingDiverged`.
    For full-batch training those are exactly the weights that had that epoch's loss.

    **Interruption and exact resume**: a SIGINT/SIGTERM inside
    :func:`bprop.interrupt.deferred_interrupts` stops training after the current update with
    :class:`bprop.TrainingInterrupted`; calling :meth:`fit` again finishes the interrupted
    epoch bit for bit (what that needs: :class:`bprop.train.resume.Resumable`). Streams and
    RTRL: :class:`~bprop.train.stream.StreamSource`, :class:`~bprop.train.realtime.RTRLSource`.
    """

    def __init__(
        self,
        net: Sequential,
        loss: Loss | str,
        optimizer: UpdateRule | None = None,
        schedule: str | Schedule | StreamSchedule | StepSchedule | None = None,
        batch_size: int | None = None,
        l2: float = 0.0,
        seed: int | np.random.Generator = 0,
        callbacks: Iterable[Any] = (),
        verbose: int = 1,
        optimizer_state: State | None = None,
        fast: bool = True,
        divergence_factor: float | None = divergence.DEFAULT_FACTOR,
        label: str | None = None,
    ) -> None:
        self.net = net
        self.label = label
        self.bar, self.shared_bar = _progress.Progress.off(), None
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
        self.stream_history: StreamHistory | None = None  # per update, on a stream
        self.t_start = time.perf_counter()  # history.seconds count from here
        self.source: Any = None  # the gradient source of the last fit (bprop.train.sources)
        self.epoch = 0
        self.progress: dict[str, Any] | None = None
        self.split: dict[str, Any] | None = None
        self.best_params: Any = None
        self._reference: tuple[Any, float | None] | None = None
        examples = isinstance(self.schedule, Schedule)  # not a stream's chunks
        if self.optimizer.requires_full_batch and examples and self.schedule.name != "batch":
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
        return prepare_examples(self.net, self.loss, X, y)

    # --- the loop -----------------------------------------------------------------------
    def progress_over(self, epochs: int = 0, updates: int | None = None, label: str | None = None):
        """``with trainer.progress_over(updates=n):`` the fits inside share one display."""
        return _progress.shared(self, epochs, updates, label)

    def fit(
        self,
        X: Any,
        y: Any,
        epochs: int = 100,
        validation_split: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        early_stopping: int | EarlyStopping | None = None,
        target_loss: float | None = None,
        **options: Any,
    ) -> History:
        """Train for up to ``epochs`` more epochs (an interrupted epoch in ``progress``
        counts as one of them); returns the (cumulative) history.

        With a :class:`~bprop.train.schedules.StreamSchedule`, ``X``/``y`` are streams and
        ``options`` those of :class:`~bprop.train.stream.StreamSource` (``eval_every``,
        ``max_seconds``, ``max_updates``, ``keep_best``, ``on_update``); with a
        :class:`~bprop.train.schedules.StepSchedule`, those of
        :class:`~bprop.train.realtime.RTRLSource` (``rtrl``, ``h0``, ``reset``); on examples,
        ``lengths`` of padded sequences (:mod:`bprop.recurrent.lengths`; a list of sequences
        of different lengths is padded for you; ``validation_data`` may be (X, y, lengths));
        shards: :func:`bprop.distributed.gradient_source` (``cluster``, ``seed``, ``keep``,
        ``mpi``).

        Raises :class:`bprop.TrainingDiverged` (state restored, see the class docs) and
        :class:`bprop.TrainingInterrupted` (resumable, see the class docs)."""
        if epochs < 0:
            raise ValueError(f"epochs must be non-negative, got {epochs}")
        src = self._source(X, y, epochs, validation_split, validation_data, options)
        callbacks = [*self.callbacks, *active_logs()]
        if early_stopping is not None:
            if not src.validates:
                raise ValueError("early_stopping needs validation_split or validation_data")
            es = early_stopping
            callbacks.append(es if isinstance(es, Callback) else EarlyStopping(int(es)))
        for cb in callbacks:
            cb.on_train_begin(self)

        self.bar = _progress.for_fit(self, epochs, src.updates_per_epoch)
        self.history.stopped_because = "epochs"
        good = self._snapshot()  # the last point whose loss passed the divergence check
        spare = None  # an old snapshot whose buffers the next one reuses
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for _ in range(epochs):
                    start = self._snapshot(spare) if self.epoch > good["epoch"] else good
                    try:
                        loss, acc = src.run_epoch()
                        reason = src.check(loss)
                    except _NonFiniteLoss as exc:
                        reason = str(exc)
                    except TrainingDiverged:  # inside an epoch: a settling net, a stream
                        if not src.restores_itself:
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
                                src.data,
                            )
                        )
                    if src.passed():
                        good, spare = start, (good if good is not start else None)
                        good["passed"] = True
                    self.epoch += 1
                    logs: dict[str, Any] = {"train_loss": loss, "train_accuracy": acc}
                    logs.update(src.validate())
                    logs["seconds"] = time.perf_counter() - self.t_start
                    self.history.append(logs)
                    self.bar.epoch_end(logs)
                    if src.stopped:  # an update-level limit: the epoch was cut short
                        break
                    # epoch-driven rules: learning-rate schedules, reduce-on-plateau
                    self.state = self.optimizer.on_epoch_end(self.state, logs)
                    if self._epoch_end(callbacks, logs, loss, target_loss):
                        break
        except TrainingInterrupted as exc:
            self.history.stopped_because = "interrupted"
            exc.trainer = self
            raise
        except TrainingDiverged:
            self.history.stopped_because = "diverged"
            raise
        finally:
            if self.bar is not self.shared_bar:
                self.bar.close()
            for cb in callbacks:
                cb.on_train_end(self)
            if hasattr(src, "close"):  # what a source started (a Dask cluster), even on error
                src.close()
        src.finish()
        return self.history

    def _epoch_end(
        self, callbacks: list[Callback], logs: dict[str, Any], loss: float, target: float | None
    ) -> bool:
        """Run the epoch callbacks and the ``target_loss`` test; True stops training."""
        stop = False
        for cb in callbacks:
            stop = bool(cb.on_epoch_end(self, self.epoch, logs)) or stop
        if target is not None and loss <= target and self.history.target_epoch is None:
            self.history.target_epoch = self.epoch
            self.history.stopped_because = "target_loss"
            stop = True
        if stop and self.history.stopped_because == "epochs":
            self.history.stopped_because = "callback"
        return stop

    def _source(
        self,
        X: Any,
        y: Any,
        epochs: int,
        validation_split: float,
        validation_data: tuple[Any, Any] | None,
        options: dict[str, Any],
    ) -> Any:
        """The gradient source of this ``fit`` (:mod:`bprop.train.sources`), also kept in
        ``self.source``; starts the clock of ``history.seconds``."""
        self.t_start = time.perf_counter() - (
            self.history.seconds[-1] if self.history.seconds else 0
        )
        kind = {StreamSchedule: StreamSource, StepSchedule: RTRLSource}.get(type(self.schedule))
        if kind is None:
            lengths = options.pop("lengths", None)
            if options or is_sharded(X):  # shards, a Dask cluster, MPI: bprop.distributed
                if lengths is not None:
                    raise ValueError("lengths (variable-length sequences) do not go with shards")
                args = (epochs, validation_split, validation_data, options)
                self.source = gradient_source(self, X, y, *args)
            else:
                self.source = ExampleSource(self, X, y, validation_split, validation_data, lengths)
        elif validation_split:
            raise ValueError(
                f"validation_split does not apply to the {self.schedule.name} schedule: give "
                "validation_data"
            )
        else:
            self.source = kind(self, X, y, epochs, validation_data, **options)
        return self.source
