"""``EmbeddingBag``: sums, means or maxima of bags of embedding rows, without the (B, N, dim)
tensor of an Embedding followed by a reduction."""
from ..ops.embedding_bag import check_sparse, embedding_bag
from .embedding import _padding, _pretrained_table, _reset, _set_weight, _sizes
from .module import Module

__all__ = ["EmbeddingBag"]


class EmbeddingBag(Module):
    """Reduce bags of rows of ``weight``: ``mode`` 'sum', 'mean' (default) or 'max'.

    Args:
        num_embeddings, embedding_dim: the table's size.
        max_norm, norm_type, scale_grad_by_freq: as in Embedding ('max' refuses the last).
        mode: 'sum', 'mean' or 'max'.
        sparse: must be False (NotImplementedError).
        _weight: a table to use as the weight (shared).
        include_last_offset: ``offsets`` has one more entry, the end of the last bag.
        padding_idx: an id left out of its bag; its row starts at zero and gets no gradient.
        device, dtype: of the weight.

    Shape:
        ``forward(input, offsets=None, per_sample_weights=None)``: input (B, N), or 1-D with
        ``offsets`` (B,) (B + 1 with include_last_offset); output (B, embedding_dim).
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = _sizes("EmbeddingBag", num_embeddings, embedding_dim)
        self.padding_idx = _padding("EmbeddingBag", padding_idx, self.num_embeddings)
        check_sparse(sparse, "EmbeddingBag")
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset
        _set_weight(self, _weight, False, dtype, device)

    def reset_parameters(self):
        _reset(self)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag over the table ``embeddings`` (an ember Tensor shared, an array
        copied); ``freeze``: the weight needs no gradient."""
        arr = _pretrained_table(cls, embeddings)
        m = cls(arr.shape[0], arr.shape[1], max_norm=max_norm, norm_type=norm_type,
                scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse, _weight=arr,
                include_last_offset=include_last_offset, padding_idx=padding_idx)
        m.weight.requires_grad = not freeze
        return m

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                             self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
