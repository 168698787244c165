import csv
import os
import types

import numpy as np
import pytest

import ember
from ember.train import Callback, CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint


class Script(Callback):
    """Puts ``values[epoch]`` into the logs as ``key``, for the callbacks after it to see."""

    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(f"batch_begin {batch}")

    def on_train_batch_end(self, batch, logs=None):
        assert isinstance(logs["loss"], float)
        self.calls.append(f"batch_end {batch}")

    def on_test_begin(self, logs=None):
        self.calls.append("test_begin")

    def on_test_end(self, logs=None):
        self.calls.append("test_end")

    def on_epoch_end(self, epoch, logs=None):
        assert self.trainer.epoch == epoch + 1 and len(self.trainer.history) == epoch + 1
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_hooks_are_called_in_keras_order(make_trainer, data, tk):
    x, y = data
    rec = Recorder()
    t = make_trainer(callbacks=[rec])
    t.fit(tk.loader(x[:32], y[:32]), epochs=2, val_loader=tk.loader(x[:16], y[:16]))
    keys = "['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']"
    epoch = lambda e: [f"epoch_begin {e}", "batch_begin 0", "batch_end 0", "batch_begin 1", "batch_end 1",
                       "test_begin", "test_end", f"epoch_end {e} {keys}"]
    assert rec.calls == ["train_begin"] + epoch(0) + epoch(1) + ["train_end"]


def _stub_trainer(model=None):
    return types.SimpleNamespace(model=model, stop_training=False, is_main_process=True)


def _run(cb, values, trainer=None):
    """Feed ``values`` of val_loss to ``cb`` epoch by epoch, as fit would; returns the epochs run."""
    trainer = trainer or _stub_trainer()
    cb.set_trainer(trainer)
    cb.on_train_begin({})
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {"val_loss": v, "val_accuracy": -v})
        if trainer.stop_training:
            return epoch + 1
    return len(values)


@pytest.mark.parametrize("values, patience, min_delta, epochs", [
    ([1.0, 0.9, 0.95, 0.96, 0.97, 0.5], 2, 0.0, 4),   # two epochs without improvement after epoch 1
    ([1.0, 0.9, 0.95, 0.96, 0.97, 0.5], 0, 0.0, 3),   # patience 0: the first epoch without one
    ([1.0, 0.99, 0.98, 0.97, 0.96, 0.95], 2, 0.05, 3),  # improvements smaller than min_delta do not count
    ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], 1, 0.0, 6),      # always improving: never stops
])
def test_early_stopping_follows_keras(values, patience, min_delta, epochs):
    assert _run(EarlyStopping("val_loss", patience=patience, min_delta=min_delta), values) == epochs


def test_early_stopping_auto_mode_maximises_accuracy():
    es = EarlyStopping("val_accuracy", patience=1)
    assert es.mode == "max"
    assert _run(es, [1.0, 0.9, 0.95, 0.96]) == 4 - 1  # -v: accuracy rises, rises, falls, falls
    assert EarlyStopping("val_loss").mode == "min"


def test_auto_mode_asks_the_trainers_metric(make_trainer):
    from ember.train import MeanMetric

    es = EarlyStopping("val_score", patience=1)
    assert es.mode == "min"  # Keras' rule, knowing nothing of the metric yet
    make_trainer(metrics=[MeanMetric(lambda o, y: 0.0, name="score", mode="max")], callbacks=[es])
    es.on_train_begin({})
    assert es.mode == "max" and es.best == -np.inf


def test_early_stopping_baseline_must_be_beaten():
    values = [0.9, 0.8, 0.85, 0.7]
    assert _run(EarlyStopping(patience=2), values) == 4
    assert _run(EarlyStopping(patience=2, baseline=0.5), values) == 3  # epochs above 0.5 count as waiting


def test_early_stopping_restores_the_best_weights_and_stops_fit(make_trainer, data, tk):
    x, y = data
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append({k: np.array(v) for k, v in self.model.state_dict().items()})

    es = EarlyStopping("score", patience=1, restore_best_weights=True)
    t = make_trainer(callbacks=[Script("score", [3.0, 1.0, 2.0, 2.5, 0.1, 0.1]), Snap(), es])
    t.fit(tk.loader(x, y), epochs=6)
    assert t.epoch == 3 and es.stopped_epoch == 2 and es.best_epoch == 1
    for k, v in t.model.state_dict().items():
        assert np.array_equal(v, snapshots[1][k])


def test_early_stopping_names_the_missing_key(make_trainer, data, tk):
    t = make_trainer(callbacks=[EarlyStopping()])
    with pytest.raises(KeyError, match="monitors 'val_loss', which is not in this epoch's logs.*val_loader"):
        t.fit(tk.loader(*data), epochs=1)


def test_callback_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="patience must be an int >= 0, got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'best'"):
        ModelCheckpoint(tmp_path / "m.npz", mode="best")
    with pytest.raises(ValueError, match="interval must be 'epoch' or 'batch'"):
        LearningRateScheduler(None, interval="step")


def test_model_checkpoint_saves_the_best_weights(make_trainer, data, tk, tmp_path):
    x, y = data
    path = str(tmp_path / "ckpt" / "e{epoch:02d}-{score:.1f}.npz")
    mc = ModelCheckpoint(path, monitor="score", save_best_only=True, save_weights_only=True)
    t = make_trainer(callbacks=[Script("score", [3.0, 1.0, 2.0]), mc])
    t.fit(tk.loader(x, y), epochs=3)
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["e01-3.0.npz", "e02-1.0.npz"]
    saved = ember.load(tmp_path / "ckpt" / "e02-1.0.npz")
    assert set(saved) == set(t.model.state_dict())


def test_model_checkpoint_full_checkpoint_resumes(make_trainer, data, tk, tmp_path):
    x, y = data
    t = make_trainer(callbacks=[ModelCheckpoint(tmp_path / "last.npz", monitor="loss")])
    t.fit(tk.loader(x, y), epochs=2)
    t2 = make_trainer(callbacks=[ModelCheckpoint(tmp_path / "last.npz", monitor="loss")])
    t2.load_checkpoint(tmp_path / "last.npz")
    assert t2.epoch == 2 and t2.history.to_dict() == t.history.to_dict()
    for a, b in zip(t.model.parameters(), t2.model.parameters()):
        assert np.array_equal(a.data, b.data)


def test_model_checkpoint_filepath_errors_name_the_keys(make_trainer, data, tk, tmp_path):
    t = make_trainer(callbacks=[ModelCheckpoint(str(tmp_path / "{val_acc}.npz"))])
    with pytest.raises(ValueError, match="cannot fill in filepath.*accuracy"):
        t.fit(tk.loader(*data), epochs=1)


def test_csv_logger_writes_a_row_per_epoch_and_appends(make_trainer, data, tk, tmp_path):
    x, y = data
    path = tmp_path / "log.csv"
    t = make_trainer(callbacks=[CSVLogger(path)])
    t.fit(tk.loader(x, y), epochs=2, val_loader=tk.loader(x, y))
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert float(rows[1]["loss"]) == pytest.approx(t.history["loss"][1])
    t.callbacks = [CSVLogger(path, append=True)]
    t.callbacks[0].set_trainer(t)
    t.fit(tk.loader(x, y), epochs=3, val_loader=tk.loader(x, y))
    assert [r["epoch"] for r in csv.DictReader(open(path))] == ["0", "1", "2"]
    assert os.listdir(tmp_path) == ["log.csv"]  # no temporary files left behind


def test_lr_scheduler_per_epoch_and_per_batch(make_trainer, data, tk):
    from ember.optim.lr_scheduler import StepLR

    x, y = data
    t = make_trainer(lr=0.1, scheduler=lambda opt: StepLR(opt, step_size=1, gamma=0.5))
    t.fit(tk.loader(x, y), epochs=3)
    assert t.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    t = make_trainer(lr=0.1, scheduler=lambda opt: LearningRateScheduler(StepLR(opt, step_size=2, gamma=0.5), "batch"))
    t.fit(tk.loader(x, y), epochs=2)  # 6 batches an epoch: 3 halvings per epoch
    assert t.history["lr"] == pytest.approx([0.1, 0.1 / 8])
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 64)


def test_a_keras_schedule_function(make_trainer, data, tk, tmp_path):
    t = make_trainer(lr=0.1, scheduler=lambda opt: LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr / 10))
    t.fit(tk.loader(*data), epochs=3)
    assert t.history["lr"] == pytest.approx([0.1, 0.01, 0.001])
    t.save_checkpoint(tmp_path / "c.npz")  # nothing of the function's to save
    with pytest.raises(ValueError, match="per epoch, not per batch"):
        LearningRateScheduler(lambda e, lr: lr, interval="batch")
    with pytest.raises(TypeError, match="expects a scheduler"):
        LearningRateScheduler(0.1)


def test_reduce_lr_on_plateau_gets_the_monitored_value(make_trainer, data, tk):
    from ember.optim.lr_scheduler import ReduceLROnPlateau

    x, y = data
    fed = []

    def plateau(opt):
        s = ReduceLROnPlateau(opt, factor=0.5, patience=0)
        orig = s.step
        s.step = lambda metric: (fed.append(metric), orig(metric))[1]
        return s

    t = make_trainer(lr=0.1, scheduler=plateau)
    t.fit(tk.loader(x, y), epochs=2, val_loader=tk.loader(x, y))
    assert fed == pytest.approx(t.history["val_loss"])
    plateau = t.scheduler
    with pytest.raises(ValueError, match="per epoch, not per batch"):
        LearningRateScheduler(plateau, interval="batch")
