"""Saving and loading models (and optimizer state) without pickle.

A model file is a ZIP archive in NumPy's ``.npz`` layout: one JSON document
(``__bprop__.json``, stored as bytes) describing the network, the loss, the update rule and the
format version, plus one array per parameter (``param/0.W``), buffer (``buffer/2.running_mean``)
and optimizer-state array (``opt/velocity``). Loading reads arrays with ``allow_pickle=False``
and builds layers from a fixed registry, so a model file can never run code.

Writes are atomic: the file is written to a temporary name in the same folder, flushed to disk,
and renamed over the target, so an interrupted save never destroys the previous file.

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
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bprop import backend
from bprop.layers import LAYERS, Layer, Sequential
from bprop.losses import LOSSES, Loss
from bprop.optim.base import State, UpdateRule
from bprop.optim.registry import rule_from_config, rule_to_config

FORMAT = "bprop-model"
FORMAT_VERSION = 1
_META = "__bprop__.json"


class ModelFileError(ValueError):
    """A model file is missing, corrupt, truncated, or from an incompatible version."""


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
    cls = LAYERS.get(cfg.get("type", ""))
    if cls is None:
        raise ModelFileError(f"unknown layer type {cfg.get('type')!r} in model file")
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
    """Save a network (or a :class:`bprop.Trainer`, with its loss, rule, state and data-order
    generator) to ``path``, atomically."""
    from bprop.train.trainer import Trainer

    trainer_state: dict[str, Any] = {}
    if isinstance(net, Trainer):
        trainer = net
        net, loss = trainer.net, loss or trainer.loss
        optimizer = optimizer or trainer.optimizer
        optimizer_state = optimizer_state if optimizer_state is not None else trainer.state
        trainer_state = {
            "epoch": trainer.epoch,
            "rng": trainer.rng.bit_generator.state,
            "schedule": {
                "batch_size": trainer.schedule.batch_size,
                "shuffle": trainer.schedule.shuffle,
                "name": trainer.schedule.name,
            },
            "l2": trainer.l2,
        }
    if not isinstance(net, Layer):
        raise TypeError(f"save expects a network or a Trainer, got {type(net).__name__}")
    arrays: dict[str, np.ndarray] = {}
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
        if np.ndim(value) == 0 and not hasattr(value, "shape"):
            scalars[key] = value if value is None else float(value)
        else:
            arrays[f"opt/{key}"] = backend.to_numpy(value)
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
    arrays[_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".bprop", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read everything in a model file; raise :class:`ModelFileError` with advice if the file
    is corrupt, truncated, not a bprop model, or from a newer format version."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
        raise ModelFileError(
            f"{path} is not a readable bprop model file ({type(err).__name__}: {err}); it may "
            "be truncated or corrupt. Load a backup copy, or retrain and save again."
        ) from err
    if _META not in arrays:
        raise ModelFileError(f"{path} is a NumPy archive but not a bprop model file")
    try:
        meta = json.loads(arrays.pop(_META).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path}: the model description is damaged ({err})") from err
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a bprop model file (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model format version {version}, newer than this bprop understands "
            f"({FORMAT_VERSION}); it was written by bprop {meta.get('bprop_version')}. "
            "Upgrade bprop to load it."
        )
    dtype = meta.get("dtype")
    try:
        with backend.default_dtype(dtype or backend.get_dtype()):
            net = _layer_from_config(meta["model"])
        if not isinstance(net, Sequential):
            net = Sequential(net)
        for p, leaf in _leaf_paths(net):
            for kind, store in (("param", leaf.params), ("buffer", leaf.buffers)):
                for name in list(store):
                    key = f"{kind}/{p}.{name}"
                    if key not in arrays:
                        raise ModelFileError(f"{path}: missing array {key}")
                    value = arrays[key]
                    if value.shape != tuple(store[name].shape):
                        raise ModelFileError(
                            f"{path}: array {key} has shape {value.shape}, the layer expects "
                            f"{tuple(store[name].shape)}"
                        )
                    store[name][...] = backend.asarray(value, dtype=store[name].dtype)
            if p in meta.get("rng_states", {}):
                leaf.rng = np.random.default_rng()
                leaf.rng.bit_generator.state = meta["rng_states"][p]
        loss = None
        if meta.get("loss"):
            cls = {c.__name__: c for c in LOSSES.values()}[meta["loss"]["type"]]
            loss = cls(**meta["loss"]["config"])
        optimizer = rule_from_config(meta["optimizer"]) if meta.get("optimizer") else None
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: the model description is invalid ({err})") from err
    state = None
    if meta.get("has_optimizer_state"):
        state = dict(meta.get("optimizer_scalars", {}))
        state.update(
            {
                k[4:]: backend.asarray(v, dtype=v.dtype)
                for k, v in arrays.items()
                if k.startswith("opt/")
            }
        )
    return Checkpoint(
        net, loss, optimizer, state, meta.get("trainer") or {}, meta.get("metadata") or {}
    )


def load(path: str | os.PathLike) -> Sequential:
    """Load the network saved in ``path`` (see :func:`load_checkpoint` for the rest)."""
    return load_checkpoint(path).net


def load_trainer(path: str | os.PathLike, **overrides: Any) -> Any:
    """Rebuild a :class:`bprop.Trainer` saved with ``bp.save(trainer, path)``, so training
    continues exactly where it stopped (same weights, rule state and data order)."""
    from bprop.train.schedules import Schedule
    from bprop.train.trainer import Trainer

    ck = load_checkpoint(path)
    ts = ck.trainer_state
    if ck.loss is None or ck.optimizer is None or not ts:
        raise ModelFileError(f"{path} holds a network only; save a Trainer to resume training")
    rng = np.random.default_rng()
    rng.bit_generator.state = ts["rng"]
    kwargs: dict[str, Any] = {
        "schedule": Schedule(**ts["schedule"]),
        "l2": ts.get("l2", 0.0),
        "seed": rng,
        "optimizer_state": ck.optimizer_state,
    }
    kwargs.update(overrides)
    trainer = Trainer(ck.net, ck.loss, ck.optimizer, **kwargs)
    trainer.epoch = int(ts.get("epoch", 0))
    return trainer
