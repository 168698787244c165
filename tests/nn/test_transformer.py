"""The Transformer modules against PyTorch 2.13 from the same state_dict (outputs, input and
parameter gradients, float32 and float64), dropout in training, the causal mask, the errors;
and RMSNorm, GELU (tanh), SiLU, Mish."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.gradcheck import gradgradcheck

from test_attention import TOL, _compare_module, _load_from_torch, _rand, kmode  # noqa: F401

D, NH, FF, L, S, N = 8, 2, 16, 5, 6, 3


def _act(torch, kind):
    """The same activation for both libraries: (ember's, torch's)."""
    if kind == "callable":
        return (lambda x: F.gelu(x, approximate="tanh")), (lambda x: torch.nn.functional.gelu(x, approximate="tanh"))
    if kind == "module":
        return ember.nn.SiLU(), torch.nn.SiLU()
    return kind, kind


def _layer_pair(torch, cls, dtype, **kw):
    act = kw.pop("activation", "relu")
    ea, ta = _act(torch, act)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(D, NH, FF, activation=ta, dtype=tdt, **kw).eval()
    e = getattr(ember.nn, cls)(D, NH, FF, activation=ea, dtype=dtype, **kw).eval()
    _load_from_torch(e, t)
    return e, t


def _seq(n, dtype, seed, bf, unbatched=False):
    return _rand((n, D) if unbatched else (N, n, D) if bf else (n, N, D), dtype, seed)


def _masks(torch, kinds, dtype, tgt=L, src=S):
    """Both libraries' keyword masks for the layer forward."""
    rng = np.random.default_rng(3)
    e, t = {}, {}
    for name, kind in kinds.items():
        if name.endswith("key_padding_mask"):
            n = src if name.startswith(("src", "memory")) else tgt
            m = rng.random((N, n)) > 0.6
            m[:, 0] = False
        elif kind == "causal":
            m = np.triu(np.ones((tgt, tgt), bool), 1)
        else:
            m = rng.random((tgt, src if name == "memory_mask" else tgt)) > 0.7
            m[:, 0] = False
        if kind == "float":
            m = np.where(m, -np.inf, 0).astype(dtype)
        e[name], t[name] = ember.tensor(m), torch.tensor(m)
    return e, t


ENC_CASES = [
    dict(),
    dict(norm_first=True),
    dict(activation="gelu", batch_first=True),
    dict(activation="callable", norm_first=True),
    dict(activation="module"),
    dict(bias=False, layer_norm_eps=1e-3),
    dict(masks=dict(src_mask="bool")),
    dict(masks=dict(src_mask="float", src_key_padding_mask="float")),
    dict(masks=dict(src_key_padding_mask="bool"), batch_first=True, norm_first=True),
    dict(masks=dict(src_mask="causal"), is_causal=True),
    dict(unbatched=True),
]


def _ids(cases):
    return [",".join(f"{k}={v}" for k, v in c.items()) or "default" for c in cases]


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ENC_CASES, ids=_ids(ENC_CASES))
def test_encoder_layer_matches_torch(torch, kmode, case, dtype):
    c = dict(case)
    masks, unb, causal = c.pop("masks", {}), c.pop("unbatched", False), c.pop("is_causal", False)
    e, t = _layer_pair(torch, "TransformerEncoderLayer", dtype, **c)
    ek, tk = _masks(torch, masks, dtype, tgt=L, src=L)
    if causal:
        ek["is_causal"] = tk["is_causal"] = True
    x = _seq(L, dtype, 1, c.get("batch_first", False), unb)
    _compare_module(torch, e, t, [x], [x], dtype, ek, tk)


DEC_CASES = [
    dict(),
    dict(norm_first=True, activation="gelu"),
    dict(batch_first=True, activation="callable"),
    dict(bias=False),
    dict(masks=dict(tgt_mask="causal", memory_mask="bool")),
    dict(masks=dict(tgt_mask="float", tgt_key_padding_mask="float", memory_key_padding_mask="float")),
    dict(masks=dict(tgt_mask="causal", memory_key_padding_mask="bool"), tgt_is_causal=True, norm_first=True),
]


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", DEC_CASES, ids=_ids(DEC_CASES))
def test_decoder_layer_matches_torch(torch, kmode, case, dtype):
    c = dict(case)
    masks, causal = c.pop("masks", {}), c.pop("tgt_is_causal", False)
    e, t = _layer_pair(torch, "TransformerDecoderLayer", dtype, **c)
    ek, tk = _masks(torch, masks, dtype)
    if causal:
        ek["tgt_is_causal"] = tk["tgt_is_causal"] = True
    bf = c.get("batch_first", False)
    x, m = _seq(L, dtype, 1, bf), _seq(S, dtype, 2, bf)
    _compare_module(torch, e, t, [x, m], [x, m], dtype, ek, tk)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm", [True, False])
def test_encoder_and_decoder_stacks_match_torch(torch, kmode, dtype, norm):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(1)
    tl = torch.nn.TransformerEncoderLayer(D, NH, FF, dtype=tdt)
    tenc = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(D, dtype=tdt) if norm else None,
                                       enable_nested_tensor=False).eval()
    eenc = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(D, NH, FF, dtype=dtype), 2,
                                       norm=ember.nn.LayerNorm(D, dtype=dtype) if norm else None).eval()
    _load_from_torch(eenc, tenc)
    assert eenc.layers[0] is not eenc.layers[1] and eenc.layers[0].linear1.weight is not eenc.layers[1].linear1.weight
    ek, tk = _masks(torch, dict(mask="causal", src_key_padding_mask="bool"), dtype, tgt=L, src=L)
    x = _seq(L, dtype, 1, False)
    _compare_module(torch, eenc, tenc, [x], [x], dtype, ek, tk)
    tdec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, NH, FF, dtype=tdt), 2,
                                       norm=torch.nn.LayerNorm(D, dtype=tdt) if norm else None).eval()
    edec = ember.nn.TransformerDecoder(ember.nn.TransformerDecoderLayer(D, NH, FF, dtype=dtype), 2,
                                       norm=ember.nn.LayerNorm(D, dtype=dtype) if norm else None).eval()
    _load_from_torch(edec, tdec)
    ek, tk = _masks(torch, dict(tgt_mask="causal", memory_key_padding_mask="bool"), dtype)
    m = _seq(S, dtype, 2, False)
    _compare_module(torch, edec, tdec, [x, m], [x, m], dtype, ek, tk)


@pytest.mark.filterwarnings("ignore:Support for mismatched", "ignore:enable_nested_tensor")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, norm_first=True, activation="gelu")],
                         ids=["default", "batch_first,norm_first,gelu"])
def test_transformer_with_masks_matches_torch(torch, kmode, dtype, kw):
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    args = dict(d_model=D, nhead=NH, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF, **kw)
    torch.manual_seed(2)
    t = torch.nn.Transformer(**args, dtype=tdt).eval()
    e = ember.nn.Transformer(**args, dtype=dtype).eval()
    _load_from_torch(e, t)
    tgt_mask = ember.nn.Transformer.generate_square_subsequent_mask(L, dtype=dtype)
    np.testing.assert_array_equal(tgt_mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=tdt).numpy())
    ek, tk = _masks(torch, dict(src_key_padding_mask="bool", tgt_key_padding_mask="bool",
                                memory_key_padding_mask="bool", memory_mask="bool"), dtype, tgt=L, src=S)
    src_mask = np.random.default_rng(6).random((S, S)) > 0.7
    src_mask[:, 0] = False
    ek["src_mask"], tk["src_mask"] = ember.tensor(src_mask), torch.tensor(src_mask)
    ek["tgt_mask"], tk["tgt_mask"] = tgt_mask, torch.tensor(tgt_mask.numpy())
    bf = kw.get("batch_first", False)
    src, tgt = _seq(S, dtype, 1, bf), _seq(L, dtype, 2, bf)
    _compare_module(torch, e, t, [src, tgt], [src, tgt], dtype, ek, tk)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_generate_square_subsequent_mask_and_parameters(torch):
    m = ember.nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == ember.float32
    np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    e = ember.nn.Transformer(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    t = torch.nn.Transformer(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    t.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in e.state_dict().items()})  # and back
    w = e.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (D + FF))  # Xavier-uniform re-initialisation, as PyTorch
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound


def test_encoder_layer_dropout_in_training():
    layer = ember.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.5)
    x = ember.randn(L, N, D)
    with ember.no_grad():
        a, b = layer(x), layer(x)
        assert not np.allclose(a.numpy(), b.numpy())
        layer.eval()
        np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


LAYER_ERRORS = [
    (lambda: ember.nn.TransformerEncoderLayer(D, NH, activation="tanh"), RuntimeError, "activation should be relu/gelu, not tanh"),
    (lambda: ember.nn.TransformerEncoderLayer(D, 3), AssertionError, "embed_dim must be divisible by num_heads"),
    (lambda: ember.nn.Transformer(D, NH, 1, 1, FF)(ember.randn(S, 2, D), ember.randn(L, 3, D)), RuntimeError,
     "the batch number of src and tgt must be equal"),
    (lambda: ember.nn.Transformer(D, NH, 1, 1, FF)(ember.randn(S, 2, 4), ember.randn(L, 2, 4)), RuntimeError,
     "the feature number of src and tgt must be equal to d_model"),
    (lambda: ember.nn.TransformerEncoderLayer(D, NH, FF)(ember.randn(L, N, D), src_mask=ember.zeros(L, L + 1)),
     RuntimeError, "The shape of the 2D attn_mask"),
    (lambda: ember.nn.TransformerEncoderLayer(D, NH, FF)(ember.randn(L, N, D), src_key_padding_mask=ember.zeros(N, L, dtype=ember.int64)),
     AssertionError, "only bool and floating types of src_key_padding_mask"),
]


@pytest.mark.parametrize("fn, exc, msg", LAYER_ERRORS)
def test_transformer_errors(fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn()


def test_causal_detection_in_the_encoder(monkeypatch):
    seen = []
    enc = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(D, NH, FF), 1)
    orig = type(enc.layers[0]).forward

    def spy(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        seen.append(is_causal)
        return orig(self, src, src_mask, src_key_padding_mask, is_causal)

    monkeypatch.setattr(type(enc.layers[0]), "forward", spy)
    x = ember.randn(L, N, D)
    enc(x, mask=ember.nn.Transformer.generate_square_subsequent_mask(L))
    enc(x, mask=ember.zeros(L, L))
    assert seen == [True, False]


# ----- RMSNorm and the activations -----


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(), dict(eps=1e-3), dict(elementwise_affine=False), dict(shape=(3, 4))],
                         ids=["default", "eps", "no affine", "2d shape"])
def test_rms_norm_matches_torch(torch, dtype, kw):
    kw = dict(kw)
    shape = kw.pop("shape", 4)
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    t = torch.nn.RMSNorm(shape, dtype=tdt, **kw)
    e = ember.nn.RMSNorm(shape, dtype=dtype, **kw)
    if t.weight is not None:
        with torch.no_grad():
            t.weight.copy_(torch.tensor(_rand(t.weight.shape, dtype, 5)))
    _load_from_torch(e, t)
    assert repr(e) == repr(t)
    x = _rand((2, 3, 4), dtype, 1)
    _compare_module(torch, e, t, [x], [x], dtype)


def test_rms_norm_gradchecks_and_errors():
    x = ember.tensor(_rand((2, 3, 4), np.float64, 1), requires_grad=True)
    w = ember.tensor(_rand((4,), np.float64, 2), requires_grad=True)
    fn = lambda x, w: F.rms_norm(x, (4,), w, eps=1e-6)
    assert ember.gradcheck(fn, [x, w]) and gradgradcheck(fn, [x, w])
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[3\], expected input with shape \[\*3\]"):
        F.rms_norm(x, (3,))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        F.rms_norm(x, (4,), weight=ember.ones(3, dtype=ember.float64))


ACTS = [
    ("gelu tanh", lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), lambda m: m.nn.GELU(approximate="tanh")),
    ("gelu", lambda m, x: m.nn.functional.gelu(x), lambda m: m.nn.GELU()),
    ("silu", lambda m, x: m.nn.functional.silu(x), lambda m: m.nn.SiLU()),
    ("mish", lambda m, x: m.nn.functional.mish(x), lambda m: m.nn.Mish()),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, fn, mod", ACTS, ids=[a[0] for a in ACTS])
def test_activations_match_torch(torch, name, fn, mod, dtype):
    x = np.concatenate([_rand((50,), dtype, 1) * 4, np.array([-30, -5, 0, 5, 30], dtype)])
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = fn(ember, ex), fn(torch, tx)
    assert ey.dtype == dtype
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    ey.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(mod(ember)(ember.tensor(x)).numpy(), mod(torch)(torch.tensor(x)).numpy(), **TOL[dtype])
    assert repr(mod(ember)) == repr(mod(torch))


def test_mish_gradchecks():
    x = ember.tensor(_rand((6,), np.float64, 1) * 3, requires_grad=True)
    assert ember.gradcheck(F.mish, [x]) and gradgradcheck(F.mish, [x])
