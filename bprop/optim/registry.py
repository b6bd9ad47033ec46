"""Names of update rules, for configs, saved models and the command line."""

from __future__ import annotations

from typing import Any

from bprop.optim.base import Chain, UpdateRule
from bprop.optim.sgd import SGD

#: class name -> class; rules added by other modules register here
RULES: dict[str, type[UpdateRule]] = {"SGD": SGD, "Chain": Chain}


def register(cls: type[UpdateRule]) -> type[UpdateRule]:
    """Class decorator: make a rule loadable from saved files by its class name."""
    RULES[cls.__name__] = cls
    return cls


def rule_to_config(rule: UpdateRule) -> dict[str, Any]:
    name = type(rule).__name__
    if name not in RULES:
        raise ValueError(f"update rule {name} is not registered; decorate it with @register")
    return {"type": name, "config": rule.get_config()}


def rule_from_config(cfg: dict[str, Any]) -> UpdateRule:
    cls = RULES.get(cfg.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown update rule {cfg.get('type')!r}; known: {sorted(RULES)}")
    from_config = getattr(cls, "from_config", None)
    return from_config(cfg["config"]) if from_config else cls(**cfg["config"])
