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
# # Bring your PyTorch code
#
# ember follows PyTorch's public API name for name, so code you already have can come along
# in three ways, and this page walks through each of them:
#
# 1. **Scripts**: `ember run train.py` runs a PyTorch script unchanged, with `import torch`
#    resolved to ember.
# 2. **Weights in memory**: a PyTorch model's `state_dict()` loads into the same model written
#    with `ember.nn`, and back, with the same outputs.
# 3. **Weights on disk**: `ember.load` reads what `torch.save` wrote, and `torch.load` reads what
#    `ember.save` wrote, without ember ever running code from the file.
#
# The page ends with what is *not* covered, shown by running it. PyTorch is installed here
# only so that both sides can be compared; `ember run` itself never imports it.
#
# Everything is small (a 600-point toy problem, a 1,500-parameter CNN) so the page builds in a
# few seconds. The guide [Run a PyTorch script on ember](../guides/pytorch_scripts.md) is the
# reference for `ember run`, and [Files](../guides/files.md) for the file formats.

# %%
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import ember
from ember import nn

ember.manual_seed(0)
torch.manual_seed(0)
torch.set_num_threads(1)  # for models this small PyTorch's thread pool costs more than it gains
workdir = Path(tempfile.mkdtemp(prefix="ember-tutorial-06-"))
print("ember", ember.__version__, "| PyTorch", torch.__version__, "| files go to", workdir)

# %% [markdown]
# ## 1. `ember run`: a PyTorch script, unchanged
#
# Here is an ordinary PyTorch training script: `argparse` for its options, a `TensorDataset`
# and a `DataLoader`, an `nn.Module` subclass, SGD with momentum, a `StepLR` schedule,
# the usual `device = "cuda" if torch.cuda.is_available() else "cpu"`, and `torch.save` at the
# end. Nothing in it mentions ember. We write it to a temporary folder.

# %%
script = workdir / "train.py"
script.write_text('''\
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--out", default="model.pt")
args = parser.parse_args()

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
print("torch", torch.__version__, "on", device)

# a toy task: which of 3 overlapping Gaussian blobs a 2-d point comes from
centers = torch.tensor([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
y = torch.randint(0, 3, (600,))
x = centers[y] + 1.2 * torch.randn(600, 2)
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = Net().to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(args.epochs):
    model.train()
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x.to(device)).argmax(dim=1) == y.to(device)).float().mean().item()
    print(f"epoch {epoch}: loss {total / len(x):.4f}  accuracy {acc:.3f}  lr {scheduler.get_last_lr()[0]:g}")
torch.save(model.state_dict(), args.out)
print("saved", args.out)
''')
print(script.read_text().count("\n"), "lines written to", script.name)

# %% [markdown]
# From a shell you would type `ember run train.py --epochs 3 --out model.pt` (the arguments
# after the script are the script's). From Python we start the same command with
# `sys.executable -m ember`, which is what the `ember` console script runs. Note the first
# line it prints: `torch.__version__` is `2.13.0+ember`, the PyTorch release whose API ember
# follows, and there is no GPU, so the script picks `"cpu"` by itself.

# %%
ember_pt = workdir / "from_ember_run.pt"
done = subprocess.run([sys.executable, "-m", "ember", "run", str(script), "--epochs", "3", "--out", str(ember_pt)],
                      capture_output=True, text=True, cwd=workdir)
print(done.stdout, done.stderr, "exit status:", done.returncode)

# %% [markdown]
# For comparison, the very same file under real PyTorch. PyTorch is already imported in this
# page, so we run the script in this process with `runpy` (what `python train.py` does), with
# its arguments in `sys.argv`. The losses are close but not equal: `torch.manual_seed(0)` seeds
# ember's own random generator, which draws different numbers from PyTorch's, so the data,
# the initial weights and the shuffling differ. (To check that a script computes *the same*
# numbers, the repository has `python -m benchmarks.accuracy.same_start train.py`, which
# replays PyTorch's random draws under ember; see the guide.)

# %%
import runpy

saved_argv = sys.argv
sys.argv = [str(script), "--epochs", "3", "--out", str(workdir / "from_torch.pt")]
try:
    runpy.run_path(str(script), run_name="__main__")
finally:
    sys.argv = saved_argv

# %% [markdown]
# The file the script saved under ember is PyTorch's own format, so PyTorch reads it, with its
# safe loader (`weights_only=True`). The weights come back as ordinary `torch.Tensor`s:

# %%
weights = torch.load(ember_pt, weights_only=True)
for name, value in weights.items():
    print(f"{name:12s} {type(value).__name__} {tuple(value.shape)} {value.dtype}")

# %% [markdown]
# `ember run` is also a function, `ember.run.run_path(path, args)`, which runs a script in this
# process and returns its globals (and `ember run -m package.module` runs a module, as
# `python -m` does).
#
# ## 2. `state_dict`s both ways
#
# The same architecture written twice, once with `torch.nn` and once with `ember.nn`: the code
# is identical apart from the import. Parameter and buffer names (`0.weight`, `1.running_mean`,
# ...) and layouts (a Linear's `weight` is `(out_features, in_features)`, a Conv2d's
# `(out_channels, in_channels, kH, kW)`) are the same in both, which is what makes the
# weights interchangeable.


# %%
def torch_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 7 * 7, 10))


def ember_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 7 * 7, 10))


torch_model = torch_cnn()
with torch.no_grad():  # a few training-mode passes move BatchNorm's running statistics
    for _ in range(3):
        torch_model(torch.randn(16, 1, 14, 14) + 0.5)
torch_model.eval()
print(list(torch_model.state_dict()))

# %% [markdown]
# **PyTorch to ember.** `load_state_dict` takes PyTorch's `state_dict()` as it is: ember
# takes any value with `.numpy()` (a CPU `torch.Tensor`), so no conversion is written.
# A strict load (the default) would list every missing key, unexpected key and shape mismatch;
# the result below says there were none. Then both models see the same images.

# %%
ember_model = ember_cnn()
print(ember_model.load_state_dict(torch_model.state_dict()))
ember_model.eval()

images = np.random.default_rng(0).standard_normal((4, 1, 14, 14)).astype(np.float32)
with torch.no_grad():
    out_torch = torch_model(torch.from_numpy(images)).numpy()
with ember.no_grad():
    out_ember = ember_model(ember.tensor(images)).numpy()
print(f"PyTorch -> ember: max |output difference| = {np.abs(out_torch - out_ember).max():.2e}")

# %% [markdown]
# **ember to PyTorch.** The other way, PyTorch insists on `torch.Tensor`s, so we hand it each
# ember tensor as NumPy (`.numpy()`, as on a CPU tensor in PyTorch) wrapped by
# `torch.from_numpy`. To show that real values travel, ember first changes the weights: a few
# training-mode passes move the BatchNorm statistics and one SGD step moves every parameter.

# %%
ember_model.train()
opt = ember.optim.SGD(ember_model.parameters(), lr=0.1)
for _ in range(3):
    batch = ember.tensor(np.random.default_rng(1).standard_normal((16, 1, 14, 14)).astype(np.float32))
    loss = ember_model(batch).logsumexp(dim=1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
ember_model.eval()

torch_model2 = torch_cnn()
print(torch_model2.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ember_model.state_dict().items()}))
torch_model2.eval()
with torch.no_grad():
    out_torch = torch_model2(torch.from_numpy(images)).numpy()
with ember.no_grad():
    out_ember = ember_model(ember.tensor(images)).numpy()
print(f"ember -> PyTorch: max |output difference| = {np.abs(out_torch - out_ember).max():.2e}")

# %% [markdown]
# The differences are float32 rounding: the two libraries sum in different orders. ember's
# test suite holds each layer to PyTorch's outputs this way.
#
# ## 3. `.pt` files both ways
#
# A training checkpoint is usually more than weights: here, PyTorch saves a dictionary with
# the model's and the optimizer's state and the epoch, as most training scripts do.

# %%
torch_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
torch_model.train()
torch_model(torch.randn(8, 1, 14, 14)).sum().backward()
torch_opt.step()  # now Adam has state: step, exp_avg, exp_avg_sq per parameter
torch_model.eval()
torch_file = workdir / "checkpoint_from_torch.pt"
torch.save({"model": torch_model.state_dict(), "optimizer": torch_opt.state_dict(), "epoch": 7}, torch_file)

# %% [markdown]
# {py:func}`ember.load` reads it, with no PyTorch needed: the same nesting comes back, with
# ember Tensors for PyTorch's tensors. The model and the optimizer (ember's `Adam` keeps the
# same state under the same names) take their parts, and training could carry on.

# %%
ckpt = ember.load(torch_file)
print("keys:", list(ckpt), "| epoch:", ckpt["epoch"], "|", type(ckpt["model"]["0.weight"]).__name__)
resumed = ember_cnn()
resumed.load_state_dict(ckpt["model"])
resumed.eval()
resumed_opt = ember.optim.Adam(resumed.parameters(), lr=1e-3)
resumed_opt.load_state_dict(ckpt["optimizer"])
print("Adam state of the first parameter:", sorted(resumed_opt.state_dict()["state"][0]))
with torch.no_grad():
    want = torch_model(torch.from_numpy(images)).numpy()
with ember.no_grad():
    got = resumed(ember.tensor(images)).numpy()
print(f"torch.save -> ember.load: max |output difference| = {np.abs(want - got).max():.2e}")

# %% [markdown]
# And back: {py:func}`ember.save` writes PyTorch's format for any path that does not end in
# `.npz` or `.safetensors` (`.pt`, `.pth`, a file object), and PyTorch's safe loader reads it.
# We compare with the PyTorch model we started from: after the round trip PyTorch -> ember ->
# PyTorch the weights are bit-for-bit the same, so the difference is exactly zero.

# %%
ember_file = workdir / "checkpoint_from_ember.pt"
ember.save({"model": resumed.state_dict(), "optimizer": resumed_opt.state_dict(), "epoch": 7}, ember_file)
back = torch.load(ember_file, weights_only=True)
torch_model3 = torch_cnn()
torch_model3.load_state_dict(back["model"])
torch_model3.eval()
torch.optim.Adam(torch_model3.parameters(), lr=1e-3).load_state_dict(back["optimizer"])
with torch.no_grad():
    got = torch_model3(torch.from_numpy(images)).numpy()
print(f"ember.save -> torch.load: max |output difference| = {np.abs(want - got).max():.2e}")

# %% [markdown]
# ### ember's loader never runs code
#
# A `.pt` file is a zip archive whose `data.pkl` is a Python pickle, and a pickle is a small
# program: it may name any importable function and call it. `pickle.load` (and `torch.load`
# with `weights_only=False`) runs that program, so opening a stranger's checkpoint can run
# their code. ember reads the pickle with its own restricted unpickler
# (`ember/serialization/_pt_unpickle.py`): it knows a fixed list of globals (tensor
# rebuilders, storage types, `OrderedDict`, ...), each mapped to ember's own function, refuses
# every other global and every opcode that could reach other code, and checks every size the
# file claims against the file's real size before allocating anything.
#
# To see it, we make a hostile file: an object whose `__reduce__` tells the unpickler to call
# `print` (a harmless stand-in for `os.system`). `torch.save` pickles it faithfully.


# %%
class Surprise:
    def __reduce__(self):
        return (print, ("!!! this line was printed by code inside the file !!!",))


hostile = workdir / "hostile.pt"
torch.save({"weight": torch.zeros(3), "surprise": Surprise()}, hostile)

for weights_only in (True, False):
    try:
        ember.load(hostile, weights_only=weights_only)
    except ember.SerializationError as e:
        print(f"ember.load(weights_only={weights_only}): SerializationError: {e}\n")

# %% [markdown]
# Nothing was printed by the file, and `weights_only=False` (accepted for PyTorch's signature)
# does not open the door. PyTorch's own default since 2.6, `torch.load(weights_only=True)`,
# refuses it too; only `torch.load(..., weights_only=False)` would run it.

# %%
try:
    torch.load(hostile)
except Exception as e:
    print("torch.load:", type(e).__name__, str(e).split(". ")[0])

# %% [markdown]
# Files that are merely damaged (truncated, a size that does not add up) raise the same
# {py:class}`ember.SerializationError`, naming the file and the fault.
#
# ## 4. What is not covered
#
# `ember run` has no options of its own beyond `-m`; everything after the script goes to the
# script:

# %%
print(subprocess.run([sys.executable, "-m", "ember", "run", "--help"], capture_output=True, text=True).stdout)

# %% [markdown]
# A script that uses something ember lacks stops at the first such use with one error naming
# the torch API and the line of *your* file that asked for it (ember's own frames are cut from
# the traceback), and `ember run` exits with status 1:

# %%
lazy = workdir / "lazy.py"
lazy.write_text("import torch\n\nlayer = torch.nn.LazyLinear(10)\n")
r = subprocess.run([sys.executable, "-m", "ember", "run", str(lazy)], capture_output=True, text=True, cwd=workdir)
print(r.stderr, "exit status:", r.returncode)

# %% [markdown]
# The error is an `AttributeError` (so `hasattr(torch, name)` and `getattr(torch, name, default)`
# keep working) and a `NotImplementedError`; a missing module is a `ModuleNotFoundError`.
# The probe below tries more things that PyTorch scripts do, each in a `try`, and prints
# what happens:
#
# * `torch.stft` (no complex numbers or FFT transforms) and `Tensor.storage()` (an ember
#   tensor is a NumPy array, not a storage) are not there;
# * `torch.distributed` is not mapped: ember's own `ember.distributed` (shown in
#   {doc}`07_deploy_and_scale`) runs over MPI instead of process groups and averages gradients
#   when you call it, so a PyTorch script's calls to it stop with an error;
# * `torch.onnx.export` and `torch.utils.data.DistributedSampler` are mapped to ember's, which
#   take PyTorch's arguments;
# * `torchaudio` and `torchtext` are not there (`torchvision` is mapped, to `ember.vision`);
# * a GPU: `torch.cuda.is_available()` is `False`, and a call that needs a device raises
#   `NoGPUError`, a `RuntimeError`.

# %%
probe = workdir / "probe.py"
probe.write_text('''\
import importlib

import torch


def attempt(what, fn):
    try:
        fn()
        print(f"{what:20s} works")
    except Exception as e:
        print(f"{what:20s} {type(e).__name__}: {e}")


attempt("torch.stft", lambda: torch.stft(torch.randn(64), n_fft=16, return_complex=True))
attempt("Tensor.storage", lambda: torch.randn(3).storage())
attempt("torch.distributed", lambda: torch.distributed.init_process_group("gloo"))
attempt("torch.onnx", lambda: torch.onnx.export(torch.nn.Linear(2, 2), (torch.randn(1, 2),), "m.onnx"))
attempt("DistributedSampler", lambda: torch.utils.data.DistributedSampler)
attempt("torchaudio", lambda: importlib.import_module("torchaudio"))
print("torch.cuda.is_available():", torch.cuda.is_available())
attempt("a CUDA device", lambda: torch.cuda.get_device_name(0))
''')
r = subprocess.run([sys.executable, "-m", "ember", "run", str(probe)], capture_output=True, text=True, cwd=workdir)
print(r.stdout, r.stderr, "exit status:", r.returncode)

# %% [markdown]
# Also outside `ember run`: C++/CUDA extensions and anything that reaches into `torch._C`,
# `torch.compile` and `torch.jit` beyond returning the model unchanged, mixed precision on
# the CPU, quantization and sparse tensors.
#
# How much of PyTorch's public API ember has, per category, is measured by a script in the
# repository, `python -m benchmarks.coverage` (it needs PyTorch: the list of names comes from
# it), and `--missing` lists every name ember lacks. PyTorch is already imported here, so we
# call the script's `main` in this process, from the checkout that ember was imported from:

# %%
repo = Path(ember.__file__).resolve().parents[1]
if (repo / "benchmarks" / "coverage.py").exists():
    sys.path.insert(0, str(repo))
    from benchmarks import coverage

    coverage.main([])  # the same as: python -m benchmarks.coverage
else:
    print("ember is not imported from a checkout: run `python -m benchmarks.coverage --missing` in one")

# %% [markdown]
# The gaps are mostly in corners a training script rarely touches (complex numbers, sparse
# and quantized tensors, `*_copy` variants, lazy modules). When a script of yours stops on
# one, the error says which name and which line; the [migration page](../migration.md) lists
# the few places where ember deliberately differs.
