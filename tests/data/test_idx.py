"""read_idx / write_idx: round trips, and hostile or broken files rejected before allocating."""
import gzip
import struct
import time
import tracemalloc

import numpy as np
import pytest

from ember import SerializationError
from ember.data import read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("ext", ["", ".gz"])
def test_round_trip(tmp_path, dtype, ext, rng):
    a = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    p = tmp_path / f"a{ext}"
    write_idx(p, a)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == (ext == ".gz")
    b = read_idx(p)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == (3, 4, 5)
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable
    assert list(tmp_path.iterdir()) == [p]  # no temp file left behind


def test_header_layout_is_big_endian(tmp_path):
    p = tmp_path / "x"
    write_idx(p, np.array([1, 256], np.int32))
    assert p.read_bytes() == b"\0\0\x0c\x01" + struct.pack(">I", 2) + struct.pack(">2i", 1, 256)


def _raw(tmp_path, data, gz=False):
    p = tmp_path / ("f.gz" if gz else "f")
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


@pytest.mark.parametrize("gz", [False, True])
def test_bad_magic(tmp_path, gz):
    p = _raw(tmp_path, b"\x01\x02\x08\x01" + b"\0" * 8, gz)
    with pytest.raises(SerializationError, match=r"f(\.gz)?: not an IDX file: magic number 0x01020801"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_bad_type_code(tmp_path, gz):
    p = _raw(tmp_path, b"\0\0\x0a\x01" + struct.pack(">I", 1) + b"\0", gz)
    with pytest.raises(SerializationError, match="unknown IDX type code 0x0A"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("n, says", [(11, r"(has|holds) 23"), (13, r"(has 25 bytes|holds more)")])
def test_size_mismatch(tmp_path, gz, n, says):
    p = _raw(tmp_path, b"\0\0\x08\x02" + struct.pack(">2I", 3, 4) + b"\0" * n, gz)
    with pytest.raises(SerializationError, match=r"claims shape \(3, 4\) of uint8 \(24 bytes.*" + says):
        read_idx(p)


def test_zero_dims_and_truncated_header(tmp_path):
    with pytest.raises(SerializationError, match="0 dimensions"):
        read_idx(_raw(tmp_path, b"\0\0\x08\x00"))
    with pytest.raises(SerializationError, match="truncated IDX header"):
        read_idx(_raw(tmp_path, b"\0\0\x08\x03" + b"\0" * 5))
    with pytest.raises(SerializationError, match="shorter than the 4-byte magic"):
        read_idx(_raw(tmp_path, b"\0\0"))


@pytest.mark.parametrize("gz", [False, True])
def test_huge_claim_in_small_file_fails_fast_without_allocating(tmp_path, gz):
    # 10^9 MNIST images claimed (784 GB), a few bytes present
    p = _raw(tmp_path, b"\0\0\x08\x03" + struct.pack(">3I", 10**9, 28, 28) + b"\0" * 784 * 3, gz)
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(SerializationError, match=r"claims shape \(1000000000, 28, 28\)"):
        read_idx(p)
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20 and elapsed < 1.0


def test_gzip_bomb_is_read_in_bounded_memory(tmp_path):
    # 48 MB of zeros inflated from a 50 KB file (48 gzip members), behind a header claiming 10 images
    p = tmp_path / "bomb.gz"
    z = gzip.compress(b"\0\0\x08\x03" + struct.pack(">3I", 10, 28, 28)) + gzip.compress(bytes(1 << 20)) * 48
    p.write_bytes(z)
    tracemalloc.start()
    with pytest.raises(SerializationError, match="holds more"):
        read_idx(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20


def test_corrupt_and_truncated_gzip(tmp_path):
    good = gzip.compress(b"\0\0\x08\x01" + struct.pack(">I", 5000) + bytes(range(256)) * 20)
    p = tmp_path / "t.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(SerializationError, match="truncated gzip stream"):
        read_idx(p)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    p.write_bytes(bytes(bad))
    with pytest.raises(SerializationError):
        read_idx(p)


def test_multi_member_gzip_and_zero_padding(tmp_path):
    data = b"\0\0\x08\x01" + struct.pack(">I", 6) + b"abcdef"
    p = tmp_path / "m.gz"
    p.write_bytes(gzip.compress(data[:7]) + gzip.compress(data[7:]) + b"\0" * 16)
    assert read_idx(p).tobytes() == b"abcdef"


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64 with shape \\(2,\\)"):
        write_idx(tmp_path / "x", np.zeros(2, np.int64))


def test_write_idx_cleans_a_dead_writers_temporary(tmp_path):
    # write_idx goes through atomic_write: what a killed writer left is removed by the next
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    stale = tmp_path / f".x.idx.tmp-{p.pid}-0a1b2c3d"
    stale.write_bytes(b"half")
    write_idx(tmp_path / "x.idx", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert not stale.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["x.idx"]
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), np.arange(6, dtype=np.uint8).reshape(2, 3))
