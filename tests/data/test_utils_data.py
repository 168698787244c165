"""ember.utils.data (= ember.data): samplers, collate, IterableDataset, ChainDataset, StackDataset and
the DataLoader's argument rules, against torch.utils.data 2.13 (single-process; workers: test_workers.py)."""
import collections
import inspect

import numpy as np
import pytest

import ember
import ember.data as ed

Point = collections.namedtuple("Point", "a b")


# ----- the module -----
def test_utils_data_is_ember_data():
    import ember.utils.data
    import ember.utils.data.dataloader as dl_mod
    from ember.utils.data import DataLoader, Dataset, TensorDataset, random_split
    from ember.utils.data.sampler import RandomSampler

    assert ember.utils.data is ed
    assert ember.utils.data.DataLoader is ed.DataLoader is DataLoader
    assert dl_mod is ed.dataloader and RandomSampler is ed.RandomSampler
    assert (Dataset, TensorDataset, random_split) == (ed.Dataset, ed.TensorDataset, ed.random_split)


@pytest.mark.parametrize("name", [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "StackDataset",
    "random_split", "DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "default_collate", "default_convert", "get_worker_info",
])
def test_torch_names_exist(name, torch):
    assert hasattr(torch.utils.data, name)
    assert hasattr(ember.utils.data, name)


def test_dataloader_signature_is_torchs(torch):
    ours = inspect.signature(ed.DataLoader)
    theirs = inspect.signature(torch.utils.data.DataLoader)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        assert ours.parameters[name].kind == p.kind, name
        assert ours.parameters[name].default == p.default, name
    assert list(inspect.signature(ed.RandomSampler).parameters) == \
        list(inspect.signature(torch.utils.data.RandomSampler).parameters)


def test_get_worker_info_is_none_in_main_process(torch):
    assert ed.get_worker_info() is None and torch.utils.data.get_worker_info() is None


# ----- samplers -----
@pytest.mark.parametrize("n, bs, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False),
                                              (1, 4, True), (0, 2, False), (7, 1, False)])
def test_batch_sampler_matches_torch(n, bs, drop_last, torch):
    ours = ed.BatchSampler(ed.SequentialSampler(range(n)), bs, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)
    theirs = torch.utils.data.BatchSampler([5, 2, 9], 2, drop_last)
    assert list(ed.BatchSampler([5, 2, 9], 2, drop_last)) == list(theirs)


@pytest.mark.parametrize("make", [
    lambda m: m.BatchSampler(range(4), 0, False),
    lambda m: m.BatchSampler(range(4), 2.0, False),
    lambda m: m.BatchSampler(range(4), True, False),
    lambda m: m.BatchSampler(range(4), 2, "no"),
    lambda m: m.RandomSampler(range(4), replacement=1),
    lambda m: m.RandomSampler(range(4), num_samples=0),
    lambda m: m.RandomSampler(range(4), num_samples=2.5),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 0),
    lambda m: m.WeightedRandomSampler([1.0, 2.0], 3, replacement="yes"),
    lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 3),
], ids=["bs0", "bs-float", "bs-bool", "drop-str", "repl-int", "ns0", "ns-float", "w-ns0", "w-repl", "w-2d"])
def test_sampler_argument_errors_match_torch(make, torch):
    with pytest.raises(Exception) as theirs:
        make(torch.utils.data)
    with pytest.raises(theirs.type):
        make(ed)


@pytest.mark.parametrize("n, replacement, num_samples", [(7, False, None), (7, True, None), (7, False, 3),
                                                         (7, False, 16), (7, True, 20), (1, False, 5)])
def test_random_sampler_lengths_and_draws(n, replacement, num_samples, torch):
    ours = ed.RandomSampler(range(n), replacement=replacement, num_samples=num_samples, generator=ember.Generator(0))
    theirs = torch.utils.data.RandomSampler(range(n), replacement=replacement, num_samples=num_samples)
    drawn, expected = list(ours), list(theirs)
    assert len(ours) == len(theirs) == len(drawn) == len(expected)
    assert all(0 <= i < n for i in drawn) and all(isinstance(i, int) for i in drawn)
    if not replacement:  # whole permutations one after the other, as torch
        for start in range(0, len(drawn) - len(drawn) % n, n):
            assert sorted(drawn[start:start + n]) == list(range(n))
        assert len(set(drawn[len(drawn) - len(drawn) % n:])) == len(drawn) % n


def test_random_sampler_generator_reproducible():
    a = list(ed.RandomSampler(range(20), generator=ember.Generator(4)))
    b = list(ed.RandomSampler(range(20), generator=ember.Generator(4)))
    assert a == b and a != list(range(20))


def test_subset_random_sampler(torch):
    idx = [9, 3, 7, 1]
    ours = ed.SubsetRandomSampler(idx, generator=ember.Generator(1))
    theirs = torch.utils.data.SubsetRandomSampler(idx)
    assert len(ours) == len(theirs) == 4
    assert sorted(ours) == sorted(theirs) == sorted(idx)
    assert ours.indices == theirs.indices == idx
    orders = {tuple(ours) for _ in range(20)}
    assert len(orders) > 1  # reshuffled every epoch


def test_weighted_random_sampler(torch):
    w = [0.0, 1.0, 3.0, 0.0, 6.0]
    ours = ed.WeightedRandomSampler(w, 4000, generator=ember.Generator(2))
    theirs = torch.utils.data.WeightedRandomSampler(w, 4000)
    assert len(ours) == len(theirs) == 4000
    drawn = np.array(list(ours))
    assert set(drawn.tolist()) == set(list(theirs)) == {1, 2, 4}  # zero weights never drawn
    freq = np.bincount(drawn, minlength=5) / 4000
    np.testing.assert_allclose(freq, np.array(w) / 10, atol=0.03)
    no_repl = list(ed.WeightedRandomSampler(w, 3, replacement=False, generator=ember.Generator(0)))
    assert sorted(no_repl) == [1, 2, 4]
    assert len(ed.WeightedRandomSampler(ember.tensor([1.0, 2.0]), 5)) == 5
    # without replacement, the zero weights come once the others are drawn; more than len(w) fails at draw time
    assert sorted(ed.WeightedRandomSampler(w, 5, replacement=False))[:5] == \
        sorted(torch.utils.data.WeightedRandomSampler(w, 5, replacement=False)) == [0, 1, 2, 3, 4]
    assert set(list(ed.WeightedRandomSampler(w, 4, replacement=False))[:3]) == {1, 2, 4}
    with pytest.raises(RuntimeError):
        list(ed.WeightedRandomSampler(w, 6, replacement=False))
    with pytest.raises(RuntimeError):
        list(torch.utils.data.WeightedRandomSampler(w, 6, replacement=False))


def test_samplers_in_a_dataloader():
    ds = ed.TensorDataset(np.arange(10))
    loader = ed.DataLoader(ds, batch_size=3, sampler=ed.SubsetRandomSampler([8, 6, 4, 2, 0]))
    got = np.concatenate([b[0].numpy() for b in loader])
    assert sorted(got.tolist()) == [0, 2, 4, 6, 8] and len(loader) == 2
    loader = ed.DataLoader(ds, batch_size=4, sampler=ed.WeightedRandomSampler([0.0] * 9 + [1.0], 6))
    assert [b[0].numpy().tolist() for b in loader] == [[9] * 4, [9] * 2]


# ----- default_collate / default_convert vs torch -----
def _same(ours, theirs, torch, path="batch"):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ember.Tensor), (path, type(ours))
        assert ours.numpy().dtype == theirs.numpy().dtype, (path, ours.numpy().dtype, theirs.numpy().dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (path, type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for k in theirs:
            _same(ours[k], theirs[k], torch, f"{path}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), path
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _same(o, t, torch, f"{path}[{i}]")
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs, path


COLLATE_CASES = {
    "ints": lambda t: [1, 2, 3],
    "floats": lambda t: [0.5, 1.5],
    "bools": lambda t: [True, False],
    "int-then-float": lambda t: [1, 2.5],
    "np-float32": lambda t: [np.float32(1.5), np.float32(2)],
    "np-float64": lambda t: [np.float64(1.5), np.float64(2)],
    "np-int32": lambda t: [np.int32(1), np.int32(2)],
    "np-int64": lambda t: [np.int64(1), np.int64(2)],
    "np-bool": lambda t: [np.bool_(True), np.bool_(False)],
    "np-uint8": lambda t: [np.uint8(7), np.uint8(9)],
    "arrays-f32": lambda t: [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "arrays-f64": lambda t: [np.arange(3.0), np.arange(3.0) * 2],
    "arrays-i16": lambda t: [np.arange(3, dtype=np.int16)] * 2,
    "arrays-bool": lambda t: [np.array([True, False])] * 3,
    "array-0d": lambda t: [np.array(1.5), np.array(2.5)],
    "tensors": lambda t: [t.tensor([1.0, 2.0]), t.tensor([3.0, 4.0])],
    "tensors-int": lambda t: [t.tensor([1, 2]), t.tensor([3, 4])],
    "strings": lambda t: ["a", "bc"],
    "bytes": lambda t: [b"a", b"bc"],
    "np-str": lambda t: [np.str_("a"), np.str_("b")],
    "tuples": lambda t: [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
    "lists": lambda t: [[1, 2.0], [3, 4.0]],
    "dicts": lambda t: [{"x": np.ones(2), "y": 1, "s": "a"}, {"x": np.zeros(2), "y": 2, "s": "b"}],
    "ordered-dict": lambda t: [collections.OrderedDict(b=1, a=2.0)] * 2,
    "namedtuple": lambda t: [Point(np.ones(2, np.float32), 1), Point(np.zeros(2, np.float32), 2)],
    "nested": lambda t: [{"p": (1, [2.0, "z"]), "q": {"r": np.int8(3)}}] * 2,
    "tensor-in-tuple": lambda t: [(t.tensor(1.0), "a"), (t.tensor(2.0), "b")],
}


def _ember_version(value, torch):
    """The same sample with ember Tensors where torch's has torch Tensors."""
    if isinstance(value, torch.Tensor):
        return ember.tensor(value.numpy())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_ember_version(v, torch) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_ember_version(v, torch) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _ember_version(v, torch)) for k, v in value.items())
    return value


@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_matches_torch(case, torch):
    samples = COLLATE_CASES[case](torch)
    theirs = torch.utils.data.default_collate(samples)
    ours = ed.default_collate(_ember_version(samples, torch))
    _same(ours, theirs, torch)


@pytest.mark.parametrize("case", ["tuples", "dicts", "namedtuple", "nested", "arrays-f32", "np-int32", "strings"])
def test_default_convert_matches_torch(case, torch):
    for sample in COLLATE_CASES[case](torch):
        _same(ed.default_convert(_ember_version(sample, torch)), torch.utils.data.default_convert(sample), torch)
    arr = np.array(["a", "b"])
    assert ed.default_convert(arr) is arr and torch.utils.data.default_convert(arr) is arr
    assert ed.default_convert(3) == 3 and ed.default_convert("s") == "s"


@pytest.mark.parametrize("make", [
    lambda: [np.array(["a"]), np.array(["b"])],
    lambda: [np.array([object()]), np.array([object()])],
    lambda: [np.zeros(2), np.zeros(3)],
    lambda: [[1, 2], [3]],
    lambda: [object(), object()],
    lambda: [None, None],
], ids=["str-array", "obj-array", "shapes", "lengths", "object", "none"])
def test_default_collate_errors_match_torch(make, torch):
    with pytest.raises(Exception) as theirs:
        torch.utils.data.default_collate(make())
    with pytest.raises(theirs.type):
        ed.default_collate(make())


# ----- DataLoader arguments -----
class Stream(ed.IterableDataset):
    def __init__(self, n=7):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _torch_stream(torch, n=7):
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(n))

        def __len__(self):
            return n

    return TorchStream()


BAD_LOADERS = {
    "bsampler+batch_size": dict(batch_sampler=[[0, 1]], batch_size=2),
    "bsampler+shuffle": dict(batch_sampler=[[0, 1]], shuffle=True),
    "bsampler+sampler": dict(batch_sampler=[[0, 1]], sampler=[0, 1]),
    "bsampler+drop_last": dict(batch_sampler=[[0, 1]], drop_last=True),
    "sampler+shuffle": dict(sampler=[0, 1], shuffle=True),
    "batch_size None+drop_last": dict(batch_size=None, drop_last=True),
    "prefetch without workers": dict(prefetch_factor=2),
    "persistent without workers": dict(persistent_workers=True),
    "negative workers": dict(num_workers=-1),
    "negative timeout": dict(timeout=-1),
    "negative prefetch": dict(num_workers=1, prefetch_factor=-1),
    "context without workers": dict(multiprocessing_context="fork"),
    "unknown start method": dict(num_workers=1, multiprocessing_context="teleport"),
    "context of wrong type": dict(num_workers=1, multiprocessing_context=3),
}


@pytest.mark.parametrize("case", list(BAD_LOADERS))
def test_dataloader_argument_errors_match_torch(case, torch):
    kwargs = BAD_LOADERS[case]
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(4)), **kwargs)
    with pytest.raises(theirs.type):
        ed.DataLoader(ed.TensorDataset(np.arange(4)), **kwargs)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=[[0, 1]])],
                         ids=["shuffle", "sampler", "batch_sampler"])
def test_iterable_dataset_refuses_sampling_options_like_torch(kwargs, torch):
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(_torch_stream(torch), **kwargs)
    with pytest.raises(ValueError, match="IterableDataset"):
        ed.DataLoader(Stream(), **kwargs)


def test_batch_sampler_option_matches_torch(torch):
    bs = [[3, 1], [0, 2, 4], [5]]
    ours = ed.DataLoader(ed.TensorDataset(np.arange(6) * 10), batch_sampler=bs)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(6) * 10), batch_sampler=bs)
    assert len(ours) == len(theirs) == 3
    assert ours.batch_size is None and theirs.batch_size is None
    assert [b[0].numpy().tolist() for b in ours] == [b[0].numpy().tolist() for b in theirs]
    custom = ed.DataLoader(ed.TensorDataset(np.arange(6)), batch_sampler=ed.BatchSampler(range(6), 4, True))
    assert [b[0].numpy().tolist() for b in custom] == [[0, 1, 2, 3]]


def test_loader_attributes_match_torch(torch):
    ours = ed.DataLoader(ed.TensorDataset(np.arange(6)), batch_size=4)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(6)), batch_size=4)
    assert type(ours.batch_sampler).__name__ == type(theirs.batch_sampler).__name__ == "BatchSampler"
    assert list(ours.batch_sampler) == list(theirs.batch_sampler)
    assert ours.collate_fn is ed.default_collate
    assert ours.prefetch_factor is None and theirs.prefetch_factor is None
    assert ed.DataLoader(ed.TensorDataset(np.arange(6)), num_workers=1).prefetch_factor == 2
    assert ed.DataLoader(ed.TensorDataset(np.arange(6)), batch_size=None).collate_fn is ed.default_convert


@pytest.mark.parametrize("batch_size, drop_last", [(3, False), (3, True), (None, False), (7, False), (10, True)])
def test_iterable_dataset_single_process_matches_torch(batch_size, drop_last, torch):
    ours = ed.DataLoader(Stream(), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(_torch_stream(torch), batch_size=batch_size, drop_last=drop_last)
    got = [b.numpy().tolist() if batch_size else b for b in ours]
    assert got == [b.numpy().tolist() if batch_size else b for b in theirs]
    assert len(ours) == len(theirs)
    assert all(isinstance(b, ember.Tensor if batch_size else int) for b in ours)


def test_iterable_dataset_without_len_and_custom_collate():
    class NoLen(ed.IterableDataset):
        def __iter__(self):
            yield from ({"v": i} for i in range(5))

    loader = ed.DataLoader(NoLen(), batch_size=2, collate_fn=lambda s: [d["v"] for d in s])
    assert list(loader) == [[0, 1], [2, 3], [4]]
    with pytest.raises(TypeError):
        len(loader)


def test_chain_dataset_matches_torch(torch):
    ours = ed.ChainDataset([Stream(3), Stream(2)])
    theirs = torch.utils.data.ChainDataset([_torch_stream(torch, 3), _torch_stream(torch, 2)])
    assert list(ours) == list(theirs) == [0, 1, 2, 0, 1]
    assert len(ours) == len(theirs) == 5
    both = Stream(2) + Stream(1)
    assert isinstance(both, ed.ChainDataset) and list(both) == [0, 1, 0]
    assert [b.numpy().tolist() for b in ed.DataLoader(ours, batch_size=2)] == [[0, 1], [2, 0], [1]]
    with pytest.raises(TypeError, match="IterableDataset"):
        list(ed.ChainDataset([Stream(1), ed.TensorDataset(np.arange(2))]))


class Letters(ed.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return "abcd"[i]


def test_stack_dataset_matches_torch(torch):
    x, y = np.arange(8.0).reshape(4, 2), np.arange(4)
    ours = ed.StackDataset(ed.TensorDataset(x), Letters())
    theirs = torch.utils.data.StackDataset(torch.utils.data.TensorDataset(torch.tensor(x)), Letters())
    assert len(ours) == len(theirs) == 4
    assert ours[2][1] == theirs[2][1] == "c"
    np.testing.assert_array_equal(ours[2][0][0], theirs[2][0][0].numpy())
    kw = ed.StackDataset(image=ed.TensorDataset(x), label=ed.TensorDataset(y))
    batch = next(iter(ed.DataLoader(kw, batch_size=3)))
    assert set(batch) == {"image", "label"}
    np.testing.assert_array_equal(batch["image"][0].numpy(), x[:3])
    np.testing.assert_array_equal(batch["label"][0].numpy(), y[:3])
    mixed = next(iter(ed.DataLoader(ours, batch_size=2)))
    assert mixed[1] == next(iter(torch.utils.data.DataLoader(theirs, batch_size=2)))[1] == ("a", "b")
    np.testing.assert_array_equal(mixed[0][0].numpy(), x[:2])
    assert ours.__getitems__([3, 0])[0][1] == "d"
    for args, kwargs in [((ed.TensorDataset(x),), dict(b=Letters())), ((ed.TensorDataset(y[:3]), Letters()), {})]:
        with pytest.raises(ValueError):
            torch.utils.data.StackDataset(*args, **kwargs)
        with pytest.raises(ValueError):
            ed.StackDataset(*args, **kwargs)


def test_batch_size_none_uses_custom_collate_per_sample(torch):
    ours = list(ed.DataLoader(ed.TensorDataset(np.arange(3)), batch_size=None, collate_fn=lambda s: int(s[0]) * 2))
    theirs = list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(3)), batch_size=None,
                                              collate_fn=lambda s: int(s[0]) * 2))
    assert ours == theirs == [0, 2, 4]


def test_pin_memory_warns_and_loads(torch):
    loader = ed.DataLoader(ed.TensorDataset(np.arange(4)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(loader)
    assert [b[0].numpy().tolist() for b in batches] == [[0, 1], [2, 3]]


def test_a_huge_random_sampler_epoch_is_drawn_as_it_goes():
    # minGPT's trainer: RandomSampler(replacement=True, num_samples=int(1e10)); torch draws lazily
    ds = ember.utils.data.TensorDataset(ember.arange(10.0))
    sampler = ember.utils.data.RandomSampler(ds, replacement=True, num_samples=int(1e10))
    loader = ember.utils.data.DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == 2_500_000_000
    it = iter(loader)
    batches = [next(it)[0] for _ in range(3)]
    assert all(b.shape == (4,) and 0 <= b.numpy().min() and b.numpy().max() <= 9 for b in batches)
