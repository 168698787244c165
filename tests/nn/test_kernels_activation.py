"""``ember.kernels.activation.gelu`` against the reference GELU: the same values and gradients
(bit for bit in the float64 exact form, which runs the reference's functions; to rounding in
the tanh form, which reorders its operations, and in the float32 exact form, whose erf is
another approximation, checked against the true GELU too), float32 and float64, C order and
channels-last, split over threads with a ragged last part, the reference below the kernel's
size, second order."""
import numpy as np
import pytest

import ember
import ember.kernels.activation as K
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck

from higher_order_helpers import kernels

pytestmark = pytest.mark.kernels


def _run(x, approximate, kernel):
    with kernels(kernel):
        t = ember.from_numpy(x).requires_grad_()  # (keeps x's layout)
        y = F.gelu(t, approximate=approximate)
        y.backward(ember.tensor(np.cos(x)))
        return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "channels_last"])
def test_kernel_equals_reference(approximate, dtype, layout, monkeypatch):
    calls = []
    real = K.gelu
    monkeypatch.setattr(K, "gelu", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(ember.ops._parallel, "MIN_ELEMENTS", 1000)  # split over threads here
    x = np.random.default_rng(0).standard_normal((3, 5, 41, 53)).astype(dtype) * 4
    x.flat[:6] = [0.0, -40.0, 41.0, np.float32(1e-30), 3e38, -3e38]
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    (yk, gk), (yr, gr) = _run(x, approximate, True), _run(x, approximate, False)
    assert len(calls) == 1
    if approximate == "none" and dtype == np.float64:
        np.testing.assert_array_equal(yk, yr)
        np.testing.assert_array_equal(gk, gr)
    elif approximate == "none":  # float32: another erf, as accurate (test_exact_float32_is_as_accurate)
        np.testing.assert_allclose(yk, yr, rtol=8e-7, atol=1.5e-6)
        np.testing.assert_allclose(gk, gr, rtol=8e-7, atol=1.5e-6)
    else:  # a few ulps of each value (of its scale: d is a difference near x = -1.4)
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(yk, yr, rtol=4 * eps, atol=4 * eps)
        np.testing.assert_allclose(gk, gr, rtol=8 * eps, atol=8 * eps)
    assert np.isfinite(gk).all()
    assert yk.dtype == dtype and yk.flags.c_contiguous == (layout == "C")


def test_small_inputs_take_the_reference():
    y, d = K.gelu(np.ones(100, np.float32), "none", True)
    assert y is None and d is None


def test_second_order_through_the_kernel(monkeypatch):
    monkeypatch.setattr(K, "MIN_SIZE", 8)  # the kernel takes 23 elements
    x = ember.tensor(np.random.default_rng(1).standard_normal(23) * 2, requires_grad=True)
    assert K.gelu(x.detach().numpy(), "none", True)[0] is not None
    with kernels(True):
        for approximate in ("none", "tanh"):
            assert gradgradcheck(lambda t: F.gelu(t, approximate=approximate).sum(), [x], atol=1e-6)


def test_exact_float32_is_as_accurate_as_the_reference():
    """The float32 kernel's erf (tanh of a fitted polynomial) against the true GELU and its
    derivative (float64, math.erfc), beside the reference's float32 erf, on [-12, 12]."""
    import math

    x = np.linspace(-12, 12, 48001).astype(np.float32)
    x64 = x.astype(np.float64)
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x64])
    y_true, d_true = x64 * phi, phi + x64 * np.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    errors = {}
    for kernel in (True, False):
        y, d = _run(x, "none", kernel)[0], None
        with kernels(kernel):
            t = ember.from_numpy(x).requires_grad_()
            F.gelu(t).sum().backward()
            d = t.grad.numpy()
        errors[kernel] = np.abs(y - y_true).max(), np.abs(d - d_true).max()
    (yk, dk), (yr, dr) = errors[True], errors[False]
    assert yk <= 6e-7 and dk <= 2e-7, errors  # max |y| is 12: its ulp is 9.5e-7
    assert yk <= yr and dk <= dr * 1.01, errors
