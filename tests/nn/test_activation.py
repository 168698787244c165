"""Activations and erf: values and input gradients against PyTorch, float64 gradchecks,
erf's accuracy against math.erf, stability at extreme inputs, dtypes, modules' repr."""
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import nn
from ember.ops.activation import _erf

# name, ember call, torch call (given the torch module), input scale
ACTS = [
    ("relu", lambda x: F.relu(x), lambda T, x: T.relu(x), 2.0),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda T, x: T.nn.functional.leaky_relu(x, 0.2), 2.0),
    ("elu", lambda x: F.elu(x, 1.3), lambda T, x: T.nn.functional.elu(x, 1.3), 2.0),
    ("gelu", lambda x: F.gelu(x), lambda T, x: T.nn.functional.gelu(x), 3.0),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda T, x: T.nn.functional.gelu(x, approximate="tanh"), 3.0),
    ("silu", lambda x: F.silu(x), lambda T, x: T.nn.functional.silu(x), 3.0),
    ("sigmoid", lambda x: F.sigmoid(x), lambda T, x: T.sigmoid(x), 3.0),
    ("tanh", lambda x: F.tanh(x), lambda T, x: T.tanh(x), 2.0),
    ("softplus", lambda x: F.softplus(x), lambda T, x: T.nn.functional.softplus(x), 3.0),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=3.0),
     lambda T, x: T.nn.functional.softplus(x, beta=2.0, threshold=3.0), 3.0),
    ("softmax", lambda x: F.softmax(x, dim=-1), lambda T, x: T.softmax(x, dim=-1), 3.0),
    ("softmax_dim0", lambda x: F.softmax(x, dim=0), lambda T, x: T.softmax(x, dim=0), 3.0),
    ("log_softmax", lambda x: F.log_softmax(x), lambda T, x: T.log_softmax(x, dim=-1), 3.0),
    ("log_softmax_dim0", lambda x: F.log_softmax(x, 0), lambda T, x: T.log_softmax(x, dim=0), 3.0),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), lambda T, x: T.nn.functional.hardtanh(x, -0.5, 1.5), 2.0),
    ("relu6", lambda x: F.relu6(x), lambda T, x: T.nn.functional.relu6(x), 5.0),
    ("erf", lambda x: F.erf(x), lambda T, x: T.erf(x), 2.0),
]
IDS = [a[0] for a in ACTS]
TOL = {np.float32: dict(rtol=2e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _input(rng, shape, scale, dtype):
    x = rng.standard_normal(shape) * scale
    x[np.abs(x) < 1e-3] = 0.1  # keep off the kinks at 0
    for corner in (-0.5, 1.5, 6.0):
        x[np.abs(x - corner) < 1e-3] += 0.01
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_matches_torch(torch, rng, act, dtype):
    _, fn, tfn, scale = act
    for shape in [(7,), (4, 5), tuple(rng.integers(1, 5, size=3))]:
        x = _input(rng, shape, scale, dtype)
        e = ember.tensor(x, requires_grad=True)
        y = fn(e)
        gy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(gy)
        t = torch.tensor(x, requires_grad=True)
        ty = tfn(torch, t)
        ty.backward(torch.tensor(gy))
        assert y.dtype == dtype and e.grad.dtype == dtype
        np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(e.grad, t.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_gradcheck(rng, act):
    _, fn, _, scale = act
    x = ember.tensor(_input(rng, (3, 4), scale, np.float64), requires_grad=True)
    assert ember.gradcheck(fn, [x])


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_extreme_inputs_are_finite_and_quiet(act):
    _, fn, _, _ = act
    for dtype in (np.float32, np.float64):
        x = np.array([[-1e4, 1e4, 0.5, -1e30], [1e30, -0.5, 1e4, -1e4]], dtype)
        e = ember.tensor(x, requires_grad=True)
        # underflow to 0 (exp(-1e4)) is the right answer and NumPy's default ignores it
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            y = fn(e)
            y.sum().backward()
        assert np.isfinite(y.detach().numpy()).all() and np.isfinite(e.grad.detach().numpy()).all()


def test_extreme_values_are_right():
    x = np.array([-1e4, -50.0, 50.0, 1e4], np.float32)
    want = np.array([0, 0, 50, 1e4])
    for y in [F.gelu(x), F.gelu(x, approximate="tanh"), F.softplus(x), F.silu(x)]:
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.data, want, rtol=1e-7, atol=1e-20)
    np.testing.assert_allclose(F.elu(x).data, [-1, -1, 50, 1e4], rtol=1e-7)
    np.testing.assert_allclose(F.softplus(x).data[1], math.exp(-50), rtol=1e-6)  # log1p, not log(1 + .)
    ls = F.log_softmax(np.array([1e4, -1e4, 0], np.float32)).data
    np.testing.assert_array_equal(ls, [0, -2e4, -1e4])


def test_kinks_match_torch(torch):
    # at the kinks PyTorch picks a side: relu, leaky_relu, elu at 0; hardtanh/relu6 pass no
    # gradient at their corners (unlike clamp)
    x = np.array([-1.0, 0.0, 1.0, 6.0, 0.5], np.float32)
    for fn, tfn in [(F.relu, torch.relu), (F.leaky_relu, torch.nn.functional.leaky_relu),
                    (F.elu, torch.nn.functional.elu), (F.hardtanh, torch.nn.functional.hardtanh),
                    (F.relu6, torch.nn.functional.relu6)]:
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        fn(e).sum().backward()
        tfn(t).sum().backward()
        np.testing.assert_array_equal(e.grad, t.grad.numpy())


@pytest.mark.parametrize("size", [5, 1 << 19], ids=["small", "split over threads"])
def test_relu_passes_the_gradient_at_nan_as_torch(torch, size):
    # PyTorch zeroes ReLU's gradient where the output is <= 0, so it passes at a NaN
    x = np.random.default_rng(4).standard_normal(size).astype(np.float32)
    x[:5] = [np.nan, -1.0, 0.0, 2.0, -0.0]
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(5).standard_normal(size).astype(np.float32)
    F.relu(e).backward(g)
    torch.relu(t).backward(torch.tensor(g))
    np.testing.assert_array_equal(e.grad, t.grad.numpy())
    assert e.grad[0] == g[0] and e.grad[2] == 0


def test_linear_relu_passes_the_gradient_at_nan_as_torch(torch):
    # nn.Sequential runs Linear -> ReLU as one op (LinearReLU), with its own mask
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in seq.state_dict().items()})
    x = np.array([[np.nan, 1.0, 2.0], [0.5, -1.0, 3.0]], np.float32)
    e, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    seq(e).sum().backward()
    t(tx).sum().backward()
    np.testing.assert_allclose(e.grad, tx.grad.numpy(), rtol=1e-6)
    assert np.isfinite(e.grad.numpy()).all()  # the NaN row's gradient reaches x through the ReLU
    for p, tp in zip(seq.parameters(), t.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", ["sigmoid", "silu"])
def test_sigmoid_tails_keep_their_relative_precision(torch, fn, dtype):
    # sigmoid(-30) is 9.4e-14, not 0: PyTorch's 1 / (1 + exp(-x)) keeps it, and so must ember
    x = np.array([-100, -60, -30, -17, -5, -1e-3, 0, 1e-3, 5, 17, 30, 60, 100], dtype)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = getattr(F, fn)(e)
    ty = getattr(torch.nn.functional, fn)(t)
    y.backward(np.ones_like(x))
    ty.backward(torch.ones_like(t))
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    tiny = np.finfo(dtype).tiny  # PyTorch's float32 exp flushes to 0 where NumPy's is subnormal
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=rtol, atol=tiny)
    np.testing.assert_allclose(e.grad, t.grad.numpy(), rtol=rtol, atol=tiny)


def test_bce_on_sigmoid_of_a_very_wrong_logit_matches_torch(torch):
    # log(sigmoid(-30)) is -30: the loss is 30, not the clamp's 100
    x, tgt = np.array([-30.0, 2.0], np.float32), np.array([1.0, 0.0], np.float32)
    got = F.binary_cross_entropy(F.sigmoid(ember.tensor(x)), tgt).item()
    want = torch.nn.functional.binary_cross_entropy(torch.sigmoid(torch.tensor(x)), torch.tensor(tgt)).item()
    assert got == pytest.approx(want, rel=1e-6) and got < 20


def test_abs_and_l1_gradients_are_zero_at_nan_as_torch(torch):
    x = np.array([np.nan, -2.0, 0.0, 3.0, -0.0, np.inf])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.abs(e).backward(np.ones_like(x))
    t.abs().backward(torch.ones_like(t))
    np.testing.assert_array_equal(e.grad, t.grad.numpy())
    y = np.array([0.0, np.nan, 1.0, 3.0, 1.0, 1.0])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.l1_loss(e, y, reduction="sum").backward()
    torch.nn.functional.l1_loss(t, torch.tensor(y), reduction="sum").backward()
    np.testing.assert_array_equal(e.grad, t.grad.numpy())


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maximum_minimum_gradients_match_torch_on_ties_and_nan(torch, fn, dtype):
    # a tie splits the gradient; where an operand is NaN, PyTorch gives all of it to both
    a = np.array([[np.nan, 1.0, 2.0, 3.0, -np.inf], [0.0, 5.0, np.nan, -1.0, 4.0]], dtype)
    b = np.array([2.0, np.nan, 2.0, 1.0, -np.inf], dtype)  # broadcast over the rows
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    g = np.arange(1.0, 11.0, dtype=dtype).reshape(2, 5)
    y = getattr(ember, fn)(ea, eb)
    y.backward(g)
    getattr(torch, fn)(ta, tb).backward(torch.tensor(g))
    np.testing.assert_array_equal(y.data, getattr(np, fn)(a, b))
    assert ea.grad.dtype == dtype and eb.grad.dtype == dtype
    np.testing.assert_array_equal(ea.grad, ta.grad.numpy())
    np.testing.assert_array_equal(eb.grad, tb.grad.numpy())


def test_erf_float64_accuracy():
    x = np.concatenate([np.linspace(-7, 7, 200001), np.linspace(-40, 40, 801), [-np.inf, np.inf]])
    ref = np.array([math.erf(v) for v in x])
    y = _erf(x)
    assert y.dtype == np.float64
    assert np.abs(y - ref).max() < 1e-15
    # relative accuracy where erf is tiny
    tiny = np.logspace(-300, -1, 600)
    rel = np.abs(_erf(tiny) / np.array([math.erf(v) for v in tiny]) - 1)
    assert rel.max() < 1e-15
    assert np.isnan(_erf(np.array([np.nan]))).all()


def test_erf_float32_accuracy():
    x = np.linspace(-10, 10, 400001).astype(np.float32)
    ref = np.array([math.erf(v) for v in x.astype(np.float64)])
    y = _erf(x)
    assert y.dtype == np.float32
    assert np.abs(y - ref).max() < 5e-7  # about 4 float32 ulps near 1
    tiny = np.logspace(-30, -1, 300).astype(np.float32)
    ref = np.array([math.erf(v) for v in tiny.astype(np.float64)])
    assert (np.abs(_erf(tiny) - ref) / ref).max() < 5e-7
    np.testing.assert_array_equal(_erf(np.array([-np.inf, np.inf], np.float32)), [-1, 1])
    assert _erf(np.array([0.5], np.float16)).dtype == np.float16


def test_int_input_becomes_default_float():
    y = F.gelu(ember.tensor([0, 1, 2]))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [0, 0.8413447, 1.9544997], rtol=1e-6)


def test_softmax_default_dim_is_last(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(F.softmax(x).data, torch.softmax(torch.tensor(x), -1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(nn.Softmax()(x).data.sum(-1), 1, rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x, dim=None).data, torch.log_softmax(torch.tensor(x), -1).numpy(), rtol=1e-6)


def test_softmax_with_masked_entries(torch):
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]], np.float32)
    e = ember.tensor(x, requires_grad=True)
    y = F.softmax(e, dim=1)
    t = torch.tensor(x, requires_grad=True)
    ty = torch.softmax(t, dim=1)
    gy = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.grad, t.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_rows_with_infinite_maximum_match_torch(torch, fn):
    # a row holding +inf, or only -inf, is NaN in PyTorch, values and gradients
    x = np.array([[1.0, np.inf, 3.0], [np.inf, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]])
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy = np.arange(12.0).reshape(4, 3)
    with np.errstate(all="raise"):  # and quietly: no RuntimeWarning for the NaN rows
        y = getattr(F, fn)(e, dim=1)
        y.backward(gy)
    ty = getattr(torch, fn)(t, dim=1)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.data, ty.detach().numpy())
    np.testing.assert_allclose(e.grad, t.grad.numpy())


def test_bad_arguments():
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range for input of shape \(2, 3\)"):
        F.softmax(ember.zeros(2, 3), dim=2)
    with pytest.raises(IndexError, match="log_softmax: dim -3"):
        F.log_softmax(ember.zeros(2, 3), dim=-3)
    # PyTorch's error (a RuntimeError), here at construction for the module, not at its first call
    with pytest.raises(RuntimeError, match=r"approximate argument must be either none or tanh\. \(gelu: got 'erf'\)"):
        F.gelu(ember.zeros(2), approximate="erf")
    with pytest.raises(RuntimeError, match=r"either none or tanh\. \(GELU: got 'fast'\)"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="max_val must be greater than min_val"):
        nn.Hardtanh(1.0, -1.0)


MODULES = [
    ("ReLU", (), {}, "relu"), ("ReLU", (), {"inplace": True}, "relu"),
    ("LeakyReLU", (0.2,), {}, None), ("LeakyReLU", (), {"inplace": True}, None),
    ("ELU", (0.5,), {}, None), ("GELU", (), {}, None), ("GELU", ("tanh",), {}, None),
    ("SiLU", (), {}, None), ("Sigmoid", (), {}, None), ("Tanh", (), {}, None),
    ("Softplus", (2.0, 10.0), {}, None), ("Softmax", (1,), {}, None), ("LogSoftmax", (1,), {}, None),
    ("Softmax", (), {}, None), ("Hardtanh", (-2.0, 2.0), {}, None), ("ReLU6", (), {}, None),
    ("ReLU6", (), {"inplace": True}, None),
]


@pytest.mark.parametrize("name,args,kwargs,_", MODULES)
def test_modules_match_torch(torch, rng, name, args, kwargs, _):
    m = getattr(nn, name)(*args, **kwargs)
    tm = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm)
    assert list(m.parameters()) == [] and m.state_dict() == {}
    x = (rng.standard_normal((3, 5)) * 3).astype(np.float32)
    e = ember.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's implicit-dim warning for Softmax()
        ty = tm(torch.tensor(x)).numpy() if not kwargs.get("inplace") else tm(torch.tensor(x).clone()).numpy()
        if name in ("Softmax", "LogSoftmax") and not args:
            ty = getattr(torch, name.lower().replace("logsoftmax", "log_softmax"))(torch.tensor(x), -1).numpy()
    y = m(e)
    np.testing.assert_allclose(y.data, ty, rtol=2e-5, atol=2e-6)
    y.sum().backward()
    assert e.grad.shape == x.shape and e.grad.dtype == np.float32
    np.testing.assert_allclose(m(x).data, y.data)  # ndarrays are accepted too
