"""``embedding_bag`` (sums, means or maxima of bags of embedding rows) and the parts that
``embedding`` shares with it: the in-place ``max_norm`` renormalisation, the gradient scaled
by 1/frequency, the checks of ``padding_idx``.

Every bag op is a composition: the rows are read with ``getitem`` (whose gradient is the row
scatter-add ``_util.index_add_rows``), summed into their bags with ``IndexAdd`` (whose gradient
reads them back), so the gradients of any order come with them.
"""
import numbers

import numpy as np

from ..autograd import Function
from ..autograd.function import bump, is_grad_enabled
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .indexing_prims import IndexOutOfRange, _tn
from .movement import IndexAdd, getitem, reshape

__all__ = ["embedding_bag"]


class _ArgumentError(ValueError, AssertionError):
    """A bad argument: a ValueError, and the AssertionError that PyTorch's modules raise."""


class GradScale(Function):
    """The identity, whose gradient is ``gy * scale`` (a constant array): scale_grad_by_freq."""

    dual = True

    def forward(self, a, scale):
        self.scale = scale
        return a.view()

    def backward(self, gy):
        return gy * self.scale


def check_sparse(sparse, who):
    if sparse:
        raise NotImplementedError(
            f"{who}: sparse=True needs sparse gradients, which ember does not have; pass sparse=False "
            "(the gradient is then a dense tensor with the same values)")


def padding_index(padding_idx, n, who="embedding", error=_ArgumentError):
    """``padding_idx`` in [0, n) (a negative one counts from the end), or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or not -n <= padding_idx < n:
        raise error(f"{who}: padding_idx must be within the number of embeddings, -{n} through {n - 1}, "
                    f"but got {padding_idx!r}")
    return int(padding_idx) % n


def embedding_renorm_(weight, indices, max_norm, norm_type=2.0):
    """Scale, in place and outside the graph, each row of ``weight`` that ``indices`` names and
    whose ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm`` (as PyTorch: by
    ``max_norm / (norm + 1e-7)``). Bumps the weight's version, as an in-place op."""
    w = weight._data
    if w.ndim != 2:
        raise RuntimeError(f"Expected 2-dimensional tensor, but got {w.ndim}-dimensional tensor for argument #1 "
                           "'self' (while checking arguments for embedding_renorm_)")
    rows = np.unique(indices)
    if rows.size:
        sel = w[rows]
        norms = np.linalg.norm(sel.astype(np.float64), ord=float(norm_type), axis=1)
        big = norms > max_norm
        if big.any():
            scale = (float(max_norm) / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] = sel[big] * scale[:, None]
    bump(weight)


def scaled_grad_needed(w):
    """Whether a GradScale is worth recording (it is invisible without a gradient)."""
    return w.requires_grad and is_grad_enabled()


def freq_scale(idx, n, dtype):
    """1 / (how often each entry's id occurs in ``idx``), shaped idx.shape + (1,)."""
    counts = np.bincount(idx.reshape(-1), minlength=n)
    return (1.0 / counts[idx]).astype(dtype)[..., None]


def _int_array(x, what):
    a = np.asarray(x._data if isinstance(x, TensorBase) else x)
    if a.dtype.kind not in "iu":
        if a.size == 0 and not isinstance(x, TensorBase):
            return a.astype(np.int64)
        raise RuntimeError(f"Expected tensor for argument #1 '{what}' to have one of the following scalar types: "
                           f"Long, Int; but got ember.{_tn(a.dtype)}Tensor instead (while checking arguments for "
                           "embedding_bag)")
    return a.astype(np.int64, copy=False)


def _bags(idx, offsets, include_last_offset):
    """(flat ids, bag starts, bag ends) from 2-D input or 1-D input with offsets."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        b, m = idx.shape
        starts = np.arange(b, dtype=np.int64) * m
        return idx.reshape(-1), starts, starts + m
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    offs = _int_array(offsets, "offsets")
    if offs.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if offs.size and offs[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from "
                           f"position 0. However, got {offs[0]}")
    if offs.size and offs[-1] > idx.size:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {idx.size} but got offsets[-1] of "
                           f"{offs[-1]}")
    if offs.size > 1 and (np.diff(offs) < 0).any():
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {offs.tolist()}")
    if include_last_offset:  # offsets[-1] ends the last bag (torch 2.13 reads on to the input's end in float64)
        return idx, offs[:-1], offs[1:]
    return idx, offs, np.append(offs[1:], idx.size)


def _bag_max(w, ids, bags, nbags):
    """Each bag's column-wise maximum as a read of ``w`` at the rows that hold it (the first
    maximum, as PyTorch; a NaN in a bag's first row stays, a later NaN is passed over)."""
    d = w._data.shape[1]
    vals = w._data[ids]
    seg = np.flatnonzero(np.concatenate(([True], bags[1:] != bags[:-1])))  # the first entry of each bag
    with np.errstate(invalid="ignore"):
        mx = np.fmax.reduceat(vals, seg, axis=0)
    group = np.repeat(np.arange(seg.size), np.diff(np.append(seg, ids.size)))
    cand = np.where(vals == mx[group], np.arange(ids.size)[:, None], ids.size)
    first = np.minimum.reduceat(cand, seg, axis=0)
    first = np.where(np.isnan(vals[seg]) | (first == ids.size), seg[:, None], first)
    out = getitem(w, (ids[first], np.arange(d)[None, :]))
    if seg.size == nbags:
        return out
    return IndexAdd.apply(out, shape=(nbags, d), index=bags[seg], advanced=True)  # empty bags: zeros


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of rows of ``weight`` (num_embeddings, embedding_dim).

    ``input`` is (B, N) (B bags of N ids; ``offsets`` must be None) or 1-D with ``offsets``, the
    start of each bag (with ``include_last_offset``, one more entry: the end of the last bag).
    ``per_sample_weights`` (input's shape, mode 'sum' only) weighs each id; ids equal to
    ``padding_idx`` are left out of their bag; an empty bag gives zeros. ``max_norm`` and
    ``scale_grad_by_freq`` act as in ``embedding``. Returns (B, embedding_dim).
    """
    w = weight if isinstance(weight, TensorBase) else as_tensor(weight)
    if w._data.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {w._data.ndim}")
    idx = _int_array(input, "indices")
    if idx.ndim not in (1, 2):
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if per_sample_weights is not None:
        psw = as_tensor(per_sample_weights)
        if psw._data.shape != idx.shape:
            raise ValueError(f"embedding_bag: If per_sample_weights ({psw._data.shape}) is not None, then it must "
                             f"have the same shape as the input ({idx.shape})")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    check_sparse(sparse, "embedding_bag")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
                f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub.")
        if psw._data.dtype != w._data.dtype:
            raise RuntimeError(
                "Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 "
                f"'per_sample_weights'; but type ember.{_tn(w._data.dtype)}Tensor does not equal "
                f"ember.{_tn(psw._data.dtype)}Tensor "
                "(while checking arguments for embedding_bag)")
    n, d = w._data.shape
    pad = padding_index(padding_idx, n, "embedding_bag", RuntimeError)
    flat, starts, ends = _bags(idx, offsets, include_last_offset)
    if flat.size:
        bad = np.flatnonzero((flat < 0) | (flat >= n))
        if bad.size:
            raise IndexOutOfRange(f"embedding_bag: index {bad[0]} of input takes value {flat[bad[0]]} which is not "
                                  f"in the valid range [0, {n})")
    if max_norm is not None:
        embedding_renorm_(w, flat, max_norm, norm_type)
    nbags = starts.size
    bags = np.repeat(np.arange(nbags), ends - starts)  # the bag of each entry read
    keep = np.arange(bags.size)
    if pad is not None:
        keep = keep[flat[:bags.size] != pad]
    ids, bags = flat[keep], bags[keep]
    if mode == "max" and ids.size:
        return _bag_max(w, ids, bags, nbags)
    rows = getitem(w, ids)  # (entries, d)
    if scale_grad_by_freq and scaled_grad_needed(w):
        rows = GradScale.apply(rows, scale=freq_scale(ids, n, w._data.dtype))
    if per_sample_weights is not None:
        rows = rows * reshape(getitem(reshape(psw, (-1,)), keep), (-1, 1))
    out = IndexAdd.apply(rows, shape=(nbags, d), index=bags, advanced=True)
    if mode == "mean":
        count = np.bincount(bags, minlength=nbags)
        out = out / from_op(np.maximum(count, 1).astype(w._data.dtype)[:, None], None)
    return out
