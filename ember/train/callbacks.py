"""Keras' callbacks and hook names: EarlyStopping, ModelCheckpoint, CSVLogger, LearningRateScheduler.

The Trainer calls, in list order: ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch,
logs)``, ``on_train_batch_begin/end(batch, logs)`` and ``on_test_begin/end(logs)``. Epochs and
batches are 0-based, as in Keras. At ``on_epoch_end`` the epoch is already counted and in the
History, and ``logs`` holds ``loss``, each metric, ``val_*`` when there is validation data and
``lr``. Setting ``trainer.stop_training = True`` ends ``fit`` after the current epoch.

A callback with state that a resumed run needs (EarlyStopping's patience counter) gives it in
``state_dict()`` and takes it back in ``load_state_dict()``; ``Trainer.save_checkpoint`` keeps it.
"""
import csv
import io
import math
import os

import numpy as np

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "LearningRateScheduler"]


class Callback:
    """Base class: override the hooks you need. ``self.trainer`` and ``self.model`` are set by the Trainer."""

    trainer = None

    def set_trainer(self, trainer):
        self.trainer = trainer

    @property
    def model(self):
        return None if self.trainer is None else self.trainer.model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def state_dict(self):
        """What a resumed run needs to carry on (a dict of numbers, strings and arrays)."""
        return {}

    def load_state_dict(self, state):
        pass


def overrides(cb, hook):
    """Whether ``cb`` does something in ``hook`` (the Trainer skips batch hooks nobody uses)."""
    if hook in getattr(cb, "_unused_hooks", ()):
        return False
    return getattr(type(cb), hook, None) is not getattr(Callback, hook)


def _resolve_mode(mode, monitor, who, trainer=None):
    """"min" or "max". With "auto": the monitored metric's own ``mode`` when the trainer has
    that metric, else Keras' rule (max for accuracies, min for everything else)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who} mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    for m in getattr(trainer, "metrics", ()):
        if m.name == name:
            return m.mode
    return "max" if ("acc" in name or name.startswith("auc") or name.startswith("top")) else "min"


def _monitored(logs, monitor, who):
    if monitor not in logs:
        hint = "; pass val_loader= to fit() or monitor a training value" if monitor.startswith("val_") else ""
        raise KeyError(f"{who} monitors {monitor!r}, which is not in this epoch's logs ({', '.join(logs)}){hint}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop ``fit`` when the monitored value has not improved for ``patience`` epochs.

    Args:
        monitor: the logs key to watch ("val_loss", "val_accuracy", "loss", ...).
        min_delta: an improvement smaller than this does not count.
        patience: epochs without improvement before stopping.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        baseline: training stops if the value does not beat this within ``patience`` epochs.
        restore_best_weights: at the end of ``fit`` (stopped early or not), put back the
            weights of the best epoch.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", baseline=None,
                 restore_best_weights=False):
        if not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"EarlyStopping patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.patience = int(patience)
        self._mode_arg = mode
        self.mode = _resolve_mode(mode, monitor, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self._reset()
        self._resumed = False

    def _reset(self):
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = -1
        self.stopped_epoch = -1
        self.best_weights = None

    def _improved(self, current, reference):
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self.mode = _resolve_mode(self._mode_arg, self.monitor, "EarlyStopping", self.trainer)
        if not self._resumed:  # a fresh fit starts over; a restored one carries on
            self._reset()
        self._resumed = False

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0  # as Keras: the count restarts only once the baseline is beaten too
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self):
        s = {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch}
        if self.best_weights is not None:
            s["best_weights"] = self.best_weights
        return s

    def load_state_dict(self, state):
        self.wait = int(state["wait"])
        self.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        bw = state.get("best_weights")
        self.best_weights = None if bw is None else {k: np.asarray(v) for k, v in bw.items()}
        self._resumed = True


class ModelCheckpoint(Callback):
    """Save the model (or the whole trainer) at the end of each epoch, or when it improves.

    Args:
        filepath: where to save; may hold ``{epoch}`` (counted from 1) and logs keys, as in
            Keras: ``"ckpt/epoch{epoch:02d}-{val_loss:.3f}.npz"``. The extension picks the
            format, ``.npz`` or ``.safetensors``.
        monitor: the logs key that ``save_best_only`` compares.
        save_best_only: save only when ``monitor`` improves on the best so far.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        save_weights_only: save ``model.state_dict()`` (load it with ``ember.load`` and
            ``model.load_state_dict``); when False, ``trainer.save_checkpoint`` (model,
            optimizer, scheduler, epoch, history, RNG), which ``trainer.load_checkpoint`` resumes.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", save_weights_only=False):
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self._mode_arg = mode
        self.mode = _resolve_mode(mode, monitor, "ModelCheckpoint")
        self.save_weights_only = save_weights_only
        self.best = math.inf if self.mode == "min" else -math.inf
        self.last_saved = None

    def on_train_begin(self, logs=None):
        mode = _resolve_mode(self._mode_arg, self.monitor, "ModelCheckpoint", self.trainer)
        if mode != self.mode:
            self.mode, self.best = mode, (math.inf if mode == "min" else -math.inf)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not (current < self.best if self.mode == "min" else current > self.best):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint cannot fill in filepath {self.filepath!r} from epoch and logs "
                             f"({', '.join(logs)}): {e!r}") from None
        if self.trainer.is_main_process:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            if self.save_weights_only:
                from ..io import save

                save(dict(self.model.state_dict()), path)
            else:
                self.trainer.save_checkpoint(path)
        self.last_saved = path

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = float(state["best"])


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (0-based, as Keras) and every logs value.

    The whole file is rewritten atomically after each epoch (it is a few kilobytes), so a crash
    or a kill never leaves a half-written row and another program can read it at any time.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: keep the rows already in the file (for a resumed run) instead of starting over.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self.rows = []
        self.keys = []

    def on_train_begin(self, logs=None):
        self.rows, self.keys = [], []
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                reader = csv.DictReader(f, delimiter=self.separator)
                self.keys = [k for k in (reader.fieldnames or []) if k != "epoch"]
                self.rows = list(reader)

    def on_epoch_end(self, epoch, logs=None):
        for k in sorted(logs):
            if k not in self.keys:
                self.keys.append(k)
        self.rows.append({"epoch": epoch, **logs})
        if not self.trainer.is_main_process:
            return
        buf = io.StringIO()
        w = csv.DictWriter(buf, ["epoch"] + self.keys, delimiter=self.separator, restval="", lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        from ..io import atomic_write

        with atomic_write(self.filename, "w") as f:
            f.write(buf.getvalue())


class LearningRateScheduler(Callback):
    """Drive the learning rate: step an ``ember.optim.lr_scheduler`` scheduler, or apply a
    Keras-style schedule function.

    ``ReduceLROnPlateau`` is stepped with the monitored value at the end of each epoch; other
    schedulers once per epoch or once per batch. A function ``schedule(epoch, lr) -> new_lr``
    (Keras' ``LearningRateScheduler``) sets every parameter group's ``lr`` at the start of
    each epoch.

    Args:
        scheduler: a scheduler bound to the trainer's optimizer, or a schedule function.
        interval: "epoch" or "batch" (schedulers other than ``ReduceLROnPlateau``).
        monitor: what ``ReduceLROnPlateau`` is fed; by default "val_loss" when the logs have
            it, else "loss".
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LearningRateScheduler interval must be 'epoch' or 'batch', got {interval!r}")
        self.function = not hasattr(scheduler, "step")
        if self.function and not callable(scheduler):
            raise TypeError("LearningRateScheduler expects a scheduler (with step()) or a function "
                            f"schedule(epoch, lr), got {type(scheduler).__name__}")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor
        self.plateau = _is_plateau(scheduler)
        if (self.plateau or self.function) and interval == "batch":
            what = "ReduceLROnPlateau needs a monitored value" if self.plateau else "a schedule(epoch, lr) function"
            raise ValueError(f"LearningRateScheduler: {what}, so it acts per epoch, not per batch")
        self._unused_hooks = ("on_train_batch_end",) if interval == "epoch" else ()

    def on_epoch_begin(self, epoch, logs=None):
        if self.function:
            for group in self.trainer.optimizer.param_groups:
                group["lr"] = float(self.scheduler(epoch, group["lr"]))

    def on_train_batch_end(self, batch, logs=None):
        self.scheduler.step()  # called only with interval="batch"

    def on_epoch_end(self, epoch, logs=None):
        if self.plateau:
            monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            self.scheduler.step(_monitored(logs, monitor, "LearningRateScheduler(ReduceLROnPlateau)"))
        elif self.interval == "epoch" and not self.function:
            self.scheduler.step()


def _is_plateau(scheduler):
    try:
        from ..optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:  # pragma: no cover - ember.optim is part of the package
        return type(scheduler).__name__ == "ReduceLROnPlateau"
    return isinstance(scheduler, ReduceLROnPlateau)
