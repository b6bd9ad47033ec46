"""bprop: every classic type of backpropagation, exactly as published, verified and fast.

Example::

    >>> import bprop as bp
    >>> net = bp.Sequential(bp.Dense(64, 32), bp.Tanh(), bp.Dense(32, 10))
    >>> net.n_out
    10
"""

from bprop import backend, interrupt
from bprop.errors import TrainingInterrupted
from bprop.export import export_onnx
from bprop.gradcheck import GradcheckResult, gradcheck
from bprop.io import Checkpoint, ModelFileError, load, load_checkpoint, load_trainer, save
from bprop.layers import (
    BatchNorm,
    Dense,
    Dropout,
    Embedding,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    mlp,
)
from bprop.losses import (
    BinaryCrossEntropy,
    Loss,
    MeanSquaredError,
    SoftmaxCrossEntropy,
    SquaredError,
)
from bprop.optim import (
    SGD,
    AdaGrad,
    Adam,
    BoldDriver,
    Chain,
    ClipByGlobalNorm,
    ClipByValue,
    Momentum,
    Nesterov,
    Quickprop,
    RMSprop,
    Rprop,
    UpdateRule,
    WeightDecay,
)
from bprop.optim.methods import make_rule
from bprop.recurrent import (
    GRU,
    LSTM,
    RTRL,
    Bidirectional,
    Elman,
    Recurrent,
    Seq2Seq,
    SettlingNetwork,
    TimeDistributed,
    pad_sequences,
)
from bprop.rng import seed
from bprop.train import (
    Callback,
    EarlyStopping,
    FullBatch,
    History,
    MiniBatch,
    ModelCheckpoint,
    Online,
    Trainer,
    TrainingDiverged,
    fit,
    fit_stream,
)

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "GRU",
    "LSTM",
    "Bidirectional",
    "Elman",
    "Embedding",
    "Recurrent",
    "RTRL",
    "Seq2Seq",
    "SettlingNetwork",
    "TimeDistributed",
    "fit_stream",
    "AdaGrad",
    "Adam",
    "BoldDriver",
    "ClipByGlobalNorm",
    "ClipByValue",
    "Quickprop",
    "RMSprop",
    "Rprop",
    "WeightDecay",
    "make_rule",
    "BatchNorm",
    "BinaryCrossEntropy",
    "Callback",
    "Chain",
    "Checkpoint",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "FullBatch",
    "GradcheckResult",
    "History",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MeanSquaredError",
    "MiniBatch",
    "ModelCheckpoint",
    "ModelFileError",
    "Momentum",
    "Nesterov",
    "Online",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropy",
    "SquaredError",
    "Tanh",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "UpdateRule",
    "backend",
    "interrupt",
    "export_onnx",
    "fit",
    "gradcheck",
    "load",
    "load_checkpoint",
    "load_trainer",
    "mlp",
    "pad_sequences",
    "save",
    "seed",
]
