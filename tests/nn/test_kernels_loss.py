"""ember.kernels.loss against the references of ember.ops.loss and ember.ops.classification:
values, first- and second-order gradients, float32 and float64, every reduction and option,
NaN and inf."""
import warnings

import numpy as np
import pytest

import ember.nn.functional as F
from higher_order_helpers import kernel_matches_reference

TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
REDUCTIONS = ["mean", "sum", "none"]

POINTWISE = [
    ("MSE", "mse_loss", {}), ("L1", "l1_loss", {}), ("Huber", "huber_loss", {"delta": 0.7}),
    ("Huber", "smooth_l1_loss", {"beta": 0.6}), ("L1", "smooth_l1_loss", {"beta": 0.0}),
    ("KLDiv", "kl_div", {}), ("KLDiv", "kl_div", {"log_target": True}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kernel,name,kw", POINTWISE, ids=[f"{n}{kw}" for _, n, kw in POINTWISE])
def test_pointwise_kernel_matches_reference(rng, kernel, name, kw, reduction, dtype):
    x, t = (rng.standard_normal((5, 3)) * 2).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    if name == "kl_div" and not kw:
        t = rng.random((5, 3)).astype(dtype)
        t[0, 0] = 0  # xlogy(0, 0) = 0, and its gradient
    fn = lambda x, t: getattr(F, name)(x, t, reduction=reduction, **kw)  # noqa: E731
    kernel_matches_reference(fn, [x, t], [True, True], kernel=kernel, **TOL[dtype])
    if name == "kl_div":
        fn = lambda x, t: F.kl_div(x, t, reduction="batchmean", **kw)  # noqa: E731
        kernel_matches_reference(fn, [x, t], [True, True], kernel=kernel, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_kernels_match_reference(rng, reduction, dtype):
    x = rng.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    z = (rng.standard_normal((4, 3)) * 3).astype(dtype)
    t = rng.uniform(0, 1, (4, 3)).astype(dtype)
    for w in [None, rng.random(3).astype(dtype), rng.random((4, 1)).astype(dtype)]:
        fn = lambda x, t: F.binary_cross_entropy(x, t, weight=w, reduction=reduction)  # noqa: E731
        kernel_matches_reference(fn, [x, t], [True, True], kernel="BCE", **TOL[dtype])
        for pw in [None, rng.uniform(0.5, 3, 3).astype(dtype)]:
            fn = lambda z, t: F.binary_cross_entropy_with_logits(z, t, weight=w, reduction=reduction,  # noqa: E731
                                                                 pos_weight=pw)
            kernel_matches_reference(fn, [z, t], [True, True], kernel="BCEWithLogits", **TOL[dtype])


def test_binary_cross_entropy_kernel_at_0_and_1_as_reference():
    # finite input gradients (PyTorch's formula), infinite target gradients, as PyTorch
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, _ = kernel_matches_reference(lambda x, t: F.binary_cross_entropy(x, t, reduction="none"), [x, t],
                                          [True, True], kernel="BCE", second=False, **TOL[np.float64])
    assert np.isfinite(got[1][0]).all() and np.isinf(got[1][1][:4]).all()


NONFINITE = [
    ("MSE", lambda x, t: F.mse_loss(x, t, reduction="none")),
    ("L1", lambda x, t: F.l1_loss(x, t, reduction="sum")),
    ("Huber", lambda x, t: F.huber_loss(x, t, reduction="none", delta=0.5)),
    ("Huber", lambda x, t: F.smooth_l1_loss(x, t, reduction="none", beta=2.0)),
    ("BCEWithLogits", lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none",
                                                                      pos_weight=np.array([2.0, 0.5, 1.0]))),
    ("KLDiv", lambda x, t: F.kl_div(x, t, reduction="none", log_target=True)),
]


@pytest.mark.parametrize("kernel,fn", NONFINITE, ids=[f"{k}{i}" for i, (k, _) in enumerate(NONFINITE)])
def test_pointwise_kernels_nan_and_inf_as_reference(kernel, fn):
    # NaN and +-inf in either argument: the same values and gradients (NaN where NaN) in both;
    # PyTorch's rules (L1's gradient 0 at NaN, Huber's NaN at NaN and +-delta at inf) hold
    x = np.array([[np.nan, 1.0, np.inf], [-np.inf, 0.3, 2.0], [np.inf, -np.inf, 0.5]])
    t = np.array([[0.5, np.nan, 1.0], [0.0, np.inf, 2.0], [np.inf, 1.0, -0.5]])
    with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kernel_matches_reference(fn, [x, t], [True, True], kernel=kernel, second=False, **TOL[np.float64])


def _labels(rng, shape, C, ignore=None):
    t = rng.integers(0, C, shape)
    if ignore is not None:
        t.flat[::3] = ignore
    return t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)], ids=["2d", "4d"])
def test_cross_entropy_and_nll_kernels_match_reference(rng, shape, reduction, dtype):
    C = shape[1]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    w = rng.uniform(0.2, 2, C).astype(dtype)
    tshape = shape[:1] + shape[2:]
    cases = [({}, None), ({"weight": w}, None), ({"ignore_index": 1}, 1), ({"ignore_index": 255, "weight": w}, 255),
             ({"label_smoothing": 0.2}, None), ({"label_smoothing": 0.3, "weight": w, "ignore_index": -100}, -100),
             ({"label_smoothing": 1.0}, None)]
    for kw, ignore in cases:
        t = _labels(rng, tshape, C, ignore)
        fn = lambda x: F.cross_entropy(x, t, reduction=reduction, **kw)  # noqa: E731
        kernel_matches_reference(fn, [x], [True], kernel="CrossEntropy", **TOL[dtype])
        nkw = {k: v for k, v in kw.items() if k != "label_smoothing"}
        fn = lambda x: F.nll_loss(x, t, reduction=reduction, **nkw)  # noqa: E731
        kernel_matches_reference(fn, [x], [True], kernel="NLL", **TOL[dtype])


def test_cross_entropy_kernel_on_infinite_and_nan_logits_as_reference():
    # -inf logits of other classes: a finite loss; of an ignored label: nothing; a NaN row: NaN
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, 0.0], [np.nan, 0.0, 1.0], [-np.inf, 0.0, 1.0]])
    t = np.array([0, 1, 2, -100])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for reduction in REDUCTIONS:
            got, _ = kernel_matches_reference(lambda x: F.cross_entropy(x, t, reduction=reduction), [x], [True],
                                              kernel="CrossEntropy", second=False, **TOL[np.float64])
            got, _ = kernel_matches_reference(lambda x: F.nll_loss(F.log_softmax(x, 1), t, reduction=reduction),
                                              [x], [True], kernel="NLL", second=False, **TOL[np.float64])
        got, _ = kernel_matches_reference(lambda x: F.cross_entropy(x, t, reduction="none"), [x], [True],
                                          kernel="CrossEntropy", second=False, **TOL[np.float64])
    assert np.isfinite(got[0][[0, 1, 3]]).all() and np.isnan(got[0][2]) and got[0][3] == 0
