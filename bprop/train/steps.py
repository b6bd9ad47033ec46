"""One training step and one epoch on examples: the part of :class:`bprop.Trainer` that turns
batches into updates (the loop around the epochs, with its progress, history, callbacks,
divergence and interruption, is :meth:`bprop.Trainer.fit`).

:meth:`ExampleSteps.step` is one forward/backward/update on a batch; :meth:`ExampleSteps.update`
applies the update rule (with the L2 penalty's gradient) and is where every gradient source
ends its update; :meth:`ExampleSteps.run_epoch` runs the batches of one epoch in the order the
schedule draws, resuming an interrupted epoch where it stopped.

Example::

    >>> import numpy as np, bprop as bp
    >>> net = bp.Sequential(bp.Dense(2, 1, rng=0))
    >>> trainer = bp.Trainer(net, "mse", bp.SGD(0.1), "batch", verbose=0)
    >>> X, T = trainer.prepare(np.ones((4, 2)), np.zeros((4, 1)))
    >>> loss, out, _ = trainer.step(X, T)
    >>> trainer.run_epoch(X, T)[0] < loss
    True
"""

from __future__ import annotations

import math
from typing import Any

from bprop import backend
from bprop.train import online_fast
from bprop.train.sources import ExampleSource, count_correct, forward_loss
from bprop.train.sources import NonFiniteLoss as _NonFiniteLoss


class ExampleSteps:
    """Steps and epochs on examples (mixed into the Trainer, which provides ``net``, ``loss``,
    ``optimizer``, ``state``, ``l2``, ``schedule``, ``rng``, ``bar`` and ``progress``)."""

    def step(self, xb: Any, tb: Any, lb: Any = None) -> tuple[float, Any, Any]:
        """One forward/backward/update on a batch (of sequences of lengths ``lb``: see
        :func:`~bprop.train.sources.forward_loss`); returns (batch loss, outputs, targets)."""
        return self._step(xb, tb, lb)[:3]

    def _step(self, xb: Any, tb: Any, lb: Any = None) -> tuple[float, Any, Any, Any]:
        """:meth:`step`, and the arg-max of the outputs if the loss found it (else None)."""
        self.net.space.zero_grad()
        loss, dy, cache, out, tb, pred = forward_loss(self.net, self.loss, xb, tb, lb)
        self.net.backward(dy, cache, need_dx=False)
        return self.update(loss), out, tb, pred

    def update(self, loss: float) -> float:
        """Apply the update rule to the gradient in ``net.space.grads`` (with the L2
        penalty's gradient added first); returns ``loss`` plus the penalty. Every gradient
        source ends its update here."""
        space = self.net.space
        if self.l2:
            loss += self._add_l2(space)
        self.state = self.optimizer.apply(space.grads, self.state, space.params, loss)
        return loss

    def _add_l2(self, space: Any) -> float:
        """Add λW to the weight gradients; return the penalty ½λ‖W‖² (once per update)."""
        w = space.params * space.decay_mask
        penalty = 0.5 * self.l2 * float(w @ w)
        w *= self.l2
        space.grads += w
        return penalty

    def run_epoch(
        self, X: Any, T: Any, L: Any = None, plan: dict | None = None
    ) -> tuple[float, float | None]:
        """Train one epoch on examples ``X``, ``T`` (sequences of lengths ``L``, if given);
        returns (epoch loss, training accuracy or None). ``plan``: the
        :meth:`ExampleSource.epoch_plan` of the data (made here if not given).

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
        plan = ExampleSource.epoch_plan(self, X, T, L) if plan is None else plan
        classify, classes = plan["classify"], plan["classes"]
        order = self.schedule.order(n, self.rng, L)
        if order is not None:
            xp = backend.get_xp()  # X[order] on NumPy: take is the same gather
            idx = xp.asarray(order)
            X, T = xp.take(X, idx, axis=0), xp.take(T, idx, axis=0)
            L = None if L is None else L[order]
            classes = None if classes is None else xp.take(classes, idx, axis=0)
        bs = self.schedule.size(n)
        done, total, correct, count = 0, 0.0, 0, 0
        if resume is not None:
            done, total = int(resume["updates"]), float(resume["total"])
            correct, count = int(resume["correct"]), int(resume["count"])
        if plan["fast"] is not None and done == 0:
            total, correct = online_fast.run_epoch(self, plan["fast"], X, T)
            done, count = n, (n if classify else 0)
            self.bar.tick(total / n if self.loss.reduction != "sum" else total, n)
            self._check_interrupt(rng_state, n, done, total, correct, count)
        for i in range(done * bs, n, bs):
            j = min(i + bs, n)  # the standard has no slices past the end
            xb, tb = X[i:j, ...], T[i:j, ...]
            lb = () if L is None else (L[i:j],)
            loss, out, tb, pred = self._step(xb, tb, *lb)
            if not math.isfinite(loss):
                raise _NonFiniteLoss(f"the loss became {loss} at update {i // bs + 1}")
            self.bar.tick(loss)
            total += loss if self.loss.reduction == "sum" else loss * xb.shape[0]
            if classify:
                c, k = count_correct(
                    out, tb, self.loss.threshold, None if classes is None else classes[i:j], pred
                )
                correct, count = correct + c, count + k
            self._check_interrupt(rng_state, n, i // bs + 1, total, correct, count)
        epoch_loss = total if self.loss.reduction == "sum" else total / n
        return epoch_loss, (correct / count if classify else None)
