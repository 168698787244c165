"""linear: the reference against PyTorch to second order and by second-order finite
differences; ember.kernels.layers (Linear, LinearReLU, linear_chain) against it."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck
from ember.kernels import layers as kl
from ember.ops import layers as ol
from higher_order_helpers import against_torch, kernel_matches_reference, kernel_mode, kernels  # noqa: F401

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,), (0, 4)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [False, True])
def test_linear_kernel_matches_reference(rng, dtype, shape, bias, relu):
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((3, 4)).astype(dtype)
    arrays = [x, w] + ([rng.standard_normal(3).astype(dtype)] if bias else [])
    fn = lambda *a: F.linear(*a, relu=relu) if relu else F.linear(*a)  # noqa: E731
    kernel_matches_reference(fn, arrays, [True] * len(arrays), kernel="LinearReLU" if relu else "Linear",
                             **TOL[dtype])


@pytest.mark.parametrize("relu", [False, True])
def test_linear_kernel_nan_and_inf_as_reference(rng, relu):
    x = rng.standard_normal((4, 3))
    x[1, 2], x[2, 0] = np.nan, np.inf
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    with np.errstate(invalid="ignore"):
        got, _ = kernel_matches_reference(lambda x, w, b: F.linear(x, w, b, relu=relu), [x, w, b], [True] * 3,
                                          kernel="LinearReLU" if relu else "Linear", second=False, **TOL[np.float64])
    assert np.isnan(got[0][1]).all() and np.isfinite(got[0][[0, 3]]).all()


CHAINS = {
    "mlp": [(6, True), (5, True), (3, False)],
    "no bias": [(6, True), (3, False)],
    "ends on relu": [(6, False), (4, True)],
    "one layer": [(3, False)],
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CHAINS))
@pytest.mark.parametrize("lead", [(7,), (2, 3)])
def test_linear_chain_kernel_matches_reference_and_layer_by_layer(rng, dtype, case, lead):
    fin, layers = 4, []
    for i, (fout, relu) in enumerate(CHAINS[case]):
        w = rng.standard_normal((fout, fin)).astype(dtype)
        b = None if case == "no bias" and i == 0 else rng.standard_normal(fout).astype(dtype)
        layers.append((w, b, relu))
        fin = fout
    x = rng.standard_normal(lead + (4,))  # float64 in: cast to the weights' dtype
    h = ember.tensor(x.astype(dtype))
    with ember.no_grad():
        for w, b, relu in layers:
            h = kl.linear(h, ember.tensor(w), None if b is None else ember.tensor(b), relu)
    fast = kl.linear_chain(x, layers)
    assert fast.dtype == dtype and fast.shape == lead + (fin,)
    np.testing.assert_array_equal(fast, h.numpy())  # the same operations in the same order: bit for bit
    with kernels(False):
        ref = ol.linear_chain(x, layers)
    with kernels(True):
        assert np.array_equal(ol.linear_chain(x, layers), fast)
    assert ref.dtype == dtype
    np.testing.assert_allclose(fast, ref, **TOL[dtype])


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_reference_to_second_order(torch, rng, shape, bias):
    arrays = [rng.standard_normal(shape), rng.standard_normal((3, 4))] + ([rng.standard_normal(3)] if bias else [])
    with kernels(False):
        against_torch(torch, F.linear, torch.nn.functional.linear, arrays, [True] * len(arrays), rng)
        # and through a ReLU, as nn.Sequential fuses it
        against_torch(torch, lambda *a: F.linear(*a, relu=True),
                      lambda *a: torch.relu(torch.nn.functional.linear(*a)), arrays, [True] * len(arrays), rng)


def test_linear_gradgradcheck(kernel_mode, rng):
    x = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradgradcheck(F.linear, [x, w, b])
    assert gradgradcheck(lambda x, w: F.linear(x, w), [x, w])
    # through the ReLU too: a product with the layer's output makes the second order non-zero
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b, relu=True) * F.linear(x, w, b), [x, w, b])
