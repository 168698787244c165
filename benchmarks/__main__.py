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

# OpenBLAS's idle-thread spin is ember's own setting (``import ember`` shortens it, see
# ember/kernels/_blas.py), so the suite sets nothing: it measures what users get.

from benchmarks.suite import main  # noqa: E402

main()
