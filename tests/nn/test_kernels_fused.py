"""ember.kernels.fused: batch norm -> ReLU -> 2x2 max-pool as one op, against module by module
(kernels on), the references (kernels off) and PyTorch; its fallbacks; and nn.utils.fuse."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.fusion import FusedBatchNormReLUMaxPool2d, fuse
from ember.ops.norm import batch_norm_relu_max_pool2d
from ember.ops.pool import max_pool2d
from higher_order_helpers import against_torch, kernel_matches_reference, kernels

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _inputs(rng, shape, dtype, offset=0.5):
    c = shape[1]
    x = _channels_last((rng.standard_normal(shape) * 2 + offset).astype(dtype))
    w = (rng.random(c) + 0.5).astype(dtype)  # positive: the fused op takes it
    b = rng.standard_normal(c).astype(dtype)
    return x, w, b


def _fused(x, w, b, rm=None, rv=None, training=True):
    return batch_norm_relu_max_pool2d(x, rm, rv, w, b, training, 0.1, 1e-5, 2)


def _unfused(x, w, b, rm=None, rv=None, training=True):
    from ember.ops.norm import batch_norm
    from ember.ops.elementwise import relu

    return max_pool2d(relu(batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)), 2)


def _run(fn, x, w, b, gy, **kw):
    """Output, gradients of x, w, b (upstream gy), and the Functions in the graph."""
    xt, wt, bt = (ember.Tensor(a, requires_grad=True) for a in (x, w, b))  # shares x: keeps its layout
    y = fn(xt, wt, bt, **kw)
    names = {type(y.grad_fn).__name__}
    y.backward(ember.Tensor(gy))
    return y.detach().numpy().copy(order="K"), [t.grad.numpy().copy(order="K") for t in (xt, wt, bt)], names


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3, 6, 8), (3, 5, 7, 9), (2, 64, 4, 4), (1, 2, 2, 2)],
                         ids=["even", "odd", "wide-rows", "one-window"])
def test_fused_values_equal_module_by_module_and_gradients_agree(rng, dtype, shape):
    x, w, b = _inputs(rng, shape, dtype)
    gy = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(dtype)
    with kernels(True):
        y1, g1, n1 = _run(_fused, x, w, b, gy)
        y0, g0, n0 = _run(_unfused, x, w, b, gy)
    assert n1 == {"BatchNormReLUMaxPool2d"} and n0 == {"MaxPool2dFunction"}
    np.testing.assert_array_equal(y1, y0)  # the same stats and the same ops on the winners
    assert y1.dtype == dtype and y1.transpose(0, 2, 3, 1).flags.c_contiguous  # keeps channels-last
    for a, e, name in zip(g1, g0, ("x", "weight", "bias")):
        np.testing.assert_allclose(a, e, err_msg=name, **TOL[dtype])
    assert g1[0].transpose(0, 2, 3, 1).flags.c_contiguous


def test_fused_matches_the_references_to_second_order(rng):
    x, w, b = _inputs(rng, (3, 4, 6, 6), np.float64)
    kernel_matches_reference(lambda x, w, b: _fused(x, w, b), [x, w, b], [True] * 3, kernel="BatchNormReLUMaxPool2d",
                             **TOL[np.float64])


def test_fused_matches_torch(torch, rng):
    x, w, b = _inputs(rng, (4, 3, 8, 6), np.float64)

    def ft(x, w, b):
        y = torch.nn.functional.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
        return torch.nn.functional.max_pool2d(torch.relu(y), 2)

    with kernels(True):
        y = against_torch(torch, lambda x, w, b: _fused(x, w, b), ft, [x, w, b], [True] * 3, rng)
    assert type(y.grad_fn).__name__ == "BatchNormReLUMaxPool2d"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_updates_running_stats_as_batch_norm(rng, dtype):
    x, w, b = _inputs(rng, (4, 3, 6, 6), dtype)
    got = []
    for fn in (_fused, _unfused):
        rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
        with kernels(True):
            fn(ember.Tensor(x), ember.Tensor(w), ember.Tensor(b), rm=rm, rv=rv)
        got.append((rm, rv))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
    assert not np.allclose(got[0][0], 0)


def test_fused_without_affine_and_without_grad(rng):
    x, _, _ = _inputs(rng, (4, 3, 6, 6), np.float32)
    with kernels(True):
        xt = ember.Tensor(x, requires_grad=True)
        y = batch_norm_relu_max_pool2d(xt, None, None, None, None, True, 0.1, 1e-5, 2)
        assert type(y.grad_fn).__name__ == "BatchNormReLUMaxPool2d"
        gy = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(ember.Tensor(gy))
        xr = ember.Tensor(x, requires_grad=True)
        yr = _unfused(xr, None, None)
        yr.backward(ember.Tensor(gy))
        np.testing.assert_array_equal(y.detach().numpy(), yr.detach().numpy())
        np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), **TOL[np.float32])
        with ember.no_grad():
            np.testing.assert_array_equal(batch_norm_relu_max_pool2d(x, None, None, None, None, True, 0.1, 1e-5, 2).numpy(),
                                          y.detach().numpy())


def test_fused_keeps_ties_where_max_pool_sends_them(rng):
    # equal inputs in a window (ReLU'd conv outputs are often equal): the first maximum in
    # row-major order wins, as module by module and PyTorch
    x = np.round(rng.standard_normal((2, 3, 4, 4)) * 1.5).astype(np.float64)
    x = _channels_last(x)
    w, b = np.ones(3), np.zeros(3)
    gy = rng.standard_normal((2, 3, 2, 2))
    with kernels(True):
        y1, g1, _ = _run(_fused, x, w, b, gy)
        y0, g0, _ = _run(_unfused, x, w, b, gy)
    np.testing.assert_array_equal(y1, y0)
    for a, e in zip(g1, g0):
        np.testing.assert_allclose(a, e, **TOL[np.float64])


@pytest.mark.parametrize("case", ["C order", "eval", "negative weight", "zero weight", "nan input", "3x3 window"])
def test_fused_falls_back_to_the_three_ops(rng, case):
    x, w, b = _inputs(rng, (4, 3, 6, 6), np.float64)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    training, pool = True, 2
    if case == "C order":
        x = np.ascontiguousarray(x)
    elif case == "eval":
        training = False
    elif case == "negative weight":
        w[1] = -w[1]
    elif case == "zero weight":
        w[2] = 0
    elif case == "nan input":
        x[1, 2, 3, 4] = np.nan
    else:
        pool = 3

    def run(fn):
        m, v = rm.copy(), rv.copy()
        xt, wt, bt = (ember.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = fn(xt, wt, bt, m, v)
        y.backward(ember.Tensor(np.ones(y.shape)))
        return [y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), m, v], type(y.grad_fn).__name__

    def fused(x, w, b, m, v):
        return batch_norm_relu_max_pool2d(x, m, v, w, b, training, 0.1, 1e-5, pool)

    def unfused(x, w, b, m, v):
        from ember.ops.norm import batch_norm
        from ember.ops.elementwise import relu

        return max_pool2d(relu(batch_norm(x, m, v, w, b, training, 0.1, 1e-5)), pool)

    with kernels(True):
        got, name = run(fused)
        ref, _ = run(unfused)
    assert name != "BatchNormReLUMaxPool2d"
    for a, e in zip(got, ref):
        np.testing.assert_array_equal(a, e)


def test_fused_with_an_inf_gradient_spoils_only_its_channel(rng):
    x, w, b = _inputs(rng, (2, 3, 4, 4), np.float64)
    gy = rng.standard_normal((2, 3, 2, 2))
    gy[0, 1, 0, 0] = np.inf
    with kernels(True):
        _, g, _ = _run(_fused, x, w, b, gy)
    assert np.isfinite(g[0][:, [0, 2]]).all() and not np.isfinite(g[0][:, 1]).all()


def _cifar_block(cin=3, c=8):
    return nn.Sequential(nn.Conv2d(cin, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c * 4 * 4, 5))


def test_fuse_makes_the_batch_norm_block_and_keeps_its_state():
    ember.manual_seed(0)
    model = _cifar_block().double()
    fused = fuse(model)
    assert isinstance(fused[1], FusedBatchNormReLUMaxPool2d) and list(fused._modules) == ["0", "1", "4", "5"]
    assert "FusedBatchNormReLUMaxPool2d(8, eps=1e-05" in repr(fused) and "kernel_size=2" in repr(fused)
    assert list(fused.state_dict()) == list(model.state_dict())
    assert fused[1].weight is model[1].weight and fused[1].running_mean is model[1].running_mean
    r = np.random.default_rng(1)
    x = r.standard_normal((6, 3, 8, 8))
    saved = {k: np.array(v).copy() for k, v in model.state_dict().items()}
    outs = []
    for m in (model, fused):
        model.load_state_dict(saved)
        m.zero_grad()
        xt = ember.tensor(x, requires_grad=True)
        y = m(xt)
        y.backward(ember.tensor(np.ones(y.shape)))  # through the Flatten: a C-order gradient
        outs.append([y.detach().numpy(), xt.grad.numpy().copy()] + [p.grad.numpy().copy() for p in m.parameters()]
                    + [np.array(v).copy() for v in model.state_dict().values()])
    assert [type(f).__name__ for f in [fused(x).grad_fn]]  # runs again
    np.testing.assert_array_equal(outs[1][0], outs[0][0])
    for a, e in zip(outs[1][1:], outs[0][1:]):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-11)
    fused.eval()
    assert not fused[1].training and model[1].training
    with ember.no_grad():
        model.eval()
        np.testing.assert_array_equal(fused(x).numpy(), model(x).numpy())


def test_fused_block_reports_bad_input_as_batch_norm():
    fused = fuse(_cifar_block())
    with pytest.raises(ValueError, match=r"expected input with 8 channels, got shape \(2, 5, 8, 8\)"):
        fused[1](ember.zeros(2, 5, 8, 8))


def test_fuse_skips_a_batch_norm_block_with_hooks_or_indices():
    model = _cifar_block()
    model[2].register_forward_hook(lambda *a: None)
    assert not any(isinstance(m, FusedBatchNormReLUMaxPool2d) for m in fuse(model).modules())
    model = _cifar_block()
    model[3].return_indices = True
    assert not any(isinstance(m, FusedBatchNormReLUMaxPool2d) for m in fuse(model).modules())
