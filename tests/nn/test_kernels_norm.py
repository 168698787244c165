"""ember.kernels.norm against ember.ops.norm's references: values, first- and second-order
gradients and running stats, float32 and float64, C-order and channels-last input, NaN/inf."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.kernels import norm as kn
from higher_order_helpers import kernel_matches_reference, kernels

TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-11)}


def _channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def _bn_inputs(rng, shape, dtype, layout):
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    if layout == "channels_last":
        x = _channels_last(x)
        assert x.transpose(0, 2, 3, 1).flags.c_contiguous
    c = shape[1]
    w, b = rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    return x, w, b, rm, rv


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", ["both", "none", "weight", "bias"])
@pytest.mark.parametrize("shape,layout", [((6, 3), "C"), ((4, 3, 5), "C"), ((4, 3, 5, 6), "C"),
                                          ((4, 3, 5, 6), "channels_last"), ((2, 3, 2, 3, 2), "C")])
def test_batch_norm_kernel_matches_reference(rng, dtype, training, affine, shape, layout):
    x, w, b, rm, rv = _bn_inputs(rng, shape, dtype, layout)
    arrays, diff = [x], [True]
    if affine in ("both", "weight"):
        arrays.append(w)
    if affine in ("both", "bias"):
        arrays.append(b)
    diff += [True] * (len(arrays) - 1)

    def fn(x, *wb):
        kw = {"weight": wb[0] if affine in ("both", "weight") else None,
              "bias": wb[-1] if affine in ("both", "bias") else None}
        return F.batch_norm(x, rm.copy(), rv.copy(), training=training, momentum=0.3, eps=1e-3, **kw)

    kernel_matches_reference(fn, arrays, diff, kernel="BatchNorm", **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "channels_last"])
def test_batch_norm_kernel_updates_running_stats_as_the_reference(rng, dtype, layout):
    x, w, b, rm, rv = _bn_inputs(rng, (4, 3, 5, 6), dtype, layout)
    got = []
    for on in (True, False):
        m, v = rm.copy(), rv.copy()
        with kernels(on):
            F.batch_norm(ember.Tensor(x), m, v, w, b, training=True, momentum=0.3)
        got.append((m, v))
    np.testing.assert_allclose(got[0][0], got[1][0], **TOL[dtype])
    np.testing.assert_allclose(got[0][1], got[1][1], **TOL[dtype])
    assert got[0][0].dtype == dtype and not np.allclose(got[0][0], rm)
    # second-order gradients run the kernel's reference, which does not update the stats again
    m, v = rm.copy(), rv.copy()
    with kernels(True):
        xt = ember.Tensor(x, requires_grad=True)
        y = F.batch_norm(xt, m, v, w, b, training=True, momentum=0.3)
        (g,) = ember.autograd.grad([(y * y).sum()], [xt], create_graph=True)
        ember.autograd.grad([g.sum()], [xt])
    np.testing.assert_array_equal(m, got[0][0])
    np.testing.assert_array_equal(v, got[0][1])


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("layout", ["C", "channels_last"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_batch_norm_kernel_nan_and_inf_as_reference(rng, training, layout, bad):
    # one non-finite value spoils its channel's batch statistics (training), or only its own
    # output (eval); the other channels are untouched, in both
    x, w, b, rm, rv = _bn_inputs(rng, (4, 3, 5, 6), np.float64, layout)
    x = x.copy() if layout == "C" else _channels_last(np.array(x))
    x[1, 2, 3, 4] = bad

    def fn(x, w, b):
        return F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    got, ref = kernel_matches_reference(fn, [x, w, b], [True, True, True], kernel="BatchNorm", second=False,
                                        **TOL[np.float64])
    assert np.isfinite(got[0][:, :2]).all()
    assert not np.isfinite(got[0][:, 2]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("normalized,shape", [(6, (4, 6)), ((3, 4), (2, 5, 3, 4)), (5, (5,))])
@pytest.mark.parametrize("affine", ["both", "none", "weight", "bias"])
def test_layer_norm_kernel_matches_reference(rng, dtype, normalized, shape, affine):
    ns = (normalized,) if isinstance(normalized, int) else normalized
    x = (rng.standard_normal(shape) * 3 - 1).astype(dtype)
    arrays = [x]
    if affine in ("both", "weight"):
        arrays.append(rng.standard_normal(ns).astype(dtype))
    if affine in ("both", "bias"):
        arrays.append(rng.standard_normal(ns).astype(dtype))

    def fn(x, *wb):
        return F.layer_norm(x, normalized, wb[0] if affine in ("both", "weight") else None,
                            wb[-1] if affine in ("both", "bias") else None, eps=1e-4)

    kernel_matches_reference(fn, arrays, [True] * len(arrays), kernel="LayerNorm", **TOL[dtype])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_layer_norm_kernel_nan_and_inf_as_reference(rng, bad):
    x = rng.standard_normal((3, 4, 5))
    x[1, 2, 3] = bad
    w, b = rng.standard_normal(5), rng.standard_normal(5)
    got, _ = kernel_matches_reference(lambda x, w, b: F.layer_norm(x, 5, w, b), [x, w, b], [True] * 3,
                                      kernel="LayerNorm", second=False, **TOL[np.float64])
    bad_row = np.zeros((3, 4), bool)
    bad_row[1, 2] = True
    assert np.isfinite(got[0][~bad_row]).all() and not np.isfinite(got[0][bad_row]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("groups,shape", [(2, (3, 6, 4)), (3, (2, 6, 3, 3)), (1, (2, 6)), (6, (2, 6, 5))])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_kernel_matches_reference(rng, dtype, groups, shape, affine):
    x = (rng.standard_normal(shape) + 2).astype(dtype)
    arrays = [x] + ([rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)] if affine else [])

    def fn(x, *wb):
        return F.group_norm(x, groups, *wb, eps=1e-4)

    kernel_matches_reference(fn, arrays, [True] * len(arrays), kernel="LayerNorm", **TOL[dtype])


def test_batch_norm_kernel_keeps_channels_last_and_is_split_in_blocks(rng, monkeypatch):
    # blocks of a few rows: the per-channel sums come in parts, and still match the reference
    monkeypatch.setattr(kn, "_BLOCK", 64)
    x, w, b, rm, rv = _bn_inputs(rng, (4, 3, 5, 6), np.float64, "channels_last")
    kernel_matches_reference(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                             [x, w, b], [True] * 3, kernel="BatchNorm", **TOL[np.float64])
    with kernels(True):
        xt = ember.Tensor(x, requires_grad=True)  # shares x: keeps its layout
        y = F.batch_norm(xt, None, None, ember.Tensor(w), ember.Tensor(b), training=True)
        y.backward(np.ones(y.shape))
    assert y.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous and xt.grad.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("layout", ["C", "channels_last"])
def test_batch_norm_kernel_is_stable_far_from_zero(rng, layout):
    # a mean of 1e3 over a spread of 1: float32's precision there is 6e-5; measured errors
    # 0.6-1.1e-4 (PyTorch's: 0.2-1.3e-4)
    x64 = rng.standard_normal((8, 4, 6, 6)) + 1e3
    x = x64.astype(np.float32)
    if layout == "channels_last":
        x = _channels_last(x)
    with kernels(True):
        xt = ember.Tensor(x, requires_grad=True)
        y = F.batch_norm(xt, None, None, training=True)
        gy = rng.standard_normal(x.shape).astype(np.float32)
        y.backward(ember.Tensor(gy))
    with kernels(False):
        xr = ember.Tensor(x.astype(np.float64), requires_grad=True)
        yr = F.batch_norm(xr, None, None, training=True)
        yr.backward(ember.Tensor(gy.astype(np.float64)))
    np.testing.assert_allclose(y.detach().numpy(), yr.detach().numpy(), atol=3e-4)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), atol=3e-4)


def test_batch_norm_kernel_refuses_an_input_changed_after_forward(rng):
    # as PyTorch: the input of a batch norm changed in place before backward is refused
    x, w, b, _, _ = _bn_inputs(rng, (4, 3, 5, 6), np.float32, "channels_last")
    with kernels(True):
        xt = ember.Tensor(x, requires_grad=True)
        h = xt * 1.0
        y = F.batch_norm(h, None, None, ember.Tensor(w), ember.Tensor(b), training=True)
        with ember.no_grad():
            h.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
