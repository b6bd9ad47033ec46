"""The update-rule contract, and composition.

An update rule is a pair of functions with explicit state (optax's design)::

    state = rule.init(params)
    updates, state = rule.update(grads, state, params, loss=None)
    params += updates

``params`` and ``grads`` are the model's flat vectors (:class:`bprop.layers.flat.ParamSpace`),
so a rule is a handful of vector operations on the whole model. ``loss`` is the loss at the
current parameters, which rules such as iRprop+ and the bold driver need.

State is a flat ``dict`` of arrays and numbers, so it can be saved and resumed exactly. For
speed, ``update`` works in place: it consumes ``grads`` (it may overwrite them, and the
updates it returns are usually that same buffer; the trainer zeroes the gradients after every
step) and the arrays of ``state``; treat both as consumed and keep the state returned.

Rules are built from small **transforms** (:mod:`bprop.optim.transforms` and the
``scale_by_*`` transforms beside each rule), each one step of the maths, composed with
:class:`Chain` as ``optax.chain`` does: each transform's output is the next one's input::

    Chain(ClipByGlobalNorm(1.0), Scale(-0.1), Trace(0.9))     # clip, −η·g, heavy-ball momentum

A new variant is a new small transform, not another flag. The classic rules (``SGD``, ``Adam``,
``Rprop``, …) are :class:`Alias` es: a name, the hyper-parameters of that name, and the chain
they stand for — ``SGD(0.1, momentum=0.9)`` *is* ``Chain(Scale(-0.1), Trace(0.9))``, with the
name and state keys saved files have always used.

**One rounding for a constant factor.** A :class:`~bprop.optim.transforms.Scale` right after
another transform is handed to it as ``update_scaled(..., factor)``, which by definition is
``update`` followed by ``updates *= factor``; a transform whose last operation already
multiplies by a number (Adam's bias correction 1/(1 − β₁ᵗ)) multiplies by the product
instead, rounding once, as ``torch.optim.Adam`` does.
"""

from __future__ import annotations

from typing import Any

from bprop.optim.registry import register, rule_from_config, rule_to_config

State = dict[str, Any]


def check_lr(lr: float) -> float:
    """``lr`` as a float, or a one-line error unless it is positive."""
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    return float(lr)


class UpdateRule:
    """Base class for update rules and transforms."""

    #: the rule assumes full-batch gradients (Rprop, Quickprop); the trainer warns otherwise
    requires_full_batch = False
    #: why, in one sentence, for that warning
    full_batch_reason = ""
    #: the number this transform multiplies every update by, if that is all it does (Scale)
    constant_factor: float | None = None

    def init(self, params: Any) -> State:
        """The rule's initial state for a flat parameter vector ``params``: a flat dict of arrays
        and numbers (empty for a stateless rule), saved with a trainer."""
        return {}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        """Turn the gradient ``grads`` into the weight change and return ``(step, new_state)``;
        the trainer then adds ``step`` to the parameters.

        Works in place for speed: ``grads`` may be overwritten with the step and the arrays of
        ``state`` updated, so treat both as consumed and keep what is returned. ``params`` are the
        current weights and ``loss`` the loss at them (rules that compare losses, such as iRprop+
        and the bold driver, require it).
        """
        raise NotImplementedError

    def update_scaled(
        self, grads: Any, state: State, params: Any, loss: float | None, factor: float
    ):
        """``update`` followed by ``updates *= factor`` (a :class:`Chain` calls this when a
        ``Scale(factor)`` follows the rule); a rule whose last operation multiplies by a
        number may fold ``factor`` into it, so the chain rounds once."""
        updates, state = self.update(grads, state, params, loss)
        updates *= factor
        return updates, state

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
        """Constructor arguments, JSON-serialisable (how a rule is saved by name and rebuilt)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _stages(rules: tuple[UpdateRule, ...]) -> tuple[tuple[int, UpdateRule, float | None], ...]:
    """(position, rule, factor) for each rule a chain runs: a rule followed by a constant
    factor (a ``Scale``) runs as ``update_scaled`` with that factor, and the Scale is skipped."""
    out, i = [], 0
    while i < len(rules):
        rule = rules[i]
        factor = rules[i + 1].constant_factor if i + 1 < len(rules) else None
        out.append((i, rule, factor))
        i += 1 if factor is None else 2
    return tuple(out)


def _run(rule: UpdateRule, factor: float | None, grads: Any, state: State, params: Any, loss):
    if factor is None:
        return rule.update(grads, state, params, loss)
    return rule.update_scaled(grads, state, params, loss, factor)


def _check_rules(kind: str, rules: tuple[Any, ...]) -> tuple[UpdateRule, ...]:
    if not rules:
        raise ValueError(f"{kind} needs at least one rule")
    for r in rules:
        if not isinstance(r, UpdateRule):
            raise TypeError(f"{kind} items must be update rules, got {type(r).__name__}")
    return tuple(rules)


class _Composite(UpdateRule):
    """What Chain and Alias share: rules run in order, with the full-batch flag of any."""

    def __init__(self, kind: str, rules: tuple[Any, ...]) -> None:
        parts = _check_rules(kind, rules)
        self._stages = _stages(parts)
        self.requires_full_batch = any(r.requires_full_batch for r in parts)
        self.full_batch_reason = next(
            (r.full_batch_reason for r in parts if r.requires_full_batch), ""
        )


@register
class Chain(_Composite):
    """Apply rules in order, each to the previous one's output (``optax.chain``). State keys
    are prefixed with the rule's position: ``"0/velocity"``."""

    def __init__(self, *rules: UpdateRule) -> None:
        super().__init__("Chain", rules)
        self.rules = list(rules)

    def init(self, params: Any) -> State:
        state: State = {}
        for i, r in enumerate(self.rules):
            state.update({f"{i}/{k}": v for k, v in r.init(params).items()})
        return state

    def _sub(self, i: int, state: State) -> State:
        """Rule ``i``'s part of ``state``, without its prefix."""
        prefix = f"{i}/"
        return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        new_state: State = {}
        for i, r, factor in self._stages:
            grads, sub = _run(r, factor, grads, self._sub(i, state), params, loss)
            new_state.update({f"{i}/{k}": v for k, v in sub.items()})
        return grads, new_state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        new_state: State = {}
        for i, r in enumerate(self.rules):
            sub = r.on_epoch_end(self._sub(i, state), logs)
            new_state.update({f"{i}/{k}": v for k, v in sub.items()})
        return new_state

    def get_config(self) -> dict[str, Any]:
        return {"rules": [rule_to_config(r) for r in self.rules]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Chain:
        """Rebuild the chain, and each rule in it, from :meth:`get_config`'s dictionary."""
        return cls(*(rule_from_config(c) for c in config["rules"]))

    def __repr__(self) -> str:
        return f"Chain({', '.join(map(repr, self.rules))})"


class Alias(_Composite):
    """A named rule: its hyper-parameters (``get_config``, what files save) and the chain of
    transforms they stand for (``transforms``), which does the work.

    Unlike :class:`Chain`, an alias keeps one flat state under the transforms' own keys
    (``velocity``, not ``1/velocity``): those are the names saved files hold. Every transform
    is handed the whole state and reads its own keys, so the keys must differ (``init``
    checks). Subclasses set their hyper-parameters as attributes, pass the transforms to
    ``Alias.__init__`` and define ``get_config``; one may override ``apply`` with a fused
    kernel of the same arithmetic (SGD with momentum does).
    """

    def __init__(self, *transforms: UpdateRule) -> None:
        super().__init__(type(self).__name__, transforms)
        self.transforms = tuple(transforms)

    def init(self, params: Any) -> State:
        state: State = {}
        for t in self.transforms:
            sub = t.init(params)
            clash = sorted(state.keys() & sub.keys())
            if clash:
                raise ValueError(f"{type(self).__name__}: two transforms keep state {clash}")
            state.update(sub)
        return state

    def update(self, grads: Any, state: State, params: Any, loss: float | None = None):
        for _, t, factor in self._stages:
            grads, out = _run(t, factor, grads, state, params, loss)
            if out is not state:  # a transform that returns a new dict of its own keys
                state = {**state, **out}
        return grads, state

    def on_epoch_end(self, state: State, logs: dict[str, Any]) -> State:
        for t in self.transforms:
            out = t.on_epoch_end(state, logs)
            if out is not state:
                state = {**state, **out}
        return state
