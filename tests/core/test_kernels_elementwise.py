"""ember/kernels/elementwise.py against its references in ember/ops/elementwise.py: the same
bits, on C-order and channels-last inputs, with NaN, inf and signed zeros, on several threads."""
import numpy as np
import pytest

import ember
from ember.kernels import elementwise as kern
from ember.ops import _parallel
from ember.ops._util import keep_grad

# an infinite gradient masked by 0 is NaN in the reference (inf * 0), and so in the kernel
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n}threads")
def threads(request, monkeypatch):
    """Run the kernels on ``n`` threads, splitting every pass whatever its size."""
    before = _parallel.num_threads()
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 0)
    _parallel.set_num_threads(request.param)
    yield request.param
    _parallel.set_num_threads(before)


def _same_bits(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    u = np.dtype(f"u{want.dtype.itemsize}")
    assert np.array_equal(np.ascontiguousarray(got).view(u), np.ascontiguousarray(want).view(u))


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _values(shape, dtype, seed):
    r = np.random.default_rng(seed)
    a = r.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    flat[:: 7] = np.nan
    flat[3:: 11] = -0.0
    flat[5:: 13] = 0.0
    flat[1:: 17] = np.inf
    flat[2:: 19] = -np.inf
    return a


LAYOUTS = {"C": lambda a: a, "channels_last": _channels_last}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_relu_forward_is_the_reference_bit_for_bit(threads, layout, dtype):
    a = LAYOUTS[layout](_values((3, 5, 6, 7), dtype, 0))
    y = kern.relu(a)
    _same_bits(y, np.maximum(a, 0))
    assert y.strides == a.strides  # the input's layout is kept


@pytest.mark.parametrize("g_values", ["finite", "with inf and NaN"])
@pytest.mark.parametrize("y_layout", list(LAYOUTS))
@pytest.mark.parametrize("g_layout", list(LAYOUTS))
def test_relu_backward_is_the_reference_bit_for_bit(threads, y_layout, g_layout, g_values):
    a = LAYOUTS[y_layout](_values((3, 5, 6, 7), np.float32, 1))
    y = np.maximum(a, 0)
    gy = _values((3, 5, 6, 7), np.float32, 2)
    if g_values == "finite":
        gy = np.nan_to_num(gy, nan=1.5, posinf=2.0, neginf=-2.0)  # keeps the signed zeros
    gy = LAYOUTS[g_layout](gy)
    gx = kern.relu_backward(gy, y)
    _same_bits(gx, keep_grad(gy, y != 0))
    if g_values == "finite":
        assert gx.strides == y.strides  # y's layout, the one pooling's backward reads fastest


def test_relu_backward_other_gradients_fall_back_to_the_reference(threads):
    y = np.maximum(_values((4, 6), np.float32, 3), 0)
    for gy in (np.broadcast_to(np.float32(2.5), y.shape),  # a broadcast gradient (strides 0)
               _values((4, 12), np.float32, 4)[:, ::2],  # a strided view
               _values((4, 6), np.float64, 5)):  # another dtype
        _same_bits(kern.relu_backward(gy, y), keep_grad(gy, y != 0))


def test_relu_kernel_small_arrays_stay_on_the_caller(monkeypatch):
    # below MIN_ELEMENTS no thread is used: the kernel is the reference itself
    calls = []
    monkeypatch.setattr("ember.kernels.elementwise.parallel_for", lambda *a, **k: calls.append(a))
    a = _values((4, 5), np.float32, 6)
    _same_bits(kern.relu(a), np.maximum(a, 0))
    assert not calls


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_relu_op_with_and_without_kernels_is_identical(threads, layout):
    a = LAYOUTS[layout](_values((2, 3, 4, 5), np.float32, 7))
    g = _values((2, 3, 4, 5), np.float32, 8)
    results = []
    for on in (True, False):
        prev = ember.kernels.enabled()
        ember.kernels.set_enabled(on)
        try:
            x = ember.Tensor(a, requires_grad=True)
            y = x.relu()
            y.backward(g)
            results.append((y.detach().numpy(), x.grad.numpy()))
            # the recorded backward (create_graph=True) takes the reference path
            x2 = ember.Tensor(a, requires_grad=True)
            (gx,) = ember.autograd.grad(x2.relu(), x2, ember.tensor(g), create_graph=True)
            _same_bits(gx.detach().numpy(), keep_grad(g, np.maximum(a, 0) != 0))
        finally:
            ember.kernels.set_enabled(prev)
    (y1, g1), (y0, g0) = results
    _same_bits(y1, y0)
    _same_bits(g1, g0)
