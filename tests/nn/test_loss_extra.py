"""The margin, embedding and likelihood losses and CTC: each F form against PyTorch in float32
and float64 (values, input gradients, second-order ones where PyTorch has them), finite
differences to second order, the modules, reductions, weights and PyTorch's errors."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn import functional as F

from higher_order_helpers import against_torch


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=3e-5, atol=3e-6)


def _first_order(torch, fe, ft, arrays, diff, rng, rtol, atol):
    es = [ember.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    ts = [torch.tensor(a, requires_grad=d) for a, d in zip(arrays, diff)]
    y, ty = fe(*es), ft(*ts)
    assert y.shape == tuple(ty.shape) and str(y.dtype).split(".")[-1] == str(ty.dtype).split(".")[-1]
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(y.shape).astype(y.dtype)
    y.backward(ember.tensor(g)), ty.backward(torch.tensor(g))
    for e, t, d in zip(es, ts, diff):
        if d:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


def _sign(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _cases(rng):
    """(name, F call, arrays (float first), which are differentiated, PyTorch has 2nd order)."""
    x, y, z = (rng.standard_normal((4, 5)) for _ in range(3))
    return [
        ("triplet", lambda F, a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, reduction="none"), [x, y, z],
         [1, 1, 1], True),
        ("triplet_p1_swap", lambda F, a, p, n: F.triplet_margin_loss(a, p, n, margin=1.5, p=1, swap=True), [x, y, z],
         [1, 1, 1], True),
        ("triplet_dist", lambda F, a, p, n: F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1.0 - F.cosine_similarity(u, v), margin=0.8, reduction="sum"),
         [x, y, z], [1, 1, 1], True),
        ("triplet_dist_default", lambda F, a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True, margin=3.0),
         [x, y, z], [1, 1, 1], True),
        ("cosine_embedding", lambda F, a, b, t: F.cosine_embedding_loss(a, b, t, margin=-0.2, reduction="none"),
         [x, y, np.array([1.0, -1.0, 1.0, -1.0])], [1, 1, 0], True),
        ("cosine_embedding_mean", lambda F, a, b, t: F.cosine_embedding_loss(a, b, t, margin=-0.5),
         [x, y, np.array([1.0, -1.0, -1.0, -1.0])], [1, 1, 0], True),
        ("margin_ranking", lambda F, a, b, t: F.margin_ranking_loss(a, b, t, margin=0.3), [x, y, _sign(rng, (4, 5))],
         [1, 1, 1], True),
        ("margin_ranking_bcast", lambda F, a, b, t: F.margin_ranking_loss(a, b, t, reduction="none"),
         [x, y[:1], _sign(rng, (4, 5))], [1, 1, 0], True),
        ("gaussian_nll", lambda F, a, t, v: F.gaussian_nll_loss(a, t, v, full=True), [x, y, rng.random((4, 5)) + 0.1],
         [1, 1, 1], True),
        ("gaussian_nll_homo", lambda F, a, t, v: F.gaussian_nll_loss(a, t, v, reduction="sum"),
         [x, y, rng.random(4) + 0.1], [1, 1, 1], True),
        ("gaussian_nll_col", lambda F, a, t, v: F.gaussian_nll_loss(a, t, v, eps=1e-3, reduction="none"),
         [x, y, rng.random((4, 1)) + 0.1], [1, 1, 1], True),
        ("poisson_nll", lambda F, a, t: F.poisson_nll_loss(a, t), [x, rng.poisson(2.0, (4, 5)).astype(float)], [1, 1], True),
        ("poisson_nll_full", lambda F, a, t: F.poisson_nll_loss(a.abs() + 0.1, t, log_input=False, full=True,
                                                               reduction="none"),
         [x, rng.poisson(2.0, (4, 5)).astype(float)], [1, 0], True),
        ("hinge_embedding", lambda F, a, t: F.hinge_embedding_loss(a, t, margin=0.5), [x, _sign(rng, (4, 5))], [1, 0], True),
        ("hinge_embedding_none", lambda F, a, t: F.hinge_embedding_loss(a, t, reduction="none"), [x, _sign(rng, (5,))],
         [1, 0], True),
        ("soft_margin", lambda F, a, t: F.soft_margin_loss(a, t), [x, _sign(rng, (4, 5))], [1, 0], True),
        ("multilabel_soft_margin", lambda F, a, t: F.multilabel_soft_margin_loss(a, t, reduction="none"),
         [x, (rng.random((4, 5)) < 0.5).astype(float)], [1, 0], True),
        ("multilabel_soft_margin_w", lambda F, a, t, w: F.multilabel_soft_margin_loss(a, t, weight=w),
         [x, (rng.random((4, 5)) < 0.5).astype(float), rng.random(5)], [1, 0, 0], True),
        ("multilabel_margin", lambda F, a, t: F.multilabel_margin_loss(a, t, reduction="none"),
         [x, np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 0, 0, 0, 0], [4, 4, -1, 0, 0]])], [1, 0], False),
        ("multilabel_margin_1d", lambda F, a, t: F.multilabel_margin_loss(a, t), [x[0], np.array([2, 1, -1, 0, 0])],
         [1, 0], False),
        ("multi_margin", lambda F, a, t: F.multi_margin_loss(a, t, margin=0.7, reduction="none"),
         [x, np.array([0, 4, 2, 2])], [1, 0], False),
        ("multi_margin_p2_w", lambda F, a, t, w: F.multi_margin_loss(a, t, p=2, weight=w, reduction="sum"),
         [x, np.array([0, 4, 2, 2]), rng.random(5)], [1, 0, 0], False),
        ("multi_margin_1d", lambda F, a, t: F.multi_margin_loss(a, t), [x[0], np.array(3)], [1, 0], False),
    ]


NAMES = [c[0] for c in _cases(np.random.default_rng(0))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("i", range(len(NAMES)), ids=NAMES)
def test_against_torch(torch, rng, i, dtype):
    name, fn, arrays, diff, second = _cases(rng)[i]
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    diff = [bool(d) for d in diff]
    if second:
        against_torch(torch, lambda *a: fn(F, *a), lambda *a: fn(torch.nn.functional, *a), arrays, diff, rng, **_tol(dtype))
    else:
        _first_order(torch, lambda *a: fn(F, *a), lambda *a: fn(torch.nn.functional, *a), arrays, diff, rng, **_tol(dtype))


@pytest.mark.parametrize("i", range(len(NAMES)), ids=NAMES)
def test_gradcheck(rng, i):
    name, fn, arrays, diff, _ = _cases(rng)[i]
    ts = [ember.tensor(a, requires_grad=bool(d)) for a, d in zip(arrays, diff)]
    f = lambda *a: fn(F, *a)  # noqa: E731
    assert gradcheck(f, ts)
    assert gradgradcheck(f, ts)


MODULES = [
    ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True), 3),
    ("TripletMarginWithDistanceLoss", dict(margin=2.0, reduction="sum"), 3),
    ("CosineEmbeddingLoss", dict(margin=0.1), 3),
    ("MarginRankingLoss", dict(margin=0.2, reduction="none"), 3),
    ("GaussianNLLLoss", dict(full=True, eps=1e-4), 3),
    ("PoissonNLLLoss", dict(log_input=True, full=True), 2),
    ("HingeEmbeddingLoss", dict(margin=2.0), 2),
    ("SoftMarginLoss", dict(reduction="sum"), 2),
    ("MultiLabelSoftMarginLoss", dict(), 2),
    ("MultiLabelMarginLoss", dict(), 2),
    ("MultiMarginLoss", dict(p=2, margin=0.5), 2),
]


def _module_inputs(name, rng):
    x, y, z = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    s = _sign(rng, (3,)).astype(np.float32)
    return {
        "TripletMarginLoss": [x, y, z], "TripletMarginWithDistanceLoss": [x, y, z], "CosineEmbeddingLoss": [x, y, s],
        "MarginRankingLoss": [x[:, 0], y[:, 0], s], "GaussianNLLLoss": [x, y, np.abs(z) + 0.1],
        "PoissonNLLLoss": [x, np.abs(y) * 3], "HingeEmbeddingLoss": [x, _sign(rng, (3, 4)).astype(np.float32)],
        "SoftMarginLoss": [x, _sign(rng, (3, 4)).astype(np.float32)],
        "MultiLabelSoftMarginLoss": [x, (y > 0).astype(np.float32)],
        "MultiLabelMarginLoss": [x, np.array([[1, 2, -1, 0], [0, -1, 1, 1], [3, 2, 1, 0]])],
        "MultiMarginLoss": [x, np.array([0, 3, 1])],
    }[name]


@pytest.mark.parametrize("name,kw,n", MODULES, ids=[m[0] for m in MODULES])
def test_modules(torch, rng, name, kw, n):
    m, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(m) == repr(tm)
    assert m.reduction == tm.reduction
    arrays = _module_inputs(name, rng)
    y = m(*[ember.tensor(a) for a in arrays])
    ty = tm(*[torch.tensor(a) for a in arrays])
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=2e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
def test_weighted_modules(torch, rng):
    w = rng.random(4).astype(np.float32)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for name, t in (("MultiLabelSoftMarginLoss", (x > 0).astype(np.float32)), ("MultiMarginLoss", np.array([0, 3, 1]))):
        m = getattr(nn, name)(weight=ember.tensor(w))
        tm = getattr(torch.nn, name)(weight=torch.tensor(w))
        assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
        np.testing.assert_allclose(m(ember.tensor(x), ember.tensor(t)).numpy(), tm(torch.tensor(x), torch.tensor(t)).numpy(),
                                   rtol=2e-6)
    # legacy flags
    m = nn.SoftMarginLoss(size_average=False)
    assert m.reduction == torch.nn.SoftMarginLoss(size_average=False).reduction == "sum"
    assert F.soft_margin_loss(ember.tensor(x), ember.tensor(x), reduce=False).shape == (3, 4)
    d = nn.TripletMarginWithDistanceLoss(distance_function=nn.CosineSimilarity())
    assert "(distance_function): CosineSimilarity()" in repr(d)


# ----- CTC -----


def _ctc_inputs(rng, t=7, n=3, c=5, s=3):
    lp = rng.standard_normal((t, n, c))
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    targets = rng.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between
    il = np.array([t, t - 1, t - 2][:n])
    tl = np.array([s, s - 1, 1][:n])
    return lp, targets, il, tl


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_against_torch(torch, rng, dtype, reduction, concat):
    lp, tg, il, tl = _ctc_inputs(rng)
    lp = lp.astype(dtype)
    if concat:
        tg = np.concatenate([tg[b, :tl[b]] for b in range(len(tl))])
    for blank in (0,) if concat else (0, 4):
        tgb = np.where(tg == blank, 0 if blank else tg, tg) if blank else tg
        e = ember.tensor(lp, requires_grad=True)
        t = torch.tensor(lp, requires_grad=True)
        y = F.ctc_loss(e, ember.tensor(tgb), ember.tensor(il), ember.tensor(tl), blank=blank, reduction=reduction)
        ty = torch.nn.functional.ctc_loss(t, torch.tensor(tgb), torch.tensor(il), torch.tensor(tl), blank=blank,
                                          reduction=reduction)
        assert y.dtype == e.dtype and y.shape == tuple(ty.shape)
        tol = _tol(dtype) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(ember.tensor(g)), ty.backward(torch.tensor(g))
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)


def test_ctc_infinite_and_unbatched(torch, rng):
    lp, tg, il, tl = _ctc_inputs(rng)
    il = np.array([2, 7, 5])  # the first target (3 labels, one repeat) cannot fit in 2 steps
    for zi in (False, True):
        e, t = ember.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
        y = F.ctc_loss(e, tg, il, tl, reduction="sum", zero_infinity=zi)
        ty = torch.nn.functional.ctc_loss(t, torch.tensor(tg), torch.tensor(il), torch.tensor(tl), reduction="sum",
                                          zero_infinity=zi)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10)
        y.backward(), ty.backward()
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    # unbatched (T, C) with a 1-D target
    m, tm = nn.CTCLoss(reduction="none"), torch.nn.CTCLoss(reduction="none")
    y = m(ember.tensor(lp[:, 0]), ember.tensor(tg[0]), ember.tensor(np.array(7)), ember.tensor(np.array(3)))
    ty = tm(torch.tensor(lp[:, 0]), torch.tensor(tg[0]), torch.tensor(7), torch.tensor(3))
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10)
    # gradcheck (PyTorch has no second derivative of CTC; neither has ember)
    x = ember.tensor(lp[:4, :2], requires_grad=True)
    assert gradcheck(lambda a: F.ctc_loss(a.log_softmax(-1), tg[:2, :2], [4, 3], [2, 1]), [x])
    assert repr(nn.CTCLoss(blank=2, zero_infinity=True)) == "CTCLoss()"


# ----- errors -----


def _raises(fe, ft):
    try:
        ft()
    except Exception as te:
        with pytest.raises(type(te)) as ei:
            fe()
        assert str(ei.value).split("\n")[0] == str(te).split("\n")[0]
        return
    raise AssertionError("torch did not raise")


def test_errors(torch):
    TF = torch.nn.functional
    e = lambda *s: ember.ones(*s)  # noqa: E731
    t = lambda *s: torch.ones(*s)  # noqa: E731
    el, tl = ember.tensor(np.array([0, 1, 3, 0])), torch.tensor([0, 1, 3, 0])
    _raises(lambda: F.margin_ranking_loss(e(4, 3), e(4, 3), e(4)), lambda: TF.margin_ranking_loss(t(4, 3), t(4, 3), t(4)))
    _raises(lambda: F.margin_ranking_loss(e(4), e(4), e(4), reduction="bad"),
            lambda: TF.margin_ranking_loss(t(4), t(4), t(4), reduction="bad"))
    _raises(lambda: F.hinge_embedding_loss(e(4, 3), e(5)), lambda: TF.hinge_embedding_loss(t(4, 3), t(5)))
    _raises(lambda: F.cosine_embedding_loss(e(3), e(3), e(1)), lambda: TF.cosine_embedding_loss(t(3), t(3), t(1)))
    _raises(lambda: F.cosine_embedding_loss(e(4, 3), e(3), e(4)), lambda: TF.cosine_embedding_loss(t(4, 3), t(3), t(4)))
    _raises(lambda: F.cosine_embedding_loss(e(4, 3), e(4, 3), e(4, 1)),
            lambda: TF.cosine_embedding_loss(t(4, 3), t(4, 3), t(4, 1)))
    _raises(lambda: F.multi_margin_loss(e(4, 3), el, p=3), lambda: TF.multi_margin_loss(t(4, 3), tl, p=3))
    _raises(lambda: F.multi_margin_loss(e(4, 3), el), lambda: TF.multi_margin_loss(t(4, 3), tl))
    _raises(lambda: F.multi_margin_loss(e(4, 3), el[:3]), lambda: TF.multi_margin_loss(t(4, 3), tl[:3]))
    _raises(lambda: F.multi_margin_loss(e(2, 3, 4), el[:2]), lambda: TF.multi_margin_loss(t(2, 3, 4), tl[:2]))
    _raises(lambda: F.multi_margin_loss(e(4, 4), el, weight=e(3)), lambda: TF.multi_margin_loss(t(4, 4), tl, weight=t(3)))
    _raises(lambda: F.multi_margin_loss(e(4, 4), e(4)), lambda: TF.multi_margin_loss(t(4, 4), t(4)))
    _raises(lambda: F.multilabel_margin_loss(e(4, 3), el[:3]), lambda: TF.multilabel_margin_loss(t(4, 3), tl[:3]))
    _raises(lambda: F.multilabel_margin_loss(e(1, 3), el[None, :3]), lambda: TF.multilabel_margin_loss(t(1, 3), tl[None, :3]))
    _raises(lambda: F.multilabel_margin_loss(e(4, 3), e(4, 3)), lambda: TF.multilabel_margin_loss(t(4, 3), t(4, 3)))
    _raises(lambda: F.triplet_margin_loss(e(4, 3), e(3), e(4, 3)), lambda: TF.triplet_margin_loss(t(4, 3), t(3), t(4, 3)))
    _raises(lambda: F.triplet_margin_with_distance_loss(e(4, 3), e(3), e(4, 3)),
            lambda: TF.triplet_margin_with_distance_loss(t(4, 3), t(3), t(4, 3)))
    _raises(lambda: F.triplet_margin_with_distance_loss(e(3), e(3), e(3), margin=0),
            lambda: TF.triplet_margin_with_distance_loss(t(3), t(3), t(3), margin=0))
    _raises(lambda: nn.TripletMarginWithDistanceLoss(margin=0), lambda: torch.nn.TripletMarginWithDistanceLoss(margin=0))
    _raises(lambda: nn.TripletMarginLoss(margin=-1), lambda: torch.nn.TripletMarginLoss(margin=-1))
    _raises(lambda: F.poisson_nll_loss(e(3), e(3), reduction="bad"), lambda: TF.poisson_nll_loss(t(3), t(3), reduction="bad"))
    _raises(lambda: F.gaussian_nll_loss(e(4, 3), e(4, 3), e(5)), lambda: TF.gaussian_nll_loss(t(4, 3), t(4, 3), t(5)))
    _raises(lambda: F.gaussian_nll_loss(e(4, 3), e(4, 3), -e(4, 3)), lambda: TF.gaussian_nll_loss(t(4, 3), t(4, 3), -t(4, 3)))
    _raises(lambda: F.gaussian_nll_loss(e(3), e(3), e(3), reduction="x"),
            lambda: TF.gaussian_nll_loss(t(3), t(3), t(3), reduction="x"))
    _raises(lambda: nn.MultiMarginLoss(p=3), lambda: torch.nn.MultiMarginLoss(p=3))
    np.testing.assert_allclose(F.gaussian_nll_loss(e(3), e(3) * 0.5, 0.5).numpy(),
                               TF.gaussian_nll_loss(t(3), t(3) * 0.5, 0.5).numpy(), rtol=1e-6)
    lp = ember.tensor(np.zeros((5, 2, 4), np.float32))
    tlp = torch.zeros(5, 2, 4)
    _raises(lambda: F.ctc_loss(lp, np.ones((2, 2), np.int64), [6, 5], [2, 2]),
            lambda: TF.ctc_loss(tlp, torch.ones(2, 2, dtype=torch.long), torch.tensor([6, 5]), torch.tensor([2, 2])))
    _raises(lambda: F.ctc_loss(lp, np.ones((2, 2), np.int64), [5, 5], [3, 2]),
            lambda: TF.ctc_loss(tlp, torch.ones(2, 2, dtype=torch.long), torch.tensor([5, 5]), torch.tensor([3, 2])))
    _raises(lambda: F.ctc_loss(lp, np.ones((2, 2), np.int64), [5, 5], [2, 2], blank=4),
            lambda: TF.ctc_loss(tlp, torch.ones(2, 2, dtype=torch.long), torch.tensor([5, 5]), torch.tensor([2, 2]), blank=4))
