"""ember.train: a Trainer with metrics, Keras-style callbacks, History and checkpoints.

Example::

    from ember import nn, optim
    from ember.train import EarlyStopping, ModelCheckpoint, Trainer

    trainer = Trainer(model, optim.Adam(model.parameters()), nn.CrossEntropyLoss(),
                      metrics=["accuracy"],
                      callbacks=[EarlyStopping("val_loss", patience=3, restore_best_weights=True),
                                 ModelCheckpoint("ckpt/last.npz", monitor="val_loss")])
    history = trainer.fit(train_loader, epochs=20, val_loader=val_loader)
    print(trainer.evaluate(test_loader))      # {"loss": 0.03, "accuracy": 0.991}
    history.plot("curves.png")

    # later, in another process: build the same trainer, then carry on to epoch 30
    trainer.load_checkpoint("ckpt/last.npz")
    trainer.fit(train_loader, epochs=30, val_loader=val_loader)
"""
from .callbacks import Callback, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from .history import History
from .metrics import METRICS, Accuracy, MeanMetric, Metric, TopKAccuracy, get_metric
from .trainer import NonFiniteGradientError, NonFiniteLossError, Trainer

__all__ = [
    "Trainer", "NonFiniteLossError", "NonFiniteGradientError", "History",
    "Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "LearningRateScheduler",
    "Metric", "Accuracy", "TopKAccuracy", "MeanMetric", "get_metric", "METRICS",
]
