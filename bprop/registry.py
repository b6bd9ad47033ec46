"""The one registry of the names model files use: every layer, recurrent cell and update rule
is registered here under its class name, which is what a saved description holds
(``{"type": "Dense", ...}``, ``{"type": "LSTM", ...}``, ``{"type": "Adam", ...}``) and what
loading looks up — never an import path, so a model file can only name what is registered.

``bprop.layers.LAYERS``, ``bprop.recurrent.CELLS`` and ``bprop.optim.RULES`` are this
registry's tables for the three kinds. This module imports nothing from bprop, so any module
may register its classes.

Example::

    >>> import bprop as bp
    >>> from bprop import registry
    >>> registry.lookup("layer", "Dense") is bp.Dense, registry.lookup("rule", "Adam") is bp.Adam
    (True, True)
    >>> registry.lookup("cell", "LSTMx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    KeyError: "unknown cell 'LSTMx'; known: ['Elman', 'GRU', ..., 'LSTM', ...]"
"""

from __future__ import annotations

from typing import Any

__all__ = ["KINDS", "lookup", "register", "table"]

#: the kinds of registered class: what a model file's description can name
KINDS = ("layer", "cell", "rule")
_TABLES: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}


def table(kind: str) -> dict[str, type]:
    """The live name → class table of one kind (``"layer"``, ``"cell"`` or ``"rule"``)."""
    if kind not in _TABLES:
        raise ValueError(f"unknown kind {kind!r}; the registry holds {KINDS}")
    return _TABLES[kind]


def register(kind: str, cls: type | None = None) -> Any:
    """Register ``cls`` under its class name (``register("rule", Adam)``), or use as a class
    decorator (``@register("rule")``). A class already registered under that name stays."""

    def add(c: type) -> type:
        table(kind).setdefault(c.__name__, c)
        return c

    return add if cls is None else add(cls)


def lookup(kind: str, name: str) -> type:
    """The class registered under ``name``; KeyError naming the known ones otherwise."""
    classes = table(kind)
    if name not in classes:
        raise KeyError(f"unknown {kind} {name!r}; known: {sorted(classes)}")
    return classes[name]
