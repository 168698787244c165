"""ember.train: a Trainer with metrics, Keras-style callbacks, History and checkpoints."""
from .callbacks import Callback, CSVLogger, EarlyStopping, LRScheduler, ModelCheckpoint
from .history import History
from .metrics import METRICS, Accuracy, MeanMetric, Metric, TopKAccuracy, get_metric
from .trainer import NonFiniteLossError, Trainer

__all__ = [
    "Trainer", "NonFiniteLossError", "History",
    "Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "LRScheduler",
    "Metric", "Accuracy", "TopKAccuracy", "MeanMetric", "get_metric", "METRICS",
]
