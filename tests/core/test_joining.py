"""Joining, splitting and repeating (cat/stack with ``dim=``, hstack/vstack/dstack/column_stack,
split/chunk/tensor_split/unbind, meshgrid, broadcast_tensors/broadcast_shapes, atleast_*d,
repeat/tile/repeat_interleave) against PyTorch: values, dtypes, shapes and gradients, plus
float64 gradcheck and gradgradcheck. Each row is written once, as users write PyTorch, and run
with ``m`` = ember and ``m`` = torch."""
import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

# name, fn(m, *inputs) (m is the ember or the torch module), input shapes
CASES = [
    ("cat_dim1", lambda m, a, b: m.cat([a, b], dim=1), [(2, 3), (2, 2)]),
    ("cat_dim_neg", lambda m, a, b: m.cat((a, b), dim=-1), [(2, 1, 3), (2, 1, 2)]),
    ("cat_positional", lambda m, a, b, c: m.cat([a, b, c], 0), [(1, 3), (2, 3), (3, 3)]),
    ("cat_skips_empty_1d", lambda m, a, b: m.cat([a, m.zeros(0, dtype=a.dtype), b], dim=1), [(2, 3), (2, 2)]),
    ("concat", lambda m, a, b: m.concat([a, b], dim=0), [(2, 3), (1, 3)]),
    ("concatenate", lambda m, a, b: m.concatenate([a, b], dim=1), [(2, 3), (2, 2)]),
    ("stack_dim_neg", lambda m, a, b: m.stack([a, b], dim=-1), [(2, 3), (2, 3)]),
    ("stack_dim1", lambda m, a, b, c: m.stack((a, b, c), dim=1), [(2, 3), (2, 3), (2, 3)]),
    ("stack_0d", lambda m, a, b: m.stack([a, b]), [(), ()]),
    ("split_dim", lambda m, a: a.split(2, dim=1), [(3, 5)]),
    ("split_fn_sizes", lambda m, a: m.split(a, [1, 4], dim=1), [(3, 5)]),
    ("split_positional", lambda m, a: m.split(a, 2, 0), [(5, 2)]),
    ("chunk_positional", lambda m, a: a.chunk(3, 1), [(2, 7)]),
    ("chunk_dim", lambda m, a: m.chunk(a, 2, dim=0), [(5, 2)]),
    ("chunk_fewer", lambda m, a: a.chunk(4, dim=0), [(6, 2)]),
    ("tensor_split_sections", lambda m, a: m.tensor_split(a, 3), [(7, 2)]),
    ("tensor_split_dim", lambda m, a: a.tensor_split(3, dim=1), [(2, 8)]),
    ("tensor_split_indices", lambda m, a: m.tensor_split(a, [1, 4], dim=1), [(2, 6)]),
    ("tensor_split_index_tuple", lambda m, a: a.tensor_split((2, 2, 5), dim=0), [(6, 2)]),
    ("tensor_split_tensor", lambda m, a: m.tensor_split(a, m.tensor([1, 3]), dim=-1), [(2, 5)]),
    ("tensor_split_tensor_sections", lambda m, a: m.tensor_split(a, m.tensor(2)), [(5,)]),
    ("hsplit", lambda m, a: m.hsplit(a, 2), [(3, 4)]),
    ("hsplit_1d_indices", lambda m, a: a.hsplit([1, 3]), [(5,)]),
    ("vsplit", lambda m, a: a.vsplit(3), [(3, 2)]),
    ("dsplit_indices", lambda m, a: m.dsplit(a, [1]), [(2, 1, 3)]),
    ("unbind", lambda m, a: m.unbind(a, dim=1), [(2, 3, 2)]),
    ("unbind_method", lambda m, a: a.unbind(-1), [(3, 2)]),
    ("hstack_2d", lambda m, a, b: m.hstack([a, b]), [(2, 3), (2, 1)]),
    ("hstack_1d", lambda m, a, b, c: m.hstack((a, b, c)), [(3,), (2,), ()]),
    ("vstack_1d", lambda m, a, b: m.vstack([a, b]), [(3,), (3,)]),
    ("vstack_2d", lambda m, a, b: m.vstack([a, b]), [(1, 3), (2, 3)]),
    ("row_stack", lambda m, a, b: m.row_stack([a, b]), [(3,), (2, 3)]),
    ("dstack", lambda m, a, b: m.dstack([a, b]), [(2, 3), (2, 3, 2)]),
    ("dstack_1d", lambda m, a, b: m.dstack([a, b]), [(3,), (3,)]),
    ("column_stack", lambda m, a, b, c: m.column_stack([a, b, c]), [(3,), (3, 2), (3, 1)]),
    ("meshgrid_ij", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [(3,), (4,)]),
    ("meshgrid_xy", lambda m, a, b: m.meshgrid(a, b, indexing="xy"), [(3,), (4,)]),
    ("meshgrid_xy_list3", lambda m, a, b, c: m.meshgrid([a, b, c], indexing="xy"), [(2,), (3,), (4,)]),
    ("meshgrid_0d", lambda m, a, b: m.meshgrid(a, b, indexing="ij"), [(), (3,)]),
    ("broadcast_tensors", lambda m, a, b, c: m.broadcast_tensors(a, b, c), [(3, 1), (4,), (2, 1, 1)]),
    ("atleast_1d", lambda m, a: m.atleast_1d(a), [()]),
    ("atleast_1d_many", lambda m, a, b: m.atleast_1d(a, b), [(), (2, 3)]),
    ("atleast_2d", lambda m, a: m.atleast_2d(a), [(3,)]),
    ("atleast_2d_list", lambda m, a, b: m.atleast_2d([a, b]), [(), (2, 2)]),
    ("atleast_3d_0d", lambda m, a: m.atleast_3d(a), [()]),
    ("atleast_3d_1d", lambda m, a: m.atleast_3d(a), [(3,)]),
    ("atleast_3d_2d", lambda m, a: m.atleast_3d(a), [(2, 3)]),
    ("repeat", lambda m, a: a.repeat(2, 3), [(2, 3)]),
    ("repeat_new_dims", lambda m, a: a.repeat(2, 1, 3), [(3,)]),
    ("repeat_ones", lambda m, a: a.repeat(1, 1), [(2, 3)]),
    ("repeat_tuple", lambda m, a: a.repeat((3, 1)), [(2, 2)]),
    ("tile", lambda m, a: m.tile(a, (2,)), [(2, 3)]),
    ("tile_method_more", lambda m, a: a.tile((2, 1, 2)), [(2, 3)]),
    ("repeat_interleave_flat", lambda m, a: m.repeat_interleave(a, 2), [(2, 3)]),
    ("repeat_interleave_dim", lambda m, a: a.repeat_interleave(3, dim=1), [(2, 3)]),
    ("repeat_interleave_tensor", lambda m, a: a.repeat_interleave(m.tensor([1, 0, 2]), dim=0), [(3, 2)]),
    ("repeat_interleave_1elem", lambda m, a: a.repeat_interleave(m.tensor([2]), dim=-1), [(3, 2)]),
]


def _arrays(shapes, dtype, seed):
    r = np.random.default_rng(seed)
    return [np.asarray(r.standard_normal(s)).astype(dtype) for s in shapes]


def _outs(y):
    return (y,) if not isinstance(y, (tuple, list)) else tuple(y)


def _call(m, fn, arrays, requires_grad=True):
    xs = [m.tensor(a, requires_grad=requires_grad) for a in arrays]
    return xs, _outs(fn(m, *xs))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(a, requires_grad=True) for a in _arrays(shapes, np.float64, 0)]
    assert ember.gradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(a, requires_grad=True) for a in _arrays(shapes, np.float64, 0)]
    assert gradgradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, shapes = case
    arrays = _arrays(shapes, dtype, 1)
    ex, ey = _call(ember, fn, arrays)
    tx, ty = _call(torch, fn, arrays)
    assert len(ey) == len(ty), f"{name}: {len(ey)} outputs, PyTorch gives {len(ty)}"
    r = np.random.default_rng(2)
    eloss, tloss = 0, 0
    for e, t in zip(ey, ty):
        assert isinstance(e, ember.Tensor)
        assert tuple(e.shape) == tuple(t.shape)
        assert e.detach().numpy().dtype == t.detach().numpy().dtype == dtype
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())
        w = r.standard_normal(tuple(t.shape)).astype(dtype)
        eloss = eloss + (e * ember.tensor(w)).sum()
        tloss = tloss + (t * torch.tensor(w)).sum()
    eloss.backward()
    tloss.backward()
    for e, t in zip(ex, tx):
        assert e.grad is not None and e.grad.shape == e.shape
        assert e.grad.detach().numpy().dtype == dtype
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_splits_are_views_of_their_input(torch):
    x = ember.arange(12.0).reshape(3, 4)
    for piece in (*x.split(2, dim=1), *x.chunk(2, 0), *x.tensor_split(3, dim=1), *x.unbind(1)):
        assert np.shares_memory(piece.numpy(), x.numpy())
    for r in (x.repeat(1, 1), x.tile((1,)), x.repeat_interleave(1, dim=0)):
        assert not np.shares_memory(r.numpy(), x.numpy())  # repeat copies, as PyTorch's


def test_cat_and_stack_promote_dtypes_as_torch(torch):
    pairs = [(np.float32, np.float64), (np.int64, np.float32), (np.int32, np.int64), (np.bool_, np.int64),
             (np.uint8, np.int8), (np.float16, np.float32)]
    for da, db in pairs:
        a, b = np.ones((2, 2), da), np.zeros((1, 2), db)
        for fn in (lambda m, a, b: m.cat([a, b], dim=0), lambda m, a, b: m.vstack([a, b])):
            e = fn(ember, ember.tensor(a), ember.tensor(b))
            t = fn(torch, torch.tensor(a), torch.tensor(b))
            assert e.numpy().dtype == t.numpy().dtype, (da, db)
        e = ember.stack([ember.tensor(a[0]), ember.tensor(b[0])], dim=1)
        assert e.numpy().dtype == torch.stack([torch.tensor(a[0]), torch.tensor(b[0])], dim=1).numpy().dtype
    # the gradient of each input comes back in its own dtype
    a = ember.ones(2, dtype=np.float32, requires_grad=True)
    b = ember.ones(3, dtype=np.float64, requires_grad=True)
    ember.cat([a, b]).sum().backward()
    assert a.grad.numpy().dtype == np.float32 and b.grad.numpy().dtype == np.float64


def test_int_inputs_keep_their_values_and_dtype(torch):
    a = np.arange(6).reshape(2, 3)
    for fn in (lambda m, x: m.cat([x, x], dim=1), lambda m, x: m.stack([x, x], dim=-1), lambda m, x: x.repeat(2, 1),
               lambda m, x: m.meshgrid(x[0], x[1], indexing="xy")[0], lambda m, x: x.repeat_interleave(2),
               lambda m, x: m.column_stack([x[0], x[1]]), lambda m, x: m.dstack([x, x])):
        e, t = fn(ember, ember.tensor(a)), fn(torch, torch.tensor(a))
        assert e.numpy().dtype == t.numpy().dtype == np.int64
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_repeat_interleave_of_counts_alone(torch):
    c = np.array([2, 0, 3])
    e, t = ember.repeat_interleave(ember.tensor(c)), torch.repeat_interleave(torch.tensor(c))
    assert e.numpy().dtype == np.int64
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_broadcast_shapes(torch):
    for shapes in [((2, 1), (3,)), ((1,), (4, 1, 1)), ((), (2, 3)), (3, (2, 1)), ((5, 0), (1,))]:
        e, t = ember.broadcast_shapes(*shapes), torch.broadcast_shapes(*shapes)
        assert isinstance(e, ember.Size) and e == tuple(t)
    with pytest.raises(RuntimeError):
        torch.broadcast_shapes((2,), (3,))
    with pytest.raises(RuntimeError, match="Attempting to broadcast a dimension of length 3"):
        ember.broadcast_shapes((2,), (3,))


def test_meshgrid_without_indexing_warns_and_means_ij(torch):
    a, b = np.arange(3.0), np.arange(2.0)
    with pytest.warns(UserWarning, match="indexing"):
        tg = torch.meshgrid(torch.tensor(a), torch.tensor(b))
    with pytest.warns(UserWarning, match="indexing"):
        eg = ember.meshgrid(ember.tensor(a), ember.tensor(b))
    for e, t in zip(eg, tg):
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_atleast_returns_the_tensor_when_it_has_the_dims(torch):
    x = ember.ones(2, 3)
    assert ember.atleast_1d(x) is x and ember.atleast_2d(x) is x
    assert isinstance(ember.atleast_1d([x]), tuple) and isinstance(torch.atleast_1d([torch.ones(2)]), tuple)


# the call, on either module (x: a (2, 3) float tensor); ember must raise what PyTorch raises
ERRORS = [
    ("cat_shapes", lambda m, x: m.cat([x, m.ones(3, 3)], dim=1), "Sizes of tensors must match except in dimension 1"),
    ("cat_empty", lambda m, x: m.cat([], dim=0), "non-empty"),
    ("cat_dim_range", lambda m, x: m.cat([x, x], dim=2), "Dimension out of range"),
    ("cat_ndim", lambda m, x: m.cat([x, m.ones(2, 3, 1)]), "same number of dimensions"),
    ("cat_0d", lambda m, x: m.cat([x[0, 0], x[0, 1]]), "zero-dimensional"),
    ("cat_tensor_not_list", lambda m, x: m.cat(x, dim=0), "tuple"),
    ("stack_shapes", lambda m, x: m.stack([x, x[:, :2]], dim=0), "stack expects each tensor to be equal size"),
    ("stack_dim_range", lambda m, x: m.stack([x, x], dim=3), "Dimension out of range"),
    ("split_sizes_sum", lambda m, x: x.split([1, 1], dim=1), "split_with_sizes expects split_sizes to sum exactly to 3"),
    ("split_dim_range", lambda m, x: x.split(1, dim=2), "Dimension out of range"),
    ("chunk_zero", lambda m, x: x.chunk(0), "chunk expects `chunks` to be greater than 0"),
    ("tensor_split_zero", lambda m, x: x.tensor_split(0), "number of sections must be larger than 0"),
    ("tensor_split_float_tensor", lambda m, x: x.tensor_split(m.tensor([1.0])), "tensor_indices_or_sections"),
    ("hsplit_uneven", lambda m, x: x.hsplit(2), "not divisible by the split_size 2"),
    ("vsplit_1d", lambda m, x: x[0].vsplit(1), "torch.vsplit requires a tensor with at least 2 dimension"),
    ("dsplit_2d", lambda m, x: x.dsplit(1), "torch.dsplit requires a tensor with at least 3 dimension"),
    ("stack_empty", lambda m, x: m.stack([]), "stack expects a non-empty TensorList"),
    ("hstack_empty", lambda m, x: m.hstack([]), "hstack expects a non-empty TensorList"),
    ("hstack_tensor", lambda m, x: m.hstack(x), "must be tuple of Tensors"),
    ("broadcast_shapes", lambda m, x: m.broadcast_shapes((2, 3), (4, 1)), "Attempting to broadcast a dimension"),
    ("meshgrid_dtypes", lambda m, x: m.meshgrid(x[0], x[0].double(), indexing="ij"), "same dtype"),
    ("repeat_negative", lambda m, x: x.repeat(-1, 2), "Trying to create tensor with negative dimension -2: [-2, 6]"),
    ("repeat_interleave_output_size", lambda m, x: x.repeat_interleave(2, dim=0, output_size=3),
     "Invalid output_size, expected 4 but got 3"),
    ("meshgrid_indexing", lambda m, x: m.meshgrid(x[0], indexing="yx"), "indexing must be one of"),
    ("meshgrid_2d", lambda m, x: m.meshgrid(x, x, indexing="ij"), "Expected 0D or 1D tensor"),
    ("broadcast_tensors", lambda m, x: m.broadcast_tensors(x, m.ones(4)), "must match the size"),
    ("repeat_too_few", lambda m, x: x.repeat(2), "Number of dimensions of repeat dims"),
    ("repeat_interleave_len", lambda m, x: x.repeat_interleave(m.tensor([1, 2]), dim=1), "repeats must have the same size"),
    ("repeat_interleave_neg", lambda m, x: x.repeat_interleave(-1), "negative"),
    ("unbind_range", lambda m, x: x.unbind(2), "Dimension out of range"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case, torch):
    name, fn, match = case
    x = np.ones((2, 3), np.float32)
    with pytest.raises(Exception) as te:
        fn(torch, torch.tensor(x))
    with pytest.raises(Exception) as ee:
        fn(ember, ember.tensor(x))
    assert isinstance(ee.value, type(te.value)) or type(te.value) in type(ee.value).__mro__, (te.value, ee.value)
    assert match in str(ee.value), str(ee.value)


def test_empty_pieces_as_torch(torch):
    for fn in (lambda m, x: x.chunk(3), lambda m, x: x.split(2), lambda m, x: m.tensor_split(x, 2, dim=1),
               lambda m, x: m.cat([x, x], dim=1), lambda m, x: m.cat([m.zeros(0), m.zeros(0)])):
        a = np.zeros((0, 4), np.float32)
        e, t = _outs(fn(ember, ember.tensor(a))), _outs(fn(torch, torch.tensor(a)))
        assert [tuple(p.shape) for p in e] == [tuple(p.shape) for p in t]
