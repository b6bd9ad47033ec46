"""Learning-rate schedules: the step a rule proposes, multiplied by a factor that changes as
training goes on.

A schedule is a function of a count t (epochs, or updates, completed so far) giving a factor
s(t); :class:`ScaleBySchedule` chained *after* a rule multiplies the rule's step by it, so the
effective learning rate is η·s(t)::

    Chain(SGD(0.1, momentum=0.9), ScaleBySchedule(Cosine(100, warmup=5)))

This is how ``torch.optim.lr_scheduler`` acts too: PyTorch's momentum, Nesterov, AdaGrad,
RMSprop and Adam multiply their whole step by the current learning rate, and so does the chain
(the tests compare the two step by step). The schedules, with t counted from 0::

    Constant()                       s(t) = 1
    StepDecay(step_size, gamma)      s(t) = γ^⌊t / step_size⌋                 (PyTorch StepLR)
    Exponential(gamma)               s(t) = γ^t                               (ExponentialLR)
    LinearWarmup(warmup, start)      s(t) = start + (1 − start)·min(t, warmup)/warmup  (LinearLR)
    Cosine(total, warmup=0, start=0, min_factor=0)
        t < warmup:  s(t) = start + (1 − start)·t / warmup                 (linear warm-up)
        otherwise:   s(t) = m + (1 − m)·(1 + cos(π·τ/T))/2,  τ = min(t − warmup, T),
                     T = total − warmup, m = min_factor      (Loshchilov & Hutter 2017, SGDR,
                     without restarts; after ``total`` it stays at m, where PyTorch's
                     CosineAnnealingLR would rise again)

:class:`ReduceOnPlateau` is not a function of t: it divides the rate by ``1/factor`` after
``patience`` epochs without improvement of the monitored loss (the validation loss when the
trainer has one, else the training loss), as ``torch.optim.lr_scheduler.ReduceLROnPlateau``
does, and needs the loop to tell it each epoch's losses — through the update-rule hook
``on_epoch_end(state, logs)`` that the trainer calls after every epoch.

Rprop, Quickprop and the bold driver choose their own step sizes, so a schedule is refused in
front of them by :func:`bprop.optim.methods.make_rule`.

Example (SGD whose rate halves every 2 epochs)::

    >>> import numpy as np, bprop as bp
    >>> from bprop.optim.schedules import ScaleBySchedule, StepDecay
    >>> rule = bp.Chain(bp.SGD(0.1), ScaleBySchedule(StepDecay(2, 0.5)))
    >>> w = np.zeros(1); state = rule.init(w); steps = []
    >>> for epoch in range(4):
    ...     upd, state = rule.update(np.ones(1), state, w)
    ...     steps.append(round(float(upd[0]), 6))
    ...     state = rule.on_epoch_end(state, {"train_loss": 1.0})
    >>> steps
    [-0.1, -0.1, -0.05, -0.05]
"""

from __future__ import annotations

import math
from typing import Any

from bprop.optim.base import State, UpdateRule
from bprop.optim.registry import register

__all__ = [
    "SCHEDULES",
    "Constant",
    "Cosine",
    "Exponential",
    "LinearWarmup",
    "ReduceOnPlateau",
    "Schedule",
    "ScaleBySchedule",
    "StepDecay",
    "make_schedule",
    "schedule_from_config",
]


class Schedule:
    """A factor s(t) ≥ 0 of the count t = 0, 1, 2, … of epochs (or updates) completed."""

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (saved with the rule the schedule scales)."""
        return dict(vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def _fraction(name: str, value: Any, low_open: bool = False) -> float:
    v = float(value)
    if not (0 < v <= 1 if low_open else 0 <= v <= 1):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


class Constant(Schedule):
    """s(t) = 1: the rule's own learning rate throughout."""

    def __call__(self, t: int) -> float:
        return 1.0


class StepDecay(Schedule):
    """s(t) = γ^⌊t / step_size⌋ (PyTorch's ``StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = _fraction("gamma", gamma, low_open=True)

    def __call__(self, t: int) -> float:
        return self.gamma ** (t // self.step_size)


class Exponential(Schedule):
    """s(t) = γ^t (PyTorch's ``ExponentialLR``)."""

    def __init__(self, gamma: float) -> None:
        self.gamma = _fraction("gamma", gamma, low_open=True)

    def __call__(self, t: int) -> float:
        return self.gamma**t


class LinearWarmup(Schedule):
    """Linear warm-up from ``start`` to 1 over ``warmup`` counts, then 1 (PyTorch's
    ``LinearLR(start_factor=start, total_iters=warmup)``)."""

    def __init__(self, warmup: int, start: float = 0.0) -> None:
        self.warmup = _positive_int("warmup", warmup)
        self.start = _fraction("start", start)

    def __call__(self, t: int) -> float:
        return self.start + (1.0 - self.start) * min(t, self.warmup) / self.warmup


class Cosine(Schedule):
    """Cosine decay from 1 to ``min_factor`` over ``total`` counts, after an optional linear
    warm-up of ``warmup`` counts from ``start`` (see the module docstring for the formula)."""

    def __init__(
        self, total: int, warmup: int = 0, start: float = 0.0, min_factor: float = 0.0
    ) -> None:
        self.total = _positive_int("total", total)
        if isinstance(warmup, bool) or int(warmup) != warmup or not 0 <= warmup < self.total:
            raise ValueError(f"warmup must be a whole number in [0, total={total}), got {warmup}")
        self.warmup = int(warmup)
        self.start = _fraction("start", start)
        self.min_factor = _fraction("min_factor", min_factor)

    def __call__(self, t: int) -> float:
        if t < self.warmup:
            return self.start + (1.0 - self.start) * t / self.warmup
        span = self.total - self.warmup
        tau = min(t - self.warmup, span)
        m = self.min_factor
        return m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * tau / span))


#: schedule name → class, for configs, saved models and the command line
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": Exponential,
    "warmup": LinearWarmup,
    "cosine": Cosine,
}


def schedule_from_config(cfg: dict[str, Any]) -> Schedule:
    """Rebuild a learning-rate schedule from ``{"type": name, "config": {...}}``."""
    cls = SCHEDULES.get(cfg.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown schedule {cfg.get('type')!r}; known: {sorted(SCHEDULES)}")
    return cls(**cfg.get("config", {}))


def _schedule_name(schedule: Schedule) -> str:
    return next(n for n, c in SCHEDULES.items() if type(schedule) is c)


@register
class ScaleBySchedule(UpdateRule):
    """Multiply the incoming step by s(t), t = epochs (``per="epoch"``, the default; the
    trainer reports each epoch's end) or updates (``per="update"``) completed so far.

    State: ``count`` (t) and ``scale`` (s(t), the factor the next update uses).
    """

    def __init__(self, schedule: Schedule, per: str = "epoch") -> None:
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        if per not in ("epoch", "update"):
            raise ValueError(f"per must be 'epoch' or 'update', got {per!r}")
        self.schedule, self.per = schedule, per

    def init(self, params: Any) -> State:
        return {"count": 0.0, "scale": float(self.schedule(0))}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        scale = state["scale"]
        if scale != 1.0:
            grads *= scale
        if self.per == "update":
            state = self._advance(state)
        return grads, state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        return self._advance(state) if self.per == "epoch" else state

    def _advance(self, state: State) -> State:
        count = int(state["count"]) + 1  # saved as a float, like every scalar of a state
        return {"count": float(count), "scale": float(self.schedule(count))}

    def get_config(self) -> dict[str, Any]:
        name = _schedule_name(self.schedule)
        return {"schedule": {"type": name, "config": self.schedule.get_config()}, "per": self.per}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScaleBySchedule:
        """Rebuild the transform, and its schedule, from :meth:`get_config`'s dictionary."""
        return cls(schedule_from_config(config["schedule"]), config.get("per", "epoch"))


@register
class ReduceOnPlateau(UpdateRule):
    """Multiply the step by ``factor`` each time the monitored loss has not improved for more
    than ``patience`` epochs (PyTorch's ``ReduceLROnPlateau``, mode "min", relative threshold).

    After each epoch, with L the validation loss (or the training loss without validation)::

        L < best·(1 − threshold):  best ← L, bad ← 0        else bad ← bad + 1
        in cool-down:              cool-down ← cool-down − 1, bad ← 0
        bad > patience:            scale ← max(scale·factor, min_scale) (if that lowers it by
                                   more than 1e-8·scale), cool-down ← cooldown, bad ← 0

    Args:
        factor: multiplier in (0, 1) (default 0.1).
        patience: epochs without improvement tolerated (default 10).
        threshold: relative improvement that counts (default 1e-4).
        cooldown: epochs to wait after a reduction before counting again (default 0).
        min_scale: the factor never goes below this (default 0).

    State: ``scale``, ``best_loss`` (None before the first epoch), ``bad_epochs``,
    ``cooldown_left`` (all floats, as every scalar of a saved state).
    """

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        cooldown: int = 0,
        min_scale: float = 0.0,
    ) -> None:
        if not 0 < float(factor) < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        if isinstance(patience, bool) or int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a non-negative whole number, got {patience}")
        if isinstance(cooldown, bool) or int(cooldown) != cooldown or cooldown < 0:
            raise ValueError(f"cooldown must be a non-negative whole number, got {cooldown}")
        if not float(threshold) >= 0:
            raise ValueError(f"threshold must be non-negative, got {threshold}")
        self.factor, self.patience = float(factor), int(patience)
        self.threshold, self.cooldown = float(threshold), int(cooldown)
        self.min_scale = _fraction("min_scale", min_scale)

    def init(self, params: Any) -> State:
        return {"scale": 1.0, "best_loss": None, "bad_epochs": 0.0, "cooldown_left": 0.0}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        if state["scale"] != 1.0:
            grads *= state["scale"]
        return grads, state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        value = logs.get("val_loss")
        if value is None:
            value = logs.get("train_loss")
        if value is None or not math.isfinite(value):
            return state
        state = dict(state)
        best = state["best_loss"]
        if best is None or value < best * (1.0 - self.threshold):
            state["best_loss"], state["bad_epochs"] = float(value), 0.0
        else:
            state["bad_epochs"] += 1.0
        if state["cooldown_left"] > 0:
            state["cooldown_left"] -= 1.0
            state["bad_epochs"] = 0.0
        if state["bad_epochs"] > self.patience:
            new = max(state["scale"] * self.factor, self.min_scale)
            if state["scale"] - new > 1e-8 * state["scale"]:
                state["scale"] = new
            state["cooldown_left"], state["bad_epochs"] = float(self.cooldown), 0.0
        return state

    def get_config(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "patience": self.patience,
            "threshold": self.threshold,
            "cooldown": self.cooldown,
            "min_scale": self.min_scale,
        }


def make_schedule(
    name: str,
    epochs: int | None = None,
    warmup: int = 0,
    gamma: float | None = None,
    step_size: int | None = None,
    patience: int = 10,
    factor: float = 0.1,
) -> UpdateRule:
    """The transform for a schedule called ``name`` (``constant``, ``step``, ``exponential``,
    ``warmup``, ``cosine``, ``plateau``), counted in epochs — what ``bprop train
    --lr-schedule NAME`` and the estimators' ``lr_schedule=`` build. ``cosine`` decays over
    ``epochs`` after ``warmup`` warm-up epochs; ``step`` multiplies by ``gamma`` (0.1) every
    ``step_size`` epochs (default a third of ``epochs``); ``exponential`` by ``gamma`` (0.95)
    every epoch; ``warmup`` warms up linearly over ``warmup`` epochs; ``plateau`` is
    :class:`ReduceOnPlateau` with ``patience`` and ``factor``."""
    key = str(name).lower().replace("_", "-")
    if key == "plateau":
        return ReduceOnPlateau(factor=factor, patience=patience)
    if key == "cosine":
        if not epochs:
            raise ValueError("the cosine schedule needs the number of epochs it decays over")
        return ScaleBySchedule(Cosine(epochs, warmup=warmup))
    if key == "step":
        size = step_size or max(1, (epochs or 3) // 3)
        return ScaleBySchedule(StepDecay(size, 0.1 if gamma is None else gamma))
    if key == "exponential":
        return ScaleBySchedule(Exponential(0.95 if gamma is None else gamma))
    if key == "warmup":
        if not warmup:
            raise ValueError("the warmup schedule needs a positive number of warm-up epochs")
        return ScaleBySchedule(LinearWarmup(warmup))
    if key == "constant":
        return ScaleBySchedule(Constant())
    known = sorted([*SCHEDULES, "plateau"])
    raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of {known}")


#: optax's names for the two schedule transforms
scale_by_schedule = ScaleBySchedule
reduce_on_plateau = ReduceOnPlateau
