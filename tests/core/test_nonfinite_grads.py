"""An inf or NaN gradient reaching a masking backward: PyTorch selects (0 where the mask is
false), where a plain ``gy * mask`` would give inf * 0 = NaN. E.g. ``relu(x).sqrt()``: the
sqrt's gradient at 0 is inf, and the dead units must still get 0."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F


def _upstream(shape, seed):
    g = np.random.default_rng(seed).standard_normal(shape)
    flat = g.reshape(-1)
    flat[::3] = np.inf
    flat[1::7] = -np.inf
    flat[2::11] = np.nan
    return g


def _both(torch, x, ef, tf, seed=0, channels_last=False):
    xe = x
    if channels_last:
        xe = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    a = ember.tensor(xe, requires_grad=True)
    ya = ef(a)
    g = _upstream(ya.shape, seed).astype(x.dtype)
    ya.backward(ember.tensor(g))
    t = torch.tensor(x, requires_grad=True)
    tf(t).backward(torch.tensor(g))
    return a.grad.numpy(), t.grad.numpy()


OPS = {
    "relu": (F.relu, lambda t, T: T.relu(t)),
    "clamp": (lambda a: ember.clamp(a, -0.5, 0.5), lambda t, T: T.clamp(t, -0.5, 0.5)),
    "clamp min": (lambda a: a.clamp(min=0.0), lambda t, T: t.clamp(min=0.0)),
    "hardtanh": (F.hardtanh, lambda t, T: T.nn.functional.hardtanh(t)),
    "relu6": (F.relu6, lambda t, T: T.nn.functional.relu6(t)),
    "maximum": (lambda a: ember.maximum(a, a * 0), lambda t, T: T.maximum(t, t * 0)),
    "minimum": (lambda a: ember.minimum(a, a.detach() * 0 + 0.25),
                lambda t, T: T.minimum(t, t.detach() * 0 + 0.25)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPS))
def test_masking_backwards_select_like_torch(torch, name, dtype):
    ef, tf = OPS[name]
    x = np.random.default_rng(1).standard_normal((40, 33)).astype(dtype)
    x[0, :4] = 0.0  # ties with 0 in maximum
    ga, gt = _both(torch, x, ef, lambda t: tf(t, torch))
    np.testing.assert_array_equal(ga, gt)


@pytest.mark.kernels
def test_split_relu_kernel_selects_like_torch(torch):
    # large enough for ember.kernels.elementwise.relu_backward's parallel parts
    x = np.random.default_rng(2).standard_normal((64, 32, 20, 20)).astype(np.float32)
    for cl in (False, True):
        ga, gt = _both(torch, x, F.relu, torch.relu, channels_last=cl)
        np.testing.assert_array_equal(ga, gt)


def test_relu_then_sqrt_has_no_nan(torch):
    x = np.array([-1.0, 0.0, 2.0, -3.0])
    a = ember.tensor(x, requires_grad=True)
    F.relu(a).sqrt().sum().backward()
    t = torch.tensor(x, requires_grad=True)
    t.relu().sqrt().sum().backward()
    # zeros where relu cut, exactly; elsewhere within an ulp (torch's vectorized division
    # rounds 1 / (2 sqrt 2) one ulp up on some CPUs)
    np.testing.assert_array_equal(a.grad.numpy() == 0, t.grad.numpy() == 0)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=4e-16, atol=0)
    assert not np.isnan(a.grad.numpy()).any()


@pytest.mark.parametrize("channels_last", [False, True], ids=["C order", "channels-last"])
@pytest.mark.parametrize("pool", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                  dict(kernel_size=2, ceil_mode=True)])
@pytest.mark.parametrize("fused", [False, True], ids=["max_pool2d", "fused relu+pool"])
def test_max_pool_routes_inf_and_nan_gradients_like_torch(torch, pool, channels_last, fused):
    x = np.random.default_rng(3).standard_normal((4, 3, 9, 10))
    if fused:
        seq = nn.utils.fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool)))
        ef = seq
        tm = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(**pool))
    else:
        ef = lambda a: F.max_pool2d(a, **pool)  # noqa: E731
        tm = torch.nn.MaxPool2d(**pool)
    ga, gt = _both(torch, x, ef, tm, channels_last=channels_last)
    np.testing.assert_array_equal(ga, gt)


@pytest.mark.parametrize("fused", [False, True])
def test_linear_relu_selects_like_torch(torch, fused):
    r = np.random.default_rng(4)
    lin = nn.Linear(6, 5).double()
    tl = torch.nn.Linear(6, 5).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(lin.weight.detach().numpy()))
        tl.bias.copy_(torch.tensor(lin.bias.detach().numpy()))
    seq = nn.Sequential(lin, nn.ReLU())
    if fused:
        seq = nn.utils.fuse(seq)
    x = r.standard_normal((30, 6))
    ga, gt = _both(torch, x, seq, torch.nn.Sequential(tl, torch.nn.ReLU()))
    # the weight gradient sums over the batch: compare the input gradient, which is per row
    np.testing.assert_array_equal(np.isnan(ga), np.isnan(gt))
    np.testing.assert_allclose(ga, gt, rtol=1e-12)


def test_recorded_relu_backward_selects_like_torch(torch):
    # create_graph=True: the same select, and it can be differentiated again
    x = np.array([-1.0, 0.0, 2.0, -3.0, 0.5])
    g = np.array([np.inf, np.nan, 1.0, -np.inf, 2.0])
    a = ember.tensor(x, requires_grad=True)
    (ga,) = ember.autograd.grad(F.relu(a), a, ember.tensor(g), create_graph=True)
    t = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(t.relu(), t, torch.tensor(g), create_graph=True)
    np.testing.assert_array_equal(ga.detach().numpy(), gt.detach().numpy())
