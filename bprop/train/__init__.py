"""Training: schedules, the trainer and ``fit``, callbacks, history."""

from bprop.train.callbacks import Callback, EarlyStopping
from bprop.train.history import History
from bprop.train.schedules import FullBatch, MiniBatch, Online, Schedule, get_schedule
from bprop.train.trainer import Trainer, TrainingDiverged, fit

__all__ = [
    "Callback",
    "EarlyStopping",
    "FullBatch",
    "History",
    "MiniBatch",
    "Online",
    "Schedule",
    "Trainer",
    "TrainingDiverged",
    "fit",
    "get_schedule",
]
