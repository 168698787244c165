"""Second-order gradients of the #21 indexing forms no other table checks: every form of
advanced indexing on both sides of ``=`` (integer tensors, masks, None, ``...``, negative
indices, duplicates), ``where`` with a scalar, ``narrow`` and ``pdist``. Each row: float64
gradcheck and gradgradcheck, and values + gradients against PyTorch 2.13 in float32 and
float64. A row is (name, fn(M, *tensors) with M ember or torch, input shapes)."""
import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

from torch_compare import compare_with_torch

MASK = [[True, False, True, False], [False, False, True, True], [True, True, False, False]]


def I(M, v):  # noqa: E743 - an int64 index tensor of M
    return M.tensor(np.asarray(v, np.int64))


def B(M, v):
    return M.tensor(np.asarray(v, bool))


def _set(index):
    """fn(M, a, v): a copy of a with ``copy[index(M)] = v`` (a Python assignment)."""
    def fn(M, a, v):
        y = a * 1
        y[index(M)] = v
        return y

    return fn


CASES = [
    ("getitem_none_slice", lambda M, a: a[None, 1:, None], [(3, 4)]),
    ("getitem_ellipsis_tensor_dup", lambda M, a: a[..., I(M, [0, 2, 2])], [(2, 3, 4)]),
    ("getitem_two_tensors_broadcast_dup", lambda M, a: a[I(M, [[0], [2]]), I(M, [1, 3, 1])], [(3, 4)]),
    ("getitem_mask", lambda M, a: a[B(M, MASK)], [(3, 4)]),
    ("getitem_mask_then_slice", lambda M, a: a[B(M, [True, False, True]), 1:], [(3, 4)]),
    ("getitem_negative", lambda M, a: a[I(M, [-1, -3, -1]), -2], [(3, 4)]),
    ("getitem_slice_then_tensor", lambda M, a: a[1:, I(M, [0, 0, 3])], [(3, 4)]),
    ("getitem_middle_tensor_step", lambda M, a: a[:, I(M, [1, 1]), ::2], [(2, 3, 4)]),
    ("getitem_split_tensors", lambda M, a: a[I(M, [0, 1]), :, I(M, [1, 0])], [(2, 3, 4)]),
    ("getitem_list_dup", lambda M, a: a[[2, 0, 2]] * a[[1, 1, 0]], [(3, 4)]),
    ("getitem_bool_scalar", lambda M, a: a[True] * 2, [(3,)]),
    ("setitem_tensor", _set(lambda M: I(M, [0, 2])), [(3, 4), (2, 4)]),
    ("setitem_tensor_broadcast", _set(lambda M: I(M, [1, -1])), [(3, 4), (4,)]),
    ("setitem_mask", _set(lambda M: B(M, MASK)), [(3, 4), (6,)]),
    ("setitem_mask_scalar", _set(lambda M: B(M, MASK)), [(3, 4), ()]),
    ("setitem_slice", _set(lambda M: (slice(None), slice(1, 3))), [(3, 4), (3, 2)]),
    ("setitem_ellipsis_tensor", _set(lambda M: (Ellipsis, I(M, [0, 3]))), [(2, 3, 4), (3, 2)]),
    ("setitem_none_int", _set(lambda M: (None, 1)), [(3, 4), (1, 4)]),
    ("setitem_two_tensors", _set(lambda M: (I(M, [0, 2]), I(M, [3, 1]))), [(3, 4), (2,)]),
    ("where_scalar_other", lambda M, a: M.where(a > 0, a * a, 0.0), [(3, 4)]),
    ("where_scalar_input", lambda M, a: M.where(a > 0, 2.0, a * a), [(3, 4)]),
    ("where_broadcast", lambda M, a, b: M.where(a > 0, a * b, b), [(3, 4), (4,)]),
    ("narrow", lambda M, a: M.narrow(a, 1, 1, 2) ** 2, [(3, 4)]),
    ("narrow_negative_start", lambda M, a: a.narrow(0, -2, 2) * a.narrow(0, 0, 2), [(3, 4)]),
    ("pdist", lambda M, a: M.pdist(a), [(4, 3)]),
    ("pdist_p1", lambda M, a: M.pdist(a, 1.0), [(4, 3)]),
    ("pdist_p3", lambda M, a: M.pdist(a, p=3.0), [(3, 2)]),
]


def _inputs(shapes, dtype, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, np.float64)]
    assert ember.gradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(case):
    name, fn, shapes = case
    xs = [ember.tensor(x, requires_grad=True) for x in _inputs(shapes, np.float64)]
    assert gradgradcheck(lambda *t: fn(ember, *t), xs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, dtype, torch):
    name, fn, shapes = case
    compare_with_torch(torch, fn, _inputs(shapes, dtype, seed=1), dtype, name)
