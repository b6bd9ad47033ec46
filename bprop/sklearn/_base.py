"""What :class:`BackpropClassifier` and :class:`BackpropRegressor` share: their constructor
parameters, checking them, and turning them into a bprop network, update rule and trainer.

A fit is, in bprop's own terms::

    net     = bp.mlp([n_features, *hidden_layer_sizes, n_outputs], activation, output, init)
    rule    = make_rule(method, lr=learning_rate, momentum=momentum, **method_params)
    trainer = bp.Trainer(net, loss, rule, schedule, batch_size, l2, seed)
    trainer.fit(X, y, epochs, validation_split, early_stopping)

and ``partial_fit`` is one more ``trainer.fit(X, y, epochs=1)`` on the same trainer, so the
update rule's state (Adam's moments, Rprop's step sizes, momentum's velocity) carries over from
call to call. The classifier and the regressor differ only in how targets become network
outputs and outputs become predictions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from bprop import backend
from bprop.errors import TrainingDiverged
from bprop.layers.initializers import INITIALIZERS
from bprop.layers.mlp import mlp
from bprop.layers.sequential import Sequential
from bprop.losses import Loss
from bprop.optim.base import UpdateRule
from bprop.optim.methods import HYPERPARAMETERS, METHODS, make_rule
from bprop.train.trainer import Trainer

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn: the estimator method

    def validate_data(estimator: Any, X: Any = "no_validation", y: Any = "no_validation", **kw):
        return estimator._validate_data(X, y, **kw)


#: hidden-layer activations, with scikit-learn's name for the sigmoid as an alias
ACTIVATIONS = {
    "sigmoid": "sigmoid",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "identity": "identity",
}
SCHEDULES = ("auto", "online", "minibatch", "batch")
#: the rule hyper-parameters :func:`bprop.optim.methods.make_rule` reads besides the learning
#: rate and momentum (which have their own constructor parameters); each method reads its own
#: and ignores the others, so one ``method_params`` can serve a grid search over methods
METHOD_PARAMS = frozenset(HYPERPARAMETERS) - {"lr", "momentum"}

#: what ``fit`` learns (besides the target attributes the subclasses set)
FITTED = ("trainer_", "net_", "history_", "loss_curve_", "n_iter_")


def _is_number(value: Any) -> bool:
    """A finite real number (not a bool)."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


class BackpropEstimator(BaseEstimator):
    """Base class of the bprop estimators; use :class:`BackpropClassifier` or
    :class:`BackpropRegressor`."""

    #: the ``loss`` names the subclass accepts
    LOSSES: tuple[str, ...] = ("auto",)
    #: how to bring the data to the scale gradient training needs (for error messages)
    SCALE_ADVICE = "scale X (StandardScaler in a Pipeline)"

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (32,),
        activation: str = "tanh",
        loss: str = "auto",
        method: str = "adam",
        learning_rate: float | None = None,
        momentum: float | None = None,
        method_params: dict[str, float] | None = None,
        lr_schedule: str | None = None,
        warmup: int = 0,
        schedule: str = "auto",
        batch_size: int = 32,
        epochs: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        l2: float = 0.0,
        init: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.method = method
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.method_params = method_params
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.schedule = schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.l2 = l2
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    # --- what the subclasses provide ----------------------------------------------------
    def _validate_targets(
        self, y: np.ndarray, first: bool, incremental: bool, classes: Any = None
    ) -> np.ndarray:
        """Check ``y`` and return the targets in the form the trainer wants; on the first
        call (``first``) also set the target attributes (``classes_``, ``n_outputs_``).
        ``incremental``: called from ``partial_fit``."""
        raise NotImplementedError

    def _loss_and_output(self) -> tuple[Loss, str | None]:
        """The bprop loss and the output activation of the network (None: linear)."""
        raise NotImplementedError

    # --- building the bprop pieces ------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a tuple of positive ints, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _method_key(self) -> str:
        key = str(self.method).lower().replace("_", "-").replace("\u2212", "-")
        if key not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {sorted(METHODS)}")
        return key

    def _make_rule(self) -> UpdateRule:
        """The update rule: ``make_rule(method, lr=learning_rate, momentum=momentum, ...)``."""
        if not isinstance(self.method_params or {}, Mapping):
            raise ValueError(f"method_params must be a dict or None, got {self.method_params!r}")
        options = dict(self.method_params or {})
        for name in ("lr", "momentum"):
            if name in options:
                what = "learning_rate" if name == "lr" else "momentum"
                raise ValueError(f"give {name!r} as the {what} parameter, not in method_params")
        unknown = sorted(set(options) - METHOD_PARAMS)
        if unknown:
            raise ValueError(
                f"unknown method_params {unknown}; the rules read {sorted(METHOD_PARAMS)}"
            )
        for name, value in options.items():
            if value is not None and not _is_number(value):
                raise ValueError(f"method_params[{name!r}] must be a finite number, got {value!r}")
        if self.learning_rate is not None and not (
            _is_number(self.learning_rate) and self.learning_rate > 0
        ):
            raise ValueError(
                "learning_rate must be a positive, finite number or None (the method's default "
                f"learning rate), got {self.learning_rate!r}"
            )
        if self.momentum is not None and not _is_number(self.momentum):
            raise ValueError(f"momentum must be a number in [0, 1) or None, got {self.momentum!r}")
        key = self._method_key()
        try:
            return make_rule(
                key,
                lr=self.learning_rate,
                momentum=self.momentum,
                lr_schedule=self.lr_schedule,
                epochs=self.epochs,
                warmup=self.warmup,
                **options,
            )
        except (ValueError, TypeError) as err:  # the rule's own check of a value
            raise ValueError(
                f"method={key!r} rejects its hyper-parameters (learning_rate="
                f"{self.learning_rate!r}, momentum={self.momentum!r}, method_params="
                f"{self.method_params!r}, lr_schedule={self.lr_schedule!r}, warmup="
                f"{self.warmup!r}): {err}"
            ) from err

    def _check_params(self) -> None:
        """Check the constructor parameters (scikit-learn's convention: in ``fit``, not in
        ``__init__``), before any data is looked at."""
        if self.loss not in self.LOSSES:
            raise ValueError(f"loss must be one of {self.LOSSES}, got {self.loss!r}")
        self._hidden_sizes()
        self._make_rule()  # the rule checks its own hyper-parameters
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("batch_size", "epochs", "n_iter_no_change"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or (
                value < 1
            ):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.early_stopping and not (
            _is_number(self.validation_fraction) and 0 < self.validation_fraction < 1
        ):
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        if not (_is_number(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2 must be a non-negative, finite number, got {self.l2!r}")
        if not isinstance(self.verbose, numbers.Integral) or self.verbose < 0:
            raise ValueError(f"verbose must be a non-negative int, got {self.verbose!r}")
        if self.init is not None and self.init not in INITIALIZERS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {INITIALIZERS}")

    def _new_trainer(self, n_features: int) -> Trainer:
        """A fresh network and trainer, seeded from ``random_state``."""
        hidden = self._hidden_sizes()
        rule = self._make_rule()
        loss, output = self._loss_and_output()
        schedule = self.schedule
        if schedule == "auto":
            schedule = "batch" if rule.requires_full_batch else "minibatch"
        rs = check_random_state(self.random_state)
        init_seed, order_seed = (int(s) for s in rs.randint(np.iinfo(np.int32).max, size=2))
        sizes = [n_features, *hidden, self.n_outputs_]
        try:
            net = mlp(
                sizes,
                activation=ACTIVATIONS[self.activation],
                output=output,
                init=self.init,
                seed=init_seed,
            )
            return Trainer(
                net,
                loss,
                rule,
                schedule,
                batch_size=self.batch_size,
                l2=float(self.l2),
                seed=order_seed,
                verbose=int(self.verbose),
            )
        except MemoryError as err:
            n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
            gib = n * backend.get_dtype().itemsize / 2**30
            raise MemoryError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} makes a network with {n:,} "
                f"weights ({gib:.3g} GiB for each copy of them), more than this machine can "
                "allocate: use smaller hidden layers"
            ) from err

    def _check_range(self, name: str, a: np.ndarray, dtype: Any, fix: str) -> None:
        """Refuse data whose magnitude overflows ``dtype``, the float type the network trains
        in (float32 by default): such values would become infinite when converted."""
        if a.dtype.kind != "f" or a.size == 0:
            return
        peak, limit = float(np.abs(a).max()), float(np.finfo(dtype).max)
        if peak > limit:
            raise ValueError(
                f"{name} holds values up to {peak:.3g}, beyond the largest {np.dtype(dtype)} "
                f"({limit:.3g}) that {type(self).__name__} trains in: {fix}"
            )

    def _diverged(self, err: TrainingDiverged, trainer: Trainer) -> TrainingDiverged:
        """``err`` again, with what to change in terms of this estimator's parameters."""
        rules = getattr(trainer.optimizer, "rules", [trainer.optimizer])
        rule = rules[-1]  # the method itself, after any clipping / weight decay
        if hasattr(rule, "lr"):
            now = f"{self.learning_rate!r}" if self.learning_rate is not None else "None"
            if self.learning_rate is None:
                now += f", i.e. method={self._method_key()!r}'s default {rule.lr:g}"
            advice = f"lower learning_rate= (now {now})"
        else:  # Rprop: a step size per weight instead of a learning rate
            advice = (
                "lower method_params={'delta0': ..., 'delta_max': ...} (now "
                f"{getattr(rule, 'delta0', 'n/a')}, {getattr(rule, 'delta_max', 'n/a')})"
            )
        if self.l2:
            advice += f", lower l2= (now {self.l2!r})"
        clip = "method_params={'clip_norm': 1.0}"
        advice += f", clip gradients with {clip}, or {self.SCALE_ADVICE}"
        reason = str(err).rstrip(". ")
        return TrainingDiverged(f"{type(self).__name__}: {reason}. For this estimator: {advice}.")

    # --- fitting ------------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> BackpropEstimator:
        first = not (incremental and hasattr(self, "trainer_"))
        if first:
            self._check_params()
            for name in FITTED:  # a fresh fit replaces the model, even if it fails
                self.__dict__.pop(name, None)
        X, y = validate_data(
            self, X, y, reset=first, multi_output=True, dtype=(np.float64, np.float32)
        )
        targets = self._validate_targets(y, first, incremental, classes)
        trainer = self._new_trainer(X.shape[1]) if first else self.trainer_
        dtype = trainer.net.space.dtype
        self._check_range("X", X, dtype, "scale X (e.g. StandardScaler in a Pipeline)")
        self._check_range(
            "y",
            targets,
            dtype,
            "scale y (e.g. TransformedTargetRegressor with a StandardScaler)",
        )
        try:
            if incremental:
                trainer.fit(X, targets, epochs=1)
            elif self.early_stopping:
                trainer.fit(
                    X,
                    targets,
                    epochs=self.epochs,
                    validation_split=float(self.validation_fraction),
                    early_stopping=int(self.n_iter_no_change),
                )
            else:
                trainer.fit(X, targets, epochs=self.epochs)
        except TrainingDiverged as err:
            # the trainer restored its last good weights: partial_fit keeps that state
            raise self._diverged(err, trainer) from err
        self.trainer_ = trainer
        self.net_: Sequential = trainer.net
        self.history_ = trainer.history
        self.loss_curve_ = list(trainer.history.train_loss)
        self.n_iter_ = trainer.history.n_epochs
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "trainer_")

    def _outputs(self, X: Any, n_layers: int | None = None, chunk: int = 4096) -> np.ndarray:
        """The network's outputs for ``X`` (after the usual checks), computed in float64;
        with ``n_layers``, the output of ``net_.layers[:n_layers]`` instead (``-1``: the
        input of the output activation).

        The weights are float32, but the forward pass runs on float64 inputs (NumPy promotes
        each layer's product), so a row's prediction does not depend on which other rows are
        in the same call: in float32, BLAS sums a single row and a block of rows in different
        orders, which moves results by an ulp (~1e-7), the size of scikit-learn's tolerance
        for "predicting a subset gives the same answers".
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Xb = backend.asarray(X, dtype=np.float64)
        net = self.net_ if n_layers is None else Sequential(*self.net_.layers[:n_layers])
        outs = [
            backend.to_numpy(net.forward(Xb[i : i + chunk], train=False)[0])
            for i in range(0, X.shape[0], chunk)
        ]
        return np.concatenate(outs).astype(np.float64, copy=False)

    # --- pickling -----------------------------------------------------------------------
    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        net = self.__dict__.get("net_")
        if isinstance(net, Sequential):
            # Pickle copies each layer's parameters apart from the model's flat buffer, whose
            # views they were. ``astype`` gives the layers fresh arrays and marks them changed,
            # so the next use rebuilds the flat buffer from the layers' (correct) values and
            # training (partial_fit) updates the very arrays the layers compute with.
            dtypes = [p.dtype for leaf in net.leaves() for p in leaf.params.values()]
            net.astype(dtypes[0] if dtypes else backend.get_dtype())
