"""Sorting, selection, reordering, unique and counting ops against PyTorch 2.13.

Each row's function takes the library (``ember`` or ``torch``) first, so the same line runs
on both: PyTorch's names and keywords are ember's."""
import numpy as np
import pytest

import ember

from torch_compare import compare_with_torch
from ember.gradcheck import gradgradcheck

NAN = float("nan")
POS = "pos"


def _q(lib, a, qs):
    return lib.tensor(qs, dtype=a.dtype)


# differentiable rows: name, fn(lib, *inputs), input shapes, domain
GRAD_CASES = [
    ("sort_values", lambda m, a: m.sort(a).values, [(3, 5)], None),
    ("sort_dim0_desc", lambda m, a: m.sort(a, dim=0, descending=True).values, [(4, 3)], None),
    ("sort_method_stable", lambda m, a: a.sort(dim=1, stable=True)[0], [(2, 3, 4)], None),
    ("msort", lambda m, a: m.msort(a), [(4, 3)], None),
    ("topk", lambda m, a: m.topk(a, 2).values, [(3, 5)], None),
    ("topk_smallest_dim0", lambda m, a: a.topk(3, dim=0, largest=False).values, [(5, 2)], None),
    ("kthvalue", lambda m, a: m.kthvalue(a, 2, dim=1).values, [(3, 4)], None),
    ("kthvalue_keepdim", lambda m, a: a.kthvalue(3, 0, keepdim=True)[0], [(4, 3)], None),
    ("median_all", lambda m, a: m.median(a), [(3, 4)], None),
    ("median_dim", lambda m, a: m.median(a, dim=1).values, [(3, 4)], None),
    ("median_dim_keep", lambda m, a: a.median(0, keepdim=True).values, [(5, 2)], None),
    ("nanmedian_dim", lambda m, a: m.nanmedian(a, dim=1).values, [(3, 5)], None),
    ("nanmedian_all", lambda m, a: m.nanmedian(a), [(3, 5)], None),
    ("mode_values", lambda m, a: m.mode(a, dim=1).values, [(3, 4)], None),
    ("quantile_all", lambda m, a: m.quantile(a, 0.3), [(3, 4)], None),
    ("quantile_dim_tensor_q", lambda m, a: m.quantile(a, _q(m, a, [0.1, 0.5, 0.9]), dim=1), [(3, 5)], None),
    ("quantile_keepdim", lambda m, a: a.quantile(0.75, dim=0, keepdim=True), [(4, 3)], None),
    ("quantile_all_keepdim_q", lambda m, a: m.quantile(a, _q(m, a, [0.2, 0.6]), keepdim=True), [(3, 4)], None),
    ("quantile_lower", lambda m, a: m.quantile(a, 0.4, dim=1, interpolation="lower"), [(3, 5)], None),
    ("quantile_higher", lambda m, a: m.quantile(a, 0.4, dim=1, interpolation="higher"), [(3, 5)], None),
    ("quantile_midpoint", lambda m, a: m.quantile(a, 0.4, dim=1, interpolation="midpoint"), [(3, 5)], None),
    ("quantile_nearest", lambda m, a: m.quantile(a, _q(m, a, [0.125, 0.5, 0.375]), dim=1, interpolation="nearest"),
     [(3, 5)], None),
    ("nanquantile", lambda m, a: m.nanquantile(a, _q(m, a, [0.25, 1.0]), dim=0), [(4, 3)], None),
    ("flip", lambda m, a: m.flip(a, (0, 2)), [(2, 3, 4)], None),
    ("flip_method_varargs", lambda m, a: a.flip(1) * 2, [(2, 3)], None),
    ("fliplr", lambda m, a: m.fliplr(a), [(2, 3)], None),
    ("flipud", lambda m, a: a.flipud(), [(3, 2)], None),
    ("roll_flat", lambda m, a: m.roll(a, 2), [(2, 3)], None),
    ("roll_dims", lambda m, a: m.roll(a, (1, -2), (0, 1)), [(3, 4)], None),
    ("roll_int_dim", lambda m, a: a.roll(-1, 1), [(3, 4)], None),
    ("rot90", lambda m, a: m.rot90(a), [(2, 3)], None),
    ("rot90_k2", lambda m, a: m.rot90(a, 2, (1, 2)), [(2, 3, 4)], None),
    ("rot90_k3", lambda m, a: a.rot90(3), [(2, 3)], None),
    ("rot90_neg", lambda m, a: m.rot90(a, -1, [0, 1]), [(3, 2)], None),
    ("diff", lambda m, a: m.diff(a), [(3, 5)], None),
    ("diff_n2_dim0", lambda m, a: m.diff(a, n=2, dim=0), [(5, 3)], None),
    ("diff_prepend_append", lambda m, a, b, c: m.diff(a, dim=1, prepend=b, append=c), [(3, 4), (3, 1), (3, 2)], None),
    ("combinations", lambda m, a: m.combinations(a, r=2), [(4,)], None),
    ("combinations_repl", lambda m, a: m.combinations(a, 3, with_replacement=True), [(3,)], None),
    ("cartesian_prod", lambda m, a, b: m.cartesian_prod(a, b), [(2,), (3,)], None),
]


def _inputs(shapes, domain, dtype, seed=0):
    r = np.random.default_rng(seed)
    return [(r.uniform(0.5, 2.0, s) if domain == POS else r.standard_normal(s)).astype(dtype) for s in shapes]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert ember.gradcheck(lambda *a: fn(ember, *a), xs)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradgradcheck(case):
    name, fn, shapes, domain = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, domain, np.float64)]
    assert gradgradcheck(lambda *a: fn(ember, *a), xs)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_recorded_backward_matches_in_float32(case):
    name, fn, shapes, domain = case
    arrays = _inputs(shapes, domain, np.float32, seed=3)
    grads = []
    for create_graph in (False, True):
        xs = [ember.tensor(a, requires_grad=True) for a in arrays]
        y = fn(ember, *xs)
        g = ember.tensor(np.random.default_rng(4).standard_normal(y.shape).astype(np.float32))
        grads.append([v.detach().numpy() for v in ember.autograd.grad(y, xs, g, create_graph=create_graph)])
    for a, b in zip(*grads):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_values_and_gradients_against_torch(case, dtype, torch):
    name, fn, shapes, domain = case
    arrays = _inputs(shapes, domain, dtype, seed=1)
    compare_with_torch(torch, fn, arrays, dtype, name)


TIES = [3.0, 1.0, 3.0, NAN, 1.0, 2.0, NAN, 3.0]
MAT = [[2.0, 1.0, 2.0, 5.0], [0.5, NAN, 0.5, 0.5], [4.0, 4.0, 1.0, 1.0]]
F32, I64 = "float32", "int64"

# outputs compared exactly (values, indices, dtypes): name, fn(lib, x), data, dtype
EXACT_CASES = [
    ("sort_ties_nan", lambda m, x: m.sort(x), TIES, F32),
    ("sort_desc_ties_nan", lambda m, x: m.sort(x, descending=True), TIES, F32),
    ("sort_stable", lambda m, x: m.sort(x, stable=True, dim=0), TIES, F32),
    ("sort_2d", lambda m, x: x.sort(dim=1, descending=True), MAT, F32),
    ("sort_int", lambda m, x: m.sort(x), [1, 0, 1, -3, 7, 0], "int32"),
    ("sort_bool", lambda m, x: m.sort(x, descending=True), [True, False, True, False], "bool"),
    ("sort_uint8", lambda m, x: m.sort(x), [1, 0, 1, 255], "uint8"),
    ("sort_0d", lambda m, x: m.sort(x), 5.0, F32),
    ("sort_empty", lambda m, x: m.sort(x), [], F32),
    ("argsort", lambda m, x: m.argsort(x), TIES, F32),
    ("argsort_desc_2d", lambda m, x: x.argsort(dim=0, descending=True), MAT, F32),
    ("msort", lambda m, x: m.msort(x), MAT, F32),
    ("topk_nan_first", lambda m, x: m.topk(x, 3), TIES, F32),
    ("topk_smallest_ties", lambda m, x: m.topk(x, 3, largest=False), [3.0, 1.0, 3.0, 1.0, 2.0, 3.0], F32),
    ("topk_int_dim0", lambda m, x: m.topk(x, 2, dim=0), [[1, 5], [7, 2], [3, 9]], I64),
    ("topk_k0", lambda m, x: m.topk(x, 0), [1.0, 2.0], F32),
    ("kthvalue", lambda m, x: m.kthvalue(x, 2), [4.0, 1.0, 3.0, 2.0], F32),
    ("kthvalue_nan", lambda m, x: m.kthvalue(x, 3), [1.0, NAN, 2.0], F32),
    ("kthvalue_2d_keepdim", lambda m, x: x.kthvalue(1, dim=0, keepdim=True), [[1, 5], [7, 2], [3, 9]], I64),
    ("median_all_lower", lambda m, x: m.median(x), [1.0, 4.0, 2.0, 3.0], F32),
    ("median_all_nan", lambda m, x: m.median(x), [1.0, NAN, 2.0], F32),
    ("median_all_int", lambda m, x: x.median(), [1, 2, 2, 3], I64),
    ("median_empty", lambda m, x: m.median(x), [], F32),
    ("median_dim_ties", lambda m, x: m.median(x, 0), [1.0, 1.0, 1.0, 2.0, 2.0], F32),
    ("median_dim_ties2", lambda m, x: m.median(x, 0), [2.0, 1.0, 1.0, 1.0], F32),
    ("median_dim_nan", lambda m, x: m.median(x, dim=1), MAT, F32),
    ("nanmedian_dim", lambda m, x: m.nanmedian(x, dim=1), [[1.0, NAN, 3.0, 0.0], [NAN, 2.0, NAN, 5.0]], F32),
    ("nanmedian_all_nan_short", lambda m, x: m.nanmedian(x, dim=1), [[NAN, NAN, NAN], [NAN, 1.0, NAN]], F32),
    ("nanmedian_all", lambda m, x: m.nanmedian(x), [1.0, NAN, 3.0, 0.0], F32),
    ("mode", lambda m, x: m.mode(x), [3.0, 1.0, 3.0, 1.0, 2.0, 3.0], F32),
    ("mode_smallest_of_ties", lambda m, x: m.mode(x), [2.0, 1.0, 2.0, 1.0], F32),
    ("mode_rows", lambda m, x: m.mode(x, 1), [[1, 2, 2], [3, 3, 1]], I64),
    ("mode_keepdim_dim0", lambda m, x: x.mode(dim=0, keepdim=True), [[1, 2], [1, 3], [0, 3]], I64),
    ("quantile_nan_row", lambda m, x: m.quantile(x, 0.5, dim=1), MAT, F32),
    ("nanquantile_nan_row", lambda m, x: m.nanquantile(x, 0.5, dim=1), MAT, F32),
    ("nanquantile_all_nan", lambda m, x: m.nanquantile(x, 0.5), [NAN, NAN], F32),
    ("quantile_nearest_half_even", lambda m, x: m.quantile(x, m.tensor([0.5, 0.125, 0.375, 0.4]), interpolation="nearest"),
     [1.0, 2.0, 3.0, 4.0], F32),
    ("flip_int", lambda m, x: m.flip(x, [0, 1]), [[1, 2, 3], [4, 5, 6]], I64),
    ("flip_0d", lambda m, x: m.flip(x, ()), 3.0, F32),
    ("roll_flat_2d", lambda m, x: m.roll(x, 1), [[0, 1, 2], [3, 4, 5]], I64),
    ("roll_0d", lambda m, x: m.roll(x, 1), 3.0, F32),
    ("rot90_int", lambda m, x: m.rot90(x, -3), [[0, 1], [2, 3]], I64),
    ("diff_bool", lambda m, x: m.diff(x), [True, False, False], "bool"),
    ("diff_int_n2", lambda m, x: m.diff(x, n=2), [1, 4, 9, 16], I64),
    ("diff_n0", lambda m, x: m.diff(x, n=0), [1, 4, 9], I64),
    ("diff_n_past_size", lambda m, x: m.diff(x, n=5), [1, 4, 9], I64),
    ("unique", lambda m, x: m.unique(x), [3, 1, 3, 2], I64),
    ("unique_unsorted_flag", lambda m, x: m.unique(x, sorted=False), [3, 1, 3, 2], I64),
    ("unique_inverse_counts_2d", lambda m, x: m.unique(x, return_inverse=True, return_counts=True),
     [[3, 1], [1, 2]], I64),
    ("unique_nan_distinct", lambda m, x: m.unique(x, return_counts=True), [NAN, 1.0, NAN], F32),
    ("unique_dim0", lambda m, x: m.unique(x, dim=0, return_inverse=True, return_counts=True),
     [[1, 2], [1, 2], [0, 5]], I64),
    ("unique_dim1", lambda m, x: x.unique(dim=1), [[1, 0, 1], [2, 5, 2]], I64),
    ("unique_bool", lambda m, x: m.unique(x), [True, False, True], "bool"),
    ("unique_consecutive", lambda m, x: m.unique_consecutive(x, return_inverse=True, return_counts=True),
     [1.0, 1.0, 2.0, 2.0, 1.0, NAN, NAN], F32),
    ("unique_consecutive_dim0", lambda m, x: m.unique_consecutive(x, dim=0, return_inverse=True, return_counts=True),
     [[1, 2], [1, 2], [3, 3]], I64),
    ("unique_consecutive_2d_flat", lambda m, x: x.unique_consecutive(return_inverse=True), [[1, 1], [2, 1]], I64),
    ("searchsorted", lambda m, x: m.searchsorted(x, m.tensor([3.0, NAN, 6.0, 0.0])), [1.0, 3.0, 5.0], F32),
    ("searchsorted_right", lambda m, x: m.searchsorted(x, m.tensor([[3.0, 1.0]]), right=True), [1.0, 3.0, 5.0], F32),
    ("searchsorted_side_int32", lambda m, x: m.searchsorted(x, m.tensor([3, 4]), side="right", out_int32=True),
     [1, 3, 5], I64),
    ("searchsorted_scalar", lambda m, x: m.searchsorted(x, 3), [1, 3, 5], I64),
    ("searchsorted_nd", lambda m, x: m.searchsorted(x, m.tensor([[2, 5], [3, 0]])), [[1, 3], [2, 4]], I64),
    ("searchsorted_sorter", lambda m, x: m.searchsorted(x, m.tensor([2, 6]), sorter=m.tensor([1, 2, 0])), [5, 1, 3], I64),
    ("bucketize", lambda m, x: m.bucketize(x, m.tensor([1, 3, 5])), [[0, 1, 3], [4, 5, 9]], I64),
    ("bucketize_right", lambda m, x: m.bucketize(x, m.tensor([1.0, 3.0, 5.0]), right=True), [0.0, 1.0, 3.0, 5.5], F32),
    ("bincount", lambda m, x: m.bincount(x), [1, 3, 1, 0], I64),
    ("bincount_minlength", lambda m, x: x.bincount(minlength=6), [1, 3, 1], I64),
    ("bincount_empty", lambda m, x: m.bincount(x), [], I64),
    ("bincount_w32", lambda m, x: m.bincount(x, m.tensor([0.5, 1.0, 2.0])), [1, 3, 1], I64),
    ("bincount_w64", lambda m, x: m.bincount(x, weights=m.tensor([0.5, 1.0, 2.0], dtype=m.float64)), [1, 3, 1], I64),
    ("bincount_wint", lambda m, x: m.bincount(x, weights=m.tensor([1, 2, 3])), [1, 3, 1], I64),
    ("histc", lambda m, x: m.histc(x, bins=4), [1.0, 2.0, 1.0, 5.0], F32),
    ("histc_range", lambda m, x: m.histc(x, bins=4, min=0, max=2), [0.0, 1.0, 2.0, 10.0, -1.0, NAN], F32),
    ("histc_constant", lambda m, x: x.histc(bins=3), [2.0, 2.0], "float64"),
    ("histogram", lambda m, x: m.histogram(x, bins=4), [1.0, 2.0, 1.0, 5.0], F32),
    ("histogram_range_weight", lambda m, x: m.histogram(x, 3, range=(0.1, 1.0), weight=m.tensor([1.0, 2, 3, 4, 5, 6, 7])),
     [0.1, 0.2, 0.3, 0.7, 1.0, 1.5, -3.0], F32),
    ("histogram_edges_density", lambda m, x: x.histogram(m.tensor([0.0, 1.0, 2.0, 3.0]), weight=m.tensor([1.0, 2.0, 3.0]),
                                                         density=True), [1.0, 2.0, 1.0], F32),
    ("histogram_constant", lambda m, x: m.histogram(x, 4), [2.0, 2.0], "float64"),
    ("histogram_empty", lambda m, x: m.histogram(x, 2), [], "float64"),
    ("isin", lambda m, x: m.isin(x, m.tensor([2, 5, 9])), [[1, 2], [5, 7]], I64),
    ("isin_invert", lambda m, x: m.isin(x, m.tensor([2, 5]), invert=True), [1, 2, 5], I64),
    ("isin_scalar", lambda m, x: m.isin(x, 2), [1, 2], I64),
    ("isin_nan", lambda m, x: m.isin(x, m.tensor([NAN, 1.0])), [1.0, NAN], F32),
    ("tril_indices", lambda m, x: m.tril_indices(3, 4, 1), 0, I64),
    ("tril_indices_neg", lambda m, x: m.tril_indices(4, 3, -1), 0, I64),
    ("triu_indices", lambda m, x: m.triu_indices(3, 3, -1), 0, I64),
    ("triu_indices_int32", lambda m, x: m.triu_indices(3, 5, 2, dtype=m.int32), 0, I64),
    ("tril_indices_empty", lambda m, x: m.tril_indices(0, 3), 0, I64),
    ("combinations_int", lambda m, x: m.combinations(x), [1, 2, 3], I64),
    ("combinations_r0", lambda m, x: m.combinations(x, 0), [1.0, 2.0], F32),
    ("combinations_r_big", lambda m, x: m.combinations(x, 3), [1.0, 2.0], F32),
    ("median_0d", lambda m, x: (m.median(x), m.median(x, 0)), 2.0, F32),
    ("kthvalue_0d", lambda m, x: m.kthvalue(x, 1), 2.0, F32),
    ("mode_0d", lambda m, x: m.mode(x), 2.0, F32),
    ("quantile_0d", lambda m, x: (m.quantile(x, 0.5), m.quantile(x, 0.5, dim=0), m.quantile(x, 0.5, keepdim=True)), 2.0, F32),
    ("quantile_3d_dim1_keepdim", lambda m, x: m.quantile(x, m.tensor([0.3, 0.7]), dim=1, keepdim=True),
     np.arange(24.0).reshape(2, 3, 4) % 5, F32),
    ("cartesian_prod_empty", lambda m, x: m.cartesian_prod(x, x[:0]), [1, 2], I64),
    ("quantile_0d_tensor_q", lambda m, x: m.quantile(x, m.tensor(0.25)), [1.0, 2.0, 4.0], F32),
    ("bincount_uint8", lambda m, x: m.bincount(x), [1, 2], "uint8"),
    ("sort_empty_dim", lambda m, x: m.sort(x.reshape(2, 0), dim=0), [], F32),
    ("topk_empty_rows", lambda m, x: m.topk(x.reshape(2, 0), 0), [], F32),
    ("roll_empty", lambda m, x: m.roll(x, 3), [], F32),
    ("searchsorted_empty", lambda m, x: m.searchsorted(x, m.tensor([1.0])), [], F32),
    ("cartesian_prod_one", lambda m, x: m.cartesian_prod(x), [1, 2], I64),
    ("cartesian_prod_three", lambda m, x: m.cartesian_prod(x, x, x[:1]), [1, 2], I64),
]


def _arrays(out):
    if isinstance(out, tuple):
        return [o for r in out for o in _arrays(r)]
    return [out.detach().numpy()]


@pytest.mark.parametrize("case", EXACT_CASES, ids=[c[0] for c in EXACT_CASES])
def test_exact_outputs_against_torch(case, torch):
    name, fn, data, dt = case
    eo = fn(ember, ember.tensor(np.asarray(data, dtype=dt)))
    to = fn(torch, torch.tensor(np.asarray(data, dtype=dt)))
    assert type(eo).__name__ == type(to).__name__ or (isinstance(eo, tuple) and isinstance(to, tuple)), name
    ea, ta = _arrays(eo), _arrays(to)
    assert len(ea) == len(ta)
    if hasattr(to, "_fields"):
        assert eo._fields == to._fields
    for e, t in zip(ea, ta):
        assert e.dtype == t.dtype, f"{name}: {e.dtype} != {t.dtype}"
        assert e.shape == t.shape, f"{name}: {e.shape} != {t.shape}"
        np.testing.assert_array_equal(e, t)


TIE_ORDER_CASES = [  # PyTorch's selection algorithms name another of equal elements here: ours is stable
    ("topk_largest_ties", lambda m, x: m.topk(x, 2), [3.0, 1.0, 3.0, 1.0, 2.0, 3.0], [0, 2]),
    ("kthvalue_ties", lambda m, x: m.kthvalue(x, 2), [1.0, 1.0, 1.0, 2.0], [1]),
    ("nanmedian_all_nan_row", lambda m, x: m.nanmedian(x, 0), [NAN, NAN, NAN, NAN], [0]),
]


@pytest.mark.parametrize("case", TIE_ORDER_CASES, ids=[c[0] for c in TIE_ORDER_CASES])
def test_ties_take_the_stable_order_with_torchs_values(case, torch):
    name, fn, data, want = case
    e = fn(ember, ember.tensor(data))
    t = fn(torch, torch.tensor(data))
    np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
    assert e.indices.numpy().reshape(-1).tolist() == want


def test_sort_large_input_is_stable():
    x = np.random.default_rng(0).integers(0, 3, 200).astype(np.float32)
    s = ember.sort(ember.tensor(x))
    idx = s.indices.numpy()
    np.testing.assert_array_equal(idx, np.argsort(x, kind="stable"))
    d = ember.sort(ember.tensor(x), descending=True).indices.numpy()
    np.testing.assert_array_equal(x[d], np.sort(x)[::-1])
    for v in (0.0, 1.0, 2.0):  # each group of equal values in its input order
        grp = d[x[d] == v]
        assert (np.diff(grp) > 0).all()


@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_torch_stable_on_long_inputs(descending, torch):
    x = np.random.default_rng(3).integers(0, 4, (3, 300)).astype(np.float64)
    x[:, ::11] = np.nan
    e = ember.sort(ember.tensor(x), dim=1, descending=descending)
    t = torch.sort(torch.tensor(x), dim=1, descending=descending, stable=True)
    np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
    np.testing.assert_array_equal(e.indices.numpy(), t.indices.numpy())
    np.testing.assert_array_equal(ember.argsort(ember.tensor(x), descending=descending).numpy(), t.indices.numpy())


def test_flip_method_forms():
    x = ember.arange(6).reshape(2, 3)
    want = [[5, 4, 3], [2, 1, 0]]
    for y in (x.flip(0, 1), x.flip((0, 1)), x.flip([0, 1]), x.flip(dims=(0, 1)), ember.flip(x, dims=[0, 1])):
        assert y.tolist() == want


def test_gradient_goes_to_the_source_positions():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v = ember.sort(x, descending=True).values
    v.backward(ember.tensor([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 30.0, 20.0])
    y = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    ember.topk(y, 1, largest=False).values.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 0.0])


GRAD_TIE_CASES = [  # gradients with ties and NaN, against torch's
    ("median_all_ties", lambda m, x: m.median(x), [1.0, 2.0, 2.0, 3.0, 2.0]),
    ("median_all_nan", lambda m, x: m.median(x), [1.0, NAN, 2.0, NAN]),
    ("nanmedian_all_ties_nan", lambda m, x: m.nanmedian(x), [1.0, NAN, 2.0, 2.0]),
    ("median_dim_ties", lambda m, x: m.median(x, 0).values, [1.0, 2.0, 2.0, 3.0, 2.0]),
    ("quantile_ties", lambda m, x: m.quantile(x, 0.5), [1.0, 2.0, 2.0, 3.0, 2.0]),
    ("sort_ties", lambda m, x: m.sort(x, descending=True).values * m.arange(5.0), [1.0, 2.0, 2.0, 3.0, 2.0]),
    ("mode_ties", lambda m, x: m.mode(x).values, [1.0, 2.0, 2.0, 3.0, 2.0]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GRAD_TIE_CASES, ids=[c[0] for c in GRAD_TIE_CASES])
def test_gradients_with_ties_against_torch(case, dtype, torch):
    name, fn, data = case
    e = ember.tensor(np.asarray(data, dtype), requires_grad=True)
    t = torch.tensor(np.asarray(data, dtype), requires_grad=True)
    fn(ember, e).sum().backward()
    fn(torch, t).sum().backward()
    assert e.grad.dtype == dtype
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_indices_have_no_gradient():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    s = x.sort()
    assert s.values.requires_grad and not s.indices.requires_grad
    assert s.indices.dtype == ember.int64
    assert not ember.unique(x).requires_grad


ERROR_CASES = [
    ("topk_k_too_big", lambda m: m.topk(m.tensor([1.0, 2.0]), 3)),
    ("topk_bool", lambda m: m.topk(m.tensor([True, False]), 1)),
    ("topk_k_negative", lambda m: m.topk(m.tensor([1.0, 2.0]), -1)),
    ("sort_dim_out_of_range", lambda m: m.sort(m.tensor([1.0, 2.0]), dim=1)),
    ("kthvalue_k_too_big", lambda m: m.kthvalue(m.tensor([1.0, 2.0]), 3)),
    ("kthvalue_empty", lambda m: m.kthvalue(m.tensor([]), 1)),
    ("median_dim_empty", lambda m: m.median(m.tensor([]), 0)),
    ("median_bool", lambda m: m.median(m.tensor([True, False]))),
    ("kthvalue_bool", lambda m: m.kthvalue(m.tensor([True, False]), 1)),
    ("mode_empty", lambda m: m.mode(m.tensor([]))),
    ("quantile_int", lambda m: m.quantile(m.tensor([1, 2]), 0.5)),
    ("quantile_q_range", lambda m: m.quantile(m.tensor([1.0, 2.0]), 1.5)),
    ("quantile_q_dtype", lambda m: m.quantile(m.tensor([1.0, 2.0]), m.tensor([0.5], dtype=m.float64))),
    ("quantile_empty", lambda m: m.quantile(m.tensor([]), 0.5)),
    ("quantile_interp", lambda m: m.quantile(m.tensor([1.0, 2.0]), 0.5, interpolation="foo")),
    ("flip_repeated_dim", lambda m: m.flip(m.ones(2), (0, 0))),
    ("fliplr_1d", lambda m: m.fliplr(m.ones(3))),
    ("roll_misaligned", lambda m: m.roll(m.ones(2, 3), (1, 2), (0,))),
    ("rot90_1d", lambda m: m.rot90(m.ones(3), 1)),
    ("diff_0d", lambda m: m.diff(m.tensor(1.0))),
    ("diff_prepend_rank", lambda m: m.diff(m.tensor([1.0, 2.0]), prepend=m.tensor(0.0))),
    ("bincount_negative", lambda m: m.bincount(m.tensor([-1, 2]))),
    ("bincount_bool", lambda m: m.bincount(m.tensor([True, False]))),
    ("bincount_float", lambda m: m.bincount(m.tensor([1.0, 2.0]))),
    ("bincount_minlength", lambda m: m.bincount(m.tensor([1, 2]), minlength=-1)),
    ("bincount_weights_len", lambda m: m.bincount(m.tensor([1, 2]), m.tensor([1.0]))),
    ("histogram_int", lambda m: m.histogram(m.tensor([1, 2]), 3)),
    ("histc_int", lambda m: m.histc(m.tensor([1, 2]), 4)),
    ("histc_nan_auto_range", lambda m: m.histc(m.tensor([1.0, NAN]), bins=3)),
    ("histc_bins", lambda m: m.histc(m.tensor([1.0, 2.0]), bins=0)),
    ("histc_min_max", lambda m: m.histc(m.tensor([1.0, 2.0]), min=3, max=1)),
    ("searchsorted_shape", lambda m: m.searchsorted(m.tensor([[1.0, 2.0]]), m.tensor([1.0, 2.0]))),
    ("searchsorted_side_right", lambda m: m.searchsorted(m.tensor([1, 2]), m.tensor([1]), right=True, side="left")),
    ("bucketize_2d", lambda m: m.bucketize(m.tensor([1, 5]), m.tensor([[1, 2]]))),
    ("combinations_2d", lambda m: m.combinations(m.ones(2, 2))),
    ("cartesian_prod_dtypes", lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([1.0]))),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_as_torch(case, torch):
    name, fn = case
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(Exception) as ee:
        fn(ember)
    assert type(ee.value) is type(te.value), f"{name}: {type(ee.value).__name__} ({ee.value}) vs " \
                                              f"{type(te.value).__name__} ({te.value})"


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("kind", ["float_ties", "float_nan_inf", "int_extremes", "dim0"])
def test_topk_on_long_rows_takes_the_stable_order(kind, largest, torch):
    # long rows take the partition path: the same values as torch, the indices of a stable sort
    r = np.random.default_rng(7)
    if kind == "float_ties":
        x, d = r.integers(0, 5, (3, 3000)).astype(np.float32), 1
    elif kind == "float_nan_inf":
        x, d = r.standard_normal((3, 3000)), -1
        x[r.random(x.shape) < 0.2] = np.nan
        x[r.random(x.shape) < 0.1] = -np.inf
        x[r.random(x.shape) < 0.1] = np.inf
    elif kind == "int_extremes":
        x, d = r.integers(-2**62, 2**62, (2, 4000)), 1
        x[:, ::7], x[:, ::5] = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    else:
        x, d = r.integers(0, 300, (2000, 3)).astype(np.int32), 0
    for k in (1, 17, 100):
        e = ember.topk(ember.tensor(x), k, dim=d, largest=largest)
        t = torch.topk(torch.tensor(x), k, dim=d, largest=largest)
        np.testing.assert_array_equal(e.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(np.take_along_axis(x, e.indices.numpy(), d), e.values.numpy())
        full = ember.sort(ember.tensor(x), dim=d, descending=largest).indices.numpy()  # stable, NaN largest
        np.testing.assert_array_equal(e.indices.numpy(), np.take(full, np.arange(k), axis=d))


@pytest.mark.parametrize("kind", ["float_ties", "float_nan", "int8", "uint8_dim0"])
def test_median_and_kthvalue_on_long_rows(kind, torch):
    # long rows take the partition path: torch's values, the stable sort's index
    r = np.random.default_rng(11)
    if kind == "float_ties":
        x, d = r.integers(0, 5, (3, 1000)).astype(np.float32), 1
    elif kind == "float_nan":
        x, d = r.standard_normal((4, 999)), 1
        x[r.random(x.shape) < 0.2] = np.nan
        x[0] = r.standard_normal(999)  # one row without NaN
    elif kind == "int8":
        x, d = r.integers(-3, 3, (2, 700)).astype(np.int8), -1
    else:
        x, d = (r.random((800, 2)) < 0.3).astype(np.uint8), 0
    e, t = ember.tensor(x), torch.tensor(x)
    order = ember.sort(e, dim=d).indices.numpy()
    n = x.shape[d]
    rows = [(lambda m: m.kthvalue(e if m is ember else t, 5, dim=d)), (lambda m: m.kthvalue(e if m is ember else t, n, dim=d))]
    if kind != "uint8_dim0":
        rows += [lambda m: m.median(e if m is ember else t, dim=d), lambda m: m.nanmedian(e if m is ember else t, dim=d)]
    for fn in rows:
        eo, to = fn(ember), fn(torch)
        np.testing.assert_array_equal(eo.values.numpy(), to.values.numpy())
        got = eo.indices.numpy()
        np.testing.assert_array_equal(np.take_along_axis(x, np.expand_dims(got, d), d).squeeze(d), eo.values.numpy())
        pos = np.argmax(np.moveaxis(order, d, -1) == got[..., None], axis=-1)
        if kind != "float_nan":  # the stable position is the one asked for
            assert len(set(pos.tolist())) == 1
    if kind != "uint8_dim0":
        np.testing.assert_array_equal(ember.median(e).numpy(), torch.median(t).numpy())


def test_identity_permute_recorded_backward():
    # Permute's recorded backward of an identity order on a matrix (a regression: it swapped)
    x = ember.tensor(np.random.default_rng(0).standard_normal((3, 5)), requires_grad=True)
    assert gradgradcheck(lambda a: ember.movedim(a, 1, -1) * a, [x])
