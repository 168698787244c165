"""ember.nn.utils.rnn (pad, pack, PackedSequence) against torch.nn.utils.rnn: values, layouts,
indices, gradients through packing and padding, round trips and torch's errors."""
import numpy as np
import pytest

import ember
from ember.nn.utils import rnn
from ember.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                pad_sequence, unpack_sequence, unpad_sequence)

LENGTHS = [[5, 3, 3, 1], [2, 5, 1, 4, 5], [1], [3, 3, 3]]


def _arr(t):
    return t.detach().numpy()


def _seqs(lengths, dtype=np.float64, tail=(2,)):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n,) + tail).astype(dtype) for n in lengths]


def test_importable_like_torch():
    import ember.nn.utils.rnn as mod
    from ember.nn.utils import clip_grad_norm_, fuse, parameters_to_vector, vector_to_parameters  # noqa: F401
    assert mod is rnn and ember.nn.utils.rnn.pad_sequence is pad_sequence


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("tail", [(), (2, 3)])
def test_pad_sequence(torch, lengths, batch_first, side, tail):
    seqs = _seqs(lengths, tail=tail)
    es = [ember.tensor(s, requires_grad=True) for s in seqs]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    ep = pad_sequence(es, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    tp = torch.nn.utils.rnn.pad_sequence(ts, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    np.testing.assert_array_equal(_arr(ep), _arr(tp))
    w = np.random.default_rng(1).standard_normal(tuple(tp.shape))
    (ep * ember.tensor(w)).sum().backward()
    (tp * torch.tensor(w)).sum().backward()
    for e, t in zip(es, ts):
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pack_padded_unsorted_and_back(torch, lengths, batch_first, dtype):
    B, T = len(lengths), max(lengths)
    x = np.random.default_rng(2).standard_normal((B, T, 3) if batch_first else (T, B, 3)).astype(dtype)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ep = pack_padded_sequence(ex, lengths, batch_first=batch_first, enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                 enforce_sorted=False)
    assert isinstance(ep, PackedSequence) and isinstance(ep, tuple) and ep._fields == tp._fields
    np.testing.assert_array_equal(_arr(ep.data), _arr(tp.data))
    assert ep.data.dtype == dtype
    for f in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(ep, f), getattr(tp, f)
        assert a.dtype == ember.int64
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f)
    for total in (None, T + 2):
        epad, elen = pad_packed_sequence(ep, batch_first=batch_first, padding_value=9.0, total_length=total)
        tpad, tlen = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first=batch_first, padding_value=9.0,
                                                            total_length=total)
        np.testing.assert_array_equal(_arr(epad), _arr(tpad))
        np.testing.assert_array_equal(elen.numpy(), tlen.numpy())
        assert elen.dtype == ember.int64
    w = np.random.default_rng(3).standard_normal(tuple(tpad.shape)).astype(dtype)
    (epad * ember.tensor(w)).sum().backward()
    (tpad * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sorted(torch, batch_first):
    lengths = [4, 4, 2, 1]
    x = np.random.default_rng(4).standard_normal((4, 4, 2) if batch_first else (4, 4, 2))
    ep = pack_padded_sequence(ember.tensor(x), ember.tensor(lengths), batch_first=batch_first)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first=batch_first)
    assert ep.sorted_indices is None and ep.unsorted_indices is None and tp.sorted_indices is None
    np.testing.assert_array_equal(_arr(ep.data), _arr(tp.data))
    np.testing.assert_array_equal(ep.batch_sizes.numpy(), tp.batch_sizes.numpy())
    np.testing.assert_array_equal(_arr(pad_packed_sequence(ep, batch_first)[0]),
                                  _arr(torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first)[0]))


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_and_unpack_sequence(torch, lengths, enforce_sorted):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    seqs = _seqs(lengths)
    ep = pack_sequence([ember.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(_arr(ep.data), _arr(tp.data))
    np.testing.assert_array_equal(ep.batch_sizes.numpy(), tp.batch_sizes.numpy())
    back = unpack_sequence(ep)
    assert len(back) == len(seqs)
    for b, s in zip(back, seqs):
        np.testing.assert_array_equal(_arr(b), s)
    padded = pad_sequence([ember.tensor(s) for s in seqs], batch_first=True)
    for b, s in zip(unpad_sequence(padded, ember.tensor(lengths), batch_first=True), seqs):
        np.testing.assert_array_equal(_arr(b), s)
    for b, s in zip(unpad_sequence(padded.transpose(0, 1), lengths), seqs):
        np.testing.assert_array_equal(_arr(b), s)


def test_packed_sequence_namedtuple():
    p = pack_sequence([ember.ones(3, 2), ember.ones(1, 2)])
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert data is p.data and p[1] is batch_sizes and sorted_indices is None and unsorted_indices is None
    q = p.double()
    assert q.data.dtype == ember.float64 and q.batch_sizes is p.batch_sizes and not q.is_cuda
    assert p.to(ember.float32) is p and p.float() is p and not p.is_pinned()
    again = PackedSequence(p.data, p.batch_sizes, ember.tensor([1, 0]))
    np.testing.assert_array_equal(again.unsorted_indices.numpy(), [1, 0])
    assert PackedSequence((p.data, p.batch_sizes)).batch_sizes is p.batch_sizes
    np.testing.assert_array_equal(rnn.invert_permutation(ember.tensor([2, 0, 1])).numpy(), [1, 2, 0])


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def test_errors_match_torch(torch):
    x = np.zeros((3, 2, 4))
    for lengths in ([2, 3], [3, 0], [3, 2, 1]):
        assert _message(lambda: pack_padded_sequence(ember.tensor(x), lengths)) == \
            _message(lambda: torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths))
    seqs = [np.ones((1, 2)), np.ones((3, 2))]
    assert _message(lambda: pack_sequence([ember.tensor(s) for s in seqs])) == \
        _message(lambda: torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs]))
    assert _message(lambda: pad_sequence([ember.ones(2)], padding_side="up")) == \
        _message(lambda: torch.nn.utils.rnn.pad_sequence([torch.ones(2)], padding_side="up"))
    ep = pack_padded_sequence(ember.tensor(x), [3, 2])
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), [3, 2])
    assert _message(lambda: pad_packed_sequence(ep, total_length=2)) == \
        _message(lambda: torch.nn.utils.rnn.pad_packed_sequence(tp, total_length=2))
    with pytest.raises(RuntimeError, match="exceeds the 3 steps"):
        pack_padded_sequence(ember.tensor(x), [4, 2])
