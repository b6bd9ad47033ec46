"""The backend seam, proven for the model: the reference path of every registered layer and cell,
every loss and the op table's readable online epoch run on the array-API standard's strict
namespace and give the NumPy results to round-off (same seeds, float64; see conftest.py).
The layer table is keyed by the registry's names, so a newly registered layer without a row
fails :func:`test_the_tables_cover_the_registry`; the cells are taken from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop import backend, registry
from bprop.losses import LOSSES

pytest.importorskip("array_api_strict")


def data(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# --- layers -------------------------------------------------------------------------------
def _settling() -> bp.Layer:
    from bprop.recurrent import SettlingNetwork

    return SettlingNetwork(5, 3, output_units=2, init_scale=0.5, rng=4)


def _recurrent() -> bp.Layer:
    from bprop.recurrent import Elman, Recurrent

    return Recurrent(Elman(3, 4, rng=0), fast=False)


def _time_distributed() -> bp.Layer:
    from bprop.recurrent import TimeDistributed

    return TimeDistributed(bp.Dense(3, 2, rng=0))


def _bidirectional() -> bp.Layer:
    from bprop.recurrent import GRU, LSTM, Bidirectional

    return Bidirectional(LSTM(3, 4, rng=0, kernel="numpy"), GRU(3, 2, rng=1), fast=False)


def _seq2seq() -> bp.Layer:
    from bprop.recurrent.seq2seq import Seq2Seq

    return Seq2Seq(src_vocab=5, tgt_vocab=6, hidden=4, attention=3, rng=0)


def _packed() -> np.ndarray:
    from bprop.recurrent.seq2seq import pack

    return pack([[0, 4, 2, 4], [3, 1], [2]], [[1, 3, 5], [1, 4, 4], [1, 0, 2]])


IDS = np.array([[0, 4, 4, 1], [2, 0, 4, 3]])  # repeated ids: their gradients add up

# registered name: (make the layer, input shape or the input itself: ids)
LAYERS: dict[str, tuple[Callable[[], bp.Layer], tuple[int, ...] | Callable[[], np.ndarray]]] = {
    "BatchNorm": (lambda: bp.BatchNorm(5), (6, 5)),
    "Bidirectional": (_bidirectional, (2, 5, 3)),
    "Embedding": (lambda: bp.Embedding(5, 3, rng=2), lambda: IDS),
    "Dense": (lambda: bp.Dense(5, 4, rng=1), (6, 5)),
    "Dropout": (lambda: bp.Dropout(0.4, rng=7), (6, 5)),
    "Identity": (bp.Identity, (6, 5)),
    "LeakyReLU": (lambda: bp.LeakyReLU(0.1), (6, 5)),
    "ReLU": (bp.ReLU, (6, 5)),
    "Seq2Seq": (_seq2seq, _packed),
    "Recurrent": (_recurrent, (2, 5, 3)),
    "Sequential": (
        lambda: bp.Sequential(bp.Dense(5, 4, rng=0), bp.Tanh(), bp.Dense(4, 3, rng=1)),
        (6, 5),
    ),
    "SettlingNetwork": (_settling, (4, 3)),
    "Sigmoid": (bp.Sigmoid, (6, 5)),
    "Softmax": (bp.Softmax, (6, 5)),
    "Tanh": (bp.Tanh, (6, 5)),
    "TimeDistributed": (_time_distributed, (2, 4, 3)),
}


def on_backend(x: np.ndarray) -> Any:
    """``x`` on the current backend: integer ids as int64, numbers in the default float."""
    return backend.get_xp().asarray(x) if x.dtype.kind == "i" else backend.asarray(x)


def forward_backward(layer: bp.Layer, x: np.ndarray, train: bool, **kwargs: Any) -> Any:
    y, cache = layer.forward(on_backend(x), train=train, **kwargs)
    dx = layer.backward(backend.asarray(data(*y.shape, seed=9)), cache)
    grads = {f"{i}.{k}": v for i, leaf in enumerate(layer.leaves()) for k, v in leaf.grads.items()}
    return y, dx, grads


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_forward_backward(name: str, train: bool, same_on_both: Any) -> None:
    make, shape = LAYERS[name]
    x = shape() if callable(shape) else data(*shape)
    same_on_both(lambda: forward_backward(make(), x, train), name)


# --- padded batches of variable-length sequences (bprop.recurrent.lengths) -----------------
def _lengths_cases() -> dict[str, tuple[Callable[[], bp.Layer], np.ndarray]]:
    from bprop.recurrent import GRU, LSTM, Recurrent

    x = data(3, 5, 3)
    return {
        "Recurrent(LSTM)": (lambda: Recurrent(LSTM(3, 4, rng=0, kernel="numpy"), fast=False), x),
        "Recurrent(GRU)->one": (
            lambda: Recurrent(GRU(3, 4, rng=0, kernel="numpy"), False, fast=False), x
        ),
        "TimeDistributed": (_time_distributed, x),
        "Bidirectional": (_bidirectional, x),
        "Embedding+Recurrent+TimeDistributed": (
            lambda: bp.Sequential(bp.Embedding(5, 3, rng=2), _recurrent(), bp.Tanh(),
                                  _time_distributed_of(4)),
            np.r_[IDS, [[1, 1, 1, 1]]],
        ),
    }  # fmt: skip


def _time_distributed_of(n_in: int) -> bp.Layer:
    from bprop.recurrent import TimeDistributed

    return TimeDistributed(bp.Dense(n_in, 2, rng=3))


LENGTHS_CASES = _lengths_cases()


@pytest.mark.parametrize("name", sorted(LENGTHS_CASES))
def test_layer_with_lengths(name: str, same_on_both: Any) -> None:
    make, x = LENGTHS_CASES[name]
    lengths = np.array([2, x.shape[1], 1])  # unsorted, one full, one of a single step
    same_on_both(lambda: forward_backward(make(), x, True, lengths=lengths), name)


# --- losses ---------------------------------------------------------------------------------
def _targets(name: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if name == "softmax_cross_entropy":
        return rng.integers(0, 4, 6)
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, (6, 4)).astype(np.float64)
    return rng.normal(size=(6, 4))


# every loss, in each of its forms: (name, constructor arguments, probabilities as outputs)
LOSS_CASES = [
    *((name, {"reduction": r}, name == "binary_cross_entropy") for name in LOSSES
      for r in ("sum", "mean")),
    ("binary_cross_entropy", {"from_logits": True}, False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "probabilities"), LOSS_CASES)
def test_loss_value_and_grad(
    name: str, kwargs: dict[str, Any], probabilities: bool, same_on_both: Any
) -> None:
    y = data(6, 4)
    if probabilities:
        y = 1 / (1 + np.exp(-y))

    def run() -> Any:
        t = _targets(name)
        t = backend.get_xp().asarray(t) if t.dtype.kind == "i" else backend.asarray(t)
        loss, dy = LOSSES[name](**kwargs).value_and_grad(backend.asarray(y), t)
        assert isinstance(loss, float)
        return [loss, dy]

    same_on_both(run, name)


# --- cells (the per-step reference path, through a Recurrent layer) -----------------------
def _cell(name: str) -> Any:
    cls = registry.lookup("cell", name)
    kwargs = {} if name == "Elman" else {"kernel": "numpy"}
    return cls(3, 4, rng=5, **kwargs)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("name", sorted(registry.table("cell")))
def test_cell_forward_backward_through_time(
    name: str, return_sequences: bool, same_on_both: Any
) -> None:
    from bprop.recurrent import Recurrent

    def run() -> Any:
        rnn = Recurrent(_cell(name), return_sequences=return_sequences, fast=False)
        x = backend.asarray(data(2, 6, 3))
        y, cache = rnn.forward(x, train=True)
        dx = rnn.backward(backend.asarray(data(*y.shape, seed=2)), cache)
        return y, dx, dict(rnn.grads), cache.dinitial_state

    same_on_both(run, name)


# --- the op table's readable online epoch -----------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("loss", ["softmax_ce", "squared", "mse", "bce", "bce_logits"])
def test_online_epoch_reference(loss: str, nesterov: bool, same_on_both: Any) -> None:
    from bprop.ops import online

    sizes, w_off, b_off = np.array([3, 4, 2]), np.array([0, 16]), np.array([12, 24])
    out_act = online.ACTIVATIONS.index("sigmoid" if loss == "bce" else "identity")
    acts, alphas = np.array([online.ACTIVATIONS.index("leaky_relu"), out_act]), np.array([0.1, 0])
    decay = np.r_[np.ones(12), np.zeros(4), np.ones(8), np.zeros(2)]
    rng = np.random.default_rng(31)
    labels = loss == "softmax_ce"
    T = rng.integers(0, 2, (6, 1 if labels else 2))
    T = T if labels or loss.startswith("bce") else rng.normal(size=(6, 2))

    def run() -> Any:
        P, V = backend.asarray(data(26, seed=32) * 0.5), backend.asarray(np.zeros(26))
        Tb = backend.get_xp().asarray(T) if labels else backend.asarray(T)
        code = online.LOSSES.index(loss)
        total, right = online.online_epoch(
            backend.asarray(data(6, 3, seed=33)), Tb, labels, P, V, sizes, w_off, b_off, acts,
            alphas, code, 0.1, 0.5, nesterov, 1e-3, backend.asarray(decay), None, None, 0.5,
        )  # fmt: skip
        return P, V, float(total), int(right)

    same_on_both(run, loss)


def test_the_tables_cover_the_registry() -> None:
    assert set(LAYERS) == set(registry.table("layer")), "add a row to LAYERS for a new layer"
    assert set(LOSSES) == {case[0] for case in LOSS_CASES}
