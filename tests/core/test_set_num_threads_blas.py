"""ember.set_num_threads sets BLAS's thread count too, as torch.set_num_threads sets MKL's."""
import pytest

import ember
from ember.kernels import _blas


@pytest.mark.skipif(not _blas.available(), reason="NumPy's BLAS is not OpenBLAS here")
def test_set_num_threads_sets_blas_threads():
    before, ember_before = _blas.num_threads(), ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert _blas.num_threads() == 1 and ember.get_num_threads() == 1
        with _blas.single_threaded():
            ember.set_num_threads(2)  # applies when the block ends
            assert _blas.num_threads() == 1
        assert _blas.num_threads() == 2
    finally:
        ember.set_num_threads(ember_before)
        _blas.set_num_threads(before)
