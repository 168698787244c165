"""Bilinear, CosineSimilarity, PairwiseDistance, the rest of the dropout layers, Identity,
ParameterList / ParameterDict, init.dirac_ / sparse_ / orthogonal_, and fuse_conv_bn_eval:
against PyTorch (values, gradients to second order, state_dict keys, reprs, errors)."""
import copy
import pickle

import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn import functional as F
from ember.nn import init

from higher_order_helpers import against_torch


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=3e-5, atol=3e-6)


def _raises(fe, ft):
    try:
        ft()
    except Exception as te:
        with pytest.raises(type(te)) as ei:
            fe()
        assert str(ei.value).split("\n")[0] == str(te).split("\n")[0]
        return
    raise AssertionError("torch did not raise")


# ----- Bilinear -----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lead,bias", [((3,), True), ((2, 3), False), ((), True)])
def test_bilinear(torch, rng, dtype, lead, bias):
    arrays = [rng.standard_normal(lead + (2,)), rng.standard_normal(lead + (3,)), rng.standard_normal((4, 2, 3))]
    if bias:
        arrays.append(rng.standard_normal(4))
    arrays = [a.astype(dtype) for a in arrays]
    against_torch(torch, F.bilinear, torch.nn.functional.bilinear, arrays, [True] * len(arrays), rng, **_tol(dtype))
    if dtype == np.float64 and lead == (3,):
        ts = [ember.tensor(a, requires_grad=True) for a in arrays]
        assert gradcheck(F.bilinear, ts) and gradgradcheck(F.bilinear, ts)


def test_bilinear_module(torch, rng):
    m, tm = nn.Bilinear(2, 3, 4), torch.nn.Bilinear(2, 3, 4)
    assert repr(m) == repr(tm) and repr(nn.Bilinear(2, 3, 4, bias=False)) == repr(torch.nn.Bilinear(2, 3, 4, bias=False))
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight", "bias"]
    assert m.weight.shape == (4, 2, 3) and m.bias.shape == (4,)
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= 1 / np.sqrt(2) and w.std() > 0.2  # U(+-1/sqrt(in1_features))
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    x1, x2 = rng.standard_normal((5, 2)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(m(ember.tensor(x1), ember.tensor(x2)).detach().numpy(),
                               tm(torch.tensor(x1), torch.tensor(x2)).detach().numpy(), rtol=1e-5, atol=1e-6)
    TF = torch.nn.functional
    e, t = ember.ones, torch.ones
    _raises(lambda: F.bilinear(e(2, 3), e(2, 5), e(5, 3, 4)), lambda: TF.bilinear(t(2, 3), t(2, 5), t(5, 3, 4)))
    _raises(lambda: F.bilinear(e(2, 3), e(3, 4), e(5, 3, 4)), lambda: TF.bilinear(t(2, 3), t(3, 4), t(5, 3, 4)))
    _raises(lambda: F.bilinear(e(2, 2), e(2, 4), e(5, 3, 4)), lambda: TF.bilinear(t(2, 2), t(2, 4), t(5, 3, 4)))
    _raises(lambda: F.bilinear(e(2, 3), e(2, 4), e(5, 3, 4), e(4)), lambda: TF.bilinear(t(2, 3), t(2, 4), t(5, 3, 4), t(4)))


# ----- distances -----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_distances(torch, rng, dtype):
    a, b = rng.standard_normal((4, 5)).astype(dtype), rng.standard_normal((4, 5)).astype(dtype)
    TF = torch.nn.functional
    for fe, ft, arrays in [
        (lambda x, y: F.pairwise_distance(x, y), lambda x, y: TF.pairwise_distance(x, y), [a, b]),
        (lambda x, y: F.pairwise_distance(x, y, p=1.0, eps=1e-3, keepdim=True),
         lambda x, y: TF.pairwise_distance(x, y, p=1.0, eps=1e-3, keepdim=True), [a, b]),
        (lambda x, y: F.pairwise_distance(x, y, p=3.0), lambda x, y: TF.pairwise_distance(x, y, p=3.0), [a, b[:1]]),
        (lambda x, y: F.pairwise_distance(x, y), lambda x, y: TF.pairwise_distance(x, y), [a[0], b[0]]),
        (lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y), [a, b]),
        (lambda x, y: F.cosine_similarity(x, y, dim=0, eps=1e-6), lambda x, y: TF.cosine_similarity(x, y, dim=0, eps=1e-6),
         [a, b]),
        (lambda x, y: F.cosine_similarity(x, y, dim=-1), lambda x, y: TF.cosine_similarity(x, y, dim=-1), [a, b[:1]]),
    ]:
        against_torch(torch, fe, ft, arrays, [True, True], rng, **_tol(dtype))
    m, tm = nn.PairwiseDistance(p=1.0, eps=1e-5, keepdim=True), torch.nn.PairwiseDistance(p=1.0, eps=1e-5, keepdim=True)
    assert repr(m) == repr(tm) == "PairwiseDistance()" and m.norm == tm.norm == 1.0
    np.testing.assert_allclose(m(ember.tensor(a), ember.tensor(b)).numpy(), tm(torch.tensor(a), torch.tensor(b)).numpy(),
                               **_tol(dtype))
    m, tm = nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0)
    assert repr(m) == repr(tm) == "CosineSimilarity()" and (m.dim, m.eps) == (tm.dim, tm.eps)
    np.testing.assert_allclose(m(ember.tensor(a), ember.tensor(b)).numpy(), tm(torch.tensor(a), torch.tensor(b)).numpy(),
                               **_tol(dtype))
    if dtype == np.float64:
        ts = [ember.tensor(a[:2], requires_grad=True), ember.tensor(b[:2], requires_grad=True)]
        for f in (F.pairwise_distance, F.cosine_similarity):
            assert gradcheck(f, ts) and gradgradcheck(f, ts)


# ----- dropout -----


@pytest.mark.parametrize("name,shape,mask_dims", [
    ("dropout1d", (4, 6, 5), 2), ("dropout1d", (6, 5), 1), ("dropout3d", (2, 6, 2, 3, 2), 2),
    ("dropout3d", (6, 2, 3, 2), 1),
])
def test_channel_dropout(name, shape, mask_dims):
    x = ember.tensor(np.ones(shape), requires_grad=True)
    y = getattr(F, name)(x, p=0.4, training=True)
    v = y.detach().numpy()
    assert set(np.unique(v)) <= {0.0, 1 / 0.6}
    per = v.reshape(shape[:mask_dims] + (-1,))
    assert (per.min(-1) == per.max(-1)).all()  # one draw per channel
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), v)
    assert getattr(F, name)(x, 0.4, training=False) is x
    mod = {"dropout1d": nn.Dropout1d, "dropout3d": nn.Dropout3d}[name](0.4)
    mod.eval()
    assert mod(x) is x
    np.testing.assert_array_equal(getattr(F, name)(x, 1.0).detach().numpy(), np.zeros(shape))


def test_dropout3d_warns_and_errors(torch):
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(ember.ones(2, 3, 4))
    _raises(lambda: F.dropout1d(ember.ones(2, 3, 4, 5)), lambda: torch.nn.functional.dropout1d(torch.ones(2, 3, 4, 5)))
    _raises(lambda: F.dropout1d(ember.ones(2, 3), 1.5), lambda: torch.nn.functional.dropout1d(torch.ones(2, 3), 1.5))
    _raises(lambda: F.alpha_dropout(ember.ones(2, 3), -0.1), lambda: torch.nn.functional.alpha_dropout(torch.ones(2, 3), -0.1))
    _raises(lambda: nn.AlphaDropout(1.5), lambda: torch.nn.AlphaDropout(1.5))
    _raises(lambda: F.feature_alpha_dropout(ember.ones(3), 0.5, True),
            lambda: torch.nn.functional.feature_alpha_dropout(torch.ones(3), 0.5, True))
    for name in ("Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.2, inplace=True)) == repr(getattr(torch.nn, name)(0.2, inplace=True))


def test_alpha_dropout():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((400, 100)), requires_grad=True)
    y = F.alpha_dropout(x, 0.2, training=True)
    v = y.detach().numpy()
    assert abs(v.mean()) < 0.02 and abs(v.std() - 1) < 0.02  # zero mean, unit variance kept
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * 0.2 + 1) * 0.8)
    dropped = np.isclose(v, -alpha * a + alpha * a * 0.2)
    assert abs(dropped.mean() - 0.2) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(dropped, 0.0, a))
    assert F.alpha_dropout(x, 0.2) is x  # training defaults to False, as PyTorch
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, True).detach().numpy(), 0 * v)
    f = F.feature_alpha_dropout(ember.ones(50, 8, 3), 0.5, training=True).numpy()
    assert (f.min(-1) == f.max(-1)).all() and len(np.unique(f)) == 2
    m = nn.AlphaDropout(0.3)
    assert m(x).detach().numpy() is not x.detach().numpy()
    m.eval()
    assert m(x) is x and nn.FeatureAlphaDropout(0.3).eval()(x) is x
    ember.manual_seed(5)
    r1 = F.alpha_dropout(x, 0.5, True).detach().numpy()
    ember.manual_seed(5)
    np.testing.assert_array_equal(F.alpha_dropout(x, 0.5, True).detach().numpy(), r1)


# ----- Identity, ParameterList, ParameterDict -----


def test_identity():
    m = nn.Identity(54, unused="argument", other=3)
    x = ember.ones(2)
    assert m(x) is x and repr(m) == "Identity()"


def test_parameter_list(torch):
    e = nn.ParameterList([nn.Parameter(ember.ones(2, 3)), ember.zeros(4, dtype=ember.float64)])
    t = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(4, dtype=torch.float64)])
    assert type(e[1]) is nn.Parameter and e[1].requires_grad
    assert len(e) == 2 and len(list(e.parameters())) == 2
    e.append(5), t.append(5)
    assert list(e.state_dict()) == list(t.state_dict()) == ["0", "1"]
    assert repr(e) == repr(t).replace("torch.", "ember.")
    e.extend([ember.ones(1)]), t.extend([torch.ones(1)])
    e += [ember.ones(3)]
    t += [torch.ones(3)]
    assert len(e) == len(t) == 5 and e[-1].shape == (3,) and e[2] == 5
    e[0] = ember.zeros(7)
    assert type(e[0]) is nn.Parameter and e[0].shape == (7,)
    assert isinstance(e[1:3], nn.ParameterList) and len(e[1:3]) == 2
    assert repr(nn.ParameterList()) == "ParameterList()"
    assert repr(nn.ParameterList([ember.ones(2)])) == repr(torch.nn.ParameterList([torch.ones(2)])).replace("torch.", "ember.")
    _raises(lambda: e[10], lambda: t[10])
    # a model holding one: its parameters are found, saved and loaded under the list's keys
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([nn.Parameter(ember.ones(2)) for _ in range(3)])

    m = M()
    assert list(m.state_dict()) == ["ps.0", "ps.1", "ps.2"]
    m.load_state_dict({f"ps.{i}": ember.tensor(np.full(2, i, np.float32)) for i in range(3)})
    assert m.ps[2].detach().numpy().tolist() == [2.0, 2.0]
    assert [p.shape for p in m.parameters()] == [(2,)] * 3


def test_parameter_dict(torch):
    e = nn.ParameterDict({"b": nn.Parameter(ember.ones(2)), "a": ember.zeros(3)})
    t = torch.nn.ParameterDict({"b": torch.nn.Parameter(torch.ones(2)), "a": torch.zeros(3)})
    assert list(e) == list(t) == ["a", "b"]  # a plain dict's keys are sorted, as PyTorch
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t).replace("torch.", "ember.")
    e.update([("c", ember.ones(1))]), t.update([("c", torch.ones(1))])
    assert list(e.keys()) == list(t.keys()) == ["a", "b", "c"]
    assert [k for k, _ in e.items()] == ["a", "b", "c"] and len(list(e.values())) == 3
    assert "a" in e and "z" not in e and len(e) == 3 and e.get("z", 4) == 4
    assert type(e["c"]) is nn.Parameter
    assert e.pop("c").shape == (1,) and e.popitem()[0] == "b" and list(e) == ["a"]
    e["q"] = ember.ones(5)
    assert list(e.state_dict()) == ["a", "q"]
    assert list((e | {"z": ember.ones(1)}).keys()) == ["a", "q", "z"]
    assert isinstance(e.copy(), nn.ParameterDict) and list(e.copy()) == ["a", "q"]
    _raises(lambda: e["zz"], lambda: t["zz"])
    del e["q"]
    assert list(e) == ["a"] and list(e.state_dict()) == ["a"]
    assert repr(nn.ParameterDict()) == "ParameterDict()"


# ----- init -----


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 2, 3, 3), 2), ((4, 3, 3, 2, 3), 1), ((2, 5, 3), 1)])
def test_dirac(torch, shape, groups):
    e = ember.tensor(np.full(shape, 7.0, np.float32))
    t = torch.full(shape, 7.0)
    assert init.dirac_(e, groups=groups) is e
    torch.nn.init.dirac_(t, groups=groups)
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    if len(shape) == 4:  # the convolution with a Dirac weight copies its input channels (per group)
        x = ember.tensor(np.random.default_rng(0).standard_normal((1, shape[1] * groups, 5, 5)).astype(np.float32))
        y = F.conv2d(x, e, padding=1, groups=groups).numpy()
        per = shape[0] // groups
        for g in range(groups):
            for d in range(min(per, shape[1])):
                np.testing.assert_allclose(y[0, g * per + d], x.numpy()[0, g * shape[1] + d], rtol=1e-6)


def test_init_errors_and_sparse(torch):
    _raises(lambda: init.dirac_(ember.ones(3, 3)), lambda: torch.nn.init.dirac_(torch.ones(3, 3)))
    _raises(lambda: init.dirac_(ember.ones(3, 3, 3), groups=2), lambda: torch.nn.init.dirac_(torch.ones(3, 3, 3), groups=2))
    w = ember.ones(10, 6)
    init.sparse_(w, sparsity=0.3, std=0.5)
    v = w.numpy()
    assert ((v == 0).sum(0) == 3).all() and v[v != 0].std() > 0.2
    _raises(lambda: init.sparse_(ember.ones(3), 0.1), lambda: torch.nn.init.sparse_(torch.ones(3), 0.1))


def test_orthogonal_matches_torch_algorithm():
    # torch's recipe: QR of a standard normal draw (transposed when rows < cols), Q times sign(diag(R))
    for shape in ((3, 5), (5, 3), (4, 2, 2)):
        ember.manual_seed(11)
        w = init.orthogonal_(ember.empty(*shape), gain=2.0).numpy()
        ember.manual_seed(11)
        rows, cols = shape[0], int(np.prod(shape[1:]))
        flat = ember.backend.rng().standard_normal((rows, cols))
        flat = flat.T if rows < cols else flat
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        q = q.T if rows < cols else q
        np.testing.assert_allclose(w, 2.0 * q.reshape(shape), rtol=1e-6)
        m = w.reshape(rows, -1)
        g = m @ m.T if rows <= cols else m.T @ m
        np.testing.assert_allclose(g, 4.0 * np.eye(len(g)), atol=1e-5)


# ----- fusion -----


@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_eval(torch, rng, bias):
    conv, bn = nn.Conv2d(3, 4, 3, padding=1, bias=bias), nn.BatchNorm2d(4)
    bn.running_mean._data[...] = rng.standard_normal(4)
    bn.running_var._data[...] = rng.random(4) + 0.5
    bn.weight._data[...] = rng.standard_normal(4)
    bn.bias._data[...] = rng.standard_normal(4)
    conv.eval(), bn.eval()
    fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    assert fused is not conv and isinstance(fused, nn.Conv2d)
    x = ember.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32))
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    tc, tb = torch.nn.Conv2d(3, 4, 3, padding=1, bias=bias), torch.nn.BatchNorm2d(4)
    tc.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in conv.state_dict().items()})
    tb.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in bn.state_dict().items()})
    tc.eval(), tb.eval()
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tb)
    np.testing.assert_allclose(fused.weight.detach().numpy(), tf.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(fused.bias.detach().numpy(), tf.bias.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert fused.bias.requires_grad == tf.bias.requires_grad
    conv.train()
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(conv, bn)


def test_fuse_weights_transpose_and_linear(torch, rng):
    cw, cb = rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(3)
    rm, rv, g, b = rng.standard_normal(3), rng.random(3) + 0.5, rng.standard_normal(3), rng.standard_normal(3)
    e = nn.utils.fuse_conv_bn_weights(*(ember.tensor(a) for a in (cw, cb, rm, rv)), 1e-5,
                                      *(ember.tensor(a) for a in (g, b)), transpose=True)
    t = torch.nn.utils.fuse_conv_bn_weights(*(torch.tensor(a) for a in (cw, cb, rm, rv)), 1e-5,
                                            *(torch.tensor(a) for a in (g, b)), transpose=True)
    for a, c in zip(e, t):
        assert isinstance(a, nn.Parameter)
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-12)
    lin, bn = nn.Linear(3, 4), nn.BatchNorm1d(4)
    bn.running_var._data[...] = rng.random(4) + 0.5
    lin.eval(), bn.eval()
    x = ember.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_allclose(nn.utils.fuse_linear_bn_eval(lin, bn)(x).detach().numpy(), bn(lin(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ----- parametrizations -----


def _copy_to_torch(m, tm):
    tm.load_state_dict({k: torch_tensor(v) for k, v in m.state_dict().items()})


def torch_tensor(v):
    import torch

    return torch.tensor(np.asarray(v))


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(torch, rng, dim):
    from ember.nn.utils.parametrizations import weight_norm

    m, tm = nn.Linear(3, 4), torch.nn.Linear(3, 4)
    _copy_to_torch(m, tm)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    before = m(ember.tensor(x)).detach().numpy()
    assert weight_norm(m, dim=dim) is m
    torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert list(m.state_dict()) == list(tm.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    g = m.parametrizations.weight.original0
    assert g.shape == tuple(tm.parametrizations.weight.original0.shape) and isinstance(g, nn.Parameter)
    y, ty = m(ember.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(y.detach().numpy(), before, rtol=1e-5, atol=1e-6)  # the layer is unchanged
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(ember.tensor(gy)), ty.backward(torch.tensor(gy))
    for i in (0, 1):
        np.testing.assert_allclose(getattr(m.parametrizations.weight, f"original{i}").grad.numpy(),
                                   getattr(tm.parametrizations.weight, f"original{i}").grad.numpy(), rtol=1e-5, atol=1e-6)
    assert {id(p) for p in m.parameters()} == {id(m.bias), id(g), id(m.parametrizations.weight.original1)}
    c = copy.deepcopy(m)  # a parametrized module deep-copies (pickling is refused, as PyTorch)
    assert type(c) is type(m) and c.parametrizations.weight.original1 is not m.parametrizations.weight.original1
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        pickle.dumps(m)
    # new values load both ways
    sd = {k: v.detach().numpy() * 2 for k, v in tm.state_dict().items()}
    m.load_state_dict(sd), tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-6)


def test_weight_norm_float64_gradcheck(rng):
    from ember.nn.utils.parametrizations import _WeightNorm

    wn = _WeightNorm(0)
    g = ember.tensor(rng.random((3, 1)) + 0.5, requires_grad=True)
    v = ember.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert gradcheck(wn, [g, v]) and gradgradcheck(wn, [g, v])


@pytest.mark.parametrize("make,dim", [(lambda M: M.Linear(5, 4), None), (lambda M: M.Conv2d(2, 3, 3), None),
                                      (lambda M: M.Conv2d(2, 3, 3), 1)], ids=["linear", "conv", "conv_dim1"])
def test_spectral_norm(torch, rng, make, dim):
    from ember.nn.utils.parametrizations import spectral_norm

    m, tm = make(nn), make(torch.nn)
    _copy_to_torch(m, tm)
    spectral_norm(m, dim=dim), torch.nn.utils.parametrizations.spectral_norm(tm, dim=dim)
    keys = ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    assert list(m.state_dict()) == list(tm.state_dict()) == keys
    w = np.moveaxis(m.weight.detach().numpy(), dim or 0, 0)
    assert abs(np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)[0] - 1) < 0.05  # sigma ~ 1 after 15+ steps
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})  # torch's u, v: the same iteration
    for training in (True, True, False):
        m.train(training), tm.train(training)
        w, tw = m.weight, tm.weight
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    m.train(), tm.train()
    w, tw = m.weight, tm.weight
    gy = rng.standard_normal(w.shape).astype(np.float32)
    w.backward(ember.tensor(gy)), tw.backward(torch.tensor(gy))
    np.testing.assert_allclose(m.parametrizations.weight.original.grad.numpy(),
                               tm.parametrizations.weight.original.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.parametrizations.weight[0]._u.numpy(), tm.parametrizations.weight[0]._u.numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'nope'"):
        spectral_norm(make(nn), name="nope")
    _raises(lambda: spectral_norm(make(nn), n_power_iterations=0),
            lambda: torch.nn.utils.parametrizations.spectral_norm(make(torch.nn), n_power_iterations=0))
    _raises(lambda: spectral_norm(make(nn), dim=5), lambda: torch.nn.utils.parametrizations.spectral_norm(make(torch.nn), dim=5))


def test_register_parametrization():
    from ember.nn.utils import parametrize as P

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class RankOne(nn.Module):
        def forward(self, x, y):
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z):
            return Z[:, 0], Z[0] / Z[0, 0]

    m = nn.Linear(3, 3)
    assert not P.is_parametrized(m)
    P.register_parametrization(m, "weight", Symmetric())
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert P.type_before_parametrizations(m) is nn.Linear
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    # gradients reach the original
    m(ember.ones(2, 3)).sum().backward()
    assert m.parametrizations.weight.original.grad is not None and m.weight.grad_fn is not None
    with pytest.raises(RuntimeError, match="does not implement right_inverse"):
        m.weight = ember.ones(3, 3)
    with P.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    P.remove_parametrizations(m, "weight")
    # the weight is registered again, after the bias, as PyTorch does
    assert type(m) is nn.Linear and list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    np.testing.assert_array_equal(m.weight.detach().numpy(), w)
    # a parametrization of two tensors, with right_inverse: original0, original1; assignment
    r = nn.Linear(3, 3)
    z = np.outer([1.0, 2.0, 3.0], [2.0, 1.0, 0.5]).astype(np.float32)
    r.weight = nn.Parameter(ember.tensor(z))
    P.register_parametrization(r, "weight", RankOne())
    assert list(r.state_dict()) == ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    np.testing.assert_allclose(r.weight.detach().numpy(), z, rtol=1e-6)
    r.weight = ember.tensor(2 * z)
    np.testing.assert_allclose(r.weight.detach().numpy(), 2 * z, rtol=1e-6)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(r, "weight", leave_parametrized=False)
    # chained on the same tensor; errors
    P.register_parametrization(r, "weight", Symmetric(), unsafe=True)
    assert len(r.parametrizations.weight) == 2
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name 'x'"):
        P.register_parametrization(r, "x", Symmetric())

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(nn.Linear(3, 3), "weight", Shrink())
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        P.remove_parametrizations(r, "bias")


def test_weight_norm_loads_the_old_weight_g_weight_v_layout(torch):
    # a state_dict of torch.nn.utils.weight_norm (weight_g, weight_v) loads into the
    # parametrization, through its load_state_dict pre-hook, as in PyTorch
    import warnings

    from ember.nn.utils.parametrizations import weight_norm

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = torch.nn.utils.weight_norm(torch.nn.Linear(4, 3))
    sd = {k: v.detach().numpy() for k, v in old.state_dict().items()}
    assert {"weight_g", "weight_v"} <= set(sd)
    lin = weight_norm(nn.Linear(4, 3))
    before = {k: v.numpy().copy() for k, v in lin.state_dict().items()}
    result = lin.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert set(sd) == {"weight_g", "weight_v", "bias"}  # the caller's dict is left as it was
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_allclose(lin(x).detach().numpy(), old(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    assert not np.allclose(before["parametrizations.weight.original1"], sd["weight_v"])


def test_load_state_dict_hooks():
    lin = nn.Linear(2, 2)
    seen = []

    def rename(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        if prefix + "w" in state_dict:
            state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")

    def refuse(module, state_dict, prefix, *rest):
        if prefix + "bad" in state_dict:
            rest[-1].append("the hook refuses 'bad'")

    model = nn.Sequential(lin)
    h1 = lin.register_load_state_dict_pre_hook(rename)
    lin.register_load_state_dict_pre_hook(refuse)
    model.register_load_state_dict_post_hook(lambda m, keys: seen.append(keys))
    model.load_state_dict({"0.w": np.ones((2, 2)), "0.bias": np.zeros(2)})
    assert np.all(lin.weight.detach().numpy() == 1) and len(seen) == 1 and seen[0].missing_keys == []
    with pytest.raises(RuntimeError, match="the hook refuses 'bad'"):
        model.load_state_dict({"0.weight": np.zeros((2, 2)), "0.bias": np.zeros(2), "0.bad": 1})
    assert np.all(lin.weight.detach().numpy() == 1)  # nothing was copied
    h1.remove()
    with pytest.raises(RuntimeError, match="missing keys: 0.weight"):
        model.load_state_dict({"0.w": np.ones((2, 2)), "0.bias": np.zeros(2)})
