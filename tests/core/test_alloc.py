"""ember tunes glibc's malloc at import (ember/_alloc.py) unless EMBER_MALLOC=0: then a step's
freed arrays are reused by the next instead of being faulted in again."""
import subprocess
import sys

import pytest

CHECK = """
import resource, numpy as np
import ember
from ember import _alloc
def step():
    a = [np.ones(1 << 18, np.float32) for _ in range(8)]  # 8 MiB in 1 MiB arrays, freed at the end
    a.append(np.ones(12 << 20, np.float32))  # and one of 48 MiB, above any mmap threshold
    return sum(float(x[0]) for x in a)
step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(_alloc.tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _run(env_value):
    env = {"EMBER_MALLOC": env_value, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, check=True)
    tuned, faults = out.stdout.split()
    return tuned == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_tuned_malloc_reuses_freed_arrays_and_can_be_switched_off():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    tuned, faults = _run("1")
    assert tuned and faults < 200  # the 56 MiB come back from the heap each time
    untouched, faults_default = _run("0")
    assert not untouched and faults_default > 1000  # glibc's default: 2,048 pages a step, faulted again
    # (and the 48 MiB array a fresh mapping each time: 12,288 pages or, with huge pages, 24)
