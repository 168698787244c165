"""Helpers for the io tests: a cap on this process's address space, and hostile files."""
import contextlib
import sys

import pytest


@contextlib.contextmanager
def _address_space_cap(headroom):
    """Within the block, allocating more than ``headroom`` bytes beyond what the process has
    already mapped raises MemoryError, even for np.empty (whose pages are never touched).
    Linux only: elsewhere the block runs uncapped."""
    try:
        import resource

        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (ImportError, OSError, StopIteration):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture
def memory_cap():
    """``with memory_cap(): ...`` fails with MemoryError on any allocation over 512 MiB."""
    if not sys.platform.startswith("linux"):
        pytest.skip("address-space limits are checked on Linux only")
    return lambda headroom=512 << 20: _address_space_cap(headroom)
