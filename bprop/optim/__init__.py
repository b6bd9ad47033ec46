"""Update rules: ``init(params) -> state`` and ``update(grads, state, params, loss) ->
(updates, state)``, composable with :class:`Chain`."""

from bprop.optim.base import Chain, State, UpdateRule
from bprop.optim.registry import RULES, register, rule_from_config, rule_to_config
from bprop.optim.sgd import SGD, Momentum, Nesterov

__all__ = [
    "Chain",
    "Momentum",
    "Nesterov",
    "RULES",
    "SGD",
    "State",
    "UpdateRule",
    "register",
    "rule_from_config",
    "rule_to_config",
]
