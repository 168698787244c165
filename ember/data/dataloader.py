"""DataLoader: batches of Tensors from a dataset, in order or shuffled, like PyTorch's.

Array-backed datasets (those with ``__getitems__``, see ``ember.data.dataset``) are batched by
indexing whole batches at once; without shuffling, a batch is a contiguous slice (views, no
copy). Other datasets are read sample by sample and stacked by ``default_collate``.
"""
import collections.abc
import numbers

import numpy as np

from .. import backend
from .._tensor import Tensor

__all__ = ["DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "default_collate", "default_convert"]


class Sampler:
    """An iterable over the dataset indices of one epoch.

    ``DataLoader(sampler=...)`` takes any iterable of ints with ``__len__``; subclassing this
    adds two hooks. ``indices()`` returns the epoch's order as an int array at once (the
    loader then slices batches out of it without a Python loop). ``set_epoch(epoch)`` is
    called by the training loop before each epoch, so that a sampler whose order depends on
    the epoch (a distributed sampler giving each rank its shard) can reshuffle.
    """

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def indices(self):
        """The indices of one epoch, as a 1-D int64 array (drawn now, for random samplers)."""
        return np.fromiter(iter(self), dtype=np.int64)

    def set_epoch(self, epoch):
        """Tell the sampler which epoch comes next (a no-op unless its order depends on it)."""
        self.epoch = epoch


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __len__(self):
        return len(self.data_source)

    def indices(self):
        return np.arange(len(self.data_source))


class RandomSampler(Sampler):
    """A random permutation of the dataset's indices, drawn anew at the start of each epoch.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices with replacement instead of a permutation.
        num_samples: how many indices per epoch (default: the dataset's length).
        generator: ``ember.Generator`` to draw from (ember's global one if None, so that
            ``ember.manual_seed`` makes the order reproducible).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, numbers.Integral) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got {num_samples!r}")
        backend.rng(generator)  # fail now on a wrong type, not at the first epoch
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __len__(self):
        return self.num_samples

    def indices(self):
        # rng() is looked up per epoch: manual_seed replaces the global numpy generator
        rng = backend.rng(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        k = self.num_samples
        reps = [rng.permutation(n) for _ in range(-(-k // n))] if n else [np.arange(0)]
        return np.concatenate(reps)[:k]


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch; None yields single samples, converted to Tensors.
        shuffle: draw a new random order at the start of every epoch (every ``iter()``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch (default: ``default_collate``, which
            stacks arrays into Tensors, tuples staying tuples). A custom one always gets the
            list of samples.
        generator: ``ember.Generator`` for the shuffle order (ember's global one if None).
        sampler: an iterable of indices with ``__len__`` (e.g. a ``Sampler``), instead of
            ``shuffle``. A ``Sampler`` gets ``set_epoch`` through ``DataLoader.set_epoch``.

    ``len(loader)`` is the number of batches per epoch. A batch from ``TensorDataset(x, y)``
    or ``MNIST`` is a tuple ``(x, y)`` of Tensors; without shuffling, a batch of an
    array-backed dataset is a view of the dataset's arrays (copy it before writing into it).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, sampler=None):
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size should be a positive int or None, got {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} should be a bool, got {flag!r}")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None (no batching) is mutually exclusive with drop_last=True")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn should be callable, got {type(collate_fn).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle=True "
                             "(shuffle in the sampler)")
        if sampler is not None and generator is not None:
            raise ValueError("DataLoader: generator is for shuffle=True; give the generator to the sampler instead")
        if sampler is None and not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) needs __len__, or pass a sampler")
        if not hasattr(dataset, "__getitem__") and not hasattr(dataset, "__getitems__"):
            raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) has no __getitem__")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError("DataLoader: sampler should be an iterable of indices with __len__, "
                            f"got {type(sampler).__name__}")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator
        self.sampler = sampler

    def __len__(self):
        n = len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch):
        """Forward ``epoch`` to the sampler's ``set_epoch`` (for samplers that shard by epoch)."""
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self):
        # the epoch's order is drawn here, when the epoch starts, not at the first next()
        if type(self.sampler) is SequentialSampler:
            order = None  # contiguous: batches are slices
            n = len(self.sampler)
        elif hasattr(self.sampler, "indices"):
            order = np.asarray(self.sampler.indices(), dtype=np.int64)
            n = len(order)
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            n = len(order)
        return self._batches(order, n)

    def _batches(self, order, n):
        ds, bs = self.dataset, self.batch_size
        if bs is None:
            for k in range(n):
                yield default_convert(ds[k if order is None else int(order[k])])
            return
        fast = self.collate_fn is None and hasattr(ds, "__getitems__")
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            idx = slice(start, min(start + bs, n)) if order is None else order[start : start + bs]
            if fast:
                batch = ds.__getitems__(idx)
                yield default_collate(batch) if isinstance(batch, list) else default_convert(batch)
            else:
                rows = range(idx.start, idx.stop) if order is None else idx.tolist()
                samples = [ds[i] for i in rows]
                yield (self.collate_fn or default_collate)(samples)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.sampler)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


def default_convert(data):
    """Arrays and numbers in a (nested) structure become Tensors; the structure is kept."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return Tensor(data) if data.dtype.kind in "biufc" else data
    if isinstance(data, np.generic):
        return Tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(d) for d in data)
    return data


def default_collate(batch):
    """Stack a list of samples into a batch, like PyTorch's ``default_collate``.

    Arrays and Tensors are stacked along a new first axis; Python ints become int64, floats
    the default float dtype (float32), bools bool; strings stay a list; tuples, lists, dicts
    and namedtuples are collated field by field (a tuple stays a tuple).

    Returns:
        the batch, with Tensors at the leaves.
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise TypeError(f"default_collate expects a non-empty list of samples, got {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray, np.generic)):
        arrays = [b._data if isinstance(b, Tensor) else np.asarray(b) for b in batch]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(
                f"default_collate: samples have different shapes {sorted(shapes)}; pad them or pass a collate_fn"
            )
        return Tensor(np.stack(arrays))
    if isinstance(elem, (bool, np.bool_)):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(np.array(batch, dtype=backend.get_default_dtype()))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, (tuple, list)):
        if len({len(b) for b in batch}) != 1:
            raise ValueError(f"default_collate: samples have different lengths {sorted({len(b) for b in batch})}")
        fields = [default_collate(list(f)) for f in zip(*batch)]
        if hasattr(elem, "_fields"):
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; pass a collate_fn")
