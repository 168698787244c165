"""How many threads NumPy's BLAS (OpenBLAS) uses, for kernels that parallelise over blocks.

A kernel that splits its work into cache-sized blocks and runs them on ember's own threads
(``ember.ops._parallel``) calls BLAS on small matrices from two threads at once. If OpenBLAS
then also splits each of those small products over every core, the threads fight over the
cores: measured 2-7x slower than either scheme alone. ``single_threaded()`` makes each BLAS
call run on the thread that made it, for the length of a ``with`` block.

OpenBLAS exports ``openblas_set_num_threads`` (in NumPy's wheels renamed
``scipy_openblas_set_num_threads64_``); this finds it among the libraries the process has
loaded, as threadpoolctl does. Where it is not found (another BLAS, another platform),
``available()`` is False and kernels run their blocks on one thread with a threaded BLAS.

``gemm(a, b, out, accumulate=True)`` calls the same library's ``cblas_sgemm``/``cblas_dgemm``
with beta = 1, so that a product is added into an array (a strided view included) in the one
pass the GEMM makes anyway, where ``out += a @ b`` would make a temporary and a second pass.
Where that routine is not found it is exactly ``out += a @ b`` (or ``np.matmul(a, b, out=out)``).

``shorten_idle_spin()`` (called once, when ember is imported) has OpenBLAS's idle threads sleep
after about 0.4 ms instead of 0.1 s; see ``IDLE_SPIN``.
"""
import contextlib
import ctypes
import os
import threading

import numpy as np

__all__ = ["available", "col_sums", "gemm", "parallel_for", "row_sums", "set_num_threads", "shorten_idle_spin",
           "single_threaded"]

_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
          "openblas_set_num_threads")
_state = {}
_lock = threading.Lock()
_depth = [0]


def _blas_paths():
    """The BLAS libraries mapped into the process (NumPy, imported above, has loaded its own)."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    except OSError:
        paths = []
    return paths


def _libraries():
    """(path, ctypes library) of each BLAS library the process has loaded."""
    for path in _blas_paths():
        try:
            yield path, ctypes.CDLL(path)
        except OSError:
            continue


def _find():
    if "lib" in _state:
        return _state["lib"]
    found = None
    for _, lib in _libraries():
        for name in _NAMES:
            setter = getattr(lib, name, None)
            getter = getattr(lib, name.replace("set_", "get_"), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                found = setter, getter
                break
        if found:
            break
    _state["lib"] = found
    return found


def available():
    """Whether BLAS's thread count can be set from here."""
    return _find() is not None


def set_num_threads(n):
    """Set BLAS's thread count for the rest of the process (``ember.set_num_threads``); returns
    whether it could. Inside a ``single_threaded`` block the count applies when the block ends."""
    lib = _find()
    if lib is None:
        return False
    setter, _ = lib
    with _lock:
        if _depth[0]:
            _state["saved"] = int(n)
        else:
            setter(int(n))
    return True


def num_threads():
    """BLAS's thread count, or None where it cannot be read."""
    lib = _find()
    return None if lib is None else lib[1]()


@contextlib.contextmanager
def single_threaded():
    """Run BLAS calls made inside the block on their calling threads (nested blocks are fine)."""
    lib = _find()
    if lib is None:
        yield
        return
    setter, getter = lib
    with _lock:
        if _depth[0] == 0:
            _state["saved"] = getter()
            setter(1)
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                setter(_state["saved"])


def parallel_for(part, n, work=None, parts=None):
    """``part(s, e)`` over ``range(n)`` on ember's threads with BLAS single-threaded (see the
    module's docstring); where BLAS's threads cannot be set, on this thread alone with BLAS's
    threads. ``parts``: cut ``range(n)`` into that many ranges (default: ``parallel_for``'s
    several per thread; 1: the whole range on this thread, with BLAS's threads); ``work`` as
    ``ember.ops._parallel.parallel_for``'s (default: any split pays)."""
    from ..ops._parallel import MIN_ELEMENTS, num_threads, parallel_for as split

    if num_threads() > 1 and n > 1 and parts != 1 and available():
        work = MIN_ELEMENTS if work is None else work
        with single_threaded():
            if parts is None:
                split(part, n, work=work)
            else:
                parts = min(parts, n)
                bounds = [n * i // parts for i in range(parts + 1)]
                split(lambda s, e: part(bounds[s], bounds[e]), parts, work=work)
    else:
        part(0, n)


# ----- GEMM with beta -----

# CBLAS's ?gemm names: (name, integer type). The "64_" builds (NumPy's wheels) take 64-bit
# integers for sizes and leading dimensions; the plain names of an LP64 OpenBLAS take C ints.
_GEMM = {np.dtype(np.float32): (("scipy_cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm64_", ctypes.c_int64),
                                ("scipy_cblas_sgemm", ctypes.c_int), ("cblas_sgemm", ctypes.c_int)),
         np.dtype(np.float64): (("scipy_cblas_dgemm64_", ctypes.c_int64), ("cblas_dgemm64_", ctypes.c_int64),
                                ("scipy_cblas_dgemm", ctypes.c_int), ("cblas_dgemm", ctypes.c_int))}
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _gemm_routine(dtype):
    key = ("gemm", dtype)
    if key in _state:
        return _state[key]
    found = None
    real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    for path, lib in _libraries():
        for name, integer in _GEMM.get(dtype, ()):
            if integer is ctypes.c_int and "64" in path.rsplit("/", 1)[-1]:
                continue  # a 64-bit-integer library: its unsuffixed names are not known to take C ints
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [real, ctypes.c_void_p, integer,
                                                                     ctypes.c_void_p, integer, real,
                                                                     ctypes.c_void_p, integer]
                fn.restype = None
                found = fn
                break
        if found:
            break
    _state[key] = found
    return found


def _operand(x):
    """(transpose flag, leading dimension) of a 2-D array BLAS can read in place, or None."""
    s = x.itemsize
    rows, cols = x.shape
    if x.strides[1] == s or cols == 1:  # rows contiguous
        ld = x.strides[0] // s if rows > 1 else cols
        if x.strides[0] % s == 0 and ld >= max(1, cols):
            return _NO_TRANS, ld
    if x.strides[0] == s or rows == 1:  # columns contiguous: the transpose of a row-major array
        ld = x.strides[1] // s if cols > 1 else rows
        if x.strides[1] % s == 0 and ld >= max(1, rows):
            return _TRANS, ld
    return None


def gemm(a, b, out, accumulate=False):
    """``out = a @ b``, or ``out += a @ b`` with ``accumulate``, for 2-D arrays of one float
    dtype, returning ``out``. ``a`` and ``b`` may be transposed or sliced views, ``out`` a view
    with contiguous rows; ``out`` must not overlap ``a`` or ``b``. One BLAS call where the
    library's CBLAS routine is found (``accumulate`` is its beta = 1), else NumPy."""
    m, k = a.shape
    n = b.shape[1]
    fn = _gemm_routine(out.dtype) if a.dtype == b.dtype == out.dtype and m and n and k else None
    if fn is not None:
        pa, pb, pc = _operand(a), _operand(b), _operand(out)
        if pa and pb and pc and pc[0] == _NO_TRANS:
            fn(_ROW_MAJOR, pa[0], pb[0], m, n, k, 1.0, a.ctypes.data, pa[1], b.ctypes.data, pb[1],
               1.0 if accumulate else 0.0, out.ctypes.data, pc[1])
            return out
    if accumulate:
        out += a @ b
    else:
        np.matmul(a, b, out=out)
    return out


# ----- sums as products with a ones vector -----

def row_sums(a2):
    """Sum of each row of a contiguous 2-D array: a BLAS product with a ones vector for rows
    of up to 256 values (5-10x faster than NumPy's sum there), ``einsum`` for longer ones
    (OpenBLAS's product is 10x slower from 512 values on, 2 cores)."""
    if a2.shape[1] > 256:
        return np.einsum("ij->i", a2)
    return a2 @ np.ones(a2.shape[1], a2.dtype)


def col_sums(a2):
    """Sum over the rows of a 2-D array: one BLAS product with a ones vector (2x NumPy's
    ``sum(axis=0)`` at (768, 512)); NumPy's sum for a broadcast array."""
    if 0 in a2.strides:
        return a2.sum(axis=0)
    return np.ones(a2.shape[0], a2.dtype) @ a2


# ----- how long OpenBLAS's idle threads spin -----

# After each threaded call, OpenBLAS's worker threads wait for the next one in a busy loop of
# no-ops for 2**28 TSC cycles (~0.1 s) before they sleep. ember's own threads run between the
# GEMMs (pooling, batch norm, im2col, Winograd's blocks with single-threaded BLAS), and on a
# 2-core machine they then share the cores with a spinning BLAS thread. With the spin at 2**20
# cycles (~0.4 ms at 2.6 GHz), measured in one process, the same steps alternating with the
# default (best of 12 rounds, 2 cores): CIFAR conv+BN step 75.9 -> 61.6 ms, Keras CNN step
# 39.9 -> 31.2 ms, ResNet-18 inference 719 -> 526 ms, GPT step 49.5 -> 47.8 ms; the LSTM and MLP
# steps, whose small GEMMs come back to back, within 1-3% either way. At the minimum, 2**4
# (threads sleep at once and every GEMM wakes one), the CNNs gain the same but the LSTM step is
# 1.29x and the MLP step 1.08-1.11x slower.
IDLE_SPIN = 20
_TIMEOUT_VAR = "OPENBLAS_THREAD_TIMEOUT"


def _pthreads_server():
    """(read_env, timeout, shutdown, init) of a pthreads-built OpenBLAS, else None."""
    for _, lib in _libraries():
        fns = [getattr(lib, n, None) for n in ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_",
                                               "blas_thread_init")]
        parallel = next((getattr(lib, n) for n in ("scipy_openblas_get_parallel64_", "openblas_get_parallel64_",
                                                   "scipy_openblas_get_parallel", "openblas_get_parallel")
                         if hasattr(lib, n)), None)
        if all(fns) and parallel is not None and parallel() == 1:  # 1: pthreads, 2: OpenMP
            for f in fns:
                f.argtypes, f.restype = [], ctypes.c_int
            return fns
    return None


def shorten_idle_spin(exponent=IDLE_SPIN):
    """Have OpenBLAS's idle threads spin 2**exponent cycles before sleeping (see ``IDLE_SPIN``).

    A value the user set in ``OPENBLAS_THREAD_TIMEOUT`` stands (``=28`` keeps OpenBLAS's
    default). OpenBLAS reads that variable when it starts its threads, so this sets it for a
    moment, has OpenBLAS read it again and restarts the threads (as it does itself around a
    fork). It does so only while no other non-daemon thread runs, one that could be inside a
    BLAS call. Returns whether the threads now sleep after 2**exponent cycles."""
    if _TIMEOUT_VAR in os.environ:
        return False
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        return False
    server = _pthreads_server()
    if server is None:
        return False
    read_env, timeout, shutdown, init = server
    os.environ[_TIMEOUT_VAR] = str(exponent)
    try:
        read_env()
    finally:
        del os.environ[_TIMEOUT_VAR]  # the environment stays the user's
    if timeout() != exponent:
        return False
    with _lock:
        shutdown()
        init()
    return True
