"""Elementwise math (ember/ops/pointwise.py) against PyTorch 2.13: values, dtypes, gradients
in float32 and float64, float64 gradcheck and gradgradcheck. One table drives them: each row
is (name, fn(m, *inputs) with m the module (ember or torch), input domains)."""
import math

import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

R = (-2.0, 2.0)
POS = (0.5, 2.0)
UNIT = (-0.9, 0.9)
PROB = (0.1, 0.9)

# name, fn(m, *xs), a domain per input
UNARY = [
    ("sin", lambda m, x: m.sin(x), [R]),
    ("cos", lambda m, x: x.cos(), [R]),
    ("tan", lambda m, x: m.tan(x), [(-1.2, 1.2)]),
    ("asin", lambda m, x: m.asin(x), [UNIT]),
    ("acos", lambda m, x: x.acos(), [UNIT]),
    ("atan", lambda m, x: m.atan(x), [R]),
    ("arcsin", lambda m, x: m.arcsin(x), [UNIT]),
    ("sinh", lambda m, x: m.sinh(x), [R]),
    ("cosh", lambda m, x: x.cosh(), [R]),
    ("asinh", lambda m, x: m.asinh(x), [R]),
    ("acosh", lambda m, x: m.acosh(x), [(1.2, 3.0)]),
    ("atanh", lambda m, x: m.atanh(x), [UNIT]),
    ("log1p", lambda m, x: m.log1p(x), [(-0.5, 2.0)]),
    ("log2", lambda m, x: x.log2(), [POS]),
    ("log10", lambda m, x: m.log10(x), [POS]),
    ("expm1", lambda m, x: m.expm1(x), [R]),
    ("exp2", lambda m, x: m.exp2(x), [R]),
    ("rsqrt", lambda m, x: m.rsqrt(x), [POS]),
    ("reciprocal", lambda m, x: x.reciprocal(), [POS]),
    ("square", lambda m, x: m.square(x), [R]),
    ("frac", lambda m, x: m.frac(x * 3), [R]),
    ("erf", lambda m, x: m.erf(x), [R]),
    ("erfc", lambda m, x: m.erfc(x), [(-3.0, 3.0)]),
    ("erfinv", lambda m, x: m.erfinv(x), [UNIT]),
    ("lgamma", lambda m, x: m.lgamma(x), [(0.2, 6.0)]),
    ("lgamma_neg", lambda m, x: m.lgamma(x), [(-2.9, -2.1)]),
    ("digamma", lambda m, x: m.digamma(x), [(0.3, 6.0)]),
    ("digamma_neg", lambda m, x: x.digamma(), [(-1.8, -1.2)]),
    ("polygamma1", lambda m, x: m.polygamma(1, x), [(0.3, 6.0)]),
    ("polygamma2", lambda m, x: x.polygamma(2), [(0.3, 6.0)]),
    ("sinc", lambda m, x: m.sinc(x), [R]),
    ("logit", lambda m, x: m.logit(x), [PROB]),
    ("logit_eps", lambda m, x: m.logit(x, eps=0.2), [(0.05, 0.95)]),
    ("nan_to_num", lambda m, x: m.nan_to_num(x, nan=1.0), [R]),
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.3), [R]),
    ("clamp_max", lambda m, x: x.clamp_max(-0.2), [R]),
    ("float_power", lambda m, x: m.float_power(x, 3), [R]),
    ("lerp_scalar", lambda m, x, y: m.lerp(x, y, 0.3), [R, R]),
    ("lerp_tensor", lambda m, x, y, w: m.lerp(x, y, w), [R, R, (0.0, 1.0)]),
    ("addcmul", lambda m, x, a, b: m.addcmul(x, a, b, value=0.5), [R, R, R]),
    ("addcdiv", lambda m, x, a, b: x.addcdiv(a, b, value=-2), [R, R, POS]),
    ("atan2", lambda m, a, b: m.atan2(a, b), [R, R]),
    ("hypot", lambda m, a, b: m.hypot(a, b), [R, R]),
    ("logaddexp", lambda m, a, b: m.logaddexp(a, b), [R, R]),
    ("remainder", lambda m, a, b: m.remainder(a * 3, b), [R, POS]),
    ("remainder_neg", lambda m, a, b: a.remainder(-b), [R, POS]),
    ("fmod", lambda m, a, b: m.fmod(a * 3, b), [R, POS]),
    ("xlogy", lambda m, a, b: m.xlogy(a, b), [R, POS]),
    ("copysign", lambda m, a, b: m.copysign(a, b), [R, R]),
    ("float_power_tensor", lambda m, a, b: m.float_power(a, b), [POS, R]),
    ("clamp_min_tensor", lambda m, a, b: m.clamp_min(a, b), [R, R]),
    ("clamp_max_tensor", lambda m, a, b: m.clamp_max(a, b), [R, R]),
]
# broadcasting shapes for the two- and three-input rows
SHAPES = {1: [(3, 4)], 2: [(3, 4), (4,)], 3: [(3, 4), (4,), (3, 1)]}
# second-order checks where finite differences are unreliable (kinks) are left to first order
LOOSE_TORCH = {"digamma", "digamma_neg", "polygamma1", "polygamma2"}
NO_GRADGRAD = {"frac", "clamp_min", "clamp_max", "clamp_min_tensor", "clamp_max_tensor", "remainder",
               "remainder_neg", "fmod", "copysign", "nan_to_num", "logit_eps"}


def _inputs(domains, dtype, seed):
    r = np.random.default_rng(seed)
    return [r.uniform(lo, hi, s).astype(dtype) for (lo, hi), s in zip(domains, SHAPES[len(domains)])]


def _ember_fn(fn):
    return lambda *xs: fn(ember, *xs)


@pytest.mark.parametrize("case", UNARY, ids=[c[0] for c in UNARY])
def test_gradcheck(case):
    name, fn, domains = case
    xs = [ember.tensor(a, requires_grad=True) for a in _inputs(domains, np.float64, 0)]
    assert ember.gradcheck(_ember_fn(fn), xs)


@pytest.mark.parametrize("case", [c for c in UNARY if c[0] not in NO_GRADGRAD], ids=lambda c: c[0])
def test_gradgradcheck(case):
    name, fn, domains = case
    xs = [ember.tensor(a, requires_grad=True) for a in _inputs(domains, np.float64, 0)]
    assert gradgradcheck(_ember_fn(fn), xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", UNARY, ids=[c[0] for c in UNARY])
def test_against_torch(case, dtype, torch):
    name, fn, domains = case
    arrays = _inputs(domains, dtype, 1)
    ex = [ember.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    ey, ty = fn(ember, *ex), fn(torch, *tx)
    assert str(ey.dtype).replace("ember.", "") == str(ty.dtype).replace("torch.", ""), name
    assert tuple(ey.shape) == tuple(ty.shape)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    if dtype == np.float64 and name in LOOSE_TORCH:
        tol = dict(rtol=1e-8, atol=1e-10)  # torch's trigamma/polygamma are good to ~5e-10 (ember's to 1e-15)
    np.testing.assert_allclose(np.asarray(ey.detach().numpy(), np.float64), ty.detach().double().numpy(), **tol)
    g = np.random.default_rng(2).standard_normal(ey.shape).astype(ey.detach().numpy().dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    for e, t in zip(ex, tx):
        assert e.grad.dtype == dtype and tuple(e.grad.shape) == tuple(e.shape)
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)


# ----- dtypes: integers to float functions, rounding keeps integers -----

DTYPE_CASES = [
    ("sin", lambda m, x: m.sin(x)), ("exp2", lambda m, x: m.exp2(x)), ("rsqrt", lambda m, x: m.rsqrt(x)),
    ("reciprocal", lambda m, x: m.reciprocal(x)), ("lgamma", lambda m, x: m.lgamma(x)),
    ("erfinv", lambda m, x: m.erfinv(x * 0)), ("floor", lambda m, x: m.floor(x)), ("ceil", lambda m, x: x.ceil()),
    ("round", lambda m, x: m.round(x)), ("trunc", lambda m, x: m.trunc(x)), ("sign", lambda m, x: m.sign(x)),
    ("square", lambda m, x: m.square(x)), ("atan2", lambda m, x: m.atan2(x, x)),
    ("remainder", lambda m, x: m.remainder(x, 3)), ("fmod", lambda m, x: m.fmod(x, 3)),
    ("copysign", lambda m, x: m.copysign(x, -x)), ("hypot_f", lambda m, x: m.hypot(x.float(), x.float())),
    ("xlogy", lambda m, x: m.xlogy(x, x)), ("float_power", lambda m, x: m.float_power(x, 2)),
    ("logit", lambda m, x: m.logit(x)), ("sinc", lambda m, x: m.sinc(x)), ("signbit", lambda m, x: m.signbit(x)),
    ("nan_to_num", lambda m, x: m.nan_to_num(x)), ("logaddexp", lambda m, x: m.logaddexp(x.float(), x.float())),
]


@pytest.mark.parametrize("case", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_integer_inputs_follow_torch_dtypes(case, torch):
    name, fn = case
    data = np.array([-3, -1, 0, 2, 5])
    ey, ty = fn(ember, ember.tensor(data)), fn(torch, torch.tensor(data))
    assert str(ey.dtype).replace("ember.", "") == str(ty.dtype).replace("torch.", "")
    np.testing.assert_allclose(ey.numpy().astype(np.float64), ty.double().numpy(), rtol=1e-6, equal_nan=True)


# ----- special functions over wide ranges, and the edge values -----

WIDE = [
    ("lgamma", lambda m, x: m.lgamma(x), np.concatenate([np.linspace(-40.3, -0.05, 211), np.linspace(1e-8, 300, 500),
                                                          [1.0, 2.0, 1e-300, 1e20]])),
    ("digamma", lambda m, x: m.digamma(x), np.concatenate([np.linspace(-20.7, -0.1, 97), np.linspace(1e-6, 200, 400),
                                                            [1e10]])),
    ("polygamma1", lambda m, x: m.polygamma(1, x), np.concatenate([np.linspace(-5.7, -0.1, 41) + 0.013,
                                                                    np.linspace(0.01, 60, 200)])),
    ("polygamma3", lambda m, x: m.polygamma(3, x), np.linspace(0.05, 40, 200)),
    ("erfc", lambda m, x: m.erfc(x), np.linspace(-6, 26.5, 400)),
    ("erfinv", lambda m, x: m.erfinv(x), np.concatenate([np.linspace(-0.999999, 0.999999, 301),
                                                          [1 - 1e-12, -1 + 1e-15, 1e-300, 0.0]])),
]


@pytest.mark.parametrize("case", WIDE, ids=[c[0] for c in WIDE])
def test_special_functions_match_torch_in_float64(case, torch):
    name, fn, x = case
    e = fn(ember, ember.tensor(x)).numpy()
    t = fn(torch, torch.tensor(x)).numpy()
    loose = name in LOOSE_TORCH  # torch's trigamma is good to ~5e-10 relative; ember's to ~1e-15
    np.testing.assert_allclose(e, t, rtol=1e-8 if loose else 1e-11, atol=1e-13)


@pytest.mark.parametrize("case", WIDE, ids=[c[0] for c in WIDE])
def test_special_functions_match_torch_in_float32(case, torch):
    name, fn, x = case
    x = x.astype(np.float32)
    x = x[np.abs(x) < 1] if name == "erfinv" else x  # float32 rounds the rest to +-1
    e = fn(ember, ember.tensor(x)).numpy()
    t = fn(torch, torch.tensor(x)).numpy()
    assert e.dtype == np.float32
    np.testing.assert_allclose(e, t, rtol=2e-5, atol=1e-6)


EDGES = [
    ("lgamma", [0.0, -1.0, -2.0, math.inf, -math.inf, math.nan]),
    ("digamma", [0.0, -1.0, -3.0, math.inf, -math.inf, math.nan]),
    ("erfc", [math.inf, -math.inf, math.nan, 0.0, 30.0]),
    ("erfinv", [1.0, -1.0, 1.5, -2.0, math.nan, 0.0, -0.0]),
    ("sign", [math.nan, -0.0, 0.0, -math.inf]),
    ("sinc", [0.0, 1.0, -2.0, math.inf]),
    ("round", [0.5, 1.5, 2.5, -0.5, -1.5]),
    ("frac", [-1.25, 2.75, -0.0]),
    ("signbit", [-0.0, 0.0, -1.0, math.nan]),
    ("rsqrt", [0.0, -1.0, math.inf]),
    ("nan_to_num", [math.nan, math.inf, -math.inf, 1.0]),
    ("logit", [0.0, 1.0, 0.5]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EDGES, ids=[c[0] for c in EDGES])
def test_edge_values_match_torch(case, dtype, torch):
    name, values = case
    x = np.array(values, dtype)
    e = getattr(ember, name)(ember.tensor(x)).numpy()
    t = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(e, t)


def test_round_decimals_and_polygamma_zero(torch):
    x = np.array([1.23456, -2.34567, 1234.5678, 0.125], np.float64)
    for d in (0, 1, 2, 3, -1, -2):
        np.testing.assert_allclose(ember.round(ember.tensor(x), decimals=d).numpy(),
                                   torch.round(torch.tensor(x), decimals=d).numpy(), rtol=1e-15)
    np.testing.assert_allclose(ember.polygamma(0, ember.tensor(x)).numpy(), torch.polygamma(0, torch.tensor(x)).numpy())


def test_nan_to_num_defaults_and_gradient(torch):
    x = np.array([math.nan, math.inf, -math.inf, 2.0], np.float32)
    for kw in ({}, dict(nan=0.5, posinf=9.0, neginf=-9.0)):
        e = ember.tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        ye, yt = ember.nan_to_num(e, **kw), torch.nan_to_num(t, **kw)
        np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
        ye.sum().backward()
        yt.sum().backward()
        np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign", "sgn"])
def test_piecewise_constant_ops_have_zero_gradients(name, torch):
    x = np.array([-1.5, -0.2, 0.0, 0.7, 2.5])
    e = ember.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    getattr(ember, name)(e).sum().backward()
    getattr(torch, name)(t).sum().backward()
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy(force=True))
    assert not np.any(e.grad.numpy())


def test_heaviside_and_integer_modulus(torch):
    x = np.array([-1.0, 0.0, 2.0])
    v = np.array([0.5, 0.5, 0.5])
    np.testing.assert_array_equal(ember.heaviside(ember.tensor(x), ember.tensor(v)).numpy(),
                                  torch.heaviside(torch.tensor(x), torch.tensor(v)).numpy())
    with pytest.raises(RuntimeError):
        ember.heaviside(ember.tensor(x), ember.tensor(v.astype(np.float32)))
    a = np.array([-7, -3, 3, 7])
    for b in (3, -3):
        assert (ember.remainder(ember.tensor(a), b).numpy() == torch.remainder(torch.tensor(a), b).numpy()).all()
        assert (ember.fmod(ember.tensor(a), b).numpy() == torch.fmod(torch.tensor(a), b).numpy()).all()
        assert (ember.tensor(a) % b).numpy().tolist() == (torch.tensor(a) % b).numpy().tolist()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        ember.remainder(ember.tensor(a), 0)


# ----- in-place methods -----

INPLACE = [
    ("sin_", (), R), ("cos_", (), R), ("tan_", (), (-1, 1)), ("atan_", (), R), ("asin_", (), UNIT),
    ("sinh_", (), R), ("cosh_", (), R), ("floor_", (), R), ("ceil_", (), R), ("round_", (), R),
    ("trunc_", (), R), ("frac_", (), R), ("sign_", (), R), ("log1p_", (), POS), ("log2_", (), POS),
    ("log10_", (), POS), ("expm1_", (), R), ("exp2_", (), R), ("rsqrt_", (), POS), ("reciprocal_", (), POS),
    ("square_", (), R), ("erf_", (), R), ("erfc_", (), R), ("erfinv_", (), UNIT), ("lgamma_", (), POS),
    ("digamma_", (), POS), ("sinc_", (), R), ("logit_", (), PROB), ("nan_to_num_", (), R),
    ("clamp_min_", (0.1,), R), ("clamp_max_", (0.1,), R), ("remainder_", (0.7,), R), ("fmod_", (0.7,), R),
    ("copysign_", (-1.0,), R), ("xlogy_", (2.0,), R), ("hypot_", "t", R), ("atan2_", "t", R),
    ("lerp_", "t", R), ("cumsum_", (1,), R),
]


@pytest.mark.parametrize("case", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_methods_match_torch_values_and_gradients(case, torch):
    name, args, (lo, hi) = case
    x = np.random.default_rng(5).uniform(lo, hi, (3, 4))
    other = np.random.default_rng(6).uniform(0.5, 1.5, (3, 4))
    results = []
    for m in (ember, torch):
        leaf = m.tensor(x, requires_grad=True)
        y = leaf * 1.0
        a = (m.tensor(other),) if args == "t" else args
        if name == "lerp_":
            a = a + (0.25,)
        out = getattr(y, name)(*a)
        assert out is y and y._version == 1
        y.sum().backward()
        results.append((y.detach().numpy(), leaf.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-14)
    loose = name == "digamma_"  # torch's trigamma: ~5e-10 relative
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-8 if loose else 1e-10, atol=1e-12)


def test_inplace_float_function_on_integers_refuses(torch):
    x = ember.tensor([1, 2, 3])
    with pytest.raises(RuntimeError):
        x.sin_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).sin_()
    x.floor_()
    assert x.dtype == np.int64


def test_inplace_on_leaf_that_requires_grad_refuses():
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.sin_()
    with ember.no_grad():
        x.sin_()
    np.testing.assert_allclose(x.detach().numpy(), np.sin([0.5, 1.0]).astype(np.float32))
