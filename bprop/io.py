"""Saving and loading models (and optimizer state) without pickle.

A model file is a ZIP archive in NumPy's ``.npz`` layout: one JSON document
(``__bprop__.json``, stored as bytes) describing the network, the loss, the update rule and the
format version, plus one array per parameter (``param/0.W``), buffer (``buffer/2.running_mean``)
and optimizer-state array (``opt/velocity``), and a trainer's validation split
(``trainer/val_index``). Format version 2 added the split; version 1 files still load.

**Saving** is atomic and safe (:mod:`bprop.modelfile.atomic`): only a regular file or a new path
is replaced — a symlink is written through, its target replaced — with the usual permissions,
and no temporary file survives a failure. :func:`check_writable` runs the same path checks on
their own, e.g. before a long training run.

**Loading** is code-free and bounded (:mod:`bprop.modelfile.archive`,
:mod:`bprop.modelfile.validate`): arrays are read with NumPy's format reader, never pickle; layers
come from a fixed registry; the description is checked — fields, format version, layer configs,
total size against ``max_params`` — and every array's header against the shape its layer
declares, before any layer is built; only the members the description names are read, each
exactly as large as its header says; weights must be finite floats; a trainer's optimizer state
must fit its update rule. Every failure is a :class:`ModelFileError` with one line saying what
is wrong (a missing file stays ``FileNotFoundError``).

Example::

    >>> import bprop as bp, tempfile, os
    >>> net = bp.mlp([4, 3, 2], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "net.bprop")
    >>> bp.save(net, path)
    >>> bool((bp.load(path).predict([[1, 2, 3, 4]]) == net.predict([[1, 2, 3, 4]])).all())
    True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers import LAYERS, Layer, Sequential
from bprop.losses import LOSSES, Loss
from bprop.modelfile import ModelFileError, one_line
from bprop.modelfile.archive import INT_DTYPES, Archive, Header
from bprop.modelfile.atomic import check_writable, write_atomically
from bprop.modelfile.trainer_state import trainer_parts
from bprop.modelfile.validate import (
    MAX_PARAMS,
    check_meta,
    check_split_index,
    check_state_keys,
    check_trainer,
    fail,
    is_array,
    new_generator,
    plan,
)
from bprop.optim.base import State, UpdateRule
from bprop.optim.registry import rule_from_config, rule_to_config

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_PARAMS",
    "Checkpoint",
    "ModelFileError",
    "check_writable",
    "load",
    "load_checkpoint",
    "load_trainer",
    "save",
]

FORMAT = "bprop-model"
FORMAT_VERSION = 2
_META = "__bprop__.json"
_SPLIT = "trainer/val_index"
_BEST = "trainer/best_params"


@dataclass
class Checkpoint:
    """Everything a model file holds."""

    net: Sequential
    loss: Loss | None = None
    optimizer: UpdateRule | None = None
    optimizer_state: State | None = None
    trainer_state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def _layer_to_config(layer: Layer) -> dict[str, Any]:
    name = type(layer).__name__
    if LAYERS.get(name) is not type(layer):
        raise ValueError(f"cannot save layer type {name}: it is not in bprop.layers.LAYERS")
    if isinstance(layer, Sequential):
        return {"type": name, "layers": [_layer_to_config(c) for c in layer.layers]}
    return {"type": name, "config": layer.get_config()}


def _layer_from_config(cfg: dict[str, Any]) -> Layer:
    """Build a layer from a description entry that :func:`plan` has already checked."""
    cls = LAYERS[cfg["type"]]
    if cls is Sequential:
        return Sequential(*(_layer_from_config(c) for c in cfg["layers"]))
    return cls.from_config(cfg.get("config", {}))


def _leaf_paths(net: Layer) -> list[tuple[str, Layer]]:
    return net.leaf_paths() if isinstance(net, Sequential) else [("0", net)]


def save(
    net: Any,
    path: str | os.PathLike,
    optimizer: UpdateRule | None = None,
    optimizer_state: State | None = None,
    loss: Loss | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save a network (or a :class:`bprop.Trainer`, with its loss, rule, state, data-order
    generator and validation split) to ``path``, atomically.

    ``path`` must be a regular file or a new path in an existing, writable folder; anything
    else (a directory, device, FIFO, socket) is refused with :class:`ModelFileError` before
    anything is written. A symlink is written through: the link stays and the file it points
    to is replaced (atomically). A new file gets the permissions ``0o666 & ~umask``; a replaced
    file keeps its mode. The temporary file is removed on any failure, and leftovers of killed
    saves of the same path are removed by the next save (see :mod:`bprop.modelfile.atomic`,
    which also says what happens when two processes save the same path at once).
    """
    from bprop.train.trainer import Trainer

    check_writable(path)
    trainer_state: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    if isinstance(net, Trainer):
        trainer = net
        net, loss = trainer.net, loss or trainer.loss
        optimizer = optimizer or trainer.optimizer
        optimizer_state = optimizer_state if optimizer_state is not None else trainer.state
        trainer_state, arrays = trainer_parts(trainer, _SPLIT, _BEST)
    if not isinstance(net, Layer):
        raise TypeError(f"save expects a network or a Trainer, got {type(net).__name__}")
    for p, leaf in _leaf_paths(net):
        for name, value in leaf.params.items():
            arrays[f"param/{p}.{name}"] = backend.to_numpy(value)
        for name, value in leaf.buffers.items():
            arrays[f"buffer/{p}.{name}"] = backend.to_numpy(value)
    # random layers (Dropout) keep their generator state, so resumed training draws the same
    rng_states = {
        p: leaf.rng.bit_generator.state
        for p, leaf in _leaf_paths(net)
        if isinstance(getattr(leaf, "rng", None), np.random.Generator)
    }
    scalars: dict[str, Any] = {}
    for key, value in (optimizer_state or {}).items():
        if is_array(value):
            arrays[f"opt/{key}"] = backend.to_numpy(value)
        else:
            scalars[key] = None if value is None else float(value)
    from bprop import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bprop_version": __version__,
        "dtype": str(net.space.dtype) if isinstance(net, Sequential) else None,
        "model": _layer_to_config(net),
        "loss": None
        if loss is None
        else {"type": type(loss).__name__, "config": loss.get_config()},
        "optimizer": None if optimizer is None else rule_to_config(optimizer),
        "optimizer_scalars": scalars,
        "has_optimizer_state": optimizer_state is not None,
        "trainer": trainer_state,
        "rng_states": rng_states,
        "metadata": metadata or {},
    }
    try:
        text = json.dumps(meta, allow_nan=False)
    except ValueError as err:
        raise ValueError(
            "cannot save: the optimizer state or metadata holds NaN or infinity, which a model "
            "file cannot load back"
        ) from err
    arrays[_META] = np.frombuffer(text.encode(), dtype=np.uint8)
    write_atomically(path, lambda fh: np.savez(fh, **arrays))


def _read_into(ar: Archive, key: str, h: Header, target: Any) -> None:
    """Read a float member and copy it into ``target`` (same shape), refusing NaN/inf."""
    if h.shape != tuple(target.shape):
        raise fail(ar.path, f"array {key} has shape {h.shape}, the layer expects {target.shape}")
    value = ar.read(key, h)
    with np.errstate(over="ignore", invalid="ignore"):
        value = value.astype(np.dtype(target.dtype), copy=False)
    if not np.isfinite(value).all():
        raise fail(
            ar.path,
            f"array {key} holds NaN or infinity (or values too large for "
            f"{value.dtype}); the model is broken — load a backup or retrain",
        )
    target[...] = backend.asarray(value, dtype=target.dtype)


def load_checkpoint(path: str | os.PathLike, max_params: int = MAX_PARAMS) -> Checkpoint:
    """Read everything in a model file, checking it first (see the module docstring).

    Raises :class:`ModelFileError` (one line, with advice) if the file is corrupt, truncated,
    not a bprop model, from a newer format version, holds non-finite or non-float weights, or
    declares more than ``max_params`` parameters and buffers (raise it to load a larger model
    you trust); ``FileNotFoundError`` if there is no file."""
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"a model file path must be a string, got {type(path).__name__}")
    path = os.fspath(path)
    with Archive(path) as ar:
        if _META not in ar.names:
            raise ModelFileError(f"{path} is a NumPy archive but not a bprop model file")
        meta = ar.read_json(_META)
        check_meta(path, meta, FORMAT, FORMAT_VERSION)
        leaves = plan(path, meta.get("model"), max_params)
        headers: dict[str, Header] = {}
        for leaf in leaves:  # every array's header against its layer, before building
            for kind, name, shape in leaf.arrays():
                key = f"{kind}/{leaf.path}.{name}"
                h = headers[key] = ar.header(key)
                if h.shape != shape:
                    raise fail(
                        path,
                        f"array {key} has shape {h.shape}, the layer {leaf.cls.__name__} "
                        f"expects {shape}",
                    )
        ts = dict(meta.get("trainer") or {})
        if ts:
            check_trainer(path, ts)
        paths = {leaf.path for leaf in leaves}
        unknown = set(meta.get("rng_states") or {}) - paths
        if unknown:
            raise fail(path, f"rng_states names layers {sorted(unknown)[:5]} the model lacks")
        net, loss, optimizer = _build(path, meta)
        for p, leaf in _leaf_paths(net):
            for kind, store in (("param", leaf.params), ("buffer", leaf.buffers)):
                for name in store:
                    key = f"{kind}/{p}.{name}"
                    if key not in headers:  # declared_shapes disagrees with the built layer
                        raise fail(
                            path, f"layer {p} has an array {name} its config does not declare"
                        )
                    _read_into(ar, key, headers[key], store[name])
        for p, state in (meta.get("rng_states") or {}).items():
            leaf = dict(_leaf_paths(net))[p]
            if not isinstance(getattr(leaf, "rng", None), np.random.Generator):
                raise fail(path, f"rng_states names layer {p}, which draws no random numbers")
            leaf.rng = new_generator(path, state, f"the random generator of layer {p}")
        state = _read_state(ar, meta, net, optimizer, max_params)
        if ts.get("split") is not None:
            split = ts["split"]
            h = ar.header(_SPLIT, kinds=INT_DTYPES)
            if h.size > min(split["n"], max_params):
                raise fail(
                    path, f"the validation split holds {h.size} indices for {split['n']} rows"
                )
            index = check_split_index(path, ar.read(_SPLIT, h), split["n"])
            ts["split"] = {**split, "val_index": index}
        if _BEST in ar.names:  # the early-stopping best weights of an interrupted fit
            ts["best_params"] = best = np.empty_like(backend.to_numpy(net.space.params))
            _read_into(ar, _BEST, ar.header(_BEST), best)
    return Checkpoint(net, loss, optimizer, state, ts, meta.get("metadata") or {})


def _build(path: str, meta: dict[str, Any]) -> tuple[Sequential, Loss | None, Any]:
    """The network (zero weights), loss and update rule of a checked description."""
    try:
        with backend.default_dtype(meta.get("dtype") or backend.get_dtype()):
            net = _layer_from_config(meta["model"])
        if not isinstance(net, Sequential):
            net = Sequential(net)
        net.space  # noqa: B018 - builds the flat buffers now (mixed dtypes fail here)
        loss = None
        if meta.get("loss"):
            classes = {c.__name__: c for c in LOSSES.values()}
            if meta["loss"]["type"] not in classes:
                raise ValueError(f"unknown loss {meta['loss']['type']!r}")
            loss = classes[meta["loss"]["type"]](**meta["loss"]["config"])
        optimizer = rule_from_config(meta["optimizer"]) if meta.get("optimizer") else None
    except (MemoryError, RecursionError) as err:
        raise fail(path, f"the model description is too large to build ({one_line(err)})") from err
    except Exception as err:
        raise fail(path, f"the model description is invalid ({one_line(err)})") from err
    return net, loss, optimizer


def _read_state(
    ar: Archive, meta: dict[str, Any], net: Sequential, optimizer: Any, max_params: int
) -> State | None:
    """The saved optimizer state, checked against ``optimizer.init(params)``."""
    if not meta.get("has_optimizer_state"):
        return None
    scalars = dict(meta.get("optimizer_scalars") or {})
    members = {k[4:] for k in ar.names if k.startswith("opt/")}
    if optimizer is None:  # a state saved without its rule: arrays of the parameters' size
        expected = {k: np.empty(0) for k in members} | dict.fromkeys(scalars)
        size = net.space.size
    else:
        try:
            expected = optimizer.init(net.space.params)
        except Exception as err:
            raise fail(ar.path, f"the update rule cannot start ({one_line(err)})") from err
    for key, want in expected.items():  # version 1 stored 0-d numbers as members
        if not is_array(want) and key not in scalars and key in members:
            h = ar.header(f"opt/{key}")
            if h.shape != ():
                raise fail(ar.path, f"optimizer state {key} should be a number")
            scalars[key] = float(ar.read(f"opt/{key}", h))
            members.discard(key)
    check_state_keys(ar.path, scalars, members, expected)
    state: State = dict(scalars)
    for key, want in expected.items():
        if not is_array(want):
            continue
        h = ar.header(f"opt/{key}")
        shape = tuple(want.shape) if optimizer is not None else (size,)
        if h.shape != shape or h.size > max_params:
            raise fail(
                ar.path, f"optimizer state {key} has shape {h.shape}, the rule expects {shape}"
            )
        target = backend.get_xp().empty(shape, dtype=net.space.dtype)
        _read_into(ar, f"opt/{key}", h, target)
        state[key] = target
    return state


def load(path: str | os.PathLike, max_params: int = MAX_PARAMS) -> Sequential:
    """Load the network saved in ``path`` (see :func:`load_checkpoint` for the rest)."""
    return load_checkpoint(path, max_params=max_params).net


def load_trainer(path: str | os.PathLike, max_params: int = MAX_PARAMS, **overrides: Any) -> Any:
    """Rebuild a :class:`bprop.Trainer` saved with ``bp.save(trainer, path)``, so training
    continues exactly where it stopped (same weights, rule state, data order and validation
    split, in ``trainer.split``). ``overrides`` are passed on to the Trainer (e.g.
    ``verbose=0``)."""
    from bprop.train.schedules import Schedule
    from bprop.train.trainer import Trainer

    ck = load_checkpoint(path, max_params=max_params)
    ts = ck.trainer_state
    if ck.loss is None or ck.optimizer is None or not ts:
        raise ModelFileError(f"{path} holds a network only; save a Trainer to resume training")
    kwargs: dict[str, Any] = {
        "schedule": Schedule(**ts["schedule"]),
        "l2": float(ts.get("l2", 0.0)),
        "seed": new_generator(os.fspath(path), ts["rng"], "the trainer's data-order generator"),
        "optimizer_state": ck.optimizer_state,
    }
    kwargs.update(overrides)
    trainer = Trainer(ck.net, ck.loss, ck.optimizer, **kwargs)
    trainer.epoch = int(ts["epoch"])
    trainer.split = ts.get("split")
    trainer.progress = ts.get("progress")
    if ts.get("best_params") is not None:
        trainer.best_params = backend.asarray(ts["best_params"], dtype=trainer.net.space.dtype)
    return trainer
