"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch 2.13 (values and
gradients, float32 and float64), gradcheck / gradgradcheck, the fused kernel against the
reference, dropout statistics and the errors."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import kernels
from ember.gradcheck import gradgradcheck
from ember.ops import attention as _att

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


@pytest.fixture(params=[True, False], ids=["kernels", "reference"])
def kmode(request):
    prev = kernels.enabled()
    kernels.set_enabled(request.param)
    yield request.param
    kernels.set_enabled(prev)


def _rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _bool_mask(shape, seed, dead_row=False):
    m = np.random.default_rng(seed).random(shape) > 0.3
    if dead_row:
        m[..., 0, :] = False
    return m


# (name, q shape, k shape, v shape, mask builder or None, kwargs)
SDPA_CASES = [
    ("plain", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    ("3d", (3, 4, 5), (3, 6, 5), (3, 6, 2), None, {}),
    ("2d", (4, 5), (6, 5), (6, 3), None, {}),
    ("scale", (2, 2, 4, 5), (2, 2, 4, 5), (2, 2, 4, 5), None, dict(scale=0.3)),
    ("causal", (2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 3), None, dict(is_causal=True)),
    ("causal L<S", (2, 3, 4), (2, 6, 4), (2, 6, 4), None, dict(is_causal=True)),
    ("causal L>S", (2, 6, 4), (2, 3, 4), (2, 3, 4), None, dict(is_causal=True)),
    ("bool (L,S)", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5), lambda s: _bool_mask((4, 6), s), {}),
    ("bool full", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5), lambda s: _bool_mask((2, 2, 4, 6), s), {}),
    ("bool dead row", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5), lambda s: _bool_mask((2, 1, 4, 6), s, True), {}),
    ("float", (2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5), lambda s: np.random.default_rng(s).standard_normal((4, 6)), {}),
    ("float -inf", (2, 4, 5), (2, 6, 5), (2, 6, 5),
     lambda s: np.where(_bool_mask((2, 4, 6), s), 0.0, -np.inf), {}),
    ("broadcast heads", (2, 4, 3, 5), (2, 1, 6, 5), (2, 1, 6, 5), None, {}),
    ("gqa", (2, 6, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), None, dict(enable_gqa=True)),
    ("gqa mask", (2, 6, 4, 5), (2, 3, 6, 5), (2, 3, 6, 3), lambda s: _bool_mask((2, 6, 4, 6), s), dict(enable_gqa=True)),
    ("gqa causal", (1, 4, 5, 3), (1, 2, 5, 3), (1, 2, 5, 3), None, dict(enable_gqa=True, is_causal=True)),
]


def _mask_pair(torch, m, dtype):
    if m is None:
        return None, None
    if m.dtype == np.bool_:
        return ember.tensor(m), torch.tensor(m)
    m = m.astype(dtype)
    return ember.tensor(m), torch.tensor(m)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_matches_torch(torch, kmode, case, dtype):
    name, qs, ks, vs, mk, kw = case
    arrays = [_rand(s, dtype, i) for i, s in enumerate((qs, ks, vs))]
    em, tm = _mask_pair(torch, None if mk is None else mk(7), dtype)
    ex = [ember.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    ey = F.scaled_dot_product_attention(*ex, attn_mask=em, **kw)
    ty = torch.nn.functional.scaled_dot_product_attention(*tx, attn_mask=tm, **kw)
    assert ey.dtype == dtype and tuple(ey.shape) == tuple(ty.shape)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = _rand(tuple(ey.shape), dtype, 9)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    for e, t in zip(ex, tx):
        assert e.grad.dtype == dtype
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TOL[dtype])


def test_sdpa_float_mask_gradient_matches_torch(torch, kmode):
    arrays = [_rand((2, 3, 4), np.float64, i) for i in range(3)] + [_rand((3, 3), np.float64, 5)]
    ex = [ember.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    ey = F.scaled_dot_product_attention(ex[0], ex[1], ex[2], attn_mask=ex[3])
    ty = torch.nn.functional.scaled_dot_product_attention(tx[0], tx[1], tx[2], attn_mask=tx[3])
    ey.sum().backward()
    ty.sum().backward()
    for e, t in zip(ex, tx):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


GRAD_CASES = [c for c in SDPA_CASES if c[0] in ("plain", "causal L<S", "bool dead row", "float", "gqa", "2d")]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_sdpa_gradcheck_and_gradgradcheck(kmode, case):
    name, qs, ks, vs, mk, kw = case
    shrink = lambda s: s[:-3] + (min(s[-3], 2),) + s[-2:] if len(s) == 4 and "gqa" not in name else s
    xs = [ember.tensor(_rand(shrink(s), np.float64, i), requires_grad=True) for i, s in enumerate((qs, ks, vs))]
    m = None if mk is None else mk(7)
    if m is not None and m.ndim == 4:
        m = m[:, :2]
    m = None if m is None else ember.tensor(m)
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)
    assert ember.gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_sdpa_gradcheck_with_dropout_replays_its_mask(kmode):
    xs = [ember.tensor(_rand((2, 3, 4), np.float64, i), requires_grad=True) for i in range(3)]

    def fn(q, k, v):
        ember.manual_seed(3)  # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    assert ember.gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, dict(is_causal=True), dict(dropout_p=0.3), dict(mask="bool"), dict(mask="float"),
                                dict(enable_gqa=True)], ids=["plain", "causal", "dropout", "bool", "float", "gqa"])
def test_the_kernel_matches_the_reference(kw, dtype):
    kw = dict(kw)
    mk = kw.pop("mask", None)
    qs, ks = ((2, 4, 5, 6), (2, 2, 7, 6)) if kw.get("enable_gqa") else ((2, 2, 5, 6), (2, 2, 7, 6))
    arrays = [_rand(qs, dtype, 0), _rand(ks, dtype, 1), _rand(ks, dtype, 2)]
    if mk == "bool":
        kw["attn_mask"] = ember.tensor(_bool_mask((2, 1, 5, 7), 3, dead_row=True))
    elif mk == "float":
        kw["attn_mask"] = ember.tensor(_rand((5, 7), dtype, 3))
    results = []
    for on in (True, False):
        with kernels.disabled() if not on else _nothing():
            ember.manual_seed(11)
            xs = [ember.tensor(a, requires_grad=True) for a in arrays]
            y = F.scaled_dot_product_attention(*xs, **kw)
            y.backward(ember.tensor(_rand(tuple(y.shape), dtype, 4)))
            results.append([y.detach().numpy()] + [x.grad.numpy() for x in xs])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL[dtype])


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_causal_mask_is_one_cached_boolean_array():
    a = _att.causal_block(64, 64)
    assert a is _att.causal_block(64, 64) and a.dtype == np.bool_ and a.shape == (64, 64)
    assert not a.flags.writeable and a[0, 1] and not a[1, 0] and not a[3, 3]


@pytest.mark.parametrize("kmode_on", [True, False])
def test_sdpa_dropout_statistics(kmode_on):
    p = 0.3
    with _nothing() if kmode_on else kernels.disabled():
        q = ember.zeros(4, 2, 64, 8)  # uniform weights 1/S: the output is the mean of the kept weights
        v = ember.ones(4, 2, 200, 1)
        k = ember.zeros(4, 2, 200, 8)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
        np.testing.assert_allclose(y.mean(), 1.0, atol=0.02)  # inverted dropout keeps the mean
        assert y.std() > 0.02  # but the rows differ
        ember.manual_seed(5)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
        ember.manual_seed(5)
        b = F.scaled_dot_product_attention(q, k, v, dropout_p=p).numpy()
        np.testing.assert_array_equal(a, b)  # ember's generator: reproducible
        z = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy()
        assert (z == 0).all()


SDPA_ERRORS = [
    (dict(attn_mask=np.ones((4, 6), bool), is_causal=True), RuntimeError, "Explicit attn_mask should not be set"),
    (dict(attn_mask=np.ones((4, 6), np.int64)), RuntimeError, "Expected attn_mask dtype to be bool or float"),
    (dict(attn_mask=np.ones((5, 6), bool)), RuntimeError, "broadcast"),
    (dict(dropout_p=1.5), RuntimeError, "dropout probability has to be between 0 and 1, but got 1.5"),
]


@pytest.mark.parametrize("kw, exc, msg", SDPA_ERRORS)
def test_sdpa_errors(kw, exc, msg):
    q, k, v = ember.randn(2, 3, 4, 5), ember.randn(2, 3, 6, 5), ember.randn(2, 3, 6, 7)
    if "attn_mask" in kw:
        kw = dict(kw, attn_mask=ember.tensor(kw["attn_mask"]))
    with pytest.raises(exc, match=msg):
        F.scaled_dot_product_attention(q, k, v, **kw)


def test_sdpa_input_errors():
    q = ember.randn(2, 4, 5)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(ember.randn(5), ember.randn(5), ember.randn(5))
    with pytest.raises(RuntimeError, match="must divide the number of heads"):
        F.scaled_dot_product_attention(ember.randn(2, 6, 4, 5), ember.randn(2, 4, 6, 5), ember.randn(2, 4, 6, 5),
                                       enable_gqa=True)
    with pytest.raises(RuntimeError, match="features"):
        F.scaled_dot_product_attention(ember.randn(4, 5), ember.randn(6, 4), ember.randn(6, 4))


# ----- nn.MultiheadAttention -----

def _load_from_torch(emod, tmod):
    """Copy torch's state_dict into the ember module; the keys and shapes must be the same."""
    tsd = tmod.state_dict()
    esd = emod.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert tuple(esd[k].shape) == tuple(tsd[k].shape), k
    emod.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tsd.items()})


def _compare_module(torch, emod, tmod, e_in, t_in, dtype, e_kw=None, t_kw=None, repeat=1):
    """Outputs, input gradients and parameter gradients of the two modules (each input
    passed ``repeat`` times: the same tensor as query, key and value)."""
    ex = [ember.tensor(a, requires_grad=True) for a in e_in]
    tx = [torch.tensor(a, requires_grad=True) for a in t_in]
    eys = emod(*(ex * repeat), **(e_kw or {}))
    tys = tmod(*(tx * repeat), **(t_kw or {}))
    eys = eys if isinstance(eys, tuple) else (eys,)
    tys = tys if isinstance(tys, tuple) else (tys,)
    eloss, tloss = 0, 0
    for i, (ey, ty) in enumerate(zip(eys, tys)):
        assert (ey is None) == (ty is None)
        if ey is None:
            continue
        assert ey.dtype == dtype and tuple(ey.shape) == tuple(ty.shape)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
        g = _rand(tuple(ey.shape), dtype, 20 + i)
        eloss = eloss + (ey * ember.tensor(g)).sum()
        tloss = tloss + (ty * torch.tensor(g)).sum()
    eloss.backward()
    tloss.backward()
    for e, t in zip(ex, tx):
        _close(e.grad.numpy(), t.grad.numpy(), dtype)
    tp = dict(tmod.named_parameters())
    for name, p in emod.named_parameters():
        assert (p.grad is None) == (tp[name].grad is None), name
        if p.grad is not None:
            _close(p.grad.numpy(), tp[name].grad.numpy(), dtype, name)


def _close(a, b, dtype, name=""):
    """Equal to the dtype's tolerance, the absolute one scaled by the array's magnitude (a
    gradient summed over many terms cancels to small entries in float32)."""
    tol = dict(TOL[dtype])
    tol["atol"] *= max(1.0, float(np.abs(b).max()) if b.size else 1.0)
    np.testing.assert_allclose(a, b, **tol, err_msg=name)


L, S, N, E, H = 4, 5, 3, 8, 2


def _kpm(kind, dtype, n=N, s=S):
    m = np.random.default_rng(4).random((n, s)) > 0.6
    m[:, 0] = False  # every query keeps a key: no row masked everywhere
    return m if kind == "bool" else np.where(m, -np.inf, 0.0).astype(dtype)


def _attn(kind, dtype):
    rng = np.random.default_rng(5)
    if kind == "bool":
        m = rng.random((L, S)) > 0.7
        m[:, 0] = False
        return m
    if kind == "bool3d":
        m = rng.random((N * H, L, S)) > 0.7
        m[..., 0] = False
        return m
    return rng.standard_normal((L, S)).astype(dtype)


MHA_CASES = [
    dict(),
    dict(need_weights=False),
    dict(average_attn_weights=False),
    dict(batch_first=True),
    dict(batch_first=True, need_weights=False, self_attention=True),
    dict(self_attention=True),
    dict(attn="bool"),
    dict(attn="float", need_weights=False),
    dict(attn="bool3d"),
    dict(attn="float", need_weights=False, kpm="bool"),
    dict(kpm="bool"),
    dict(kpm="float", need_weights=False),
    dict(kpm="bool", attn="bool", average_attn_weights=False),
    dict(kdim=6, vdim=3),
    dict(kdim=6, vdim=3, need_weights=False, kpm="bool"),
    dict(add_bias_kv=True, kpm="bool", attn="bool"),
    dict(add_zero_attn=True, kpm="bool", attn="float"),
    dict(add_bias_kv=True, add_zero_attn=True, need_weights=False),
    dict(bias=False),
    dict(causal=True, need_weights=False, self_attention=True),
    dict(causal=True, need_weights=True, self_attention=True),
    dict(causal=True, need_weights=False, kpm="bool", self_attention=True),
    dict(unbatched=True),
    dict(unbatched=True, need_weights=False, kpm="bool", attn="bool"),
]


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MHA_CASES, ids=[",".join(f"{k}={v}" for k, v in c.items()) or "default"
                                                 for c in MHA_CASES])
def test_multihead_attention_matches_torch(torch, kmode, case, dtype):
    c = dict(case)
    ctor = {k: c.pop(k) for k in ("kdim", "vdim", "add_bias_kv", "add_zero_attn", "bias", "batch_first") if k in c}
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    tmod = torch.nn.MultiheadAttention(E, H, **ctor, dtype=tdt).eval()
    emod = ember.nn.MultiheadAttention(E, H, **ctor, dtype=dtype).eval()
    _load_from_torch(emod, tmod)
    bf, unb = ctor.get("batch_first", False), c.pop("unbatched", False)
    selfatt, causal = c.pop("self_attention", False), c.pop("causal", False)
    s = L if (selfatt or causal) else S
    shp = lambda n, f: ((n, f) if unb else (N, n, f) if bf else (n, N, f))
    q = _rand(shp(L, E), dtype, 1)
    k = _rand(shp(s, ctor.get("kdim", E)), dtype, 2)
    v = _rand(shp(s, ctor.get("vdim", E)), dtype, 3)
    e_kw = {k2: c[k2] for k2 in ("need_weights", "average_attn_weights") if k2 in c}
    t_kw = dict(e_kw)
    if "kpm" in c:
        m = _kpm(c["kpm"], dtype, s=s)
        m = m[0] if unb else m
        e_kw["key_padding_mask"], t_kw["key_padding_mask"] = ember.tensor(m), torch.tensor(m)
    if "attn" in c:
        m = _attn(c["attn"], dtype)
        e_kw["attn_mask"], t_kw["attn_mask"] = ember.tensor(m), torch.tensor(m)
    if causal:
        m = np.triu(np.ones((L, L), bool), 1)
        e_kw.update(attn_mask=ember.tensor(m), is_causal=True)
        t_kw.update(attn_mask=torch.tensor(m), is_causal=True)
    if selfatt or causal:
        # one input used three times (the packed self-attention projection)
        _compare_module(torch, emod, tmod, [q], [q], dtype, e_kw, t_kw, repeat=3)
        return
    _compare_module(torch, emod, tmod, [q, k, v], [q, k, v], dtype, e_kw, t_kw)


def test_multihead_attention_parameters_and_state_dict_both_ways(torch):
    for kw in (dict(), dict(kdim=6, vdim=3, add_bias_kv=True), dict(bias=False)):
        e = ember.nn.MultiheadAttention(E, H, **kw)
        t = torch.nn.MultiheadAttention(E, H, **kw)
        assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
        t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in e.state_dict().items()})
        _load_from_torch(e, t)
    e = ember.nn.MultiheadAttention(E, H)
    assert e.in_proj_bias.abs().sum().item() == 0 and e.out_proj.bias.abs().sum().item() == 0
    assert "NonDynamicallyQuantizableLinear" in repr(e)


def test_multihead_attention_dropout_in_training():
    mha = ember.nn.MultiheadAttention(E, H, dropout=0.4)
    x = ember.randn(20, 2, E)
    _, w = mha(x, x, x, average_attn_weights=False)
    frac = (w.detach().numpy() == 0).mean()
    assert 0.3 < frac < 0.5  # about p of the weights are dropped, the rest scaled by 1/(1-p)
    np.testing.assert_allclose(w.detach().numpy().sum(-1).mean(), 1.0, atol=0.1)
    mha.eval()
    _, w = mha(x, x, x)
    assert (w.detach().numpy() > 0).all()
    mha.train()
    a, _ = mha(x, x, x, need_weights=False)
    b, _ = mha(x, x, x, need_weights=False)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


MHA_ERRORS = [
    (dict(key_padding_mask=np.zeros((N, S), np.int64)), AssertionError,
     "only bool and floating types of key_padding_mask are supported"),
    (dict(attn_mask=np.zeros((L, S), np.int64)), AssertionError, "only bool and floating types of attn_mask"),
    (dict(attn_mask=np.zeros((L, L), bool)), RuntimeError, r"The shape of the 2D attn_mask is .*, but should be \(4, 5\)"),
    (dict(attn_mask=np.zeros((N, L, S), bool)), RuntimeError, r"The shape of the 3D attn_mask is .*, but should be \(6, 4, 5\)"),
    (dict(attn_mask=np.zeros((1, N, L, S), bool)), AssertionError, "expected `attn_mask` to be `None`, 2-D or 3-D"),
    (dict(key_padding_mask=np.zeros((N, L), bool)), AssertionError, "Expected key_padded_mask.shape\\[1\\] to be 5"),
    (dict(key_padding_mask=np.zeros((N,), bool)), AssertionError, "expected `key_padding_mask` to be `None` or 2-D"),
    (dict(is_causal=True), RuntimeError, "Need attn_mask if specifying the is_causal hint"),
]


@pytest.mark.parametrize("kw, exc, msg", MHA_ERRORS)
def test_multihead_attention_errors(torch, kw, exc, msg):
    q, k = np.zeros((L, N, E), np.float32), np.zeros((S, N, E), np.float32)
    e = ember.nn.MultiheadAttention(E, H)
    t = torch.nn.MultiheadAttention(E, H)
    with pytest.raises(exc, match=msg):
        e(ember.tensor(q), ember.tensor(k), ember.tensor(k), **{a: ember.tensor(b) for a, b in kw.items() if a != "is_causal"},
          **{a: b for a, b in kw.items() if a == "is_causal"})
    with pytest.raises(exc, match=msg):  # the same error from torch
        t(torch.tensor(q), torch.tensor(k), torch.tensor(k), **{a: torch.tensor(b) for a, b in kw.items() if a != "is_causal"},
          **{a: b for a, b in kw.items() if a == "is_causal"})


def test_multihead_attention_constructor_and_shape_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        ember.nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="must be greater than 0"):
        ember.nn.MultiheadAttention(0, 2)
    m = ember.nn.MultiheadAttention(E, H)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        m(ember.randn(L, N, 6), ember.randn(S, N, 6), ember.randn(S, N, 6))
    with pytest.raises(AssertionError, match="query should be unbatched 2D or batched 3D"):
        m(ember.randn(1, L, N, E), ember.randn(1, S, N, E), ember.randn(1, S, N, E))


@pytest.mark.parametrize("mask", [None, "causal", (6, 1, 48, 40), (1, 3, 48, 40), (48, 40)])
def test_the_kernel_split_over_threads_matches_the_reference(mask, monkeypatch):
    """The kernel splitting the batch axis over threads (any size splits here), broadcasting
    masks along it or not."""
    monkeypatch.setattr(ember.ops._parallel, "MIN_ELEMENTS", 1)
    calls = _count_splits(monkeypatch)
    dtype = np.float64
    arrays = [_rand((6, 3, 48, 32), dtype, 0), _rand((6, 3, 40, 32), dtype, 1), _rand((6, 3, 40, 24), dtype, 2)]
    kw = dict(dropout_p=0.2)
    if mask == "causal":
        kw["is_causal"] = True
    elif mask is not None:
        kw["attn_mask"] = ember.tensor(_bool_mask(mask, 3, dead_row=True))
    results = []
    for on in (True, False):
        with kernels.disabled() if not on else _nothing():
            ember.manual_seed(11)
            xs = [ember.tensor(a, requires_grad=True) for a in arrays]
            y = F.scaled_dot_product_attention(*xs, **kw)
            y.backward(ember.tensor(_rand(tuple(y.shape), dtype, 4)))
            results.append([y.detach().numpy()] + [x.grad.numpy() for x in xs])
    assert calls == ([6, 6] if _splits() else [])  # forward and backward, split
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **TOL[dtype])


def _splits():
    """Whether the kernel runs (EMBER_KERNELS) and has threads to split over."""
    return kernels.enabled() and ember.get_num_threads() > 1


def _count_splits(monkeypatch):
    """The list of n that ``_blas.parallel_for`` (the kernel's split) is called with."""
    calls, split = [], ember.kernels._blas.parallel_for

    def counted(fn, n, **kw):
        calls.append(n)
        return split(fn, n, **kw)

    monkeypatch.setattr(ember.kernels._blas, "parallel_for", counted)
    return calls


def test_the_kernel_splits_only_a_large_scores_array(monkeypatch):
    """One call below ``MIN_ELEMENTS`` scores (the GPT recipe's (12, 4, 64, 64): thread
    hand-offs cost more than the split gains there), split from it on."""
    calls = _count_splits(monkeypatch)
    for shape in ((12, 4, 64, 32), (16, 4, 128, 32)):
        xs = [ember.randn(*shape, requires_grad=True) for _ in range(3)]
        F.scaled_dot_product_attention(*xs, is_causal=True).sum().backward()
    assert calls == ([16, 16] if _splits() else [])


@pytest.mark.parametrize("mask", [None, "bool", "float -inf", "float -1e9"])
def test_the_kernel_shifts_the_scores_only_where_they_are_large(mask, monkeypatch):
    """The kernel's softmax skips the row maximum where a batch entry's scores lie within
    +-60; one entry here has scores in the hundreds (it takes the maximum), the others do
    not. A float mask of -1e9 (whose range takes every row's maximum) or -inf, over whole
    rows and parts of rows. The same numbers on one thread as on two (split at any size)."""
    monkeypatch.setattr(ember.ops._parallel, "MIN_ELEMENTS", 1)
    dtype = np.float64
    arrays = [_rand((4, 2, 48, 16), dtype, 0), _rand((4, 2, 40, 16), dtype, 1), _rand((4, 2, 40, 8), dtype, 2)]
    arrays[0][1] *= 60  # batch entry 1: scores in the hundreds
    kw = {}
    if mask == "bool":
        kw["attn_mask"] = ember.tensor(_bool_mask((4, 1, 48, 40), 3, dead_row=True))
    elif mask is not None:
        m = _rand((48, 40), dtype, 3)
        m[5] = -np.inf if mask == "float -inf" else -1e9
        m[7, :30] = -np.inf if mask == "float -inf" else -1e9
        kw["attn_mask"] = ember.tensor(m)
    results = []
    for on, threads in ((True, 2), (True, 1), (False, 2)):
        ember.set_num_threads(threads)
        try:
            with kernels.disabled() if not on else _nothing():
                xs = [ember.tensor(a, requires_grad=True) for a in arrays]
                y = F.scaled_dot_product_attention(*xs, **kw)
                y.backward(ember.tensor(_rand(tuple(y.shape), dtype, 4)))
                results.append([y.detach().numpy()] + [x.grad.numpy() for x in xs])
        finally:
            ember.set_num_threads(2)
    for a, b, c in zip(*results):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-12)


def test_the_kernel_drops_a_nan_score_where_the_mask_leaves_it_out():
    q, k, v = (_rand((2, 2, 4, 3), np.float64, i) for i in range(3))
    k[0, 1, 3] = np.nan  # key 3 of head (0, 1): left out for queries 0-2 by the causal mask
    results = []
    for on in (True, False):
        with kernels.disabled() if not on else _nothing():
            xs = [ember.tensor(a, requires_grad=True) for a in (q, k, v)]
            y = F.scaled_dot_product_attention(*xs, is_causal=True)
            y.sum().backward()
            results.append([y.detach().numpy()] + [x.grad.numpy() for x in xs])
    assert np.isfinite(results[0][0][0, 1, :3]).all() and np.isnan(results[0][0][0, 1, 3]).all()
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
