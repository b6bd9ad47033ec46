"""Checking a model file's description before anything is built, and its saved training state
before it is used.

:func:`plan` walks the JSON description of the network and, from each layer's config alone
(:meth:`bprop.Layer.declared_shapes`), lists every parameter and buffer with its shape — so the
total size is checked against the limit and every array member's header against the shape the
layer will have, before a single layer allocates anything. :func:`check_state` compares a saved
optimizer state with what ``optimizer.init(params)`` gives; :func:`check_trainer` checks the
trainer's epoch, data-order generator, schedule, L2 factor and validation split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop.layers import LAYERS, Sequential
from bprop.layers.base import Shapes
from bprop.modelfile import ModelFileError, one_line

#: the default ``max_params`` of :func:`bprop.load`: parameters and buffers a model file may
#: declare (50 million: 200 MB in float32)
MAX_PARAMS = 50_000_000
#: deepest nesting of Sequential models
MAX_NESTING = 16
#: the fields of the description, and of the trainer state within it
META_KEYS = {
    "format", "format_version", "bprop_version", "dtype", "model", "loss", "optimizer",
    "optimizer_scalars", "has_optimizer_state", "trainer", "rng_states", "metadata",
}  # fmt: skip
TRAINER_KEYS = {"epoch", "rng", "schedule", "l2", "split", "progress"}
PROGRESS_KEYS = {"rng_state", "n", "updates", "total", "correct", "count"}
EARLY_STOPPING_KEYS = {"best", "best_epoch", "wait"}
SCHEDULE_KEYS = {"batch_size", "shuffle", "name"}
DTYPES = ("float16", "float32", "float64")


@dataclass
class Leaf:
    """One leaf layer of a planned network: its path, class, config and declared shapes."""

    path: str
    cls: type
    config: dict[str, Any]
    params: Shapes
    buffers: Shapes

    def arrays(self) -> list[tuple[str, str, tuple[int, ...]]]:
        """``(kind, name, shape)`` of every array the layer stores."""
        return [("param", n, s) for n, s in self.params.items()] + [
            ("buffer", n, s) for n, s in self.buffers.items()
        ]


def fail(path: str, what: str) -> ModelFileError:
    """A :class:`ModelFileError` naming the file ``path`` and what is wrong with it."""
    return ModelFileError(f"{path}: {what}")


def is_int(v: Any) -> bool:
    """Whether ``v`` is an int from JSON (a bool is not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """Whether ``v`` is a finite int or float from JSON (a bool is not)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def spec_of(path: str, spec: Any, where: str) -> tuple[type, dict[str, Any]]:
    """The registered class and the config of a ``{"type": ..., "config": {...}}`` entry."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise fail(path, f"{where} must be an object with a 'type' name, got {_short(spec)}")
    cls = LAYERS.get(spec["type"])
    if cls is None:
        raise fail(path, f"unknown layer type {_short(spec['type'])} in {where}")
    extra = set(spec) - ({"type", "layers"} if cls is Sequential else {"type", "config"})
    if extra:
        raise fail(path, f"unknown field(s) {sorted(extra)} in {where}")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise fail(path, f"the config of {where} must be an object, got {_short(config)}")
    return cls, config


def plan(path: str, spec: Any, max_params: int) -> list[Leaf]:
    """Every leaf layer of the described network with its declared array shapes; refuses an
    invalid description or one declaring more than ``max_params`` parameters and buffers."""
    leaves: list[Leaf] = []
    cls, config = spec_of(path, spec, "the model")
    if cls is not Sequential:
        spec = {"type": "Sequential", "layers": [spec]}
    _walk(path, spec, "", 0, leaves)
    total = sum(math.prod(s) for leaf in leaves for _, _, s in leaf.arrays())
    if total > max_params:
        raise fail(
            path,
            f"the model declares {total:,} parameters and buffers, more than the limit of "
            f"{max_params:,}; if you trust this file, load it with max_params={total}",
        )
    return leaves


def _walk(path: str, spec: Any, prefix: str, depth: int, out: list[Leaf]) -> None:
    if depth > MAX_NESTING:
        raise fail(path, f"the model nests Sequential layers more than {MAX_NESTING} deep")
    layers = spec.get("layers")
    if not isinstance(layers, list):
        raise fail(path, f"a Sequential in the model has no list of layers: {_short(layers)}")
    for i, child in enumerate(layers):
        where = f"layer {prefix}{i}"
        cls, config = spec_of(path, child, where)
        if cls is Sequential:
            _walk(path, child, f"{prefix}{i}.", depth + 1, out)
            continue
        try:
            params, buffers = cls.declared_shapes(config)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise fail(
                path, f"{where} ({cls.__name__}) has an invalid config: {one_line(err)}"
            ) from err
        out.append(Leaf(f"{prefix}{i}", cls, config, params, buffers))


def check_meta(path: str, meta: Any, fmt: str, version: int) -> None:
    """The description's top level: known fields of the right types, a supported version."""
    if not isinstance(meta, dict):
        raise fail(path, "the model description is not a JSON object")
    if meta.get("format") != fmt:
        raise ModelFileError(
            f"{path} is not a bprop model file (format {_short(meta.get('format'))})"
        )
    v = meta.get("format_version")
    if not is_int(v) or v < 1:
        raise fail(path, f"format_version {_short(v)} is not a valid model format version")
    if v > version:
        raise ModelFileError(
            f"{path} uses model format version {v}, newer than this bprop understands "
            f"({version}); it was written by bprop {_short(meta.get('bprop_version'))}. "
            "Upgrade bprop to load it."
        )
    extra = set(meta) - META_KEYS
    if extra:
        raise fail(path, f"unknown field(s) {sorted(extra)[:5]} in the model description")
    if meta.get("dtype") not in (None, *DTYPES):
        raise fail(path, f"dtype {_short(meta.get('dtype'))} is not one of {DTYPES}")
    for key in ("optimizer_scalars", "trainer", "rng_states", "metadata"):
        if not isinstance(meta.get(key) or {}, dict):
            raise fail(path, f"{key} must be a JSON object, got {_short(meta[key])}")
    for key in ("loss", "optimizer"):
        v = meta.get(key)
        if v is not None and not (
            isinstance(v, dict) and set(v) == {"type", "config"} and isinstance(v["type"], str)
            and isinstance(v["config"], dict)
        ):  # fmt: skip
            raise fail(path, f"{key} must be {{'type': name, 'config': {{...}}}}, got {_short(v)}")
    if not isinstance(meta.get("has_optimizer_state", False), bool):
        raise fail(path, "has_optimizer_state must be true or false")
    for key, value in (meta.get("optimizer_scalars") or {}).items():
        if value is not None and not is_number(value):
            raise fail(path, f"optimizer state {key} = {_short(value)} is not a finite number")


def check_state_keys(
    path: str, scalars: dict[str, Any], arrays: set[str], expected: dict[str, Any]
) -> None:
    """A saved optimizer state's names against ``optimizer.init(params)``: the same array names
    (stored as members) and scalar names (in the description), no scalar None where the fresh
    state has a number. Array shapes and values are checked as they are read."""
    want_arrays = {k for k, v in expected.items() if is_array(v)}
    want_scalars = set(expected) - want_arrays
    if set(scalars) != want_scalars or arrays != want_arrays:
        got = set(scalars) | arrays
        missing, extra = sorted(set(expected) - got), sorted(got - set(expected))
        raise fail(
            path,
            f"the optimizer state does not fit the update rule (missing {missing[:5]}, "
            f"unexpected {extra[:5]}); load the network alone with bp.load and start a new "
            "Trainer",
        )
    for key in want_scalars:
        if scalars[key] is None and expected[key] is not None:
            raise fail(path, f"optimizer state {key} is missing its value")


def is_array(v: Any) -> bool:
    """Whether a state entry is an array (saved as a member) rather than a scalar."""
    return hasattr(v, "shape") and np.ndim(v) > 0


def check_trainer(path: str, ts: dict[str, Any]) -> None:
    """The trainer state: epoch, data-order generator, schedule, L2 factor, split scalars."""
    from bprop.train.schedules import SCHEDULES

    extra = set(ts) - TRAINER_KEYS
    if extra or not {"epoch", "rng", "schedule"} <= set(ts):
        raise fail(
            path,
            f"the trainer state has fields {sorted(ts)[:8]}; expected epoch, rng, schedule, "
            "l2 (and split)",
        )
    if not is_int(ts["epoch"]) or ts["epoch"] < 0:
        raise fail(path, f"the trainer's epoch {_short(ts['epoch'])} is not a count >= 0")
    new_generator(path, ts["rng"], "the trainer's data-order generator")
    s = ts["schedule"]
    if not isinstance(s, dict) or set(s) - {"bucket"} != SCHEDULE_KEYS:
        raise fail(path, f"the trainer's schedule {_short(s)} needs batch_size, shuffle, name")
    if s["name"] not in SCHEDULES:
        raise fail(path, f"unknown schedule {_short(s['name'])}; known: {SCHEDULES}")
    if s["batch_size"] is not None and not (is_int(s["batch_size"]) and s["batch_size"] >= 1):
        raise fail(path, f"the schedule's batch size {_short(s['batch_size'])} is not >= 1")
    if not isinstance(s["shuffle"], bool) or not isinstance(s.get("bucket", False), bool):
        raise fail(path, "the schedule's shuffle and bucket flags must be true or false")
    l2 = ts.get("l2", 0.0)
    if not is_number(l2) or l2 < 0:
        raise fail(path, f"the trainer's l2 factor {_short(l2)} is not a number >= 0")
    split = ts.get("split")
    if split is not None and not (
        isinstance(split, dict) and set(split) == {"n", "fraction"} and is_int(split["n"])
        and split["n"] >= 1 and is_number(split["fraction"]) and 0 <= split["fraction"] < 1
    ):  # fmt: skip
        raise fail(path, f"the trainer's validation split {_short(split)} is invalid")
    if ts.get("progress") is not None:
        check_progress(path, ts["progress"])


def check_progress(path: str, p: Any) -> dict[str, Any]:
    """The epoch an interruption stopped in (``Trainer.progress``): the data-order generator
    at its start, its size and updates done, the partial loss and accuracy sums, and the
    early-stopping counters; returns it unchanged."""
    if not isinstance(p, dict) or not PROGRESS_KEYS <= set(p) <= PROGRESS_KEYS | {"early_stopping"}:
        raise fail(path, f"the interrupted epoch's record {_short(p)} has unexpected fields")
    new_generator(path, p["rng_state"], "the interrupted epoch's data-order generator")
    counts = [p[k] for k in ("n", "updates", "correct", "count")]
    if not all(is_int(c) and c >= 0 for c in counts) or not 0 <= p["updates"] <= p["n"]:
        raise fail(path, f"the interrupted epoch's counts {_short(counts)} are invalid")
    if not is_number(p["total"]):
        raise fail(path, f"the interrupted epoch's loss sum {_short(p['total'])} is not finite")
    es = p.get("early_stopping")
    if es is not None and not (
        isinstance(es, dict) and set(es) == EARLY_STOPPING_KEYS
        and (es["best"] is None or is_number(es["best"]))
        and (es["best_epoch"] is None or (is_int(es["best_epoch"]) and es["best_epoch"] >= 0))
        and is_int(es["wait"]) and es["wait"] >= 0
    ):  # fmt: skip
        raise fail(path, f"the interrupted epoch's early-stopping record {_short(es)} is invalid")
    return p


def check_split_index(path: str, index: np.ndarray, n: int) -> np.ndarray:
    """The held-out example indices: 1-D, unique, each in [0, n); returned as int64."""
    if index.ndim != 1 or index.size > n:
        raise fail(path, f"the validation split's indices have shape {index.shape} for {n} rows")
    index = index.astype(np.int64)
    if index.size and (index.min() < 0 or index.max() >= n):
        raise fail(path, f"the validation split holds indices outside [0, {n})")
    if np.unique(index).size != index.size:
        raise fail(path, "the validation split holds repeated indices")
    return index


def new_generator(path: str, state: Any, what: str) -> np.random.Generator:
    """A PCG64 Generator set to a saved ``bit_generator.state``."""
    rng = np.random.default_rng()
    try:
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            raise ValueError("not a PCG64 state")
        rng.bit_generator.state = state
    except Exception as err:
        raise fail(path, f"{what} has an invalid state ({one_line(err, 80)})") from err
    return rng


def _short(v: Any, limit: int = 60) -> str:
    text = " ".join(repr(v).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
