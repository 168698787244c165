"""Transposed convolutions: F.conv_transpose1d/2d/3d and nn.ConvTranspose1d/2d/3d against
PyTorch (values, input/weight/bias gradients, float32 and float64), gradcheck and
gradgradcheck, the adjoint identity with conv, output_size, init/repr/state_dict, and
PyTorch's errors."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradgradcheck
from ember.nn import functional as F

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

CASES = [
    # (nd, x shape, weight shape (C_in, C_out / groups, *kernel), kwargs)
    (1, (2, 3, 6), (3, 4, 3), {}),
    (1, (2, 4, 5), (4, 2, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)),
    (2, (2, 3, 4, 5), (3, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, (2, 4, 4, 5), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
                                         dilation=(1, 2))),
    (2, (2, 4, 4, 4), (4, 1, 3, 3), dict(groups=4, padding=1)),  # depthwise
    (2, (1, 2, 3, 3), (2, 3, 2, 2), dict(stride=1, dilation=2, output_padding=1)),  # output_padding < dilation
    (2, (2, 2, 3, 4), (2, 3, 3, 3), dict(stride=3, padding=2, output_padding=(2, 0))),
    (3, (2, 2, 3, 3, 2), (2, 2, 2, 3, 2), dict(stride=2, padding=(1, 0, 0), output_padding=(1, 0, 1))),
    (3, (1, 4, 2, 3, 3), (4, 1, 2, 2, 2), dict(groups=2, dilation=(2, 1, 1))),
]


def _fns(torch, nd):
    return getattr(F, f"conv_transpose{nd}d"), getattr(torch.nn.functional, f"conv_transpose{nd}d")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd,xs,ws,kw", CASES)
def test_functional_matches_torch(torch, nd, xs, ws, kw, dtype):
    efn, tfn = _fns(torch, nd)
    rng = np.random.default_rng(0)
    o = ws[1] * kw.get("groups", 1)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (xs, ws, (o,)))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    ty, ey = tfn(tx, tw, tb, **kw), efn(ex, ew, eb, **kw)
    assert ey.shape == tuple(ty.shape) and ey.dtype == dtype
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        assert e.grad.dtype == dtype
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TOL[dtype])


def test_unbatched_and_no_bias_and_positional(torch):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 2, 2, 3))
    # positional order as PyTorch's: (input, weight, bias, stride, padding, output_padding, groups, dilation)
    ey = F.conv_transpose2d(x, w, None, 2, 1, 1, 1, 1)
    ty = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), None, 2, 1, 1, 1, 1)
    assert ey.shape == tuple(ty.shape) == (2, 7, 10)
    np.testing.assert_allclose(ey.detach().numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    ey = F.conv_transpose1d(x[:, 0], w[:, :, 0], stride=[2])
    np.testing.assert_allclose(ey.detach().numpy(), torch.nn.functional.conv_transpose1d(
        torch.tensor(x[:, 0]), torch.tensor(w[:, :, 0]), stride=[2]).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(stride=(1, 2), dilation=(2, 1), groups=2)])
def test_is_the_input_gradient_of_conv(kw):
    # conv_transpose2d(g, w) == d<conv2d(x, w), g>/dx, for the x sizes a strided conv maps to g's size
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((2, 4, 7, 6)), requires_grad=True)
    w = rng.standard_normal((6, 4 // kw.get("groups", 1), 3, 3))
    y = F.conv2d(x, w, **kw)
    g = rng.standard_normal(y.shape)
    y.backward(ember.tensor(g))
    op = tuple(s - t for s, t in zip(x.shape[2:], F.conv_transpose2d(g, w, **kw).shape[2:]))
    np.testing.assert_allclose(F.conv_transpose2d(g, w, output_padding=op, **kw).numpy(), x.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("nd,xs,ws,kw", [
    (1, (1, 2, 3), (2, 2, 2), dict(stride=2, padding=1, output_padding=1)),
    (2, (1, 2, 2, 3), (2, 1, 2, 2), dict(stride=(2, 1), groups=2, dilation=(1, 2))),
    (3, (1, 2, 2, 2, 1), (2, 1, 2, 1, 2), dict(stride=2, padding=(1, 0, 0), output_padding=(1, 0, 0))),
])
def test_gradcheck_and_gradgradcheck(nd, xs, ws, kw):
    rng = np.random.default_rng(3)
    fn = getattr(F, f"conv_transpose{nd}d")
    o = ws[1] * kw.get("groups", 1)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True) for s in (xs, ws, (o,))]
    assert ember.gradcheck(lambda x, w, b: fn(x, w, b, **kw), inputs)
    assert gradgradcheck(lambda x, w, b: fn(x, w, b, **kw), inputs)


# ----- the modules -----


@pytest.mark.parametrize("nd,args,kw", [
    (1, (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2)),
    (2, (3, 4, (2, 3)), dict(stride=(2, 1), padding=(0, 1), dilation=(1, 2), bias=False)),
    (3, (2, 4, 2), dict(stride=2, output_padding=1)),
])
def test_module_matches_torch_both_ways(torch, nd, args, kw):
    name = f"ConvTranspose{nd}d"
    t = getattr(torch.nn, name)(*args, **kw).double()
    e = getattr(nn, name)(*args, **kw, dtype=np.float64)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert all(np.shape(e.state_dict()[k]) == tuple(v.shape) for k, v in t.state_dict().items())
    assert e.transposed and e.output_padding == t.output_padding and e.padding == t.padding
    x = np.random.default_rng(4).standard_normal((2, args[0]) + (3,) * nd)
    for load_into_ember in (True, False):
        if load_into_ember:
            e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
        else:
            e.reset_parameters()
            t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in e.state_dict().items()})
        tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        ty, ey = t(tx), e(ex)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        ty.square().sum().backward()
        (ey ** 2).sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(e.weight.grad.detach().numpy(), t.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
        e.zero_grad()
        t.zero_grad()


def test_module_init_is_torchs():
    ember.manual_seed(0)
    m = nn.ConvTranspose2d(6, 16, 3, groups=2)
    assert m.weight.shape == (6, 8, 3, 3) and m.bias.shape == (16,) and m.weight.dtype == np.float32
    bound = 1 / math.sqrt(8 * 9)  # fan_in = weight.shape[1] * kernel: out_channels / groups
    assert bound * 0.9 < np.abs(m.weight.detach().numpy()).max() <= bound
    assert bound * 0.5 < np.abs(m.bias.detach().numpy()).max() <= bound
    y = m(np.ones((6, 4, 4)))  # unbatched, float64 input cast to the parameters' float32
    assert y.shape == (16, 6, 6) and y.dtype == np.float32


def test_output_size(torch):
    t = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    e = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((2, 4, 5, 5)).astype(np.float32)
    for size in [(9, 9), (10, 9), [2, 6, 9, 10], ember.Size([10, 10])]:
        ty = t(torch.tensor(x), output_size=list(size) if isinstance(size, ember.Size) else size)
        ey = e(x, output_size=size)
        assert ey.shape == tuple(ty.shape)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert e(x[0], output_size=(10, 9)).shape == (6, 10, 9)
    assert e.output_padding == (0, 0)  # output_size leaves the attribute alone
    for size, msg in [((11, 11), r"requested an output size of \(11, 11\), but valid sizes range from \[9, 9\] to "
                                 r"\[10, 10\] \(for an input of"),
                      ((8, 9), "valid sizes range from"),
                      ([9], r"ConvTranspose2D: for 4D input, output_size must have 2 or 4 elements \(got 1\)")]:
        with pytest.raises(ValueError) as te:
            t(torch.tensor(x), output_size=size)
        with pytest.raises(ValueError, match=msg) as ee:
            e(x, output_size=size)
        assert str(ee.value).split(" (for an input")[0] == str(te.value).split(" (for an input")[0]
    m1 = nn.ConvTranspose1d(2, 2, 3, stride=3)
    assert m1(np.ones((1, 2, 4), np.float32), output_size=[12]).shape == (1, 2, 12)
    m3 = nn.ConvTranspose3d(2, 2, 2, stride=2)
    assert m3(np.ones((2, 2, 2, 2), np.float32), output_size=(4, 5, 5)).shape == (2, 4, 5, 5)


def test_module_errors(torch):
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"out_channels \(3\) must be divisible by groups \(2\)"):
        nn.ConvTranspose1d(4, 3, 3, groups=2)
    with pytest.raises(TypeError, match="no 'same' or 'valid'"):
        nn.ConvTranspose2d(4, 6, 3, padding="same")
    m = nn.ConvTranspose3d(4, 6, 3)
    with pytest.raises(RuntimeError, match=r"ConvTranspose3d\(4 -> 6\) expected input with 4 channels, "
                                           r"got shape \(2, 3, 5, 5, 5\)"):
        m(np.zeros((2, 3, 5, 5, 5), np.float32))
    with pytest.raises(RuntimeError):
        torch.nn.ConvTranspose3d(4, 6, 3)(torch.zeros(2, 3, 5, 5, 5))
    m = nn.ConvTranspose2d(4, 6, 3, output_padding=1)  # stride 1: rejected when called, as in PyTorch
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        m(np.zeros((1, 4, 3, 3), np.float32))


def _torch_error(torch, fn, args, kw):
    with pytest.raises(Exception) as info:
        fn(*[torch.tensor(a) for a in args], **kw)
    return info


ERRORS = [
    # (nd, x shape, weight shape, bias shape, kwargs): same type and message as PyTorch
    (2, (2, 4, 5, 5), (3, 3, 3, 3), None, {}),  # channels
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(groups=3)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), (4,), {}),  # bias is C_out = weight.shape[1] * groups
    (2, (5, 5), (4, 3, 3, 3), None, {}),
    (1, (5,), (2, 3, 3), None, {}),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(output_padding=1)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(stride=2, output_padding=(0, 2))),
    (1, (2, 4, 5), (4, 3, 3), None, dict(output_padding=1)),
    (3, (1, 4, 3, 3, 3), (4, 3, 3, 3, 3), None, dict(output_padding=(0, 1, 0))),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(stride=0)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(padding=-1)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(output_padding=-1)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(groups=0)),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(stride=(1, 2, 3))),
    (2, (2, 4, 5, 5), (4, 3, 3, 3), None, dict(padding="same")),
]


@pytest.mark.parametrize("nd,xs,ws,bs,kw", ERRORS)
def test_functional_errors_are_torchs(torch, nd, xs, ws, bs, kw):
    efn, tfn = _fns(torch, nd)
    arrays = [np.zeros(s, np.float32) for s in (xs, ws) + ((bs,) if bs else ())]
    t = _torch_error(torch, tfn, arrays, kw)
    with pytest.raises(t.type) as e:
        efn(*arrays, **kw)
    assert str(e.value) == str(t.value)


def test_functional_errors_of_its_own():
    x = np.zeros((1, 2, 3, 3), np.float32)
    with pytest.raises(RuntimeError, match=r"conv_transpose2d: the output would have spatial size \(-1, -1\)"):
        F.conv_transpose2d(x, np.zeros((2, 1, 3, 3), np.float32), padding=3)
    with pytest.raises(RuntimeError, match="conv_transpose2d: expected a 4-D weight"):
        F.conv_transpose2d(x, np.zeros((2, 1, 3), np.float32))
    with pytest.raises(TypeError, match="one float dtype"):
        F.conv_transpose2d(x, np.zeros((2, 1, 3, 3)))
