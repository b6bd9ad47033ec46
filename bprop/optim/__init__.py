"""Update rules: ``init(params) -> state`` and ``update(grads, state, params, loss) ->
(updates, state)``, composable with :class:`Chain`."""

from bprop.optim.adaptive import AdaGrad, Adam, RMSprop
from bprop.optim.base import Chain, State, UpdateRule
from bprop.optim.bold_driver import BoldDriver
from bprop.optim.quickprop import Quickprop
from bprop.optim.registry import RULES, register, rule_from_config, rule_to_config
from bprop.optim.rprop import Rprop
from bprop.optim.schedules import ReduceOnPlateau, ScaleBySchedule
from bprop.optim.sgd import SGD, Momentum, Nesterov
from bprop.optim.transforms import ClipByGlobalNorm, ClipByValue, WeightDecay

__all__ = [
    "AdaGrad",
    "Adam",
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
    "ScaleBySchedule",
    "State",
    "UpdateRule",
    "WeightDecay",
    "register",
    "rule_from_config",
    "rule_to_config",
]
