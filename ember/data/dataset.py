"""Datasets: anything with ``__getitem__`` and ``__len__``, as in PyTorch.

Samples are NumPy arrays and numbers (a TensorDataset's are Tensors, as in PyTorch); the DataLoader
turns batches into Tensors.

A dataset can also offer ``__getitems__(indices)`` (PyTorch 2's hook): given an index array
or a slice, it returns either a list of samples (PyTorch's contract) or, ember's fast path,
the whole batch already collated as a tuple of arrays. Array-backed datasets
(``TensorDataset``, ``MNIST``, and ``Subset`` / ``ConcatDataset`` of them) do the latter with
one fancy index per array, so a DataLoader never loops over samples in Python.
"""
import bisect
import math
import numbers

import numpy as np

from .. import backend
from .._tensor import Tensor, _to_array

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "StackDataset",
           "random_split"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


def _index_array(indices, n):
    """``indices`` (a slice, sequence or array) as a 1-D int64 array."""
    if isinstance(indices, slice):
        return np.arange(*indices.indices(n))
    return np.asarray(indices, dtype=np.int64).reshape(-1)


class TensorDataset(Dataset):
    """Samples are the rows of arrays that share their first dimension, like PyTorch's.

    Args:
        *arrays: ndarrays or Tensors (the Tensors' data is shared, not copied), all of the
            same length N along dim 0.

    ``dataset[i]`` is the tuple ``(a[i] for a in arrays)``; ``i`` may also be an index array
    or slice, which gives the tuple of batches.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        arrs = tuple(a._data if isinstance(a, Tensor) else _to_array(a) for a in arrays)
        if any(a.ndim == 0 for a in arrs):
            raise ValueError(f"TensorDataset: arrays must have a first dimension, got shapes {[a.shape for a in arrs]}")
        if len({a.shape[0] for a in arrs}) != 1:
            raise ValueError(
                f"TensorDataset: all arrays must have the same length along dim 0, got shapes {[a.shape for a in arrs]}"
            )
        self._arrays = arrs
        # PyTorch's attribute: the Tensors given (arrays are wrapped, sharing their memory)
        self.tensors = tuple(a if isinstance(a, Tensor) else Tensor(d) for a, d in zip(arrays, arrs))

    def __len__(self):
        return self._arrays[0].shape[0]

    def __getitem__(self, index):
        # a sample is a tuple of Tensors, as in PyTorch (views of the rows)
        if isinstance(index, Tensor):
            index = index._data
        return tuple(Tensor(a[index]) for a in self._arrays)

    def __getitems__(self, indices):
        # the DataLoader's fast path: a slice gives views; an index array, one gather per array
        return tuple(a[indices] for a in self._arrays)

    def __repr__(self):
        return f"TensorDataset({', '.join(f'{a.dtype}{list(a.shape)}' for a in self._arrays)})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the dataset to take from.
        indices: sequence or array of ints in [0, len(dataset)).
    """

    def __init__(self, dataset, indices):
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be a 1-D sequence of ints, got {idx.dtype} with shape {tuple(idx.shape)}")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and hasattr(dataset, "__len__") and (idx.min() < 0 or idx.max() >= len(dataset)):
            bad = idx[(idx < 0) | (idx >= len(dataset))][0]
            raise IndexError(f"Subset: index {bad} out of range for a dataset of {len(dataset)} samples")
        self.dataset = dataset
        self.indices = idx

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray, slice)):
            return [self.dataset[int(j)] for j in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        inner = self.indices[indices]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(inner)
        return [self.dataset[int(j)] for j in inner]


class ConcatDataset(Dataset):
    """Datasets one after the other.

    Args:
        datasets: a non-empty sequence of datasets with ``__len__``.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if not hasattr(d, "__len__"):
                raise TypeError(f"ConcatDataset: every dataset needs __len__, {type(d).__name__} has none")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for {n} samples")
        if index < 0:
            index += n
        d = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - start]

    def __getitems__(self, indices):
        if isinstance(indices, slice):  # a run inside one dataset stays a slice (views, no copy)
            start, stop, step = indices.indices(len(self))
            d = bisect.bisect_right(self.cumulative_sizes, start)
            if step == 1 and start < stop <= self.cumulative_sizes[d]:
                off = self.cumulative_sizes[d - 1] if d else 0
                return _getitems(self.datasets[d], slice(start - off, stop - off))
        idx = _index_array(indices, len(self))
        which = np.searchsorted(self.cumulative_sizes, idx, side="right")
        starts = np.array([0] + self.cumulative_sizes[:-1])
        local = idx - starts[which]
        if idx.size and (which == which[0]).all():
            return _getitems(self.datasets[which[0]], local)
        # gather from each dataset once, and scatter its rows to where they were asked for
        groups = np.unique(which)
        positions = [np.flatnonzero(which == d) for d in groups]
        parts = [_getitems(self.datasets[d], local[pos]) for d, pos in zip(groups, positions)]
        if not all(isinstance(p, tuple) and all(isinstance(a, np.ndarray) for a in p) for p in parts) or \
                len({len(p) for p in parts}) != 1 or any(len({a.shape[1:] for a in f}) != 1 for f in zip(*parts)):
            return [self[int(i)] for i in idx]
        batch = []
        for field in zip(*parts):
            out = np.empty((idx.size,) + field[0].shape[1:], np.result_type(*field))
            for pos, a in zip(positions, field):
                out[pos] = a
            batch.append(out)
        return tuple(batch)


def _getitems(dataset, indices):
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return [dataset[int(i)] for i in _index_array(indices, len(dataset))]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    Args:
        dataset: a dataset with ``__len__``.
        lengths: ints summing to ``len(dataset)``, or fractions summing to 1 (the lengths are
            floored and the remainder is spread one by one over the first splits, like PyTorch).
        generator: ``ember.Generator`` to draw the permutation from (the global one if None).

    Returns:
        list of Subsets.
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if any(not isinstance(x, numbers.Real) or isinstance(x, bool) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative numbers, got {lengths}")
    fractions = not all(isinstance(x, numbers.Integral) for x in lengths)
    if fractions and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if any(not isinstance(x, numbers.Integral) for x in lengths):
        raise ValueError(f"random_split: lengths must be ints or fractions summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of lengths {sum(lengths)} does not equal the dataset's length {n}")
    perm = backend.rng(generator).permutation(n)
    bounds = np.cumsum([0] + [int(x) for x in lengths])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class IterableDataset(Dataset):
    """Base class of iterable-style datasets: subclasses define ``__iter__`` (a stream of samples).

    With ``DataLoader(num_workers=N)`` every worker iterates its own copy of the dataset; use
    ``ember.data.get_worker_info()`` in ``__iter__`` (or in ``worker_init_fn``) to give each
    worker its share, or every sample comes N times.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (the streams chained, computed lazily).

    Args:
        datasets: iterable of ``IterableDataset``.
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got {type(d).__name__}")
            total += len(d)
        return total


class StackDataset(Dataset):
    """Datasets of the same length side by side: sample ``i`` is the tuple (or dict) of their ``i``-th.

    ``StackDataset(images, texts)`` gives ``(images[i], texts[i])``;
    ``StackDataset(image=images, text=texts)`` gives ``{"image": images[i], "text": texts[i]}``.
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or ``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        parts = args or tuple(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets = args if args else dict(kwargs)

    def __len__(self):
        return self._length

    def _parts(self):
        return self.datasets.items() if isinstance(self.datasets, dict) else enumerate(self.datasets)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        keys, batches = zip(*((k, _getitems(d, indices)) for k, d in self._parts()))
        if not any(isinstance(b, list) for b in batches):  # every part collated its batch itself
            return dict(zip(keys, batches)) if isinstance(self.datasets, dict) else tuple(batches)
        n = len(_index_array(indices, len(self)))
        columns = [b if isinstance(b, list) else [self.datasets[k][int(i)] for i in _index_array(indices, len(self))]
                   for k, b in zip(keys, batches)]
        if isinstance(self.datasets, dict):
            return [{k: col[j] for k, col in zip(keys, columns)} for j in range(n)]
        return [tuple(col[j] for col in columns) for j in range(n)]
