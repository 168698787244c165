"""DataLoader: batching, shuffling, reproducibility, collate, samplers, bad arguments."""
import collections

import numpy as np
import pytest

import ember
from ember.data import DataLoader, Dataset, RandomSampler, Sampler, TensorDataset, default_collate


def _xy(n=10):
    return np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n)


def _order(loader):
    return np.concatenate([y.numpy() for _, y in loader])


def test_batches_are_lists_of_tensors_in_order():
    x, y = _xy(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    xb, yb = batches[0]
    assert isinstance(batches[0], list)  # as torch's default_collate gives for tuple samples
    assert isinstance(xb, ember.Tensor) and xb.dtype == np.float32 and xb.shape == (4, 2)
    assert yb.dtype == np.int64
    assert [b[1].shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(_order(loader), np.arange(10))


def test_drop_last():
    loader = DataLoader(TensorDataset(*_xy(10)), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[1].shape[0] for b in loader] == [4, 4]
    assert len(DataLoader(TensorDataset(*_xy(8)), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_a_permutation_and_reshuffles_each_epoch():
    loader = DataLoader(TensorDataset(*_xy(50)), batch_size=8, shuffle=True)
    e1, e2 = _order(loader), _order(loader)
    assert sorted(e1.tolist()) == list(range(50)) and sorted(e2.tolist()) == list(range(50))
    assert not np.array_equal(e1, e2)
    assert not np.array_equal(e1, np.arange(50))


def test_shuffle_reproducible_with_manual_seed_and_generator():
    ds = TensorDataset(*_xy(50))
    ember.manual_seed(3)
    a = [_order(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(2)]
    ember.manual_seed(3)
    b = [_order(DataLoader(ds, batch_size=8, shuffle=True)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    g = ember.Generator(7)
    la = DataLoader(ds, batch_size=8, shuffle=True, generator=g)
    first = _order(la)
    ember.manual_seed(99)  # the global seed does not touch an explicit generator
    second = _order(la)
    g.manual_seed(7)
    np.testing.assert_array_equal(_order(la), first)
    np.testing.assert_array_equal(_order(la), second)


def test_order_drawn_when_epoch_starts_and_resumes_from_rng_state():
    ds = TensorDataset(*_xy(30))
    g = ember.Generator(1)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=g)
    state = g.get_state()
    it = iter(loader)  # draws now
    assert not np.array_equal(g.get_state().numpy(), state.numpy())
    expected = np.concatenate([b[1].numpy() for b in it])
    g.set_state(state)
    np.testing.assert_array_equal(_order(loader), expected)


def test_loader_does_not_index_samples_one_by_one():
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(*_xy(100))
    for shuffle in (False, True):
        for x, y in DataLoader(ds, batch_size=16, shuffle=shuffle):
            np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())
    assert Counting.calls == 0


def test_unshuffled_batches_are_views():
    x, y = _xy(10)
    xb, _ = next(iter(DataLoader(TensorDataset(x, y), batch_size=4)))
    assert np.shares_memory(xb.numpy(), x)


class Samples(Dataset):
    """Generic per-sample dataset returning a dict sample with mixed leaves."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full((2, 3), i, np.float32), "label": i, "w": 0.5 * i, "name": f"s{i}"}


def test_generic_dataset_default_collate():
    loader = DataLoader(Samples(), batch_size=3, shuffle=True)
    batches = list(loader)
    assert len(batches) == 3
    b = batches[0]
    assert b["x"].shape == (3, 2, 3) and b["x"].dtype == np.float32
    assert b["label"].dtype == np.int64
    assert b["w"].dtype == np.float64  # Python floats collate to float64, as torch's default_collate
    assert isinstance(b["name"], list) and len(b["name"]) == 3
    np.testing.assert_array_equal(b["x"].numpy()[:, 0, 0], b["label"].numpy())
    labels = np.concatenate([bb["label"].numpy() for bb in batches])
    assert sorted(labels.tolist()) == list(range(7))


def test_default_collate_matches_pytorch_structure(torch):
    Point = collections.namedtuple("Point", "a b")
    samples = [Point(np.ones(2, np.float32) * i, i) for i in range(3)]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate([Point(torch.ones(2) * i, i) for i in range(3)])
    assert type(ours) is Point
    np.testing.assert_array_equal(ours.a.numpy(), theirs.a.numpy())
    np.testing.assert_array_equal(ours.b.numpy(), theirs.b.numpy())
    assert ours.b.dtype == np.int64 and str(theirs.b.dtype) == "torch.int64"
    with pytest.raises(RuntimeError, match="different shapes"):  # torch.stack's RuntimeError
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([object(), object()])


def test_custom_collate_fn_gets_sample_list():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(int(s[1]) for s in samples)

    loader = DataLoader(TensorDataset(*_xy(10)), batch_size=4, collate_fn=collate)
    assert list(loader) == [0 + 1 + 2 + 3, 4 + 5 + 6 + 7, 8 + 9]
    assert seen == [4, 4, 2]


def test_batch_size_none_yields_samples():
    loader = DataLoader(TensorDataset(*_xy(3)), batch_size=None)
    items = list(loader)
    assert len(loader) == 3 and len(items) == 3
    assert items[1][0].shape == (2,) and items[1][1].item() == 1


class EvenSampler(Sampler):
    def __init__(self, n):
        self.n, self.epoch = n, 0

    def __len__(self):
        return (self.n + 1) // 2

    def __iter__(self):
        return iter(range(0, self.n, 2))


def test_custom_sampler_and_set_epoch():
    s = EvenSampler(10)
    loader = DataLoader(TensorDataset(*_xy(10)), batch_size=2, sampler=s)
    assert len(loader) == 3
    np.testing.assert_array_equal(_order(loader), [0, 2, 4, 6, 8])
    loader.set_epoch(4)
    assert s.epoch == 4
    # a plain iterable of indices with __len__ works too
    plain = DataLoader(TensorDataset(*_xy(5)), batch_size=2, sampler=[4, 0, 3])
    np.testing.assert_array_equal(_order(plain), [4, 0, 3])


def test_random_sampler_with_replacement_and_num_samples():
    s = RandomSampler(range(5), replacement=True, num_samples=12, generator=ember.Generator(0))
    idx = s.indices()
    assert len(s) == 12 and idx.shape == (12,) and idx.min() >= 0 and idx.max() < 5
    s = RandomSampler(range(5), num_samples=12)
    idx = s.indices()
    assert len(idx) == 12 and sorted(idx[:5].tolist()) == list(range(5))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(batch_size=0), ValueError, "batch_size should be a positive int or None, got 0"),
    (dict(batch_size=-2), ValueError, "got -2"),
    (dict(batch_size=2.5), ValueError, "got 2.5"),
    (dict(batch_size=True), ValueError, "got True"),
    (dict(batch_size=None, drop_last=True), ValueError, "mutually exclusive with drop_last"),
    (dict(shuffle="yes"), TypeError, "shuffle should be a bool"),
    (dict(collate_fn=3), TypeError, "collate_fn should be callable"),
    (dict(sampler=[0, 1], shuffle=True), ValueError, "sampler option is mutually exclusive with shuffle"),
    (dict(sampler=5), TypeError, "sampler should be an iterable"),
    (dict(shuffle=True, generator=42), TypeError, "generator must be"),
])
def test_bad_arguments_fail_in_init(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(*_xy(4)), **kwargs)
