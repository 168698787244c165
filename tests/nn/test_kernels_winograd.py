"""The Winograd F(2x2, 3x3) convolution kernel against the reference convolution and PyTorch.

Every shape family it takes: padding 0, 1 and uneven, odd and even sizes (odd outputs leave a
half tile that is computed and dropped), channels-last and C-order inputs, batch 1, with and
without bias; float64 to 1e-10, float32 within 4x the im2col kernel's own error against a
float64 reference.
"""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.gradcheck import gradcheck, gradgradcheck
from ember.kernels import conv as conv_kernels
from ember.kernels import winograd
from ember.ops.conv import conv2d_reference

pytestmark = pytest.mark.kernels

# (N, C, H, W, O, pads ((top, bottom), (left, right)))
SHAPES = [
    (2, 3, 6, 6, 4, ((1, 1), (1, 1))),    # even, padding 1 (ResNet, CIFAR)
    (2, 5, 7, 7, 3, ((0, 0), (0, 0))),    # odd output (5x5), no padding (the MNIST CNN)
    (1, 4, 9, 6, 5, ((1, 1), (1, 1))),    # batch 1, odd height, even width
    (3, 2, 8, 5, 6, ((0, 1), (2, 0))),    # uneven padding
    (2, 3, 3, 3, 2, ((0, 0), (0, 0))),    # a single output pixel
    (1, 2, 4, 11, 3, ((2, 2), (0, 0))),   # wider than tall, padding 2
]


def _tensors(shape, dtype, channels_last, bias=True, seed=0):
    n, c, h, w, o, _ = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    wt = rng.standard_normal((o, c, 3, 3)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, wt, b


def _run(fn, x, w, b, gy):
    xt, wt = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    bt = None if b is None else ember.tensor(b, requires_grad=True)
    y = fn(xt, wt, bt)
    y.backward(ember.tensor(gy))
    grads = [xt.grad.numpy(), wt.grad.numpy()] + ([] if bt is None else [bt.grad.numpy()])
    return [y.detach().numpy()] + grads


def _winograd(pads):
    return lambda x, w, b: winograd.winograd_conv2d(x, w, b, pads)


def _reference(pads):
    return lambda x, w, b: conv2d_reference(x, w, b, (1, 1), pads, (1, 1), 1)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_float64_equals_the_reference(shape, channels_last, bias):
    x, w, b = _tensors(shape, np.float64, channels_last, bias)
    gy = np.random.default_rng(9).standard_normal(conv2d_reference(
        ember.tensor(x), ember.tensor(w), None, (1, 1), shape[5], (1, 1), 1).shape)
    got = _run(_winograd(shape[5]), x, w, b, gy)
    with ember.kernels.disabled():
        want = _run(_reference(shape[5]), x, w, b, gy)
    for name, g, r in zip(("y", "gx", "gw", "gb"), got, want):
        assert g.shape == r.shape, name
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-10, err_msg=name)


def _errors(fn, shape, seed):
    """Max abs error of y, gx, gw in float32 against the same computation in float64."""
    x, w, b = _tensors(shape, np.float64, True, seed=seed)
    with ember.kernels.disabled():
        y64 = conv2d_reference(ember.tensor(x), ember.tensor(w), ember.tensor(b), (1, 1), shape[5], (1, 1), 1)
    gy = np.random.default_rng(seed + 1).standard_normal(y64.shape)
    with ember.kernels.disabled():
        exact = _run(_reference(shape[5]), x, w, b, gy)
    got = _run(fn, x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), gy.astype(np.float32))
    assert all(g.dtype == np.float32 for g in got)
    return np.array([np.abs(g - e).max() for g, e in zip(got, exact)])


@pytest.mark.parametrize("shape", [(4, 32, 12, 12, 64, ((1, 1), (1, 1))), (4, 64, 11, 11, 32, ((0, 0), (0, 0))),
                                   (2, 256, 7, 7, 128, ((1, 1), (1, 1)))])
def test_float32_error_within_4x_im2cols(shape):
    # measured (max over 3 seeds; y, gx, gw, gb): Winograd's error is 0.1-2.0x im2col's
    pads = shape[5]
    im2col = lambda x, w, b: conv_kernels.Conv2dFunction.apply(  # noqa: E731
        x, w, b, stride=(1, 1), pads=pads, dilation=(1, 1), groups=1)
    wino = np.max([_errors(_winograd(pads), shape, s) for s in range(3)], axis=0)
    base = np.max([_errors(im2col, shape, s) for s in range(3)], axis=0)
    assert np.all(wino <= 4 * base), (wino, base)
    assert np.all(wino < 1e-3 * np.sqrt(shape[1] * 9))


@pytest.mark.parametrize("shape", SHAPES[:4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(torch, shape, dtype):
    x, w, b = _tensors(shape, dtype, True, seed=3)
    (pt, pb), (pl, pr) = shape[5]
    tx, tw, tb = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (pl, pr, pt, pb)), tw, tb)
    gy = np.random.default_rng(4).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(gy))
    got = _run(_winograd(shape[5]), x, w, b, gy)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for g, t in zip(got, (ty, tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(g, t.detach().numpy(), **tol)


def test_only_some_gradients():
    x, w, b = _tensors(SHAPES[0], np.float64, False)
    pads = SHAPES[0][5]
    for need in ((True, False, False), (False, True, False), (False, False, True), (True, True, False)):
        ts = [ember.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
        y = winograd.winograd_conv2d(*ts, pads)
        y.sum().backward()
        with ember.kernels.disabled():
            rs = [ember.tensor(a, requires_grad=r) for a, r in zip((x, w, b), need)]
            conv2d_reference(*rs, (1, 1), pads, (1, 1), 1).sum().backward()
        for t, r, wanted in zip(ts, rs, need):
            assert (t.grad is not None) == wanted
            if wanted:
                np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), atol=1e-10)


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(5)
    x = ember.tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(3), requires_grad=True)
    fn = lambda x, w, b: winograd.winograd_conv2d(x, w, b, ((1, 1), (0, 1)))  # noqa: E731
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_output_and_input_gradient_are_channels_last():
    x, w, b = _tensors(SHAPES[0], np.float32, False)
    xt = ember.tensor(x, requires_grad=True)
    y = winograd.winograd_conv2d(xt, ember.tensor(w), ember.tensor(b), SHAPES[0][5])
    assert y._data.transpose(0, 2, 3, 1).flags.c_contiguous
    y.sum().backward()
    assert xt.grad._data.transpose(0, 2, 3, 1).flags.c_contiguous


def test_blocks_smaller_than_a_sample_and_many_samples(monkeypatch):
    # one sample per block, and blocks that hold several samples, give the same numbers
    x, w, b = _tensors((5, 3, 8, 8, 4, ((1, 1), (1, 1))), np.float64, False)
    gy = np.random.default_rng(2).standard_normal((5, 4, 8, 8))
    outs = []
    for tiles in (1, 40, 10_000):
        monkeypatch.setattr(winograd, "TILES_PER_BLOCK", tiles)
        outs.append(_run(_winograd(((1, 1), (1, 1))), x, w, b, gy))
    for other in outs[1:]:
        for a, o in zip(outs[0], other):
            np.testing.assert_allclose(a, o, atol=1e-12)


def test_dispatch_rule_and_switches(monkeypatch):
    calls = []
    orig = winograd.WinogradConv2dFunction.forward
    monkeypatch.setattr(winograd.WinogradConv2dFunction, "forward",
                        lambda self, *a, **kw: calls.append(1) or orig(self, *a, **kw))
    monkeypatch.setattr(conv_kernels, "num_threads", lambda: 2)  # the rule as on 2 cores
    x = np.ones((16, 64, 32, 32), np.float32)  # 4096 tiles: (4096, 64) @ (64, 64) GEMMs, 2**24
    nn.Conv2d(64, 64, 3, padding=1)(x)
    assert calls == [1]  # channel counts and sizes for which it pays in a training step
    for conv in (nn.Conv2d(64, 64, 3, stride=2), nn.Conv2d(64, 64, 3, dilation=2), nn.Conv2d(64, 64, 3, groups=2),
                 nn.Conv2d(64, 64, 5), nn.Conv2d(64, 64, (3, 1))):
        conv(x)
    assert calls == [1]  # shapes it cannot take
    nn.Conv2d(64, 32, 3, padding=1)(x)
    nn.Conv2d(32, 64, 3, padding=1)(x[:, :32])
    nn.Conv2d(64, 64, 3)(x[:, :, :9, :9])  # a 7x7 output, computed as 8x8
    nn.Conv2d(64, 64, 3, padding=1)(x[:8])  # GEMMs too small: 2048 tiles
    nn.Conv2d(64, 64, 3, padding=1)(np.ones((1, 64, 128, 128), np.float32))  # 2**24, but one sample: one thread
    nn.Conv2d(64, 1024, 3, padding=1)(x[:, :, :8, :8])  # 2**24, but fewer tiles (256) than channels
    with ember.no_grad():  # inference: only from 3 * 2**24
        nn.Conv2d(64, 64, 3, padding=1)(x)
    assert calls == [1]  # shapes it does not pay for
    with ember.no_grad():
        nn.Conv2d(64, 64, 3, padding=1)(np.ones((16, 64, 56, 56), np.float32))  # 2**25.6
    assert calls == [1, 1]
    with ember.kernels.disabled():
        nn.Conv2d(64, 64, 3)(x)
    monkeypatch.setattr(conv_kernels, "_WINOGRAD", "0")
    nn.Conv2d(64, 64, 3)(x)
    assert calls == [1, 1]  # EMBER_KERNELS=0 and EMBER_WINOGRAD=0 switch it off
    monkeypatch.setattr(conv_kernels, "_WINOGRAD", "1")
    F.conv2d(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32))
    assert calls == [1, 1, 1]  # and EMBER_WINOGRAD=1 on wherever it can run


def test_slab_transforms_are_the_kronecker_matrices():
    # the adds of _bt/_at and their adjoints are B^T d B, A^T M A, and their transposes
    rng = np.random.default_rng(6)
    bk, ak = np.kron(winograd._BT, winograd._BT), np.kron(winograd._AT, winograd._AT)
    d, m, g = rng.standard_normal((4, 4, 5)), rng.standard_normal((4, 4, 5)), rng.standard_normal((2, 2, 5))
    for got, want in ((winograd.input_transform(d), bk @ d.reshape(16, -1)),
                      (winograd.input_transform_adjoint(d), bk.T @ d.reshape(16, -1)),
                      (winograd.output_transform(m), ak @ m.reshape(16, -1)),
                      (winograd.output_transform_adjoint(g), ak.T @ g.reshape(4, -1))):
        np.testing.assert_allclose(got.reshape(want.shape), want, atol=1e-14)
