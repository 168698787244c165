"""BatchNorm, LayerNorm and GroupNorm: against PyTorch in train and eval (the references to
second order), finite differences to second order, bad input."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck
from higher_order_helpers import against_torch, kernel_mode, kernels, kernels_on  # noqa: F401  (fixtures)

TOL = {np.float32: 2e-5, np.float64: 1e-10}


def _tdtype(torch, dtype):
    return getattr(torch, np.dtype(dtype).name)


def _sync(torch, e, t):
    """Copy ember module ``e``'s parameters and buffers into torch module ``t``."""
    t.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in e.state_dict().items()})


def _randomize(e, rng):
    for p in e.parameters():
        p.data[...] = rng.standard_normal(p.shape)


def _compare(torch, e, t, x, rng, tol, steps=2):
    """Run ``steps`` forward/backward passes through both; compare outputs, grads and buffers."""
    for _ in range(steps):
        g = rng.standard_normal(x.shape).astype(x.dtype)
        for p in e.parameters():
            p.grad = None
        t.zero_grad()
        xe = ember.Tensor(x, requires_grad=True)
        ye = e(xe)
        ye.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        yt = t(xt)
        yt.backward(torch.from_numpy(g))
        assert ye.dtype == x.dtype
        np.testing.assert_allclose(ye.data, yt.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(xe.grad, xt.grad.numpy(), rtol=tol, atol=tol)
        tp = dict(t.named_parameters())
        for name, p in e.named_parameters():
            np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=tol, atol=tol, err_msg=name)
        tb = dict(t.named_buffers())
        for name, b in e.named_buffers():
            np.testing.assert_allclose(b, tb[name].numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,shape", [
    ("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 6)), ("BatchNorm3d", (2, 3, 2, 3, 2)),
])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"momentum": None}, {"track_running_stats": False}, {"bias": False}])
def test_batchnorm_matches_torch(torch, rng, dtype, cls, shape, kw):
    e = getattr(nn, cls)(3, dtype=dtype, **kw)
    t = getattr(torch.nn, cls)(3, dtype=_tdtype(torch, dtype), **kw)
    _randomize(e, rng)
    _sync(torch, e, t)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    _compare(torch, e, t, x, rng, TOL[dtype])
    if e.track_running_stats:
        assert int(e.num_batches_tracked) == 2 and e.num_batches_tracked.dtype == np.int64
        assert not np.allclose(e.running_mean, 0)
    assert e.eval() is e and t.eval() is t
    _compare(torch, e, t, x, rng, TOL[dtype])


def _channels_last(a):
    """The (N, C, H, W) array ``a`` stored as (N, H, W, C), as a convolution's output is."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"track_running_stats": False}])
def test_batchnorm2d_on_channels_last_input_matches_torch(torch, rng, dtype, kw):
    e, t = nn.BatchNorm2d(3, dtype=dtype, **kw), torch.nn.BatchNorm2d(3, dtype=_tdtype(torch, dtype), **kw)
    _randomize(e, rng)
    _sync(torch, e, t)
    x = _channels_last((rng.standard_normal((4, 3, 5, 6)) * 2 + 0.5).astype(dtype))
    _compare(torch, e, t, x, rng, TOL[dtype])  # incoming gradients in C order
    assert e.eval() is e and t.eval() is t
    _compare(torch, e, t, x, rng, TOL[dtype])


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_keeps_channels_last_layout(rng, training):
    bn = nn.BatchNorm2d(3).train(training)
    _randomize(bn, rng)
    bn.running_var[...] = 2.0
    x = (rng.standard_normal((4, 3, 5, 6)) * 2 + 0.5).astype(np.float32)
    xc = ember.Tensor(x, requires_grad=True)
    xl = ember.Tensor(_channels_last(x), requires_grad=True)
    g = rng.standard_normal(x.shape).astype(np.float32)
    yc, yl = bn(xc), bn(xl)
    yc.backward(g)
    yl.backward(ember.Tensor(_channels_last(g)))  # a gradient in the layout ReLU and pooling give back
    assert yl.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous and xl.grad.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    np.testing.assert_allclose(yl.data, yc.data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xl.grad, xc.grad, rtol=1e-5, atol=1e-5)


def test_batch_norm_gradcheck_after_a_convolution(kernels_on, rng):
    # the convolution kernel's output is channels-last: batch norm's (N H W, C) path, in float64
    x = ember.Tensor(rng.standard_normal((2, 2, 4, 5)), requires_grad=True)
    k = ember.Tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    w = ember.Tensor(rng.standard_normal(3), requires_grad=True)
    b = ember.Tensor(rng.standard_normal(3), requires_grad=True)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    assert F.conv2d(x, k).detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous
    for training in (True, False):
        def fn(x, k, w, b):
            return F.batch_norm(F.conv2d(x, k), rm.copy(), rv.copy(), w, b, training=training)

        assert ember.gradcheck(fn, [x, k, w, b])


def test_batchnorm_state_dict_keys_match_torch(torch):
    e, t = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert repr(e) == repr(t)
    assert list(nn.BatchNorm1d(3, affine=False, track_running_stats=False).state_dict()) == []


def test_batchnorm_eval_uses_running_stats():
    bn = nn.BatchNorm1d(2).eval()
    bn.running_mean[...] = [1.0, -1.0]
    bn.running_var[...] = [4.0, 0.25]
    y = bn(np.array([[3.0, 0.0]], np.float32))
    np.testing.assert_allclose(y.data, [[2 / np.sqrt(4 + 1e-5), 1 / np.sqrt(0.25 + 1e-5)]], rtol=1e-6)
    assert int(bn.num_batches_tracked) == 0


def test_batch_norm_functional_updates_running_stats_in_place(rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    F.batch_norm(x, rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm, 0.5 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(rv, 0.5 + 0.5 * x.var(0, ddof=1), rtol=1e-5)
    assert rm.dtype == np.float32


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 2, 3)])
def test_batch_norm_gradcheck(rng, training, shape):
    x = ember.Tensor(rng.standard_normal(shape), requires_grad=True)
    w = ember.Tensor(rng.standard_normal(shape[1]), requires_grad=True)
    b = ember.Tensor(rng.standard_normal(shape[1]), requires_grad=True)
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5

    def fn(x, w, b):  # running stats copied so that each evaluation sees the same ones
        return F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    assert ember.gradcheck(fn, [x, w, b])
    assert ember.gradcheck(lambda x: F.batch_norm(x, rm.copy(), rv.copy(), training=training), [x])


def test_batchnorm_bad_input():
    bn = nn.BatchNorm2d(32)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(32\) expected input with 32 channels, got shape \(8, 16, 5, 5\)"):
        bn(np.zeros((8, 16, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(32\) expected 4D"):
        bn(np.zeros((8, 32), np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="num_features must be a positive int, got -2"):
        nn.BatchNorm1d(-2)
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="needed when training=False"):
        F.batch_norm(np.zeros((2, 3)), None, None, training=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalized,shape,kw", [
    (6, (4, 6), {}), ((3, 4), (2, 5, 3, 4), {}), (6, (3, 6), {"bias": False}), (6, (2, 2, 6), {"elementwise_affine": False}),
])
def test_layernorm_matches_torch(torch, rng, dtype, normalized, shape, kw):
    e = nn.LayerNorm(normalized, dtype=dtype, **kw)
    t = torch.nn.LayerNorm(normalized, dtype=_tdtype(torch, dtype), **kw)
    _randomize(e, rng)
    _sync(torch, e, t)
    x = (rng.standard_normal(shape) * 3 - 1).astype(dtype)
    _compare(torch, e, t, x, rng, TOL[dtype], steps=1)
    assert repr(e) == repr(t)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups,shape,affine", [(2, (3, 6, 4), True), (3, (2, 6, 3, 3), True), (3, (2, 6), False), (1, (2, 6, 5), True)])
def test_groupnorm_matches_torch(torch, rng, dtype, groups, shape, affine):
    e = nn.GroupNorm(groups, 6, affine=affine, dtype=dtype)
    t = torch.nn.GroupNorm(groups, 6, affine=affine, dtype=_tdtype(torch, dtype))
    _randomize(e, rng)
    _sync(torch, e, t)
    x = (rng.standard_normal(shape) + 2).astype(dtype)
    _compare(torch, e, t, x, rng, TOL[dtype], steps=1)
    assert repr(e) == repr(t)


def test_layer_and_group_norm_gradcheck(rng):
    x = ember.Tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = ember.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    b = ember.Tensor(rng.standard_normal((2, 4)), requires_grad=True)
    assert ember.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), [x, w, b])
    assert ember.gradcheck(lambda x, w: F.layer_norm(x, (2, 4), w), [x, w])
    assert ember.gradcheck(lambda x, b: F.layer_norm(x, (2, 4), None, b), [x, b])
    x = ember.Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = ember.Tensor(rng.standard_normal(4), requires_grad=True)
    b = ember.Tensor(rng.standard_normal(4), requires_grad=True)
    assert ember.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b])


def test_norm_float32_stays_float32(rng):
    x = rng.standard_normal((4, 3, 5, 5))  # float64 ndarray into float32 layers
    for layer in (nn.BatchNorm2d(3), nn.GroupNorm(3, 3), nn.LayerNorm(5)):
        y = layer(x)
        y.sum().backward()
        assert y.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_layer_and_group_norm_bad_input():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\)\) expected input ending in dims \(4,\), got shape \(2, 5\)"):
        nn.LayerNorm(4)(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 6\) expected input \(N, 6, \*\), got shape \(2, 4, 3\)"):
        nn.GroupNorm(2, 6)(np.zeros((2, 4, 3), np.float32))
    with pytest.raises(ValueError, match="does not match"):
        F.layer_norm(np.zeros((2, 3)), (4,))


# ----- the references against PyTorch, to second order (float64) -----


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4), (2, 3, 2, 3)])
@pytest.mark.parametrize("affine", ["both", "none", "weight", "bias"])
def test_batch_norm_reference_to_second_order(torch, rng, training, shape, affine):
    x = rng.standard_normal(shape) * 2 + 0.5
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    arrays = [x] + ([w] if affine in ("both", "weight") else []) + ([b] if affine in ("both", "bias") else [])

    def call(lib, stats):
        def fn(x, *wb):
            kw = {"weight": wb[0] if affine in ("both", "weight") else None,
                  "bias": wb[-1] if affine in ("both", "bias") else None}
            return lib.batch_norm(x, *stats(), training=training, momentum=0.2, eps=1e-3, **kw)
        return fn

    def torch_fn(x, *wb):
        if affine != "bias":
            return call(torch.nn.functional, lambda: t_stats)(x, *wb)
        # PyTorch's double backward of batch_norm fails with a bias and no weight: add it after
        y = torch.nn.functional.batch_norm(x, *t_stats, training=training, momentum=0.2, eps=1e-3)
        return y + wb[0].reshape((3,) + (1,) * (x.ndim - 2))

    e_stats, t_stats = (rm.copy(), rv.copy()), (torch.tensor(rm), torch.tensor(rv))
    with kernels(False):
        against_torch(torch, call(F, lambda: e_stats), torch_fn, arrays, [True] * len(arrays), rng)
    # the running stats were updated once, as PyTorch's (the second-order passes do not touch them)
    np.testing.assert_allclose(e_stats[0], t_stats[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(e_stats[1], t_stats[1].numpy(), rtol=1e-12)


@pytest.mark.parametrize("normalized,shape", [(4, (3, 4)), ((2, 3), (2, 4, 2, 3)), (5, (5,))])
@pytest.mark.parametrize("affine", ["both", "none", "weight", "bias"])
def test_layer_norm_reference_to_second_order(torch, rng, normalized, shape, affine):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    arrays = [rng.standard_normal(shape) * 3 - 1]
    if affine in ("both", "weight"):
        arrays.append(rng.standard_normal(ns))
    if affine in ("both", "bias"):
        arrays.append(rng.standard_normal(ns))

    def call(lib):
        return lambda x, *wb: lib.layer_norm(x, ns, wb[0] if affine in ("both", "weight") else None,
                                             wb[-1] if affine in ("both", "bias") else None, eps=1e-4)

    def torch_fn(x, *wb):
        if affine != "bias":
            return call(torch.nn.functional)(x, *wb)
        # PyTorch's double backward of layer_norm fails with a bias and no weight: add it after
        return torch.nn.functional.layer_norm(x, ns, eps=1e-4) + wb[0]

    with kernels(False):
        against_torch(torch, call(F), torch_fn, arrays, [True] * len(arrays), rng)


@pytest.mark.parametrize("groups,shape", [(2, (3, 6, 4)), (3, (2, 6, 2, 2)), (1, (2, 6)), (6, (2, 6, 3))])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_reference_to_second_order(torch, rng, groups, shape, affine):
    arrays = [rng.standard_normal(shape) + 2] + ([rng.standard_normal(6), rng.standard_normal(6)] if affine else [])

    def call(lib):
        return lambda x, *wb: lib.group_norm(x, groups, *wb, eps=1e-4)

    with kernels(False):
        against_torch(torch, call(F), call(torch.nn.functional), arrays, [True] * len(arrays), rng)


# ----- second-order finite differences (kernels on: through their references) -----


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_gradgradcheck(kernel_mode, rng, training):
    x = ember.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal(2), requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)
    rm, rv = rng.standard_normal(2), rng.random(2) + 0.5

    def fn(x, w, b):  # running stats copied so that each evaluation sees the same ones
        return F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    assert gradgradcheck(fn, [x, w, b])
    assert gradgradcheck(lambda x: F.batch_norm(x, rm.copy(), rv.copy(), training=training), [x])


def test_layer_norm_gradgradcheck(kernel_mode, rng):
    x = ember.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [x, w, b])
    assert gradgradcheck(lambda x: F.layer_norm(x, 3), [x])


def test_group_norm_gradgradcheck(kernel_mode, rng):
    x = ember.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal(4), requires_grad=True)
    b = ember.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b])


def test_gradgradcheck_can_fail(rng):
    # the checks above are not vacuous: a backward that reads its input as a constant in graph
    # mode has the right first-order values and a wrong second order, and is caught
    from ember.autograd import Function

    class BadSquare(Function):
        dual = True

        def forward(self, a):
            self.save_for_backward(a)
            return a * a

        def backward(self, gy):
            (a,) = self.saved_tensors
            return gy * 2.0 * (ember.Tensor(a._data) if self._graph else a)

    x = ember.tensor(rng.standard_normal(3) + 2, requires_grad=True)
    assert ember.gradcheck(lambda x: BadSquare.apply(x), [x])
    assert not gradgradcheck(lambda x: BadSquare.apply(x), [x], raise_exception=False)
