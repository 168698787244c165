"""Linear and the fused linear op: against PyTorch, finite differences, and bad input."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


def _copy_linear(torch, e, t):
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(e.weight.detach().numpy()))
        if e.bias is not None:
            t.bias.copy_(torch.from_numpy(e.bias.detach().numpy()))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7), (7,)])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_linear_matches_torch(torch, rng, bias, shape, dtype, tol):
    e = nn.Linear(7, 4, bias=bias, dtype=dtype)
    t = torch.nn.Linear(7, 4, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    _copy_linear(torch, e, t)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape[:-1] + (4,)).astype(dtype)
    xe = ember.Tensor(x, requires_grad=True)
    ye = e(xe)
    ye.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    yt = t(xt)
    yt.backward(torch.from_numpy(g))
    assert ye.dtype == dtype and ye.shape == tuple(yt.shape)
    np.testing.assert_allclose(ye.data, yt.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xe.grad, xt.grad.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(e.weight.grad, t.weight.grad.numpy(), rtol=tol, atol=tol)
    if bias:
        np.testing.assert_allclose(e.bias.grad, t.bias.grad.numpy(), rtol=tol, atol=tol)


def test_linear_gradcheck(rng):
    x = ember.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = ember.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = ember.Tensor(rng.standard_normal(3), requires_grad=True)
    assert ember.gradcheck(F.linear, [x, w, b])
    assert ember.gradcheck(lambda x, w: F.linear(x, w), [x, w])


def test_linear_skips_input_grad_when_not_needed(rng):
    lin = nn.Linear(4, 3)
    x = ember.Tensor(rng.standard_normal((5, 4)).astype(np.float32))  # no grad wanted
    lin(x).sum().backward()
    assert x.grad is None and lin.weight.grad.shape == (3, 4) and lin.bias.grad.shape == (3,)
    np.testing.assert_allclose(lin.weight.grad, np.ones((5, 3)).T @ x.numpy(), rtol=1e-6)


def test_linear_default_init_bounds():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert lin.weight.shape == (300, 400) and lin.bias.shape == (300,)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    assert np.abs(lin.weight.detach().numpy()).max() <= bound and np.abs(lin.bias.detach().numpy()).max() <= bound
    # kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std = bound / sqrt(3)
    assert lin.weight.detach().numpy().std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    old = lin.weight.detach().numpy().copy()
    lin.reset_parameters()
    assert not np.array_equal(old, lin.weight.detach().numpy())


def test_linear_repr_and_state_dict(torch):
    lin = nn.Linear(784, 10)
    assert repr(lin) == "Linear(in_features=784, out_features=10, bias=True)" == repr(torch.nn.Linear(784, 10))
    assert list(nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_casts_float64_ndarray_input():
    lin = nn.Linear(3, 2)
    y = lin(np.ones((4, 3)))  # float64 ndarray
    assert y.dtype == np.float32 and y.shape == (4, 2)


def test_linear_bad_input():
    lin = nn.Linear(784, 10)
    with pytest.raises(ValueError, match=r"Linear\(784 -> 10\) expected input with 784 features, got shape \(5, 783\)"):
        lin(np.zeros((5, 783), np.float32))
    with pytest.raises(ValueError, match="out_features must be a non-negative int, got -3"):
        nn.Linear(4, -3)
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match="expects input with 4 features"):
        F.linear(ember.ones(2, 3), ember.ones(5, 4))
    with pytest.raises(ValueError, match="bias must have shape"):
        F.linear(ember.ones(2, 4), ember.ones(5, 4), ember.ones(4))
