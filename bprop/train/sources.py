"""Gradient sources: what computes the loss and the gradient of one update for the loop.

:meth:`bprop.Trainer.fit` is one loop over epochs (progress bar, history, callbacks,
``on_epoch_end`` for learning-rate schedules, divergence, Ctrl-C). What an epoch *is* comes from
the source its schedule picks:

- :class:`ExampleSource` — online, mini-batch and full-batch schedules: backpropagation
  through the model on batches of examples (feedforward nets, full BPTT through Recurrent
  layers, settling nets through their layer), checked for divergence once per epoch;
- :class:`bprop.train.stream.StreamSource` — a :class:`~bprop.train.schedules.StreamSchedule`:
  truncated BPTT(k1, k2) over a long stream, checked after every update;
- :class:`bprop.train.realtime.RTRLSource` — a :class:`~bprop.train.schedules.StepSchedule`:
  real-time recurrent learning, one update per time step, checked after every step.

A source offers ``updates_per_epoch`` (for the progress display, which it tells of each
update through ``trainer.bar.tick``), ``run_epoch() -> (loss, accuracy or None)``,
``check(loss) -> reason or None`` and ``passed()`` (the epoch's divergence check),
``validate() -> logs``, ``validates``, ``restores_itself`` (whether it restores the weights
itself when training diverges inside an epoch), ``stopped`` (an update-level limit ended the
epoch early) and ``finish()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bprop import backend, divergence
from bprop.errors import TrainingDiverged
from bprop.layers.base import check_finite
from bprop.recurrent.lengths import check_lengths, is_ragged, mask, masked_loss, pad_sequences
from bprop.train.validation import hold_out


class NonFiniteLoss(ArithmeticError):
    """A batch loss became NaN/inf inside :meth:`bprop.Trainer.run_epoch` (the message says
    where); :meth:`bprop.Trainer.fit` turns it into :class:`bprop.TrainingDiverged`."""


class EpochSource:
    """What the sources of whole epochs share (examples in memory, shards): the epoch's
    divergence guard (``self.guard``) and validation on ``self.val`` (prepared data, or None).
    A subclass sets ``trainer``, ``val`` and ``guard`` and provides ``run_epoch``."""

    restores_itself = False
    stopped = False
    trainer: Any
    val: Any
    guard: Any
    val_classes: tuple[bool, Any] | None = None  # target_plan() of the validation targets

    @property
    def validates(self) -> bool:
        """Whether there is validation data."""
        return self.val is not None

    def check(self, loss: float) -> str | None:
        """The divergence test on ``loss``: None while training is healthy, else why it diverged."""
        return self.guard.check(loss, self.trainer.net.space.params)

    def passed(self) -> bool:
        """Whether the epoch's loss passed the divergence test, so that the trainer keeps the
        weights it started from as the ones to restore should training diverge later."""
        return self.guard.passed()

    def validate(self) -> dict[str, Any]:
        """The validation loss and accuracy as log entries (empty without validation data)."""
        if self.val is None:
            return {}
        if self.val_classes is None:  # once per fit: the validation targets do not change
            self.val_classes = target_plan(*self.val[1:3])  # (T, lengths) or (T,)
        loss, acc = self.trainer.evaluate_prepared(*self.val, classes=self.val_classes)
        return {"val_loss": loss, "val_accuracy": acc}


class ExampleSource(EpochSource):
    """One ``Trainer.fit`` on examples: the prepared training and validation data and the
    epoch's divergence guard (the loss's reference scale is measured on the first ``fit``
    with data of this shape and then kept on the trainer: it is a scale, not a measurement
    of progress, so ``fit(epochs=1)`` in a loop costs no extra forward passes)."""

    def __init__(
        self,
        trainer: Any,
        X: Any,
        y: Any,
        validation_split: float,
        validation_data: tuple[Any, ...] | None,
        lengths: Any = None,
    ) -> None:
        self.trainer = trainer
        X_np, y_np, L = as_padded(X, y, lengths)
        if validation_data is None and validation_split:
            X_np, y_np, Xv, yv = hold_out(trainer, X_np, y_np, validation_split)
            validation_data = (Xv, yv)
            if L is not None:  # the lengths of the same rows
                held = np.zeros(L.shape[0], dtype=bool)
                held[np.asarray(trainer.split["val_index"], dtype=np.int64)] = True
                L, validation_data = L[~held], (Xv, yv, L[held])
        self.train = (*trainer.prepare(X_np, y_np), L)
        self.val = None
        if validation_data is not None:
            Xv, yv, Lv = as_padded(*validation_data)
            self.val = (*trainer.prepare(Xv, yv), Lv)
        self.data = self.train[0]  # named in the divergence message
        self.plan: dict[str, Any] | None = None  # epoch_plan() of the training data
        self.guard = divergence.DivergenceGuard(
            trainer.divergence_factor, self._reference_loss(*self.train)
        )

    @property
    def updates_per_epoch(self) -> int:
        """⌈N / batch size⌉ updates per epoch, for the progress display."""
        n = self.train[0].shape[0]
        return -(-n // self.trainer.schedule.size(n))

    def run_epoch(self) -> tuple[float, float | None]:
        """One epoch of updates; returns the epoch's training loss and accuracy (None if not
        classifying)."""
        if self.plan is None:  # once per fit, on the trainer's settings when training starts
            self.plan = self.epoch_plan(self.trainer, *self.train)
        return self.trainer.run_epoch(*self.train, plan=self.plan)

    def finish(self) -> None:
        """Called when training ends (nothing to do for examples)."""
        pass

    @staticmethod
    def epoch_plan(trainer: Any, X: Any, T: Any, L: Any = None) -> dict[str, Any]:
        """What :meth:`bprop.Trainer.run_epoch` needs to know that does not change from epoch
        to epoch, worked out once per fit: whether accuracy is counted, the class of every
        target (:func:`target_classes`; None for sequences of lengths ``L``, whose batches are
        trimmed), and the compiled online path's plan (:func:`bprop.train.online_fast.supports`,
        or None)."""
        from bprop.train import online_fast

        classify, classes = target_plan(T, L)
        return {
            "classify": classify,
            "classes": classes,
            "fast": online_fast.supports(trainer, X, T) if trainer.fast and L is None else None,
        }

    def _reference_loss(self, X: Any, T: Any, L: Any = None) -> float | None:
        """The divergence test's scale (:func:`bprop.divergence.reference_loss`) on
        every k-th training example (at most :data:`bprop.divergence.REFERENCE_ROWS` of them),
        as an epoch loss: scaled up to
        all ``n`` examples for ``reduction="sum"``. None when the test is off."""
        t = self.trainer
        if t.divergence_factor is None:
            return None
        key = (tuple(X.shape), t.loss.reduction)
        if t._reference is None or t._reference[0] != key:
            t._reference = key, self._measure_reference(X, T, L)
        return t._reference[1]

    def _measure_reference(self, X: Any, T: Any, L: Any = None) -> float | None:
        t = self.trainer
        n = X.shape[0]
        step = -(-n // divergence.REFERENCE_ROWS)
        Xs, Ts, Ls = X[::step, ...], T[::step, ...], None if L is None else L[::step]
        scale = n / Xs.shape[0] if t.loss.reduction == "sum" else 1.0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ref = divergence.reference_loss(
                lambda: t.evaluate_prepared(Xs, Ts, Ls)[0], t.net.space.params
            )
        return None if ref is None else ref * scale


class UpdateGuard:
    """Divergence checked before every update (the sources whose epochs are long: streams,
    RTRL). It remembers the weights and the rule's state before the update of the last
    loss that passed (the weights that had that loss; at first, the start of the ``fit``),
    and :meth:`check` puts them back and raises :class:`bprop.TrainingDiverged` when the
    guard fires.

    Args:
        trainer: the Trainer (its weights, rule state, ``divergence_factor``).
        evaluate: the loss on a fixed sample at the current weights, on the scale of the
            checked losses (see :func:`bprop.divergence.reference_loss`); not called when
            ``divergence_factor`` is None.
    """

    def __init__(self, trainer: Any, evaluate: Callable[[], float]) -> None:
        self.trainer = trainer
        params = trainer.net.space.params
        factor = trainer.divergence_factor
        reference = None if factor is None else divergence.reference_loss(evaluate, params)
        self.guard = divergence.DivergenceGuard(factor, reference)
        self.good = backend.copy(params), divergence.copy_state(trainer.state)

    def check(
        self,
        loss: float,
        with_params: bool,
        where: Callable[[], str],
        restored: str,
        data: Any = None,
        on_restore: Callable[[], None] | None = None,
    ) -> None:
        """Check ``loss`` (and the weights for NaN/inf, ``with_params``) before its update:
        remember the weights if it passed; if training diverged, restore, call
        ``on_restore()`` and raise with the message of :func:`bprop.divergence.message`
        (``where()`` and ``restored`` say where it happened and what was put back)."""
        t = self.trainer
        space = t.net.space
        reason = self.guard.check(loss, space.params if with_params else None)
        if reason is not None:
            space.params[...] = self.good[0]
            t.state = divergence.copy_state(self.good[1])
            if on_restore is not None:
                on_restore()
            raise TrainingDiverged(
                divergence.message(reason, where(), restored, t.optimizer, t.l2, data)
            )
        if self.guard.passed():
            self.good[0][...] = space.params
            self.good = self.good[0], divergence.copy_state(t.state)


def as_padded(X: Any, y: Any, lengths: Any = None) -> tuple[Any, Any, Any]:
    """(X, y, lengths) with lists of sequences of different lengths padded
    (:func:`bprop.recurrent.lengths.pad_sequences`); ``lengths`` as given when nothing needed
    padding (None: every sequence is whole, or the data are no sequences)."""
    if is_ragged(X):
        X, found = pad_sequences(X)
        if lengths is not None and not np.array_equal(np.asarray(lengths), found):
            raise ValueError("lengths disagree with the lengths of the sequences in X")
        lengths = found
    if is_ragged(y):
        y = pad_sequences(y)[0]
    X, y = np.asarray(backend.to_numpy(X)), np.asarray(backend.to_numpy(y))
    if lengths is not None:
        if X.ndim < 2:
            raise ValueError(f"lengths need sequences X (N, T, ...); got X of shape {X.shape}")
        lengths = check_lengths(lengths, X.shape[0], X.shape[1])
    return X, y, lengths


def forward_loss(
    net: Any, loss: Any, xb: Any, tb: Any, lb: Any = None, train: bool = True
) -> tuple[float, Any, Any, Any, Any, Any]:
    """The forward pass and loss of one batch: ``(loss, ∂loss/∂out, cache, out, targets,
    predicted)``, ``predicted`` being the arg-max of ``out`` over the classes where the loss
    finds it in its own pass (:meth:`bprop.losses.Loss.value_grad_argmax`), else None.

    With ``lb`` (the batch's sequence lengths) the batch is first trimmed to its longest
    sequence, the lengths go to the layers that take them and the loss is taken over real
    steps only (:func:`bprop.recurrent.lengths.masked_loss`); ``out`` and ``targets`` are
    then the real positions only (for counting what is correct)."""
    if lb is None:
        out, cache = net.forward(xb, train=train)
        value, dy, pred = loss.value_grad_argmax(out, tb)
        return value, dy, cache, out, tb, pred
    if not getattr(net.leaves()[0], "packed_rows", False):  # (a Seq2Seq's rows are not steps)
        xb = xb[:, : int(lb.max())]
    out, cache = net.forward(xb, train=train, lengths=lb)
    if out.ndim != 3:
        value, dy, pred = loss.value_grad_argmax(out, tb)
        return value, dy, cache, out, tb, pred
    tb = tb[:, : out.shape[1]]
    value, dy = masked_loss(loss, out, tb, lb)
    m = mask(lb, out.shape[1])
    return value, dy, cache, out[m], tb[m], None


def prepare_examples(net: Any, loss: Any, X: Any, y: Any) -> tuple[Any, Any]:
    """Validate ``X``/``y`` for ``net`` and convert them to backend arrays (the targets in
    ``loss``'s form)."""
    X = np.asarray(backend.to_numpy(X))
    y = np.asarray(backend.to_numpy(y))
    if X.ndim < 2:
        raise ValueError(
            f"X must be 2-D (examples, features) or, for sequences, 3-D (examples, time, "
            f"features); got shape {X.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    n_in, n_out = net.n_in, net.n_out
    if n_in is not None and X.shape[-1] != n_in:
        raise ValueError(f"X has {X.shape[-1]} features but the network expects {n_in}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} examples but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError("no training examples")
    check_finite("X", X)
    if np.issubdtype(y.dtype, np.number):
        check_finite("y", y)
    T = loss.prepare_targets(y, n_out if n_out is not None else 1)
    dtype = net.space.dtype
    Xb = backend.asarray(X, dtype=dtype)
    Tb = backend.asarray(T, dtype=np.int64 if T.dtype.kind in "iu" else dtype)
    return Xb, Tb


def counts_accuracy(T: Any) -> bool:
    """Accuracy is reported for integer labels and for 0/1 target vectors."""
    integer = backend.np_dtype(T.dtype).kind in "iu"
    return integer or bool(backend.get_xp().all((T == 0) | (T == 1)))


def target_plan(T: Any, L: Any = None) -> tuple[bool, Any]:
    """(whether accuracy is counted on targets ``T``, their :func:`target_classes` or None):
    worked out once per fit, not every epoch. No classes for sequences of lengths ``L``,
    whose batches are trimmed (their targets are compared where they are)."""
    classify = counts_accuracy(T)
    return classify, (target_classes(T) if classify and L is None else None)


def target_classes(T: Any) -> Any:
    """The class each target stands for, as :func:`count_correct` compares it: integer labels
    as they are, a single 0/1 output as ``t > 0.5``, a target vector as its arg-max. A fit
    computes them once (:meth:`ExampleSource.epoch_plan`), not every epoch."""
    if backend.np_dtype(T.dtype).kind in "iu":
        return T
    if T.shape[-1] == 1:
        return T[..., 0] > 0.5
    return backend.get_xp().argmax(T, axis=-1)


def count_correct(
    out: Any, tb: Any, threshold: float, classes: Any = None, predicted: Any = None
) -> tuple[int, int]:
    """(number correct, number of decisions) for outputs ``out`` against targets ``tb``; a
    single output counts as class 1 above ``threshold`` (the loss's). ``classes``: the
    :func:`target_classes` of ``tb``, if already known; ``predicted``: the arg-max of ``out``
    over the classes, if already known (:func:`forward_loss`)."""
    xp = backend.get_xp()
    if classes is None:
        classes = target_classes(tb)
    if backend.np_dtype(tb.dtype).kind not in "iu" and out.shape[-1] == 1:
        hits = (out[..., 0] > threshold) == classes
    else:
        hits = (xp.argmax(out, axis=-1) if predicted is None else predicted) == classes
    return int(xp.count_nonzero(hits)), int(hits.size)
