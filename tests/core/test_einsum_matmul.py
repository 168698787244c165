"""einsum's BLAS path (two operands whose contraction is a batched GEMM, as np.matmul) against
np.einsum, the reference it stands in for; and the forms it leaves to np.einsum."""
import numpy as np
import pytest

import ember
from ember.ops.linalg import _einsum_matmul

GEMMS = ["bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "ij,jk->ik", "ij,kj->ki", "bij,bjk->bik", "i,i->", "i,j->ij",
         "bi,ij->bj", "abc,cd->dba", "ab,ab->a", "bqd,bkd->bqk", "abcd,cdef->abef", "ij,jk->ki", "bij,jk->bik"]
NOT_GEMMS = ["ii,ij->j", "ij,jk->", "ij,k->ik", "ij,ij->ij"]


def _operands(eq, dtype, rng):
    lhs, out = eq.split("->")
    ta, tb = lhs.split(",")
    size = {c: k + 2 for k, c in enumerate(sorted(set(ta + tb)))}
    a = rng.standard_normal([size[c] for c in ta]).astype(dtype)
    b = rng.standard_normal([size[c] for c in tb]).astype(dtype)
    return (ta, tb), out, a, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eq", GEMMS)
def test_gemm_path_is_np_einsum(eq, dtype):
    terms, out, a, b = _operands(eq, dtype, np.random.default_rng(0))
    r = _einsum_matmul(terms, out, (a, b))
    want = np.einsum(eq, a, b)
    assert r.dtype == dtype and r.shape == want.shape and r.flags.c_contiguous
    np.testing.assert_allclose(r, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("eq", NOT_GEMMS)
def test_other_forms_are_left_to_np_einsum(eq):
    terms, out, a, b = _operands(eq, np.float64, np.random.default_rng(0))
    assert _einsum_matmul(terms, out, (a, b)) is None
    x, y = ember.tensor(a), ember.tensor(b)
    np.testing.assert_allclose(ember.einsum(eq, x, y).numpy(), np.einsum(eq, a, b), rtol=1e-12)
