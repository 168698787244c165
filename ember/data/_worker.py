"""What runs inside a DataLoader worker process, and what crosses the process boundary.

A worker is seeded as PyTorch seeds its workers: with ``seed = base_seed + worker_id``
(``base_seed`` drawn in the main process from the loader's generator), Python's ``random``
and ember's default generator get ``seed``, and NumPy's global state gets the four 32-bit
words of ``SeedSequence([worker_id, base_seed % 2**32, base_seed // 2**32, 0])``, the same
state PyTorch gives it. Batches go back pickled, ember Tensors as NumPy arrays.
"""
import dataclasses
import itertools
import os
import pickle
import queue
import random
import traceback

import numpy as np

from .._tensor import Tensor
from .collate import _to_tensors, default_collate

__all__ = ["WorkerInfo", "get_worker_info"]

_POLL_S = 1.0  # how often an idle worker checks that its parent is alive


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """What a DataLoader worker knows about itself (``get_worker_info()`` in a worker).

    Attributes:
        id: this worker's id, 0 to ``num_workers - 1``.
        num_workers: how many workers the loader has.
        seed: the seed this worker's generators got (``base_seed + id``).
        dataset: this process's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info = None


def get_worker_info():
    """The ``WorkerInfo`` of the current DataLoader worker process, or None in the main process."""
    return _worker_info


def numpy_seed(base_seed, worker_id):
    """The state PyTorch seeds NumPy's global generator with in worker ``worker_id``."""
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(words).generate_state(4).tolist()


def seed_worker(base_seed, worker_id):
    seed = base_seed + worker_id
    random.seed(seed)
    import ember

    ember.manual_seed(seed)
    np.random.seed(numpy_seed(base_seed, worker_id))
    return seed


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc, where, index=None):
        self.exc_type = type(exc)
        try:
            pickle.dumps(self.exc_type)
        except Exception:  # a class defined in a function: the main process gets a RuntimeError
            self.exc_type = RuntimeError
        self.where = where
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.index = _describe(index)

    def reraise(self):
        """Raise it in this process, as PyTorch does: the type, the worker, the original traceback."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.index is not None:
            msg += f"(loading the samples at dataset index {self.index})"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            exc = None
        if exc is None:
            raise RuntimeError(msg) from None
        raise exc


class _KeyErrorMessage(str):
    def __repr__(self):  # KeyError repr()s its argument: keep the traceback readable
        return str(self)


def _describe(index):
    if index is None:
        return None
    if isinstance(index, slice):
        index = list(range(index.start, index.stop))
    if isinstance(index, (list, np.ndarray)):
        shown = [int(i) for i in list(index[:16])]
        return str(shown)[:-1] + (", ...]" if len(index) > 16 else "]")
    return str(index)


class _Packed:
    """An ember Tensor in transit: its array."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def pack(obj):
    """Tensors in a (nested) batch become ``_Packed`` arrays, for pickling."""
    if isinstance(obj, Tensor):
        return _Packed(obj._data)
    if isinstance(obj, (list, tuple, dict)):
        return _map(obj, pack)
    return obj


def unpack(obj):
    """The inverse of ``pack``: arrays in transit become ember Tensors again."""
    if isinstance(obj, _Packed):
        return Tensor(obj.array)
    if isinstance(obj, (list, tuple, dict)):
        return _map(obj, unpack)
    return obj


def _map(obj, fn):
    if isinstance(obj, dict):
        out = {k: fn(v) for k, v in obj.items()}
        if type(obj) is not dict:
            try:
                return type(obj)(out)
            except Exception:
                pass
        return out
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(fn(v) for v in obj))
    if type(obj) in (list, tuple):
        return type(obj)(fn(v) for v in obj)
    return obj  # subclasses of list/tuple travel as they are


class Fetcher:
    """Loads one batch (or one sample, without batching) for a batch of indices."""

    def __init__(self, dataset, iterable, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.iterator = iter(dataset) if iterable else None
        self.fast = (not iterable and auto_collation and collate_fn is default_collate
                     and hasattr(dataset, "__getitems__"))

    def fetch(self, index):
        ds = self.dataset
        if self.iterator is not None:
            if not self.auto_collation:
                return self.collate_fn(next(self.iterator))
            batch = list(itertools.islice(self.iterator, index))
            if not batch or (self.drop_last and len(batch) < index):
                raise StopIteration
            return self.collate_fn(batch)
        if not self.auto_collation:
            return self.collate_fn(ds[index])
        if self.fast:
            batch = ds.__getitems__(index)
            if isinstance(batch, list):
                return default_collate(batch)
            out = _to_tensors(batch)  # tuple samples collate to a list, as torch's default_collate
            return list(out) if type(out) is tuple else out
        if isinstance(index, slice):
            index = range(index.start, index.stop)
        elif isinstance(index, np.ndarray):
            index = index.tolist()
        return self.collate_fn([ds[i] for i in index])


class WorkerEnded:
    """A worker's iterable dataset ran out."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


RESUME = "resume"


def worker_loop(dataset, iterable, index_queue, result_queue, done_event, auto_collation, collate_fn, drop_last,
                base_seed, init_fn, worker_id, num_workers):
    """The body of worker process ``worker_id``: fetch what the index queue asks, until told to stop."""
    global _worker_info
    try:
        from ..ops import _parallel

        _parallel.set_num_threads(1)  # as PyTorch's workers: one thread each
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_error, fetcher = None, None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = Fetcher(dataset, iterable, auto_collation, collate_fn, drop_last)
        except Exception as e:
            init_error = ExceptionWrapper(e, where)
        ended = False
        parent = os.getppid()
        while True:
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent:  # the main process is gone: do not linger
                    result_queue.cancel_join_thread()  # nobody will read what is still buffered
                    break
                continue
            if task is None:
                break
            if isinstance(task, str):  # RESUME: persistent workers: a new epoch starts
                ended = False
                try:
                    fetcher = Fetcher(dataset, iterable, auto_collation, collate_fn, drop_last)
                except Exception as e:
                    init_error = ExceptionWrapper(e, where)
                result_queue.put((RESUME, worker_id))
                continue
            if done_event.is_set() or ended:
                continue
            idx, index = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = pack(fetcher.fetch(index))
                except StopIteration as e:
                    data = WorkerEnded(worker_id) if iterable else ExceptionWrapper(e, where, index)
                    ended = iterable
                except Exception as e:
                    data = ExceptionWrapper(e, where, None if iterable else index)
            try:
                payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # an unpicklable batch fails loudly, not as a hang
                payload = pickle.dumps(ExceptionWrapper(e, where, None if iterable else index))
            result_queue.put((idx, payload))
            del data, payload, task
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        result_queue.cancel_join_thread()
        result_queue.close()
