"""Fuzz ``ember.load`` and ``read_idx`` with random bytes and mutated valid files.

The only exception allowed is SerializationError; each load must finish quickly, and the whole
run happens under an address-space cap, so a loader that trusts a size it read from the file
fails with MemoryError instead of passing.
"""
import gzip
import json
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember.data import read_idx, write_idx
from ember.io import SerializationError

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def valid_files(folder):
    """Small valid files of every kind the loaders read, keyed by file name."""
    rng = np.random.default_rng(0)
    obj = {"conv.weight": rng.standard_normal((2, 3, 2, 2)).astype(np.float32), "conv.bias": np.ones(2, np.float32),
           "bn.num_batches_tracked": np.array(3), "state": {0: {"step": 3, "m": np.arange(4.0)}},
           "groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0]}]}
    files = {}
    for name in ("ember.npz", "ember.safetensors"):
        ember.save(obj, folder / name)
    np.savez_compressed(folder / "numpy.npz", w=np.arange(300, dtype=np.int16).reshape(10, 30), b=np.zeros(3))
    write_idx(folder / "raw.idx", np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    (folder / "gz.idx").write_bytes(gzip.compress((folder / "raw.idx").read_bytes(), mtime=0))
    for p in folder.iterdir():
        files[p.name] = p.read_bytes()
    return files


def loader(name):
    return read_idx if name.endswith(".idx") else ember.load


def check(path, data, load):
    """Load ``data`` from ``path``: success or SerializationError only, and fast."""
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        load(path)
    except SerializationError as e:
        assert str(path) in str(e) or path.name in str(e), f"the error does not name the file: {e}"
    assert time.perf_counter() - start < 2.0, "a load of a tiny file took over 2 s"


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    return valid_files(tmp_path_factory.mktemp("valid"))


KINDS = ["ember.npz", "ember.safetensors", "numpy.npz", "raw.idx", "gz.idx"]


@pytest.mark.parametrize("kind", KINDS)
def test_originals_load(originals, tmp_path, kind):
    (tmp_path / kind).write_bytes(originals[kind])
    loader(kind)(tmp_path / kind)


@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_mutated_files(originals, tmp_path, memory_cap, kind):
    data = originals[kind]
    mutation = st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255))

    @FUZZ
    @given(flips=st.lists(mutation, min_size=1, max_size=4), cut=st.integers(0, len(data)),
           tail=st.binary(max_size=16))
    def run(flips, cut, tail):
        mutated = bytearray(data)
        for pos, byte in flips:
            mutated[pos] = byte
        check(tmp_path / kind, bytes(mutated[:cut]) + tail if cut < len(data) else bytes(mutated), loader(kind))

    with memory_cap():
        run()


@pytest.mark.parametrize("kind", KINDS)
def test_fuzz_random_bytes(tmp_path, memory_cap, kind):
    # a valid prefix makes random bytes reach past the first check
    prefixes = {".npz": [b"", b"PK\x03\x04", b"PK\x05\x06"], ".safetensors": [b"", b"\x40\0\0\0\0\0\0\0{"],
                ".idx": [b"", b"\0\0\x08\x01", b"\0\0\x0d\x03", b"\x1f\x8b"]}
    ext = "." + kind.rsplit(".", 1)[1]

    @FUZZ
    @given(prefix=st.sampled_from(prefixes[ext]), body=st.binary(max_size=300))
    def run(prefix, body):
        check(tmp_path / kind, prefix + body, loader(kind))

    with memory_cap():
        run()


def test_fuzz_safetensors_headers(tmp_path, memory_cap):
    """Well-formed JSON headers with hostile values reach the checks after the JSON parser."""
    value = st.sampled_from([0, 1, 3, 4, 16, -1, 2**31, 2**63, 2**64, 1.5, True, None, "4", [4]])
    spec = st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "U8", "BF16", "F8_E4M3", "O", 3]),
                                  "shape": st.lists(value, max_size=2), "data_offsets": st.lists(value, max_size=3)})
    structure = st.sampled_from(['{"array": "w"}', '{"array": "x"}', '{"dict": [["w", {"array": "w"}]]}',
                                 '{"dict": [[["k"], 1]]}', '{"dict": [[{}, 1]]}', '{"list": 3}', '{"tuple": [{}]}',
                                 '{"array": 1}', '{"array": "w", "list": []}', "[" * 5000 + "]" * 5000, "{", "null"])

    @FUZZ
    @given(tensors=st.dictionaries(st.sampled_from(["w", "x", "__metadata__"]), spec, max_size=2),
           structure=structure, data=st.binary(max_size=32))
    def run(tensors, structure, data):
        header = dict(tensors)
        if "__metadata__" not in header:
            header["__metadata__"] = {"ember.structure": structure}
        raw = json.dumps(header).encode()
        check(tmp_path / "h.safetensors", struct.pack("<Q", len(raw)) + raw + data, ember.load)

    with memory_cap():
        run()
