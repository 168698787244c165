"""Hostile files: pickles, lying headers, truncation. Each must raise SerializationError naming
the file, run no code, and allocate nothing that the file's size does not justify."""
import gzip
import io
import json
import pickle
import pickletools
import struct
import zipfile
import zlib

import numpy as np
import pytest

import ember
from ember.data import read_idx
from ember.io import SerializationError



def write_bytes(path, data):
    path.write_bytes(data)
    return path


def npy_bytes(descr, shape, payload):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue() + payload


def raw_zip(name, data, method=zipfile.ZIP_STORED, claimed_size=None, compress_size=None):
    """A one-member zip whose directory may lie about the member's sizes."""
    stored = zlib.compress(data)[2:-4] if method == zipfile.ZIP_DEFLATED else data  # raw deflate
    usize = len(data) if claimed_size is None else claimed_size
    csize = len(stored) if compress_size is None else compress_size
    crc, fname = zlib.crc32(data), name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, csize, usize, len(fname), 0)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, csize, usize,
                          len(fname), 0, 0, 0, 0, 0, 0)
    body = local + fname + stored
    cd = central + fname
    return body + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(body), 0)


class Evil:
    """Unpickling this would create ``path``: pickle calls open(path, 'w')."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_malicious_object_array_is_refused_and_never_unpickled(tmp_path):
    victim = tmp_path / "pwned.txt"
    payload = pickle.dumps([Evil(str(victim))], protocol=3)  # dumps calls __reduce__, not open
    # the payload really is the attack (read without executing it): io.open on our path
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(payload)]
    assert ("GLOBAL", "io open") in ops and ("BINUNICODE", str(victim)) in ops
    path = tmp_path / "evil.npz"
    path.write_bytes(raw_zip("w.npy", npy_bytes("|O", (1,), payload)))
    with pytest.raises(SerializationError, match=r"evil\.npz.*object array.*never unpickles"):
        ember.load(path)
    assert not victim.exists()
    # the same member, deflated, and after a legitimate member written by ember
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.npy", npy_bytes("<f4", (1,), b"\0" * 4))
        zf.writestr("w.npy", npy_bytes("|O", (1,), payload))
    with pytest.raises(SerializationError, match="object array"):
        ember.load(path)
    assert not victim.exists()


@pytest.mark.parametrize("name", ["m.pkl", "m.pt", "m.npz", "m.safetensors"])
def test_raw_pickle_is_refused(tmp_path, name):
    path = write_bytes(tmp_path / name, pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    with pytest.raises(SerializationError, match="pickle") as e:
        ember.load(path)
    assert name in str(e.value)


@pytest.mark.parametrize("name", ["m.npz", "m.safetensors"])  # a .pt name loads it: test_pt_format.py
def test_torch_save_file_is_refused(tmp_path, torch, name):
    torch.save({"w": torch.ones(3)}, tmp_path / name)
    with pytest.raises(SerializationError, match="pickle"):
        ember.load(tmp_path / name)


def make_valid(tmp_path, ext):
    rng = np.random.default_rng(0)
    obj = {"conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.bias": np.ones(4, np.float32),
           "state": {0: {"step": 3, "m": np.full(5, 2.0)}}, "groups": [{"lr": 0.1, "betas": (0.9, 0.99)}]}
    path = tmp_path / f"valid{ext}"
    ember.save(obj, path)
    return path.read_bytes()


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_truncations_raise_the_clean_error(tmp_path, ext):
    data = make_valid(tmp_path, ext)
    path = tmp_path / f"cut{ext}"
    # every length inside the headers at both ends, a sample of those in between
    cuts = sorted(set(range(64)) | set(range(len(data) - 200, len(data))) | set(range(0, len(data), 17)))
    for n in cuts:
        path.write_bytes(data[:n])
        with pytest.raises(SerializationError, match=f"cut\\{ext}"):
            ember.load(path)


def test_safetensors_header_length_2_to_the_60(tmp_path, memory_cap):
    path = write_bytes(tmp_path / "huge.safetensors", struct.pack("<Q", 2**60) + b'{"w": {}}')
    with memory_cap(), pytest.raises(SerializationError, match=r"huge\.safetensors.*claims 1152921504606846976 bytes"):
        ember.load(path)


@pytest.mark.parametrize("header", [
    {"w": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 16]}},  # shape vs offsets
    {"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}},  # offsets past the end
    {"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}},
    {"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}},
    {"w": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}},
    {"w": {"dtype": "O", "shape": [4], "data_offsets": [0, 16]}},
    {"w": {"dtype": "F32", "shape": [4]}},
    {"w": [1, 2]},
    {"__metadata__": {"ember.structure": '{"array": "missing"}'},
     "w": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]}},
    {"__metadata__": {"ember.structure": '{"eval": "os.system"}'}},
    {"__metadata__": {"ember.structure": "[" * 100000 + "]" * 100000}},
    {"__metadata__": {"ember.structure": 5}},
    {"__metadata__": [1]},
])
def test_safetensors_lying_headers(tmp_path, memory_cap, header):
    raw = json.dumps(header).encode()
    path = write_bytes(tmp_path / "lie.safetensors", struct.pack("<Q", len(raw)) + raw + b"\0" * 16)
    with memory_cap(), pytest.raises(SerializationError, match=r"lie\.safetensors"):
        ember.load(path)


def test_safetensors_duplicate_keys(tmp_path):
    spec = b'{"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}'
    raw = b'{"w": ' + spec + b', "w": ' + spec + b"}"
    path = write_bytes(tmp_path / "dup.safetensors", struct.pack("<Q", len(raw)) + raw + b"\0")
    with pytest.raises(SerializationError, match="repeats a key"):
        ember.load(path)


BILLION = 10**9


@pytest.mark.parametrize("zip_bytes, match", [
    # the .npy header claims a billion bytes, the zip directory 10
    (raw_zip("w.npy", npy_bytes("|u1", (BILLION,), b"0123456789")), "claims shape"),
    # header and directory agree on a billion bytes; the file has a few
    (raw_zip("w.npy", npy_bytes("|u1", (BILLION,), b"0123456789"), claimed_size=BILLION + 128,
             compress_size=BILLION + 128), "past the end"),
    # a deflated member claiming more than deflate can produce
    (raw_zip("w.npy", npy_bytes("|u1", (BILLION,), b"0123456789"), zipfile.ZIP_DEFLATED, claimed_size=BILLION + 128),
     "zip bomb"),
    # a plausible ratio, but the data is not there
    (raw_zip("w.npy", npy_bytes("|u1", (BILLION,), np.random.default_rng(0).bytes(1 << 20)), zipfile.ZIP_DEFLATED,
             claimed_size=BILLION + 128), "truncated|corrupt"),
    (raw_zip("w.npy", npy_bytes("<f4", (-1,), b"")), "negative"),
    (raw_zip("w.npy", npy_bytes("<f4", (2, 2), b"")[:8] + b"\xff\xff" + b" " * 64), "header"),
    (raw_zip("w.npy", npy_bytes("[('a', '<f4')]", (1,), b"\0" * 4)), "dtype"),
    (raw_zip("w.txt", b"hello"), "not a .npy"),
    (raw_zip("__ember_structure__.json.npy", npy_bytes("|u1", (9,), b'{"dict":7')), "structure"),
])
def test_npz_lying_members(tmp_path, memory_cap, zip_bytes, match):
    path = write_bytes(tmp_path / "lie.npz", zip_bytes)
    with memory_cap(), pytest.raises(SerializationError, match=match) as e:
        ember.load(path)
    assert "lie.npz" in str(e.value)


def test_npz_not_a_zip(tmp_path):
    path = write_bytes(tmp_path / "x.npz", b"\x93NUMPY\x01\x00")
    with pytest.raises(SerializationError, match="not a zip file"):
        ember.load(path)


def idx_header(dims, code=0x08):
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_claiming_a_billion_images(tmp_path, memory_cap, compress):
    data = idx_header((BILLION, 28, 28)) + b"\0" * 784 * 3
    if compress:
        data = gzip.compress(data)
    path = write_bytes(tmp_path / "images.idx", data)
    with memory_cap(), pytest.raises(SerializationError, match=r"images\.idx"):
        read_idx(path)


def test_idx_truncations(tmp_path):
    data = idx_header((3, 4, 5)) + bytes(range(60))
    path = tmp_path / "t.idx"
    for n in range(len(data)):
        path.write_bytes(data[:n])
        with pytest.raises(SerializationError):
            read_idx(path)
    path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path), np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
