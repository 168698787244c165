"""Pooling: every variant against PyTorch (values and input gradient, ties included), finite
differences, and the layers' reprs and errors."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

MAX2D = [
    dict(kernel_size=2),  # the two-pass fast path
    dict(kernel_size=2, stride=2),
    dict(kernel_size=3, stride=2, padding=1),  # overlapping windows
    dict(kernel_size=3, stride=1),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3),
]
AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=1, padding=(1, 0)),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, divisor_override=4),
]
SHAPES = [(2, 3, 8, 8), (2, 3, 7, 9)]  # even, and odd sizes that leave a row/column out


def _channels_last(a):
    """The same (N, C, H, W) values stored as (N, H, W, C), as a convolution's output is."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _run(torch, name, x, kw, dtype=np.float64, channels_last=False):
    x = x.astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kw)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    if channels_last:
        x = _channels_last(x)
    ex = ember.Tensor(x, requires_grad=True)  # as it is: ember.tensor would copy it into C order
    ey = getattr(F, name)(ex, **kw)
    ey.backward(g)
    assert ey.shape == tuple(ty.shape) and ey.dtype == dtype and ex.grad.dtype == dtype
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ey.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(ex.grad, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d_matches_torch(torch, kw, shape):
    _run(torch, "max_pool2d", np.random.default_rng(0).standard_normal(shape), kw)


@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d_ties_route_to_the_first_maximum(torch, kw):
    # small integers make many ties, including equal values in both rows of a 2x2 window
    x = np.random.default_rng(2).integers(-2, 3, size=(3, 4, 8, 9)).astype(np.float64)
    _run(torch, "max_pool2d", x, kw)
    _run(torch, "max_pool2d", np.maximum(x, 0), kw)  # after ReLU: windows of zeros


@pytest.mark.parametrize("kw", MAX2D[:3] + AVG2D[:2])
def test_pooling_channels_last_input(torch, kw):
    # after a convolution the input is stored (N, H, W, C); the 2x2 path keeps that layout
    x = np.random.default_rng(3).integers(-2, 3, size=(3, 5, 8, 9)).astype(np.float64)
    name = "avg_pool2d" if kw in AVG2D[:2] and kw not in MAX2D[:3] else "max_pool2d"
    _run(torch, name, x, kw, channels_last=True)
    _run(torch, name, x, kw, dtype=np.float32, channels_last=True)
    y = F.max_pool2d(ember.Tensor(_channels_last(x)), 2)
    if ember.kernels.enabled():  # a property of the 2x2 kernel
        assert y._data.transpose(0, 2, 3, 1).flags.c_contiguous


def test_max_pool2d_2x2_tie_between_top_right_and_bottom_left(torch):
    # the one tie that pooling rows first would break unlike PyTorch's row-major scan
    x = np.array([[[[0.0, 5.0], [5.0, 1.0]], [[5.0, 5.0], [5.0, 5.0]], [[1.0, 0.0], [3.0, 3.0]]]])
    _run(torch, "max_pool2d", x, dict(kernel_size=2))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d_matches_torch(torch, kw, shape):
    _run(torch, "avg_pool2d", np.random.default_rng(0).standard_normal(shape), kw)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)])
def test_float32_pooling(torch, kw):
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 8))
    _run(torch, "max_pool2d", x, kw, np.float32)
    _run(torch, "avg_pool2d", x, kw, np.float32)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)])
def test_max_pool1d_matches_torch(torch, kw):
    x = np.random.default_rng(4).integers(-2, 3, size=(2, 3, 11)).astype(np.float64)
    _run(torch, "max_pool1d", x, kw)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)])
def test_avg_pool1d_matches_torch(torch, kw):
    _run(torch, "avg_pool1d", np.random.default_rng(5).standard_normal((2, 3, 11)), kw)


@pytest.mark.parametrize("size", [1, (1, 1), (2, 3), (3, 4), (None, 2), 5, (7, 9)])
def test_adaptive_avg_pool2d_matches_torch(torch, size):
    _run(torch, "adaptive_avg_pool2d", np.random.default_rng(6).standard_normal((2, 3, 7, 9)), dict(output_size=size))


@pytest.mark.parametrize("size", [1, 3, 4])
def test_adaptive_avg_pool1d_matches_torch(torch, size):
    _run(torch, "adaptive_avg_pool1d", np.random.default_rng(7).standard_normal((2, 3, 8)), dict(output_size=size))


def test_unbatched_input(torch):
    x = np.random.default_rng(8).standard_normal((3, 7, 8))
    _run(torch, "max_pool2d", x, dict(kernel_size=2))
    _run(torch, "avg_pool2d", x, dict(kernel_size=3, stride=2, padding=1))
    _run(torch, "adaptive_avg_pool2d", x, dict(output_size=(2, 3)))
    _run(torch, "max_pool1d", x[0], dict(kernel_size=3, stride=2))


GRADCHECK = [
    (F.max_pool2d, dict(kernel_size=2)),
    (F.max_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (F.max_pool1d, dict(kernel_size=3, stride=2, padding=1)),
    (F.avg_pool2d, dict(kernel_size=2)),
    (F.avg_pool2d, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    (F.avg_pool1d, dict(kernel_size=3, stride=2, padding=1)),
    (F.adaptive_avg_pool2d, dict(output_size=(2, 3))),
    (F.adaptive_avg_pool2d, dict(output_size=1)),
    (F.adaptive_avg_pool1d, dict(output_size=2)),
]


@pytest.mark.parametrize("fn,kw", GRADCHECK)
def test_gradcheck(fn, kw):
    # distinct values well apart, so that a finite step never changes which element is the max
    shape = (1, 2, 7) if fn.__name__.endswith("1d") else (1, 2, 5, 5)
    x = np.random.default_rng(9).permutation(int(np.prod(shape))).reshape(shape) * 0.1
    assert ember.gradcheck(lambda t: fn(t, **kw), [ember.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("channels_last", [False, True], ids=["C order", "channels-last"])
@pytest.mark.parametrize("kw", MAX2D)
def test_max_pool2d_routes_the_gradient_to_a_windows_last_nan(torch, kw, channels_last):
    # PyTorch takes a NaN over any number, and a window's last NaN (row-major) over earlier ones
    r = np.random.default_rng(12)
    x = r.integers(-2, 3, size=(2, 3, 8, 9)).astype(np.float64)
    x[r.random(x.shape) < 0.2] = np.nan  # windows with one NaN, several, or only NaN
    _run(torch, "max_pool2d", x, kw, channels_last=channels_last)


@pytest.mark.parametrize("kw", [k for k in MAX2D if k.get("padding") or k.get("ceil_mode")])
def test_max_pool2d_window_of_only_minus_inf_routes_to_its_first_input_element(torch, kw):
    # the padding is -inf too: the gradient must still land inside the input, as in PyTorch
    x = np.full((1, 2, 5, 7), -np.inf)
    x[0, 1, 2:, 3:] = np.random.default_rng(13).standard_normal((3, 4))
    _run(torch, "max_pool2d", x, kw)


def test_max_pool_propagates_nan(torch):
    x = np.random.default_rng(10).standard_normal((1, 1, 4, 6))
    x[0, 0, 1, 3] = np.nan
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=1)):
        np.testing.assert_array_equal(F.max_pool2d(x, **kw).data,
                                      torch.nn.functional.max_pool2d(torch.tensor(x), **kw).numpy())


def test_layers_match_torch_reprs_and_outputs(torch):
    x = np.random.default_rng(11).standard_normal((2, 3, 9, 9)).astype(np.float32)
    pairs = [("MaxPool2d", (2,), {}), ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True)),
             ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1), dict(count_include_pad=False)),
             ("AdaptiveAvgPool2d", ((1, 1),), {}), ("AdaptiveAvgPool2d", (4,), {})]
    for name, args, kw in pairs:
        e, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        assert repr(e) == repr(t)
        np.testing.assert_allclose(e(x).data, t(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)
    x1 = x[:, :, 0]
    for name, args in [("MaxPool1d", (3, 2, 1)), ("AvgPool1d", (2,)), ("AdaptiveAvgPool1d", (3,))]:
        e, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(e) == repr(t)
        np.testing.assert_allclose(e(x1).data, t(torch.tensor(x1)).numpy(), rtol=1e-6, atol=1e-6)


def test_errors_name_the_layer_and_values():
    with pytest.raises(ValueError, match=r"MaxPool2d: padding should be at most half .* padding=\(2, 2\)"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        nn.AvgPool2d(0)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        nn.MaxPool2d(2, stride=0)
    with pytest.raises(ValueError, match=r"MaxPool2d: input of spatial size \(1, 5\) is too small for kernel_size=\(2, 2\)"):
        nn.MaxPool2d(2)(np.zeros((1, 1, 1, 5), np.float32))
    with pytest.raises(ValueError, match=r"max_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"):
        F.max_pool2d(np.zeros((4, 4), np.float32), 2)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size must be a positive int"):
        nn.AdaptiveAvgPool2d(0)
    with pytest.raises(ValueError, match="divisor_override must be a non-zero int"):
        nn.AvgPool2d(2, divisor_override=0)
    assert len(nn.MaxPool2d(2, return_indices=True)(np.zeros((1, 1, 4, 4), np.float32))) == 2  # (values, indices)


def test_channels_last_3x3_window_matches_torch_with_nan_and_all_minus_inf(torch):
    """The kernel pools a channels-last input (a conv's output) in NHWC order; values, the
    gradient's routing (a window's last NaN, an all -inf window's first input element) and the
    output's layout as for C order."""
    r = np.random.default_rng(0)
    x = r.standard_normal((2, 5, 9, 11))
    x[0, 1, 2, 3] = np.nan
    x[1, 2, :4, :4] = -np.inf
    xcl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    e = ember.from_numpy(xcl).requires_grad_()
    t = torch.tensor(x, requires_grad=True)
    ye = ember.nn.functional.max_pool2d(e, 3, stride=2, padding=1)
    yt = torch.nn.functional.max_pool2d(t, 3, stride=2, padding=1)
    g = r.standard_normal(tuple(yt.shape))
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), equal_nan=True)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy())
    if ember.kernels.enabled():
        assert not ye.detach().numpy().flags.c_contiguous  # the kernel keeps channels-last


@pytest.mark.parametrize("kw", MAX2D + [dict(kernel_size=(1, 3), stride=(2, 1), padding=(0, 1)),
                                        dict(kernel_size=5, stride=3, padding=2, ceil_mode=True)])
@pytest.mark.parametrize("layout", ["C", "channels_last"])
def test_max_pool2d_without_grad_equals_the_recorded_pool(torch, kw, layout):
    # no gradient to come: the kernel pools rows, then columns, with no padded copy; the values
    # must be the recorded path's (and PyTorch's) to the bit, NaN and all -inf windows included
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 9, 10))
    x[0, 1, 2, 3] = np.nan
    x[1, 2, :3, :3] = -np.inf
    if layout == "channels_last":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    with ember.no_grad():
        fast = F.max_pool2d(ember.Tensor(x), **kw)
    recorded = F.max_pool2d(ember.Tensor(x, requires_grad=True), **kw)
    expect = torch.nn.functional.max_pool2d(torch.tensor(x), **kw).numpy()
    np.testing.assert_array_equal(fast.numpy(), recorded.detach().numpy())
    np.testing.assert_array_equal(fast.numpy(), expect)
    if ember.kernels.enabled():  # the kernel keeps the input's layout
        assert fast.numpy().flags.c_contiguous == (layout == "C")
    with ember.no_grad():
        fused = nn.utils.fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**kw)))(ember.Tensor(x))
    np.testing.assert_array_equal(fused.numpy(), np.maximum(expect, 0))
