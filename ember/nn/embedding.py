"""``Embedding``: a lookup table of learned vectors, indexed by integer ids."""
import numbers

import numpy as np

from .. import backend
from .._tensor_base import TensorBase
from ..autograd.function import bump
from ..ops.embedding_bag import _ArgumentError, check_sparse
from ..ops.layers import embedding
from . import init
from .module import Module, Parameter, _to_numpy

__all__ = ["Embedding"]


def _sizes(who, num_embeddings, embedding_dim):
    for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{who}: {name} must be a non-negative int, got {v!r}")
    return int(num_embeddings), int(embedding_dim)


def _padding(who, padding_idx, n):
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or not -n <= padding_idx < n:
        raise _ArgumentError(f"{who}: padding_idx must be within [-{n}, {n}) (within num_embeddings), "
                             f"got {padding_idx!r}")
    return int(padding_idx) % n


def _set_weight(m, _weight, _freeze, dtype, device):
    """Set ``m.weight``: ``_weight`` itself (its array shared, as PyTorch) or N(0, 1) draws with
    the padding row zeroed."""
    shape = (m.num_embeddings, m.embedding_dim)
    if _weight is None:
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        m.weight = Parameter(np.empty(shape, dtype), requires_grad=not _freeze)
        m.reset_parameters()
    else:
        arr = _weight._data if isinstance(_weight, TensorBase) else np.asarray(_to_numpy(_weight))
        if arr.shape != shape:
            raise _ArgumentError(f"{type(m).__name__}: Shape of weight does not match num_embeddings and "
                                 f"embedding_dim: expected {shape}, got {arr.shape}")
        m.weight = Parameter(arr, requires_grad=not _freeze)
    if device is not None:
        m.to(device)


def _pretrained_table(cls, embeddings):
    """A copy of an array-like table (a Tensor is shared, as PyTorch), floats kept, others cast
    to the default float dtype."""
    if isinstance(embeddings, TensorBase):
        arr = embeddings._data
    else:
        arr = np.array(_to_numpy(embeddings))  # a copy: the caller's array is not shared
    if arr.ndim != 2:
        raise _ArgumentError(f"{cls.__name__}.from_pretrained: Embeddings parameter is expected to be "
                             f"2-dimensional, got shape {arr.shape}")
    if arr.dtype.kind != "f":
        arr = arr.astype(backend.get_default_dtype())
    return arr


def _reset(m):
    init.normal_(m.weight)
    if m.padding_idx is not None:
        m.weight._data[m.padding_idx] = 0
        bump(m.weight)


class Embedding(Module):
    """Map integer ids to rows of ``weight``.

    Args:
        num_embeddings: size of the vocabulary.
        embedding_dim: size of each vector.
        padding_idx: an id whose row starts at zero and gets no gradient (negative counts from the end).
        max_norm: rows looked up whose norm exceeds it are scaled to it, in place, first.
        norm_type: the p of that norm (2).
        scale_grad_by_freq: divide each row's gradient by its id's count in the mini-batch.
        sparse: must be False (ember has no sparse gradients: NotImplementedError).
        _weight: a (num_embeddings, embedding_dim) table to use as the weight (shared, not drawn).
        _freeze: the weight then needs no gradient.
        device: where the parameters live ("cpu", or "cuda" with CuPy; None: the CPU).
        dtype: parameter dtype (the default float dtype if None).

    Shape:
        Input: integer (*). Output: (*, embedding_dim).

    Attributes:
        weight: (num_embeddings, embedding_dim), drawn from N(0, 1).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = _sizes("Embedding", num_embeddings, embedding_dim)
        self.padding_idx = _padding("Embedding", padding_idx, self.num_embeddings)
        check_sparse(sparse, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        _set_weight(self, _weight, _freeze, dtype, device)

    def reset_parameters(self):
        _reset(self)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (num_embeddings, embedding_dim): an
        ember Tensor is shared, as PyTorch shares it; an array is copied. The padding row is
        kept as given. ``freeze``: the weight needs no gradient."""
        arr = _pretrained_table(cls, embeddings)
        return cls(arr.shape[0], arr.shape[1], padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=arr, _freeze=freeze)

    def forward(self, idx):
        try:
            return embedding(idx, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.sparse)
        except IndexError as e:
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): {e}") from None

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s
