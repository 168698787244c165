"""3-D pooling, max pooling's indices, adaptive max, unpooling, Lp and fractional max pooling:
against PyTorch (values, indices, input gradients, float32 and float64), gradcheck and
gradgradcheck, the layers' reprs and PyTorch's errors."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn import functional as F


def _ties(shape, seed=0, nan=0.0):
    """Small integers (many ties), with a share ``nan`` of NaNs."""
    r = np.random.default_rng(seed)
    x = r.integers(-2, 3, size=shape).astype(np.float64)
    x[r.random(shape) < nan] = np.nan
    return x


def _run(torch, name, x, *args, dtype=np.float64, **kw):
    """F.<name>(x, *args, **kw) in ember and torch: values, indices (if any) and the input gradient."""
    x = np.asarray(x, dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, *args, **kw)
    ex = ember.tensor(x, requires_grad=True)
    ey = getattr(F, name)(ex, *args, **kw)
    if isinstance(ty, tuple):
        assert isinstance(ey, tuple) and len(ey) == 2
        assert ey[1].dtype == ember.int64
        np.testing.assert_array_equal(ey[1].numpy(), ty[1].numpy())
        (ey, _), (ty, _) = ey, ty
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    assert ey.shape == tuple(ty.shape) and ey.dtype == ember.tensor(x).dtype
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **tol)
    return ey


POOL3D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3, 1), stride=(1, 2, 1), padding=(1, 1, 0)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOL3D + [dict(kernel_size=(2, 2, 3), stride=1, dilation=(2, 1, 1))])
def test_max_pool3d_matches_torch_with_indices(torch, kw, dtype):
    x = _ties((2, 3, 5, 6, 7), nan=0.05)
    _run(torch, "max_pool3d", x, dtype=dtype, **kw)
    _run(torch, "max_pool3d", x, dtype=dtype, return_indices=True, **kw)
    _run(torch, "max_pool3d_with_indices", x[0], dtype=dtype, **kw)  # unbatched


def test_max_pool3d_window_of_only_minus_inf(torch):
    x = np.full((1, 2, 4, 5, 5), -np.inf)
    x[0, 1, 1:, 2:, 2:] = np.random.default_rng(2).standard_normal((3, 3, 3))
    _run(torch, "max_pool3d", x, 3, stride=2, padding=1, ceil_mode=True, return_indices=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", POOL3D + [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                              count_include_pad=False),
                                         dict(kernel_size=(1, 2, 3), divisor_override=4)])
def test_avg_pool3d_matches_torch(torch, kw, dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 6, 7))
    _run(torch, "avg_pool3d", x, dtype=dtype, **kw)
    _run(torch, "avg_pool3d", x[1], dtype=dtype, **kw)


@pytest.mark.parametrize("kernel_mode", [True, False], ids=["kernels", "reference"])
@pytest.mark.parametrize("name,shape,kw", [
    ("max_pool2d", (2, 3, 7, 9), dict(kernel_size=2)),
    ("max_pool2d", (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", (3, 8, 8), dict(kernel_size=(3, 2), stride=1, dilation=(2, 1))),
    ("max_pool1d", (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (3, 11), dict(kernel_size=2, ceil_mode=True)),
])
def test_max_pool_return_indices_match_torch(torch, name, shape, kw, kernel_mode):
    prev = ember.kernels.enabled()
    ember.kernels.set_enabled(kernel_mode)
    try:
        x = _ties(shape, 4, nan=0.05)
        _run(torch, name, x, return_indices=True, **kw)
        _run(torch, name + "_with_indices", x, dtype=np.float32, **kw)
        _run(torch, name, x, **kw)  # without indices: the fast path where it applies
    finally:
        ember.kernels.set_enabled(prev)


def test_max_pool_layers_return_indices(torch):
    x = _ties((2, 3, 6, 6, 6), 5)
    for nd, cls in ((1, "MaxPool1d"), (2, "MaxPool2d"), (3, "MaxPool3d")):
        xs = x[(..., ) + (0,) * (3 - nd)]
        e, t = getattr(nn, cls)(3, 2, 1, return_indices=True), getattr(torch.nn, cls)(3, 2, 1, return_indices=True)
        assert repr(e) == repr(t)
        (ey, ei), (ty, ti) = e(xs), t(torch.tensor(xs))
        np.testing.assert_array_equal(ey.numpy(), ty.numpy())
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())
        # relu=True (nn.Sequential's ReLU -> MaxPool fusion) keeps the indices of relu(x)
        ey, ei = e(ember.tensor(xs), relu=True)
        ty, ti = t(torch.relu(torch.tensor(xs)))
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())


@pytest.mark.parametrize("size", [1, 2, (3, None, 4), (4, 5, 6)])
def test_adaptive_pool3d_matches_torch(torch, size):
    x = _ties((2, 3, 5, 6, 7), 6, nan=0.03)
    _run(torch, "adaptive_max_pool3d", x, size, return_indices=True)
    _run(torch, "adaptive_max_pool3d_with_indices", x[0], size, dtype=np.float32)
    y = np.random.default_rng(7).standard_normal((2, 3, 5, 6, 7))
    _run(torch, "adaptive_avg_pool3d", y, size)
    _run(torch, "adaptive_avg_pool3d", y[0], size, dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adaptive_max_pool1d_2d_match_torch(torch, dtype):
    x = _ties((2, 3, 7, 9), 8, nan=0.05)
    for size in [(3, 4), (5, None), 2, 1, (7, 9)]:
        _run(torch, "adaptive_max_pool2d", x, size, return_indices=True, dtype=dtype)
        _run(torch, "adaptive_max_pool2d", x[0], size, dtype=dtype)
    for size in [1, 4, 9]:
        _run(torch, "adaptive_max_pool1d", x[:, :, 0], size, return_indices=True, dtype=dtype)
        _run(torch, "adaptive_max_pool1d_with_indices", x[0, :, 0], size, dtype=dtype)


@pytest.mark.parametrize("nd,kw", [
    (1, dict(kernel_size=2)), (1, dict(kernel_size=3, stride=2, padding=1)),
    (2, dict(kernel_size=2)), (2, dict(kernel_size=3, stride=2, padding=1)),
    (3, dict(kernel_size=2)), (3, dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), padding=(1, 1, 0))),
])
def test_max_unpool_inverts_torch_max_pool(torch, nd, kw):
    shape = (2, 3) + (5, 6, 7)[3 - nd:]
    x = np.random.default_rng(9).standard_normal(shape)
    ty, ti = getattr(torch.nn.functional, f"max_pool{nd}d")(torch.tensor(x), return_indices=True, **kw)
    for out in (shape, shape[2:]):
        got = _run(torch, f"max_unpool{nd}d", ty.numpy(), ti, output_size=out, **kw)
        assert got.shape == tuple(getattr(torch.nn.functional, f"max_unpool{nd}d")(ty, ti, output_size=out,
                                                                                    **kw).shape)
    # ember's own indices, unbatched, and the layer
    ey, ei = getattr(F, f"max_pool{nd}d")(ember.tensor(x[0]), return_indices=True, **kw)
    layer = getattr(nn, f"MaxUnpool{nd}d")(**kw)
    tlayer = getattr(torch.nn, f"MaxUnpool{nd}d")(**kw)
    assert repr(layer) == repr(tlayer)
    np.testing.assert_array_equal(layer(ey, ei, output_size=x.shape[2:]).numpy(),
                                  tlayer(ty[0], ti[0], output_size=x.shape[2:]).numpy())


def test_max_unpool_errors_match_torch(torch):
    x = np.random.default_rng(10).standard_normal((1, 2, 4, 4))
    ty, ti = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    ey, ei = F.max_pool2d(ember.tensor(x), 2, return_indices=True)
    cases = [
        lambda m, y, i: m.max_unpool2d(y, i.float(), 2),
        lambda m, y, i: m.max_unpool2d(y, i + 100, 2),
        lambda m, y, i: m.max_unpool2d(y, i[:, :, :1], 2),
        lambda m, y, i: m.max_unpool2d(y[0, 0], i[0, 0], 2),
        lambda m, y, i: m.max_unpool2d(y, i, 2, output_size=(9, 9)),
        lambda m, y, i: m.max_unpool2d(y, i, 2, output_size=(1, 9, 9)),
        lambda m, y, i: m.max_unpool1d(y[:, :, 0], i[:, :, 0] + 5, 2),
        lambda m, y, i: m.max_unpool3d(y[:, :, None], i[:, :, None] + 100, 2),
    ]
    for fn in cases:
        with pytest.raises(Exception) as te:
            fn(torch.nn.functional, ty, ti)
        with pytest.raises(type(te.value)) as ee:
            fn(F, ey, ei)
        assert str(ee.value) == str(te.value)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NaN where a window's sum of x^p is negative, as PyTorch's
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lp_pool_matches_torch(torch, dtype):
    r = np.random.default_rng(11)
    x = r.standard_normal((2, 3, 5, 6, 7))
    pos = np.abs(x) + 0.1
    _run(torch, "lp_pool1d", pos[:, :, 0, 0], 2, 3, dtype=dtype)
    _run(torch, "lp_pool1d", x[0, :, 0, 0], 3, 2, stride=1, ceil_mode=True, dtype=dtype)
    _run(torch, "lp_pool2d", pos[:, :, 0], 1.5, (2, 3), stride=2, ceil_mode=True, dtype=dtype)
    _run(torch, "lp_pool2d", x[:, :, 0], 2, 2, dtype=dtype)
    _run(torch, "lp_pool2d", x[:, :, 0], float("inf"), 3, stride=2, dtype=dtype)
    _run(torch, "lp_pool3d", pos, 2.5, 2, dtype=dtype)
    _run(torch, "lp_pool3d", x[0], 2, (2, 3, 2), stride=(1, 2, 2), dtype=dtype)
    for nd in (1, 2, 3):
        e, t = getattr(nn, f"LPPool{nd}d")(2, 3, stride=2), getattr(torch.nn, f"LPPool{nd}d")(2, 3, stride=2)
        assert repr(e) == repr(t)
        xs = pos[(...,) + (0,) * (3 - nd)].astype(dtype)
        np.testing.assert_allclose(e(xs).numpy(), t(torch.tensor(xs)).numpy(), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_lp_pool_zero_window_gradient_matches_torch(torch):
    x = np.random.default_rng(12).standard_normal((1, 2, 4, 4))
    x[0, 0, :2, :2] = 0  # a window whose sum of x^p is 0
    _run(torch, "lp_pool2d", x, 2, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,out", [(2, (4, 5)), (3, (5, 6)), ((2, 3), (8, 1)), (2, 1)])
def test_fractional_max_pool2d_matches_torch_exactly(torch, kernel, out, dtype):
    r = np.random.default_rng(13)
    x = _ties((2, 3, 9, 11), 14, nan=0.03).astype(dtype) + r.standard_normal((2, 3, 9, 11)).astype(dtype) * 0.1
    u = r.random((2, 3, 2)).astype(dtype)
    for s in (u, np.zeros_like(u), np.full_like(u, 0.999)):
        tx = torch.tensor(x, requires_grad=True)
        ty, ti = torch.nn.functional.fractional_max_pool2d(tx, kernel, output_size=out, _random_samples=torch.tensor(s),
                                                           return_indices=True)
        ex = ember.tensor(x, requires_grad=True)
        ey, ei = F.fractional_max_pool2d(ex, kernel, output_size=out, _random_samples=ember.tensor(s),
                                         return_indices=True)
        np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())
        g = r.standard_normal(ty.shape).astype(dtype)
        ty.backward(torch.tensor(g))
        ey.backward(ember.tensor(g))
        np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    # unbatched, output_ratio, the layer with its buffer, the _with_indices form
    ts = torch.tensor(u[:1])
    ty = torch.nn.FractionalMaxPool2d(kernel, output_ratio=0.5, _random_samples=ts)(torch.tensor(x[0]))
    layer = nn.FractionalMaxPool2d(kernel, output_ratio=0.5, _random_samples=ember.tensor(u[:1]))
    assert repr(layer) == "FractionalMaxPool2d()" and "_random_samples" in dict(layer.named_buffers())
    np.testing.assert_array_equal(layer(x[0]).numpy(), ty.numpy())
    ey, ei = F.fractional_max_pool2d_with_indices(x, kernel, output_ratio=(0.5, 0.6), _random_samples=u)
    ty, ti = torch.nn.functional.fractional_max_pool2d_with_indices(torch.tensor(x), kernel, output_ratio=(0.5, 0.6),
                                                                    _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())


def test_fractional_max_pool2d_random_samples_drawn():
    # extra rows of _random_samples are not read, as in PyTorch
    x = np.random.default_rng(15).standard_normal((2, 3, 10, 10))
    u = np.random.default_rng(16).random((3, 3, 2))
    np.testing.assert_array_equal(F.fractional_max_pool2d(x, 2, output_size=5, _random_samples=u).numpy(),
                                  F.fractional_max_pool2d(x, 2, output_size=5, _random_samples=u[:2]).numpy())
    x = np.random.default_rng(15).standard_normal((2, 3, 10, 10))
    ember.manual_seed(3)
    y, i = F.fractional_max_pool2d(x, 3, output_size=4, return_indices=True)
    assert y.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(y.numpy(), np.take_along_axis(x.reshape(2, 3, -1), i.numpy().reshape(2, 3, -1),
                                                                2).reshape(2, 3, 4, 4))
    ember.manual_seed(3)
    np.testing.assert_array_equal(F.fractional_max_pool2d(x, 3, output_size=4).numpy(), y.numpy())


def test_fractional_max_pool2d_errors_match_torch(torch):
    x = np.random.default_rng(16).standard_normal((1, 2, 4, 4)).astype(np.float32)
    u = np.random.default_rng(17).random((1, 2, 2)).astype(np.float32)
    cases = [dict(kernel_size=2), dict(kernel_size=2, output_size=4), dict(kernel_size=(1, 3), output_size=(2, 3)),
             dict(kernel_size=2, output_size=3, samples=u[:, :1]), dict(kernel_size=2, output_size=3,
                                                                         samples=u.astype(np.float64)),
             dict(kernel_size=2, output_size=3, samples=u[..., :1]), dict(kernel_size=2, output_size=3, samples=u[0])]
    for kw in cases:
        kw = dict(kw)
        s = kw.pop("samples", u)
        with pytest.raises(Exception) as te:
            torch.nn.functional.fractional_max_pool2d(torch.tensor(x), _random_samples=torch.tensor(s), **kw)
        with pytest.raises(type(te.value)) as ee:
            F.fractional_max_pool2d(x, _random_samples=s, **kw)
        assert str(ee.value) == str(te.value)
    for kw in (dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5)):
        with pytest.raises(ValueError) as te:
            torch.nn.FractionalMaxPool2d(2, **kw)
        with pytest.raises(ValueError) as ee:
            nn.FractionalMaxPool2d(2, **kw)
        assert str(ee.value) == str(te.value)


def test_adaptive_max_pool_errors_match_torch(torch):
    for name, shape in (("adaptive_max_pool1d", (4,)), ("adaptive_max_pool2d", (4,)), ("adaptive_max_pool3d", (2, 4, 4))):
        with pytest.raises(RuntimeError) as te:
            getattr(torch.nn.functional, name)(torch.zeros(shape), 2)
        with pytest.raises(RuntimeError) as ee:
            getattr(F, name)(np.zeros(shape), 2)
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match=r"max_pool3d: expected input of shape \(N, C, D, H, W\) or \(C, D, H, W\)"):
        F.max_pool3d(np.zeros((2, 4, 4)), 2)
    with pytest.raises(ValueError, match="AvgPool3d: padding should be at most half"):
        nn.AvgPool3d(2, padding=2)


def test_reprs_match_torch(torch):
    for name, args, kw in [("MaxPool3d", (2,), {}), ("MaxPool3d", (3, 2, 1), dict(ceil_mode=True)),
                           ("AvgPool3d", (3, 2, 1), dict(count_include_pad=False)), ("AdaptiveAvgPool3d", ((2, None, 3),), {}),
                           ("AdaptiveMaxPool1d", (3,), dict(return_indices=True)), ("AdaptiveMaxPool2d", ((2, None),), {}),
                           ("AdaptiveMaxPool3d", (2,), {}), ("MaxUnpool1d", (2,), {}), ("MaxUnpool2d", (3, 2, 1), {}),
                           ("MaxUnpool3d", (2, 1), {}), ("LPPool1d", (1.5, 3, 2), {}), ("LPPool3d", (2, 2), {})]:
        assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))
    x = np.random.default_rng(18).standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    for name, args in [("AdaptiveMaxPool3d", ((2, 3, 4),)), ("AdaptiveAvgPool3d", (3,)), ("AvgPool3d", (2,)),
                       ("MaxPool3d", (2, 1))]:
        np.testing.assert_allclose(getattr(nn, name)(*args)(x).numpy(), getattr(torch.nn, name)(*args)(torch.tensor(x)).numpy(),
                                   rtol=1e-6, atol=1e-6)
    (ey, ei), (ty, ti) = nn.AdaptiveMaxPool2d(2, True)(x[:, :, 0]), torch.nn.AdaptiveMaxPool2d(2, True)(torch.tensor(x[:, :, 0]))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())


def _distinct(shape, seed=19):
    """Values well apart, so that a finite step never changes which element is a maximum."""
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.5


_idx = F.max_pool2d(ember.tensor(_distinct((1, 2, 4, 4))), 2, return_indices=True)[1]
GRAD = [
    ("max_pool3d", (1, 2, 3, 4, 4), lambda x: F.max_pool3d(x, 2, stride=1, padding=1)),
    ("max_pool2d indices", (1, 2, 5, 5), lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[0]),
    ("avg_pool3d", (1, 2, 3, 4, 4), lambda x: F.avg_pool3d(x, 2, stride=2, padding=1, ceil_mode=True,
                                                            count_include_pad=False)),
    ("adaptive_avg_pool3d", (1, 2, 3, 4, 5), lambda x: F.adaptive_avg_pool3d(x, (2, 3, 3))),
    ("adaptive_max_pool2d", (1, 2, 5, 4), lambda x: F.adaptive_max_pool2d(x, (3, 3))),
    ("adaptive_max_pool3d", (1, 1, 3, 4, 5), lambda x: F.adaptive_max_pool3d(x, 2)),
    ("max_unpool2d", (1, 2, 2, 2), lambda x: F.max_unpool2d(x, _idx, 2)),
    ("lp_pool2d", (1, 2, 4, 4), lambda x: F.lp_pool2d(x, 2.5, 2, stride=1)),
    ("lp_pool3d", (1, 1, 2, 3, 3), lambda x: F.lp_pool3d(x, 2, 2, stride=1)),
    ("fractional_max_pool2d", (1, 2, 6, 6), lambda x: F.fractional_max_pool2d(
        x, 2, output_size=3, _random_samples=np.array([[[0.3, 0.7], [0.9, 0.1]]]))),
]


@pytest.mark.parametrize("name,shape,fn", GRAD, ids=[g[0] for g in GRAD])
def test_gradcheck_and_gradgradcheck(name, shape, fn):
    x = ember.tensor(_distinct(shape), requires_grad=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])
