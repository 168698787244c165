"""``python -m benchmarks [--quick] [--only mlp cnn ...] [--threads N]``: the whole suite, see suite.py."""
import os
import sys

# --threads must reach BLAS and OpenMP through the environment, before NumPy is imported
for i, arg in enumerate(sys.argv):
    value = arg.split("=", 1)[1] if arg.startswith("--threads=") else (
        sys.argv[i + 1] if arg == "--threads" and i + 1 < len(sys.argv) else None)
    if value is not None:
        for var in ("EMBER_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = value

# After each GEMM, OpenBLAS's idle worker threads spin for about 0.1 s before they sleep,
# holding the cores that the elementwise passes between GEMMs need (ember's pooling, im2col,
# the input gradient's adds run on both cores): a 2-thread CNN step took 57-66 ms with the spin
# and 43-51 ms with it cut to its minimum. OpenBLAS reads the variable once, when NumPy loads,
# so the suite sets it here, for every contender alike, before anything imports NumPy. ember
# itself never sets it: export OPENBLAS_THREAD_TIMEOUT=4 to get the same in your own runs.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from benchmarks.suite import main  # noqa: E402

main()
