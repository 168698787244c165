"""F.interpolate (every mode, size and scale_factor, align_corners, recompute_scale_factor),
the upsampling layers, pixel and channel shuffles, grid_sample and affine_grid against
PyTorch: values and gradients (to second order where PyTorch has them), finite differences,
errors, reprs."""
import re
import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradgradcheck
from ember.nn import functional as F

from higher_order_helpers import against_torch

SIZES = {  # the ways to give the output size, per number of spatial axes
    1: [dict(size=11), dict(size=3), dict(scale_factor=2), dict(scale_factor=1.7), dict(scale_factor=0.6),
        dict(scale_factor=1.7, recompute_scale_factor=True)],
    2: [dict(size=(11, 4)), dict(size=(2, 13)), dict(scale_factor=2), dict(scale_factor=(0.5, 2.3)),
        dict(scale_factor=1.7, recompute_scale_factor=True), dict(size=1), dict(scale_factor=3.3)],
    3: [dict(size=(2, 8, 3)), dict(scale_factor=(0.6, 2.0, 1.5))],
}
SHAPES = {1: (2, 3, 7), 2: (2, 2, 5, 7), 3: (1, 2, 3, 4, 5)}
MODES = [("nearest", 1), ("nearest", 2), ("nearest", 3), ("nearest-exact", 1), ("nearest-exact", 2),
         ("nearest-exact", 3), ("linear", 1), ("bilinear", 2), ("trilinear", 3), ("bicubic", 2), ("area", 1),
         ("area", 2), ("area", 3)]
INTERP = []
for _mode, _nd in MODES:
    for _ac in ([None] if _mode in ("nearest", "nearest-exact", "area") else [False, True]):
        for _sz in SIZES[_nd]:
            _kw = dict(mode=_mode, **_sz)
            if _ac is not None:
                _kw["align_corners"] = _ac
            INTERP.append((_nd, _kw))


def _kw_id(c):
    nd, kw = c
    return f"{nd}d-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("nd,kw", INTERP, ids=[_kw_id(c) for c in INTERP])
def test_interpolate_matches_torch_to_second_order(torch, rng, nd, kw):
    x = rng.standard_normal(SHAPES[nd])
    against_torch(torch, lambda a: F.interpolate(a, **kw), lambda a: torch.nn.functional.interpolate(a, **kw),
                  [x], [True], rng)


F32 = [c for c in INTERP if c[0] == 2][::3]


@pytest.mark.parametrize("nd,kw", F32, ids=[_kw_id(c) for c in F32])
def test_interpolate_float32_matches_torch(torch, rng, nd, kw):
    x = rng.standard_normal((2, 3, 6, 9)).astype(np.float32)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.interpolate(e, **kw), torch.nn.functional.interpolate(t, **kw)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert y.dtype == np.float32 and e.grad.dtype == np.float32 and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_interpolate_nearest_index_rule_in_float32_as_torch(torch):
    # scales whose float32 products land just below or on an integer: nearest's index is
    # floorf(i * float(scale)), nearest-exact's floorf((i + 0.5) * float(scale))
    x = np.arange(40.0).reshape(1, 1, 40)
    for n in (13, 21, 29, 39, 41, 57, 77, 119):
        for mode in ("nearest", "nearest-exact"):
            for kw in (dict(size=n), dict(scale_factor=n / 40)):
                y = F.interpolate(ember.tensor(x), mode=mode, **kw).numpy()
                ty = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
                np.testing.assert_array_equal(y, ty, err_msg=f"{mode} {kw}")


@pytest.mark.parametrize("kw", [dict(scale_factor=2, mode="nearest"), dict(size=(3, 5), mode="bilinear"),
                                dict(scale_factor=1.5, mode="bicubic", align_corners=True),
                                dict(size=(2, 3), mode="area"), dict(size=(5, 3), mode="nearest-exact")])
def test_interpolate_gradcheck_and_gradgradcheck(rng, kw):
    x = ember.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    fn = lambda a: F.interpolate(a, **kw)  # noqa: E731
    assert ember.gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_trilinear_gradgradcheck(rng):
    x = ember.tensor(rng.standard_normal((1, 1, 2, 3, 2)), requires_grad=True)
    fn = lambda a: F.interpolate(a, scale_factor=(1.5, 0.7, 2), mode="trilinear")  # noqa: E731
    assert ember.gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def assert_same_error(torch, fe, ft):
    with pytest.raises(Exception) as te:
        ft()
    expected = str(te.value).replace("torch.", "ember.")
    with pytest.raises(type(te.value), match=re.escape(expected)) as ee:
        fe()
    assert type(ee.value) is type(te.value)


INTERP_ERRORS = [
    ((1, 2, 3, 4), dict(scale_factor=0.2)),
    ((1, 2, 3, 4), dict(size=(0, 2))),
    ((1, 2, 3, 4), dict(size=(2, 2), mode="foo")),
    ((1, 2, 3, 4), dict(size=(2, 2), mode="nearest", antialias=True)),
    ((1, 2, 3, 4), dict(size=(2, 2, 2))),
    ((1, 2, 3, 4), dict(size=(2, 2.0))),
    ((1, 2, 3, 4), dict(scale_factor=(2, 2, 2))),
    ((1, 2, 3, 4), dict(size=2, scale_factor=2)),
    ((1, 2, 3, 4), dict()),
    ((1, 2, 3, 4), dict(size=2, recompute_scale_factor=True)),
    ((1, 2, 3, 4), dict(size=2, align_corners=True)),
    ((1, 2, 3, 4), dict(size=2, mode="area", align_corners=False)),
    ((1, 2, 3), dict(scale_factor=0.2, mode="linear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=0.2, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="bicubic")),
    ((1, 2, 3), dict(scale_factor=2, mode="bilinear")),
    ((1, 2, 3, 4), dict(scale_factor=2, mode="linear")),
    ((1, 2, 3, 4), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="linear")),
    ((1, 0, 3, 4), dict(scale_factor=2, mode="bilinear")),
    ((1, 2, 0, 4), dict(scale_factor=2, mode="bilinear")),
    ((2, 3), dict(size=2)),
]


@pytest.mark.parametrize("shape,kw", INTERP_ERRORS)
def test_interpolate_errors_match_torch(torch, shape, kw):
    x = np.zeros(shape)
    assert_same_error(torch, lambda: F.interpolate(ember.tensor(x), **kw),
                      lambda: torch.nn.functional.interpolate(torch.tensor(x), **kw))


def test_interpolate_nearest_on_uint8_and_other_integers(torch):
    x = np.arange(30, dtype=np.uint8).reshape(1, 2, 3, 5)
    for mode in ("nearest", "nearest-exact"):
        y = F.interpolate(ember.tensor(x), size=(4, 7), mode=mode)
        assert y.dtype == np.uint8
        np.testing.assert_array_equal(y.numpy(), torch.nn.functional.interpolate(torch.tensor(x), size=(4, 7),
                                                                                  mode=mode).numpy())
    with pytest.raises(NotImplementedError, match="floating input"):
        F.interpolate(ember.tensor(x.astype(np.int64)), size=4)
    with pytest.raises(NotImplementedError, match="floating input"):
        F.interpolate(ember.tensor(x), size=4, mode="bilinear")


def test_interpolate_antialias_is_not_implemented():
    with pytest.raises(NotImplementedError, match="antialias=True"):
        F.interpolate(ember.zeros(1, 1, 4, 4), size=2, mode="bilinear", antialias=True)


def test_interpolate_empty_batch_and_copy(torch):
    y = F.interpolate(ember.zeros(0, 2, 3, 4), scale_factor=2, mode="bilinear")
    assert y.shape == (0, 2, 6, 8)
    x = ember.ones(1, 1, 3)
    y = F.interpolate(x, size=3)  # the same size: a copy
    y.data[...] = 5
    assert x.numpy().max() == 1


def test_deprecated_upsample_functions(torch, rng):
    x = rng.standard_normal((1, 2, 3, 4))
    for name, args in [("upsample", (None, 2, "bilinear")), ("upsample_nearest", ((5, 7),)),
                       ("upsample_bilinear", (None, 1.5))]:
        with pytest.warns(UserWarning, match="deprecated"):
            y = getattr(F, name)(ember.tensor(x), *args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ty = getattr(torch.nn.functional, name)(torch.tensor(x), *args)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)


UPSAMPLE = [
    ("Upsample", dict(scale_factor=2)),
    ("Upsample", dict(size=(5, 3), mode="bilinear", align_corners=True)),
    ("Upsample", dict(scale_factor=(2, 1.5), mode="bicubic")),
    ("Upsample", dict(scale_factor=1.5, mode="nearest-exact", recompute_scale_factor=True)),
    ("UpsamplingNearest2d", dict(scale_factor=3)),
    ("UpsamplingBilinear2d", dict(size=7)),
]


@pytest.mark.parametrize("name,kw", UPSAMPLE)
def test_upsampling_layers_match_torch(torch, rng, name, kw):
    m, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(m) == repr(tm)
    for a in ("name", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
        assert getattr(m, a) == getattr(tm, a), a
    assert dict(m.state_dict()) == {}
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(m(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)


# ----- pixel and channel shuffles -----

SHUFFLES = [("pixel_shuffle", (2, 8, 3, 4), 2), ("pixel_shuffle", (2, 3, 9, 2, 3), 3), ("pixel_shuffle", (4, 2, 2), 2),
            ("pixel_unshuffle", (2, 3, 4, 6), 2), ("pixel_unshuffle", (3, 6, 3), 3),
            ("channel_shuffle", (2, 6, 3, 2), 3), ("channel_shuffle", (2, 4, 3), 2),
            ("native_channel_shuffle", (2, 6, 2, 2, 1), 2)]


@pytest.mark.parametrize("name,shape,r", SHUFFLES)
def test_shuffles_match_torch(torch, rng, name, shape, r):
    x = rng.standard_normal(shape)
    tname = "channel_shuffle" if name == "native_channel_shuffle" else name  # torch's native one has no derivative
    np.testing.assert_array_equal(getattr(F, name)(ember.tensor(x), r).numpy(),
                                  getattr(torch.nn.functional, name)(torch.tensor(x), r).numpy())
    against_torch(torch, lambda a: getattr(F, name)(a, r), lambda a: getattr(torch.nn.functional, tname)(a, r),
                  [x], [True], rng)
    y = getattr(F, name)(ember.tensor(x.astype(np.float32)), r)
    assert y.dtype == np.float32


def test_shuffle_gradgradcheck(rng):
    x = ember.tensor(rng.standard_normal((1, 4, 2, 2)), requires_grad=True)
    for fn in (lambda a: F.pixel_shuffle(a, 2), lambda a: F.pixel_unshuffle(a, 2), lambda a: F.channel_shuffle(a, 2)):
        assert ember.gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


SHUFFLE_ERRORS = [("pixel_shuffle", (2, 3), 2), ("pixel_shuffle", (5, 3, 3), 2), ("pixel_shuffle", (4, 3, 3), 0),
                  ("pixel_unshuffle", (4, 3, 4), 2), ("pixel_unshuffle", (4, 4, 3), 2), ("pixel_unshuffle", (4, 4), 2),
                  ("pixel_unshuffle", (4, 4, 4), -1), ("channel_shuffle", (2, 5, 4), 2),
                  ("channel_shuffle", (2, 4, 4), 0), ("channel_shuffle", (2, 4), 2),
                  ("native_channel_shuffle", (4,), 2)]


@pytest.mark.parametrize("name,shape,r", SHUFFLE_ERRORS)
def test_shuffle_errors_match_torch(torch, name, shape, r):
    x = np.zeros(shape)
    assert_same_error(torch, lambda: getattr(F, name)(ember.tensor(x), r),
                      lambda: getattr(torch.nn.functional, name)(torch.tensor(x), r))


@pytest.mark.parametrize("name,arg,shape", [("PixelShuffle", 2, (2, 8, 3, 3)), ("PixelUnshuffle", 3, (1, 2, 6, 3)),
                                            ("ChannelShuffle", 2, (2, 4, 3, 3))])
def test_shuffle_layers_match_torch(torch, rng, name, arg, shape):
    m, tm = getattr(nn, name)(arg), getattr(torch.nn, name)(arg)
    assert repr(m) == repr(tm) and dict(m.state_dict()) == {}
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(m(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy())


# ----- grid_sample and affine_grid -----

GRID = [(m, p, a) for m in ("bilinear", "nearest", "bicubic") for p in ("zeros", "border", "reflection")
        for a in (False, True)]


def _grid(rng, shape, dtype=np.float64):
    g = rng.uniform(-1.6, 1.6, shape)
    g[0, 0, 0] = [1.0, -1.0]  # exactly on the corners and an edge: PyTorch's border conventions
    g[0, 0, 1] = [0.0, 0.5]
    return g.astype(dtype)


@pytest.mark.parametrize("mode,padding_mode,align_corners", GRID)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_sample_matches_torch(torch, rng, mode, padding_mode, align_corners, dtype):
    x = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    g = _grid(rng, (2, 3, 6, 2), dtype)
    e, eg = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    t, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    y, ty = F.grid_sample(e, eg, **kw), torch.nn.functional.grid_sample(t, tg, **kw)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(ember.tensor(gy))
    ty.backward(torch.tensor(gy))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)
    np.testing.assert_allclose(eg.grad.numpy(), tg.grad.numpy(), **tol)  # nearest: zeros


@pytest.mark.parametrize("mode,padding_mode,align_corners", [("bilinear", "zeros", False), ("bilinear", "border", True),
                                                             ("bilinear", "reflection", False),
                                                             ("bicubic", "zeros", True), ("nearest", "zeros", False)])
def test_grid_sample_gradcheck_and_gradgradcheck(rng, mode, padding_mode, align_corners):
    x = ember.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    g = ember.tensor(rng.uniform(-1.3, 1.3, (1, 2, 3, 2)), requires_grad=mode != "nearest")
    fn = lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=padding_mode,  # noqa: E731
                                    align_corners=align_corners)
    inputs = [x, g] if mode != "nearest" else [x]
    f = fn if mode != "nearest" else (lambda a: fn(a, g))
    assert ember.gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_grid_sample_unbatched_grid_default_align_corners_warns(torch, rng):
    x, g = rng.standard_normal((1, 1, 3, 3)), rng.uniform(-1, 1, (1, 2, 2, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        y = F.grid_sample(ember.tensor(x), ember.tensor(g))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)


GRID_ERRORS = [((1, 1, 3, 3), (1, 2, 2, 2), dict(mode="foo")), ((1, 1, 3, 3), (1, 2, 2, 2), dict(padding_mode="foo")),
               ((1, 1, 3, 3), (2, 2, 2, 2), {}), ((1, 1, 3, 3), (1, 2, 2, 3), {}), ((1, 3, 3), (1, 2, 2), {}),
               ((1, 1, 3, 3), (1, 2, 2), {}), ((1, 3, 3), (1, 2, 1), {}), ((1, 1, 0, 3), (1, 2, 2, 2), {}),
               ((1, 1, 1, 3, 3), (1, 2, 2, 2, 3), dict(mode="bicubic"))]


@pytest.mark.parametrize("xs,gs,kw", GRID_ERRORS)
def test_grid_sample_errors_match_torch(torch, xs, gs, kw):
    x, g = np.zeros(xs), np.zeros(gs)
    assert_same_error(torch, lambda: F.grid_sample(ember.tensor(x), ember.tensor(g), align_corners=False, **kw),
                      lambda: torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False,
                                                              **kw))


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 2, 4), (2, 3, 1, 5)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(torch, rng, size, align_corners):
    theta = rng.standard_normal((2, 2, 3) if len(size) == 4 else (2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a size of 1 with align_corners=True warns, in both
        against_torch(torch, lambda a: F.affine_grid(a, size, align_corners=align_corners),
                      lambda a: torch.nn.functional.affine_grid(a, size, align_corners=align_corners),
                      [theta], [True], rng)
        f32 = F.affine_grid(ember.tensor(theta.astype(np.float32)), size, align_corners=align_corners)
    assert f32.dtype == np.float32


def test_affine_grid_then_grid_sample_gradcheck(rng):
    x = ember.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    theta = ember.tensor(np.array([[[0.83, 0.21, 0.13], [-0.17, 0.71, 0.07]]]), requires_grad=True)
    fn = lambda a, th: F.grid_sample(a, F.affine_grid(th, (1, 1, 2, 3), align_corners=False),  # noqa: E731
                                     align_corners=False)
    assert ember.gradcheck(fn, [x, theta])
    assert gradgradcheck(fn, [x, theta])


AFFINE_ERRORS = [((1, 2, 3), (1, 1, 2, 2, 2)), ((1, 3, 4), (1, 1, 2, 2)), ((1, 2, 3), (1, 1, 2)),
                 ((1, 2, 3), (1, 1, 0, 2))]


@pytest.mark.parametrize("ts,size", AFFINE_ERRORS)
def test_affine_grid_errors_match_torch(torch, ts, size):
    th = np.zeros(ts)
    assert_same_error(torch, lambda: F.affine_grid(ember.tensor(th), size, align_corners=False),
                      lambda: torch.nn.functional.affine_grid(torch.tensor(th), size, align_corners=False))
    assert_same_error(torch, lambda: F.affine_grid(ember.tensor(th.astype(np.int64)), size, align_corners=False),
                      lambda: torch.nn.functional.affine_grid(torch.tensor(th.astype(np.int64)), size,
                                                              align_corners=False))


@pytest.mark.parametrize("mode,padding_mode,align_corners", [("bilinear", "zeros", False), ("bilinear", "border", True),
                                                             ("bilinear", "reflection", False),
                                                             ("nearest", "reflection", True)])
def test_grid_sample_5d_matches_torch(torch, rng, mode, padding_mode, align_corners):
    x = rng.standard_normal((2, 2, 3, 4, 5))
    g = rng.uniform(-1.6, 1.6, (2, 2, 3, 4, 3))
    g[0, 0, 0, 0] = [1.0, -1.0, 1.0]
    e, eg = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    t, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    y, ty = F.grid_sample(e, eg, **kw), torch.nn.functional.grid_sample(t, tg, **kw)
    gy = rng.standard_normal(tuple(ty.shape))
    y.backward(ember.tensor(gy))
    ty.backward(torch.tensor(gy))
    assert y.shape == tuple(ty.shape)
    for a, b in [(y.detach(), ty.detach()), (e.grad, t.grad), (eg.grad, tg.grad)]:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_grid_sample_5d_gradgradcheck(rng):
    x = ember.tensor(rng.standard_normal((1, 1, 2, 2, 3)), requires_grad=True)
    g = ember.tensor(rng.uniform(-1.2, 1.2, (1, 1, 2, 2, 3)), requires_grad=True)
    fn = lambda a, b: F.grid_sample(a, b, padding_mode="border", align_corners=False)  # noqa: E731
    assert ember.gradcheck(fn, [x, g])
    assert gradgradcheck(fn, [x, g])


LARGE = [dict(size=(150, 3), mode="bilinear", align_corners=True), dict(scale_factor=(0.3, 40), mode="bicubic"),
         dict(size=(140, 2), mode="area"), dict(size=(131, 200), mode="nearest-exact")]


@pytest.mark.parametrize("kw", LARGE)
def test_interpolate_long_axes_take_the_gather_path(torch, rng, kw):
    # axes over 128 positions gather and scatter (short ones run as matmuls): to second order
    x = rng.standard_normal((1, 1, 200, 5))
    against_torch(torch, lambda a: F.interpolate(a, **kw), lambda a: torch.nn.functional.interpolate(a, **kw),
                  [x], [True], rng)


def test_interpolate_inf_and_nan_reach_only_their_taps(torch):
    x = np.arange(20.0).reshape(1, 1, 4, 5)
    x[0, 0, 1, 2], x[0, 0, 3, 0] = np.inf, np.nan
    for kw in (dict(scale_factor=2, mode="bilinear"), dict(size=(7, 9), mode="bicubic", align_corners=True)):
        y = F.interpolate(ember.tensor(x), **kw).numpy()
        ty = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ty))
        np.testing.assert_array_equal(np.isinf(y), np.isinf(ty))
        ok = np.isfinite(ty)
        np.testing.assert_allclose(y[ok], ty[ok], rtol=1e-12, atol=1e-12)
