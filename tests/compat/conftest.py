"""An MNIST subset for the compat training tests, read from the first bytes of data/mnist."""
import gzip
from pathlib import Path

import numpy as np
import pytest

MNIST = Path(__file__).resolve().parents[2] / "data" / "mnist"


def _read(name, header, n, item):
    path = MNIST / name
    if not path.exists():
        pytest.skip(f"MNIST not found at {path}")
    with gzip.open(path) as f:  # only the first n records are decompressed
        return np.frombuffer(f.read(header + n * item), np.uint8, offset=header)


@pytest.fixture(scope="session")
def mnist():
    """``load(split, n)`` -> (x (n, 784) float64 in [0, 1], labels (n,) int64)."""
    cache = {}

    def load(split, n):
        if (split, n) not in cache:
            prefix = "train" if split == "train" else "t10k"
            x = _read(f"{prefix}-images-idx3-ubyte.gz", 16, n, 784).reshape(n, 784) / 255.0
            y = _read(f"{prefix}-labels-idx1-ubyte.gz", 8, n, 1).astype(np.int64)
            cache[split, n] = (x, y)
        return cache[split, n]

    return load
