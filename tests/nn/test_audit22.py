"""Audit of issue #22's option lists: the options and bad inputs the other test files leave out,
against torch 2.13."""
import contextlib

import numpy as np
import pytest

import ember
import ember.nn.functional as F

from test_attention import _compare_module
from test_transformer import D, L, S, _layer_pair, _seq


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(layer_norm_eps=1e-2), dict(activation="module", norm_first=True),
                                dict(activation="gelu", bias=False, layer_norm_eps=1e-3, batch_first=True)],
                         ids=["eps", "module act, norm_first", "gelu, no bias, eps, batch_first"])
def test_decoder_layer_options_match_torch(torch, dtype, kw):
    e, t = _layer_pair(torch, "TransformerDecoderLayer", dtype, **dict(kw))
    bf = kw.get("batch_first", False)
    x, m = _seq(L, dtype, 1, bf), _seq(S, dtype, 2, bf)
    _compare_module(torch, e, t, [x, m], [x, m], dtype)


def _both(torch, fn):
    """The exception (type, message) of fn(ember) and of fn(torch)."""
    out = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        out.append((type(info.value), str(info.value)))
    return out


@pytest.mark.parametrize("ctor, q, k, v, words", [
    ({}, (4, 3, 6), (5, 3, 6), (5, 3, 6), "was expecting embedding dimension of 8, but got 6"),
    ({}, (1, 4, 3, 8), (1, 5, 3, 8), (1, 5, 3, 8), "query should be unbatched 2D or batched 3D tensor"),
    ({}, (4, 3, 8), (5, 3, 6), (5, 3, 6), "expected key with 8 features"),
    ({}, (4, 3, 8), (5, 2, 8), (5, 2, 8), "has batch size 2"),
    (dict(kdim=6, vdim=3), (4, 3, 8), (5, 3, 5), (5, 3, 3), "expected key with 6 features"),
    (dict(batch_first=True), (3, 4, 8), (2, 5, 8), (2, 5, 8), "has batch size 2"),
])
def test_multihead_attention_bad_shapes_name_the_module(torch, ctor, q, k, v, words):
    def fn(lib):
        m = lib.nn.MultiheadAttention(8, 2, **ctor)
        return m(lib.randn(*q), lib.randn(*k), lib.randn(*v))
    (etype, emsg), (ttype, _) = _both(torch, fn)
    assert etype is ttype  # PyTorch's exception type
    assert emsg.startswith("MultiheadAttention(embed_dim=8, num_heads=2): ") and words in emsg
    assert str(q if words.startswith(("was", "query")) else k) in emsg  # the actual shape


@pytest.mark.parametrize("mask", [np.zeros((4, 7), np.float32), np.zeros((4, 6), np.int64),
                                  np.zeros((4, 6), np.float64), np.zeros((2, 3, 4, 6), bool)],
                         ids=["float wrong shape", "int dtype", "double for float", "bool wrong batch"])
def test_sdpa_bad_masks_raise_torchs_exception_type(torch, mask):
    def fn(lib):
        q, k = lib.randn(2, 4, 5), lib.randn(2, 6, 5)
        return lib.nn.functional.scaled_dot_product_attention(q, k, k, attn_mask=lib.tensor(mask))
    (etype, emsg), (ttype, tmsg) = _both(torch, fn)
    assert etype is ttype
    if mask.dtype != bool and mask.shape == (4, 6):
        assert emsg == tmsg  # the dtype errors: PyTorch's words


def test_sdpa_scale_with_causal_and_float_mask_match_torch(torch):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    m = rng.standard_normal((5, 5))
    for kw in (dict(is_causal=True, scale=0.7), dict(attn_mask=m, scale=2.0)):
        ek = {a: ember.tensor(b) if a == "attn_mask" else b for a, b in kw.items()}
        tk = {a: torch.tensor(b) if a == "attn_mask" else b for a, b in kw.items()}
        ex = [ember.tensor(a, requires_grad=True) for a in (q, k, v)]
        tx = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        ey, ty = F.scaled_dot_product_attention(*ex, **ek), torch.nn.functional.scaled_dot_product_attention(*tx, **tk)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        (ey * ey).sum().backward()
        (ty * ty).sum().backward()
        for a, b in zip(ex, tx):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_unsorted_lengths_with_enforce_sorted_raise_torchs_error(torch):
    x = np.zeros((4, 3, 2))
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order when "
                                                "`enforce_sorted` is True"):
            lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x), lib.tensor([2, 4, 1]), enforce_sorted=True)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")
@pytest.mark.parametrize("cls, extra", [("LSTM", {}), ("LSTM", {"proj_size": 3}), ("GRU", {}),
                                        ("RNN", {"nonlinearity": "relu"})])
def test_sorted_packed_input_with_initial_state_matches_torch(torch, cls, extra):
    """enforce_sorted=True (no sorted_indices) through a 2-layer bidirectional module."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(4, 5, num_layers=2, bidirectional=True, batch_first=True, **extra).double()
    em = getattr(ember.nn, cls)(4, 5, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, **extra)
    em.load_state_dict(tm.state_dict())
    rng = np.random.default_rng(0)
    x, lengths = rng.standard_normal((3, 6, 4)), [6, 4, 2]
    hsize = extra.get("proj_size", 5)
    states = [rng.standard_normal((4, 3, hsize))] + ([rng.standard_normal((4, 3, 5))] if cls == "LSTM" else [])
    res = []
    for lib in (ember, torch):
        xl = lib.tensor(x, requires_grad=True)
        hs = [lib.tensor(s, requires_grad=True) for s in states]
        packed = lib.nn.utils.rnn.pack_padded_sequence(xl, lengths, batch_first=True, enforce_sorted=True)
        mod = em if lib is ember else tm
        out, hn = mod(packed, tuple(hs) if cls == "LSTM" else hs[0])
        assert out.sorted_indices is None
        padded, lens = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        hn = list(hn) if cls == "LSTM" else [hn]
        loss = (padded ** 2).sum() + sum((h * 1.5).sum() for h in hn)
        loss.backward()
        res.append([padded.detach().numpy()] + [h.detach().numpy() for h in hn] + [xl.grad.numpy()]
                   + [h.grad.numpy() for h in hs] + [p.grad.numpy() for _, p in mod.named_parameters()])
    for a, b in zip(*res, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_initialisation_is_torchs(torch, cell):
    e, t = getattr(ember.nn, cell)(7, 16), getattr(torch.nn, cell)(7, 16)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    bound = 1 / 4  # U(-1/sqrt(hidden), 1/sqrt(hidden))
    for name, p in e.named_parameters():
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound and a.std() > 0.5 * bound / np.sqrt(3), name


@pytest.mark.parametrize("lengths", [[[3, 2]], 3], ids=["2-D", "0-D"])
def test_pack_padded_lengths_must_be_one_dimensional_as_in_torch(torch, lengths):
    x = np.zeros((3, 2, 4))
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.utils.rnn.pack_padded_sequence(lib.tensor(x), lib.tensor(lengths))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
def test_transformer_bias_eps_callable_activation_and_custom_encoder_match_torch(torch):
    from test_transformer import FF, NH, _act
    ea, ta = _act(torch, "callable")
    args = dict(d_model=D, nhead=NH, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=FF, bias=False,
                layer_norm_eps=1e-3)
    torch.manual_seed(3)
    t = torch.nn.Transformer(**args, activation=ta, dtype=torch.float64).eval()
    e = ember.nn.Transformer(**args, activation=ea, dtype=np.float64).eval()
    assert not any("bias" in k for k in e.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    src, tgt = _seq(S, np.float64, 1, False), _seq(L, np.float64, 2, False)
    _compare_module(torch, e, t, [src, tgt], [src, tgt], np.float64)
    # custom_encoder: used as given (here an encoder without a final norm)
    tenc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NH, FF, dtype=torch.float64), 1,
                                       enable_nested_tensor=False)
    eenc = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(D, NH, FF, dtype=np.float64), 1)
    t = torch.nn.Transformer(D, NH, dim_feedforward=FF, num_decoder_layers=1, custom_encoder=tenc,
                             dtype=torch.float64).eval()
    e = ember.nn.Transformer(D, NH, dim_feedforward=FF, num_decoder_layers=1, custom_encoder=eenc,
                             dtype=np.float64).eval()
    assert e.encoder is eenc and list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    _compare_module(torch, e, t, [src, tgt], [src, tgt], np.float64)


@pytest.mark.parametrize("ctor", [dict(add_bias_kv=True, add_zero_attn=True), dict(kdim=3, vdim=5, bias=False)],
                         ids=["bias_kv,zero_attn", "kdim,vdim,no bias"])
def test_multihead_attention_gradcheck(ctor):
    m = ember.nn.MultiheadAttention(4, 2, dtype=np.float64, **ctor)
    rng = np.random.default_rng(0)
    q = ember.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    k = ember.tensor(rng.standard_normal((5, 2, m.kdim)), requires_grad=True)
    v = ember.tensor(rng.standard_normal((5, 2, m.vdim)), requires_grad=True)
    kpm = ember.tensor(np.array([[False] * 4 + [True], [False] * 5]))
    names, params = zip(*m.named_parameters())  # gradcheck copies its inputs: the call must use them
    fn = lambda q, k, v, *ps: ember.func.functional_call(m, dict(zip(names, ps)), (q, k, v),
                                                         dict(key_padding_mask=kpm))[0]
    assert ember.gradcheck(fn, [q, k, v, *params])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("cls, shapes, name, bad", [
    ("TransformerEncoderLayer", [(4, 3, 6)], "src", (4, 3, 6)),
    ("TransformerEncoderLayer", [(2, 4, 3, 8)], "src", (2, 4, 3, 8)),
    ("TransformerDecoderLayer", [(4, 3, 6), (5, 3, 8)], "tgt", (4, 3, 6)),
    ("TransformerDecoderLayer", [(4, 3, 8), (5, 3, 6)], "memory", (5, 3, 6)),
    ("TransformerDecoderLayer", [(4, 3, 8), (2, 5, 3, 8)], "memory", (2, 5, 3, 8)),
])
def test_transformer_layers_bad_shapes_name_the_layer(torch, norm_first, cls, shapes, name, bad):
    def fn(lib):
        layer = getattr(lib.nn, cls)(8, 2, 16, norm_first=norm_first)
        return layer(*(lib.randn(*s) for s in shapes))
    (etype, emsg), (ttype, _) = _both(torch, fn)
    assert etype is ttype
    assert emsg.startswith(f"{cls}(d_model=8, nhead=2): expected {name} ") and f"of shape {bad}" in emsg


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("masks", [dict(attn_mask=("float64", (4, 4))), dict(key_padding_mask=("float64", (3, 4))),
                                   dict(attn_mask=("float16", (4, 4))),
                                   dict(key_padding_mask=("float64", (3, 4)), attn_mask=("bool", (4, 4)))],
                         ids=["attn f64", "kpm f64", "attn f16", "kpm f64 + attn bool"])
def test_multihead_attention_float_mask_of_another_dtype_raises_torchs_error(torch, need_weights, masks):
    def fn(lib):
        m = lib.nn.MultiheadAttention(8, 2).eval()
        x = lib.ones(4, 3, 8)
        kw = {k: lib.zeros(*shape, dtype=getattr(lib, dt)) for k, (dt, shape) in masks.items()}
        return m(x, x, x, need_weights=need_weights, **kw)
    with pytest.warns() if len(masks) == 2 else contextlib.nullcontext():  # torch: mismatched mask types
        (etype, emsg), (ttype, tmsg) = _both(torch, fn)
    assert (etype, emsg) == (ttype, tmsg)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16)(lib.ones(4, 3, 8), src_mask=lib.zeros(4, 4, dtype=lib.int64)),
    lambda lib: lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16), 1, enable_nested_tensor=False)(
        lib.ones(4, 3, 8), mask=lib.zeros(4, 4, dtype=lib.int64)),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.ones(5, 3, 8), lib.ones(4, 3, 8),
                                                  src_mask=lib.zeros(5, 5, dtype=lib.int64)),
    lambda lib: lib.nn.TransformerDecoderLayer(8, 2, 16)(lib.ones(4, 3, 8), lib.ones(5, 3, 8),
                                                        tgt_mask=lib.zeros(4, 4, dtype=lib.int64)),
], ids=["encoder layer src_mask", "encoder mask", "transformer src_mask", "decoder layer tgt_mask"])
def test_transformer_integer_masks_raise_torchs_error(torch, call):
    (etype, emsg), (ttype, tmsg) = _both(torch, call)
    assert (etype, emsg) == (ttype, tmsg) and etype is AssertionError
