"""Layers: the contract, Dense, activations, Dropout, BatchNorm, Embedding, Sequential."""

from bprop import registry
from bprop.layers.activations import (
    ACTIVATION_LAYERS,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from bprop.layers.base import Layer
from bprop.layers.batchnorm import BatchNorm
from bprop.layers.dense import Dense
from bprop.layers.dropout import Dropout
from bprop.layers.embedding import Embedding
from bprop.layers.flat import ParamSpace
from bprop.layers.mlp import mlp
from bprop.layers.sequential import Sequential

#: the layers a model file can name (this kind's table of :mod:`bprop.registry`)
LAYERS: dict[str, type[Layer]] = registry.table("layer")
for _cls in (
    Dense,
    Sigmoid,
    Tanh,
    ReLU,
    LeakyReLU,
    Identity,
    Softmax,
    Dropout,
    BatchNorm,
    Sequential,
    Embedding,
):
    registry.register("layer", _cls)

__all__ = [
    "ACTIVATION_LAYERS",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Embedding",
    "Identity",
    "LAYERS",
    "Layer",
    "LeakyReLU",
    "ParamSpace",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "mlp",
]
