"""Every registered layer declares, from its config alone, the arrays building it gives."""

import numpy as np
import pytest

import bprop.recurrent  # noqa: F401 - registers the recurrent layers
from bprop.layers import LAYERS, Sequential

CONFIGS = {
    "Dense": [{"n_in": 3, "n_out": 5}, {"n_in": 2, "n_out": 4, "bias": False}],
    "Sigmoid": [{}],
    "Tanh": [{}],
    "ReLU": [{}],
    "LeakyReLU": [{"alpha": 0.1}],
    "Identity": [{}],
    "Softmax": [{}],
    "Dropout": [{"p": 0.3}],
    "BatchNorm": [{"n": 7}],
    "Recurrent": [
        {"cell": {"type": cell, "config": {"n_in": 3, "n_hidden": 4}}}
        for cell in ("Elman", "LSTM", "GRU", "PeepholeLSTM", "GRUResetBefore")
    ],
    "TimeDistributed": [
        {"layer": {"type": "Dense", "config": {"n_in": 4, "n_out": 2}}},
        {"layer": {"type": "BatchNorm", "config": {"n": 3}}},
    ],
    "SettlingNetwork": [{"n_units": 6, "n_in": 2, "output_units": 2}],
    "Seq2Seq": [
        {"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "attention": 3, "cell": cell}
        for cell in ("gru", "lstm", "elman")
    ]
    + [{"src_vocab": 2, "tgt_vocab": 3, "hidden": 2}]
    + [
        {"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "cell": cell, "embed": 3, "encoder": enc}
        for cell in ("gru", "lstm")
        for enc in ("bidirectional", "forward")
    ]
    + [{"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "embed": 0, "encoder": "bidirectional"}],
    "Embedding": [{"vocab": 9, "dim": 3}],
    "Bidirectional": [
        {
            "cell_fwd": {"type": "LSTM", "config": {"n_in": 3, "n_hidden": 4}},
            "cell_bwd": {"type": "GRU", "config": {"n_in": 3, "n_hidden": 2}},
        },
        {
            "cell_fwd": {"type": "Elman", "config": {"n_in": 2, "n_hidden": 4}},
            "cell_bwd": {"type": "Elman", "config": {"n_in": 2, "n_hidden": 4}},
            "merge": "sum",
            "return_sequences": False,
        },
    ],
}


def test_the_table_covers_every_registered_layer():
    assert set(CONFIGS) == set(LAYERS) - {"Sequential"}


@pytest.mark.parametrize(
    "name, config", [(name, c) for name, configs in CONFIGS.items() for c in configs]
)
def test_declared_shapes_equal_the_built_layer(name, config):
    cls = LAYERS[name]
    params, buffers = cls.declared_shapes(config)
    layer = cls.from_config(config)
    assert params == {k: tuple(v.shape) for k, v in layer.params.items()}
    assert buffers == {k: tuple(v.shape) for k, v in layer.buffers.items()}


@pytest.mark.parametrize(
    "name, config",
    [
        ("Dense", {"n_in": 0, "n_out": 2}),
        ("Dense", {"n_in": True, "n_out": 2}),
        ("Dense", {"n_in": 2.5, "n_out": 2}),
        ("BatchNorm", {}),
        ("Recurrent", {"cell": {"type": "Hopfield", "config": {}}}),
        ("Recurrent", {"cell": {"type": "LSTM", "config": {"n_in": 3, "n_hidden": "4"}}}),
        ("TimeDistributed", {"layer": {"type": "Sequential", "layers": []}}),
        ("SettlingNetwork", {"n_units": -1, "n_in": 2}),
        ("Seq2Seq", {"src_vocab": 5, "tgt_vocab": 6, "hidden": 0}),
        ("Seq2Seq", {"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "cell": "hopfield"}),
        ("Seq2Seq", {"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "embed": -3}),
        ("Seq2Seq", {"src_vocab": 5, "tgt_vocab": 6, "hidden": 4, "encoder": "sideways"}),
        ("Embedding", {"vocab": 0, "dim": 2}),
        ("Bidirectional", {"cell_fwd": {"type": "LSTM", "config": {}}}),
    ],
)
def test_invalid_sizes_are_refused_without_building(name, config):
    with pytest.raises(ValueError):
        LAYERS[name].declared_shapes(config)


def test_declaring_a_huge_layer_allocates_nothing():
    params, _ = LAYERS["Dense"].declared_shapes({"n_in": 10**6, "n_out": 10**6})
    assert np.prod(params["W"], dtype=object) == 10**12
    assert Sequential.declared_shapes({}) == ({}, {})
