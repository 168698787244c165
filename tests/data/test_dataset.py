"""Dataset, TensorDataset, Subset, ConcatDataset, random_split."""
import numpy as np
import pytest

import ember
from ember.data import ConcatDataset, Dataset, Subset, TensorDataset, random_split


def test_tensor_dataset_int_and_batch_indexing():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = ember.tensor(np.arange(10))
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, [6, 7])
    assert yi == 3
    xb, yb = ds.__getitems__(np.array([4, 1]))
    np.testing.assert_array_equal(xb, x[[4, 1]])
    np.testing.assert_array_equal(yb, [4, 1])
    assert ds.tensors[1] is y  # the Tensors given, as in PyTorch; arrays wrapped without a copy
    assert isinstance(ds.tensors[0], ember.Tensor) and np.shares_memory(ds.tensors[0].numpy(), x)
    assert isinstance(xi, ember.Tensor) and isinstance(yi, ember.Tensor)  # samples are Tensors
    assert xi.dtype == ember.float32 and yi.dtype == ember.int64
    xs, _ = ds.__getitems__(slice(2, 5))
    assert np.shares_memory(xs, x)


def test_tensor_dataset_bad_args():
    with pytest.raises(ValueError, match="same length.*\\(10, 2\\).*\\(9,\\)"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(np.float32(1.0))


def test_subset_maps_indices_and_checks_range():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    assert sub[0][0] == 70 and sub[-1][0] == 50
    np.testing.assert_array_equal(sub.__getitems__(np.array([2, 0]))[0], [50, 70])
    with pytest.raises(IndexError, match="index 10 out of range .* 10 samples"):
        Subset(ds, [1, 10])
    with pytest.raises(TypeError, match="1-D sequence of ints"):
        Subset(ds, [0.5])


class Squares(Dataset):
    """A generic per-sample dataset: no __getitems__."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if not 0 <= i < 6:
            raise IndexError(i)
        return np.float32(i * i), i


def test_subset_of_generic_dataset_returns_samples():
    sub = Subset(Squares(), [5, 1])
    assert sub.__getitems__(np.array([0, 1])) == [(25.0, 5), (1.0, 1)]


def test_concat_dataset_getitem_and_batches():
    a = TensorDataset(np.arange(3), np.arange(3) * 10)
    b = TensorDataset(np.arange(3, 8), np.arange(3, 8) * 10)
    cat = ConcatDataset([a, b])
    assert len(cat) == 8 and cat.cumulative_sizes == [3, 8]
    assert [int(cat[i][0]) for i in range(8)] == list(range(8))
    assert int(cat[-1][0]) == 7
    with pytest.raises(IndexError):
        cat[8]
    idx = np.array([6, 0, 4, 2, 3])  # spans both, out of order
    x, y = cat.__getitems__(idx)
    np.testing.assert_array_equal(x, idx)
    np.testing.assert_array_equal(y, idx * 10)
    assert len(a + b) == 8
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_concat_with_generic_dataset_falls_back_to_samples():
    cat = ConcatDataset([TensorDataset(np.array([100.0], np.float32), np.array([9])), Squares()])
    out = cat.__getitems__(np.array([2, 0]))
    assert isinstance(out, list) and out[0] == (1.0, 1) and out[1][0] == 100.0


def test_random_split_lengths_and_disjoint():
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, [3, 7], generator=ember.Generator(0))
    assert [len(p) for p in parts] == [3, 7]
    seen = np.concatenate([p.indices for p in parts])
    assert sorted(seen.tolist()) == list(range(10))
    again = random_split(ds, [3, 7], generator=ember.Generator(0))
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)
    ember.manual_seed(5)
    g1 = random_split(ds, [5, 5])[0].indices
    ember.manual_seed(5)
    np.testing.assert_array_equal(random_split(ds, [5, 5])[0].indices, g1)


def test_random_split_fractions_match_pytorch(torch):
    for n, fracs in [(11, [0.3, 0.3, 0.4]), (10, [0.5, 0.5]), (7, [0.1, 0.2, 0.7]), (100, [0.8, 0.2])]:
        ours = [len(p) for p in random_split(TensorDataset(np.arange(n)), fracs)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fracs)]
        assert ours == theirs, (n, fracs)


def test_random_split_bad_lengths():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum of lengths 9 .* length 10"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [-1, 11])
    with pytest.raises(ValueError, match="ints or fractions"):
        random_split(ds, [0.5, 9.5])


def test_concat_slices_stay_views_within_one_dataset():
    x = np.arange(5.0)
    cat = ConcatDataset([TensorDataset(np.arange(3.0)), TensorDataset(x)])
    (xs,) = cat.__getitems__(slice(4, 7))
    np.testing.assert_array_equal(xs, [1, 2, 3])
    assert np.shares_memory(xs, x)
    (both,) = cat.__getitems__(slice(1, 5))
    np.testing.assert_array_equal(both, [1, 2, 0, 1])
    assert ConcatDataset([Squares(), Squares()]).__getitems__(slice(7, 9)) == [(1.0, 1), (4.0, 2)]
