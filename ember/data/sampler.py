"""Samplers: the order in which a DataLoader visits a dataset's indices, as ``torch.utils.data``.

A ``Sampler`` iterates over indices; the ``indices()`` hook gives one epoch's order as an int
array at once, so the DataLoader slices batches out of it without a Python loop.
"""
import numbers

import numpy as np

from .. import backend

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def _positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) and value > 0


class Sampler:
    """An iterable over the dataset indices of one epoch.

    ``DataLoader(sampler=...)`` takes any iterable of ints with ``__len__``; subclassing this
    adds two hooks. ``indices()`` returns the epoch's order as an int array at once (the
    loader then slices batches out of it without a Python loop). ``set_epoch(epoch)`` is
    called by the training loop before each epoch, so that a sampler whose order depends on
    the epoch (a distributed sampler giving each rank its shard) can reshuffle.
    """

    def __init__(self, data_source=None):
        pass

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


_CHUNK = 1 << 20  # RandomSampler draws this many at a time beyond it (num_samples may be 10**10)


class RandomSampler(Sampler):
    """A random permutation of the dataset's indices, drawn anew at the start of each epoch.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices with replacement instead of a permutation.
        num_samples: how many indices per epoch (default: the dataset's length). Without
            replacement and more than the length, whole permutations follow one another.
        generator: ``ember.Generator`` to draw from (ember's global one if None, so that
            ``ember.manual_seed`` makes the order reproducible).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        if num_samples is not None and not _positive_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples!r}")
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

    def __iter__(self):
        if self.num_samples > _CHUNK:  # drawn a chunk at a time, as torch does
            return self._draws()
        return iter(self.indices().tolist())

    def _draws(self):
        rng = backend.rng(self.generator)
        n, left = len(self.data_source), self.num_samples
        while left > 0:
            k = min(left, _CHUNK if self.replacement else n)
            yield from (rng.integers(0, n, size=k, dtype=np.int64) if self.replacement else rng.permutation(n)[:k]).tolist()
            left -= k

    def indices(self):
        # rng() is looked up per epoch: manual_seed replaces the global numpy generator
        rng = backend.rng(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=np.int64)
        k = self.num_samples
        reps = [rng.permutation(n) for _ in range(-(-k // n))] if n else [np.arange(0)]
        return np.concatenate(reps)[:k]


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, drawn anew each epoch.

    Args:
        indices: a sequence of dataset indices.
        generator: ``ember.Generator`` to draw from (the global one if None).
    """

    def __init__(self, indices, generator=None):
        backend.rng(generator)
        self.indices = indices  # the sequence, as torch names it (so no ``indices()`` hook here)
        self.generator = generator

    def __len__(self):
        return len(self.indices)

    def __iter__(self):
        perm = backend.rng(self.generator).permutation(len(self.indices))
        return (self.indices[int(i)] for i in perm)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in [0, len(weights)) drawn with probabilities proportional to ``weights``.

    Args:
        weights: 1-D sequence of non-negative weights (they need not sum to one).
        num_samples: how many indices per epoch.
        replacement: draw with replacement (default); without, each index at most once.
        generator: ``ember.Generator`` to draw from (the global one if None).
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _positive_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        w = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        backend.rng(generator)
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __len__(self):
        return self.num_samples

    def indices(self):
        w, k = self.weights, self.num_samples
        if not np.isfinite(w).all() or (w < 0).any():
            raise RuntimeError("invalid multinomial distribution (weights must be finite and non-negative)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = backend.rng(self.generator)
        if self.replacement:
            return rng.choice(len(w), size=k, replace=True, p=w / w.sum()).astype(np.int64)
        if k > len(w):
            raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                               f"(n_sample={k}, {len(w)} weights)")
        # an exponential race: weighted order without replacement; zero weights come last, in random order
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=len(w)) / w
        return np.lexsort((rng.random(len(w)), keys))[:k].astype(np.int64)


class BatchSampler(Sampler):
    """Wrap a sampler to yield lists of ``batch_size`` indices.

    Args:
        sampler: an iterable of indices (a ``Sampler``, a range, a list).
        batch_size: indices per batch.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not _positive_int(batch_size):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def indices(self):
        raise TypeError("BatchSampler yields lists of indices; iterate it instead")

    def set_epoch(self, epoch):
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
