"""Convolution and pooling: every kernel (ember.kernels.conv, ember.kernels.pool) against the
reference it accelerates (ember.ops.conv, ember.ops.pool) over its whole domain, and the
references against PyTorch to the second order (torch.autograd.grad twice), Unfold/Fold
against torch's unfold/fold, and ember.gradcheck.gradgradcheck on each op."""
import contextlib

import numpy as np
import pytest

import ember
from ember import kernels
from ember.autograd import grad
from ember.gradcheck import gradgradcheck
from ember.kernels import conv as conv_kernels
from ember.kernels import pool as pool_kernels
from ember.nn import functional as F
from ember.ops import _parallel
from ember.ops.conv import mode_pad


@contextlib.contextmanager
def kernels_on(flag):
    prev = kernels.enabled()
    kernels.set_enabled(flag)
    try:
        yield
    finally:
        kernels.set_enabled(prev)


@pytest.fixture(params=[1, 3], ids=["1 thread", "3 threads"])
def threads(request, monkeypatch):
    """Run every pass that can be split on this many threads, whatever its size."""
    before = _parallel.num_threads()
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 0)
    _parallel.set_num_threads(request.param)
    yield request.param
    _parallel.set_num_threads(before)


def _channels_last(a):
    """The same (N, C, H, W) values stored as (N, H, W, C), as a convolution's output is."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _run(fn, arrays, g, grads=None):
    """fn's output and the gradients of sum(output * g) for the arrays (wrapped as they are)."""
    ts = [ember.Tensor(a, requires_grad=grads is None or i in grads) for i, a in enumerate(arrays)]
    y = fn(*ts)
    y.backward(g)
    return y._data, [None if t.grad is None else t.grad._data for t in ts]


def _kernel_and_reference(fn, arrays, g, grads=None):
    with kernels_on(True):
        k = _run(fn, arrays, g, grads)
    with kernels_on(False):
        r = _run(fn, arrays, g, grads)
    return k, r


def _assert_same(k, r, exact=False, **tol):
    """Kernel and reference agree: values to ``tol`` (bit for bit with ``exact``), gradients to
    ``tol`` (overlapping windows add their shares in another order)."""
    (yk, gk), (yr, gr) = k, r
    check = lambda a, b: np.testing.assert_allclose(a, b, equal_nan=True, **tol)  # noqa: E731
    assert yk.shape == yr.shape and yk.dtype == yr.dtype
    (np.testing.assert_array_equal if exact else check)(yk, yr)
    for a, b in zip(gk, gr):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            check(a, b)


# ----- the convolution kernel against conv2d_reference -----

CONV_CASES = [
    # (x shape, weight shape, kwargs): every path of Conv2dFunction
    ((2, 3, 7, 8), (4, 3, 3, 3), {}),
    ((2, 3, 7, 8), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 3, 9, 8), (5, 3, 3, 2), dict(stride=(2, 1), padding=(1, 2))),
    ((2, 3, 9, 10), (4, 3, 3, 3), dict(dilation=2, padding=2)),
    ((2, 3, 9, 10), (4, 3, 2, 3), dict(dilation=(1, 2), stride=(1, 3))),
    ((2, 8, 6, 6), (16, 8, 3, 3), dict(padding=1)),  # long window rows: columns copied row-wise
    ((2, 1, 7, 8), (16, 1, 3, 3), dict(stride=2, padding=1)),  # few channels: transposed columns
    ((2, 4, 8, 8), (6, 2, 3, 3), dict(groups=2, padding=1)),  # grouped, stride 1: the wide input gradient
    ((2, 4, 8, 8), (8, 1, 3, 3), dict(groups=4, padding="same")),  # depthwise
    ((2, 4, 9, 8), (4, 2, 3, 2), dict(groups=2, stride=2, dilation=(2, 1))),  # grouped, strided: col2im
    ((2, 3, 8, 7), (4, 3, 4, 2), dict(padding="same")),  # even kernel: uneven padding
    ((3, 2, 6, 6), (3, 2, 1, 1), dict(stride=2)),
    ((1, 1, 5, 5), (2, 1, 5, 5), {}),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("layout", ["C order", "channels-last"])
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_conv2d_kernel_matches_reference(threads, xs, ws, kw, layout):
    r = np.random.default_rng(0)
    x, w, b = (r.standard_normal(s) for s in (xs, ws, (ws[0],)))
    with kernels_on(False):
        out = F.conv2d(x, w, **kw).shape
    g = r.standard_normal(out)
    if layout == "channels-last":
        x, g = _channels_last(x), _channels_last(g)
    for bias in (b, None):
        k, ref = _kernel_and_reference(lambda x, w, b=None: F.conv2d(x, w, b, **kw),
                                       [x, w] + ([bias] if bias is not None else []), g)
        _assert_same(k, ref, rtol=1e-12, atol=1e-12)
    # a first layer: no input gradient
    k, ref = _kernel_and_reference(lambda x, w: F.conv2d(x, w, **kw), [x, w], g, grads={1})
    _assert_same(k, ref, rtol=1e-12, atol=1e-12)
    # float32
    x32, w32, b32, g32 = (a.astype(np.float32) for a in (x, w, b, g))
    k, ref = _kernel_and_reference(lambda x, w, b: F.conv2d(x, w, b, **kw), [x32, w32, b32], g32)
    _assert_same(k, ref, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, groups=2, padding=1)])
def test_conv2d_kernel_matches_reference_with_nan_and_inf(kw):
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 4, 6, 7))
    x[0, 1, 2, 3], x[1, 0, 0, 0], x[1, 3, 5, 6] = np.nan, np.inf, -np.inf
    w, b = r.standard_normal((4, 4 // kw.get("groups", 1), 3, 3)), r.standard_normal(4)
    with kernels_on(False):
        g = r.standard_normal(F.conv2d(x, w, **kw).shape)
    k, ref = _kernel_and_reference(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b], g)
    assert np.isnan(k[0]).any() and np.isinf(k[0]).any()
    _assert_same(k, ref, rtol=1e-12, atol=1e-12)


def test_conv1d_kernel_matches_reference(threads):
    r = np.random.default_rng(2)
    for xs, ws, kw in [((2, 3, 10), (4, 3, 3), dict(stride=2, padding=1)),
                       ((2, 4, 11), (6, 2, 4), dict(groups=2, padding="same", dilation=2))]:
        x, w, b = (r.standard_normal(s) for s in (xs, ws, (ws[0],)))
        with kernels_on(False):
            g = r.standard_normal(F.conv1d(x, w, **kw).shape)
        k, ref = _kernel_and_reference(lambda x, w, b: F.conv1d(x, w, b, **kw), [x, w, b], g)
        _assert_same(k, ref, rtol=1e-12, atol=1e-12)


def test_the_switch_picks_kernel_or_reference():
    x, w = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    t = ember.tensor(x, requires_grad=True)
    with kernels_on(True):
        assert isinstance(F.conv2d(t, w)._fn, conv_kernels.Conv2dFunction)
        assert isinstance(F.max_pool2d(t, 2)._fn, pool_kernels.MaxPool2dFunction)
        assert isinstance(F.avg_pool2d(t, 3, 1, 1)._fn, pool_kernels.AvgPool2dFunction)
    with kernels_on(False):
        for y in (F.conv2d(t, w), F.max_pool2d(t, 2), F.avg_pool2d(t, 3, 1, 1)):
            assert not isinstance(y._fn, (conv_kernels.Conv2dFunction, pool_kernels.MaxPool2dFunction,
                                          pool_kernels.AvgPool2dFunction))


# ----- the pooling kernels against their references -----

MAX_CASES = [
    dict(kernel_size=2),  # the two-pass 2x2 kernel
    dict(kernel_size=2, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=1),
]


def _pool_inputs(shape, seed):
    """Data that exercises each of PyTorch's routing rules."""
    r = np.random.default_rng(seed)
    normal = r.standard_normal(shape)
    ties = r.integers(-2, 3, size=shape).astype(np.float64)  # ties, and windows of zeros after ReLU
    nan = ties.copy()
    nan[r.random(shape) < 0.2] = np.nan  # windows with one NaN, several, or only NaN
    inf = ties.copy()
    inf[r.random(shape) < 0.3] = -np.inf  # windows of only -inf, at the border too
    inf[r.random(shape) < 0.1] = np.inf
    inf[0, 0, :3, :3] = -np.inf
    return {"normal": normal, "ties": ties, "nan": nan, "inf": inf}


@pytest.mark.parametrize("layout", ["C order", "channels-last"])
@pytest.mark.parametrize("relu", [False, True], ids=["pool", "relu+pool"])
@pytest.mark.parametrize("kw", MAX_CASES)
def test_max_pool2d_kernel_matches_reference(threads, kw, relu, layout):
    fn = (lambda x: pool_kernels.relu_max_pool2d(x, **kw)) if relu else (lambda x: F.max_pool2d(x, **kw))
    for shape in [(2, 3, 8, 8), (2, 3, 7, 9)]:
        for name, x in _pool_inputs(shape, 3).items():
            with kernels_on(False):
                g = np.random.default_rng(4).standard_normal(fn(x).shape)
            if layout == "channels-last":
                x = _channels_last(x)
            for gl in (g, _channels_last(g)):  # the gradient from a Flatten (C order) or a conv
                for dtype in (np.float64, np.float32):
                    k, ref = _kernel_and_reference(fn, [x.astype(dtype)], gl.astype(dtype))
                    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
                    _assert_same(k, ref, exact=True, **tol)


def test_max_pool1d_kernel_matches_reference():
    for name, x in _pool_inputs((2, 3, 4, 11), 5).items():
        x = x[:, :, 0]
        for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                   dict(kernel_size=2, stride=1, dilation=2)):
            with kernels_on(False):
                g = np.random.default_rng(6).standard_normal(F.max_pool1d(x, **kw).shape)
            k, ref = _kernel_and_reference(lambda t: F.max_pool1d(t, **kw), [x], g)
            _assert_same(k, ref, exact=True, rtol=1e-12, atol=1e-13)


AVG_CASES = [
    dict(kernel_size=2),  # the two-pass 2x2 kernel
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=1, padding=(1, 0)),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, divisor_override=4),
]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf
@pytest.mark.parametrize("layout", ["C order", "channels-last"])
@pytest.mark.parametrize("kw", AVG_CASES)
def test_avg_pool2d_kernel_matches_reference(threads, kw, layout):
    for shape in [(2, 3, 8, 8), (2, 3, 7, 9)]:
        x = _pool_inputs(shape, 7)["normal"]
        with kernels_on(False):
            g = np.random.default_rng(8).standard_normal(F.avg_pool2d(x, **kw).shape)
        if layout == "channels-last":
            x, g = _channels_last(x), _channels_last(g)
        k, ref = _kernel_and_reference(lambda t: F.avg_pool2d(t, **kw), [x], g)
        _assert_same(k, ref, rtol=1e-12, atol=1e-12)
        k, ref = _kernel_and_reference(lambda t: F.avg_pool2d(t, **kw), [x.astype(np.float32)], g.astype(np.float32))
        _assert_same(k, ref, rtol=1e-5, atol=1e-6)
        x = _pool_inputs(shape, 7)["inf"]  # inf - inf in a window: NaN in both
        k, ref = _kernel_and_reference(lambda t: F.avg_pool2d(t, **kw), [x], g)
        _assert_same(k, ref, rtol=1e-12, atol=1e-12)


def test_relu_max_pool2d_is_max_pool_of_relu(torch):
    x = _pool_inputs((2, 3, 7, 8), 9)["nan"]
    for kw in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)):
        g = np.random.default_rng(10).standard_normal(F.max_pool2d(x, **kw).shape)
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.nn.functional.max_pool2d(torch.relu(tx), **kw)
        ty.backward(torch.tensor(g))
        for on in (True, False):
            with kernels_on(on):
                y, (gx,) = _run(lambda t: pool_kernels.relu_max_pool2d(t, **kw), [x], g)
            np.testing.assert_array_equal(y, ty.detach().numpy())
            np.testing.assert_array_equal(gx, tx.grad.numpy())
    t = ember.tensor(x, requires_grad=True)
    with kernels_on(True):
        assert isinstance(pool_kernels.relu_max_pool2d(t, 2)._fn, pool_kernels.MaxPool2dFunction)  # one op
    assert pool_kernels.relu_max_pool2d(x[0], 2).shape == (3, 3, 4)  # unbatched


# ----- the references against PyTorch, to the second order -----


def _second_order(fn, arrays, g, v, torch=None):
    """Values, first-order gradients of sum(y * g), and the gradients of sum(grads * v) with
    respect to the inputs and to g (the double backward), on ember, or on ``torch`` if given."""
    if torch is not None:
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        tg = torch.tensor(g, requires_grad=True)
        y = fn(*ts)
        gs = torch.autograd.grad(y, ts, tg, create_graph=True)
        s = sum((gi * torch.tensor(vi)).sum() for gi, vi in zip(gs, v))
        hs = torch.autograd.grad(s, ts + [tg], allow_unused=True)
        return ([y.detach().numpy()] + [gi.detach().numpy() for gi in gs]
                + [np.zeros_like(a) if h is None else h.numpy() for h, a in zip(hs, arrays + [g])])
    ts = [ember.tensor(a, requires_grad=True) for a in arrays]
    tg = ember.tensor(g, requires_grad=True)
    y = fn(*ts)
    gs = grad([y], ts, [tg], create_graph=True)
    s = sum((gi * ember.tensor(vi)).sum() for gi, vi in zip(gs, v))
    hs = grad([s], ts + [tg], allow_unused=True)
    return ([y._data] + [gi._data for gi in gs]
            + [np.zeros_like(a) if h is None else h._data for h, a in zip(hs, arrays + [g])])


def _check_second_order(torch, efn, tfn, arrays, seed=0):
    r = np.random.default_rng(seed)
    with kernels_on(False):
        shape = efn(*[ember.tensor(a) for a in arrays]).shape
    g = r.standard_normal(shape)
    v = [r.standard_normal(a.shape) for a in arrays]
    want = _second_order(tfn, arrays, g, v, torch=torch)
    for on in (True, False):  # kernels on: their backward, then their reference's double backward
        with kernels_on(on):
            got = _second_order(efn, arrays, g, v)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


SECOND_CONV2D = [
    ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1)),
    ((2, 3, 6, 6), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ((1, 4, 6, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 4, 7, 7), (4, 1, 2, 2), dict(groups=4, stride=2, dilation=2)),
    ((2, 2, 5, 5), (3, 2, 2, 3), dict(padding="same")),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xs,ws,kw", SECOND_CONV2D)
def test_conv2d_second_order_matches_torch(torch, xs, ws, kw, bias):
    r = np.random.default_rng(11)
    arrays = [r.standard_normal(xs), r.standard_normal(ws)] + ([r.standard_normal(ws[0])] if bias else [])
    tf = torch.nn.functional
    _check_second_order(torch, lambda *a: F.conv2d(*a, **kw), lambda *a: tf.conv2d(*a, **kw), arrays)


def test_conv1d_second_order_matches_torch(torch):
    r = np.random.default_rng(12)
    tf = torch.nn.functional
    for xs, ws, kw in [((2, 3, 9), (4, 3, 3), dict(stride=2, padding=1)),
                       ((1, 4, 9), (4, 2, 2), dict(groups=2, dilation=2))]:
        arrays = [r.standard_normal(xs), r.standard_normal(ws), r.standard_normal(ws[0])]
        _check_second_order(torch, lambda *a: F.conv1d(*a, **kw), lambda *a: tf.conv1d(*a, **kw), arrays)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_second_order_match_torch(torch, mode):
    r = np.random.default_rng(13)
    arrays = [r.standard_normal((1, 2, 5, 6)), r.standard_normal((3, 2, 3, 3))]
    tf = torch.nn.functional

    def efn(x, w):
        return F.conv2d(mode_pad(x, ((1, 1), (2, 1)), mode, "test"), w)

    def tfn(x, w):
        return tf.conv2d(tf.pad(x, (2, 1, 1, 1), mode=mode), w)

    _check_second_order(torch, efn, tfn, arrays)


POOL_SECOND = [
    ("max_pool2d", dict(kernel_size=2)),
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=1, dilation=(2, 1))),
    ("avg_pool2d", dict(kernel_size=2)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, divisor_override=5)),
    ("adaptive_avg_pool2d", dict(output_size=(2, 3))),
    ("adaptive_avg_pool2d", dict(output_size=(3, 2))),
    ("max_pool1d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool1d", dict(kernel_size=3, stride=2, padding=1)),
    ("adaptive_avg_pool1d", dict(output_size=3)),
]


@pytest.mark.parametrize("name,kw", POOL_SECOND)
def test_pooling_second_order_matches_torch(torch, name, kw):
    shape = (2, 3, 7) if name.endswith("1d") else (2, 3, 5, 7)
    x = np.random.default_rng(14).permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3
    _check_second_order(torch, lambda t: getattr(F, name)(t, **kw),
                        lambda t: getattr(torch.nn.functional, name)(t, **kw), [x])


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_pool2d_nan_second_order_matches_torch(torch, kw):
    x = _pool_inputs((1, 2, 6, 7), 15)["nan"]
    _check_second_order(torch, lambda t: F.max_pool2d(t, **kw), lambda t: torch.nn.functional.max_pool2d(t, **kw), [x])


# ----- Unfold and Fold -----

UNFOLD = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=1),
    dict(kernel_size=3, dilation=2, padding=(2, 1), stride=2),
]


@pytest.mark.parametrize("kw", UNFOLD)
def test_unfold_and_fold_match_torch(torch, kw):
    r = np.random.default_rng(16)
    x = r.standard_normal((2, 3, 7, 8))
    tf = torch.nn.functional
    _check_second_order(torch, lambda t: F.unfold(t, **kw), lambda t: tf.unfold(t, **kw), [x])
    cols = r.standard_normal(tf.unfold(torch.tensor(x), **kw).shape)
    _check_second_order(torch, lambda t: F.fold(t, (7, 8), **kw), lambda t: tf.fold(t, (7, 8), **kw), [cols])
    # adjoint: <unfold(x), c> == <x, fold(c)>
    np.testing.assert_allclose(np.sum(F.unfold(x, **kw)._data * cols), np.sum(x * F.fold(cols, (7, 8), **kw)._data))
    np.testing.assert_allclose(F.unfold(x[0], **kw)._data, tf.unfold(torch.tensor(x[0]), **kw).numpy())
    np.testing.assert_allclose(F.fold(cols[0], (7, 8), **kw)._data,
                               tf.fold(torch.tensor(cols[0]), (7, 8), **kw).numpy())


def test_fold_checks_its_input():
    with pytest.raises(ValueError, match=r"fold: input of shape \(1, 5, 9\) does not match kernel_size=\(2, 2\)"):
        F.fold(np.zeros((1, 5, 9)), (4, 4), 2)
    with pytest.raises(ValueError, match="unfold: expected a 3-D or 4-D input"):
        F.unfold(np.zeros((4, 4)), 2)


# ----- gradgradcheck -----

GRADGRAD = [
    (F.conv1d, [(1, 2, 6), (2, 2, 3), (2,)], dict(stride=2, padding=1)),
    (F.conv2d, [(1, 2, 4, 4), (2, 2, 2, 2), (2,)], dict(padding=1)),
    (F.conv2d, [(1, 2, 5, 5), (2, 1, 2, 2), (2,)], dict(groups=2, dilation=2, stride=(2, 1), padding=(1, 0))),
    (F.max_pool2d, [(1, 2, 4, 5)], dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)),
    (F.max_pool2d, [(1, 2, 4, 4)], dict(kernel_size=2)),
    (F.avg_pool2d, [(1, 2, 4, 5)], dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (F.adaptive_avg_pool2d, [(1, 2, 4, 5)], dict(output_size=(3, 2))),
]


@pytest.mark.parametrize("on", [True, False], ids=["kernels", "references"])
@pytest.mark.parametrize("fn,shapes,kw", GRADGRAD)
def test_gradgradcheck(fn, shapes, kw, on):
    r = np.random.default_rng(17)
    # distinct values well apart, so that a finite step never changes a window's maximum
    inputs = [ember.tensor(r.permutation(int(np.prod(s))).reshape(s) * 0.1, requires_grad=True) for s in shapes]
    with kernels_on(on):
        assert gradgradcheck(lambda *a: fn(*a, **kw), inputs)


@pytest.mark.parametrize("call", [
    lambda F, t: F.max_pool2d(t((1, 1, 4, 4)), 3, padding=2),    # padding over half the window
    lambda F, t: F.max_pool2d(t((1, 4, 4, 4, 4)), 2),             # a 5-D input
    lambda F, t: F.max_pool2d(t((1, 1, 2, 2)), 3),                # input smaller than the window
    lambda F, t: F.avg_pool2d(t((1, 1, 4, 4)), 2, divisor_override=0),
    lambda F, t: F.adaptive_avg_pool2d(t((1, 1, 4, 4)), (0, -1)),
])
def test_pool_argument_errors_are_runtime_errors_as_torch(torch, call):
    import ember.nn.functional as EF

    with pytest.raises(RuntimeError):
        call(torch.nn.functional, lambda s: torch.ones(s))
    with pytest.raises(RuntimeError) as e:
        call(EF, lambda s: ember.ones(s))
    assert isinstance(e.value, ValueError)  # what ember raised before still catches it
