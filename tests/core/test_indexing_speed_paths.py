"""The fast paths beneath gather/scatter_add/index_add/index_select/topk/cumsum (ember/kernels/
indexing.py and the primitives indexing.py picks when ember.kernels.enabled()) against their
references: the kernels one by one against NumPy, then each op with the kernels on against
the same op with them off (``ember.kernels.disabled()``), values and gradients, on random
inputs with repeated indices, ties and negative dims; gradgradcheck through the fast paths."""
import numpy as np
import pytest

import ember
import ember.kernels
from ember.gradcheck import gradgradcheck
from ember.kernels import indexing as K
from ember.ops import cumulative
from ember.ops import indexing_prims as prims

RNG = np.random.default_rng(21)


@pytest.fixture(autouse=True)
def kernels_on():
    """The fast paths on for these tests, also in the EMBER_KERNELS=0 run."""
    was = ember.kernels.enabled()
    ember.kernels.set_enabled(True)
    yield
    ember.kernels.set_enabled(was)


# ----- the kernels against NumPy -----
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("kind", ["repeats", "no_repeats", "one_row", "frequent"])
def test_add_rows_into_is_np_add_at(kind, dtype):
    n, m = 40, 300
    index = {"repeats": RNG.integers(0, n, m), "no_repeats": RNG.permutation(n)[:30],
             "one_row": np.full(m, 7), "frequent": np.concatenate([np.full(200, 3), RNG.integers(0, n, 100)])}[kind]
    rows = (RNG.standard_normal((index.size, 3, 2)) * 10).astype(dtype)
    base = (RNG.standard_normal((n, 3, 2)) * 10).astype(dtype)
    want = base.copy()
    np.add.at(want, index, rows)
    got = K.add_rows_into(base.copy(), index, rows)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    assert got.dtype == dtype


def test_add_rows_into_a_view_writes_through():
    out = np.zeros((3, 5, 4))
    index = np.array([0, 4, 4, 1])
    rows = RNG.standard_normal((4, 3, 4))
    K.add_rows_into(np.moveaxis(out, 1, 0), index, rows.transpose(0, 1, 2))
    want = np.zeros((3, 5, 4))
    np.add.at(np.moveaxis(want, 1, 0), index, rows)
    np.testing.assert_allclose(out, want)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(3, 32), (3, 33), (2, 5, 47), (4, 1000), (2, 16 * 1025 + 5), (1, 16 * 2100)])
@pytest.mark.parametrize("reverse", [False, True])
def test_blocked_scan_is_cumsum(shape, dtype, tol, reverse):
    x = RNG.standard_normal(shape).astype(dtype)
    x64 = x.astype(np.float64)
    want = np.flip(np.cumsum(np.flip(x64, -1), -1), -1) if reverse else np.cumsum(x64, -1)
    got = K.cumsum_last(x, reverse)
    assert got.dtype == dtype and got.shape == x.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.sqrt(shape[-1]))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("reverse", [False, True])
def test_blocked_scan_declines_non_finite_rows(bad, reverse):
    x = RNG.standard_normal((3, 40))
    x[1, 5] = bad
    assert K.cumsum_last(x, reverse) is None


def test_blocked_scan_declines_what_it_does_not_do():
    assert K.cumsum_last(np.ones((3, 40), np.int64)) is None
    assert K.cumsum_last(np.ones((40, 3)).T) is None  # not C-contiguous
    assert K.cumsum_last(np.ones((3, 20))) is None  # rows shorter than two blocks


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_topk_bound_bounds_the_kth_value(largest, dtype):
    r = (RNG.standard_normal((6, 3001)) * 100).astype(dtype)
    r[0] = np.sort(r[0])  # the worst case for a block bound: still a bound
    r[1, :] = r[1, 0]  # all tied
    k = 20
    thr = K.topk_bound(r, k, largest)[:, 0]
    kth = np.sort(r, axis=1)[:, -k] if largest else np.sort(r, axis=1)[:, k - 1]
    assert (thr <= kth).all() if largest else (thr >= kth).all()


def test_topk_bound_declines_nan_and_short_rows():
    r = RNG.standard_normal((2, 3000))
    r[1, 7] = np.nan
    assert K.topk_bound(r, 10, True) is None
    assert K.topk_bound(RNG.standard_normal((2, 100)), 10, True) is None


# ----- each op: kernels on against kernels off -----
def _run(fn, arrays, grad_seed=5):
    """fn's values and the gradients of (values * random).sum() w.r.t. the float inputs."""
    ts = [ember.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y = fn(*ts)
    ys = y if isinstance(y, tuple) else (y,)
    out = [t.detach().numpy().copy() for t in ys]
    first = ys[0]
    if first.requires_grad:
        g = np.random.default_rng(grad_seed).standard_normal(first.shape).astype(out[0].dtype)
        (first * ember.tensor(g)).sum().backward()
        out += [t.grad.numpy().copy() for t in ts if t.requires_grad]
    return out


def _both(fn, arrays):
    fast = _run(fn, arrays)
    with ember.kernels.disabled():
        ref = _run(fn, arrays)
    return fast, ref


def _ix(*shape, high):
    return RNG.integers(0, high, shape).astype(np.int64)


EXACT = [  # values exact; gradients are sums
    ("gather_dim1", lambda x, i: x.gather(1, i), lambda: [RNG.standard_normal((6, 50)), _ix(6, 40, high=50)]),
    ("gather_neg_dim", lambda x, i: ember.gather(x, -3, i), lambda: [RNG.standard_normal((7, 3, 4)), _ix(9, 3, 2, high=7)]),
    ("gather_dim0_int", lambda x, i: x.gather(0, i), lambda: [_ix(8, 5, high=100), _ix(20, 5, high=8)]),
    ("index_select_dim0", lambda x, i: x.index_select(0, i), lambda: [RNG.standard_normal((30, 4)), _ix(50, high=30)]),
    ("index_select_neg_dim", lambda x, i: ember.index_select(x, -2, i), lambda: [RNG.standard_normal((2, 9, 3)), _ix(20, high=9)]),
    ("index_select_last_dim", lambda x, i: x.index_select(2, i), lambda: [RNG.standard_normal((2, 3, 9)), _ix(11, high=9)]),
    ("index_select_int", lambda x, i: x.index_select(0, i), lambda: [_ix(9, 3, high=50), _ix(12, high=9)]),
    ("topk_ties", lambda x: ember.topk(x, 7, dim=1), lambda: [RNG.integers(0, 30, (5, 700)).astype(np.float64)]),
    ("topk_smallest_neg_dim", lambda x: x.topk(9, dim=-2, largest=False),
     lambda: [RNG.standard_normal((2, 900, 3)).astype(np.float32)]),
    ("topk_sorted_rows", lambda x: x.topk(5, 1), lambda: [np.sort(RNG.standard_normal((3, 600)), 1)]),
    ("topk_nan_row", lambda x: x.topk(5, 1), lambda: [np.where(RNG.random((3, 600)) < 0.002, np.nan,
                                                                RNG.standard_normal((3, 600)))]),
    ("topk_inf", lambda x: x.topk(6, 1), lambda: [np.where(RNG.random((3, 600)) < 0.01, -np.inf,
                                                           RNG.standard_normal((3, 600)))]),
    ("topk_int", lambda x: x.topk(8, 0), lambda: [RNG.integers(-5, 5, (800, 3))]),
]
SUMS = [  # sums: float tolerance
    ("scatter_add", lambda a, s, i: a.scatter_add(1, i, s),
     lambda: [RNG.standard_normal((5, 30)), RNG.standard_normal((5, 40)), _ix(5, 40, high=30)]),
    ("scatter_add_neg_dim_part", lambda a, s, i: ember.scatter_add(a, -1, i, s),
     lambda: [RNG.standard_normal((3, 4, 10)), RNG.standard_normal((3, 5, 12)), _ix(2, 4, 9, high=10)]),
    ("scatter_add_int", lambda a, s, i: a.scatter_add(0, i, s),
     lambda: [_ix(6, 3, high=9), _ix(20, 3, high=9), _ix(20, 3, high=6)]),
    ("index_add_dim0", lambda a, s, i: a.index_add(0, i, s),
     lambda: [RNG.standard_normal((20, 4)), RNG.standard_normal((60, 4)), _ix(60, high=20)]),
    ("index_add_neg_dim_alpha", lambda a, s, i: ember.index_add(a, -2, i, s, alpha=-2.5),
     lambda: [RNG.standard_normal((3, 7, 2)), RNG.standard_normal((3, 15, 2)), _ix(15, high=7)]),
    ("index_add_last_dim_one_row", lambda a, s, i: a.index_add(1, i, s),
     lambda: [RNG.standard_normal((4, 6)), RNG.standard_normal((4, 30)), np.full(30, 2)]),
    ("index_add_int", lambda a, s, i: a.index_add(0, i, s),
     lambda: [_ix(5, 2, high=9), _ix(30, 2, high=9), _ix(30, high=5)]),
    ("cumsum_last", lambda x: x.cumsum(dim=1), lambda: [RNG.standard_normal((3, 500))]),
    ("cumsum_neg_dim_tail", lambda x: ember.cumsum(x, -1), lambda: [RNG.standard_normal((2, 3, 37)).astype(np.float32)]),
    ("cumsum_inf", lambda x: x.cumsum(1), lambda: [np.where(RNG.random((3, 100)) < 0.02, np.inf, 1.0)]),
    ("cumsum_dim0", lambda x: x.cumsum(0), lambda: [RNG.standard_normal((60, 4))]),
    ("cumprod_last", lambda x: x.cumprod(1), lambda: [RNG.uniform(0.9, 1.1, (3, 200))]),
]


@pytest.fixture
def small_scans(monkeypatch):
    monkeypatch.setattr(cumulative, "FAST_SCAN_MIN", 0)  # the blocked scan on small test inputs too


@pytest.mark.parametrize("case", EXACT, ids=[c[0] for c in EXACT])
def test_exact_ops_match_the_reference(case):
    name, fn, make = case
    fast, ref = _both(fn, make())
    assert len(fast) == len(ref)
    for f, r in zip(fast, ref):
        assert f.dtype == r.dtype and f.shape == r.shape
        np.testing.assert_allclose(f, r, rtol=1e-6, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(fast[0], ref[0])  # the values themselves: exact


@pytest.mark.parametrize("case", SUMS, ids=[c[0] for c in SUMS])
def test_summing_ops_match_the_reference(case, small_scans):
    name, fn, make = case
    fast, ref = _both(fn, make())
    assert len(fast) == len(ref)
    for f, r in zip(fast, ref):
        assert f.dtype == r.dtype and f.shape == r.shape
        tol = 1e-4 if f.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(f, r, rtol=tol, atol=tol, equal_nan=True)


def test_the_fast_paths_are_taken(small_scans, monkeypatch):
    seen = []
    for module, name in ((prims, "add_rows_into"), (K, "cumsum_last"), (K, "topk_bound")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _n=name: seen.append(_n) or _r(*a))
    x = ember.tensor(RNG.standard_normal((4, 600)), requires_grad=True)
    x.index_add(0, ember.tensor(np.array([0, 0, 1])), ember.tensor(RNG.standard_normal((3, 600)))).sum().backward()
    x.cumsum(1).sum().backward()
    x.topk(5, 1).values.sum().backward()
    assert seen == ["add_rows_into", "cumsum_last", "cumsum_last", "topk_bound"]
    seen.clear()
    with ember.kernels.disabled():
        x.index_add(0, ember.tensor(np.array([0, 0, 1])), ember.tensor(RNG.standard_normal((3, 600)))).sum()
        x.cumsum(1).sum().backward()
        x.topk(5, 1)
    assert seen == []


GRADGRAD = [
    ("index_add", lambda a, s: a.index_add(0, ember.tensor(np.array([2, 0, 2, 1])), s) ** 2, [(3, 2), (4, 2)]),
    ("index_select", lambda a: ember.index_select(a, -1, ember.tensor(np.array([1, 1, 0]))) ** 2, [(2, 3)]),
    ("scatter_add", lambda a, s: a.scatter_add(1, ember.tensor(np.array([[0, 2, 0], [1, 1, 1]])), s) ** 2,
     [(2, 3), (2, 3)]),
    ("cumsum", lambda a: a.cumsum(1) ** 2, [(2, 37)]),
    ("topk", lambda a: a.topk(3, 1).values ** 2, [(2, 300)]),
]


@pytest.mark.parametrize("case", GRADGRAD, ids=[c[0] for c in GRADGRAD])
def test_gradgradcheck_through_the_fast_paths(case, small_scans):
    name, fn, shapes = case
    xs = [ember.tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes]
    assert ember.gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


@pytest.mark.parametrize("index", [RNG.integers(0, 50, 500), np.zeros(7, np.int64), np.arange(9)[::-1].copy(),
                                   np.array([3, -1, 3]), np.array([2 ** 61, 0, 2 ** 61])])
def test_stable_argsort_ints_is_the_stable_argsort(index):
    np.testing.assert_array_equal(K.stable_argsort_ints(index), np.argsort(index, kind="stable"))
