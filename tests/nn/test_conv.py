"""Convolution: conv1d/conv2d against PyTorch (values and all three gradients), finite
differences, the layers' init/repr/errors, and the cost skipped for a first layer."""
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F
from ember.kernels import conv as conv_kernels
from ember.gradcheck import gradgradcheck
from ember.ops.conv import conv_output_size

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

CONV2D_CASES = [
    # (x shape, weight shape, kwargs)
    ((2, 3, 7, 8), (4, 3, 3, 3), {}),
    ((2, 3, 7, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 9, 8), (5, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 3, 9, 10), (4, 3, 3, 3), dict(dilation=2, padding=2)),
    ((2, 3, 9, 10), (4, 3, 2, 3), dict(dilation=(1, 2), stride=(1, 3))),
    ((2, 4, 8, 8), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((2, 4, 8, 8), (8, 1, 3, 3), dict(groups=4, padding="same")),  # depthwise, channel multiplier 2
    ((2, 3, 8, 7), (4, 3, 4, 2), dict(padding="same")),  # even kernel: extra padding at bottom/right
    ((2, 3, 8, 7), (4, 3, 3, 3), dict(padding="same", dilation=(2, 1))),
    ((2, 3, 8, 7), (4, 3, 3, 3), dict(padding="valid")),
    ((1, 1, 5, 5), (2, 1, 5, 5), {}),  # kernel as large as the input
    ((3, 2, 6, 6), (3, 2, 1, 1), dict(stride=2)),  # 1x1 kernel
    # few input channels: the columns are stored transposed
    ((2, 1, 7, 8), (16, 1, 3, 3), {}),
    ((2, 1, 7, 8), (16, 1, 3, 3), dict(stride=2, padding=1)),
    ((2, 2, 7, 8), (12, 2, 2, 3), dict(padding=(1, 0), dilation=(1, 2))),
    # channels-last columns, multiplied block by block of samples: the weight gradient summed
    # over blocks (8 samples of 256 rows), or one GEMM (too few rows a block); no padding, an
    # uneven split of 5 samples, batch 1
    ((8, 6, 16, 16), (5, 6, 3, 3), dict(padding=1)),
    ((5, 8, 9, 9), (4, 8, 3, 3), dict(stride=2)),
    ((1, 8, 12, 11), (3, 8, 3, 3), dict(padding=2, dilation=2)),
]

CONV1D_CASES = [
    ((2, 3, 10), (4, 3, 3), {}),
    ((2, 3, 10), (4, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 11), (6, 2, 4), dict(groups=2, padding="same")),
    ((2, 3, 12), (4, 3, 3), dict(dilation=3, padding=2)),
]


def _channels_last(a):
    """The same (N, C, H, W) values stored as (N, H, W, C), as a convolution's output is."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _compare_with_torch(torch, efn, tfn, xs, ws, kw, dtype, bias=True, channels_last=False):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (xs, ws, (ws[0],)))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = tfn(tx, tw, tb if bias else None, **kw)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    if channels_last:  # input and incoming gradient in the layout ember's conv, ReLU and pool produce
        x, g = _channels_last(x), _channels_last(g)
    # ember.Tensor wraps the array as it is (ember.tensor copies it into C order)
    ex, ew, eb = (ember.Tensor(a, requires_grad=True) for a in (x, w, b))
    ey = efn(ex, ew, eb if bias else None, **kw)
    ey.backward(g)
    assert ey.shape == tuple(ty.shape) and ey.dtype == dtype
    np.testing.assert_allclose(ey.data, ty.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(ew.grad, tw.grad.numpy(), **TOL[dtype])
    assert ex.grad.dtype == dtype and ew.grad.dtype == dtype
    if bias:
        np.testing.assert_allclose(eb.grad, tb.grad.numpy(), **TOL[dtype])
    else:
        assert eb.grad is None


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
def test_conv2d_matches_torch(torch, xs, ws, kw, dtype):
    _compare_with_torch(torch, F.conv2d, torch.nn.functional.conv2d, xs, ws, kw, dtype)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
def test_conv2d_on_channels_last_input_matches_torch(torch, xs, ws, kw):
    _compare_with_torch(torch, F.conv2d, torch.nn.functional.conv2d, xs, ws, kw, np.float64, channels_last=True)


@pytest.mark.kernels
def test_conv2d_output_and_input_gradient_are_channels_last():
    # y is a view of the GEMM's (N OH OW, O) result; gx keeps x's layout for the layer before
    conv = nn.Conv2d(3, 5, 3, padding=1)
    x = ember.tensor(np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    y = conv(x)
    assert y._data.transpose(0, 2, 3, 1).flags.c_contiguous
    y.sum().backward()
    assert x.grad.shape == x.shape and x.grad._data.transpose(0, 2, 3, 1).flags.c_contiguous
    grouped = nn.Conv2d(4, 4, 3, groups=2)  # grouped: C order
    assert grouped(np.ones((1, 4, 5, 5), np.float32))._data.flags.c_contiguous


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", CONV1D_CASES)
def test_conv1d_matches_torch(torch, xs, ws, kw, dtype):
    _compare_with_torch(torch, F.conv1d, torch.nn.functional.conv1d, xs, ws, kw, dtype)


def test_conv_without_bias_and_unbatched(torch):
    for ws in [(4, 3, 3, 3), (32, 3, 3, 3)]:
        _compare_with_torch(torch, F.conv2d, torch.nn.functional.conv2d, (2, 3, 6, 6), ws, {}, np.float64, bias=False)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 6, 7)), rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (4, 6, 7)
    np.testing.assert_allclose(y.data, torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy())
    y1 = F.conv1d(x[:, 0], w[:, :, 0])
    assert y1.shape == (4, 5)
    np.testing.assert_allclose(y1.data, torch.nn.functional.conv1d(torch.tensor(x[:, 0]), torch.tensor(w[:, :, 0])).numpy())


@pytest.mark.parametrize("out_channels,kw", [
    (2, dict(stride=2, padding=1)),
    (2, dict(padding=1)),  # stride 1: the wide input-gradient path
    (2, dict(dilation=2, groups=2, padding="same")),
    (20, dict(stride=(1, 2), padding=1)),
])
def test_conv2d_gradcheck(out_channels, kw):
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((out_channels, 1 if kw.get("groups") else 2, 3, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(out_channels), requires_grad=True)
    assert ember.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b])


def test_conv1d_gradcheck():
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(3), requires_grad=True)
    assert ember.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), [x, w, b])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_torch(torch, mode):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 7))
    t = torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode).double()
    e = nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode, dtype=np.float64)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    t(tx).square().sum().backward()
    (e(ex) ** 2).sum().backward()
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(e.weight.grad, t.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
    assert ember.gradcheck(lambda x: e(x), [ember.tensor(x[:1, :, :4, :4], requires_grad=True)])


def test_conv1d_padding_mode_matches_torch(torch):
    x = np.random.default_rng(5).standard_normal((2, 3, 9))
    t = torch.nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular").double()
    e = nn.Conv1d(3, 2, 3, padding=2, padding_mode="circular", dtype=np.float64)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    np.testing.assert_allclose(e(x).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_layer_matches_torch_init_statistics_and_repr(torch):
    ember.manual_seed(0)
    c = nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives the same bound for weights
    assert c.weight.shape == (32, 16, 3, 3) and c.weight.dtype == np.float32
    assert np.abs(c.weight._data).max() <= bound and np.abs(c.weight._data).max() > 0.9 * bound
    assert np.abs(c.bias._data).max() <= bound and c.bias._data.std() > 0.3 * bound
    for args, kw in [((1, 32, 3), {}), ((3, 8, (3, 5)), dict(stride=2, padding=1, bias=False)),
                     ((4, 8, 3), dict(padding="same", dilation=2, groups=2, padding_mode="reflect"))]:
        assert repr(nn.Conv2d(*args, **kw)) == repr(torch.nn.Conv2d(*args, **kw))
    assert repr(nn.Conv1d(3, 5, 3, padding=2)) == repr(torch.nn.Conv1d(3, 5, 3, padding=2))
    assert list(c.state_dict()) == ["weight", "bias"]


def test_layer_loads_torch_weights(torch):
    t = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1)
    e = nn.Conv2d(3, 5, 3, stride=2, padding=1)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((2, 3, 9, 9)).astype(np.float32)
    np.testing.assert_allclose(e(x).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_layer_errors_name_the_layer_and_values():
    c = nn.Conv2d(3, 32, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3 -> 32\) expected input with 3 channels, got shape \(8, 1, 28, 28\)"):
        c(np.zeros((8, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d\(3 -> 32\): input of spatial size \(2, 28\) is smaller than the kernel"):
        c(np.zeros((1, 3, 2, 28), np.float32))
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be an int, a tuple, 'same' or 'valid', got 'full'"):
        nn.Conv1d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv1d\(3 -> 4\) expected input with 3 channels"):
        nn.Conv1d(3, 4, 3)(np.zeros((2, 4, 9), np.float32))


def test_functional_errors():
    x = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels .* expects 4"):
        F.conv2d(x, np.zeros((4, 2, 3, 3), np.float32), groups=2)
    with pytest.raises(TypeError, match="one float dtype"):
        F.conv2d(x, np.zeros((4, 3, 3, 3), np.float64))
    with pytest.raises(ValueError, match=r"expected a 4-D input"):
        F.conv2d(np.zeros((8, 8), np.float32), np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="reflect padding of 3 must be less than the input size"):
        nn.Conv2d(3, 4, 3, padding=3, padding_mode="reflect")(np.zeros((1, 3, 3, 8), np.float32))


def test_conv_output_size_formula():
    assert conv_output_size(28, 3) == 26
    assert conv_output_size(28, 3, stride=2, padding=1) == 14
    assert conv_output_size(10, 3, dilation=2) == 6
    assert conv_output_size(8, 3, padding=(1, 2)) == 9
    assert conv_output_size(2, 3) == 0
    assert conv_output_size(7, 2, stride=2) == 3 and conv_output_size(7, 2, stride=2, ceil_mode=True) == 4
    # ceil_mode drops a last window that would start in the right padding (PyTorch's rule)
    assert conv_output_size(4, 3, stride=2, padding=1, ceil_mode=True) == 3
    assert conv_output_size(5, 2, stride=2, padding=1, ceil_mode=True) == 3  # not 4


@pytest.mark.kernels
@pytest.mark.parametrize("out_channels", [4, 16])
def test_first_layer_computes_no_input_gradient(monkeypatch, out_channels):
    monkeypatch.setattr(conv_kernels, "_WINOGRAD", "0")  # the im2col kernel's paths (Winograd: its own test)
    calls = []
    for name in ("_col2im", "_input_grad_wide", "_input_grad_channels_last"):
        orig = getattr(conv_kernels.Conv2dFunction, name)
        monkeypatch.setattr(conv_kernels.Conv2dFunction, name,
                            lambda self, *a, _orig=orig, **kw: calls.append(id(self)) or _orig(self, *a, **kw))
    model = nn.Conv2d(1, out_channels, 3) if out_channels == 4 else nn.Conv2d(8, out_channels, 3)
    model2 = nn.Conv2d(out_channels, 2, 3)
    x = np.random.default_rng(7).standard_normal((2, model.in_channels, 8, 8)).astype(np.float32)
    model2(model(x)).sum().backward()
    assert len(set(calls)) == 1  # the second layer's input gradient only (in one or more blocks)
    assert model.weight.grad is not None and model.bias.grad is not None


def test_float32_stays_float32():
    c = nn.Conv2d(2, 3, 3, padding=1)
    y = c(np.ones((1, 2, 5, 5), np.float64))  # float input is cast to the parameters' dtype
    assert y.dtype == np.float32
    y.sum().backward()
    assert c.weight.grad.dtype == np.float32 and c.bias.grad.dtype == np.float32


# ----- Unfold and Fold modules; F.unfold / F.fold errors as PyTorch's -----


@pytest.mark.parametrize("kw", [dict(kernel_size=3),
                                dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))])
def test_unfold_and_fold_modules_match_torch(torch, kw):
    x = np.random.default_rng(8).standard_normal((2, 3, 7, 8))
    eu, tu = nn.Unfold(**kw), torch.nn.Unfold(**kw)
    assert repr(eu) == repr(tu) and list(eu.state_dict()) == []
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = eu(ex), tu(tx)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=0, atol=0)
    ef, tf = nn.Fold((7, 8), **kw), torch.nn.Fold((7, 8), **kw)
    assert repr(ef) == repr(tf)
    ez, tz = ef(ey), tf(ty)
    np.testing.assert_allclose(ez.detach().numpy(), tz.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(9).standard_normal(ez.shape)
    ez.backward(ember.tensor(g))
    tz.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nn.Unfold(**kw)(x[0]).numpy(), tu(torch.tensor(x[0])).numpy())  # unbatched


UNFOLD_ERRORS = [
    ("unfold", (2, 3, 2, 2), dict(kernel_size=3)),
    ("unfold", (2, 3, 5, 5), dict(kernel_size=(2, 2, 2))),
    ("unfold", (2, 3, 5, 5), dict(kernel_size=2, stride=0)),
    ("unfold", (2, 3, 5, 5), dict(kernel_size=2, padding=-1)),
    ("unfold", (2, 3, 5, 5), dict(kernel_size=2, dilation=(1, 0))),
    ("unfold", (2, 3, 5, 5), dict(kernel_size=(0, 2))),
    ("fold", (2, 7, 12), dict(output_size=(4, 5), kernel_size=2)),
    ("fold", (2, 8, 11), dict(output_size=(4, 5), kernel_size=2)),
    ("fold", (8, 11), dict(output_size=(4, 5), kernel_size=2)),
    ("fold", (2, 8, 12), dict(output_size=(4, 5), kernel_size=2, stride=(1, 2))),
    ("fold", (2, 8, 4), dict(output_size=(3, 3, 3), kernel_size=2)),
]


@pytest.mark.parametrize("name,shape,kw", UNFOLD_ERRORS)
def test_unfold_and_fold_errors_are_torchs(torch, name, shape, kw):
    with pytest.raises(RuntimeError) as t:
        getattr(torch.nn.functional, name)(torch.zeros(shape), **kw)
    with pytest.raises(RuntimeError) as e:  # also a ValueError, as ember raised before
        getattr(F, name)(np.zeros(shape), **kw)
    assert isinstance(e.value, ValueError)
    # fold's shape errors name the input first, then say what PyTorch says
    assert str(e.value) == str(t.value) or str(e.value).endswith(". " + str(t.value))


# ----- Conv1d / Conv2d: groups with every padding and padding_mode, as layers against torch -----

GROUPED_LAYERS = [
    # (nd, in, out, kernel, kwargs)
    (1, 4, 4, 3, dict(groups=4, padding="same", dilation=2)),  # depthwise
    (1, 6, 4, 4, dict(groups=2, padding="same")),  # even kernel: the extra padding at the end
    (1, 4, 8, 3, dict(groups=4, stride=2, padding=2)),
    (2, 4, 4, 3, dict(groups=4, padding="same")),  # depthwise
    (2, 4, 8, (3, 2), dict(groups=4, padding="same", dilation=(1, 2))),  # depthwise, multiplier 2
    (2, 6, 9, 3, dict(groups=3, stride=(2, 1), padding=(1, 2))),
    (2, 4, 6, 3, dict(groups=2, padding="valid", dilation=2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd,cin,cout,k,kw", GROUPED_LAYERS)
def test_grouped_layers_match_torch_both_ways(torch, nd, cin, cout, k, kw, mode):
    name = f"Conv{nd}d"
    t = getattr(torch.nn, name)(cin, cout, k, padding_mode=mode, **kw).double()
    e = getattr(nn, name)(cin, cout, k, padding_mode=mode, dtype=np.float64, **kw)
    assert repr(e) == repr(t)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(10).standard_normal((2, cin) + (6, 7)[:nd])
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    ty, ey = t(tx), e(ex)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(11).standard_normal(ey.shape)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(e.weight.grad.detach().numpy(), t.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(e.bias.grad.detach().numpy(), t.bias.grad.numpy(), rtol=1e-10, atol=1e-10)
    e.reset_parameters()  # and back: ember's parameters into torch
    t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in e.state_dict().items()})
    np.testing.assert_allclose(e(x).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("nd", [1, 2])
def test_depthwise_gradgradcheck(nd):
    rng = np.random.default_rng(12)
    inputs = [ember.tensor(rng.standard_normal(s), requires_grad=True)
              for s in ((1, 2) + (4, 3)[:nd], (4, 1) + (2, 2)[:nd], (4,))]
    fn = F.conv1d if nd == 1 else F.conv2d
    assert ember.gradcheck(lambda x, w, b: fn(x, w, b, groups=2, padding="same"), inputs)
    assert gradgradcheck(lambda x, w, b: fn(x, w, b, groups=2, padding="same"), inputs)


@pytest.mark.kernels
@pytest.mark.parametrize("shape,kw", [((3, 8, 20, 19), dict(padding=1)),  # row blocks of one sample
                                      ((5, 6, 6, 7), dict(stride=2, padding=(0, 1))),  # whole samples a block
                                      ((1, 16, 9, 9), {})])
def test_conv2d_without_weight_gradient_matches_torch(torch, monkeypatch, shape, kw):
    # inference, and frozen weights: the forward makes its columns block by block, in scratch
    monkeypatch.setattr(conv_kernels, "_BLOCK_ROWS", 30)
    monkeypatch.setattr(conv_kernels, "_WINOGRAD", "0")
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(np.float32)
    conv = nn.Conv2d(shape[1], 4, 3, **kw)
    tconv = torch.nn.Conv2d(shape[1], 4, 3, **kw)
    tconv.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    tx = torch.tensor(x, requires_grad=True)
    ty = tconv(tx)
    with ember.no_grad():
        y = conv(x)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    conv.requires_grad_(False)
    ex = ember.tensor(x, requires_grad=True)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    conv(ex).backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert conv.weight.grad is None and conv.bias.grad is None
