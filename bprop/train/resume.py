"""What the training loop keeps to roll back after divergence and to resume after Ctrl-C.

:class:`Resumable` is the part of :class:`bprop.Trainer` that owns that state: a *snapshot*
(weights, the update rule's state, the data-order generator, the epoch count, the length of
the history and the epoch in progress) taken before each epoch and put back when training
diverges, and ``progress``, the epoch in progress recorded when an interrupt stops it after an
update, so that the next ``fit`` finishes that epoch bit for bit (see :class:`bprop.Trainer`).
"""

from __future__ import annotations

from typing import Any

from bprop import backend, divergence, interrupt


class Resumable:
    """Snapshots, restore and the record of an interrupted epoch (mixed into the Trainer,
    which provides ``net``, ``state``, ``rng``, ``epoch``, ``history`` and ``progress``).

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

    net: Any
    state: Any
    rng: Any
    epoch: int
    history: Any
    progress: dict[str, Any] | None

    def _snapshot(self, spare: dict[str, Any] | None = None) -> dict[str, Any]:
        """Everything :meth:`_restore` puts back: weights, rule state, generator, epoch
        count, history length and the epoch in progress. ``spare``: a snapshot no longer
        needed, whose arrays are reused (no allocation per epoch)."""
        params = self.net.space.params
        if spare is not None and spare["params"].shape == params.shape:
            spare["params"][...] = params
            params = spare["params"]
        else:
            params = backend.copy(params)
        return {
            "params": params,
            "state": divergence.copy_state(self.state, spare and spare["state"]),
            "rng_state": self.rng.bit_generator.state,
            "epoch": self.epoch,
            "history": self.history.n_epochs,
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
        """Where :meth:`_restore` put training back, for the divergence message."""
        where = f"the start of epoch {snap['epoch'] + 1}"
        if snap["progress"] is not None:
            where += f" (after its update {snap['progress']['updates']}, where it was resumed)"
        if not snap["passed"]:
            return where + ", where this fit() started (no epoch since passed the check)"
        return where + ", the last epoch whose loss passed the check"

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
