"""The one table of update-rule names, for configs, saved models and the command line.

Every rule and transform class registers itself here by its class name with :func:`register`
(the names saved files hold, such as ``{"type": "SGD", "config": {...}}``), in the rule table
of :mod:`bprop.registry`. This module imports nothing from :mod:`bprop.optim`, so any rule
module can import it; the package's ``__init__`` imports every rule module, so the table is
complete once ``bprop.optim`` is imported. The training *methods* of the command line and
the estimators (``sgd``, ``irprop+``, …) are built on these rules in
:mod:`bprop.optim.methods`.
"""

from __future__ import annotations

from typing import Any

from bprop import registry

#: class name -> class of every registered update rule and transform (the "rule" table of
#: :mod:`bprop.registry`)
RULES: dict[str, type] = registry.table("rule")


def register(cls: type) -> type:
    """Class decorator: make a rule loadable from saved files by its class name."""
    return registry.register("rule", cls)


def rule_to_config(rule: Any) -> dict[str, Any]:
    """``{"type": class name, "config": rule.get_config()}``, what a model file stores."""
    name = type(rule).__name__
    if name not in RULES:
        raise ValueError(f"update rule {name} is not registered; decorate it with @register")
    return {"type": name, "config": rule.get_config()}


def rule_from_config(cfg: dict[str, Any]) -> Any:
    """The rule a :func:`rule_to_config` dict describes."""
    cls = RULES.get(cfg.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown update rule {cfg.get('type')!r}; known: {sorted(RULES)}")
    from_config = getattr(cls, "from_config", None)
    return from_config(cfg["config"]) if from_config else cls(**cfg["config"])
