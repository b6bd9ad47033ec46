"""FANN (Fast Artificial Neural Network library, C; Nissen 2003) as a benchmark peer, via ctypes.

FANN's incremental training (``FANN_TRAIN_INCREMENTAL``) is online backprop written as plain C
loops, the classic reference for how fast per-example SGD can be. This module builds a FANN
network with the *same* weights and maths as a bprop MLP and runs whole epochs of
``fann_train_epoch`` on a ``fann_train_data`` filled in memory, so no Python runs per example.

The same maths, from FANN 2.2's definitions (``fann_activation.h``, ``fann_train.c``):

* ``FANN_SIGMOID_SYMMETRIC`` computes 2 / (1 + exp(−2 s x)) − 1 = tanh(s x): with steepness
  s = 1 it is exactly tanh (FANN's default steepness is 0.5, so it is set);
* ``FANN_LINEAR`` with steepness 1 is the identity output, and its derivative is 1;
* with ``FANN_ERRORFUNC_LINEAR`` (the default is a tanh-shaped error) the output error is
  t − a, and the update of every weight is w ← w + η (t − a)·… — SGD on ½ Σₖ (aₖ − tₖ)², which
  is bprop's ``SquaredError``; momentum 0;
* FANN's MSE is Σ (t − a)² / (N K) (``num_MSE`` counts outputs, not examples), so it is
  2/K × bprop's mean per-example ½ Σ (a − t)², each from the outputs before that example's update;
* one difference FANN has by design: its derivative of the symmetric sigmoid clips the unit's
  value to [−0.98, 0.98] first (``fann_activation_derived``), so a hidden unit with |tanh| > 0.98
  back-propagates 1 − 0.98² instead of 1 − a². Where no hidden value passes 0.98 the two are
  the same computation; :func:`replay` counts the places where one does, and can replay either.

Weights: FANN numbers its neurons layer by layer, each layer ending with a bias neuron, and
every non-bias neuron of layer l + 1 has a connection from every neuron of layer l (bias
included); bprop's Wˡ[i, j] is the weight of the connection from unit i to unit j, bˡ[j] the
one from the bias neuron. ``fann_set_weight_array`` searches the network for each connection
(O(C²)), so :class:`FannNet` sets them once and :meth:`FannNet.copy` (``fann_copy``, its
settings made again: FANN 2.2.0's copy drops the training algorithm) hands each timed run a
fresh network with the starting weights.

Needs ``libfloatfann`` (Debian/Ubuntu: ``apt-get install libfann-dev``); :func:`load` returns
None without it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np

INSTALL = "apt-get install libfann-dev (FANN 2.2, provides libfloatfann.so)"
FANN_LINEAR, FANN_SIGMOID_SYMMETRIC = 0, 5
FANN_TRAIN_INCREMENTAL = 0
FANN_ERRORFUNC_LINEAR = 0
CLIP = 0.98  # fann_activation_derived's clip of a symmetric sigmoid's value


class Connection(ctypes.Structure):
    _fields_ = [
        ("from_neuron", ctypes.c_uint),
        ("to_neuron", ctypes.c_uint),
        ("weight", ctypes.c_float),
    ]


class TrainData(ctypes.Structure):
    _fields_ = [
        ("errno_f", ctypes.c_int),
        ("error_log", ctypes.c_void_p),
        ("errstr", ctypes.c_char_p),
        ("num_data", ctypes.c_uint),
        ("num_input", ctypes.c_uint),
        ("num_output", ctypes.c_uint),
        ("input", ctypes.POINTER(ctypes.POINTER(ctypes.c_float))),
        ("output", ctypes.POINTER(ctypes.POINTER(ctypes.c_float))),
    ]


_LIB: Any = None


def load() -> Any:
    """The float build of FANN as a ctypes library with its prototypes set, or None."""
    global _LIB
    if _LIB is not None:
        return _LIB
    name = ctypes.util.find_library("floatfann")
    for candidate in (name, "libfloatfann.so.2", "libfloatfann.so"):
        if not candidate:
            continue
        try:
            lib = ctypes.CDLL(candidate)
            break
        except OSError:
            continue
    else:
        return None
    p, u, f = ctypes.c_void_p, ctypes.c_uint, ctypes.c_float
    protos = {
        "fann_create_standard_array": (p, [u, ctypes.POINTER(u)]),
        "fann_copy": (p, [p]),
        "fann_destroy": (None, [p]),
        "fann_get_total_connections": (u, [p]),
        "fann_get_num_layers": (u, [p]),
        "fann_get_layer_array": (None, [p, ctypes.POINTER(u)]),
        "fann_get_bias_array": (None, [p, ctypes.POINTER(u)]),
        "fann_get_connection_array": (None, [p, ctypes.POINTER(Connection)]),
        "fann_set_weight_array": (None, [p, ctypes.POINTER(Connection), u]),
        "fann_set_activation_function_hidden": (None, [p, ctypes.c_int]),
        "fann_set_activation_function_output": (None, [p, ctypes.c_int]),
        "fann_set_activation_steepness_hidden": (None, [p, f]),
        "fann_set_activation_steepness_output": (None, [p, f]),
        "fann_set_training_algorithm": (None, [p, ctypes.c_int]),
        "fann_set_train_error_function": (None, [p, ctypes.c_int]),
        "fann_set_learning_rate": (None, [p, f]),
        "fann_set_learning_momentum": (None, [p, f]),
        "fann_train_epoch": (f, [p, ctypes.POINTER(TrainData)]),
        "fann_create_train": (ctypes.POINTER(TrainData), [u, u, u]),
        "fann_destroy_train": (None, [ctypes.POINTER(TrainData)]),
    }
    for fn, (restype, argtypes) in protos.items():
        getattr(lib, fn).restype = restype
        getattr(lib, fn).argtypes = argtypes
    _LIB = lib
    return lib


def _require() -> Any:
    lib = load()
    if lib is None:
        raise RuntimeError(f"FANN is not installed: {INSTALL}")
    return lib


class FannData:
    """A ``fann_train_data`` holding copies of X (N, n₀) and T (N, K), float32."""

    def __init__(self, X: np.ndarray, T: np.ndarray) -> None:
        lib = _require()
        n, n_in = X.shape
        n_out = T.shape[1]
        self.ptr = lib.fann_create_train(n, n_in, n_out)
        if not self.ptr:
            raise MemoryError("fann_create_train failed")
        data = self.ptr.contents
        for rows, src, width in ((data.input, X, n_in), (data.output, T, n_out)):
            # fann_create_train allocates each side as one block, the row pointers into it
            base = ctypes.addressof(rows[0].contents)
            last = ctypes.addressof(rows[n - 1].contents)
            if last - base != (n - 1) * width * 4:
                raise RuntimeError("fann_train_data rows are not one contiguous block")
            block = np.ascontiguousarray(src, dtype=np.float32)
            ctypes.memmove(base, block.ctypes.data, block.nbytes)

    def __del__(self) -> None:
        if getattr(self, "ptr", None) and _LIB is not None:
            _LIB.fann_destroy_train(self.ptr)
            self.ptr = None


class FannNet:
    """A FANN MLP with bprop's weights [(W (n_in, n_out), b), ...]: tanh hidden layers, an
    identity output, incremental SGD with learning rate ``lr`` on ½ Σ (a − t)² (see the
    module docstring)."""

    def __init__(self, weights: list, lr: float) -> None:
        self.lib = lib = _require()
        self.sizes = [weights[0][0].shape[0]] + [W.shape[1] for W, _ in weights]
        layers = (ctypes.c_uint * len(self.sizes))(*self.sizes)
        self.ann = lib.fann_create_standard_array(len(self.sizes), layers)
        if not self.ann:
            raise MemoryError("fann_create_standard_array failed")
        self.lr = lr
        self._configure()
        self._set(weights)

    def _configure(self) -> None:
        lib, ann = self.lib, self.ann
        lib.fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC)
        lib.fann_set_activation_steepness_hidden(ann, 1.0)
        lib.fann_set_activation_function_output(ann, FANN_LINEAR)
        lib.fann_set_activation_steepness_output(ann, 1.0)
        lib.fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL)
        lib.fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR)
        lib.fann_set_learning_rate(ann, self.lr)
        lib.fann_set_learning_momentum(ann, 0.0)

    def _index(self) -> tuple[Any, list]:
        """The connection array and, per connection, (layer, i, j) with i = n_in for the bias."""
        lib, ann = self.lib, self.ann
        n_layers = lib.fann_get_num_layers(ann)
        sizes = (ctypes.c_uint * n_layers)()
        bias = (ctypes.c_uint * n_layers)()
        lib.fann_get_layer_array(ann, sizes)
        lib.fann_get_bias_array(ann, bias)
        if list(sizes) != self.sizes:
            raise RuntimeError(f"FANN built layers {list(sizes)}, not {self.sizes}")
        start = np.cumsum([0] + [s + b for s, b in zip(sizes, bias, strict=True)])
        conns = (Connection * lib.fann_get_total_connections(ann))()
        lib.fann_get_connection_array(ann, conns)
        frm = np.array([c.from_neuron for c in conns])
        to = np.array([c.to_neuron for c in conns])
        layer = np.searchsorted(start, frm, side="right") - 1
        if not np.array_equal(np.searchsorted(start, to, side="right") - 1, layer + 1):
            raise RuntimeError("a FANN connection skips a layer: not a standard MLP")
        return conns, [layer, frm - start[layer], to - start[layer + 1]]

    def _set(self, weights: list) -> None:
        conns, (layer, i, j) = self._index()
        for k, c in enumerate(conns):
            W, b = weights[layer[k]]
            c.weight = float(b[j[k]] if i[k] == W.shape[0] else W[i[k], j[k]])
        self.lib.fann_set_weight_array(self.ann, conns, len(conns))

    def weights(self) -> list:
        """The network's weights as bprop's [(W, b), ...], float32."""
        conns, (layer, i, j) = self._index()
        w = np.array([c.weight for c in conns], dtype=np.float32)
        out = [
            (np.zeros((m, n), np.float32), np.zeros(n, np.float32))
            for m, n in zip(self.sizes, self.sizes[1:], strict=False)
        ]
        for lay, (W, b) in enumerate(out):
            sel = layer == lay
            is_b = sel & (i == W.shape[0])
            is_w = sel & ~is_b
            W[i[is_w], j[is_w]] = w[is_w]
            b[j[is_b]] = w[is_b]
        return out

    def copy(self) -> FannNet:
        """A fresh network with this one's weights and settings (``fann_copy``)."""
        twin = FannNet.__new__(FannNet)
        twin.lib, twin.sizes, twin.lr = self.lib, self.sizes, self.lr
        twin.ann = self.lib.fann_copy(self.ann)
        if not twin.ann:
            raise MemoryError("fann_copy failed")
        # FANN 2.2.0's fann_copy does not copy the training algorithm: the copy would train
        # by Rprop (the default), so every setting is made again
        twin._configure()
        return twin

    def train_epoch(self, data: FannData) -> float:
        """One epoch of incremental training, in data order, all in C; returns FANN's MSE."""
        return float(self.lib.fann_train_epoch(self.ann, data.ptr))

    def __del__(self) -> None:
        if getattr(self, "ann", None):
            self.lib.fann_destroy(self.ann)
            self.ann = None


def replay(weights: list, X: np.ndarray, T: np.ndarray, lr: float, clip: bool) -> tuple:
    """One epoch of online SGD on ½ Σ (a − t)² from ``weights`` (tanh hidden layers, identity
    output), replayed in float64 with NumPy: the derivative of tanh is 1 − a², or with ``clip``
    FANN's 1 − clip(a, ±0.98)². Returns (the weights after it, how many (example, hidden unit)
    values passed 0.98: where none did, FANN and bprop do the same computation)."""
    Ws = [(W.astype(np.float64), b.astype(np.float64)) for W, b in weights]
    count = 0
    for x, t in zip(X.astype(np.float64), T.astype(np.float64), strict=True):
        outs = [x]
        for k, (W, b) in enumerate(Ws):
            z = outs[-1] @ W + b
            outs.append(np.tanh(z) if k < len(Ws) - 1 else z)
        count += sum(int(np.sum(np.abs(a) > CLIP)) for a in outs[1:-1])
        delta = outs[-1] - t
        for k in range(len(Ws) - 1, -1, -1):
            W, b = Ws[k]
            a = np.clip(outs[k], -CLIP, CLIP) if clip else outs[k]
            below = (W @ delta) * (1 - a * a) if k > 0 else None
            W -= lr * np.outer(outs[k], delta)
            b -= lr * delta
            delta = below
    return Ws, count


def max_rel_diff(a: list, b: list) -> float:
    """The largest, over the arrays of two [(W, b), ...], of max |a − b| / max |b| (of max
    |a − b| where b is all zeros, as the biases start)."""
    pairs = [
        (x, y) for (Wa, ba), (Wb, bb) in zip(a, b, strict=True) for x, y in ((Wa, Wb), (ba, bb))
    ]
    return max(float(np.max(np.abs(x - y)) / (np.max(np.abs(y)) or 1.0)) for x, y in pairs)
