"""Training methods by name: the table behind ``bprop train --method`` and the scikit-learn
estimators' ``method=``.

Each entry of :data:`METHODS` names a registered rule, the arguments the method fixes and the
defaults it changes; what the method reads (``METHODS[name].reads``) is derived from the rule's
arguments, and whether a learning-rate schedule applies from its transforms. For reference:

===============  ==========================================  =================================
name             rule                                        hyper-parameters it reads
===============  ==========================================  =================================
sgd              ``SGD(lr)``                                 lr
momentum         ``SGD(lr, momentum)``                       lr, momentum (0.9)
nesterov         ``SGD(lr, momentum, nesterov=True)``        lr, momentum (0.9)
rprop+ rprop-    ``Rprop(variant)``                          eta_plus, eta_minus, delta0,
irprop+ irprop-                                              delta_max, delta_min
quickprop        ``Quickprop``                               lr, mu, decay
bold-driver      ``BoldDriver``                              lr, increase, decrease,
                                                             max_perf_inc, momentum
adagrad          ``AdaGrad``                                 lr, eps
rmsprop          ``RMSprop``                                 lr, rho, eps
adam             ``Adam``                                    lr, beta1, beta2, eps
===============  ==========================================  =================================

``clip_norm``, ``clip_value`` and ``weight_decay`` put :class:`ClipByGlobalNorm`,
:class:`ClipByValue` and :class:`WeightDecay` in front of the rule with :class:`Chain`;
``lr_schedule`` (a name for :func:`bprop.optim.schedules.make_schedule`, or a transform such as
``ScaleBySchedule(Cosine(100, warmup=5))``) goes after it and scales its steps.

Example::

    >>> from bprop.optim.methods import make_rule
    >>> make_rule("irprop+", delta0=0.05).get_config()["delta0"]
    0.05
    >>> from bprop.optim.methods import METHODS
    >>> METHODS["quickprop"].reads
    ('lr', 'mu', 'decay')
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from bprop.optim.adaptive import AdaGrad, Adam, RMSprop
from bprop.optim.base import Chain, UpdateRule
from bprop.optim.bold_driver import BoldDriver
from bprop.optim.quickprop import Quickprop
from bprop.optim.rprop import VARIANTS, Rprop
from bprop.optim.schedules import make_schedule
from bprop.optim.sgd import SGD
from bprop.optim.transforms import ClipByGlobalNorm, ClipByValue, Scale, WeightDecay

#: every hyper-parameter a method reads (name -> what it is, with its default); the command
#: line's options and the scikit-learn estimators' ``method_params`` are made from this table
HYPERPARAMETERS = {
    "lr": "learning rate η (sgd 0.1, momentum/nesterov 0.05)",
    "momentum": "momentum μ (momentum/nesterov: 0.9; bold-driver: 0)",
    "eta_plus": "Rprop step growth η+ (1.2)",
    "eta_minus": "Rprop step shrink η− (0.5)",
    "delta0": "Rprop initial step Δ0 (0.1)",
    "delta_max": "Rprop largest step Δmax (50)",
    "delta_min": "Rprop smallest step Δmin (1e-6)",
    "mu": "Quickprop maximum growth factor μ (1.75)",
    "decay": "Quickprop weight decay",
    "increase": "bold driver: learning-rate growth on improvement (1.05)",
    "decrease": "bold driver: learning-rate shrink on a worse epoch (0.7)",
    "max_perf_inc": "bold driver: tolerated loss ratio before undoing a step (1.04)",
    "rho": "RMSprop decay ρ (0.9)",
    "beta1": "Adam β1 (0.9)",
    "beta2": "Adam β2 (0.999)",
    "eps": "AdaGrad/RMSprop/Adam ε",
    "clip_norm": "clip the gradient to this global norm first",
    "clip_value": "clip every gradient element to ±this first",
    "weight_decay": "add this·w to the gradient first (decoupled from the reported loss)",
}


@dataclass(frozen=True)
class Method:
    """A training method: a registered rule, the arguments the method fixes, and the defaults
    it changes. What it reads from the options is derived from the rule's arguments."""

    rule: type[UpdateRule]
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def reads(self) -> tuple[str, ...]:
        """The hyper-parameters (of :data:`HYPERPARAMETERS`) this method passes to its rule:
        the rule's constructor arguments, less those the method fixes."""
        args = inspect.signature(self.rule).parameters
        return tuple(a for a in args if a in HYPERPARAMETERS and a not in self.fixed)

    @property
    def self_stepping(self) -> bool:
        """Whether the rule sets its own step sizes: no ``scale(−η)`` among its transforms
        for a learning-rate schedule to multiply (Rprop, Quickprop, the bold driver)."""
        rule = self.rule(**{**self.defaults, **self.fixed})
        return not any(isinstance(t, Scale) for t in getattr(rule, "transforms", ()))

    def __call__(self, options: dict[str, Any]) -> UpdateRule:
        """The rule, from ``options`` (``None`` values mean "the default")."""
        given = {n: options[n] for n in self.reads if options.get(n) is not None}
        return self.rule(**{**self.defaults, **given, **self.fixed})


#: method name -> how to build its rule; the choices of ``--method`` and ``method=``
METHODS: dict[str, Method] = {
    "sgd": Method(SGD, {"momentum": 0.0, "nesterov": False}, {"lr": 0.1}),
    "momentum": Method(SGD, {"nesterov": False}, {"lr": 0.05, "momentum": 0.9}),
    "nesterov": Method(SGD, {"nesterov": True}, {"lr": 0.05, "momentum": 0.9}),
    **{v: Method(Rprop, {"variant": v}) for v in VARIANTS},
    "quickprop": Method(Quickprop),
    "bold-driver": Method(BoldDriver),
    "adagrad": Method(AdaGrad),
    "rmsprop": Method(RMSprop),
    "adam": Method(Adam),
}

#: learning rates used when none is given (the rules' own defaults where not listed)
DEFAULT_LR = {name: m.defaults["lr"] for name, m in METHODS.items() if "lr" in m.defaults}

#: methods that set their own step sizes, so a learning-rate schedule has nothing to scale
SELF_STEPPING = tuple(name for name, m in METHODS.items() if m.self_stepping)


def make_rule(
    method: str,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    weight_decay: float | None = None,
    lr_schedule: str | UpdateRule | None = None,
    epochs: int | None = None,
    warmup: int = 0,
    **options: Any,
) -> UpdateRule:
    """The update rule called ``method``, built from the hyper-parameters in ``options``
    (``None`` values mean "the default"), with optional clipping and weight decay in front and
    an optional learning-rate schedule after it (by name, counted in epochs: ``epochs`` and
    ``warmup`` go to :func:`~bprop.optim.schedules.make_schedule`)."""
    unknown = sorted(set(options) - set(HYPERPARAMETERS))
    if unknown:
        raise ValueError(f"unknown hyper-parameters {unknown}; known: {sorted(HYPERPARAMETERS)}")
    key = method.lower().replace("_", "-").replace("\u2212", "-")
    if key not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)}")
    rule = METHODS[key](options)
    back: list[UpdateRule] = []
    if lr_schedule is not None and lr_schedule != "constant":
        if key in SELF_STEPPING:
            raise ValueError(
                f"{method} sets its own step sizes, so a learning-rate schedule has nothing to "
                "scale; use it with sgd, momentum, nesterov, adagrad, rmsprop or adam"
            )
        if isinstance(lr_schedule, UpdateRule):
            back.append(lr_schedule)
        else:
            back.append(make_schedule(lr_schedule, epochs=epochs, warmup=warmup))
    front: list[UpdateRule] = []
    if weight_decay:
        front.append(WeightDecay(weight_decay))
    if clip_value:
        front.append(ClipByValue(clip_value))
    if clip_norm:
        front.append(ClipByGlobalNorm(clip_norm))
    return Chain(*front, rule, *back) if (front or back) else rule
