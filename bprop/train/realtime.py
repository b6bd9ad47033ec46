"""Real-time recurrent learning as a gradient source of the Trainer (Williams & Zipser 1989).

:class:`bprop.Trainer` with a :class:`~bprop.train.schedules.StepSchedule` and
``fit(X, targets, rtrl=RTRL(net))`` runs :class:`RTRLSource`: at every step t it computes
∂L_t/∂θ = e_t P_t with :meth:`bprop.recurrent.RTRL.step` (the maths is in
:mod:`bprop.recurrent.rtrl`), updates the weights, and carries h and P on to step t + 1; a
pass over the sequences is an epoch. :func:`train_online` is the short form.

Example::

    >>> import numpy as np, bprop as bp
    >>> from bprop.recurrent.rtrl import RTRL, rtrl_network
    >>> rtrl = RTRL(rtrl_network(1, 8, 1, rng=0))
    >>> x = np.sin(np.arange(201) / 4.0)[None, :, None]
    >>> out = bp.train.train_online(rtrl, x[:, :-1], x[:, 1:], bp.SGD(0.05))
    >>> out.losses.shape
    (200,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import backend, divergence, interrupt
from bprop.optim.base import State, UpdateRule
from bprop.recurrent.rtrl import RTRL, OnlineResult
from bprop.train.schedules import StepSchedule
from bprop.train.sources import UpdateGuard


class RTRLSource:
    """One ``Trainer.fit`` of real-time learning: every update is one time step.

    ``reset=False`` continues the current stream on the first pass (h and P carried over
    from the last call); every other pass starts from h = ``h0`` (or 0), P = 0.

    **Divergence** (see :mod:`bprop.divergence`; ``divergence_factor=None`` tests only
    NaN/inf): every step's loss is checked against the reference loss per step of the
    network on ``X`` (its outputs unrolled from the zero state at the start weights, and
    with all weights zero). When it diverges, the weights and the rule's state are restored
    to those of the last step whose loss passed, before that step's update (the weights that
    had that loss), h and P are cleared (the next call starts from h = 0, P = 0), and
    :class:`bprop.TrainingDiverged` is raised.

    **Interruption** (inside :func:`bprop.interrupt.deferred_interrupts`): the step in
    progress is finished, then :class:`bprop.TrainingInterrupted` carries ``net``,
    ``optimizer_state``, ``step`` (the number of steps done in this pass), ``result`` (an
    :class:`~bprop.recurrent.rtrl.OnlineResult` of those steps) and ``trainer``. h and P stay
    as they are, so ``train_online(rtrl, X[:, step:], targets[:, step:], rule,
    exc.optimizer_state, reset=False)`` continues exactly; a new RTRL (after loading a saved
    network) starts from h = 0, P = 0 and is therefore not exact.
    """

    restores_itself = True  # divergence is handled per step, here
    stopped = False
    validates = False
    data = None

    def __init__(
        self,
        trainer: Any,
        X: Any,
        targets: Any,
        epochs: int,
        validation: Any = None,
        rtrl: RTRL | None = None,
        h0: Any = None,
        reset: bool = True,
    ) -> None:
        if validation is not None:
            raise ValueError("real-time learning takes no validation_data")
        if not isinstance(rtrl, RTRL):
            raise TypeError(f"rtrl must be a bprop.recurrent.RTRL, got {type(rtrl).__name__}")
        if rtrl.net is not trainer.net:
            raise ValueError("the RTRL object must train the trainer's network (rtrl.net)")
        self.trainer, self.rtrl, self.h0, self.reset = trainer, rtrl, h0, reset
        self.X, self.Tt = rtrl.prepare(X, targets)
        self.passes = 0
        T = self.X.shape[1]
        per_step = T if rtrl.loss.reduction == "sum" else 1  # the sequence loss → per step
        self.guard = UpdateGuard(
            trainer,
            lambda: rtrl.loss.value(rtrl.net.forward(self.X, False)[0], self.Tt) / per_step,
        )
        self.losses = np.empty(T)
        self.outs: list[Any] = []

    @property
    def updates_per_epoch(self) -> int:
        """One update per time step: T."""
        return int(self.X.shape[1])

    def run_epoch(self) -> tuple[float, None]:
        """One pass over the sequences, one update per step; returns (mean step loss, None)."""
        t, rtrl, X, Tt = self.trainer, self.rtrl, self.X, self.Tt
        space = t.net.space
        N, T = X.shape[:2]
        if self.passes > 0 or self.reset or rtrl.h is None or rtrl.h.shape[0] != N:
            rtrl.reset(N, self.h0)
        self.passes += 1
        self.outs = []
        for step in range(T):
            space.zero_grad()
            y, loss = rtrl.step(X[:, step, ...], Tt[:, step, ...])
            self.guard.check(
                loss,
                False,
                lambda: f"in RTRL online training at step {step}",  # noqa: B023 (called at once)
                "their values before the last step whose loss passed the check",
                X,
                self._restored,
            )
            t.update(loss)
            t.bar.tick(loss)
            self.losses[step] = loss
            self.outs.append(backend.to_numpy(y))
            if interrupt.pending() is not None:
                space.zero_grad()
                done = OnlineResult(
                    self.losses[: step + 1].copy(), np.stack(self.outs, axis=1), t.state
                )
                interrupt.check(
                    net=t.net, optimizer_state=t.state, step=step + 1, result=done, trainer=t
                )
        space.zero_grad()
        return float(np.mean(self.losses)), None

    def _restored(self) -> None:
        """After a divergence restore: no gradient left over, h and P cleared (the next
        call starts from h = 0, P = 0)."""
        self.trainer.net.space.zero_grad()
        self.rtrl.h = self.rtrl.P = None

    def check(self, loss: float) -> None:
        """The epoch's check: none, every step was checked."""
        return None

    def passed(self) -> bool:
        """False: RTRL keeps and restores its good weights itself, step by step."""
        return False

    def validate(self) -> dict[str, Any]:
        """No validation logs: RTRL learns online, on the training stream only."""
        return {}

    def finish(self) -> None:
        """Called when training ends (nothing to do)."""
        pass

    def result(self) -> OnlineResult:
        """The last pass: per-step losses, outputs (N, T, K) and the rule's state."""
        return OnlineResult(self.losses, np.stack(self.outs, axis=1), self.trainer.state)


def train_online(
    rtrl: RTRL,
    X: Any,
    targets: Any,
    rule: UpdateRule,
    state: State | None = None,
    h0: Any = None,
    reset: bool = True,
    divergence_factor: float | None = divergence.DEFAULT_FACTOR,
) -> OnlineResult:
    """Williams & Zipser's real-time learning over sequences ``X`` (N, T, D): at every
    step t, compute ∂L_t/∂θ from P_t, update the weights with ``rule`` (from its ``state``,
    or a fresh one), and carry h and P on to step t + 1 — one pass of
    ``Trainer(rtrl.net, rtrl.loss, rule, StepSchedule()).fit(X, targets, 1, rtrl=rtrl)``.

    Returns the per-step losses (each before its step's update), the outputs and the rule's
    state. ``reset``, divergence and interruption: see :class:`RTRLSource`.
    """
    from bprop.train.trainer import Trainer

    if not isinstance(rule, UpdateRule):
        raise TypeError(f"rule must be an update rule, got {type(rule).__name__}")
    trainer = Trainer(
        rtrl.net,
        rtrl.loss,
        rule,
        StepSchedule(),
        verbose=0,
        optimizer_state=state,
        divergence_factor=divergence_factor,
    )
    trainer.fit(X, targets, 1, rtrl=rtrl, h0=h0, reset=reset)
    return trainer.source.result()
