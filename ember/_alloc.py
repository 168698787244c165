"""Freed array memory kept for the next step: glibc's malloc tuned once, at import.

A training step allocates the same large arrays (activations, gradients) every time and frees
them at the end. glibc's defaults hand an allocation above its mmap threshold (128 KiB,
raised as such chunks are freed, up to 32 MiB) fresh pages from the kernel and give the top of
the heap back once more than 128 KiB of it is free, so each step faults its arrays in again:
about 2,500 minor page faults a GPT step of the Tiny Shakespeare recipe, 66 against 77 ms a step
with them gone (``python -m benchmarks --only gpt``). ember sets the mmap threshold to 32 MiB
and the trim threshold to 128 MiB, so that arrays up to 32 MiB come from the heap and a step's
worth of freed memory stays there for the next; the process's resident size then stays at its
peak instead of falling between steps, as with PyTorch's caching allocators. Larger arrays
(ResNet-18's 51 MB stem activations at batch 16, 224x224) would still be fresh mappings each
time, so ember also turns malloc's own mmap off (``M_MMAP_MAX`` = 0; glibc still maps what the
heap cannot grow to): ResNet-18 inference 283 -> 2 page faults a batch, 332 -> 325 ms (median
of 7 runs alternating, 2-vCPU Xeon VM).

Linux with glibc only; ``EMBER_MALLOC=0`` (before ``import ember``) leaves malloc as it is.
"""
import ctypes
import os
import sys

MMAP_THRESHOLD = 32 << 20  # glibc's largest
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4  # mallopt's parameter numbers (malloc.h)

tuned = False  # whether ``tune`` changed malloc's settings in this process


def tune():
    """Apply the settings above (once); returns whether malloc was tuned."""
    global tuned
    if tuned or os.environ.get("EMBER_MALLOC", "1").strip().lower() in ("0", "false", "off", "no"):
        return tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc, not musl: mallopt's numbers are glibc's
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    tuned = (bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
             and bool(mallopt(_M_MMAP_MAX, 0)))
    return tuned
