"""Bad input to the indexing, sorting and selection ops, against PyTorch 2.13 (#21 "Bad input").

``ERRORS``: torch raises; ember must raise the same exception type (an instance of it), and
where a row gives a pattern, a message that matches it: an out-of-range index names the
dimension, the index and the size, never NumPy's wording ("axis"). ``EMPTY``: inputs with no
elements, which torch accepts; ember must give torch's values, shape and dtype. ``REFUSED``:
where torch silently wraps an index around, ember refuses it (the issue's rule)."""
import re
import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.torch

X = np.arange(12.0).reshape(3, 4)


def F(m, a):
    return m.tensor(np.asarray(a, np.float64))


def L(m, a):
    return m.tensor(np.asarray(a, np.int64))


def I32(m, a):
    return m.tensor(np.asarray(a, np.int32))


def B(m, a):
    return m.tensor(np.asarray(a, bool))


def x(m):
    return F(m, X)


OOB = r"index {} is out of bounds for dimension {} with size {}"
ONES = np.ones((1, 4))

# name, fn(m), a pattern ember's message must match (None: the type only)
ERRORS = [
    # gather / scatter family: past the size either way, negatives included (no wrap-around)
    ("gather_high", lambda m: m.gather(x(m), 1, L(m, [[0, 4]])), OOB.format(4, 1, 4)),
    ("gather_negative", lambda m: m.gather(x(m), 1, L(m, [[0, -1]])), OOB.format(-1, 1, 4)),
    ("gather_float_index", lambda m: m.gather(x(m), 1, F(m, [[0, 1]])), "int32/int64"),
    ("gather_index_ndim", lambda m: m.gather(x(m), 1, L(m, [0])), None),
    ("gather_index_too_big", lambda m: m.gather(x(m), 1, L(m, np.zeros((4, 1)))), None),
    ("gather_dim", lambda m: m.gather(x(m), 2, L(m, [[0]])), "Dimension out of range"),
    ("gather_0d_high", lambda m: m.gather(F(m, 5.0), 0, L(m, 1)), None),
    ("scatter_high", lambda m: m.scatter(x(m), 1, L(m, [[4]]), F(m, [[1.0]])), OOB.format(4, 1, 4)),
    ("scatter_negative", lambda m: m.scatter(x(m), 1, L(m, [[-1]]), F(m, [[1.0]])), OOB.format(-1, 1, 4)),
    ("scatter_value_high", lambda m: m.scatter(x(m), 1, L(m, [[5]]), value=2.0), OOB.format(5, 1, 4)),
    ("scatter_int_src_into_float", lambda m: m.scatter(x(m), 1, L(m, [[1]]), L(m, [[1]])), "dtype"),
    ("scatter_float_index", lambda m: m.scatter(x(m), 1, F(m, [[1.0]]), F(m, [[1.0]])), "int32/int64"),
    ("scatter_src_smaller_than_index", lambda m: m.scatter(x(m), 1, L(m, [[0, 1]]), F(m, [[1.0]])),
     "no larger size than src"),
    ("scatter_add_high", lambda m: m.scatter_add(x(m), 0, L(m, [[3]]), F(m, [[1.0]])), OOB.format(3, 0, 3)),
    ("scatter_add_negative", lambda m: m.scatter_add(x(m), 0, L(m, [[-1]]), F(m, [[1.0]])), OOB.format(-1, 0, 3)),
    ("scatter_add_int_src", lambda m: m.scatter_add(x(m), 0, L(m, [[1]]), L(m, [[1]])), "dtype"),
    ("scatter_add_src_small", lambda m: m.scatter_add(x(m), 1, L(m, [[0, 1]]), F(m, np.ones((2, 1)))), None),
    ("scatter_reduce_high", lambda m: m.scatter_reduce(x(m), 0, L(m, [[3]]), F(m, [[1.0]]), "amax"),
     OOB.format(3, 0, 3)),
    ("scatter_reduce_int_src", lambda m: m.scatter_reduce(x(m), 0, L(m, [[1]]), L(m, [[1]]), "amax"), "dtype"),
    ("scatter_reduce_float_index", lambda m: m.scatter_reduce(x(m), 0, F(m, [[1.0]]), F(m, [[1.0]]), "sum"), None),
    # index_* family
    ("index_select_high", lambda m: m.index_select(x(m), 1, L(m, [4])), OOB.format(4, 1, 4)),
    ("index_select_negative", lambda m: m.index_select(x(m), 1, L(m, [-1])), OOB.format(-1, 1, 4)),
    ("index_select_float", lambda m: m.index_select(x(m), 1, F(m, [1.0])), "int32 or int64"),
    ("index_select_2d_index", lambda m: m.index_select(x(m), 0, L(m, [[1]])), None),
    ("index_select_0d_high", lambda m: m.index_select(F(m, 5.0), 0, L(m, [1])), None),
    ("index_add_high", lambda m: m.index_add(x(m), 0, L(m, [3]), F(m, ONES)), OOB.format(3, 0, 3)),
    ("index_add_negative", lambda m: m.index_add(x(m), 0, L(m, [-1]), F(m, ONES)), OOB.format(-1, 0, 3)),
    ("index_add_int_source", lambda m: m.index_add(x(m), 0, L(m, [1]), L(m, ONES)), "same scalar type"),
    ("index_add_float_index", lambda m: m.index_add(x(m), 0, F(m, [1.0]), F(m, ONES)), None),
    ("index_add_count", lambda m: m.index_add(x(m), 0, L(m, [0]), F(m, np.ones((2, 4)))), "Number of indices"),
    ("index_add_slice_shape", lambda m: m.index_add(x(m), 0, L(m, [0]), F(m, np.ones((1, 3)))), None),
    ("index_copy_high", lambda m: m.index_copy(x(m), 0, L(m, [3]), F(m, ONES)), OOB.format(3, 0, 3)),
    ("index_copy_negative", lambda m: m.index_copy(x(m), 0, L(m, [-1]), F(m, ONES)), OOB.format(-1, 0, 3)),
    ("index_copy_int_source", lambda m: m.index_copy(x(m), 0, L(m, [1]), L(m, ONES)), None),
    ("index_copy_count", lambda m: m.index_copy(x(m), 0, L(m, [0]), F(m, np.ones((2, 4)))), "Number of indices"),
    ("index_copy_int32", lambda m: m.index_copy(x(m), 0, I32(m, [1]), F(m, ONES)), None),
    ("index_fill_high", lambda m: m.index_fill(x(m), 0, L(m, [3]), 1.0), OOB.format(3, 0, 3)),
    ("index_fill_negative_past", lambda m: m.index_fill(x(m), 0, L(m, [-4]), 1.0), OOB.format(-4, 0, 3)),
    ("index_fill_float", lambda m: m.index_fill(x(m), 0, F(m, [1.0]), 1.0), "int64"),
    ("index_fill_int32", lambda m: m.index_fill(x(m), 0, I32(m, [1]), 1.0), None),
    ("index_reduce_high", lambda m: m.index_reduce(x(m), 0, L(m, [3]), F(m, ONES), "amax"), OOB.format(3, 0, 3)),
    ("index_reduce_negative", lambda m: m.index_reduce(x(m), 0, L(m, [-1]), F(m, ONES), "amax"),
     OOB.format(-1, 0, 3)),
    ("index_reduce_count", lambda m: m.index_reduce(x(m), 0, L(m, [0]), F(m, np.ones((2, 4))), "amax"), None),
    ("index_put_high", lambda m: m.index_put(x(m), (L(m, [3]),), F(m, 1.0)), OOB.format(3, 0, 3)),
    ("index_put_negative_past", lambda m: m.index_put(x(m), (L(m, [-4]),), F(m, 1.0)), OOB.format(-4, 0, 3)),
    ("index_put_accumulate_high", lambda m: m.index_put(x(m), (L(m, [1]), L(m, [4])), F(m, 1.0), accumulate=True),
     OOB.format(4, 1, 4)),
    ("index_put_float", lambda m: m.index_put(x(m), (F(m, [1.0]),), F(m, 1.0)), "long, int, byte or bool"),
    ("index_put_int_values", lambda m: m.index_put(x(m), (L(m, [1]),), L(m, 1)), "dtypes match"),
    ("index_put_mask_shape", lambda m: m.index_put(x(m), (B(m, [True, False]),), F(m, 1.0)), "shape of the mask"),
    ("index_put_too_many", lambda m: m.index_put(x(m), (L(m, [0]), L(m, [0]), L(m, [0])), F(m, 1.0)),
     "too many indices"),
    ("index_put_value_shape", lambda m: m.index_put(x(m), (L(m, [0, 1]),), F(m, np.ones(3))), "shape mismatch"),
    # flat positions
    ("take_high", lambda m: m.take(x(m), L(m, [12])), "index 12 .*12 elements"),
    ("take_negative_past", lambda m: m.take(x(m), L(m, [-13])), "index -13 .*12 elements"),
    ("take_float", lambda m: m.take(x(m), F(m, [1.0])), "long"),
    ("take_on_empty", lambda m: m.take(F(m, np.zeros(0)), L(m, [0])), None),
    ("take_along_dim_flat_high", lambda m: m.take_along_dim(x(m), L(m, [12])), OOB.format(12, 0, 12)),
    ("take_along_dim_flat_negative", lambda m: m.take_along_dim(x(m), L(m, [-1])), OOB.format(-1, 0, 12)),
    ("take_along_dim_float", lambda m: m.take_along_dim(x(m), F(m, [[1.0]]), dim=1), "Long"),
    ("take_along_dim_int32", lambda m: m.take_along_dim(x(m), I32(m, [[1]]), dim=1), "Long"),
    ("take_along_dim_ndim", lambda m: m.take_along_dim(x(m), L(m, [1]), dim=1), None),
    ("put_high", lambda m: x(m).put(L(m, [12]), F(m, [1.0])), "index 12"),
    ("put_int_source", lambda m: x(m).put(L(m, [1]), L(m, [1])), "same dtype"),
    ("put_count", lambda m: x(m).put(L(m, [0, 1]), F(m, [1.0])), "same number of elements"),
    # narrow and select
    ("narrow_past_end", lambda m: m.narrow(x(m), 1, 3, 2), r"start \(3\) \+ length \(2\) exceeds dimension size \(4\)"),
    ("narrow_start", lambda m: m.narrow(x(m), 1, 5, 0), "start out of range"),
    ("narrow_negative_start_past", lambda m: m.narrow(x(m), 1, -5, 1), "start out of range"),
    ("narrow_negative_length", lambda m: m.narrow(x(m), 1, 0, -1), "non-negative"),
    ("narrow_dim", lambda m: m.narrow(x(m), 2, 0, 1), "Dimension out of range"),
    ("select_high", lambda m: m.select(x(m), 1, 4), r"index 4 out of range .*\[3, 4\] at dimension 1"),
    ("select_negative_past", lambda m: m.select(x(m), 1, -5), r"index -5 out of range .* at dimension 1"),
    ("select_0d", lambda m: m.select(F(m, 1.0), 0, 0), None),
    ("select_dim", lambda m: m.select(x(m), 2, 0), "Dimension out of range"),
    # x[index]
    ("getitem_int_high", lambda m: x(m)[3], OOB.format(3, 0, 3)),
    ("getitem_int_negative_past", lambda m: x(m)[-4], OOB.format(-4, 0, 3)),
    ("getitem_second_int_high", lambda m: x(m)[0, 4], OOB.format(4, 1, 4)),
    ("getitem_tensor_high", lambda m: x(m)[L(m, [0, 3])], OOB.format(3, 0, 3)),
    ("getitem_tensor_negative_past", lambda m: x(m)[L(m, [0, -4])], OOB.format(-4, 0, 3)),
    ("getitem_tensor_second_dim", lambda m: x(m)[:, L(m, [0, 4])], "index 4 is out of bounds for dimension .* 4"),
    ("getitem_list_high", lambda m: x(m)[[0, 3]], OOB.format(3, 0, 3)),
    ("getitem_after_ellipsis", lambda m: x(m)[..., L(m, [5])], OOB.format(5, 1, 4)),
    ("getitem_after_none", lambda m: x(m)[None, 0, 9], OOB.format(9, 1, 4)),
    ("getitem_float_tensor", lambda m: x(m)[F(m, [0.0])], "long, int, byte or bool"),
    ("getitem_float", lambda m: x(m)[1.0], r"got float"),
    ("getitem_mask_shape", lambda m: x(m)[B(m, [True, False])], r"shape of the mask \[2\] at index 0"),
    ("getitem_too_many", lambda m: x(m)[0, 0, 0], "too many indices for tensor of dimension 2"),
    ("getitem_negative_step", lambda m: x(m)[::-1], "step must be greater than zero"),
    ("getitem_negative_step_second", lambda m: x(m)[:, 3:0:-2], "step must be greater than zero"),
    ("getitem_zero_step", lambda m: x(m)[::0], "step cannot be zero"),
    ("getitem_advanced_shapes", lambda m: x(m)[L(m, [0, 1]), L(m, [0, 1, 2])], None),
    ("setitem_int_high", lambda m: x(m).__setitem__(3, 1.0), OOB.format(3, 0, 3)),
    ("setitem_tensor_high", lambda m: x(m).__setitem__(L(m, [3]), 1.0), OOB.format(3, 0, 3)),
    ("setitem_tensor_negative_past", lambda m: x(m).__setitem__(L(m, [-4]), 1.0), OOB.format(-4, 0, 3)),
    ("setitem_grad_high", lambda m: (F(m, X).requires_grad_() * 1).__setitem__(L(m, [0, 3]), 1.0),
     OOB.format(3, 0, 3)),
    ("setitem_negative_step", lambda m: x(m).__setitem__(slice(None, None, -1), 1.0), "step must be greater"),
    ("setitem_float_tensor", lambda m: x(m).__setitem__(F(m, [0.0]), 1.0), "long, int, byte or bool"),
    ("setitem_mask_shape", lambda m: x(m).__setitem__(B(m, [True, False]), 1.0), "shape of the mask"),
    ("setitem_too_many", lambda m: x(m).__setitem__((0, 0, 0), 1.0), "too many indices"),
    # masks and where
    ("masked_fill_int_mask", lambda m: m.masked_fill(x(m), L(m, np.ones((3, 4))), 1.0), "boolean masks"),
    ("masked_fill_mask_shape", lambda m: m.masked_fill(x(m), B(m, np.ones(3)), 1.0),
     r"size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1"),
    ("masked_fill_value_ndim", lambda m: m.masked_fill(x(m), B(m, np.ones((3, 4))), F(m, [1.0])), None),
    ("masked_select_int_mask", lambda m: m.masked_select(x(m), L(m, np.ones((3, 4)))), "BoolTensor"),
    ("masked_select_shape", lambda m: m.masked_select(x(m), B(m, np.ones(3))), "non-singleton dimension 1"),
    ("masked_scatter_small_source", lambda m: m.masked_scatter(x(m), B(m, np.ones((3, 4))), F(m, [1.0])), None),
    ("masked_scatter_int_source", lambda m: m.masked_scatter(x(m), B(m, np.ones((3, 4))), L(m, np.ones(12))), None),
    ("where_int_condition", lambda m: m.where(L(m, np.ones((3, 4))), x(m), x(m)), "boolean tensor"),
    ("where_shapes", lambda m: m.where(B(m, np.ones(3)), x(m), x(m)), "non-singleton dimension 1"),
    # sorting and selection along a dim
    ("sort_dim", lambda m: m.sort(x(m), 2), "Dimension out of range"),
    ("argsort_dim", lambda m: m.argsort(x(m), 2), "Dimension out of range"),
    ("topk_k_big", lambda m: m.topk(x(m), 5), "k out of range"),
    ("topk_k_negative", lambda m: m.topk(x(m), -1), None),
    ("topk_dim", lambda m: m.topk(x(m), 1, dim=2), None),
    ("kthvalue_k_zero", lambda m: m.kthvalue(x(m), 0), "out of range"),
    ("kthvalue_k_big", lambda m: m.kthvalue(x(m), 5), "out of range"),
    ("kthvalue_empty", lambda m: m.kthvalue(F(m, np.zeros((3, 0))), 1), None),
    ("median_dim", lambda m: m.median(x(m), 2), None),
    ("median_empty_dim", lambda m: m.median(F(m, np.zeros((3, 0))), 1), None),
    ("mode_empty_dim", lambda m: m.mode(F(m, np.zeros((3, 0))), 1), None),
    ("quantile_q", lambda m: m.quantile(x(m), 1.5), None),
    ("quantile_int_input", lambda m: m.quantile(L(m, [1, 2]), 0.5), None),
    ("cummax_dim", lambda m: m.cummax(x(m), 2), None),
    ("flip_repeated_dim", lambda m: m.flip(x(m), [0, 0]), None),
    ("flip_dim", lambda m: m.flip(x(m), [2]), None),
    ("roll_shifts_dims", lambda m: m.roll(x(m), (1, 2), (0,)), None),
    ("rot90_same_dims", lambda m: m.rot90(x(m), 1, [0, 0]), None),
    ("rot90_1d", lambda m: m.rot90(F(m, [1.0, 2.0])), None),
    ("diff_0d", lambda m: m.diff(F(m, 1.0)), None),
    ("unique_dim", lambda m: m.unique(x(m), dim=2), None),
    ("searchsorted_dims", lambda m: m.searchsorted(x(m), F(m, [1.0])), None),
    ("bucketize_2d_boundaries", lambda m: m.bucketize(F(m, [1.0]), x(m)), None),
    ("bincount_negative", lambda m: m.bincount(L(m, [-1])), None),
    ("bincount_float", lambda m: m.bincount(F(m, [1.0])), None),
    ("bincount_weights_length", lambda m: m.bincount(L(m, [1, 2]), F(m, [1.0])), None),
    ("histc_int", lambda m: m.histc(L(m, [1, 2])), None),
    ("histc_bins", lambda m: m.histc(F(m, [1.0]), bins=0), None),
    ("tril_indices_negative", lambda m: m.tril_indices(-1, 3), None),
    ("combinations_2d", lambda m: m.combinations(x(m)), None),
    # triangles, diagonals, distances
    ("tril_1d", lambda m: m.tril(F(m, [1.0, 2.0])), None),
    ("diag_3d", lambda m: m.diag(F(m, np.zeros((2, 2, 2)))), None),
    ("diag_embed_dim", lambda m: m.diag_embed(x(m), 0, 0, 3), "Dimension out of range"),
    ("diagonal_same_dims", lambda m: m.diagonal(x(m), 0, 1, 1), None),
    ("diagonal_dim", lambda m: m.diagonal(x(m), 0, 0, 2), "Dimension out of range"),
    ("trace_3d", lambda m: m.trace(F(m, np.zeros((2, 2, 2)))), None),
    ("cross_size_3", lambda m: m.cross(x(m), x(m), dim=1), None),
    ("cdist_columns", lambda m: m.cdist(x(m), F(m, np.zeros((2, 3)))), None),
    ("cdist_1d", lambda m: m.cdist(F(m, [1.0]), F(m, [1.0])), None),
    ("pdist_1d", lambda m: m.pdist(F(m, [1.0])), None),
    ("pdist_negative_p", lambda m: m.pdist(x(m), -1), None),
    ("block_diag_3d", lambda m: m.block_diag(F(m, np.zeros((2, 2, 2)))), None),
]


def _outcome(fn, m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(m), None
        except Exception as e:  # noqa: BLE001 (compared with torch's)
            return None, e


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_error_type_as_torch(case, torch):
    name, fn, pattern = case
    _, terr = _outcome(fn, torch)
    assert terr is not None, f"{name}: torch accepts this input (the row is wrong)"
    _, eerr = _outcome(fn, ember)
    assert eerr is not None, f"{name}: torch raises {type(terr).__name__}({terr}); ember does not"
    assert isinstance(eerr, type(terr)), f"{name}: torch raises {type(terr).__name__}, ember {eerr!r}"
    if pattern is not None:
        assert re.search(pattern, str(eerr)), f"{name}: {str(eerr)!r} does not match {pattern!r}"
    assert not re.search(r"\baxis\b|arrays used as indices|numpy", str(eerr)), f"{name}: NumPy's message: {eerr}"


def _zeros(m, *shape):
    return F(m, np.zeros(shape))


EMPTY = [
    ("gather_empty_index", lambda m: m.gather(x(m), 1, L(m, np.zeros((3, 0))))),
    ("gather_empty_input", lambda m: m.gather(_zeros(m, 0, 4), 1, L(m, np.zeros((0, 2))))),
    ("gather_index_longer_than_dim", lambda m: m.gather(x(m), 1, L(m, [[0, 1, 2, 3, 0]]))),
    ("scatter_empty_index", lambda m: m.scatter(x(m), 1, L(m, np.zeros((3, 0))), _zeros(m, 3, 0))),
    ("scatter_empty_input", lambda m: m.scatter(_zeros(m, 0, 4), 1, L(m, np.zeros((0, 2))), _zeros(m, 0, 2))),
    ("scatter_add_empty", lambda m: m.scatter_add(x(m), 0, L(m, np.zeros((0, 4))), _zeros(m, 0, 4))),
    ("scatter_reduce_empty", lambda m: m.scatter_reduce(x(m), 0, L(m, np.zeros((0, 4))), _zeros(m, 0, 4), "prod")),
    ("index_select_empty_index", lambda m: m.index_select(x(m), 1, L(m, np.zeros(0)))),
    ("index_select_empty_input", lambda m: m.index_select(_zeros(m, 0, 4), 1, L(m, [1]))),
    ("index_select_0d", lambda m: m.index_select(F(m, 5.0), 0, L(m, [0]))),
    ("index_add_empty", lambda m: m.index_add(x(m), 0, L(m, np.zeros(0)), _zeros(m, 0, 4))),
    ("index_copy_empty", lambda m: m.index_copy(x(m), 0, L(m, np.zeros(0)), _zeros(m, 0, 4))),
    ("index_fill_empty", lambda m: m.index_fill(x(m), 0, L(m, np.zeros(0)), 1.0)),
    ("index_fill_negative", lambda m: m.index_fill(x(m), 0, L(m, [-1]), 1.0)),
    ("index_reduce_empty", lambda m: m.index_reduce(x(m), 0, L(m, np.zeros(0)), _zeros(m, 0, 4), "prod")),
    ("index_put_empty", lambda m: m.index_put(x(m), (L(m, np.zeros(0)),), F(m, 1.0))),
    ("index_put_negative", lambda m: m.index_put(x(m), (L(m, [-3]),), F(m, 1.0))),
    ("take_empty", lambda m: m.take(_zeros(m, 0), L(m, np.zeros(0)))),
    ("take_empty_index", lambda m: m.take(x(m), L(m, np.zeros((2, 0))))),
    ("take_negative", lambda m: m.take(x(m), L(m, [-12, -1]))),
    ("take_0d", lambda m: m.take(F(m, 5.0), L(m, [0, -1]))),
    ("take_along_dim_empty", lambda m: m.take_along_dim(_zeros(m, 0, 4), L(m, np.zeros((0, 1))), dim=1)),
    ("take_along_dim_negative", lambda m: m.take_along_dim(x(m), L(m, [[-1], [-4], [0]]), dim=1)),
    ("put_empty", lambda m: x(m).put(L(m, np.zeros(0)), _zeros(m, 0))),
    ("put_negative", lambda m: x(m).put(L(m, [-1]), F(m, [9.0]))),
    ("narrow_empty", lambda m: m.narrow(_zeros(m, 0, 4), 1, 0, 2)),
    ("narrow_negative_start", lambda m: m.narrow(x(m), 1, -1, 1)),
    ("narrow_to_nothing", lambda m: m.narrow(x(m), 1, 4, 0)),
    ("select_negative", lambda m: m.select(x(m), 1, -4)),
    ("masked_fill_empty", lambda m: m.masked_fill(_zeros(m, 0, 4), B(m, np.zeros((0, 4))), 1.0)),
    ("masked_fill_broadcast_input", lambda m: m.masked_fill(_zeros(m, 4), B(m, np.ones((3, 4))), 1.0)),
    ("masked_select_empty", lambda m: m.masked_select(_zeros(m, 0, 4), B(m, np.zeros((0, 4))))),
    ("masked_scatter_empty", lambda m: m.masked_scatter(_zeros(m, 0, 4), B(m, np.zeros((0, 4))), _zeros(m, 0))),
    ("where_uint8_condition", lambda m: m.where(m.tensor(np.ones((3, 4), np.uint8)), x(m), -x(m))),
    ("nonzero_empty", lambda m: m.nonzero(_zeros(m, 0, 4))),
    ("argwhere_0d", lambda m: m.argwhere(F(m, 1.0))),
    ("getitem_empty_tensor", lambda m: x(m)[L(m, np.zeros(0))]),
    ("getitem_negative_in_range", lambda m: x(m)[L(m, [-3, -1]), -4]),
    ("getitem_uint8_mask", lambda m: x(m)[m.tensor(np.array([1, 0, 1], np.uint8))]),
    ("getitem_bool_scalar", lambda m: x(m)[True]),
    ("getitem_none_ellipsis", lambda m: x(m)[None, ..., L(m, [0, 0])]),
    ("sort_empty", lambda m: m.sort(_zeros(m, 0, 4), 1).values),
    ("sort_empty_dim", lambda m: m.sort(_zeros(m, 3, 0), 1).indices),
    ("argsort_empty", lambda m: m.argsort(_zeros(m, 3, 0), 1)),
    ("topk_zero", lambda m: m.topk(_zeros(m, 3, 0), 0).values),
    ("cummax_empty", lambda m: m.cummax(_zeros(m, 3, 0), 1).indices),
    ("cumsum_empty", lambda m: m.cumsum(_zeros(m, 0, 4), 1)),
    ("flip_empty", lambda m: m.flip(_zeros(m, 0, 4), [0])),
    ("roll_empty", lambda m: m.roll(_zeros(m, 0, 4), 1, 0)),
    ("diff_empty", lambda m: m.diff(_zeros(m, 0, 4), dim=0)),
    ("unique_empty", lambda m: m.unique(_zeros(m, 0))),
    ("searchsorted_empty", lambda m: m.searchsorted(_zeros(m, 0), F(m, [1.0]))),
    ("bincount_empty", lambda m: m.bincount(L(m, np.zeros(0)))),
    ("histc_empty", lambda m: m.histc(_zeros(m, 0), 3)),
    ("isin_empty", lambda m: m.isin(_zeros(m, 0), F(m, [1.0]))),
    ("tril_indices_0", lambda m: m.tril_indices(0, 0)),
    ("diag_empty", lambda m: m.diag(_zeros(m, 0))),
    ("diagonal_empty", lambda m: m.diagonal(_zeros(m, 0, 3))),
    ("diagonal_big_offset", lambda m: m.diagonal(x(m), 10)),
    ("diag_embed_empty", lambda m: m.diag_embed(_zeros(m, 2, 0))),
    ("trace_empty", lambda m: m.trace(_zeros(m, 0, 0))),
    ("tril_empty", lambda m: m.tril(_zeros(m, 0, 3))),
    ("cdist_empty", lambda m: m.cdist(_zeros(m, 0, 3), _zeros(m, 2, 3))),
    ("pdist_empty", lambda m: m.pdist(_zeros(m, 0, 3))),
    ("pdist_one_row", lambda m: m.pdist(_zeros(m, 1, 3))),
    ("pdist", lambda m: m.pdist(x(m), 1.5)),
    ("cosine_similarity_empty", lambda m: m.cosine_similarity(_zeros(m, 0, 3), _zeros(m, 0, 3))),
    ("combinations_empty", lambda m: m.combinations(_zeros(m, 0))),
    ("cartesian_prod_empty", lambda m: m.cartesian_prod(_zeros(m, 0), F(m, [1.0]))),
]


@pytest.mark.parametrize("case", EMPTY, ids=[c[0] for c in EMPTY])
def test_accepted_as_torch(case, torch):
    name, fn = case
    t, terr = _outcome(fn, torch)
    assert terr is None, f"{name}: torch raises {terr!r} (the row is wrong)"
    e, eerr = _outcome(fn, ember)
    assert eerr is None, f"{name}: ember raises {eerr!r}"
    assert tuple(e.shape) == tuple(t.shape), name
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy(), err_msg=name)


REFUSED = [  # torch 2.13 wraps these indices modulo the size without a word: ember refuses them
    ("take_along_dim_high", lambda m: m.take_along_dim(x(m), L(m, [[4], [5], [6]]), dim=1), OOB.format(6, 1, 4)),
    ("take_along_dim_negative_past", lambda m: m.take_along_dim(x(m), L(m, [[-5]]), dim=1), OOB.format(-5, 1, 4)),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_no_silent_wrap_around(case, torch):
    name, fn, pattern = case
    assert _outcome(fn, torch)[1] is None  # torch's silent wrap, which the issue rules out
    with pytest.raises(IndexError, match=pattern):
        fn(ember)


def test_uint8_index_is_a_mask_with_a_warning():
    a = ember.tensor(X)
    with pytest.warns(UserWarning, match="uint8"):
        r = a[ember.tensor(np.array([1, 0, 1], np.uint8))]
    np.testing.assert_array_equal(r.numpy(), X[[0, 2]])


def test_refused_index_leaves_the_tensor_unchanged():
    a = ember.tensor(X)
    with pytest.raises(IndexError):
        a[ember.tensor([0, 3])] = 5.0
    with pytest.raises(ValueError):
        a[::-1] = 5.0
    np.testing.assert_array_equal(a.numpy(), X)
