"""Model files to test on, and surgery on them (tests use the ``mf`` fixture: this module)."""

import json
import sys
import zipfile

import numpy as np
import pytest

import bprop as bp
from bprop.recurrent import GRU, LSTM, Recurrent, SettlingNetwork, TimeDistributed

META = "__bprop__.json"
RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 4))
Y = RNG.integers(0, 3, size=12)
XS = RNG.normal(size=(6, 5, 3))  # sequences (N, T, D)
YS = RNG.integers(0, 2, size=(6, 5))


def mlp_trainer():
    """An MLP with BatchNorm and Dropout, Adam state, and a validation split."""
    net = bp.Sequential(
        bp.Dense(4, 6, rng=0),
        bp.BatchNorm(6),
        bp.ReLU(),
        bp.Dropout(0.2, rng=1),
        bp.Sequential(bp.Dense(6, 3, rng=2, freeze=("b",))),
    )
    tr = bp.Trainer(net, "softmax_cross_entropy", bp.Adam(0.01), batch_size=4, seed=3, verbose=0)
    tr.fit(X, Y, epochs=2)
    tr.split = {"n": 12, "fraction": 0.25, "val_index": np.array([7, 2, 9], dtype=np.int64)}
    return tr


def recurrent_trainer():
    """An LSTM → GRU → Dense sequence model with iRprop+ state (a scalar that may be None)."""
    net = bp.Sequential(
        Recurrent(LSTM(3, 4, rng=0)),
        Recurrent(GRU(4, 3, rng=1)),
        TimeDistributed(bp.Dense(3, 2, rng=2)),
    )
    tr = bp.Trainer(net, "softmax_cross_entropy", bp.Rprop("irprop+"), schedule="batch", seed=0,
                    verbose=0)  # fmt: skip
    tr.fit(XS, YS, epochs=2)
    return tr


def settling_trainer():
    """An Almeida–Pineda settling network with momentum state."""
    net = bp.Sequential(SettlingNetwork(5, 4, output_units=3, rng=0))
    tr = bp.Trainer(net, "softmax_cross_entropy", bp.SGD(0.1, momentum=0.9), batch_size=6,
                    seed=1, verbose=0)  # fmt: skip
    tr.fit(X, Y, epochs=2)
    return tr


TRAINERS = {"mlp": mlp_trainer, "recurrent": recurrent_trainer, "settling": settling_trainer}


def read(path):
    """(description, {member key: array}) of a model file, read with NumPy directly."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return json.loads(arrays.pop(META).tobytes()), arrays


def write(path, meta, arrays):
    """Write a model file from a description (a dict, or JSON text) and arrays."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays, **{META: np.frombuffer(text.encode(), dtype=np.uint8)})


def rewrite(src, dst, meta=None, arrays=None):
    """Copy a model file, changing its description and/or arrays with the given functions."""
    m, a = read(src)
    write(dst, (meta or (lambda x: x))(m), (arrays or (lambda x: x))(a))
    return dst


def write_raw(path, members):
    """A ZIP of raw members {name: bytes} (name as stored, with .npy); a bytes value may be a
    (bytes, compress_type) pair."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            data, kind = data if isinstance(data, tuple) else (data, zipfile.ZIP_STORED)
            z.writestr(name, data, compress_type=kind)


def npy_bytes(array=None, header=None):
    """The bytes of a .npy member: ``array`` as NumPy writes it, or a raw header dict."""
    import io

    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, array, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


@pytest.fixture(scope="session")
def mf():
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """Saved files: each trainer in TRAINERS, and the MLP's network alone (``net``)."""
    folder = tmp_path_factory.mktemp("saved")
    paths = {}
    for name, make in TRAINERS.items():
        paths[name] = folder / f"{name}.bprop"
        bp.save(make(), paths[name])
    paths["net"] = folder / "net.bprop"
    bp.save(mlp_trainer().net, paths["net"])
    return paths
