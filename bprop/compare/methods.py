"""Method specifications for comparisons: a rule name with its own hyper-parameters, written
``name:key=value,key=value`` (``adam:lr=2e-3``, ``momentum:lr=0.1,momentum=0.95``,
``irprop-``), so that every method runs with settings that suit it rather than one shared
learning rate. The whole spec is the method's label in the rows, tables and plots.

Example::

    >>> parse_method("adam:lr=2e-3,beta2=0.99")
    ('adam', {'lr': 0.002, 'beta2': 0.99})
    >>> parse_method("irprop-")
    ('irprop-', {})
    >>> rule_lr(make("adam:lr=2e-3", {}))
    0.002
"""

from __future__ import annotations

from typing import Any


def parse_method(spec: str) -> tuple[str, dict[str, float]]:
    """(rule name, hyper-parameters) of a spec; ``ValueError`` naming what is wrong."""
    from bprop.optim.methods import HYPERPARAMETERS, METHODS

    name, _, rest = str(spec).strip().partition(":")
    key = name.lower().replace("_", "-").replace("\u2212", "-")
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r} in {spec!r}; choose one of {sorted(METHODS)}")
    hyper: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        k, eq, v = part.partition("=")
        k = k.strip()
        if not eq or k not in HYPERPARAMETERS:
            raise ValueError(
                f"{spec!r}: write hyper-parameters as name:key=value,key=value with keys from "
                f"{sorted(HYPERPARAMETERS)}; got {part!r}"
            )
        try:
            hyper[k] = float(v)
        except ValueError as err:
            raise ValueError(f"{spec!r}: {k} must be a number, got {v!r}") from err
    return key, hyper


def make(spec: str, hyper: dict[str, Any]) -> Any:
    """The rule of ``spec``; the spec's own hyper-parameters win over ``hyper``'s."""
    from bprop.optim.methods import make_rule

    name, own = parse_method(spec)
    return make_rule(name, **{**hyper, **own})


def rule_lr(rule: Any) -> float | None:
    """The learning rate a rule actually uses (None for rules without one, e.g. Rprop)."""
    for r in [rule, *getattr(rule, "transforms", ())]:
        lr = getattr(r, "lr", None)
        if isinstance(lr, (int, float)):
            return float(lr)
    return None
