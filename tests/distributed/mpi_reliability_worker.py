"""A few data-parallel steps of a small MLP under mpirun, with one rank misbehaving on purpose.
Used by test_mpi_reliability.py.

    python mpi_reliability_worker.py MODE

MODE: ok (a normal end: rank 1 calls destroy_process_group, rank 0 works 2 s longer and just
ends), exit0 / exit1 (rank 1 calls sys.exit mid-epoch), sigint (rank 1 sends itself SIGINT
mid-epoch), sigint_in_wait (SIGINT reaches rank 1 while it waits in an allreduce for rank 0,
which is stalled), stall (rank 1 sleeps past a 2 s collective timeout), shape (rank 1's fc2 is
32 -> 6), count (rank 1 has an extra layer).
"""
import datetime
import os
import signal
import sys
import threading
import time

import numpy as np

import ember
import ember.distributed as dist
from ember import nn


class MLP(nn.Module):
    def __init__(self, out=5, extra=False):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, out)
        if extra:
            self.fc3 = nn.Linear(out, out)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


def main(mode):
    timeout = datetime.timedelta(seconds=2) if mode == "stall" else None
    rank, world = dist.init_process_group("mpi", timeout=timeout)
    ember.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.standard_normal((256, 20)).astype(np.float32)
    y = r.integers(0, 5, 256)
    odd = rank == 1
    net = MLP(out=6 if mode == "shape" and odd else 5, extra=mode == "count" and odd)
    model = dist.DistributedDataParallel(net)
    sampler = dist.DistributedSampler(len(x), shuffle=True, seed=1)
    idx = sampler.indices()
    local = 16
    for step in range(len(idx) // local):
        if odd and step == 2:
            if mode == "exit0":
                sys.exit(0)
            if mode == "exit1":
                sys.exit(1)
            if mode == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            if mode == "stall":
                time.sleep(30)
            if mode == "sigint_in_wait":
                threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
        if mode == "sigint_in_wait" and rank == 0 and step == 2:
            time.sleep(30)
        b = idx[step * local : (step + 1) * local]
        z = model(x[b])
        loss = (ember.logsumexp(z, axis=1) - z[np.arange(len(b)), y[b]]).mean()
        model.zero_grad()
        loss.backward()
        model.allreduce_gradients()
        with ember.no_grad():
            for p in model.parameters():
                p.data -= 0.1 * p.grad
    loss = dist.allreduce_mean(float(loss.item()))
    if mode == "ok" and rank == 0:
        time.sleep(2)  # rank 0 writes its files while the others have already reached the end
    if mode == "ok" and rank == 1:
        dist.destroy_process_group()
        assert not dist.is_initialized()
    print(f"rank {rank} done, loss {loss:.4f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
