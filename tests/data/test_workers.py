"""DataLoader(num_workers > 0): real worker processes, their order, seeds, errors, timeouts and clean ends.

The datasets live at module level so that the 'spawn' start method can pickle them.
"""
import gc
import multiprocessing
import os
import random
import time

import numpy as np
import pytest

import ember
import ember.data as ed
from ember.data import _worker

_INIT = None  # what worker_init_fn saw in this worker process


class Rows(ed.Dataset):
    """Sample i: (float32 row filled with i, i); generic (no __getitems__)."""

    def __init__(self, n=20):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(3, i, np.float32), i


class Probe(ed.Dataset):
    """Sample i: who loaded it, and what its generators gave in worker_init_fn."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = ed.get_worker_info()
        return {"i": i, "pid": os.getpid(), "id": info.id, "seed": info.seed, "num_workers": info.num_workers,
                "init": np.array(_INIT, np.float64), "same_dataset": info.dataset is self}


def record_init(worker_id):
    global _INIT
    _INIT = [worker_id, random.random(), np.random.random(), float(ember.rand(1).numpy()[0])]


class Failing(ed.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"sample {i} is broken")
        return np.float32(i)


class Missing(ed.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {}["no such key"]


class Slow(ed.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(1.5 if i == 0 else 0)
        return np.float32(i)


class Dies(ed.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


class Pids(ed.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        return os.getpid()


class ShardedStream(ed.IterableDataset):
    """0..n-1, each worker taking every num_workers-th item (as torch's docs shard)."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = ed.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def _no_workers_left(pids):
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_batches_come_in_sampler_order():
    ds = Rows(20)
    order = list(np.random.default_rng(0).permutation(20))
    loader = ed.DataLoader(ds, batch_size=3, sampler=order, num_workers=2)
    batches = list(loader)
    assert len(batches) == len(loader) == 7
    x, y = batches[0]
    assert isinstance(x, ember.Tensor) and x.numpy().dtype == np.float32 and x.shape == (3, 3)
    assert isinstance(y, ember.Tensor) and y.numpy().dtype == np.int64
    assert np.concatenate([b[1].numpy() for b in batches]).tolist() == order
    single = list(ed.DataLoader(ds, batch_size=3, sampler=order))
    for (xa, ya), (xb, yb) in zip(batches, single):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    _no_workers_left([])


def test_array_dataset_fast_path_and_shuffle_with_workers():
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    ds = ed.TensorDataset(x, np.arange(20))
    loader = ed.DataLoader(ds, batch_size=6, shuffle=True, num_workers=2, generator=ember.Generator(3))
    batches = list(loader)
    assert isinstance(batches[0], list) and [len(b[1]) for b in batches] == [6, 6, 6, 2]
    y = np.concatenate([b[1].numpy() for b in batches])
    assert sorted(y.tolist()) == list(range(20)) and y.tolist() != list(range(20))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])
    # the same generator state gives the same epoch: base seed first, then the order
    again = ed.DataLoader(ds, batch_size=6, shuffle=True, num_workers=2, generator=ember.Generator(3))
    assert np.concatenate([b[1].numpy() for b in again]).tolist() == y.tolist()


def test_workers_are_seeded_as_torch_seeds_them():
    g = ember.Generator(11)
    base_seed = int(ember.Generator(11).numpy.integers(0, 2**63 - 1, dtype=np.int64))
    loader = ed.DataLoader(Probe(), batch_size=None, num_workers=2, worker_init_fn=record_init, generator=g)
    samples = list(loader)
    assert [s["i"] for s in samples] == list(range(8))
    assert {s["id"] for s in samples} == {0, 1} and {s["num_workers"] for s in samples} == {2}
    assert all(s["same_dataset"] for s in samples)
    assert len({s["pid"] for s in samples}) == 2 and os.getpid() not in {s["pid"] for s in samples}
    state = ember.default_generator().get_state()
    for s in samples:
        wid, seed = s["id"], s["seed"]
        assert seed == base_seed + wid
        init = s["init"].numpy()
        assert init[0] == wid
        assert init[1] == random.Random(seed).random()
        assert init[2] == np.random.RandomState(_worker.numpy_seed(base_seed, wid)).random_sample()
        ember.manual_seed(seed)
        assert np.float32(init[3]) == ember.rand(1).numpy()[0]
    ember.default_generator().set_state(state)


def test_numpy_seed_is_torchs(torch):
    from torch.utils.data._utils.worker import _generate_state

    for base_seed in (0, 1, 12345, 2**32 + 7, 2**63 - 2):
        for wid in (0, 1, 5):
            assert _worker.numpy_seed(base_seed, wid) == list(_generate_state(base_seed, wid))


def test_worker_exception_is_reraised_with_worker_and_traceback():
    loader = ed.DataLoader(Failing(), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0." in msg  # batch [4, 5] went to worker 0
    assert "Original Traceback (most recent call last):" in msg and "sample 5 is broken" in msg
    assert "__getitem__" in msg and "[4, 5]" in msg
    _no_workers_left([])


def test_worker_key_error_and_init_error():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(ed.DataLoader(Missing(), num_workers=1))

    with pytest.raises(ZeroDivisionError, match="worker process 0"):
        list(ed.DataLoader(Rows(4), num_workers=1, worker_init_fn=_bad_init))
    _no_workers_left([])


def _bad_init(worker_id):
    return 1 / 0


def test_timeout_raises():
    loader = ed.DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(loader)
    assert time.monotonic() - start < 1.4 + 1.0  # the timeout, then at most _JOIN_S for the busy worker
    _no_workers_left([])


def test_dead_worker_is_reported():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(ed.DataLoader(Dies(), num_workers=1))
    _no_workers_left([])


def _pids(loader):
    return {int(p) for batch in loader for p in batch.numpy()}


def test_persistent_workers_live_across_epochs():
    loader = ed.DataLoader(Pids(), batch_size=3, num_workers=2, persistent_workers=True)
    first, second = _pids(loader), _pids(loader)
    assert len(first) == 2 and first == second
    it = iter(loader)
    next(it)  # leave an epoch half done: the next one still gets every batch
    assert len(list(loader)) == 4
    del it, loader
    gc.collect()
    _no_workers_left(first)
    plain = ed.DataLoader(Pids(), batch_size=3, num_workers=2)
    a, b = _pids(plain), _pids(plain)
    assert not a & b
    _no_workers_left(a | b)


def test_no_workers_left_after_break_error_or_collection():
    loader = ed.DataLoader(Pids(), batch_size=1, num_workers=2)
    seen = set()
    for batch in loader:
        seen.add(int(batch.numpy()[0]))
        if len(seen) == 2:
            break
    _no_workers_left(seen)

    seen = set()
    with pytest.raises(KeyError):
        for batch in loader:
            seen.add(int(batch.numpy()[0]))
            raise KeyError("in the loop body")
    gc.collect()  # the traceback held the iterator
    _no_workers_left(seen)

    it = iter(loader)
    pid = int(next(it).numpy()[0])
    del it
    _no_workers_left([pid])


def test_iterable_dataset_with_workers():
    sharded = ed.DataLoader(ShardedStream(10), batch_size=2, num_workers=2)
    batches = [b.numpy().tolist() for b in sharded]
    # worker 0 has 0 2 4 6 8, worker 1 has 1 3 5 7 9; batches alternate between them
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    copies = ed.DataLoader(ShardedStream(3, shard=False), batch_size=None, num_workers=2)
    assert sorted(int(b) for b in copies) == [0, 0, 1, 1, 2, 2]
    dropped = ed.DataLoader(ShardedStream(10), batch_size=2, num_workers=2, drop_last=True)
    assert [b.numpy().tolist() for b in dropped] == [[0, 2], [1, 3], [4, 6], [5, 7]]
    _no_workers_left([])


def test_collate_fn_and_structures_cross_processes():
    loader = ed.DataLoader(Rows(5), batch_size=2, num_workers=2,
                           collate_fn=_collate_to_dict)
    batches = list(loader)
    assert [b["ids"] for b in batches] == [[0, 1], [2, 3], [4]]
    assert isinstance(batches[0]["x"], ember.Tensor) and batches[0]["x"].shape == (2, 3)
    assert isinstance(batches[0]["raw"], np.ndarray)  # arrays a collate_fn returns stay arrays


def _collate_to_dict(samples):
    return {"ids": [s[1] for s in samples], "x": ed.default_collate([s[0] for s in samples]),
            "raw": np.stack([s[0] for s in samples])}


def test_spawn_context():
    loader = ed.DataLoader(Rows(6), batch_size=4, num_workers=1, multiprocessing_context="spawn")
    ys = [b[1].numpy().tolist() for b in loader]
    assert ys == [[0, 1, 2, 3], [4, 5]]
    _no_workers_left([])


def test_persistent_workers_with_iterable_dataset_and_after_an_error():
    loader = ed.DataLoader(ShardedStream(6), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.numpy().tolist() for b in loader]
    second = [b.numpy().tolist() for b in loader]
    assert first == second == [[0, 2], [1, 3], [4], [5]]
    failing = ed.DataLoader(Failing(), batch_size=2, num_workers=1, persistent_workers=True)
    with pytest.raises(ValueError, match="worker process 0"):
        list(failing)
    got = []
    with pytest.raises(ValueError):  # a new set of workers: the epoch starts again from the beginning
        for b in failing:
            got.append(b.numpy().tolist())
    assert got == [[0.0, 1.0], [2.0, 3.0]]
    del loader, failing
    gc.collect()
    _no_workers_left([])
