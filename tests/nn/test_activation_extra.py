"""The rest of torch.nn's activations (GLU ... Tanhshrink, PReLU, RReLU, the in-place F forms):
values and first and second gradients against PyTorch in float32 and float64, finite
differences to second order, the modules' reprs and state, and PyTorch's errors."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.autograd import gradcheck, gradgradcheck
from ember.nn import functional as F

from higher_order_helpers import against_torch

# (name, ember call, torch call); x stays away from the kinks (0, +-3, +-lambd) where
# finite differences straddle a corner
CASES = [
    ("glu", lambda F, x: F.glu(x, dim=1)),
    ("glu_last", lambda F, x: F.glu(x)),
    ("hardsigmoid", lambda F, x: F.hardsigmoid(x)),
    ("hardswish", lambda F, x: F.hardswish(x)),
    ("logsigmoid", lambda F, x: F.logsigmoid(x)),
    ("selu", lambda F, x: F.selu(x)),
    ("celu", lambda F, x: F.celu(x, alpha=0.7)),
    ("rrelu_eval", lambda F, x: F.rrelu(x, lower=0.1, upper=0.3, training=False)),
    ("softsign", lambda F, x: F.softsign(x)),
    ("softmin", lambda F, x: F.softmin(x, dim=1)),
    ("threshold", lambda F, x: F.threshold(x, 0.1, 20.0)),
    ("hardshrink", lambda F, x: F.hardshrink(x, lambd=0.4)),
    ("softshrink", lambda F, x: F.softshrink(x, lambd=0.4)),
    ("tanhshrink", lambda F, x: F.tanhshrink(x)),
]


def _x(rng, shape=(3, 4, 2), scale=2.5):
    x = rng.standard_normal(shape) * scale
    # keep finite differences off the kinks
    for k in (0.0, 0.1, 0.4, 3.0):
        for s in (1, -1):
            near = np.abs(x - s * k) < 0.02
            x[near] += 0.05
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_against_torch(torch, rng, name, fn, dtype):
    x = _x(rng).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    if name == "hardsigmoid":  # PyTorch has no second derivative of hardsigmoid (ember's is 0)
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = fn(F, e), fn(torch.nn.functional, t)
        g = rng.standard_normal(y.shape).astype(dtype)
        y.backward(ember.tensor(g)), ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)
        return
    against_torch(torch, lambda a: fn(F, a), lambda a: fn(torch.nn.functional, a), [x], [True], rng, **tol)


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(rng, name, fn):
    x = ember.tensor(_x(rng, (2, 4), 2.0), requires_grad=True)
    assert gradcheck(lambda a: fn(F, a), [x])
    assert gradgradcheck(lambda a: fn(F, a), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wshape", [(1,), (4,), ()])
def test_prelu(torch, rng, dtype, wshape):
    x = _x(rng, (2, 4, 3)).astype(dtype)
    w = (rng.random(wshape) * 0.5).astype(dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    against_torch(torch, F.prelu, torch.nn.functional.prelu, [x, w], [True, True], rng, **tol)
    if dtype == np.float64:
        args = [ember.tensor(x[:1, :, :2], requires_grad=True), ember.tensor(w, requires_grad=True)]
        assert gradcheck(F.prelu, args) and gradgradcheck(F.prelu, args)


def test_prelu_module(torch):
    m, tm = nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(m) == repr(tm) == "PReLU(num_parameters=3)"
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (3,)
    m.load_state_dict({"weight": ember.tensor(np.array([0.1, 0.2, 0.3], np.float32))})
    tm.load_state_dict({"weight": torch.tensor([0.1, 0.2, 0.3])})
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(m(ember.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    assert nn.PReLU().weight.detach().numpy().tolist() == [0.25]


def test_rrelu_training():
    x = ember.tensor(-np.ones((200, 50)), requires_grad=True)
    ember.manual_seed(3)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.005
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # the gradient is the drawn slope
    ember.manual_seed(3)
    np.testing.assert_array_equal(F.rrelu(x, 0.1, 0.3, training=True).detach().numpy(), y.detach().numpy())
    pos = ember.tensor(np.arange(1.0, 5.0))
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), pos.numpy())
    m = nn.RReLU(0.1, 0.3)
    m.eval()
    np.testing.assert_allclose(m(x).detach().numpy(), -0.2 * np.ones((200, 50)))
    m.train()
    assert not np.allclose(m(x).detach().numpy(), -0.2)
    xx = ember.tensor(np.array([-1.0, 2.0, -3.0]))
    xr = ember.tensor(np.array([-1.0, 2.0, -3.0]), requires_grad=True)
    gradcheck(lambda a: F.rrelu(a, training=False), [xr]) and gradgradcheck(lambda a: F.rrelu(a), [xr])
    assert F.rrelu_(xx) is xx and np.allclose(xx.numpy(), [-11 / 48, 2.0, -33 / 48])


@pytest.mark.parametrize("name,args", [
    ("relu_", ()), ("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.2, -1.0)), ("rrelu_", (0.1, 0.3)),
    ("hardtanh_", (-0.5, 0.5)), ("leaky_relu_", (0.2,)), ("elu_", (0.5,)),
])
def test_in_place(torch, rng, name, args):
    x = rng.standard_normal((3, 4))
    e, t = ember.tensor(x.copy()), torch.tensor(x.copy())
    r = getattr(F, name)(e, *args)
    getattr(torch.nn.functional, name)(t, *args)
    assert r is e and e._version == 1
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)
    # on a non-leaf inside the graph: the history is rebased, the gradient is the op's
    a, ta = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h, th = a * 2, ta * 2
    getattr(F, name)(h, *args)
    getattr(torch.nn.functional, name)(th, *args)
    g = rng.standard_normal((3, 4))
    h.backward(ember.tensor(g))
    th.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        getattr(F, name)(ember.tensor(x, requires_grad=True), *args)


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmin")
def test_modules(torch, rng):
    x = _x(rng, (2, 4, 3, 2)).astype(np.float32)
    pairs = [
        ("GLU", (), {"dim": 1}), ("Hardsigmoid", (), {}), ("Hardswish", (), {"inplace": True}), ("LogSigmoid", (), {}),
        ("SELU", (), {"inplace": True}), ("CELU", (2.0,), {}), ("CELU", (), {"alpha": 0.5, "inplace": True}),
        ("Softsign", (), {}), ("Softmin", (), {"dim": 1}), ("Softmin", (), {}), ("Softmax2d", (), {}),
        ("Threshold", (0.1, 20), {}), ("Threshold", (0.1, 20.0), {"inplace": True}), ("Hardshrink", (), {}),
        ("Softshrink", (0.3,), {}), ("Tanhshrink", (), {}), ("RReLU", (0.1, 0.3), {"inplace": True}),
        ("RReLU", (), {}),
    ]
    for name, args, kw in pairs:
        m, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        assert repr(m) == repr(tm), name
        m.eval(), tm.eval()
        tx = torch.tensor(x)
        ty = tm(tx.clone() if kw.get("inplace") else tx).detach().numpy()
        if name == "Softmin" and not kw:
            ty = torch.nn.functional.softmin(tx, dim=-1).numpy()  # ember takes the last axis; torch guesses
        np.testing.assert_allclose(m(ember.tensor(x)).detach().numpy(), ty, rtol=2e-6, atol=1e-6, err_msg=name)


def _raises(torch, fe, ft, match=None):
    try:
        ft()
    except Exception as te:
        with pytest.raises(type(te)) as ei:
            fe()
        assert str(ei.value).split("\n")[0] == str(te).split("\n")[0] if match is None else match in str(ei.value)
        return
    raise AssertionError("torch did not raise")


def test_errors(torch):
    x, tx = ember.tensor(np.ones((2, 3), np.float32)), torch.ones(2, 3)
    i, ti = ember.tensor(np.arange(3)), torch.arange(3)
    TF = torch.nn.functional
    _raises(torch, lambda: F.glu(x, 1), lambda: TF.glu(tx, 1))
    _raises(torch, lambda: F.glu(x, 3), lambda: TF.glu(tx, 3))
    _raises(torch, lambda: F.glu(ember.tensor(1.0), 0), lambda: TF.glu(torch.tensor(1.0), 0))
    _raises(torch, lambda: F.prelu(x, ember.ones(4)), lambda: TF.prelu(tx, torch.ones(4)))
    _raises(torch, lambda: F.prelu(x, ember.ones(3, 1)), lambda: TF.prelu(tx, torch.ones(3, 1)))
    _raises(torch, lambda: F.prelu(ember.ones(3), ember.ones(3)), lambda: TF.prelu(torch.ones(3), torch.ones(3)))
    _raises(torch, lambda: F.prelu(x, ember.ones(1, dtype=ember.float64)), lambda: TF.prelu(tx, torch.ones(1).double()))
    _raises(torch, lambda: F.glu(i[:2]), lambda: TF.glu(ti[:2]))
    _raises(torch, lambda: F.celu(x, 0.0), lambda: TF.celu(tx, 0.0))
    _raises(torch, lambda: nn.CELU(0.0)(x), lambda: torch.nn.CELU(0.0)(tx))
    _raises(torch, lambda: F.softshrink(x, -1.0), lambda: TF.softshrink(tx, -1.0))
    _raises(torch, lambda: F.rrelu(x, 0.5, 0.1, training=True), lambda: TF.rrelu(tx, 0.5, 0.1, training=True))
    _raises(torch, lambda: nn.Softmax2d()(x), lambda: torch.nn.Softmax2d()(tx))
    for name in ("selu", "hardsigmoid", "logsigmoid", "softshrink"):
        _raises(torch, lambda: getattr(F, name)(i), lambda: getattr(TF, name)(ti))
    for name in ("softsign", "tanhshrink"):  # PyTorch promotes integers here
        assert getattr(F, name)(i).dtype == ember.float32
    np.testing.assert_array_equal(F.threshold(i, 1, 5).numpy(), TF.threshold(ti, 1, 5).numpy())
