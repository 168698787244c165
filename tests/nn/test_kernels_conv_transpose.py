"""The transposed-convolution kernel (ember.kernels.conv_transpose, sub-pixel convolutions)
against the reference it accelerates (ember.ops.conv.conv_transpose_reference) over every
geometry it takes, on 1 and 3 threads, float64 and float32, with NaN and inf; the geometries it
leaves to the reference; and the kernel against PyTorch at the benchmark's shape."""
import contextlib
import itertools

import numpy as np
import pytest

import ember
from ember import kernels
from ember.kernels import conv_transpose as ct
from ember.nn import functional as F
from ember.ops import _parallel


@contextlib.contextmanager
def kernels_on(flag):
    prev = kernels.enabled()
    kernels.set_enabled(flag)
    try:
        yield
    finally:
        kernels.set_enabled(prev)


@pytest.fixture(autouse=True)
def kernel_takes_what_it_can(monkeypatch):
    """The kernel for every geometry it ``takes``, whether or not it ``pays`` at that size."""
    monkeypatch.setattr(ct, "pays", lambda xs, ws, stride, pads, op, dilation, groups: ct.takes(ws[2:], stride,
                                                                                                  dilation))


@pytest.fixture(params=[1, 3], ids=["1 thread", "3 threads"])
def threads(request, monkeypatch):
    before = _parallel.num_threads()
    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 0)
    _parallel.set_num_threads(request.param)
    yield request.param
    _parallel.set_num_threads(before)


def _run(fn, arrays, g):
    ts = [ember.Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(g)
    return [y._data] + [t.grad._data for t in ts], y._fn


def _both(fn, arrays, g):
    with kernels_on(True):
        k, kfn = _run(fn, arrays, g)
    with kernels_on(False):
        r, rfn = _run(fn, arrays, g)
    return k, r, kfn, rfn


# (x shape, weight shape (C_in, C_out / G, kh, kw), kwargs): kernels a whole number of strides
CASES = [
    ((3, 4, 5, 6), (4, 3, 4, 4), dict(stride=2, padding=1)),  # the upsampling layer (DCGAN)
    ((2, 4, 5, 6), (4, 3, 4, 4), dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 3, 5), (4, 2, 2, 2), dict(stride=2)),  # one tap per phase (U-Net)
    ((2, 3, 4, 4), (3, 2, 3, 3), dict(padding=1)),  # stride 1
    ((2, 3, 6, 6), (3, 2, 3, 3), dict(padding=3)),  # padding past the kernel: input cropped
    ((2, 4, 1, 1), (4, 5, 4, 4), dict(stride=1)),  # DCGAN's first layer: a 1x1 input
    ((2, 4, 3, 4), (4, 2, 6, 4), dict(stride=(3, 2), padding=(2, 1), output_padding=(2, 1))),
    ((2, 6, 4, 5), (6, 2, 4, 2), dict(stride=2, padding=(1, 0), groups=3)),
    ((2, 4, 4, 4), (4, 1, 2, 2), dict(stride=2, groups=4)),  # depthwise
    ((1, 3, 2, 3), (3, 2, 1, 1), dict(stride=1)),  # 1x1
    ((5, 2, 7, 9), (2, 3, 4, 6), dict(stride=(2, 3), padding=(3, 2))),
]


@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_kernel_matches_reference(threads, xs, ws, kw):
    r = np.random.default_rng(0)
    groups = kw.get("groups", 1)
    x, w, b = (r.standard_normal(s) for s in (xs, ws, (ws[1] * groups,)))
    with kernels_on(False):
        g = r.standard_normal(F.conv_transpose2d(x, w, b, **kw).shape)
    for bias in (b, None):
        arrays = [x, w] + ([bias] if bias is not None else [])
        k, ref, kfn, rfn = _both(lambda x, w, b=None: F.conv_transpose2d(x, w, b, **kw), arrays, g)
        assert isinstance(kfn, ct.ConvTranspose2dFunction) and not isinstance(rfn, ct.ConvTranspose2dFunction)
        for a, c in zip(k, ref):
            assert a.shape == c.shape and a.dtype == c.dtype
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
    x32, w32, b32, g32 = (a.astype(np.float32) for a in (x, w, b, g))
    k, ref, _, _ = _both(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [x32, w32, b32], g32)
    for a, c in zip(k, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)


def test_kernel_matches_reference_over_every_geometry_it_takes():
    """Every kernel, stride, padding, dilation and output_padding up to small sizes that
    ``takes`` accepts, on small inputs: values and all three gradients to 1e-12."""
    r = np.random.default_rng(1)
    count = 0
    for k, s, p, op, h in itertools.product((1, 2, 3, 4, 6), (1, 2, 3), (0, 1, 2, 5), (0, 1, 2), (1, 2, 5)):
        if op >= s or not ct.takes((k, 3), (s, 1), (1, 1)):
            continue
        if (h - 1) * s - 2 * p + k + op < 1:
            continue
        kw = dict(stride=(s, 1), padding=(p, 1), output_padding=(op, 0))
        x, w, b = r.standard_normal((2, 3, h, 4)), r.standard_normal((3, 2, k, 3)), r.standard_normal(2)
        with kernels_on(False):
            g = r.standard_normal(F.conv_transpose2d(x, w, b, **kw).shape)
        got, ref, _, _ = _both(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [x, w, b], g)
        for a, c in zip(got, ref):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12, err_msg=str((k, s, p, op, h)))
        count += 1
    assert count > 60


def test_conv_transpose1d_runs_the_kernel():
    r = np.random.default_rng(2)
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    x, w, b = r.standard_normal((2, 4, 7)), r.standard_normal((4, 3, 4)), r.standard_normal(6)
    with kernels_on(False):
        g = r.standard_normal(F.conv_transpose1d(x, w, b, **kw).shape)
    k, ref, _, _ = _both(lambda x, w, b: F.conv_transpose1d(x, w, b, **kw), [x, w, b], g)
    for a, c in zip(k, ref):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,dilation,taken", [
    ((4, 4), (2, 2), (1, 1), True), ((2, 2), (2, 2), (1, 1), True), ((3, 3), (1, 1), (1, 1), True),
    ((6, 4), (3, 2), (1, 1), True), ((1, 1), (1, 1), (1, 1), True),
    ((3, 3), (2, 2), (1, 1), False),  # phase 1 has one tap, phase 0 two: an empty slot
    ((1, 1), (2, 2), (1, 1), False),  # phase 1 has none
    ((3, 3), (1, 1), (2, 2), False),  # dilated: holes between the taps
    ((4, 4), (2, 2), (1, 2), False),
])
def test_takes_exactly_the_geometries_without_empty_slots(kernel, stride, dilation, taken):
    assert ct.takes(kernel, stride, dilation) is taken
    x, w = ember.ones(1, 2, 3, 3, requires_grad=True), ember.ones(2, 1, *kernel)
    with kernels_on(True):
        y = F.conv_transpose2d(x, w, stride=stride, dilation=dilation)
    assert isinstance(y._fn, ct.ConvTranspose2dFunction) is taken


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_and_inf_in_the_input_reach_the_same_outputs_and_gradients():
    r = np.random.default_rng(3)
    x = r.standard_normal((2, 3, 5, 6))
    x[0, 1, 2, 3], x[1, 0, 0, 0], x[1, 2, 4, 5] = np.nan, np.inf, -np.inf
    w, b = r.standard_normal((3, 2, 4, 4)), r.standard_normal(2)
    kw = dict(stride=2, padding=1)
    with kernels_on(False):
        g = r.standard_normal(F.conv_transpose2d(x, w, b, **kw).shape)
    k, ref, _, _ = _both(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [x, w, b], g)
    assert np.isnan(k[0]).any() and np.isinf(k[0]).any() and np.isfinite(k[0]).any()
    for a, c in zip(k, ref):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(c))
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


def test_second_order_runs_through_the_reference():
    r = np.random.default_rng(4)
    x = ember.tensor(r.standard_normal((2, 2, 3, 3)), requires_grad=True)
    w = ember.tensor(r.standard_normal((2, 3, 4, 4)), requires_grad=True)
    with kernels_on(True):
        y = F.conv_transpose2d(x, w, stride=2, padding=1)
        assert isinstance(y._fn, ct.ConvTranspose2dFunction)
        (gx,) = ember.autograd.grad([(y * y).sum()], [x], create_graph=True)
        (gw,) = ember.autograd.grad([gx.sum()], [w])
    with kernels_on(False):
        y = F.conv_transpose2d(x, w, stride=2, padding=1)
        (rx,) = ember.autograd.grad([(y * y).sum()], [x], create_graph=True)
        (rw,) = ember.autograd.grad([rx.sum()], [w])
    np.testing.assert_allclose(gx.detach().numpy(), rx.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xs,ws,kw,taken", [
    ((16, 64, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1), True),  # the benchmark's layer
    ((8, 128, 32, 32), (128, 64, 2, 2), dict(stride=2), True),
    ((4, 8, 32, 32), (8, 64, 3, 3), dict(padding=1), True),
    ((4, 16, 16), (16, 32, 4), dict(stride=2, padding=1), True),  # 1-D: 33 / 32 positions
    ((64, 100, 1, 1), (100, 64, 4, 4), {}, False),  # DCGAN's first layer: 16x the products
    ((4, 64, 8, 8), (64, 32, 4, 4), dict(stride=2, padding=1), False),  # 81 / 64
    ((4, 64, 32, 32), (64, 3, 4, 4), dict(stride=2, padding=1), False),  # 12 rows of W'
    ((4, 64, 32, 32), (64, 32, 3, 3), dict(stride=2, padding=1), False),  # empty slots
])
def test_pays_where_measured(monkeypatch, xs, ws, kw, taken):
    monkeypatch.undo()
    nd = len(xs) - 2
    fn = getattr(F, f"conv_transpose{nd}d")
    x = ember.zeros(*xs, requires_grad=True)
    with kernels_on(True):
        y = fn(x, ember.zeros(*ws), **kw)
    op = y._fn if nd == 2 else y._fn.inputs[0]._fn  # 1-D: the kernel's output reshaped
    assert isinstance(op, ct.ConvTranspose2dFunction) is taken


def test_benchmark_layer_matches_torch_in_float32(torch):
    """The ``upsampling`` benchmark's layer, same state_dict, forward and backward."""
    conv = ember.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    tconv = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    tconv.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    r = np.random.default_rng(5)
    x = r.standard_normal((4, 64, 16, 16)).astype(np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with kernels_on(True):
        ey = conv(ex)
    ty = tconv(tx)
    assert isinstance(ey._fn, ct.ConvTranspose2dFunction)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    g = r.standard_normal(tuple(ty.shape)).astype(np.float32)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    for e, t in ((ex.grad, tx.grad), (conv.weight.grad, tconv.weight.grad), (conv.bias.grad, tconv.bias.grad)):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-3, atol=1e-3)
