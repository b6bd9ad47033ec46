"""Training methods by name: the table behind ``bprop train --method`` and the scikit-learn
estimators' ``method=``.

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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bprop.optim.adaptive import AdaGrad, Adam, RMSprop
from bprop.optim.base import Chain, UpdateRule
from bprop.optim.bold_driver import BoldDriver
from bprop.optim.quickprop import Quickprop
from bprop.optim.rprop import Rprop
from bprop.optim.schedules import make_schedule
from bprop.optim.sgd import SGD
from bprop.optim.transforms import ClipByGlobalNorm, ClipByValue, WeightDecay

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

#: learning rates used when none is given (the rules' own defaults where not listed)
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05}
_RPROP = ("eta_plus", "eta_minus", "delta0", "delta_max", "delta_min")


def _pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: options[n] for n in names if options.get(n) is not None}


def _sgd(options: dict[str, Any], momentum: float, nesterov: bool = False) -> SGD:
    mu = options.get("momentum")
    return SGD(**_pick(options, "lr"), momentum=momentum if mu is None else mu, nesterov=nesterov)


METHODS: dict[str, Callable[[dict[str, Any]], UpdateRule]] = {
    "sgd": lambda o: SGD(**_pick(o, "lr")),
    "momentum": lambda o: _sgd(o, 0.9),
    "nesterov": lambda o: _sgd(o, 0.9, nesterov=True),
    "rprop+": lambda o: Rprop("rprop+", **_pick(o, *_RPROP)),
    "rprop-": lambda o: Rprop("rprop-", **_pick(o, *_RPROP)),
    "irprop+": lambda o: Rprop("irprop+", **_pick(o, *_RPROP)),
    "irprop-": lambda o: Rprop("irprop-", **_pick(o, *_RPROP)),
    "quickprop": lambda o: Quickprop(**_pick(o, "lr", "mu", "decay")),
    "bold-driver": lambda o: BoldDriver(
        **_pick(o, "lr", "increase", "decrease", "max_perf_inc", "momentum")
    ),
    "adagrad": lambda o: AdaGrad(**_pick(o, "lr", "eps")),
    "rmsprop": lambda o: RMSprop(**_pick(o, "lr", "rho", "eps")),
    "adam": lambda o: Adam(**_pick(o, "lr", "beta1", "beta2", "eps")),
}


#: methods that set their own step sizes, so a learning-rate schedule has nothing to scale
SELF_STEPPING = ("rprop+", "rprop-", "irprop+", "irprop-", "quickprop", "bold-driver")


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
    if options.get("lr") is None and key in DEFAULT_LR:
        options["lr"] = DEFAULT_LR[key]
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
