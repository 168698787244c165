"""Conv3d and F.conv3d against PyTorch (values, all three gradients, float32 and float64),
every padding_mode, gradcheck and gradgradcheck, init/repr/state_dict, errors."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradgradcheck
from ember.nn import functional as F

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

CASES = [
    # (x shape, weight shape, kwargs)
    ((2, 3, 4, 5, 4), (4, 3, 3, 2, 3), {}),
    ((2, 3, 5, 5, 6), (2, 3, 3, 3, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1))),
    ((1, 2, 6, 5, 5), (3, 2, 2, 3, 2), dict(dilation=(2, 1, 2), padding=1)),
    ((2, 4, 4, 4, 4), (6, 2, 3, 3, 3), dict(groups=2, padding="same")),
    ((2, 4, 4, 3, 5), (8, 1, 2, 2, 2), dict(groups=4, padding="same")),  # depthwise, multiplier 2, even kernel
    ((1, 2, 4, 4, 4), (3, 2, 3, 3, 3), dict(padding="valid", stride=1)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_conv3d_matches_torch(torch, xs, ws, kw, dtype):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (xs, ws, (ws[0],)))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ex, ew, eb = (ember.tensor(a, requires_grad=True) for a in (x, w, b))
    ty, ey = torch.nn.functional.conv3d(tx, tw, tb, **kw), F.conv3d(ex, ew, eb, **kw)
    assert ey.shape == tuple(ty.shape) and ey.dtype == dtype
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        assert e.grad.dtype == dtype
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TOL[dtype])


def test_conv3d_unbatched_and_without_bias(torch):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((3, 2, 2, 2, 3))
    ey = F.conv3d(x, w, None, 1, 1, 1, 1)  # PyTorch's positional order
    ty = torch.nn.functional.conv3d(torch.tensor(x), torch.tensor(w), None, 1, 1, 1, 1)
    assert ey.shape == tuple(ty.shape)
    np.testing.assert_allclose(ey.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(groups=2, dilation=(1, 2, 1), padding="same")])
def test_conv3d_gradcheck_and_gradgradcheck(kw):
    rng = np.random.default_rng(2)
    w_in = 1 if kw.get("groups") else 2
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((1, 2, 3, 3, 3), (2, w_in, 2, 2, 2), (2,))]
    assert ember.gradcheck(lambda x, w, b: F.conv3d(x, w, b, **kw), inputs)
    assert gradgradcheck(lambda x, w, b: F.conv3d(x, w, b, **kw), inputs)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_module_padding_modes_match_torch_both_ways(torch, mode):
    kw = dict(stride=(1, 2, 1), padding=(1, 2, 0), groups=2, padding_mode=mode)
    t = torch.nn.Conv3d(4, 6, (3, 2, 3), **kw).double()
    e = nn.Conv3d(4, 6, (3, 2, 3), **kw, dtype=np.float64)
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    x = np.random.default_rng(3).standard_normal((2, 4, 4, 5, 4))
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
        np.testing.assert_allclose(e.bias.grad.detach().numpy(), t.bias.grad.numpy(), rtol=1e-10, atol=1e-10)
        e.zero_grad()
        t.zero_grad()
    # padding='same' with a padding mode: an even kernel pads more at the end, as in PyTorch
    t = torch.nn.Conv3d(2, 2, (2, 3, 4), padding="same", padding_mode=mode).double()
    e = nn.Conv3d(2, 2, (2, 3, 4), padding="same", padding_mode=mode, dtype=np.float64)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(e(x[:, :2]).detach().numpy(), t(torch.tensor(x[:, :2])).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    assert ember.gradcheck(lambda x: e(x), [ember.tensor(x[:1, :2, :3, :3, :4], requires_grad=True)])


def test_module_init_and_repr(torch):
    ember.manual_seed(0)
    c = nn.Conv3d(4, 8, 3, groups=2)
    assert c.weight.shape == (8, 2, 3, 3, 3) and c.weight.dtype == np.float32
    bound = 1 / math.sqrt(2 * 27)
    assert 0.9 * bound < np.abs(c.weight.detach().numpy()).max() <= bound
    assert 0.5 * bound < np.abs(c.bias.detach().numpy()).max() <= bound
    for args, kw in [((1, 2, 3), {}), ((2, 4, (1, 2, 3)), dict(stride=2, padding=1, dilation=(1, 2, 1), bias=False)),
                     ((4, 8, 3), dict(padding="same", padding_mode="circular", groups=4))]:
        assert repr(nn.Conv3d(*args, **kw)) == repr(torch.nn.Conv3d(*args, **kw))
    assert c.output_padding == (0, 0, 0) and not c.transposed


def test_errors(torch):
    c = nn.Conv3d(4, 6, 3)
    with pytest.raises(RuntimeError, match=r"Conv3d\(4 -> 6\) expected input with 4 channels, "
                                           r"got shape \(2, 3, 5, 5, 5\)"):
        c(np.zeros((2, 3, 5, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"Conv3d\(4 -> 6\): input of spatial size \(2, 5, 5\) is smaller "
                                         r"than the kernel"):
        c(np.zeros((2, 4, 2, 5, 5), np.float32))
    with pytest.raises(RuntimeError):  # PyTorch's type, for both
        torch.nn.Conv3d(4, 6, 3)(torch.zeros(2, 4, 2, 5, 5))
    with pytest.raises(RuntimeError, match=r"conv3d: input has 4 channels .* expects 3"):
        F.conv3d(np.zeros((1, 4, 3, 3, 3)), np.zeros((2, 3, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"conv3d: expected a 5-D input \(N, C, D, H, W\)"):
        F.conv3d(np.zeros((4, 3, 3)), np.zeros((2, 3, 1, 1, 1)))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv3d(np.zeros((1, 3, 3, 3, 3)), np.zeros((2, 3, 1, 1, 1)), stride=2, padding="same")
    with pytest.raises(ValueError, match="reflect padding of 3 must be less than the input size"):
        nn.Conv3d(2, 2, 3, padding=(3, 0, 0), padding_mode="reflect")(np.zeros((1, 2, 3, 4, 4), np.float32))
