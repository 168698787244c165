"""``ember.kernels._blas.gemm``: one BLAS call for ``out = a @ b`` and ``out += a @ b`` on
plain, transposed and sliced views, and NumPy's result where the CBLAS routine is not used."""
import numpy as np
import pytest

from ember.kernels import _blas


def _views(rng, dtype):
    a = rng.standard_normal((7, 5)).astype(dtype)
    b_rows = rng.standard_normal((5, 9)).astype(dtype)
    b_t = rng.standard_normal((9, 5)).astype(dtype).T  # a transposed operand
    b_slice = rng.standard_normal((5, 12)).astype(dtype)[:, 2:11]  # rows with a larger stride
    return a, (b_rows, b_t, b_slice)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("blas", [True, False], ids=["cblas", "numpy"])
def test_gemm_matches_matmul(dtype, accumulate, blas, monkeypatch):
    if not blas:
        monkeypatch.setitem(_blas._state, ("gemm", np.dtype(dtype)), None)
    rng = np.random.default_rng(0)
    a, bs = _views(rng, dtype)
    for lhs in (a, np.ascontiguousarray(a.T).T):
        for b in bs:
            base = rng.standard_normal((7, 13)).astype(dtype)
            out = base[:, 1:10]  # a strided output view
            want = (out + lhs @ b) if accumulate else lhs @ b
            got = _blas.gemm(lhs, b, out, accumulate=accumulate)
            assert got is out
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(out, want, rtol=tol, atol=tol)


def test_gemm_leaves_the_rest_of_the_output_alone():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    base = np.full((4, 5), 7.0)
    _blas.gemm(a, b, base[:, 1:3])
    np.testing.assert_allclose(base[:, 1:3], a @ b, rtol=1e-12)
    assert np.all(base[:, [0, 3, 4]] == 7.0)


def test_gemm_finds_numpys_blas():
    """The routine is found in NumPy's own OpenBLAS (where threadpool control is found too)."""
    if not _blas.available():
        pytest.skip("no OpenBLAS thread control found: another BLAS")
    assert _blas._gemm_routine(np.dtype(np.float32)) is not None
