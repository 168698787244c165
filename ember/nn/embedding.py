"""``Embedding``: a lookup table of learned vectors, indexed by integer ids."""
import numbers

import numpy as np

from .. import backend
from ..autograd.function import bump
from ..ops.layers import embedding
from . import init
from .module import Module, Parameter, _to_numpy

__all__ = ["Embedding"]


class Embedding(Module):
    """Map integer ids to rows of ``weight``.

    Args:
        num_embeddings: size of the vocabulary.
        embedding_dim: size of each vector.
        padding_idx: an id whose row starts at zero and gets no gradient (negative counts from the end).
        device: where the parameters live ("cpu", or "cuda" with CuPy; None: the CPU).
        dtype: parameter dtype (the default float dtype if None).

    Shape:
        Input: integer (*). Output: (*, embedding_dim).

    Attributes:
        weight: (num_embeddings, embedding_dim), drawn from N(0, 1).
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, device=None, dtype=None):
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"Embedding: {name} must be a non-negative int, got {v!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not isinstance(padding_idx, numbers.Integral) or not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be within [-{self.num_embeddings}, {self.num_embeddings}), got {padding_idx!r}"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0
            bump(self.weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding whose weight is a copy of ``embeddings`` (num_embeddings, embedding_dim)."""
        arr = np.array(_to_numpy(embeddings))  # a copy: the caller's array is not shared
        if arr.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained expects a 2-D array, got shape {tuple(arr.shape)}")
        m = cls(arr.shape[0], arr.shape[1], padding_idx=padding_idx, dtype=arr.dtype if arr.dtype.kind == "f" else None)
        m.weight._data[...] = arr
        bump(m.weight)
        m.weight.requires_grad = not freeze
        return m

    def forward(self, idx):
        try:
            return embedding(idx, self.weight, self.padding_idx)
        except IndexError as e:
            raise IndexError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): {e}") from None

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
