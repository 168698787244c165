"""surface-extras: aliases, small math, scatters, unfold, windows and settings vs PyTorch."""
import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

R = np.random.default_rng(0)
A = R.standard_normal((3, 4))
B = R.standard_normal((3, 4))
POS = np.abs(A) + 0.5

# name, function of (lib, tensors...), inputs (float64 arrays), differentiable
ROWS = [
    ("absolute", lambda m, x: m.absolute(x), [A], True),
    ("multiply", lambda m, x, y: m.multiply(x, y), [A, B], True),
    ("subtract", lambda m, x, y: m.subtract(x, y, alpha=2), [A, B], True),
    ("divide", lambda m, x, y: m.divide(x, y), [A, POS], True),
    ("true_divide", lambda m, x, y: m.true_divide(x, y), [A, POS], True),
    ("negative", lambda m, x: m.negative(x), [A], True),
    ("ravel", lambda m, x: m.ravel(x.t()), [A], True),
    ("deg2rad", lambda m, x: m.deg2rad(x), [A], True),
    ("rad2deg", lambda m, x: m.rad2deg(x), [A], True),
    ("ldexp", lambda m, x: m.ldexp(x, m.tensor([1, 2, 3, 0])), [A], True),
    ("cov", lambda m, x: m.cov(x), [A], True),
    ("cov_w", lambda m, x: m.cov(x, correction=0, fweights=m.tensor([1, 2, 1, 3]),
                                   aweights=m.tensor([0.5, 1.0, 2.0, 1.0], dtype=x.dtype)), [A], True),
    ("corrcoef", lambda m, x: m.corrcoef(x), [A], True),
    ("dist", lambda m, x, y: m.dist(x, y, p=3), [A, B], True),
    ("renorm", lambda m, x: m.renorm(x, 2, 0, 1.0), [A], True),
    ("trapezoid", lambda m, x: m.trapezoid(x, dx=0.5, dim=1), [A], True),
    ("trapezoid_x", lambda m, x: m.trapezoid(x, m.tensor([0.0, 1.0, 3.0, 4.0], dtype=x.dtype)), [A], True),
    ("trapz", lambda m, x: m.trapz(x, dim=0), [A], True),
    ("cumulative_trapezoid", lambda m, x: m.cumulative_trapezoid(x, dim=1), [A], True),
    ("vander", lambda m, x: m.vander(x.reshape(-1)[:4], N=3), [A], False),  # torch's own vander backward fails
    ("diagonal_scatter", lambda m, x, s: m.diagonal_scatter(x, s[0, :3], 1), [A, B], True),
    ("select_scatter", lambda m, x, s: m.select_scatter(x, s[0], 0, -1), [A, B], True),
    ("slice_scatter", lambda m, x, s: m.slice_scatter(x, s[:2], dim=0, start=1), [A, B], True),
    ("unfold", lambda m, x: x.unfold(1, 2, 1), [A], True),
    ("sum_to_size", lambda m, x: x.sum_to_size(1, 4), [A], True),
    ("nextafter", lambda m, x, y: m.nextafter(x, y), [A, B], False),
    ("frexp", lambda m, x: m.frexp(x).exponent, [A], False),
]


def _t(m, a, dt, grad):
    return m.tensor(a, dtype=getattr(m, dt), requires_grad=grad)


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,inputs,diff", ROWS, ids=[r[0] for r in ROWS])
def test_values_and_grads_vs_torch(torch, name, fn, inputs, diff, dt):
    ex = [_t(ember, a, dt, diff) for a in inputs]
    tx = [_t(torch, a, dt, diff) for a in inputs]
    ye, yt = fn(ember, *ex), fn(torch, *tx)
    assert str(ye.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    tol = 1e-5 if dt == "float32" else 1e-10
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    if diff:
        ye.sum().backward()
        yt.sum().backward()
        for e, t in zip(ex, tx):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("name,fn,inputs,diff", [r for r in ROWS if r[3]], ids=[r[0] for r in ROWS if r[3]])
def test_gradcheck(name, fn, inputs, diff):
    ex = [ember.tensor(a, requires_grad=True, dtype=ember.float64) for a in inputs]
    assert ember.gradcheck(lambda *xs: fn(ember, *xs), ex)
    if name not in ("unfold", "dist"):
        assert gradgradcheck(lambda *xs: fn(ember, *xs), ex)


INT_ROWS = [
    ("gcd", lambda m: m.gcd(m.tensor([4, 6, 0, -4]), m.tensor([6, 9, 0, 6]))),
    ("lcm", lambda m: m.lcm(m.tensor([4, 6, 0, -4]), m.tensor([6, 9, 0, 6]))),
    ("floor_divide", lambda m: m.floor_divide(m.tensor([5, -5]), 2)),
    ("range", lambda m: m.range(0, 1, 0.25)),
    ("range_int", lambda m: m.range(1, 4, dtype=m.int64)),
    ("vander_int", lambda m: m.vander(m.tensor([1, 2, 3], dtype=m.int32))),
    ("trapezoid_int", lambda m: m.trapezoid(m.tensor([1, 2, 3]))),
    ("cov_int", lambda m: m.cov(m.tensor([1, 2, 4]))),
    ("unravel", lambda m: m.stack(m.unravel_index(m.tensor([5, -1, 2]), (2, 3)))),
    ("hann", lambda m: m.hann_window(6)),
    ("hann_sym", lambda m: m.hann_window(6, periodic=False, dtype=m.float64)),
    ("hamming", lambda m: m.hamming_window(5)),
    ("blackman", lambda m: m.blackman_window(7, dtype=m.float64)),
    ("bartlett", lambda m: m.bartlett_window(5, periodic=False)),
    ("kaiser", lambda m: m.kaiser_window(6, True, 5.0, dtype=m.float64)),
    ("window1", lambda m: m.hann_window(1)),
    ("eq_", lambda m: m.tensor([1, 2, 3]).eq_(2)),
    ("lt_float", lambda m: m.tensor([1.0, 2.0, 3.0]).lt_(m.tensor([2.0, 2.0, 2.0]))),
    ("logical_and_", lambda m: m.tensor([1.0, 0.0, 2.0]).logical_and_(m.tensor([True, True, False]))),
    ("bitwise_or_", lambda m: m.tensor([1, 2, 4]).bitwise_or_(m.tensor([1, 1, 1]))),
    ("unfold_view", lambda m: m.arange(10.0).unfold(0, 3, 2)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name,fn", INT_ROWS, ids=[r[0] for r in INT_ROWS])
def test_exact_vs_torch(torch, name, fn):
    ye, yt = fn(ember), fn(torch)
    assert str(ye.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    assert tuple(ye.shape) == tuple(yt.shape)
    np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=1e-6, atol=1e-7)


ERRORS = [
    (lambda m: m.gcd(m.tensor([4.0]), m.tensor([6.0])), NotImplementedError),
    (lambda m: m.frexp(m.tensor([8])), RuntimeError),
    (lambda m: m.negative(m.tensor([True])), RuntimeError),
    (lambda m: m.positive(m.tensor([True])), RuntimeError),
    (lambda m: m.cov(m.ones(2, 2, 2)), RuntimeError),
    (lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1.0, 2.0, 1.0])), RuntimeError),
    (lambda m: m.diagonal_scatter(m.zeros(3, 3), m.ones(3), 1), RuntimeError),
    (lambda m: m.arange(10.0).unfold(0, 11, 2), RuntimeError),
    (lambda m: m.arange(10.0).unfold(0, 3, 0), RuntimeError),
    (lambda m: m.ones(4, 3).sum_to_size(2, 3), RuntimeError),
    (lambda m: m.unravel_index(m.tensor([1.0]), (2, 3)), TypeError),
    (lambda m: m.hann_window(-1), RuntimeError),
    (lambda m: m.hann_window(3, dtype=m.int64), RuntimeError),
    (lambda m: m.tensor([1.0, 2.0]).is_nonzero(), RuntimeError),
    (lambda m: m.use_deterministic_algorithms(1), TypeError),
    (lambda m: m.set_deterministic_debug_mode("x"), RuntimeError),
    (lambda m: m.set_num_interop_threads(0), RuntimeError),
    (lambda m: m.frombuffer(bytearray(7), dtype=m.int32), ValueError),
    (lambda m: m.frombuffer(bytearray(8), dtype=m.int32, count=3), ValueError),
    (lambda m: m.ones(3, requires_grad=True).unsqueeze_(0), RuntimeError),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(torch, i):
    fn, exc = ERRORS[i]
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(ember)


def test_queries_and_results(torch):
    for m in (ember, torch):
        x = m.ones(2, 3)
        assert x.get_device() == -1 and not x.is_complex() and x.is_signed()
        assert not m.tensor([1], dtype=m.uint8).is_signed() and not x.is_inference()
        assert not x.is_conj() and not x.is_neg() and x.conj() is x and x.resolve_conj() is x
        assert m.numel(x) == 6 and m.tensor([3]).is_nonzero() and not m.is_nonzero(m.tensor([0]))
    cases = [lambda m: (m.tensor([1]), 1.0), lambda m: (m.tensor([1], dtype=m.int32), m.tensor(1.0, dtype=m.float64)),
             lambda m: (m.tensor([1], dtype=m.uint8), -1), lambda m: (True, 1),
             lambda m: (m.tensor(1, dtype=m.int8), m.tensor(1, dtype=m.int16)), lambda m: (m.tensor(True), 2.0)]
    for c in cases:
        assert str(ember.result_type(*c(ember))).split(".")[-1] == str(torch.result_type(*c(torch))).split(".")[-1]
    assert ember.typename(ember.ones(2)) == "ember.FloatTensor" and ember.typename(3) == "int"
    f = len
    assert ember.compile(f) is f and ember.compile()(f) is f


def test_inplace_views_and_versions():
    x = ember.ones(2, 3)
    v = x._version
    x.t_()
    assert x.shape == (3, 2) and x._version == v + 1 and not x.is_contiguous()
    x.unsqueeze_(0).squeeze_(0).transpose_(0, 1)
    assert x.shape == (2, 3)
    w = ember.randn(2, 3, requires_grad=True)
    y = w * 2
    y.swapdims_(0, 1)
    (y * ember.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.arange(6.0).reshape(3, 2).T)


def test_unfold_shares_memory():
    x = ember.arange(6.0)
    u = x.unfold(0, 2, 2)
    assert np.shares_memory(u.numpy(), x.numpy()) and u.shape == (3, 2)


def test_settings_and_buffers():
    ember.set_printoptions(precision=2)
    try:
        assert repr(ember.tensor([1.23456, 2.0])) == "tensor([1.23, 2.00])"  # as PyTorch prints it
        ember.set_printoptions(threshold=5, edgeitems=2)
        assert "..." in repr(ember.arange(10.0))
    finally:
        ember.set_printoptions(profile="default")
    assert "..." not in repr(ember.arange(10.0))
    ember.set_float32_matmul_precision("high")
    assert ember.get_float32_matmul_precision() == "high"
    ember.set_float32_matmul_precision("highest")
    ember.set_deterministic_debug_mode("warn")
    assert ember.are_deterministic_algorithms_enabled() and ember.is_deterministic_algorithms_warn_only_enabled()
    assert ember.get_deterministic_debug_mode() == 1
    ember.use_deterministic_algorithms(False)
    assert ember.get_deterministic_debug_mode() == 0
    ember.set_num_interop_threads(3)
    assert ember.get_num_interop_threads() == 3
    ember.set_warn_always(True)
    assert ember.is_warn_always_enabled()
    ember.set_warn_always(False)
    buf = bytearray(np.arange(4, dtype=np.int32).tobytes())
    t = ember.frombuffer(buf, dtype=ember.int32, offset=4, count=2)
    assert t.tolist() == [1, 2]
    t[0] = 9
    assert np.frombuffer(buf, np.int32)[1] == 9
    e = ember.empty_strided((2, 3), (1, 2))
    assert e.stride() == (1, 2) and e.shape == (2, 3)


def test_vander_gradcheck():
    x = ember.tensor([0.5, -1.0, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.gradcheck(lambda t: ember.vander(t, N=4), [x])
    assert gradgradcheck(lambda t: ember.vander(t, N=4, increasing=True), [x])


def test_functional_names_torch_exports_at_the_top_level(torch):
    """torch.conv2d, torch.pixel_shuffle ... are torch.nn.functional's; ember's are F's."""
    import ember.nn.functional as F

    for name in ember._FROM_FUNCTIONAL:
        assert hasattr(torch, name), name
        assert getattr(ember, name) is getattr(F, name), name
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(ember.pixel_shuffle(ember.tensor(x), 2).numpy(),
                               torch.pixel_shuffle(torch.tensor(x), 2).numpy())
    t = [-1.0, 0.2, 0.7]
    np.testing.assert_allclose(ember.tensor(t).hardshrink(lambd=0.5).numpy(),
                               torch.tensor(t).hardshrink(lambd=0.5).numpy())
