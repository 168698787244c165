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
"""
import contextlib
import ctypes
import threading

__all__ = ["available", "parallel_for", "set_num_threads", "single_threaded"]

_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
          "openblas_set_num_threads")
_state = {}
_lock = threading.Lock()
_depth = [0]


def _find():
    if "lib" in _state:
        return _state["lib"]
    import numpy  # noqa: F401  (loads its BLAS)

    found = None
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
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
    several per thread); ``work`` as ``ember.ops._parallel.parallel_for``'s (default: any
    split pays)."""
    from ..ops._parallel import MIN_ELEMENTS, num_threads, parallel_for as split

    if num_threads() > 1 and n > 1 and available():
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
