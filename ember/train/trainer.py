"""``Trainer``: fit, evaluate, predict and checkpoint a model, with Keras-style callbacks.

The loop is the one you would write by hand (forward, loss, zero_grad, backward, step) plus
cheap bookkeeping: one ``loss.item()`` per batch, one dot product per gradient to stop before
a non-finite step, and each metric's running counts on the output array. Everything a resumed
run needs (model, optimizer, scheduler, epoch count, history, callback state, random
generators) goes into one checkpoint file, so a run stopped after epoch k and resumed in a new
process ends with bit-identical weights; the file also records the optimizer's and
scheduler's classes and the loader's batching, and a trainer that differs is refused.
"""
import math

import numpy as np

from .. import backend
from ..autograd import no_grad
from .._tensor import Tensor
from .callbacks import Callback, LearningRateScheduler, overrides
from .history import History
from .metrics import get_metric
from .progress import Progress

__all__ = ["Trainer", "NonFiniteLossError", "NonFiniteGradientError"]

_FORMAT = "ember.Trainer"
# 2: the checkpoint records the optimizer's and scheduler's classes and the loader's batching
_VERSION = 2


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during ``fit``; the weights are those before that batch."""


class NonFiniteGradientError(FloatingPointError):
    """A finite loss had a NaN or infinite gradient during ``fit``; the weights are those before that batch."""


class Trainer:
    """Train a model with an optimizer and a loss, tracking metrics, with callbacks.

    Args:
        model: an ``ember.nn.Module`` mapping a batch of inputs to outputs of shape (N, C).
        optimizer: an ``ember.optim`` optimizer over the model's parameters.
        loss: ``loss(outputs, targets) -> scalar Tensor``, the mean over the batch
            (``nn.CrossEntropyLoss()``).
        metrics: Metric objects, names ("accuracy", "top5_accuracy") or batch functions
            ``fn(outputs, targets) -> float`` (see ``ember.train.metrics``).
        scheduler: an ``ember.optim.lr_scheduler`` scheduler stepped once per epoch
            (``ReduceLROnPlateau`` with the monitored value), or a ``LearningRateScheduler``
            callback (to step it per batch, or to apply a Keras-style schedule function).
        callbacks: ``Callback`` objects, called in order after the scheduler.
        progress: show a bar per epoch on a terminal, a line per epoch otherwise; False: silent.
        stop_on_nonfinite: raise ``NonFiniteLossError`` naming the epoch and batch when the
            loss is NaN or infinite, and ``NonFiniteGradientError`` naming the parameters too
            when a gradient is, before that batch changes the weights.
        fuse: run the steps on ``ember.nn.utils.fuse(model)``, which shares the model's
            Parameters and buffers and computes the same values faster (``self.forward_model``);
            False runs ``model`` itself (its hooks and overridden forwards always are).
        distributed: data-parallel over MPI (``ember.distributed``): rank 0's weights are
            broadcast now, gradients are averaged across ranks after every backward, logged
            metrics are averaged across ranks, and only rank 0 writes files. Give each rank its
            shard with ``DataLoader(..., sampler=ember.distributed.DistributedSampler(dataset))``.

    Attributes:
        epoch: epochs completed so far (``fit(epochs=N)`` trains until it is N).
        history: the ``History`` of every completed epoch.
        stop_training: set it (as EarlyStopping does) to end ``fit`` after the current epoch.
    """

    def __init__(self, model, optimizer, loss, metrics=(), scheduler=None, callbacks=(), progress=True,
                 stop_on_nonfinite=True, distributed=False, fuse=True):
        if not callable(loss):
            raise TypeError(f"Trainer loss must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss).__name__}")
        self.distributed = bool(distributed)
        self._averager = None
        if self.distributed:
            from .. import distributed as dist

            dist.init()
            dist.broadcast_module(model)
            self._averager = dist.GradientAverager(model.parameters())
        self.model = model
        # the model the steps run: nn.utils.fuse's copy (same Parameters and buffers, fused
        # Linear+ReLU / ReLU+MaxPool2d runs), or the model itself with fuse=False
        if fuse:
            from ..nn.fusion import fuse as _fuse

            self.forward_model = _fuse(model)
        else:
            self.forward_model = model
        self.optimizer = optimizer
        self.loss_fn = loss
        self.metrics = [get_metric(m) for m in metrics]
        names = [m.name for m in self.metrics]
        for name in names:
            if names.count(name) > 1 or name in ("loss", "lr") or name.startswith("val_"):
                raise ValueError(f"Trainer: metric name {name!r} is taken or repeated; metrics are {names}")
        if scheduler is None or isinstance(scheduler, LearningRateScheduler):
            sched_cb = scheduler
        else:
            sched_cb = LearningRateScheduler(scheduler)
        # the scheduler object whose state checkpoints keep (a schedule function has none)
        self.scheduler = None if sched_cb is None or sched_cb.function else sched_cb.scheduler
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer callbacks must be Callback objects, got {type(cb).__name__}")
        # the scheduler steps first, so a checkpoint written by a later callback holds the stepped LR
        self.callbacks = ([sched_cb] if sched_cb is not None else []) + list(callbacks)
        for cb in self.callbacks:
            cb.set_trainer(self)
        self.progress = Progress(bool(progress) and self.is_main_process)
        self.stop_on_nonfinite = stop_on_nonfinite
        self.history = History()
        self.epoch = 0
        self.stop_training = False
        self._train_loader = None
        self._pending_loader_state = None
        self._resumed = None  # (path, the checkpoint's loader batching, allow_batch_size_change) until fit
        self._where, self._batch = (0, 0, None), 0  # (epoch, epochs, batches) and batch: for errors

    @property
    def is_main_process(self):
        """Whether this process writes files (checkpoints, logs, plots), rank 0 when distributed."""
        if not self.distributed:
            return True
        from .. import distributed as dist

        return dist.is_main_process()

    def _mean_across_ranks(self, logs):
        if not self.distributed:
            return logs
        from .. import distributed as dist

        keys = sorted(logs)
        means = dist.allreduce_mean([logs[k] for k in keys])
        return {k: float(v) for k, v in zip(keys, means)}

    # ----- training -----
    def fit(self, train_loader, epochs, val_loader=None):
        """Train until ``epochs`` epochs are completed in total; returns the History.

        A trainer restored with ``load_checkpoint`` after epoch k trains epochs k+1..epochs.

        Args:
            train_loader: iterable of ``(x, y)`` batches, re-iterated each epoch (a DataLoader).
            epochs: the total number of epochs to have completed when ``fit`` returns.
            val_loader: batches to ``evaluate`` after each epoch, logged as ``val_*``.
        """
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit expects epochs as an int >= 0, got {epochs!r}")
        if self._resumed is not None:
            self._check_resumed_loader(train_loader)
        self._train_loader = train_loader
        if self._pending_loader_state is not None:
            gen = getattr(train_loader, "generator", None)
            if gen is not None:
                gen.set_state(self._pending_loader_state)
            self._pending_loader_state = None
        self.stop_training = False
        self._call("on_train_begin", {})
        logs = {}
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch = self.epoch
                self._call("on_epoch_begin", epoch, {})
                lr = self._lr()  # the rate this epoch starts with (a schedule may have set it just now)
                logs = self._train_epoch(train_loader, epoch, epochs)
                if val_loader is not None:
                    logs.update({"val_" + k: v for k, v in self.evaluate(val_loader).items()})
                if lr is not None:
                    logs["lr"] = lr
                self.epoch += 1
                self.history.append(epoch, logs)
                self.progress.epoch_end(logs)
                self._call("on_epoch_end", epoch, logs)
        except BaseException:
            self.progress.close()  # leave the terminal clean for the traceback
            raise
        self._call("on_train_end", logs)
        return self.history

    def _train_epoch(self, loader, epoch, epochs):
        model, metrics, progress = self.forward_model, self.metrics, self.progress
        model.train()
        for m in metrics:
            m.reset()
        if hasattr(loader, "set_epoch"):  # samplers whose order depends on the epoch (distributed shards)
            loader.set_epoch(epoch)
        batches = len(loader) if hasattr(loader, "__len__") else None
        begin = [cb for cb in self.callbacks if overrides(cb, "on_train_batch_begin")]
        end = [cb for cb in self.callbacks if overrides(cb, "on_train_batch_end")]
        total, count = 0.0, 0

        def running():
            return {"loss": total / max(count, 1), **{m.name: m.compute() for m in metrics}}

        self._where = (epoch, epochs, batches)
        progress.epoch_begin(epoch, epochs, batches)
        for b, batch in enumerate(loader):
            x, y = _split(batch)
            self._batch = b
            for cb in begin:
                cb.on_train_batch_begin(b, {})
            lv, out = self._train_step(x, y)
            n = len(y)
            total += lv * n
            count += n
            if metrics:
                od, yd = out._data, _array(y)
                for m in metrics:
                    m.update(od, yd)
            for cb in end:
                cb.on_train_batch_end(b, {"loss": lv})
            progress.batch_end(running)
        if count == 0:
            raise ValueError(f"fit: the training loader gave no batches in epoch {epoch + 1}")
        return self._mean_across_ranks(running())

    def _train_step(self, x, y):
        """One optimization step on a batch; returns (loss as a float, the output Tensor)."""
        out = self.forward_model(x)
        loss = self.loss_fn(out, y)
        lv = loss.item()
        if self.stop_on_nonfinite and not math.isfinite(lv):
            self._nonfinite(lv)
        self.optimizer.zero_grad()
        loss.backward()
        self._reduce_gradients()
        if self.stop_on_nonfinite:
            self._check_gradients(lv)
        self.optimizer.step()
        return lv, out

    def _reduce_gradients(self):
        """Between backward and step: data-parallel training averages the gradients here."""
        if self._averager is not None:
            self._averager()

    def _nonfinite(self, lv):
        raise NonFiniteLossError(
            f"the loss is {lv} at {self._at()}; training stopped before that "
            "batch changed the weights. Try a lower learning rate, check the inputs for NaN or infinity, "
            "or pass stop_on_nonfinite=False to the Trainer to carry on."
        )

    def _at(self):
        epoch, epochs, batches = self._where
        of = f"/{batches}" if batches is not None else ""
        return f"epoch {epoch + 1}/{epochs}, batch {self._batch + 1}{of}"

    def _check_gradients(self, lv):
        """Raise ``NonFiniteGradientError`` if a gradient the optimizer would apply has NaN or inf.

        One BLAS dot product per gradient, ``g . g``, and one test on their sum: NaN and inf
        propagate into it, so a finite sum proves every entry finite. A sum that overflowed
        from large finite entries is told apart by the exact per-entry check, run only then.
        The dots are one pass over memory the backward has just written (no flat gradient
        buffer exists to reduce in one call); they are most of the check's cost. float16
        squares overflow early, so a float16 model runs the exact check more often.
        """
        groups = self._param_groups()
        total = 0.0
        try:
            for group in groups:
                for p in group["params"]:
                    g = p._grad
                    if g is not None:
                        g = g._data
                        total += float(np.vdot(g, g))  # flattens without a reshape; BLAS in float32/64
        except (FloatingPointError, RuntimeWarning):  # an overflow, should NumPy ever report it for vdot
            total = math.inf
        if math.isfinite(total):
            return
        params = [p for group in groups for p in group["params"]]
        bad = [p for p in params if p._grad is not None and not np.isfinite(p._grad._data).all()]
        if bad:
            self._nonfinite_gradients(lv, bad, params)

    def _param_groups(self):
        """The optimizer's parameter groups (the model's parameters for an optimizer without them)."""
        groups = getattr(self.optimizer, "param_groups", None)
        return groups if groups else [{"params": list(self.model.parameters())}]

    def _nonfinite_gradients(self, lv, bad, params):
        names = {id(p): n for n, p in self.model.named_parameters()}
        index = {id(p): i for i, p in enumerate(params)}
        parts = []
        for p in bad[:5]:
            g = p._grad._data
            nan, inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
            what = " and ".join(w for w in (f"{nan} NaN" if nan else "", f"{inf} inf" if inf else "") if w)
            name = repr(names[id(p)]) if id(p) in names else f"optimizer parameter {index[id(p)]}"
            parts.append(f"{name} {tuple(g.shape)}: {what} of {g.size} entries")
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise NonFiniteGradientError(
            f"the gradient is not finite at {self._at()} (the loss, {lv:.6g}, is finite): {'; '.join(parts)}{more}; "
            "training stopped before that batch changed the weights. Look for an operation whose derivative is "
            "infinite where it was taken (sqrt or log at 0, x ** p with p < 1 at 0), clip the gradients "
            "in a loss or a hook, or pass stop_on_nonfinite=False to the Trainer to carry on."
        )

    # ----- evaluation and prediction -----
    def evaluate(self, loader):
        """The mean loss and each metric over every batch of ``loader``, as a dict of floats.

        Runs in eval mode (Dropout off) without recording a graph; the model's mode is restored.
        """
        model, metrics = self.forward_model, self.metrics
        was_training = model.training
        model.eval()
        for m in metrics:
            m.reset()
        self._call("on_test_begin", {})
        total, count = 0.0, 0
        try:
            with no_grad():
                for batch in loader:
                    x, y = _split(batch)
                    out = model(x)
                    n = len(y)
                    total += self.loss_fn(out, y).item() * n
                    count += n
                    yd = _array(y)
                    for m in metrics:
                        m.update(out._data, yd)
        finally:
            model.train(was_training)
        if count == 0:
            raise ValueError("evaluate: the loader gave no batches")
        logs = self._mean_across_ranks({"loss": total / count, **{m.name: m.compute() for m in metrics}})
        self._call("on_test_end", logs)
        return logs

    def predict(self, x_or_loader, batch_size=256):
        """The model's outputs as one ndarray, in eval mode and without a graph.

        Args:
            x_or_loader: an array or Tensor of inputs (batched by ``batch_size``), or an
                iterable of batches (a DataLoader; from ``(x, y)`` batches only x is used).
        """
        model = self.forward_model
        if isinstance(x_or_loader, (np.ndarray, Tensor)):
            data = _array(x_or_loader)
            batches = (data[i:i + batch_size] for i in range(0, len(data), batch_size))
        else:
            batches = (b[0] if isinstance(b, (tuple, list)) else b for b in x_or_loader)
        was_training = model.training
        model.eval()
        outs = []
        try:
            with no_grad():
                for x in batches:
                    outs.append(_array(model(x)))
        finally:
            model.train(was_training)
        if not outs:
            raise ValueError("predict: no inputs were given")
        return np.concatenate(outs)

    # ----- checkpoints -----
    def save_checkpoint(self, path):
        """Write everything a resumed run needs to ``path`` (``.npz`` or ``.safetensors``), atomically.

        Model and optimizer state, the scheduler's, the epoch count, the history, each
        callback's state, ember's global random generator and the training loader's generator;
        and what ``load_checkpoint`` checks the resuming trainer against: the optimizer's and
        the scheduler's classes and the training loader's batch size and length.
        """
        if not self.is_main_process:
            return
        from ..io import save

        rng = {"default": backend.default_generator().get_state()}
        gen = getattr(self._train_loader, "generator", None)
        if gen is not None:
            rng["loader"] = gen.get_state()
        elif self._pending_loader_state is not None:
            rng["loader"] = self._pending_loader_state
        state = {
            "format": _FORMAT,
            "version": _VERSION,
            "epoch": self.epoch,
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng,
            "history": self.history.to_dict(),
            "classes": {"optimizer": _qualname(self.optimizer)},
        }
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
            state["classes"]["scheduler"] = _qualname(self.scheduler)
        if self._resumed is not None:  # restored and not trained since: the saved run's batching
            batching = self._resumed[1]
        else:
            batching = _batching(self._train_loader) if self._train_loader is not None else None
        if batching:
            state["loader"] = batching
        cb_states = {_cb_key(i, cb): cb.state_dict() for i, cb in enumerate(self.callbacks)}
        cb_states = {k: v for k, v in cb_states.items() if v}
        if cb_states:
            state["callbacks"] = cb_states
        save(state, path)

    def load_checkpoint(self, path, allow_batch_size_change=False):
        """Restore a checkpoint written by ``save_checkpoint`` into this trainer.

        Build the model, optimizer, scheduler and callbacks as for the saved run first; the
        next ``fit(train_loader, epochs=N)`` then continues from the saved epoch. Returns self.

        A checkpoint whose optimizer or scheduler is of another class than this trainer's, or
        that has no scheduler state while this trainer has a scheduler (or the reverse), is
        refused with one ``ValueError`` listing every difference, before anything is loaded.
        The next ``fit`` likewise refuses a training loader whose batch size or number of
        batches differs from the saved run's, before it trains.

        Args:
            path: the checkpoint file.
            allow_batch_size_change: accept another batching in the next ``fit``. The
                checkpoint lies between two epochs, so the run goes on from the first sample
                of the next epoch in the new batches (the shuffle order does not depend on
                the batch size); a scheduler stepped per batch goes on counting from its saved
                step count.
        """
        from ..io import load

        state = load(path)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a Trainer checkpoint (write one with Trainer.save_checkpoint)")
        if int(state["version"]) > _VERSION:
            raise ValueError(f"{path}: Trainer checkpoint version {state['version']} is newer than this ember "
                             f"reads ({_VERSION})")
        self._check_checkpoint(path, state)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = int(state["epoch"])
        self.history = History.from_dict(state["history"])
        rng = state["rng"]
        backend.default_generator().set_state(rng["default"])
        self._pending_loader_state = rng.get("loader")
        cb_states = state.get("callbacks", {})
        for i, cb in enumerate(self.callbacks):
            key = _cb_key(i, cb)
            if key in cb_states:
                cb.load_state_dict(cb_states[key])
        batching = {k: int(v) for k, v in state.get("loader", {}).items()}
        self._resumed = (path, batching, bool(allow_batch_size_change))
        return self

    def _check_checkpoint(self, path, state):
        """Raise one ValueError naming every way the checkpoint at ``path`` does not fit this trainer.

        Checkpoints of version 1 do not record classes: their optimizer is compared by the
        names of its hyper-parameters, which tell the algorithms apart (SGD's momentum,
        Adam's betas) but not Adam from AdamW.
        """
        classes = state.get("classes", {})
        problems = []
        saved_opt = classes.get("optimizer")
        if saved_opt is not None:
            if not _same_class(str(saved_opt), self.optimizer):
                problems.append(f"the checkpoint's optimizer is {saved_opt}, this Trainer's is "
                                f"{_qualname(self.optimizer)}")
        else:
            saved_groups = state["optimizer"].get("param_groups", [])
            saved_keys = set().union(*(set(g) for g in saved_groups)) - {"params", "param_names"}
            ours = set(getattr(self.optimizer, "defaults", None) or saved_keys)
            theirs, missing = sorted(saved_keys - ours), sorted(ours - saved_keys)
            if saved_groups and theirs and missing:
                problems.append(f"the checkpoint's optimizer has hyper-parameters {', '.join(theirs)} that this "
                                f"Trainer's {_qualname(self.optimizer)} does not, and lacks its {', '.join(missing)}")
        saved_sched = classes.get("scheduler")
        if "scheduler" in state and self.scheduler is None:
            what = f" ({saved_sched})" if saved_sched is not None else ""
            problems.append(f"the checkpoint has a scheduler's state{what} but this Trainer has no scheduler")
        elif "scheduler" not in state and self.scheduler is not None:
            problems.append(f"the checkpoint has no scheduler state but this Trainer has a scheduler, "
                            f"{_qualname(self.scheduler)}")
        elif saved_sched is not None and not _same_class(str(saved_sched), self.scheduler):
            problems.append(f"the checkpoint's scheduler is {saved_sched}, this Trainer's is "
                            f"{_qualname(self.scheduler)}")
        if problems:
            raise ValueError(f"{path}: this checkpoint does not match the Trainer: " + "; ".join(problems)
                             + ". Build the Trainer with the optimizer and scheduler of the saved run, or load "
                             "only the weights: model.load_state_dict(ember.load(path)['model'])")

    def _check_resumed_loader(self, loader):
        """The first ``fit`` after ``load_checkpoint``: refuse another batching than the saved run's."""
        path, saved, allow = self._resumed
        self._resumed = None
        ours = _batching(loader)
        common = [k for k in saved if k in ours]
        if allow or all(saved[k] == ours[k] for k in common):
            return
        self._resumed = (path, saved, allow)  # still to check on the next fit

        def describe(b):  # "6 batches of 16", or what of it is known
            n = f"{b['batches']} " if "batches" in common else ""
            return n + "batches" + (f" of {b['batch_size']}" if "batch_size" in common else "")

        raise ValueError(f"{path}: the checkpoint was trained on {describe(saved)} per epoch, this fit's "
                         f"training loader gives {describe(ours)}; the epochs would not line up with the saved run's. "
                         "Use the saved run's batch size, or pass allow_batch_size_change=True to "
                         "load_checkpoint to change it deliberately (the run goes on from the next epoch)")

    # ----- helpers -----
    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def _lr(self):
        groups = getattr(self.optimizer, "param_groups", None)
        if groups:
            lr = groups[0].get("lr")
            return None if lr is None else float(lr)
        return None


def _batching(loader):
    """``{"batch_size": ..., "batches": ...}`` of a training loader, each where it is known."""
    out = {}
    bs = getattr(loader, "batch_size", None)
    if isinstance(bs, (int, np.integer)) and not isinstance(bs, bool):
        out["batch_size"] = int(bs)
    try:
        out["batches"] = len(loader)
    except TypeError:  # an iterable without a length
        pass
    return out


def _qualname(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _same_class(saved, obj):
    """Whether the class recorded as ``saved`` is ``obj``'s: the same qualified name, or the same
    name within ember (a class that moved between ember's modules is still the same class)."""
    ours = _qualname(obj)
    if saved == ours:
        return True
    return saved.startswith("ember.") and ours.startswith("ember.") and saved.endswith("." + type(obj).__qualname__)


def _cb_key(i, cb):
    return f"{i}.{type(cb).__name__}"


def _split(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch
    raise ValueError(f"the Trainer expects (inputs, targets) batches, got {type(batch).__name__}"
                     + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))


def _array(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)
