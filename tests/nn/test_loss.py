"""Losses: values and gradients (input and target) against PyTorch for every reduction,
weight, ignore_index, label smoothing, pos_weight and probability targets; float64
gradchecks; stability at extreme logits; error messages; modules."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.gradcheck import gradgradcheck
from higher_order_helpers import against_torch, kernel_mode, kernels, kernels_on  # noqa: F401  (fixtures)

REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _compare(torch, fn, tfn, arrays, grads, dtype, rng, **kw):
    """Run fn(*ember tensors, **kw) and tfn(*torch tensors, **kw); compare values and grads.

    ``grads[i]`` says whether array i requires grad; array keyword values go to torch as tensors.
    """
    es = [ember.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    y, ty = fn(*es, **kw), tfn(*ts, **tkw)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dtype])
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    for e, t, g in zip(es, ts, grads):
        if g:
            assert e.grad.dtype == dtype
            np.testing.assert_allclose(e.grad, t.grad.numpy(), **TOL[dtype])
    return y


def _shape(rng):
    return tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 4)))


# ----- regression losses, BCE, KL -----

POINTWISE = [
    ("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7}), ("huber_loss", {}),
    ("smooth_l1_loss", {"beta": 0.6}), ("smooth_l1_loss", {"beta": 0.0}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", POINTWISE, ids=[f"{n}{kw}" for n, kw in POINTWISE])
def test_regression_losses(torch, rng, name, kw, reduction, dtype):
    shape = _shape(rng)
    x, t = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    _compare(torch, getattr(F, name), getattr(torch.nn.functional, name), [x, t], [True, True], dtype, rng,
             reduction=reduction, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(torch, rng, reduction, dtype):
    x = rng.uniform(0.02, 0.98, (4, 3)).astype(dtype)
    t = rng.uniform(0, 1, (4, 3)).astype(dtype)
    for w in [None, rng.random(3).astype(dtype), rng.random((4, 1)).astype(dtype)]:
        kw = {} if w is None else {"weight": w}
        _compare(torch, F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, [x, t], [True, True],
                 dtype, rng, reduction=reduction, **kw)


def test_binary_cross_entropy_at_0_and_1(torch):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    _compare(torch, F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, [x, t], [True, False],
             np.float32, np.random.default_rng(0), reduction="none")
    assert F.binary_cross_entropy(x, t, reduction="none").data[2] == 100  # log clamped at -100


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(torch, rng, reduction, dtype):
    x = (rng.standard_normal((5, 3)) * 3).astype(dtype)
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    fn, tfn = F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits
    for kw in [{}, {"weight": rng.random(3).astype(dtype)}, {"pos_weight": rng.uniform(0.5, 3, 3).astype(dtype)},
               {"weight": rng.random((5, 1)).astype(dtype), "pos_weight": rng.uniform(0.5, 3, 3).astype(dtype)}]:
        _compare(torch, fn, tfn, [x, t], [True, True], dtype, rng, reduction=reduction, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div(torch, rng, reduction, dtype):
    x = np.log(rng.dirichlet(np.ones(4), size=3)).astype(dtype)
    t = rng.dirichlet(np.ones(4), size=3).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns that 'mean' is not the true KL
        _compare(torch, F.kl_div, torch.nn.functional.kl_div, [x, t], [True, True], dtype, rng, reduction=reduction)
        _compare(torch, F.kl_div, torch.nn.functional.kl_div, [x, np.log(t)], [True, True], dtype, rng,
                 reduction=reduction, log_target=True)
    t[0, 1] = 0  # xlogy(0, 0) = 0
    _compare(torch, F.kl_div, torch.nn.functional.kl_div, [x, t], [True, False], dtype, rng, reduction="sum")


# ----- cross-entropy and NLL -----


def _labels(rng, shape, C, ignore=None):
    t = rng.integers(0, C, shape)
    if ignore is not None:
        t.flat[:: 3] = ignore
    return t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)], ids=["2d", "4d"])
def test_cross_entropy_labels(torch, rng, shape, reduction, dtype):
    C = shape[1]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    tshape = shape[:1] + shape[2:]
    w = rng.uniform(0.2, 2, C).astype(dtype)
    fn, tfn = F.cross_entropy, torch.nn.functional.cross_entropy
    cases = [
        ({}, None), ({"weight": w}, None), ({"ignore_index": -100}, -100), ({"ignore_index": 1}, 1),
        ({"ignore_index": 255, "weight": w}, 255), ({"label_smoothing": 0.2}, None),
        ({"label_smoothing": 0.3, "weight": w, "ignore_index": -100}, -100), ({"label_smoothing": 1.0}, None),
    ]
    for kw, ignore in cases:
        t = _labels(rng, tshape, C, ignore)
        _compare(torch, fn, tfn, [x, t], [True, False], dtype, rng, reduction=reduction, **kw)
        _compare(torch, F.nll_loss, torch.nn.functional.nll_loss, [x, t], [True, False], dtype, rng,
                 reduction=reduction, **{k: v for k, v in kw.items() if k != "label_smoothing"})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(torch, rng, reduction, dtype):
    for shape in [(5, 4), (2, 3, 2, 2)]:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        p = np.moveaxis(rng.dirichlet(np.ones(shape[1]), size=shape[:1] + shape[2:]), -1, 1).astype(dtype)
        w = rng.uniform(0.2, 2, shape[1]).astype(dtype)
        for kw in [{}, {"weight": w}, {"label_smoothing": 0.25}, {"weight": w, "label_smoothing": 0.1}]:
            _compare(torch, F.cross_entropy, torch.nn.functional.cross_entropy, [x, p], [True, True], dtype, rng,
                     reduction=reduction, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_unbatched_input(torch, rng, reduction):
    x = rng.standard_normal(5).astype(np.float32)
    for fn, tfn, t in [(F.cross_entropy, torch.nn.functional.cross_entropy, np.array(3)),
                       (F.cross_entropy, torch.nn.functional.cross_entropy, rng.dirichlet(np.ones(5)).astype(np.float32)),
                       (F.nll_loss, torch.nn.functional.nll_loss, np.array(2))]:
        y = _compare(torch, fn, tfn, [x, t], [True, False], np.float32, rng, reduction=reduction)
        assert y.shape == ()


def test_all_targets_ignored_gives_nan_like_torch(torch):
    x = np.zeros((2, 3), np.float32)
    t = np.array([-100, -100])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.cross_entropy(ember.tensor(x, requires_grad=True), t)
    assert np.isnan(y.item()) and np.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)).item())
    assert F.cross_entropy(x, t, reduction="sum").item() == 0


def test_cross_entropy_is_one_fused_function(kernels_on):
    x = ember.randn(4, 10, requires_grad=True)
    loss = F.cross_entropy(x, np.array([1, 2, 3, 4]), label_smoothing=0.1)
    assert type(loss.grad_fn).__name__ == "CrossEntropy" and loss.grad_fn.inputs == (x,)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_plain_path_equals_the_general_one(kernels_on, rng, reduction):
    # (N, C) logits with plain labels take a shortcut; unit class weights force the general
    # path, which must give the very same numbers
    x = rng.standard_normal((64, 10)).astype(np.float32) * 4
    t = rng.integers(0, 10, 64)
    a, b = ember.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    la = F.cross_entropy(a, t, reduction=reduction)
    lb = F.cross_entropy(b, t, reduction=reduction, weight=np.ones(10, np.float32))
    assert la.grad_fn.plain and not lb.grad_fn.plain
    la.backward()
    lb.backward()
    assert la.dtype == np.float32 and la.item() == lb.item()
    np.testing.assert_array_equal(a.grad, b.grad)


# ----- gradchecks (float64, finite differences) -----

GRADCHECKS = [
    ("mse", lambda x, t: F.mse_loss(x, t, reduction="none")),
    ("l1", lambda x, t: F.l1_loss(x, t)),
    ("huber", lambda x, t: F.huber_loss(x, t, reduction="sum", delta=0.5)),
    ("smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5)),
    ("bce", lambda x, t: F.binary_cross_entropy(F.sigmoid(x), F.sigmoid(t), weight=np.array([1.0, 2, 0.5]))),
    ("bce_logits", lambda x, t: F.binary_cross_entropy_with_logits(
        x, F.sigmoid(t), reduction="none", weight=np.array([1.0, 2, 0.5]), pos_weight=np.array([2.0, 0.5, 1]))),
    ("kl_div", lambda x, t: F.kl_div(F.log_softmax(x), F.softmax(t), reduction="batchmean")),
    ("kl_div_log", lambda x, t: F.kl_div(F.log_softmax(x), F.log_softmax(t), log_target=True)),
    ("ce_probs", lambda x, t: F.cross_entropy(x, F.softmax(t), weight=np.array([1.0, 2, 0.5]), label_smoothing=0.1)),
    ("ce_labels", lambda x, t: F.cross_entropy(x, np.array([0, 2, -100, 1]), weight=np.array([1.0, 2, 0.5]),
                                               label_smoothing=0.2) + 0 * t.sum()),
    ("ce_labels_none", lambda x, t: F.cross_entropy(x, np.array([0, 2, 2, 1]), reduction="none") + 0 * t.sum()),
    ("ce_labels_plain", lambda x, t: F.cross_entropy(x, np.array([0, 2, 2, 1])) + 0 * t.sum()),
    ("nll", lambda x, t: F.nll_loss(x, np.array([0, 2, 1, 1]), weight=np.array([1.0, 2, 0.5]), ignore_index=1)
     + 0 * t.sum()),
]


@pytest.mark.parametrize("name,fn", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_gradcheck(rng, name, fn):
    x = rng.standard_normal((4, 3))
    t = rng.standard_normal((4, 3))
    x[np.abs(x - t) < 1e-3] += 0.01  # keep L1 off its kink
    assert ember.gradcheck(fn, [ember.tensor(x, requires_grad=True), ember.tensor(t, requires_grad=True)])


def test_gradcheck_cross_entropy_4d(rng):
    t = np.array([[[0, 1], [2, 2]], [[1, 0], [-100, 2]]])
    fn = lambda x: F.cross_entropy(x, t, weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.15)  # noqa: E731
    assert ember.gradcheck(fn, [ember.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)])


# ----- stability -----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite_and_quiet(torch, dtype):
    x = np.array([[1e4, -1e4, 0], [-1e4, -1e4, 1e4], [-1e4, 1e4, -1e4]], dtype)
    labels = np.array([1, 2, 0])
    probs = np.array([[0.0, 1, 0], [0.5, 0.5, 0], [1, 0, 0]], dtype)
    binary = np.array([[1.0, 0, 1], [0, 1, 0], [1, 1, 0]], dtype)
    cases = [
        (lambda e: F.cross_entropy(e, labels), lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(labels))),
        (lambda e: F.cross_entropy(e, labels, label_smoothing=0.1, weight=np.array([1.0, 2, 3])),
         lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(labels), label_smoothing=0.1,
                                                     weight=torch.tensor([1.0, 2, 3], dtype=t.dtype))),
        (lambda e: F.cross_entropy(e, probs), lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(probs))),
        (lambda e: F.binary_cross_entropy_with_logits(e, binary, pos_weight=np.array([2.0, 1, 0.5])),
         lambda t: torch.nn.functional.binary_cross_entropy_with_logits(
             t, torch.tensor(binary), pos_weight=torch.tensor([2.0, 1, 0.5], dtype=t.dtype))),
    ]
    for fn, tfn in cases:
        e = ember.tensor(x, requires_grad=True)
        # underflow (exp(-2e4) = 0) is the exact answer and ignored by NumPy's default; the rest raises
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            y = fn(e)
            y.backward()
        assert np.isfinite(y.detach().numpy()).all() and np.isfinite(e.grad.detach().numpy()).all()
        t = torch.tensor(x, requires_grad=True)
        ty = tfn(t)
        ty.backward()
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(e.grad, t.grad.numpy(), rtol=1e-6, atol=1e-7)


# ----- errors -----


def test_errors():
    x = ember.randn(4, 10)
    with pytest.raises(IndexError, match="cross_entropy: target 10 is out of range for 10 classes"):
        F.cross_entropy(x, np.array([1, 10, 2, 3]))
    with pytest.raises(IndexError, match="nll_loss: target -1 is out of range for 10 classes"):
        F.nll_loss(x, np.array([1, -1, 2, 3]))
    with pytest.raises(IndexError, match="target 255 is out of range"):
        F.cross_entropy(x, np.array([1, 255, 2, 3]), ignore_index=-100)
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \(4,\) for input of shape \(4, 10\), got \(5,\)"):
        F.cross_entropy(x, np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"cross_entropy: expected integer class labels of shape \(4,\) or class probabilities"):
        F.cross_entropy(x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"weight must have one entry per class \(10\), got shape \(9,\)"):
        F.cross_entropy(x, np.zeros(4, np.int64), weight=np.ones(9))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.zeros(4, np.int64), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) does not match input shape \(4, 1\)"):
        F.mse_loss(ember.randn(4, 1), ember.randn(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target shape \(3,\) does not match input shape \(2,\)"):
        F.binary_cross_entropy_with_logits(ember.randn(2), ember.randn(3))
    with pytest.raises(ValueError, match="pos_weight of shape \\(4,\\) does not broadcast to \\(2, 3\\)"):
        F.binary_cross_entropy_with_logits(ember.randn(2, 3), ember.rand(2, 3), pos_weight=np.ones(4))
    with pytest.raises(ValueError, match="l1_loss: reduction must be one of 'none', 'mean', 'sum', got 'avg'"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="'none', 'mean', 'sum', 'batchmean', got 'batch'"):
        F.kl_div(x, x, reduction="batch")
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\]"):
        F.binary_cross_entropy(ember.tensor([0.5, 1.5]), ember.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="expected integer class labels, got target of dtype float32"):
        F.nll_loss(x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be one of"):
        nn.CrossEntropyLoss(reduction="mena")
    with pytest.raises(ValueError, match="SmoothL1Loss: beta must be non-negative, got -1"):
        nn.SmoothL1Loss(beta=-1)


# ----- modules -----


def test_modules_match_functional_and_torch(torch, rng):
    x = (rng.standard_normal((5, 4)) * 2).astype(np.float32)
    t = rng.uniform(0, 1, (5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, -100, 2])
    w = rng.uniform(0.5, 2, 4).astype(np.float32)
    sig = 1 / (1 + np.exp(-x))
    cases = [
        ("MSELoss", {}, x, t), ("L1Loss", {"reduction": "sum"}, x, t), ("HuberLoss", {"delta": 0.5}, x, t),
        ("SmoothL1Loss", {"beta": 0.5, "reduction": "none"}, x, t),
        ("CrossEntropyLoss", {"weight": w, "label_smoothing": 0.1}, x, labels),
        ("NLLLoss", {"weight": w, "ignore_index": 3}, x, np.array([0, 3, 1, 1, 2])),
        ("BCELoss", {"weight": w}, sig, t), ("BCEWithLogitsLoss", {"pos_weight": w}, x, t),
        ("KLDivLoss", {"reduction": "batchmean"}, np.log(sig), t),
        ("MSELoss", {"size_average": False}, x, t), ("L1Loss", {"reduce": False}, x, t),
    ]
    for name, kw, a, b in cases:
        m = getattr(nn, name)(**kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch deprecates the legacy size_average/reduce flags
            tm = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
            want = tm(torch.tensor(a), torch.tensor(b)).numpy()
        assert repr(m) == repr(tm) == f"{name}()"
        assert sorted(m.state_dict()) == sorted(tm.state_dict())
        np.testing.assert_allclose(m(ember.tensor(a), ember.tensor(b)).data, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m(a, b).data, want, rtol=1e-5, atol=1e-6)  # ndarrays too


def test_loss_weight_is_a_buffer_that_loads_from_torch(torch):
    tm = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]))
    m = nn.CrossEntropyLoss(weight=np.ones(3, np.float32))
    m.load_state_dict(tm.state_dict())
    np.testing.assert_array_equal(m.weight, [1, 2, 3])
    x, t = np.eye(3, dtype=np.float32), np.array([2, 1, 0])
    np.testing.assert_allclose(m(x, t).item(), tm(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-6)


# ----- the references against PyTorch, to second order (float64) -----

SECOND_ORDER = [
    ("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7}), ("smooth_l1_loss", {"beta": 0.6}),
    ("smooth_l1_loss", {"beta": 0.0}), ("kl_div", {}), ("kl_div", {"log_target": True}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", SECOND_ORDER, ids=[f"{n}{kw}" for n, kw in SECOND_ORDER])
def test_pointwise_reference_to_second_order(torch, rng, name, kw, reduction):
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    if name == "kl_div":
        x, t = np.log(rng.dirichlet(np.ones(3), size=4)), rng.dirichlet(np.ones(3), size=4)
        t = np.log(t) if kw else t
    with kernels(False), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns that kl_div's 'mean' is not the true KL
        against_torch(torch, lambda x, t: getattr(F, name)(x, t, reduction=reduction, **kw),
                      lambda x, t: getattr(torch.nn.functional, name)(x, t, reduction=reduction, **kw),
                      [x, t], [True, True], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_reference_to_second_order(torch, rng, reduction):
    x, t = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    for w in [None, rng.random(3), rng.random((4, 1))]:
        kw = {} if w is None else {"weight": w}
        with kernels(False):
            against_torch(torch, lambda x, t: F.binary_cross_entropy(x, t, reduction=reduction, **kw),
                          lambda x, t: torch.nn.functional.binary_cross_entropy(
                              x, t, reduction=reduction, **{k: torch.tensor(v) for k, v in kw.items()}),
                          [x, t], [True, True], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_reference_to_second_order(torch, rng, reduction):
    x, t = rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, (4, 3))
    for kw in [{}, {"weight": rng.random(3)}, {"pos_weight": rng.uniform(0.5, 3, 3)},
               {"weight": rng.random((4, 1)), "pos_weight": rng.uniform(0.5, 3, 3)}]:
        with kernels(False):
            against_torch(torch, lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw),
                          lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(
                              x, t, reduction=reduction, **{k: torch.tensor(v) for k, v in kw.items()}),
                          [x, t], [True, True], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 2, 2)], ids=["2d", "4d"])
def test_cross_entropy_and_nll_reference_to_second_order(torch, rng, shape, reduction):
    C = shape[1]
    x = rng.standard_normal(shape) * 2
    w = rng.uniform(0.2, 2, C)
    tshape = shape[:1] + shape[2:]
    cases = [({}, None), ({"weight": w}, None), ({"ignore_index": 1}, 1), ({"label_smoothing": 0.2}, None),
             ({"label_smoothing": 0.3, "weight": w, "ignore_index": -100}, -100)]
    for kw, ignore in cases:
        t = _labels(rng, tshape, C, ignore)
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        nkw, ntkw = ({k: v for k, v in d.items() if k != "label_smoothing"} for d in (kw, tkw))
        with kernels(False):
            against_torch(torch, lambda x: F.cross_entropy(x, t, reduction=reduction, **kw),
                          lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(t), reduction=reduction, **tkw),
                          [x], [True], rng)
            against_torch(torch, lambda x: F.nll_loss(x, t, reduction=reduction, **nkw),
                          lambda x: torch.nn.functional.nll_loss(x, torch.tensor(t), reduction=reduction, **ntkw),
                          [x], [True], rng)
    p = np.moveaxis(rng.dirichlet(np.ones(C), size=tshape), -1, 1)
    for kw in [{}, {"weight": w, "label_smoothing": 0.1}]:
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        with kernels(False):
            against_torch(torch, lambda x, p: F.cross_entropy(x, p, reduction=reduction, **kw),
                          lambda x, p: torch.nn.functional.cross_entropy(x, p, reduction=reduction, **tkw),
                          [x, p], [True, True], rng)


# ----- second-order finite differences of every loss (kernels on: through their references) -----

GRADGRADCHECKS = [g for g in GRADCHECKS if g[0] != "l1"] + [
    ("l1_off_kink", lambda x, t: F.l1_loss(x, t, reduction="sum")),
    ("smooth_l1_beta0", lambda x, t: F.smooth_l1_loss(x, t, beta=0.0)),
    ("bce_plain", lambda x, t: F.binary_cross_entropy(F.sigmoid(x), F.sigmoid(t), reduction="sum")),
    ("bce_logits_plain", lambda x, t: F.binary_cross_entropy_with_logits(x, F.sigmoid(t))),
    ("kl_div_mean", lambda x, t: F.kl_div(F.log_softmax(x), F.softmax(t))),
    ("nll_plain", lambda x, t: F.nll_loss(F.log_softmax(x), np.array([0, 2, 1, 1])) + 0 * t.sum()),
]


@pytest.mark.parametrize("name,fn", GRADGRADCHECKS, ids=[g[0] for g in GRADGRADCHECKS])
def test_gradgradcheck(kernel_mode, rng, name, fn):
    x = rng.standard_normal((4, 3))
    t = rng.standard_normal((4, 3))
    x[np.abs(x - t) < 0.05] += 0.1  # keep L1 and Huber off their kinks
    x[np.abs(np.abs(x - t) - 0.5) < 0.05] += 0.1
    assert gradgradcheck(fn, [ember.tensor(x, requires_grad=True), ember.tensor(t, requires_grad=True)])


def test_gradgradcheck_cross_entropy_4d(kernel_mode, rng):
    t = np.array([[[0, 1], [2, 2]], [[1, 0], [-100, 2]]])
    fn = lambda x: F.cross_entropy(x, t, weight=np.array([0.5, 1.0, 2.0]), label_smoothing=0.15)  # noqa: E731
    assert gradgradcheck(fn, [ember.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)])
