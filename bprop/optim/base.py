"""The update-rule contract, and composition.

An update rule is a pair of functions with explicit state (optax's design)::

    state = rule.init(params)
    updates, state = rule.update(grads, state, params, loss=None)
    params += updates

``params`` and ``grads`` are the model's flat vectors (:class:`bprop.layers.flat.ParamSpace`),
so a rule is a handful of vector operations on the whole model. ``loss`` is the loss at the
current parameters, which rules such as iRprop+ and the bold driver need.

State is a flat ``dict`` of arrays and numbers, so it can be saved and resumed exactly. For
speed, ``update`` may work in place: it may overwrite ``grads`` (the trainer zeroes them after
every step) and the arrays of ``state``; treat the state you pass in as consumed and keep the one
returned.

Rules compose with :class:`Chain`: ``Chain(ClipByGlobalNorm(1.0), SGD(0.1, momentum=0.9))``
runs each rule's output into the next, as ``optax.chain`` does — a new variant is a new small
rule, not another flag.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]


class UpdateRule:
    """Base class for update rules."""

    #: the rule assumes full-batch gradients (Rprop, Quickprop); the trainer warns otherwise
    requires_full_batch = False
    #: why, in one sentence, for that warning
    full_batch_reason = ""

    def init(self, params: Any) -> State:
        return {}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        raise NotImplementedError

    def apply(self, grads: Any, state: State, params: Any, loss: float | None = None) -> State:
        """Update ``params`` in place; return the new state. The trainer calls this.

        By definition ``params += update(...)[0]``; a rule may override it with a fused
        kernel that does the same arithmetic in one pass (tested against this definition).
        """
        updates, state = self.update(grads, state, params, loss)
        params += updates
        return state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        """Called by the training loop after every epoch with that epoch's ``logs``
        (``train_loss``, ``val_loss``, …); returns the new state. Rules that change with
        epochs (learning-rate schedules, reduce-on-plateau) override it; others keep their
        state as it is."""
        return state

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Chain(UpdateRule):
    """Apply rules in order, each to the previous one's output. State keys are prefixed with
    the rule's position: ``"0/velocity"``."""

    def __init__(self, *rules: UpdateRule) -> None:
        if not rules:
            raise ValueError("Chain needs at least one rule")
        for r in rules:
            if not isinstance(r, UpdateRule):
                raise TypeError(f"Chain items must be update rules, got {type(r).__name__}")
        self.rules = list(rules)
        self.requires_full_batch = any(r.requires_full_batch for r in rules)
        self.full_batch_reason = next(
            (r.full_batch_reason for r in rules if r.requires_full_batch), ""
        )

    def init(self, params: Any) -> State:
        state: State = {}
        for i, r in enumerate(self.rules):
            state.update({f"{i}/{k}": v for k, v in r.init(params).items()})
        return state

    def _parts(self, state: State):
        """(rule, its key prefix, its part of ``state``) for each rule in order."""
        for i, r in enumerate(self.rules):
            prefix = f"{i}/"
            yield r, prefix, {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        new_state: State = {}
        for r, prefix, sub in self._parts(state):
            grads, sub = r.update(grads, sub, params, loss)
            new_state.update({prefix + k: v for k, v in sub.items()})
        return grads, new_state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        new_state: State = {}
        for r, prefix, sub in self._parts(state):
            new_state.update({prefix + k: v for k, v in r.on_epoch_end(sub, logs).items()})
        return new_state

    def get_config(self) -> dict[str, Any]:
        from bprop.optim.registry import rule_to_config

        return {"rules": [rule_to_config(r) for r in self.rules]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Chain:
        from bprop.optim.registry import rule_from_config

        return cls(*(rule_from_config(c) for c in config["rules"]))

    def __repr__(self) -> str:
        return f"Chain({', '.join(map(repr, self.rules))})"
