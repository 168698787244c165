"""Variable-length batches for the recurrent modules, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` holds the time steps of a batch of sequences sorted by decreasing length,
step after step: ``data`` is (sum of lengths, *), ``batch_sizes[t]`` the number of sequences
still running at step t. Packing and padding are one gather each (a differentiable index into
the rows), so gradients flow through them.
"""
from collections import namedtuple

import numpy as np

from .._tensor import Tensor
from ..ops.movement import cat
from .module import _to_numpy

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _long(a):
    return Tensor._from_op(np.ascontiguousarray(a, dtype=np.int64), None)


def _ints(v):
    return np.asarray(_to_numpy(v)).astype(np.int64).reshape(-1)


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(_to_numpy(x))


def invert_permutation(permutation):
    """The inverse of a 1-D permutation (None stays None)."""
    if permutation is None:
        return None
    p = _ints(permutation)
    out = np.empty_like(p)
    out[p] = np.arange(p.size)
    return _long(out)


class PackedSequence(namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Packed steps of sorted sequences: ``data`` (sum of lengths, *), ``batch_sizes`` (int64,
    one per step), ``sorted_indices`` (how the batch was sorted, or None) and
    ``unsorted_indices`` (its inverse). Made by ``pack_padded_sequence`` / ``pack_sequence``."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data.to(...)``; the indices follow the data's device, ``batch_sizes`` stays put."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self, *args, **kwargs):
        return self.to("cpu")

    def cuda(self, *args, **kwargs):
        return self.to("cuda")

    def double(self):
        return self.to(dtype=np.float64)

    def float(self):
        return self.to(dtype=np.float32)

    def half(self):
        return self.to(dtype=np.float16)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _lengths_of(batch_sizes):
    """Per sorted column j: the number of steps it runs (how many batch_sizes exceed j)."""
    bs = _ints(batch_sizes)
    return (bs[None, :] > np.arange(bs[0])[:, None]).sum(1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences with the
    given ``lengths``. With ``enforce_sorted`` the lengths must be decreasing; otherwise the
    batch is sorted here and ``sorted_indices`` records how."""
    x = _tensor(input)
    rank = np.ndim(_to_numpy(lengths))
    if rank != 1:  # PyTorch's words (it converts the lengths to int64 first)
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {rank}D cpu Long tensor")
    lengths = _ints(lengths)
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence expects input of at least 2 dims (T, B, *), got shape {tuple(x.shape)}")
    t_dim, b_dim = (1, 0) if batch_first else (0, 1)
    T, B = x.shape[t_dim], x.shape[b_dim]
    if lengths.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size={B})")
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
                "if you do not need ONNX exportability.")
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lengths, kind="stable")  # ties keep their order, as torch.sort does here
        lengths, sorted_indices = lengths[order], _long(order)
    if B and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if B and lengths[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {lengths[0]} exceeds the {T} steps of the input "
                           f"of shape {tuple(x.shape)}")
    steps, cols = np.nonzero(np.arange(T)[:, None] < lengths[None, :])  # step by step, sorted column by column
    b = order[cols]
    rows = b * T + steps if batch_first else steps * B + b
    data = x.reshape(T * B, *x.shape[2:])[rows]
    batch_sizes = (lengths[None, :] > np.arange(lengths[0] if B else 0)[:, None]).sum(1)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: returns the padded batch (T, B, *) (or (B, T, *)) in the
    original order and the int64 lengths. ``total_length`` pads to that many steps."""
    data, batch_sizes = sequence.data, _ints(sequence.batch_sizes)
    T, B, N = batch_sizes.size, int(batch_sizes[0]), data.shape[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T = int(total_length)
    lengths = _lengths_of(batch_sizes)
    col = np.arange(B) if sequence.sorted_indices is None else _ints(sequence.sorted_indices)
    steps, js = np.nonzero(np.arange(T)[:, None] < lengths[None, :])
    rows = np.full((T, B), N, np.int64)  # row N: the padding row appended below
    rows[steps, col[js]] = np.arange(N)
    pad = Tensor._from_op(np.full((1,) + tuple(data.shape[1:]), padding_value, data._data.dtype), None)
    padded = cat([data, pad], 0)[rows.T if batch_first else rows]
    unsorted = lengths if sequence.unsorted_indices is None else lengths[_ints(sequence.unsorted_indices)]
    return padded, _long(unsorted)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padded with
    ``padding_value`` on the right (or the left, ``padding_side='left'``)."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = [_tensor(s) for s in sequences]
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    lengths = np.array([s.shape[0] if s.ndim else 1 for s in seqs], np.int64)
    T, B, N = int(lengths.max()), len(seqs), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    t = np.arange(T)[:, None]
    shift = (T - lengths)[None, :] if padding_side == "left" else 0
    inside = (t >= shift) & (t < shift + lengths[None, :])
    rows = np.where(inside, starts[None, :] + t - shift, N)  # row N: the padding row
    base = seqs[0]
    pad = Tensor._from_op(np.full((1,) + tuple(base.shape[1:]), padding_value, base._data.dtype), None)
    return cat(seqs + [pad], 0)[rows.T if batch_first else rows]


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of sequences of the given lengths."""
    x = _tensor(padded_sequences)
    if not batch_first:
        x = x.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_ints(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    seqs = [_tensor(s) for s in sequences]
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
