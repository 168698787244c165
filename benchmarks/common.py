"""Shared timing and reporting for the benchmarks: interleaved minimums, Markdown tables.
Results are recorded by benchmarks/record.py."""
import os
import time

import numpy as np


def threads():
    """The thread count every framework gets (BLAS's, from the usual variables, else the cores)."""
    for var in ("EMBER_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var):
            return int(os.environ[var])
    return os.cpu_count() or 1


def _openblas():
    """NumPy's bundled OpenBLAS through ctypes (None when it cannot be found): the suite uses
    it only to time GEMMs at a chosen thread count in one process."""
    import ctypes
    import glob

    libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*.so*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(lib, name):
                return getattr(lib, name)
    return None


def set_blas_threads(n):
    """Set NumPy's OpenBLAS thread count now; returns False when that is not possible."""
    fn = _openblas()
    if fn is None:
        return False
    fn(int(n))
    return True


SETTLE_SECONDS = 0.2


def settle():
    """Let the previous contender's idle threads go to sleep before the next one starts.

    After their work, OpenBLAS's threads spin for up to ~0.1 s by default and PyTorch's OpenMP
    threads for a while too; on 2 cores a contender started meanwhile shares them, and whoever
    followed PyTorch in a round measured up to 1.8x slower (MLP inference, batch 1000)."""
    time.sleep(SETTLE_SECONDS)


def min_interleaved(fns, repeat, warmup=1):
    """Fastest seconds per call of each function, the functions taking turns round by round:
    on a shared machine the minimum tracks the code, the median the neighbours. Each timed
    call follows a pause (``settle``) and one untimed call of the same function, so that it
    starts neither beside the previous function's spinning threads nor from cold caches."""
    for f in fns:
        for _ in range(warmup):
            f()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, f in enumerate(fns):
            settle()
            f()
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def loadavg():
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def try_torch():
    """PyTorch with the same thread count, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads())
    return torch


def import_torchvision():
    """torchvision (0.28.0, the oracle of ember.vision), or None when it is not installed.

    The wheel on these machines is the CUDA build; beside the CPU torch its import stops at
    registering fake kernels for its compiled operators (``torchvision::nms`` ...), which this
    torch does not have. Declaring each missing operator (a placeholder schema, never called)
    lets the pure-Python parts load: models, transforms, datasets. Nothing may call
    torchvision's compiled ops."""
    import importlib.util
    import re
    import sys

    if importlib.util.find_spec("torchvision") is None:
        return None
    import torch

    for _ in range(50):
        try:
            import torchvision
            return torchvision
        except RuntimeError as e:
            m = re.search(r"operator torchvision::(\w+) does not exist", str(e))
            if m is None:
                raise
            if not hasattr(import_torchvision, "lib"):
                import_torchvision.lib = torch.library.Library("torchvision", "DEF")
            import_torchvision.lib.define(f"{m.group(1)}(Tensor x) -> Tensor")
            for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
                del sys.modules[name]
    raise RuntimeError("torchvision: too many missing operators")


def timeit(fn, repeat=7, number=1, warmup=1):
    """Median seconds per call of ``fn`` over ``repeat`` rounds of ``number`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times))


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def table(title, header, rows, note=""):
    """A Markdown table as a string."""
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"
