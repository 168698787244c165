"""F.embedding's max_norm / scale_grad_by_freq / sparse, nn.Embedding's full signature and
from_pretrained, nn.EmbeddingBag / F.embedding_bag, and the row scatter-add behind the
embedding backward (``ember.ops._util.index_add_rows``), against PyTorch 2.13."""
import inspect

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck
from ember.ops._util import index_add_rows
from higher_order_helpers import against_torch

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def _tdt(torch, dtype):
    return getattr(torch, np.dtype(dtype).name)


def _ids(rng, n, shape):
    idx = rng.integers(0, n, shape)
    idx.reshape(-1)[:3] = 2  # repeated ids must add up
    return idx


# ----- F.embedding -----
EMB_CASES = [
    dict(),
    dict(padding_idx=2),
    dict(scale_grad_by_freq=True),
    dict(scale_grad_by_freq=True, padding_idx=-1),
    dict(max_norm=1.0),
    dict(max_norm=1.5, norm_type=1.0),
    dict(max_norm=0.8, norm_type=float("inf"), padding_idx=0),
    dict(max_norm=1.0, scale_grad_by_freq=True),
]


@pytest.mark.parametrize("kw", EMB_CASES, ids=[str(k) for k in EMB_CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_matches_torch(torch, rng, kw, dtype):
    w = (rng.standard_normal((10, 4)) * 2).astype(dtype)
    idx = _ids(rng, 10, (3, 7))
    we, wt = ember.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    ye = F.embedding(ember.tensor(idx), we, **kw)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, **kw)
    g = rng.standard_normal(ye.shape).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert ye.dtype == dtype and we.grad.dtype == dtype
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), **TOL[dtype])
    # max_norm changed the weight in place, as torch's did (and only the rows looked up)
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), **TOL[dtype])


def test_max_norm_renormalises_the_rows_looked_up_in_place():
    w = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, 0.0]])
    we = ember.tensor(w.copy(), requires_grad=True)
    v0 = we._version
    y = F.embedding(np.array([0, 1, 0]), we, max_norm=1.0)
    got = we.detach().numpy()
    np.testing.assert_allclose(got[0], [0.6, 0.8], rtol=1e-6)  # 5 -> 1
    np.testing.assert_array_equal(got[1:], w[1:])  # under max_norm, or not looked up: unchanged
    np.testing.assert_allclose(y.detach().numpy(), got[[0, 1, 0]])
    assert we._version > v0  # an in-place change, as torch's embedding_renorm_
    y.sum().backward()  # no gradient through the renormalisation: the lookup's counts
    np.testing.assert_array_equal(we.grad.numpy(), [[2, 2], [1, 1], [0, 0], [0, 0]])


def test_scale_grad_by_freq_divides_by_the_count():
    w = ember.zeros(4, 2, requires_grad=True)
    F.embedding(np.array([[1, 1, 2], [1, 3, 3]]), w, scale_grad_by_freq=True).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [1, 1], [1, 1], [1, 1]])


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_scaled_to_second_order(torch, rng, padding_idx):
    # A scaled gradient is not the derivative (no gradcheck). Its own gradient keeps the scale:
    # torch 2.13's double backward drops it (row r's second-order gradient is count[r] times
    # ours), so the comparison divides torch's by the counts.
    idx = np.array([[0, 1, 1], [3, 0, 0]])
    w = rng.standard_normal((4, 3))
    gy, v = rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 3))
    kw = dict(scale_grad_by_freq=True, padding_idx=padding_idx)
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    (g1e,) = ember.autograd.grad([F.embedding(idx, we, **kw) ** 2], [we], [ember.tensor(gy)], create_graph=True)
    yt = torch.nn.functional.embedding(torch.tensor(idx), wt, **kw) ** 2
    (g1t,) = torch.autograd.grad([yt], [wt], [torch.tensor(gy)], create_graph=True)
    np.testing.assert_allclose(g1e.detach().numpy(), g1t.detach().numpy(), rtol=1e-12)
    (g2e,) = ember.autograd.grad([(g1e * ember.tensor(v)).sum()], [we])
    (g2t,) = torch.autograd.grad([(g1t * torch.tensor(v)).sum()], [wt])
    counts = np.maximum(np.bincount(idx.reshape(-1), minlength=4), 1)[:, None]
    np.testing.assert_allclose(g2e.numpy(), g2t.numpy() / counts, rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda: F.embedding(np.array([1]), ember.ones(3, 2), sparse=True),
    lambda: nn.Embedding(3, 2, sparse=True),
    lambda: F.embedding_bag(np.array([[1]]), ember.ones(3, 2), sparse=True),
    lambda: nn.EmbeddingBag(3, 2, sparse=True),
])
def test_sparse_is_refused_clearly(call):
    with pytest.raises(NotImplementedError, match="sparse=True needs sparse gradients"):
        call()


def test_embedding_bad_arguments():
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(np.array([1]), ember.ones(3))
    for bad in (3, -4):
        with pytest.raises(AssertionError, match="padding_idx"):  # torch's type (and a ValueError, as before)
            F.embedding(np.array([1]), ember.ones(3, 2), padding_idx=bad)
        with pytest.raises(ValueError, match="padding_idx"):
            nn.EmbeddingBag(3, 2, padding_idx=bad)


# ----- nn.Embedding -----
@pytest.mark.parametrize("cls", ["Embedding", "EmbeddingBag"])
def test_signatures_match_torch(torch, cls):
    for name in ("__init__", "from_pretrained"):
        ours = inspect.signature(getattr(getattr(nn, cls), name)).parameters
        theirs = inspect.signature(getattr(getattr(torch.nn, cls), name)).parameters
        assert list(ours) == list(theirs)
        for k in ours:
            assert ours[k].default == theirs[k].default or theirs[k].default is inspect.Parameter.empty, k
    ours = inspect.signature(F.embedding_bag).parameters
    theirs = inspect.signature(torch.nn.functional.embedding_bag).parameters
    assert list(ours) == list(theirs) and all(ours[k].default == theirs[k].default for k in ours)
    theirs = inspect.signature(torch.nn.functional.embedding).parameters
    assert list(inspect.signature(F.embedding).parameters) == list(theirs)


@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=1, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)])
def test_embedding_module_repr_and_forward(torch, rng, kw):
    e, t = nn.Embedding(6, 3, **kw), torch.nn.Embedding(6, 3, **kw)
    assert repr(e) == repr(t)
    t.weight.data = torch.tensor(e.weight.detach().numpy().copy())
    idx = _ids(rng, 6, (4, 5))
    ye, yt = e(idx), t(torch.tensor(idx))
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-6)


def test_embedding_weight_and_from_pretrained(torch):
    table = ember.tensor(np.arange(6, dtype=np.float32).reshape(3, 2))
    e = nn.Embedding(3, 2, padding_idx=0, _weight=table)
    assert e.weight.requires_grad and e.weight.data[0, 0] == 0 and e.weight.data[1, 0] == 2  # kept, not zeroed
    assert not nn.Embedding(3, 2, _weight=table, _freeze=True).weight.requires_grad
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(4, 2, _weight=table)
    p = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1, max_norm=2.0, scale_grad_by_freq=True)
    assert p.weight.requires_grad and p.padding_idx == 1 and p.max_norm == 2.0 and p.scale_grad_by_freq
    assert p.weight._data is table._data  # a Tensor is shared, as torch shares it
    np.testing.assert_array_equal(p.weight.data[1], [2, 3])  # the padding row as given
    tp = torch.nn.Embedding.from_pretrained(torch.ones(3, 2), padding_idx=1)
    assert repr(nn.Embedding.from_pretrained(np.ones((3, 2)), padding_idx=1)) == repr(tp)
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(np.ones(3))


# ----- F.embedding_bag -----
# (input shape or 1-D length, offsets or None, extra kwargs)
BAG_CASES = [
    ((4, 3), None, {}),
    ((4, 3), None, dict(padding_idx=2)),
    ((4, 3), None, dict(include_last_offset=True)),  # no effect on 2-D input, as torch
    (9, [0, 2, 2, 5], {}),  # an empty bag in the middle
    (9, [0, 4, 9], dict(include_last_offset=True)),
    (9, [0, 4, 4, 9], dict(include_last_offset=True)),
    (9, [0, 1, 5, 9], dict(padding_idx=2)),
    (9, [0], {}),
    (0, [0, 0], {}),
]
MODES = ["sum", "mean", "max"]


def _bag_data(rng, shape, dtype, n=7):
    idx = rng.integers(0, n, shape)
    idx.reshape(-1)[:4] = [2, 2, 3, 2][:idx.size]  # repeats, and the padding id in several bags
    w = rng.standard_normal((n, 5)).astype(dtype)
    return idx, w


def _run_bag(lib, idx, offsets, w, psw, mode, kw):
    wt = lib.tensor(w, requires_grad=True)
    pt = None if psw is None else lib.tensor(psw, requires_grad=True)
    f = F.embedding_bag if lib is ember else lib.nn.functional.embedding_bag
    y = f(lib.tensor(idx), wt, None if offsets is None else lib.tensor(np.array(offsets)), mode=mode,
          per_sample_weights=pt, **kw)
    return y, wt, pt


@pytest.mark.parametrize("shape,offsets,kw", BAG_CASES, ids=[f"{s}-{o}-{k}" for s, o, k in BAG_CASES])
@pytest.mark.parametrize("mode", MODES + ["sum+weights"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_bag_matches_torch(torch, rng, shape, offsets, kw, mode, dtype):
    idx, w = _bag_data(rng, shape, dtype)
    psw = rng.standard_normal(idx.shape).astype(dtype) if mode == "sum+weights" else None
    mode = mode.split("+")[0]
    (ye, we, pe), (yt, wt, pt) = (_run_bag(lib, idx, offsets, w, psw, mode, kw) for lib in (ember, torch))
    assert ye.dtype == dtype and tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), **TOL[dtype])
    if psw is not None:
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), **TOL[dtype])


def test_embedding_bag_max_ties_and_nan_as_torch(torch):
    nan = float("nan")
    w = np.array([[1.0, 5.0], [1.0, 2.0], [0.5, 5.0], [nan, 0.0], [2.0, nan]])
    for idx, offs in (([0, 1, 2], [0]), ([1, 0, 2, 3, 4], [0, 3]), ([3, 0, 4, 1], [0, 2]), ([4, 3], [0, 1])):
        (ye, we, _), (yt, wt, _) = (_run_bag(lib, np.array(idx), offs, w, None, "max", {}) for lib in (ember, torch))
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        ye.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(we.grad.numpy(), wt.grad.numpy())  # the first maximum gets it


def test_embedding_bag_scale_grad_by_freq():
    # each entry's gradient divided by its id's count in the batch (torch 2.13's CPU kernel
    # mixes up the counts of 1-D inputs, e.g. ids [3, 2, 2, 2], so this is checked by hand)
    w = ember.zeros(5, 1, requires_grad=True)
    idx, offs = np.array([3, 2, 2, 2, 1, 2]), np.array([0, 3, 5])
    F.embedding_bag(idx, w, offs, mode="mean", scale_grad_by_freq=True).sum().backward()
    per_entry = np.array([1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2, 1.0]) / np.array([1, 4, 4, 4, 1, 4])
    expect = np.bincount(idx, per_entry, minlength=5)[:, None]
    np.testing.assert_allclose(w.grad.numpy(), expect, rtol=1e-6)


def test_embedding_bag_scale_grad_by_freq_2d_is_embedding_then_reduce(torch, rng):
    # torch's EmbeddingBag gets this wrong for some inputs; its Embedding followed by the
    # bag's reduction is the reference
    idx, w = _bag_data(rng, (4, 3), np.float64)
    g = rng.standard_normal((4, 5))
    for mode in ("sum", "mean"):
        we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
        F.embedding_bag(idx, we, mode=mode, scale_grad_by_freq=True).backward(ember.tensor(g))
        yt = torch.nn.functional.embedding(torch.tensor(idx), wt, scale_grad_by_freq=True)
        (yt.sum(1) if mode == "sum" else yt.mean(1)).backward(torch.tensor(g))
        np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-12)


def test_embedding_bag_of_no_ids_and_index_errors():
    # (B, 0) input: B empty bags (torch 2.13 fails on it: "step must be nonzero")
    w = ember.ones(4, 2, requires_grad=True)
    for mode in MODES:
        y = F.embedding_bag(np.zeros((3, 0), np.int64), w, mode=mode)
        assert y.shape == (3, 2) and not y.detach().numpy().any()
    with pytest.raises(IndexError, match="takes value 4"):  # an IndexError, and torch's RuntimeError
        F.embedding_bag(np.array([[0, 4]]), w)
    # include_last_offset: offsets[-1] ends the last bag (the ids after it are not read), as the
    # docs say and torch's float32 kernel does (its float64 one reads on to the end)
    y = F.embedding_bag(np.array([1, 2, 3]), w * ember.arange(4.0)[:, None], np.array([0, 1, 2]), mode="sum",
                        include_last_offset=True)
    np.testing.assert_array_equal(y.detach().numpy(), [[1, 1], [2, 2]])
    with pytest.raises(RuntimeError, match="non-decreasing"):  # torch reads past the bags
        F.embedding_bag(np.array([1, 2, 3]), w, np.array([0, 2, 1]))


def test_embedding_bag_max_norm_as_torch(torch, rng):
    idx, w = _bag_data(rng, 9, np.float64)
    w *= 3
    (ye, we, _), (yt, wt, _) = (_run_bag(lib, idx, [0, 4], w, None, "mean", dict(max_norm=1.0))
                                for lib in (ember, torch))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=1e-10)  # renormed in place


@pytest.mark.parametrize("mode,offsets,kw", [
    ("sum", [0, 2, 2, 5], {}), ("mean", [0, 3, 7], dict(include_last_offset=True)), ("max", [0, 2, 2, 5], {}),
    ("sum", [0, 1, 5], dict(padding_idx=2)),
])
def test_embedding_bag_gradcheck(rng, mode, offsets, kw):
    idx, w = _bag_data(rng, 9, np.float64)
    w = ember.tensor(w, requires_grad=True)
    offs = np.array(offsets)
    f = lambda w: F.embedding_bag(idx, w, offs, mode=mode, **kw)  # noqa: E731
    assert ember.gradcheck(f, [w])
    assert gradgradcheck(lambda w: f(w) ** 2, [w])


def test_embedding_bag_gradcheck_per_sample_weights(rng):
    idx, w = _bag_data(rng, (3, 4), np.float64)
    w = ember.tensor(w, requires_grad=True)
    p = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    f = lambda w, p: F.embedding_bag(idx, w, mode="sum", per_sample_weights=p, padding_idx=3)  # noqa: E731
    assert ember.gradcheck(f, [w, p])
    assert gradgradcheck(f, [w, p])


W = np.zeros((10, 3), np.float32)
BAG_ERRORS = [
    (dict(input=[[1, 2]], offsets=[0]), ValueError, "if input is 2D, then offsets has to be None"),
    (dict(input=[1, 2]), ValueError, "offsets has to be a 1D Tensor but got None"),
    (dict(input=[1, 2], offsets=[[0]]), ValueError, "offsets has to be a 1D Tensor"),
    (dict(input=[1, 2], offsets=[1]), RuntimeError, r"offsets\[0\] has to be 0"),
    (dict(input=[1, 2], offsets=[0, 5]), RuntimeError, r"offsets\[-1\] can not be greater than input's length 2"),
    (dict(input=[1, 2], offsets=[0], mode="prod"), ValueError, "mode has to be one of sum, mean or max"),
    (dict(input=[1, 2], offsets=[0], mode="max", per_sample_weights=np.ones(2, np.float32)), NotImplementedError,
     "only supported for mode='sum'"),
    (dict(input=[1, 2], offsets=[0], mode="sum", per_sample_weights=np.ones(3, np.float32)), ValueError,
     "must have the same shape as the input"),
    (dict(input=[1, 2], offsets=[0], mode="sum", per_sample_weights=np.ones(2)), RuntimeError,
     "to have the same type as tensor"),
    (dict(input=[1, 2], offsets=[0], mode="max", scale_grad_by_freq=True), ValueError,
     "max mode does not support scaling"),
    (dict(input=[1, 12], offsets=[0]), RuntimeError, r"takes value 12 which is not in the valid range \[0, 10\)"),
    (dict(input=[1, -1], offsets=[0]), RuntimeError, r"takes value -1 which is not in the valid range"),
    (dict(input=[1.0, 2.0], offsets=[0]), RuntimeError, "Long, Int; but got ember.DoubleTensor instead"),
    (dict(input=[[1]], padding_idx=10), RuntimeError, "padding_idx must be within the number of embeddings"),
    (dict(input=5), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of dimension 0"),
    (dict(input=[[[1]]]), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of dimension 3"),
    (dict(input=[[1]], weight=np.ones(3, np.float32)), ValueError, "weight has to be a 2D Tensor"),
]


@pytest.mark.parametrize("kw,exc,msg", BAG_ERRORS, ids=[m[:30] for _, _, m in BAG_ERRORS])
def test_embedding_bag_errors_as_torch(torch, kw, exc, msg):
    kw = dict(kw)
    weight = kw.pop("weight", W)
    as_t = lambda lib, v: None if v is None else lib.tensor(np.asarray(v))  # noqa: E731
    for lib, f in ((ember, F.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        args = {k: as_t(lib, v) if k in ("input", "offsets", "per_sample_weights") else v for k, v in kw.items()}
        with pytest.raises(exc, match=msg if lib is ember else None):
            f(weight=lib.tensor(weight), **args)


# ----- nn.EmbeddingBag -----
def test_embedding_bag_module(torch, rng):
    kw = dict(mode="sum", padding_idx=1, include_last_offset=True, max_norm=2.0, scale_grad_by_freq=True)
    m, t = nn.EmbeddingBag(7, 3, **kw), torch.nn.EmbeddingBag(7, 3, **kw)
    assert repr(m) == repr(t) and repr(nn.EmbeddingBag(7, 3)) == repr(torch.nn.EmbeddingBag(7, 3))
    assert np.all(m.weight.data[1] == 0) and m.weight.dtype == np.float32
    assert (m.mode, m.include_last_offset, m.padding_idx, m.sparse) == ("sum", True, 1, False)
    idx, offs = rng.integers(0, 7, 8), np.array([0, 3, 8])
    t.weight.data = torch.tensor(m.weight.detach().numpy().copy())
    psw = rng.standard_normal(8).astype(np.float32)
    ye = m(ember.tensor(idx), ember.tensor(offs), per_sample_weights=ember.tensor(psw))
    yt = t(torch.tensor(idx), torch.tensor(offs), per_sample_weights=torch.tensor(psw))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    m64 = nn.EmbeddingBag(4, 2, dtype=ember.float64)
    assert m64.weight.dtype == np.float64 and m64(np.array([[0, 1]])).dtype == np.float64


def test_embedding_bag_from_pretrained(torch):
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    m = nn.EmbeddingBag.from_pretrained(table, mode="max", padding_idx=3)
    t = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(table), mode="max", padding_idx=3)
    assert not m.weight.requires_grad and repr(m) == repr(t)
    idx = np.array([[0, 3, 1], [3, 3, 3]])
    np.testing.assert_array_equal(m(idx).numpy(), t(torch.tensor(idx)).numpy())
    table[0, 0] = 99  # an array is copied
    assert m.weight.data[0, 0] == 0
    assert nn.EmbeddingBag.from_pretrained(ember.tensor(table), freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.EmbeddingBag.from_pretrained(np.ones(3))


# ----- the row scatter-add -----
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex128])
@pytest.mark.parametrize("ids", ["uniform", "heavy", "unique", "empty"])
def test_index_add_rows_is_np_add_at(rng, dtype, ids):
    n = 50
    idx = {"uniform": rng.integers(0, n, 300), "heavy": np.minimum(rng.zipf(1.3, 400), n) - 1,
           "unique": rng.permutation(n)[:30], "empty": np.zeros(0, np.int64)}[ids]
    vals = (rng.standard_normal((idx.size, 3, 2)) * 10).astype(dtype)
    expect = np.zeros((n, 3, 2), dtype)
    np.add.at(expect, idx, vals)
    got = index_add_rows(idx, vals, n)
    assert got.dtype == dtype and got.shape == (n, 3, 2)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(got, expect, **tol)
    got1 = index_add_rows(idx, vals[:, 0, 0].copy(), n)  # 1-D values
    np.testing.assert_allclose(got1, expect[:, 0, 0], **tol)


def test_getitem_backward_with_negative_and_repeated_rows(torch, rng):
    x = rng.standard_normal((6, 4))
    idx = np.array([[0, -1, 5], [-6, 0, 2]])
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal((2, 3, 4))
    xe[ember.tensor(idx)].backward(ember.tensor(g))
    xt[torch.tensor(idx)].backward(torch.tensor(g))
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
