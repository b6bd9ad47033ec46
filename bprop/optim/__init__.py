"""Update rules: ``init(params) -> state`` and ``update(grads, state, params, loss) ->
(updates, state)``, built from small transforms composed with :class:`Chain` (optax's model;
see :mod:`bprop.optim.base`). The classic rules (``SGD``, ``Adam``, ``Rprop``, …) are named
chains of these transforms."""

from bprop.optim.adaptive import (
    AdaGrad,
    Adam,
    RMSprop,
    ScaleByAdagrad,
    ScaleByAdam,
    ScaleByRms,
    scale_by_adagrad,
    scale_by_adam,
    scale_by_rms,
)
from bprop.optim.base import Alias, Chain, State, UpdateRule
from bprop.optim.bold_driver import BoldDriver, ScaleByBoldDriver, scale_by_bold_driver
from bprop.optim.quickprop import Quickprop, ScaleByQuickprop, scale_by_quickprop
from bprop.optim.registry import RULES, register, rule_from_config, rule_to_config
from bprop.optim.rprop import Rprop, ScaleByRprop, scale_by_rprop
from bprop.optim.schedules import (
    ReduceOnPlateau,
    ScaleBySchedule,
    reduce_on_plateau,
    scale_by_schedule,
)
from bprop.optim.sgd import SGD, Momentum, Nesterov
from bprop.optim.transforms import (
    ClipByGlobalNorm,
    ClipByValue,
    Scale,
    Trace,
    WeightDecay,
    add_decayed_weights,
    chain,
    clip_by_global_norm,
    clip_by_value,
    scale,
    trace,
)

__all__ = [
    "AdaGrad",
    "Adam",
    "Alias",
    "BoldDriver",
    "Chain",
    "ClipByGlobalNorm",
    "ClipByValue",
    "Momentum",
    "Nesterov",
    "Quickprop",
    "RMSprop",
    "RULES",
    "ReduceOnPlateau",
    "Rprop",
    "SGD",
    "Scale",
    "ScaleByAdagrad",
    "ScaleByAdam",
    "ScaleByBoldDriver",
    "ScaleByQuickprop",
    "ScaleByRms",
    "ScaleByRprop",
    "ScaleBySchedule",
    "State",
    "Trace",
    "UpdateRule",
    "WeightDecay",
    "add_decayed_weights",
    "chain",
    "clip_by_global_norm",
    "clip_by_value",
    "reduce_on_plateau",
    "register",
    "rule_from_config",
    "rule_to_config",
    "scale",
    "scale_by_adagrad",
    "scale_by_adam",
    "scale_by_bold_driver",
    "scale_by_quickprop",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_schedule",
    "trace",
]
