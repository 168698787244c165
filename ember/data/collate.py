"""``default_collate`` and ``default_convert``: samples to batches of Tensors, by PyTorch's rules."""
import collections.abc
import copy
import re

import numpy as np

from .. import backend
from .._tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_STR_OBJ = re.compile(r"[SaUO]")  # numpy dtypes that do not become tensors
_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_numpy(data):
    t = type(data)
    return t.__module__ == "numpy" and t.__name__ not in ("str_", "bytes_", "string_")


def default_convert(data):
    """NumPy arrays and scalars in a (nested) structure become Tensors, as PyTorch's.

    Mappings, namedtuples and sequences keep their type (a tuple becomes a list, as PyTorch
    does); strings, numbers and other objects are left as they are.
    """
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if isinstance(data, np.ndarray) and _STR_OBJ.search(data.dtype.str):
            return data
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(data[k]) for k in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem, values):
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, values):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _stack(arrays):
    shapes = [a.shape for a in arrays]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shapes[0])} at entry 0 "
                               f"and {list(s)} at entry {i} (the samples have different shapes: pad them or pass "
                               "a collate_fn)")
    return Tensor(np.stack(arrays))


def _python_numbers(batch):
    # torch.tensor(list) inference: all bools -> bool, ints -> int64, any float -> the default dtype
    if all(isinstance(b, (bool, np.bool_)) for b in batch):
        return Tensor(np.array(batch, dtype=np.bool_))
    if all(isinstance(b, (int, np.integer)) for b in batch):
        return Tensor(np.array(batch, dtype=np.int64))
    return Tensor(np.array(batch, dtype=backend.get_default_dtype()))


def default_collate(batch):
    """Stack a list of samples into a batch, by PyTorch's ``default_collate`` rules.

    Tensors and NumPy arrays are stacked along a new first dim; NumPy scalars become a Tensor of
    their dtype; Python floats float64, ints int64 (bools bool); strings and bytes stay a list;
    mappings, namedtuples and sequences are collated field by field (a tuple sample gives a
    list, as in PyTorch).

    Returns:
        the batch, with Tensors at the leaves.
    """
    if not isinstance(batch, (list, tuple)) or not batch:
        raise TypeError(f"default_collate expects a non-empty list of samples, got {type(batch).__name__}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b._data if isinstance(b, Tensor) else np.asarray(b) for b in batch])
    if isinstance(elem, np.ndarray):
        if _STR_OBJ.search(elem.dtype.str):
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return Tensor(np.asarray(batch))
    if isinstance(elem, float):
        return Tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return _python_numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: default_collate([d[k] for d in batch]) for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(f) for f in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size "
                               f"(got lengths {sorted({len(b) for b in batch})})")
        fields = [default_collate(f) for f in zip(*batch)]  # each field a tuple, as torch
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise TypeError(_ERR.format(type(elem)) + " (cannot batch it: pass a collate_fn)")


def _to_tensors(batch):
    """ember's fast path: a batch a dataset's ``__getitems__`` collated itself (a tuple of
    arrays) becomes the same structure of Tensors; the tuple stays a tuple."""
    if isinstance(batch, np.ndarray):
        return Tensor(batch) if batch.dtype.kind in "biufc" else batch
    if isinstance(batch, (Tensor, str, bytes)):
        return batch
    if isinstance(batch, np.generic):
        return Tensor(np.asarray(batch))
    if isinstance(batch, collections.abc.Mapping):
        return {k: _to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_to_tensors(d) for d in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_tensors(d) for d in batch)
    return batch
