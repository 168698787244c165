"""DataLoader: batches of Tensors from a dataset, in order or shuffled, like PyTorch's.

Array-backed datasets (those with ``__getitems__``, see ``ember.data.dataset``) are batched by
indexing whole batches at once; without shuffling, a batch is a contiguous slice (views, no
copy). Other datasets are read sample by sample and stacked by ``default_collate``. With
``num_workers > 0`` the same fetching runs in worker processes (``ember.data._multiprocess``).
"""
import itertools
import multiprocessing
import numbers
import os
import sys
import warnings

import numpy as np

from .. import backend
from . import _worker
from ._multiprocess import MultiProcessIter
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "default_collate", "default_convert", "get_worker_info"]

get_worker_info = _worker.get_worker_info


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``) or an ``IterableDataset``.
        batch_size: samples per batch; None yields single samples, converted to Tensors.
        shuffle: draw a new random order at the start of every epoch (every ``iter()``).
        sampler: an iterable of indices with ``__len__`` (e.g. a ``Sampler``), instead of
            ``shuffle``. A ``Sampler`` gets ``set_epoch`` through ``DataLoader.set_epoch``.
        batch_sampler: an iterable of lists of indices, instead of ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: worker processes that load the batches (0: the main process does).
        collate_fn: turns a list of samples into a batch (default: ``default_collate``). A
            custom one always gets the list of samples (without batching, each sample).
        pin_memory: accepted; there is no accelerator memory to pin, so it warns and does nothing.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers before raising (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after seeding.
        multiprocessing_context: ``'fork'`` (the default on Linux), ``'spawn'``,
            ``'forkserver'``, or a ``multiprocessing`` context.
        generator: ``ember.Generator`` for the shuffle order and the workers' base seed
            (ember's global one if None).
        prefetch_factor: batches in flight per worker (default 2 with workers).
        persistent_workers: keep the workers (and their dataset copies) from epoch to epoch.

    ``len(loader)`` is the number of batches per epoch. A batch from ``TensorDataset(x, y)``
    or ``MNIST`` is a tuple ``(x, y)`` of Tensors; without shuffling, a batch of an
    array-backed dataset is a view of the dataset's arrays (copy it before writing into it).
    Worker ``i`` is seeded with ``base_seed + i`` (Python's ``random``, ember's generator, and
    NumPy's global state as PyTorch seeds it); ``get_worker_info()`` tells it who it is.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size should be a positive int or None, got {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if flag is not None and not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} should be a bool, got {flag!r}")
        if not _is_int(num_workers) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             f"multiprocessing (got num_workers={num_workers!r})")
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got timeout={timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and (not _is_int(prefetch_factor) or prefetch_factor < 0):
            raise ValueError(f"prefetch_factor option should be non-negative, got prefetch_factor={prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers == 0 and timeout > 0:
            raise ValueError(f"timeout={timeout} applies to worker processes; it needs num_workers > 0")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn should be callable, got {type(collate_fn).__name__}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn should be callable, got {type(worker_init_fn).__name__}")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler!r}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler!r}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle=True "
                             "(shuffle in the sampler)")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            if not hasattr(batch_sampler, "__iter__"):
                raise TypeError(f"DataLoader: batch_sampler should be an iterable of lists of indices, "
                                f"got {type(batch_sampler).__name__}")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None (no batching) is mutually exclusive with drop_last=True")
        if not iterable:
            if sampler is None and batch_sampler is None and not hasattr(dataset, "__len__"):
                raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) needs __len__, or pass a sampler")
            if not hasattr(dataset, "__getitem__") and not hasattr(dataset, "__getitems__"):
                raise TypeError(f"DataLoader: the dataset ({type(dataset).__name__}) has no __getitem__")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError("DataLoader: sampler should be an iterable of indices with __len__, "
                            f"got {type(sampler).__name__}")
        backend.rng(generator)  # fail now on a wrong type
        self.num_workers = int(num_workers)
        self.multiprocessing_context = self._context(multiprocessing_context)
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        self._user_batch_sampler = batch_sampler is not None
        if batch_sampler is None and batch_size is not None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._iterable = iterable
        self._auto_collation = batch_sampler is not None or (iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else default_convert)
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or not num_workers else 2
        self.persistent_workers = bool(persistent_workers)
        self.in_order = in_order
        self._iterator = None
        if self.num_workers:
            _warn_worker_count(self.num_workers)

    def _context(self, context):
        if context is None:
            if not self.num_workers:
                return None
            return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        if not self.num_workers:
            raise ValueError("multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={self.num_workers}")
        if isinstance(context, str):
            methods = multiprocessing.get_all_start_methods()
            if context not in methods:
                raise ValueError(f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                                 f"but got multiprocessing_context={context!r}")
            return multiprocessing.get_context(context)
        if not isinstance(context, multiprocessing.context.BaseContext):
            raise TypeError("multiprocessing_context option should be a valid context object or a string specifying "
                            f"the start method, but got multiprocessing_context={context!r}")
        return context

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def set_epoch(self, epoch):
        """Forward ``epoch`` to the sampler's ``set_epoch`` (for samplers that shard by epoch)."""
        target = self.batch_sampler if self._user_batch_sampler else self.sampler
        if hasattr(target, "set_epoch"):
            target.set_epoch(epoch)

    def _order(self):
        """The epoch's sampler order, drawn now: (None for 0..n-1, or an int array; its length)."""
        if type(self.sampler) is SequentialSampler:
            return None, len(self.sampler)  # contiguous: batches are slices
        if callable(getattr(self.sampler, "indices", None)):
            order = np.asarray(self.sampler.indices(), dtype=np.int64)
        else:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        return order, len(order)

    def _index_batches(self):
        """The epoch's index batches (slices, int arrays, lists or ints), the order drawn now."""
        if self._iterable:
            return itertools.repeat(self.batch_size)
        if self._user_batch_sampler:
            return iter(self.batch_sampler)
        bs = self.batch_size
        if len(self.sampler) > _EAGER_LIMIT:  # RandomSampler(num_samples=10**10): draw as it goes
            return _batches_of(iter(self.sampler), bs, self.drop_last)
        order, n = self._order()
        if bs is None:
            return iter(range(n)) if order is None else iter(order.tolist())
        stop = n - n % bs if self.drop_last else n
        if order is None:
            return (slice(s, min(s + bs, n)) for s in range(0, stop, bs))
        return (order[s:s + bs] for s in range(0, stop, bs))

    def __iter__(self):
        if self.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", stacklevel=2)
        if self.num_workers == 0:
            # the epoch's order is drawn here, when the epoch starts, not at the first next()
            return self._single_process(self._index_batches())
        it = self._iterator if self.persistent_workers else None
        if it is None or it._shut:
            base_seed = int(backend.rng(self.generator).integers(0, 2**63 - 1, dtype=np.int64))
            it = MultiProcessIter(dataset=self.dataset, iterable=self._iterable, auto_collation=self._auto_collation,
                                  collate_fn=self.collate_fn, drop_last=self.drop_last, num_workers=self.num_workers,
                                  prefetch_factor=self.prefetch_factor, timeout=self.timeout,
                                  worker_init_fn=self.worker_init_fn, context=self.multiprocessing_context,
                                  base_seed=base_seed, persistent=self.persistent_workers)
            if self.persistent_workers:
                self._iterator = it
        return it.start_epoch(self._index_batches())

    def _single_process(self, indices):
        fetcher = _worker.Fetcher(self.dataset, self._iterable, self._auto_collation, self.collate_fn,
                                  self.drop_last)
        fetch = fetcher.fetch
        if self._iterable:
            while True:
                try:
                    batch = fetch(next(indices))
                except StopIteration:
                    return
                yield batch
        for index in indices:
            yield fetch(index)

    def __repr__(self):
        size = len(self.sampler) if self.sampler is not None and hasattr(self.sampler, "__len__") else "?"
        return (f"DataLoader({type(self.dataset).__name__} of {size}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, num_workers={self.num_workers})")


def _warn_worker_count(n):
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count()
    if cores is not None and n > cores:
        warnings.warn(f"This DataLoader will create {n} worker processes in total. Our suggested max number of "
                      f"worker in current system is {cores}, which is smaller than what this DataLoader is going "
                      "to create. Please be aware that excessive worker creation might get DataLoader running slow "
                      "or even freeze, lower the worker number to avoid potential slowness/freeze if necessary.",
                      stacklevel=3)


_EAGER_LIMIT = 1 << 24  # an epoch's order is drawn as one array up to this many indices


def _batches_of(indices, bs, drop_last):
    """Batches (lists) of ``bs`` from an index iterator, drawn as they are needed."""
    if bs is None:
        yield from indices
        return
    while True:
        batch = list(itertools.islice(indices, bs))
        if not batch or (drop_last and len(batch) < bs):
            return
        yield batch
