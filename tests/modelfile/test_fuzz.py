"""Fuzzing the loaders: mutated valid model and trainer files, at the byte level and at the
level of the JSON description and the arrays. Whatever the mutation, ``load``,
``load_checkpoint`` and ``load_trainer`` either succeed or raise ModelFileError — nothing else
escapes — and no load needs more than ~200 MB (tracemalloc's peak, checked per example).

Derandomized (the same examples on every run), no example database, no deadline."""

import copy
import json
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bprop as bp

PEAK_LIMIT_MB = 200
LOADERS = {
    "load": bp.load,
    "load_checkpoint": bp.load_checkpoint,
    "load_trainer": lambda p: bp.load_trainer(p, verbose=0),
}
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def bases(saved, mf):
    """name -> (file bytes, description, arrays) of each saved model and trainer file."""
    return {name: (p.read_bytes(), *mf.read(p)) for name, p in saved.items()}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "case.bprop"


@pytest.fixture(scope="module")
def peak():
    """The largest tracemalloc peak of any one load, checked at the end as well."""
    record = {"max": 0.0, "loads": 0}
    yield record
    assert record["loads"] > 0 and record["max"] < PEAK_LIMIT_MB


def only_model_file_errors(path, loader, record):
    """Load; only ModelFileError (one line) may escape, and memory stays under the limit."""
    tracemalloc.start()  # traced during the load only: tracing hypothesis costs more
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Rprop assumes full-batch gradients"
            try:
                LOADERS[loader](path)
            except bp.ModelFileError as err:
                assert "\n" not in str(err)
        mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    record["max"], record["loads"] = max(record["max"], mb), record["loads"] + 1
    assert mb < PEAK_LIMIT_MB


# --- byte level --------------------------------------------------------------------------------
@st.composite
def byte_mutations(draw, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        n = len(out)
        if n == 0:
            break
        # half the positions near the end: the ZIP directory and its end record live there
        pos = draw(st.one_of(st.integers(0, n - 1), st.integers(max(0, n - 400), n - 1)))
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate", "copy"]))
        if op == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            out[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, ord("{"), ord("[")]))
        elif op == "cut":
            del out[pos : pos + draw(st.integers(1, 64))]
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "truncate":
            del out[pos:]
        else:
            out[pos:pos] = out[: draw(st.integers(1, 64))]
    return bytes(out)


@settings(FUZZ, max_examples=900)
@given(st.data())
def test_byte_level_mutations(bases, scratch, peak, data):
    name = data.draw(st.sampled_from(sorted(bases)))
    scratch.write_bytes(data.draw(byte_mutations(bases[name][0])))
    only_model_file_errors(scratch, data.draw(st.sampled_from(sorted(LOADERS))), peak)


# --- JSON level --------------------------------------------------------------------------------
ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            0,
            1,
            -1,
            -3,
            2**31,
            2**63,
            10**30,
            0.5,
            -0.0,
            1e308,
            -1e-308,
            "",
            "x",
            "PCG64",
            "batch",
            "float64",
            [],
            {},
            [[]],
            [None],
            {"type": "Dense"},
        ]
    ),  # fmt: skip
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


@st.composite
def json_mutations(draw, meta):
    """The description with one value somewhere replaced, removed, duplicated or added to; or
    its text damaged."""
    meta = copy.deepcopy(meta)
    parent, key, node = None, None, meta
    for _ in range(draw(st.integers(0, 8))):
        if isinstance(node, dict) and node:
            k = draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            k = draw(st.integers(0, len(node) - 1))
        else:
            break
        parent, key, node = node, k, node[k]
    op = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap", "text"]))
    if op == "text":
        text = bytearray(json.dumps(meta).encode())
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(text) - 1))
            text[pos : pos + draw(st.integers(0, 3))] = draw(st.sampled_from(
                [b"", b"[", b"]", b"{", b'"', b"9", b"-", b"NaN", b"1e999", b"\xff", b"\\"]
            ))  # fmt: skip
        return text.decode(errors="replace")
    if parent is None or op == "add":
        target = node if isinstance(node, (dict, list)) else meta
        if isinstance(target, dict):
            target[draw(st.sampled_from(["surprise", "config", "type", "m", "0"]))] = draw(
                ODD_VALUES
            )
        else:
            target.append(draw(ODD_VALUES))
    elif op == "delete":
        del parent[key]
    elif op == "wrap":
        parent[key] = [node] if draw(st.booleans()) else {"config": node}
    else:
        parent[key] = draw(ODD_VALUES)
    return meta


@settings(FUZZ, max_examples=1000)
@given(st.data())
def test_description_mutations(bases, scratch, peak, mf, data):
    name = data.draw(st.sampled_from(sorted(bases)))
    _, meta, arrays = bases[name]
    mf.write(scratch, data.draw(json_mutations(meta)), arrays)
    only_model_file_errors(scratch, data.draw(st.sampled_from(sorted(LOADERS))), peak)


# --- array level -------------------------------------------------------------------------------
def _mutate_array(a: np.ndarray, op: str, value: float) -> np.ndarray | None:
    if op == "poison" and a.size:
        a = a.astype(np.float64)
        a.flat[0] = value
    elif op == "transpose":
        a = a[::-1].copy() if a.ndim == 1 else a.T.copy()
    elif op == "shorter":
        a = a.reshape(-1)[:-1]
    elif op == "longer":
        a = np.concatenate([a.reshape(-1), a.reshape(-1)[:1]])
    elif op == "extra_dim":
        a = a[None]
    elif op == "scalar":
        a = np.array(value)
    elif op == "fortran":
        a = np.asfortranarray(a)
    elif op == "delete":
        return None
    else:  # a dtype
        a = a.astype(op) if op != "object" else a.astype(object)
    return a


ARRAY_OPS = [
    "poison", "poison", "transpose", "shorter", "longer", "extra_dim", "scalar", "fortran",
    "delete", "complex128", "int64", "uint8", "bool", "float16", "datetime64[s]", "object",
]  # fmt: skip


@settings(FUZZ, max_examples=600)
@given(st.data())
def test_array_mutations(bases, scratch, peak, mf, data):
    name = data.draw(st.sampled_from(sorted(bases)))
    _, meta, arrays = bases[name]
    arrays = dict(arrays)
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(arrays) + ["opt/new", "param/9.W"]))
        op = data.draw(st.sampled_from(ARRAY_OPS))
        value = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1.0, 2.0**40]))
        base = arrays.get(key, np.zeros(3))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NaN to int, complex to float: a file may hold it
            new = _mutate_array(base, op, value)
        if new is None:
            arrays.pop(key, None)
        else:
            arrays[key] = new
    mf.write(scratch, meta, arrays)
    only_model_file_errors(scratch, data.draw(st.sampled_from(sorted(LOADERS))), peak)
