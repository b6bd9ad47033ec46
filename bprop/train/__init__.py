"""Training: schedules, the trainer (the one training loop) and ``fit``, gradient sources,
training on streams (``fit_stream``), callbacks, history."""

from bprop.errors import TrainingDiverged
from bprop.train.callbacks import Callback, EarlyStopping
from bprop.train.history import History, StreamHistory
from bprop.train.schedules import (
    FullBatch,
    MiniBatch,
    Online,
    Schedule,
    StreamSchedule,
    get_schedule,
)
from bprop.train.stream import fit_stream
from bprop.train.trainer import Trainer, fit

__all__ = [
    "Callback",
    "EarlyStopping",
    "FullBatch",
    "History",
    "MiniBatch",
    "Online",
    "Schedule",
    "StreamHistory",
    "StreamSchedule",
    "Trainer",
    "TrainingDiverged",
    "fit",
    "fit_stream",
    "get_schedule",
]
