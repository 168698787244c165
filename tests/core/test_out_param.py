"""``out=`` against PyTorch 2.13, for every ember function that takes it.

``test_every_out_function_has_a_row`` finds, by introspection, each public function (and
Tensor method) with an ``out`` parameter and asserts that a row of ``ROWS`` calls it: a new
function with ``out=`` and no row fails. Each row then runs on ember and on torch from the same
arrays, with ``out`` given four ways (empty, the right shape, a wrong non-empty shape, another
dtype), and once with inputs that require grad; ember must give torch's answer each time: the
same values and dtype, the returned object ``is`` out (a tuple of them for named-tuple
results), out resized as torch resizes it, and an error where torch raises one."""
import inspect
import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.torch

# Functions of the linear-algebra helpers (ember/ops/linalg_solve.py, linalg_decomp.py,
# linalg_norms.py, linalg_matfn.py) that take out=: owned by the linalg helpers and checked in
# their own tests, so they need no row below. Qualified names ("linalg.qr"); the lead keeps this
# set up to date (these are the ones that existed, in the working tree, when this test was written).
LINALG_HELPERS_OWN = {
    "qr", "svd", "linalg.eigh", "linalg.eigvalsh", "linalg.matrix_norm", "linalg.norm", "linalg.qr",
    "linalg.svd", "linalg.svdvals", "linalg.vector_norm", "cholesky_inverse", "cholesky_solve", "det", "inverse",
    "matrix_power", "linalg.cholesky", "linalg.cholesky_ex", "linalg.cond", "linalg.det", "linalg.inv",
    "linalg.inv_ex", "linalg.matrix_power", "linalg.matrix_rank", "linalg.pinv", "linalg.slogdet", "linalg.solve",
    "linalg.solve_ex", "linalg.solve_triangular",
}

_R = np.random.default_rng(7)
ARRAYS = {
    "x": _R.uniform(0.1, 0.9, (3, 4)).astype(np.float32),
    "y": _R.uniform(0.1, 0.9, (3, 4)).astype(np.float32),
    "yt": _R.uniform(0.1, 0.9, (4, 3)).astype(np.float32),
    "m3": _R.uniform(-1, 1, (3, 3)).astype(np.float32),
    "v": _R.uniform(-1, 1, (4,)).astype(np.float32),
    "w": _R.uniform(-1, 1, (4,)).astype(np.float32),
    "v3": _R.uniform(-1, 1, (3,)).astype(np.float32),
    "ba": _R.uniform(-1, 1, (2, 3, 4)).astype(np.float32),
    "bb": _R.uniform(-1, 1, (2, 4, 5)).astype(np.float32),
    "b35": _R.uniform(-1, 1, (2, 3, 5)).astype(np.float32),
    "m35": _R.uniform(-1, 1, (3, 5)).astype(np.float32),
    "s": np.array([0.2, 0.4, 0.5, 0.7], np.float32),
    "b": _R.uniform(0, 1, (3, 4)) > 0.5,
    "i": _R.integers(0, 6, (3, 4)),
    "j": _R.integers(1, 6, (3, 4)),
}

# name -> call(m, t, o): the op of module m (ember or torch) on inputs t("x")..., out=o.
# A name "linalg.x" is ember.linalg.x. RANDOM rows compare dtype, shape and identity only.
ROWS = {
    # ----- surface-extras -----
    **{n: (lambda n: lambda m, t, o: getattr(m, n)(t("x"), out=o))(n) for n in "absolute negative deg2rad rad2deg".split()},
    **{n: (lambda n: lambda m, t, o: getattr(m, n)(t("x"), t("y"), out=o))(n) for n in (
        "divide multiply subtract true_divide floor_divide nextafter").split()},
    "ldexp": lambda m, t, o: m.ldexp(t("x"), t("y"), out=o),
    "renorm": lambda m, t, o: m.renorm(t("x"), 2, 0, 1.0, out=o),
    "gcd": lambda m, t, o: m.gcd(m.tensor([4, 6]), m.tensor([6, 9]), out=o),
    "lcm": lambda m, t, o: m.lcm(m.tensor([4, 6]), m.tensor([6, 9]), out=o),
    "range": lambda m, t, o: m.range(0, 1, 0.25, out=o),
    "frexp": lambda m, t, o: m.frexp(t("x"), out=o),
    # ----- end surface-extras -----
    "nn.functional.normalize": lambda m, t, o: m.nn.functional.normalize(t("x"), p=2.0, dim=1, out=o),
    **{n: (lambda n: lambda m, t, o: getattr(m, n)(t("x"), out=o))(n) for n in (
        "sin cos tan asin acos atan sinh cosh asinh atanh log1p log2 log10 expm1 exp2 rsqrt reciprocal erfc "
        "erfinv lgamma digamma sinc frac floor ceil trunc round fix sign sgn signbit square logit nan_to_num "
        "logical_not").split()},
    "acosh": lambda m, t, o: m.acosh(t("x") + 1, out=o),
    "round(decimals)": lambda m, t, o: m.round(t("x"), decimals=1, out=o),
    "polygamma": lambda m, t, o: m.polygamma(1, t("x"), out=o),
    **{n: (lambda n: lambda m, t, o: getattr(m, n)(t("x"), t("y"), out=o))(n) for n in (
        "atan2 hypot logaddexp logaddexp2 remainder fmod xlogy copysign heaviside fmax fmin add sub mul div "
        "eq ne lt le gt ge logical_and logical_or logical_xor").split()},
    "div(floor)": lambda m, t, o: m.div(t("x"), t("y"), rounding_mode="floor", out=o),
    "add(int)": lambda m, t, o: m.add(t("i"), t("j"), alpha=2, out=o),
    "remainder(int)": lambda m, t, o: m.remainder(t("i"), t("j"), out=o),
    **{n: (lambda n: lambda m, t, o: getattr(m, n)(t("i"), t("j"), out=o))(n) for n in (
        "bitwise_and bitwise_or bitwise_xor").split()},
    "bitwise_not": lambda m, t, o: m.bitwise_not(t("i"), out=o),
    "float_power": lambda m, t, o: m.float_power(t("x"), 2, out=o),
    "lerp": lambda m, t, o: m.lerp(t("x"), t("y"), 0.25, out=o),
    "addcmul": lambda m, t, o: m.addcmul(t("x"), t("y"), t("x"), value=0.5, out=o),
    "addcdiv": lambda m, t, o: m.addcdiv(t("x"), t("y"), t("x"), value=0.5, out=o),
    "where": lambda m, t, o: m.where(t("b"), t("x"), t("y"), out=o),
    "max": lambda m, t, o: m.max(t("x"), out=o),
    "max(dim)": lambda m, t, o: m.max(t("x"), 1, out=o),
    "max(other)": lambda m, t, o: m.max(t("x"), t("y"), out=o),
    "min": lambda m, t, o: m.min(t("x"), out=o),
    "min(dim)": lambda m, t, o: m.min(t("x"), dim=0, keepdim=True, out=o),
    "amax": lambda m, t, o: m.amax(t("x"), 1, out=o),
    "amin": lambda m, t, o: m.amin(t("x"), (0, 1), out=o),
    "any": lambda m, t, o: m.any(t("b"), 1, out=o),
    "all": lambda m, t, o: m.all(t("b"), dim=0, out=o),
    "norm": lambda m, t, o: m.norm(t("x"), out=o),
    "norm(dim)": lambda m, t, o: m.norm(t("x"), 1, dim=1, out=o),
    "cumsum": lambda m, t, o: m.cumsum(t("x"), 1, out=o),
    "cumsum(int)": lambda m, t, o: m.cumsum(t("i"), dim=0, out=o),
    "cumprod": lambda m, t, o: m.cumprod(t("x"), dim=1, out=o),
    "logcumsumexp": lambda m, t, o: m.logcumsumexp(t("x"), 1, out=o),
    "sort": lambda m, t, o: m.sort(t("x"), 1, out=o),
    "sort(descending)": lambda m, t, o: m.sort(t("x"), dim=0, descending=True, out=o),
    "topk": lambda m, t, o: m.topk(t("x"), 2, out=o),
    "kthvalue": lambda m, t, o: m.kthvalue(t("x"), 2, dim=1, out=o),
    "median": lambda m, t, o: m.median(t("x"), 1, out=o),
    "nanmedian": lambda m, t, o: m.nanmedian(t("x"), dim=0, keepdim=True, out=o),
    "mode": lambda m, t, o: m.mode(t("i"), 1, out=o),
    "quantile": lambda m, t, o: m.quantile(t("x"), 0.3, dim=1, out=o),
    "nanquantile": lambda m, t, o: m.nanquantile(t("x"), 0.3, out=o),
    "searchsorted": lambda m, t, o: m.searchsorted(t("s"), t("x"), out=o),
    "searchsorted(int32)": lambda m, t, o: m.searchsorted(t("s"), t("x"), out_int32=True, right=True, out=o),
    "bucketize": lambda m, t, o: m.bucketize(t("x"), t("s"), out=o),
    "histc": lambda m, t, o: m.histc(t("x"), bins=4, out=o),
    "histogram": lambda m, t, o: m.histogram(t("x"), 3, out=o),
    "mm": lambda m, t, o: m.mm(t("x"), t("yt"), out=o),
    "matmul": lambda m, t, o: m.matmul(t("x"), t("yt"), out=o),
    "bmm": lambda m, t, o: m.bmm(t("ba"), t("bb"), out=o),
    "mv": lambda m, t, o: m.mv(t("x"), t("v"), out=o),
    "dot": lambda m, t, o: m.dot(t("v"), t("w"), out=o),
    "vdot": lambda m, t, o: m.vdot(t("v"), t("w"), out=o),
    "inner": lambda m, t, o: m.inner(t("x"), t("y"), out=o),
    "outer": lambda m, t, o: m.outer(t("v"), t("w"), out=o),
    "ger": lambda m, t, o: m.ger(t("v"), t("w"), out=o),
    "addmm": lambda m, t, o: m.addmm(t("m3"), t("x"), t("yt"), beta=0.5, out=o),
    "addmv": lambda m, t, o: m.addmv(t("v3"), t("x"), t("v"), out=o),
    "addr": lambda m, t, o: m.addr(t("x"), t("v3"), t("w"), alpha=2, out=o),
    "baddbmm": lambda m, t, o: m.baddbmm(t("b35"), t("ba"), t("bb"), out=o),
    "addbmm": lambda m, t, o: m.addbmm(t("m35"), t("ba"), t("bb"), out=o),
    "chain_matmul": lambda m, t, o: m.chain_matmul(t("x"), t("yt"), t("m3"), out=o),
    "tensordot": lambda m, t, o: m.tensordot(t("x"), t("y"), dims=([1], [1]), out=o),
    "kron": lambda m, t, o: m.kron(t("x"), t("v"), out=o),
    "cross": lambda m, t, o: m.cross(t("m3"), t("m3") * 2 + 1, dim=1, out=o),
    "tril": lambda m, t, o: m.tril(t("x"), out=o),
    "triu": lambda m, t, o: m.triu(t("x"), 1, out=o),
    "diag": lambda m, t, o: m.diag(t("x"), out=o),
    "diag(1d)": lambda m, t, o: m.diag(t("v"), -1, out=o),
    "linalg.cross": lambda m, t, o: m.linalg.cross(t("m3"), t("m3") * 2 + 1, out=o),
    "linalg.matmul": lambda m, t, o: m.linalg.matmul(t("x"), t("yt"), out=o),
    "linalg.multi_dot": lambda m, t, o: m.linalg.multi_dot([t("v"), t("yt"), t("m3")], out=o),
    "linalg.vecdot": lambda m, t, o: m.linalg.vecdot(t("x"), t("y"), dim=1, out=o),
    "zeros": lambda m, t, o: m.zeros(3, 4, out=o),
    "ones": lambda m, t, o: m.ones((3, 4), out=o),
    "full": lambda m, t, o: m.full((3, 4), 2.5, out=o),
    "eye": lambda m, t, o: m.eye(3, 4, out=o),
    "arange": lambda m, t, o: m.arange(1, 7, 2, out=o),
    "linspace": lambda m, t, o: m.linspace(0, 1, 5, out=o),
    "logspace": lambda m, t, o: m.logspace(0, 1, 5, out=o),
    "empty": lambda m, t, o: m.empty(3, 4, out=o),
    "rand": lambda m, t, o: m.rand(3, 4, out=o),
    "randn": lambda m, t, o: m.randn(3, 4, out=o),
    "randint": lambda m, t, o: m.randint(0, 5, (3, 4), out=o),
    "randperm": lambda m, t, o: m.randperm(5, out=o),
    "normal": lambda m, t, o: m.normal(0.0, 1.0, size=(3, 4), out=o),
    "bernoulli": lambda m, t, o: m.bernoulli(t("x"), out=o),
    "multinomial": lambda m, t, o: m.multinomial(t("x"), 2, out=o),
}
# torch marks these results (and so out) as requiring grad with a backward that is not
# implemented; ember's have no gradient: out stays a constant.
NO_GRADIENT = {"heaviside", "histogram"}
RANDOM = {"empty", "rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial"}


def _resolve(name):
    obj = ember
    for part in name.split("(")[0].split("."):
        obj = getattr(obj, part, None)
    return obj


def _takes_out(f):
    try:
        return "out" in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False


def _namespaces():
    spaces = {"": ember, "linalg.": ember.linalg, "nn.functional.": ember.nn.functional}
    for extra in ("special", "fft"):
        if hasattr(ember, extra):
            spaces[extra + "."] = getattr(ember, extra)
    return spaces


def test_every_out_function_has_a_row():
    covered = {id(_resolve(n)) for n in ROWS} | {id(_resolve(n)) for n in LINALG_HELPERS_OWN}
    missing = []
    for prefix, mod in _namespaces().items():
        for n in dir(mod):
            f = getattr(mod, n)
            if n.startswith("_") or isinstance(f, type) or not callable(f) or not _takes_out(f):
                continue
            if id(f) not in covered:
                missing.append(prefix + n)
    for n in dir(ember.Tensor):
        f = getattr(ember.Tensor, n)
        if not n.startswith("_") and callable(f) and _takes_out(f) and id(f) not in covered:
            missing.append("Tensor." + n)
    assert not missing, (f"functions taking out= without a row in test_out_param.ROWS (or, for the linalg "
                         f"helpers' functions, LINALG_HELPERS_OWN): {sorted(missing)}")


def _inputs(m, torch, requires_grad=False):
    """t(key): the array ARRAYS[key] as a tensor of module m (float ones requiring grad if asked)."""
    used = []

    def t(key):
        a = ARRAYS[key]
        rg = requires_grad and a.dtype.kind == "f"
        used.append(rg)
        if m is torch:
            return torch.tensor(a, requires_grad=rg)
        return ember.tensor(a, requires_grad=rg)

    return t, used


def _empty(m, shape, dtype, torch):
    if m is torch:
        return torch.full(shape, 7, dtype=getattr(torch, np.dtype(dtype).name if dtype != np.bool_ else "bool"))
    return ember.full(shape, 7, dtype=dtype)


def _np(x):
    return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)


def _outs(m, torch, ref, shape_of, dtype_of=None):
    """out tensors of module m shaped like torch's result ``ref`` (a tensor or a tuple)."""
    def one(r, k):
        dt = np.dtype(str(r.dtype).replace("torch.", ""))
        if dtype_of is not None and k == 0:
            dt = dtype_of(dt)
        return _empty(m, shape_of(tuple(r.shape)), dt, torch)

    if isinstance(ref, tuple):
        return tuple(one(r, k) for k, r in enumerate(ref))
    return one(ref, 0)


def _reference(fn, torch):
    """torch's result without out= (its deprecation warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(torch, _inputs(torch, torch)[0], None)


def _run(fn, m, t, o):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(m, t, o), None
        except Exception as e:  # noqa: BLE001 (the error type is compared with torch's)
            return None, e


def _same(name, er, eo, tr, to, random):
    assert (er is None) == (tr is None)
    if isinstance(to, tuple):
        assert isinstance(er, tuple) and len(er) == len(to), name
        assert all(a is b for a, b in zip(er, eo)), f"{name}: the result is not the out tensors"
        pairs = list(zip(eo, to))
    else:
        assert er is eo, f"{name}: the result is not out"
        pairs = [(eo, to)]
    for e, t in pairs:
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{name}: dtype {e.dtype} vs {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{name}: shape {tuple(e.shape)} vs {tuple(t.shape)}"
        if not random:
            np.testing.assert_allclose(_np(e).astype(np.float64), _np(t).astype(np.float64), rtol=1e-5, atol=1e-6,
                                       err_msg=name)


CASES = {
    "empty": dict(shape_of=lambda s: (0,)),
    "right shape": dict(shape_of=lambda s: s),
    "wrong shape": dict(shape_of=lambda s: (7,) if s != (7,) else (2, 2)),
    "other dtype": dict(shape_of=lambda s: (0,), dtype_of=lambda d: np.dtype(
        np.float64 if d == np.float32 else np.float32 if d.kind in "iub" else np.int64)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(ROWS))
def test_out_matches_torch(torch, name, case):
    fn = ROWS[name]
    ref = _reference(fn, torch)
    outs = {m: _outs(m, torch, ref, **CASES[case]) for m in (ember, torch)}
    tr, terr = _run(fn, torch, _inputs(torch, torch)[0], outs[torch])
    er, eerr = _run(fn, ember, _inputs(ember, torch)[0], outs[ember])
    if terr is not None:
        assert eerr is not None, f"{name} ({case}): torch raises {type(terr).__name__}: {terr}; ember does not"
        assert isinstance(eerr, type(terr)) or isinstance(terr, type(eerr)), (
            f"{name} ({case}): torch raises {type(terr).__name__}, ember {type(eerr).__name__}: {eerr}")
        return
    assert eerr is None, f"{name} ({case}): ember raises {type(eerr).__name__}: {eerr}"
    _same(f"{name} ({case})", er, outs[ember], tr, outs[torch], name in RANDOM)


@pytest.mark.parametrize("name", list(ROWS))
def test_out_with_grad_raises_as_torch(torch, name):
    """out= refuses inputs that require grad (in grad mode) where torch does; no_grad allows it."""
    fn = ROWS[name]
    ref = _reference(fn, torch)
    t_torch, used = _inputs(torch, torch, requires_grad=True)
    to = _outs(torch, torch, ref, lambda s: (0,))
    _, terr = _run(fn, torch, t_torch, to)
    if not any(used):
        pytest.skip("no float tensor input")
    t_ember, _ = _inputs(ember, torch, requires_grad=True)
    eo = _outs(ember, torch, ref, lambda s: (0,))
    _, eerr = _run(fn, ember, t_ember, eo)
    assert (eerr is None) == (terr is None), f"{name}: torch {terr!r}, ember {eerr!r}"
    if eerr is None and name not in NO_GRADIENT:  # torch's composite ops record the copy into out
        for e, t in zip(eo if isinstance(eo, tuple) else (eo,), to if isinstance(to, tuple) else (to,)):
            assert e.requires_grad == t.requires_grad, name
    if eerr is not None:
        assert type(eerr) is type(terr), f"{name}: torch {terr!r}, ember {eerr!r}"
        with ember.no_grad():
            t_ember, _ = _inputs(ember, torch, requires_grad=True)
            er, err = _run(fn, ember, t_ember, eo)
        assert err is None and (er is eo or all(a is b for a, b in zip(er, eo))), err


def test_resize_warns_as_torch(torch):
    """A non-empty out of the wrong shape is resized with a UserWarning, as torch's."""
    out = ember.ones(5)
    with pytest.warns(UserWarning, match="resized"):
        ember.sin(ember.zeros(2, 3), out=out)
    assert out.shape == (2, 3) and float(out.abs().sum()) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.sin(ember.zeros(2, 3), out=ember.empty(0))  # an empty out is resized silently


def test_out_may_alias_an_input(torch):
    x = ember.tensor([0.5, 1.5])
    assert ember.sin(x, out=x) is x
    np.testing.assert_allclose(x.numpy(), np.sin(np.array([0.5, 1.5], np.float32)), rtol=1e-6)


def test_tuple_out_must_be_a_tuple(torch):
    x = ember.tensor([[3.0, 1.0, 2.0]])
    with pytest.raises(TypeError, match="tuple of 2"):
        ember.sort(x, out=ember.empty(0))
    with pytest.raises(TypeError):
        torch.sort(torch.tensor([[3.0, 1.0, 2.0]]), out=torch.empty(0))
    with pytest.raises(TypeError, match="must be Tensor"):
        ember.sin(x, out=np.zeros(3))


# ----- surface-extras -----
# floor_divide(out=) with an input that requires grad: torch marks out requires_grad with a
# NotImplemented grad_fn (no usable gradient); ember leaves out a constant
NO_GRADIENT = NO_GRADIENT | {"floor_divide"}
# ----- end surface-extras -----
