"""The split elementwise passes (ember.ops._parallel) give bit-identical results to one thread."""
import importlib
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember import nn, optim
from ember.kernels import _blas
from ember.ops import _parallel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def split_everything(monkeypatch):
    """Run every pass that can be split on 3 threads, whatever its size; restore afterwards."""
    before = _parallel.num_threads()

    def use(n, min_elements):
        monkeypatch.setattr(_parallel, "MIN_ELEMENTS", min_elements)
        _parallel.set_num_threads(n)

    yield use
    _parallel.set_num_threads(before)


def test_parallel_for_covers_every_item_once_and_reraises(split_everything):
    split_everything(2, 0)
    hits = np.zeros(1000, np.int64)

    def fn(s, e):
        hits[s:e] += 1

    _parallel.parallel_for(fn, 1000)
    assert (hits == 1).all()

    def bad(s, e):
        raise ValueError("part failed")

    with pytest.raises(ValueError, match="part failed"):
        _parallel.parallel_for(bad, 10)


def _cnn_step(seed):
    ember.manual_seed(seed)
    # the first convolution copies its columns transposed (few channels), the second row-wise
    m = nn.Sequential(nn.Conv2d(1, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 6, 3, padding=1),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 3 * 3, 10))
    opt = optim.Adam(m.parameters(), lr=1e-2)
    r = np.random.default_rng(seed)
    x = r.standard_normal((5, 1, 14, 14)).astype(np.float32)
    y = r.integers(0, 10, 5)
    for _ in range(3):
        xt = ember.tensor(x, requires_grad=True)
        loss = nn.functional.cross_entropy(m(xt), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p._data.copy() for p in m.parameters()] + [xt.grad._data.copy()]


@pytest.mark.parametrize("threads", [2, 3])
def test_split_passes_match_one_thread_exactly(split_everything, threads, monkeypatch):
    # batch norm's blocks as small as a few rows, so that its per-channel sums come in parts
    norm = importlib.import_module("ember.kernels.norm" if importlib.util.find_spec("ember.kernels.norm")
                                   else "ember.ops.norm")  # where batch norm's blocked passes live
    monkeypatch.setattr(norm, "_BLOCK", 64)
    split_everything(1, 1 << 18)
    want = _cnn_step(0)
    split_everything(threads, 0)
    # Adam's pieces as small as a few elements, so that parameters are split too
    monkeypatch.setattr("ember.optim.optimizer._PIECE_BYTES", 64)
    got = _cnn_step(0)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(w, g)


def test_relu_split_over_channels_last_memory(split_everything):
    # conv outputs are stored (N, H, W, C): ReLU splits that memory and keeps its layout
    split_everything(3, 0)
    r = np.random.default_rng(1)
    a = r.standard_normal((2, 3, 4, 5)).astype(np.float32)
    cl = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    g = r.standard_normal(a.shape).astype(np.float32)
    g_cl = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    x = ember.Tensor(cl, requires_grad=True)  # as it is: ember.tensor copies into C order
    y = nn.functional.relu(x)
    y.backward(g_cl)
    np.testing.assert_array_equal(y.data, np.maximum(a, 0))
    np.testing.assert_array_equal(x.grad, g * (a > 0))
    assert y._data.strides == cl.strides and x.grad._data.strides == cl.strides


@pytest.mark.parametrize("threads", [1, 3])
def test_relu_gradient_from_another_layout_takes_the_outputs_layout(split_everything, threads):
    # after pooling, ReLU's output is channels-last while a Flatten hands back a C-order
    # gradient: ReLU lines the gradient up with its output (one copy) and masks that
    split_everything(threads, 0)
    r = np.random.default_rng(2)
    a = r.standard_normal((2, 3, 4, 5)).astype(np.float32)
    cl = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    g = r.standard_normal(a.shape).astype(np.float32)  # C order
    x = ember.Tensor(cl, requires_grad=True)
    y = nn.functional.relu(x)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, g * (a > 0))
    kernel = ember.kernels.enabled()  # the layouts are the ReLU kernel's; the values anyone's
    assert x.grad._data.strides == cl.strides or not kernel  # the layout pooling's backward reads fastest
    # and the other way round: a C-order output, a channels-last gradient
    x2 = ember.Tensor(a, requires_grad=True)
    nn.functional.relu(x2).backward(np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(x2.grad, g * (a > 0))
    assert x2.grad._data.flags.c_contiguous or not kernel


SPIN_CHECK = """
import os, resource, sys, time
order = sys.argv[1]
if order == "numpy first":
    import numpy
import ember
import numpy as np
from ember.kernels import _blas
server = _blas._pthreads_server()
if server is None or (_blas.num_threads() or 1) < 2:
    print("skip", None, None)
    raise SystemExit
a = np.ones((512, 512), np.float32)
a @ a  # a threaded GEMM: its worker then waits for the next call
cpu = resource.getrusage(resource.RUSAGE_SELF)
t0 = cpu.ru_utime + cpu.ru_stime
time.sleep(0.1)
cpu = resource.getrusage(resource.RUSAGE_SELF)
print(server[1](), round((cpu.ru_utime + cpu.ru_stime - t0) * 1e3), os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
"""


def _spin_after_import(order, env):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | env
    r = subprocess.run([sys.executable, "-c", SPIN_CHECK, order], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    timeout, cpu_ms, var = r.stdout.split()
    if timeout == "skip":
        pytest.skip("no pthreads OpenBLAS with 2+ threads")
    return int(timeout), int(cpu_ms), var


@pytest.mark.parametrize("order", ["ember first", "numpy first"])
def test_import_shortens_openblas_idle_spin(order):
    # OpenBLAS's default: its idle worker spins 2**28 cycles (~0.1 s, a whole core) after each
    # threaded call; after `import ember`, in either order, it sleeps after 2**20 (~0.4 ms)
    timeout, cpu_ms, var = _spin_after_import(order, {})
    assert timeout == _blas.IDLE_SPIN == 20
    assert cpu_ms < 40  # the process sleeps 100 ms: a spinning worker alone would burn ~100
    assert var == "None"  # the environment is left as it was


def test_openblas_spin_the_user_set_stands():
    timeout, _, var = _spin_after_import("numpy first", {"OPENBLAS_THREAD_TIMEOUT": "10"})
    assert timeout == 10 and var == "10"
