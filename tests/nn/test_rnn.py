"""nn.RNN / LSTM / GRU and their cells against torch 2.13, from the same state_dict: outputs,
final states, input, initial-state and parameter gradients, in float32 and float64."""
import itertools

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradgradcheck
from ember.nn.utils.rnn import pack_padded_sequence

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")  # torch's own

T, B, F, H = 5, 3, 4, 6
MODES = {  # name: (class, extra constructor arguments)
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": 2}),
    "gru": ("GRU", {}),
}


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _pair(torch, mode, dtype, **kw):
    """A torch module and an ember module holding torch's weights (state_dict moved over)."""
    cls, extra = MODES[mode]
    tm = getattr(torch.nn, cls)(F, H, **extra, **kw).to(torch.float32 if dtype == np.float32 else torch.float64)
    em = getattr(nn, cls)(F, H, **extra, **kw, dtype=dtype)
    assert [(k, tuple(v.shape)) for k, v in em.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    em.load_state_dict(tm.state_dict())
    return tm, em


def _leaf(lib, a):
    return lib.tensor(a, requires_grad=True)


def _state_shapes(mode, layers, directions, batch):
    h = MODES[mode][1].get("proj_size", H)
    shapes = [(layers * directions,) + batch + (h,)]
    if mode.startswith("lstm"):
        shapes.append((layers * directions,) + batch + (H,))
    return shapes


def _states(lib, arrays):
    if arrays is None:
        return None, []
    leaves = [_leaf(lib, a) for a in arrays]
    return (leaves[0] if len(leaves) == 1 else tuple(leaves)), leaves


def _flat(out, hn):
    return [out] + (list(hn) if isinstance(hn, tuple) else [hn])


def _compare(torch, tm, em, x, h0, dtype, packed=None):
    """Run both on x (and h0 arrays or None), backward a random projection of every output,
    compare values and all gradients."""
    rng = np.random.default_rng(7)
    ex, tx = _leaf(ember, x), _leaf(torch, x)
    eh, eleaves = _states(ember, h0)
    th, tleaves = _states(torch, h0)
    ein, tin = ex, tx
    if packed is not None:
        ein = pack_padded_sequence(ex, packed, batch_first=tm.batch_first, enforce_sorted=False)
        tin = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(packed), batch_first=tm.batch_first,
                                                      enforce_sorted=False)
    eouts, touts = _flat(*em(ein, eh)), _flat(*tm(tin, th))
    if packed is not None:
        np.testing.assert_array_equal(eouts[0].batch_sizes.numpy(), touts[0].batch_sizes.numpy())
        np.testing.assert_array_equal(eouts[0].sorted_indices.numpy(), touts[0].sorted_indices.numpy())
        eouts[0], touts[0] = eouts[0].data, touts[0].data
    eloss, tloss = 0, 0
    for e, t in zip(eouts, touts, strict=True):
        assert tuple(e.shape) == tuple(t.shape) and e.dtype == dtype
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **_tol(dtype))
        w = rng.standard_normal(tuple(t.shape)).astype(dtype)
        eloss = eloss + (e * ember.tensor(w)).sum()
        tloss = tloss + (t * torch.tensor(w)).sum()
    eloss.backward()
    tloss.backward()
    for e, t in zip([ex] + eleaves, [tx] + tleaves):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **_tol(dtype))
    tgrads = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert p.grad is not None and p.grad.dtype == dtype, name
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), **_tol(dtype), err_msg=name)


CASES = list(itertools.product(MODES, [1, 2], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,layers,bidirectional,batch_first,with_h0", CASES)
def test_module_matches_torch(torch, mode, layers, bidirectional, batch_first, with_h0, dtype):
    tm, em = _pair(torch, mode, dtype, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F) if batch_first else (T, B, F)).astype(dtype)
    h0 = [rng.standard_normal(s).astype(dtype) for s in _state_shapes(mode, layers, 1 + bidirectional, (B,))]
    _compare(torch, tm, em, x, h0 if with_h0 else None, dtype)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("with_h0", [False, True])
def test_unbatched_input(torch, mode, with_h0):
    tm, em = _pair(torch, mode, np.float64, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, F))
    h0 = [rng.standard_normal(s) for s in _state_shapes(mode, 2, 2, ())]
    _compare(torch, tm, em, x, h0 if with_h0 else None, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,layers,bidirectional,batch_first,with_h0",
                         [(m, 2, bi, bf, h) for m in MODES for bi, bf, h in
                          [(False, False, False), (True, False, True), (True, True, False), (False, True, True)]])
def test_packed_unsorted_input(torch, mode, layers, bidirectional, batch_first, with_h0, dtype):
    tm, em = _pair(torch, mode, dtype, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(2)
    lengths = [3, 5, 1, 5, 2]  # unsorted, with a tie
    x = rng.standard_normal((5, 5, F) if batch_first else (5, 5, F)).astype(dtype)
    h0 = [rng.standard_normal(s).astype(dtype) for s in _state_shapes(mode, layers, 1 + bidirectional, (5,))]
    _compare(torch, tm, em, x, h0 if with_h0 else None, dtype, packed=lengths)


@pytest.mark.parametrize("mode", list(MODES))
def test_no_bias(torch, mode):
    tm, em = _pair(torch, mode, np.float64, num_layers=2, bias=False, bidirectional=True)
    assert not any("bias" in k for k in em.state_dict())
    x = np.random.default_rng(3).standard_normal((T, B, F))
    _compare(torch, tm, em, x, None, np.float64)


@pytest.mark.parametrize("mode", list(MODES))
def test_state_dict_moves_back_to_torch_and_init(torch, mode):
    cls, extra = MODES[mode]
    em = getattr(nn, cls)(F, H, num_layers=2, bidirectional=True, **extra)
    tm = getattr(torch.nn, cls)(F, H, num_layers=2, bidirectional=True, **extra)
    assert list(em.state_dict()) == list(tm.state_dict())
    bound = 1 / np.sqrt(H)
    for name, p in em.named_parameters():
        a = p.detach().numpy()
        assert a.dtype == np.float32 and np.abs(a).max() <= bound and a.std() > 0.3 * bound, name
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in em.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((T, B, F)).astype(np.float32)
    eo, to = em(ember.tensor(x))[0], tm(torch.from_numpy(x))[0]
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", list(MODES))
def test_dropout_between_layers(torch, mode):
    """p=1 zeroes the first layer's output (deterministic, so torch can check it); eval has none."""
    tm, em = _pair(torch, mode, np.float64, num_layers=2, dropout=1.0)
    x = np.random.default_rng(5).standard_normal((T, B, F))
    np.testing.assert_allclose(em(ember.tensor(x))[0].detach().numpy(), tm(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-9, atol=1e-11)
    em.eval()
    tm.eval()
    np.testing.assert_allclose(em(ember.tensor(x))[0].detach().numpy(), tm(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-9, atol=1e-11)
    half = getattr(nn, MODES[mode][0])(F, H, num_layers=2, dropout=0.5, **MODES[mode][1])
    ember.manual_seed(3)
    a = half(ember.tensor(x))[0].detach().numpy()
    ember.manual_seed(3)
    b = half(ember.tensor(x))[0].detach().numpy()
    half.eval()
    c = half(ember.tensor(x))[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("mode", list(MODES))
def test_repr_matches_torch(torch, mode):
    cls, extra = MODES[mode]
    for kw in [{}, dict(num_layers=2, bias=False, batch_first=True, dropout=0.25, bidirectional=True)]:
        assert repr(getattr(nn, cls)(F, H, **extra, **kw)) == repr(getattr(torch.nn, cls)(F, H, **extra, **kw))


# ----- cells -----

CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell,extra", CELLS)
@pytest.mark.parametrize("batched,with_h,bias", [(True, True, True), (True, False, True), (False, True, True),
                                                 (False, False, False), (True, True, False)])
def test_cell_matches_torch(torch, cell, extra, batched, with_h, bias, dtype):
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    tc = getattr(torch.nn, cell)(F, H, bias=bias, **extra).to(tdt)
    ec = getattr(nn, cell)(F, H, bias=bias, **extra, dtype=dtype)
    assert list(ec.state_dict()) == list(tc.state_dict())
    ec.load_state_dict(tc.state_dict())
    assert repr(ec) == repr(tc)
    rng = np.random.default_rng(6)
    batch = (B,) if batched else ()
    x = rng.standard_normal(batch + (F,)).astype(dtype)
    hs = [rng.standard_normal(batch + (H,)).astype(dtype) for _ in range(2 if cell == "LSTMCell" else 1)]
    ex, tx = _leaf(ember, x), _leaf(torch, x)
    eh, eleaves = _states(ember, hs if with_h else None)
    th, tleaves = _states(torch, hs if with_h else None)
    eo, to = ec(ex, eh), tc(tx, th)
    eo, to = (list(eo), list(to)) if cell == "LSTMCell" else ([eo], [to])
    eloss, tloss = 0, 0
    for e, t in zip(eo, to):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), **_tol(dtype))
        w = rng.standard_normal(tuple(t.shape)).astype(dtype)
        eloss, tloss = eloss + (e * ember.tensor(w)).sum(), tloss + (t * torch.tensor(w)).sum()
    eloss.backward()
    tloss.backward()
    for e, t in zip([ex] + eleaves, [tx] + tleaves):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **_tol(dtype))
    tg = dict(tc.named_parameters())
    for name, p in ec.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tg[name].grad.numpy(), **_tol(dtype), err_msg=name)


# ----- gradcheck (float64, first and second order) -----

def _gradcheck_fn(module, lstm):
    names = [n for n, _ in module.named_parameters()]

    def fn(x, *params):
        out, hn = ember.func.functional_call(module, dict(zip(names, params)), (x,))
        return (out * out).sum() + (hn[1] if lstm else hn).sum()
    return fn


@pytest.mark.parametrize("mode", ["lstm", "lstm_proj", "gru"])
def test_gradcheck_small(mode):
    cls, extra = MODES[mode]
    m = getattr(nn, cls)(2, 3, num_layers=1, bidirectional=True, dtype=np.float64, **extra)
    params = [ember.tensor(p.detach().numpy().copy(), requires_grad=True) for p in m.parameters()]
    x = ember.tensor(np.random.default_rng(8).standard_normal((3, 2, 2)), requires_grad=True)
    fn = _gradcheck_fn(m, cls == "LSTM")
    assert ember.gradcheck(fn, [x] + params)
    assert gradgradcheck(lambda x, w: fn(x, w, *params[1:]), [x, params[0]])


def test_cell_gradgradcheck():
    rng = np.random.default_rng(9)
    for cell in (nn.LSTMCell(2, 3, dtype=np.float64), nn.GRUCell(2, 3, dtype=np.float64)):
        x = ember.tensor(rng.standard_normal((2, 2)), requires_grad=True)
        h = ember.tensor(rng.standard_normal((2, 3)), requires_grad=True)
        if isinstance(cell, nn.LSTMCell):
            fn = lambda x, h: cell(x, (h, h * 0.5))[1].sum() + cell(x, (h, h))[0].sum()  # noqa: E731
        else:
            fn = lambda x, h: (cell(x, h) ** 2).sum()  # noqa: E731
        assert ember.gradcheck(fn, [x, h])
        assert gradgradcheck(fn, [x, h])


# ----- bad input -----

def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize("mode", list(MODES))
def test_bad_input_shapes(torch, mode):
    tm, em = _pair(torch, mode, np.float32, num_layers=2)
    lstm = mode.startswith("lstm")
    name = MODES[mode][0]
    # rank: torch's ValueError, naming the module and the shape
    kind, msg = _message(lambda: em(ember.zeros(2, 3, 4, 1)))
    assert kind is ValueError and f"{name}: Expected input to be 2D or 3D, got 4D" in msg and "(2, 3, 4, 1)" in msg
    # features: torch's RuntimeError text, with the module and the shape
    tkind, tmsg = _message(lambda: tm(torch.zeros(5, 3, 7)))
    kind, msg = _message(lambda: em(ember.zeros(5, 3, 7)))
    assert kind is tkind is RuntimeError and tmsg in msg and msg.startswith(name) and "(5, 3, 7)" in msg
    # initial state of the wrong shape or rank: torch's message exactly
    hs = _state_shapes(mode, 2, 1, (3,))
    h, c = hs[0], hs[-1]
    bad = [[(1, 3, h[2]), c] if lstm else [(2, 2, h[2])],
           [h, (2, 2, H)] if lstm else [(2, 3, h[2] + 1)],
           [h[1:], c[1:]] if lstm else [h[1:]]]
    for shapes in bad:
        et = [ember.zeros(*s) for s in shapes]
        tt = [torch.zeros(*s) for s in shapes]
        tkind, tmsg = _message(lambda: tm(torch.zeros(5, 3, F), tuple(tt) if lstm else tt[0]))
        kind, msg = _message(lambda: em(ember.zeros(5, 3, F), tuple(et) if lstm else et[0]))
        assert (kind, msg) == (tkind, tmsg) and kind is RuntimeError, shapes
    # unbatched input with a 3-D state
    tkind, tmsg = _message(lambda: tm(torch.zeros(5, F), tuple(torch.zeros(*s) for s in hs) if lstm
                                      else torch.zeros(*hs[0])))
    kind, msg = _message(lambda: em(ember.zeros(5, F), tuple(ember.zeros(*s) for s in hs) if lstm
                                    else ember.zeros(*hs[0])))
    assert (kind, msg) == (tkind, tmsg)


@pytest.mark.parametrize("cell,extra", CELLS)
def test_cell_bad_input(torch, cell, extra):
    tc, ec = getattr(torch.nn, cell)(F, H, **extra), getattr(nn, cell)(F, H, **extra)
    n = 2 if cell == "LSTMCell" else 1

    def st(lib, shape):
        return tuple(lib.zeros(*shape) for _ in range(n)) if n == 2 else lib.zeros(*shape)
    for x, h in [((B, F + 1), None), ((B, F, 1), None), ((B, F), (B + 1, H)), ((B, F), (B, H + 1)),
                 ((B, F), (B, H, 1))]:
        tkind, tmsg = _message(lambda: tc(torch.zeros(*x), None if h is None else st(torch, h)))
        kind, msg = _message(lambda: ec(ember.zeros(*x), None if h is None else st(ember, h)))
        assert kind is tkind and tmsg in msg, (x, h, msg, tmsg)


def test_constructor_errors(torch):
    for args, kw in [((F, H), {"proj_size": H}), ((F, H), {"proj_size": -1}), ((F, 0), {}),
                     ((F, H), {"dropout": 1.5}), ((F, H), {"num_layers": 0})]:
        tkind, tmsg = _message(lambda: torch.nn.LSTM(*args, **kw))
        kind, msg = _message(lambda: nn.LSTM(*args, **kw))
        assert (kind, msg) == (tkind, tmsg)
    for cls in ("RNN", "GRU"):
        assert _message(lambda: getattr(nn, cls)(F, H, proj_size=2)) == \
            _message(lambda: getattr(torch.nn, cls)(F, H, proj_size=2))
    assert _message(lambda: nn.RNN(F, H, nonlinearity="gelu")) == \
        _message(lambda: torch.nn.RNN(F, H, nonlinearity="gelu"))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(F, H, nonlinearity="gelu")  # torch defers this to forward; ember refuses at once
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(F, H, dropout=0.5)


def test_positional_arguments_as_torch(torch):
    e, t = nn.RNN(F, H, 2, "relu", False, True), torch.nn.RNN(F, H, 2, "relu", False, True)
    assert repr(e) == repr(t) and e.nonlinearity == "relu"
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    e = nn.LSTM(F, H, 1, True, False, 0.0, True, 2)
    assert e.proj_size == 2 and e.bidirectional and len(e.all_weights) == 2 and len(e.all_weights[0]) == 5
