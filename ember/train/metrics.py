"""Metrics that the Trainer accumulates batch by batch: accuracy, top-k accuracy, your own.

A metric sees raw arrays, never tensors: ``update(outputs, targets)`` with ``outputs`` the
model's output array of shape (N, C) (logits or probabilities; only their order matters to
accuracy) and ``targets`` the class indices, shape (N,). It keeps running counts, so a batch
costs one argmax and one comparison, and ``compute()`` returns the value over every batch
since ``reset()``.

Three ways to add one:

* pass a function ``fn(outputs, targets) -> float`` (the batch mean) in ``metrics=``; it is
  averaged over the epoch weighted by batch size and named after the function;
* wrap it to choose its name: ``MeanMetric(fn, name="mae")``;
* subclass ``Metric`` and write ``reset``, ``update`` and ``compute``.
"""
import numpy as np

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "MeanMetric", "get_metric", "METRICS"]


class Metric:
    """A value accumulated over batches. Subclasses set ``name`` and write the three methods."""

    name = "metric"
    mode = "max"  # whether a larger value is better (EarlyStopping's mode="auto" asks this)

    def reset(self):
        raise NotImplementedError

    def update(self, outputs, targets):
        """Add one batch. ``outputs``: (N, C) array; ``targets``: (N,) class indices."""
        raise NotImplementedError

    def compute(self):
        """The value over every batch since ``reset()``, as a Python float."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _check(metric, outputs, targets):
    if outputs.ndim != 2 or targets.ndim != 1 or len(outputs) != len(targets):
        raise ValueError(
            f"{metric.name} expects outputs of shape (N, C) and class indices of shape (N,), "
            f"got {tuple(outputs.shape)} and {tuple(targets.shape)}"
        )


class Accuracy(Metric):
    """The fraction of samples whose highest-scoring class is the target."""

    name = "accuracy"

    def __init__(self):
        self.reset()

    def reset(self):
        self.correct = 0
        self.total = 0

    def update(self, outputs, targets):
        _check(self, outputs, targets)
        self.correct += int(np.count_nonzero(outputs.argmax(axis=1) == targets))
        self.total += len(targets)

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class TopKAccuracy(Accuracy):
    """The fraction of samples whose target is among the ``k`` highest-scoring classes.

    Named ``top{k}_accuracy`` (``top5_accuracy`` for k=5). Ties at the k-th score count as hits
    only as far as ``argpartition`` places them, as in PyTorch's ``topk``.
    """

    def __init__(self, k=5):
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"TopKAccuracy expects k >= 1, got {k!r}")
        self.k = int(k)
        self.name = f"top{self.k}_accuracy"
        super().__init__()

    def update(self, outputs, targets):
        _check(self, outputs, targets)
        k = self.k
        if k >= outputs.shape[1]:
            hit = len(targets)
        else:
            top = np.argpartition(outputs, -k, axis=1)[:, -k:]
            hit = int(np.count_nonzero(top == targets[:, None]))
        self.correct += hit
        self.total += len(targets)

    def __repr__(self):
        return f"TopKAccuracy(k={self.k})"


class MeanMetric(Metric):
    """A function of one batch, ``fn(outputs, targets) -> float``, averaged over samples.

    Args:
        fn: returns the batch's mean value from the (N, C) outputs and (N,) targets.
        name: the key in logs and History; the function's name by default.
        mode: "max" when larger is better, "min" when smaller is (for EarlyStopping).
    """

    def __init__(self, fn, name=None, mode="max"):
        if not callable(fn):
            raise TypeError(f"MeanMetric expects a function, got {type(fn).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"MeanMetric mode must be 'min' or 'max', got {mode!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "metric")
        self.mode = mode
        self.reset()

    def reset(self):
        self.sum = 0.0
        self.total = 0

    def update(self, outputs, targets):
        n = len(targets)
        self.sum += float(self.fn(outputs, targets)) * n
        self.total += n

    def compute(self):
        return self.sum / self.total if self.total else float("nan")


METRICS = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "top5_accuracy": lambda: TopKAccuracy(5),
    "top3_accuracy": lambda: TopKAccuracy(3),
}


def get_metric(spec):
    """A Metric from a Metric, a name in ``METRICS`` or a batch function (see ``MeanMetric``)."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, type) and issubclass(spec, Metric):
        return spec()
    if isinstance(spec, str):
        if spec not in METRICS:
            raise ValueError(f"unknown metric {spec!r}; valid names: {', '.join(sorted(METRICS))}")
        return METRICS[spec]()
    if callable(spec):
        return MeanMetric(spec)
    raise TypeError(f"a metric must be a Metric, a name or a function, got {type(spec).__name__}")
