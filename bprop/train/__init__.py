"""Training: schedules, the trainer (the one training loop) and ``fit``, gradient sources,
training on streams (``fit_stream``) and real-time learning (``train_online``), callbacks,
history."""

from bprop.errors import TrainingDiverged
from bprop.train.callbacks import Callback, EarlyStopping
from bprop.train.checkpoint import ModelCheckpoint
from bprop.train.history import History, StreamHistory
from bprop.train.realtime import train_online
from bprop.train.schedules import (
    FullBatch,
    MiniBatch,
    Online,
    Schedule,
    StepSchedule,
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
    "ModelCheckpoint",
    "Online",
    "Schedule",
    "StreamHistory",
    "StepSchedule",
    "StreamSchedule",
    "Trainer",
    "TrainingDiverged",
    "fit",
    "fit_stream",
    "get_schedule",
    "train_online",
]
