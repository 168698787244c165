"""Hostile PyTorch (.pt) files: code-running pickles, globals outside the list, lying sizes and
views, broken archives. Each must raise SerializationError naming the file within a second, run
nothing (a payload would create a marker file), and allocate nothing the file's size does not
justify."""
import io
import os
import pickle
import struct
import subprocess
import time
import zipfile
import zlib

import numpy as np
import pytest

import ember
from ember.io import SerializationError

# ----- building archives and pickles by hand -----


def archive(pkl, records=None, prefix="archive", byteorder="little", extra=None):
    """A torch.save-like zip: <prefix>/data.pkl, one record per storage, the small records."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{prefix}/data.pkl", pkl)
        if byteorder is not None:
            zf.writestr(f"{prefix}/byteorder", byteorder)
        for k, v in (records or {}).items():
            zf.writestr(f"{prefix}/data/{k}", v)
        for k, v in (extra or {}).items():
            zf.writestr(k, v)
        zf.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


def glob(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i(n):
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    k = (n.bit_length() + 8) // 8
    return b"\x8a" + bytes([k]) + n.to_bytes(k, "little", signed=True)


def tup(*parts):
    return b"(" + b"".join(parts) + b"t"


def pid(storage="FloatStorage", key="0", numel=4, location="cpu"):
    return tup(s("storage"), glob("torch", storage), s(key), s(location), i(numel)) + b"Q"


def tensor(size=(4,), stride=(1,), offset=0, requires_grad=b"\x89", storage=None, metadata=b""):
    storage = pid() if storage is None else storage
    hooks = glob("collections", "OrderedDict") + b")R"
    return (glob("torch._utils", "_rebuild_tensor_v2")
            + tup(storage, i(offset), tup(*map(i, size)), tup(*map(i, stride)), requires_grad, hooks, metadata)
            + b"R")


def pkl(body):
    return b"\x80\x02" + body + b"."


FLOATS = np.arange(4, dtype=np.float32).tobytes()  # the 16 bytes of storage "0"


@pytest.fixture
def refuse(tmp_path):
    """``refuse(data, match)``: loading ``data`` from a .pt file raises SerializationError
    matching ``match`` and naming the file, within a second, and the marker file stays absent."""
    marker = tmp_path / "pwned"

    def check(data, match, memory_cap=None):
        path = tmp_path / "hostile.pt"
        path.write_bytes(data)
        start = time.perf_counter()
        if memory_cap is None:
            with pytest.raises(SerializationError, match=match) as e:
                ember.load(path)
        else:
            with memory_cap(), pytest.raises(SerializationError, match=match) as e:
                ember.load(path)
        assert time.perf_counter() - start < 1.0
        assert "hostile.pt" in str(e.value)
        assert not marker.exists()
        return str(e.value)

    check.marker = marker
    return check


def test_the_helpers_make_a_loadable_file(tmp_path, torch):
    data = archive(pkl(tensor()), {"0": FLOATS})
    (tmp_path / "ok.pt").write_bytes(data)
    np.testing.assert_array_equal(ember.load(tmp_path / "ok.pt").numpy(), np.arange(4))
    assert torch.equal(torch.load(tmp_path / "ok.pt", weights_only=True), torch.arange(4.0))


# ----- pickles that would run code -----

class Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def payloads(marker):
    m = str(marker)
    return {
        "os.system": (Reduce(os.system, f"touch {m}"), r"global (posix|nt|os)\.system"),
        "eval": (Reduce(eval, f"open({m!r}, 'w')"), r"global builtins\.eval"),
        "exec": (Reduce(exec, f"open({m!r}, 'w')"), r"global builtins\.exec"),
        "open": (Reduce(open, m, "w"), r"global io\.open"),
        "subprocess": (Reduce(subprocess.call, ["touch", m]), r"global subprocess\.call"),
        "in a state dict": ({"w": 1.0, "evil": [Reduce(os.system, f"touch {m}")]}, r"global (posix|nt|os)\.system"),
    }


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("case", ["os.system", "eval", "exec", "open", "subprocess", "in a state dict"])
def test_code_running_pickles_are_refused(refuse, protocol, case):
    obj, match = payloads(refuse.marker)[case]
    data = pickle.dumps(obj, protocol=protocol)
    msg = refuse(archive(data), match)
    assert "never runs code" in msg
    # the payload is real: unpickled by Python's own pickle it would create the marker
    if case == "open":
        pickle.loads(data).close()
        assert refuse.marker.exists()
        refuse.marker.unlink()


def test_a_raw_pickle_is_never_unpickled(refuse):
    obj, _ = payloads(refuse.marker)["os.system"]
    refuse(pickle.dumps(obj, protocol=2), "raw pickle")


def test_legacy_torch_format_is_refused(refuse, torch, tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    refuse((tmp_path / "legacy.pt").read_bytes(), "legacy format")


@pytest.mark.parametrize("module, name", [
    ("torch.nn.modules.linear", "Linear"), ("numpy.core.multiarray", "_reconstruct"), ("numpy", "dtype"),
    ("torch._utils", "_rebuild_qtensor"), ("torch", "load"), ("builtins", "getattr"), ("__builtin__", "eval"),
    ("copyreg", "_reconstructor"), ("torch.serialization", "_get_layout"), ("os", "system"),
])
def test_globals_outside_the_list_are_named(refuse, module, name):
    shown = module.replace("__builtin__", "builtins")
    refuse(archive(pkl(glob(module, name) + b")R")), rf"global {shown}\.{name}, which is not allowed")


@pytest.mark.parametrize("body, match", [
    (b"(S'touch x'\nios\nsystem\n", "opcode INST"),
    (b"(" + glob("collections", "OrderedDict") + b"o", "opcode OBJ"),
    (b"\x82\x01", "opcode EXT1"),
    (glob("collections", "OrderedDict") + b")}\x92", "opcode NEWOBJ_EX"),
    (b"P0\n", "opcode PERSID"),
    (b"\x97", "opcode NEXT_BUFFER"),
    (b"\xff", "opcode 0xff"),
    (glob("torch", "FloatStorage") + b")R", r"calls torch\.FloatStorage"),
    (glob("torch", "float32") + b")R", r"calls ember\.float32"),
    (b"}}b", "sets the state of a dict"),
    (glob("collections", "OrderedDict") + b")R}" + s("__class__") + b"Nsb", "sets the state of a OrderedDict"),
    (glob("torch.nn.modules.linear", "Linear") + b")\x81", r"torch\.nn\.modules\.linear\.Linear"),
    (glob("torch._utils", "_rebuild_tensor_v2") + b")\x81", "makes an object of"),
    (b"}Na", "APPEND to a dict"),
    (b"]NNs", "SETITEM to a list"),
    (b"N(Nt" + b"Q", "persistent id"),
    (tup(s("module"), glob("torch", "FloatStorage"), s("0"), s("cpu"), i(4)) + b"Q", "persistent id"),
    (tup(s("storage"), glob("collections", "OrderedDict"), s("0"), s("cpu"), i(4)) + b"Q", "persistent id"),
    (glob("torch._tensor", "_rebuild_from_type_v2") + tup(glob("collections", "OrderedDict"), glob("torch", "Tensor"),
                                                          b")", b"N") + b"R", "only tensors and parameters"),
])
def test_opcodes_and_calls_outside_the_list(refuse, body, match):
    refuse(archive(pkl(body), {"0": FLOATS}), match)


def test_memo_and_length_fields_cannot_allocate(refuse, memory_cap, tmp_path):
    # the C unpickler would size its memo array to 2**32 entries; ember's is a dict
    (tmp_path / "memo.pt").write_bytes(archive(pkl(b"Nr\xff\xff\xff\xff")))
    with memory_cap():
        assert ember.load(tmp_path / "memo.pt") is None
    for op in (b"\x8d", b"\x8e", b"\x96"):  # BINUNICODE8, BINBYTES8, BYTEARRAY8 claiming 2**62 bytes
        refuse(archive(b"\x80\x04" + op + struct.pack("<Q", 2**62) + b"abc."), "not a valid pickle|truncated",
               memory_cap)
    (tmp_path / "frame.pt").write_bytes(archive(b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"N."))  # FRAME
    with memory_cap():
        assert ember.load(tmp_path / "frame.pt") is None  # a frame is read as far as the data goes
    refuse(archive(b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1) + b"ab."), "not a valid pickle", memory_cap)  # LONG4
    refuse(archive(b"\x80\x02X" + struct.pack("<I", 2**32 - 1) + b"ab."), "not a valid pickle", memory_cap)


# ----- storages and views that lie -----

@pytest.mark.parametrize("body, records, match", [
    (tensor(storage=pid(numel=10**12)), {"0": FLOATS}, "claims 1000000000000 elements of FloatStorage"),
    (tensor(storage=pid(numel=3)), {"0": FLOATS}, r"claims 3 elements .* holds 16 bytes"),
    (tensor(storage=pid(key="7")), {"0": FLOATS}, "no record data/7"),
    (tensor(storage=pid(key="../../../etc/passwd")), {"0": FLOATS}, "no record"),
    (tensor(storage=pid(numel=-4)), {"0": FLOATS}, "malformed"),
    (tensor(storage=pid(storage="QInt8Storage")), {"0": FLOATS}, r"global torch\.QInt8Storage"),
    (tup(s("storage"), glob("torch", "FloatStorage"), s("0"), s("cpu")) + b"Q", {"0": FLOATS}, "persistent id"),
    (tup(tensor(), tensor(storage=pid(storage="IntStorage"))), {"0": FLOATS}, "two element types"),
    (tensor(size=(5,)), {"0": FLOATS}, r"reaches element 4 of storage '0', which has 4"),
    (tensor(size=(1,), offset=4), {"0": FLOATS}, "reaches element 4"),
    (tensor(size=(3,), stride=(2,)), {"0": FLOATS}, "reaches element 4"),
    (tensor(size=(2, 10**12), stride=(10**12, 1)), {"0": FLOATS}, "reaches element"),
    (tensor(size=(2**62, 2**62), stride=(1, 1)), {"0": FLOATS}, "reaches element"),
    (tensor(size=(-1,)), {"0": FLOATS}, "size is -1, not a non-negative int"),
    (tensor(stride=(-1,)), {"0": FLOATS}, "stride is -1"),
    (tensor(offset=-2), {"0": FLOATS}, "storage offset is -2"),
    (tensor(size=(2, 2), stride=(1,)), {"0": FLOATS}, "different lengths"),
    (tensor(size=(1,) * 40, stride=(1,) * 40), {"0": FLOATS}, "40 dimensions"),
    (tensor(requires_grad=b"K\x01"), {"0": FLOATS}, "requires_grad is 1, not a bool"),
    (tensor(storage=pid(storage="IntStorage"), requires_grad=b"\x88"), {"0": FLOATS}, "int32 claims requires_grad"),
    (tensor(metadata=b"}" + s("neg") + b"\x88s"), {"0": FLOATS}, "conjugate or negative view"),
    (glob("torch._utils", "_rebuild_tensor_v2") + tup(b"N", i(0), tup(i(1)), tup(i(1)), b"\x89", b"N") + b"R",
     {}, "rebuilt from a NoneType, not a storage"),
    (glob("torch._utils", "_rebuild_parameter") + tup(b"N", b"\x88", b"N") + b"R", {}, "Parameter is rebuilt from"),
])
def test_lying_storages_and_views(refuse, memory_cap, body, records, match):
    refuse(archive(pkl(body), records), match, memory_cap)


def test_a_view_repeating_one_element_allocates_nothing(tmp_path, memory_cap):
    # legal (torch saves expanded tensors so): 10**12 elements over one float, read-only
    (tmp_path / "x.pt").write_bytes(archive(pkl(tensor(size=(10**6, 10**6), stride=(0, 0))), {"0": FLOATS}))
    with memory_cap():
        t = ember.load(tmp_path / "x.pt")
    assert t.shape == (10**6, 10**6) and not t.numpy().flags.writeable and float(t.numpy()[123, 456]) == 0.0


def test_many_views_of_one_storage_share_it(tmp_path, memory_cap):
    big = np.zeros(1 << 22, np.float32)  # 16 MiB, viewed 1000 times: copies would take 16 GiB
    one = tensor(size=(1 << 21, 2), stride=(1, 1 << 21), storage=pid(numel=1 << 22))
    body = b"(" + one * 1000 + b"l"
    (tmp_path / "views.pt").write_bytes(archive(pkl(body), {"0": big.tobytes()}))
    with memory_cap(256 << 20):
        out = ember.load(tmp_path / "views.pt")
    assert len(out) == 1000 and out[999].shape == (1 << 21, 2)


def test_byteorder_record_is_honoured(tmp_path, refuse):
    big = np.arange(4, dtype=">f4").tobytes()
    (tmp_path / "be.pt").write_bytes(archive(pkl(tensor()), {"0": big}, byteorder="big"))
    np.testing.assert_array_equal(ember.load(tmp_path / "be.pt").numpy(), np.arange(4))
    refuse(archive(pkl(tensor()), {"0": FLOATS}, byteorder="middle"), "byteorder record")


# ----- broken archives -----

def make_valid(tmp_path, torch=None):
    obj = {"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(3), "step": 3,
           "groups": [{"lr": 0.1, "betas": (0.9, 0.99)}]}
    path = tmp_path / "valid.pt"
    if torch is None:
        ember.save(obj, path)
    else:
        torch.save({k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in obj.items()}, path)
    return path.read_bytes()


@pytest.mark.parametrize("writer", ["ember", "torch"])
def test_truncations(tmp_path, refuse, request, writer):
    torch = request.getfixturevalue("torch") if writer == "torch" else None
    data = make_valid(tmp_path, torch)
    cuts = sorted(set(range(64)) | set(range(len(data) - 200, len(data))) | set(range(0, len(data), 17)))
    for n in cuts:
        refuse(data[:n], ".")


def test_a_flipped_byte_in_a_storage_fails_its_crc(tmp_path, refuse):
    data = bytearray(make_valid(tmp_path))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("valid/data/0")
    start = info.header_offset + 30 + struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])[0]
    start += struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])[1]
    data[start + 5] ^= 0xFF
    refuse(bytes(data), "CRC")


def raw_zip(members):
    """A zip whose directory may lie: members are (name, data, method, claimed_size, compress_size)."""
    body, cd = b"", b""
    for name, data, method, usize, csize in members:
        stored = zlib.compress(data)[2:-4] if method == 8 else data
        usize = len(data) if usize is None else usize
        csize = len(stored) if csize is None else csize
        crc, fname = zlib.crc32(data), name.encode()
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, csize, usize, len(fname), 0)
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, csize, usize,
                          len(fname), 0, 0, 0, 0, 0, len(body)) + fname
        body += local + fname + stored
    n = len(members)
    return body + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), len(body), 0)


def members(storage=FLOATS, method=0, usize=None, csize=None):
    return [("archive/data.pkl", pkl(tensor()), 0, None, None), ("archive/data/0", storage, method, usize, csize)]


@pytest.mark.parametrize("data, match", [
    (raw_zip(members()), None),  # the honest one loads
    (raw_zip(members(usize=2**32 - 2, csize=2**32 - 2)), "past the end"),
    (raw_zip(members(usize=4 * 10**9)), "claims 4000000000 bytes but holds 16"),
    (raw_zip(members(storage=b"\0" * (1 << 20), method=8, usize=2**32 - 2)), "compressed"),  # a zip bomb's claim
    (raw_zip(members(method=8)), "compressed"),
    (raw_zip(members(method=12)), "compressed"),
    (raw_zip([("archive/data/0", FLOATS, 0, None, None)]), r"without archive/data\.pkl"),
    (raw_zip([("data.pkl", pkl(b"N"), 0, None, None)]), "not inside a folder"),
    (raw_zip(members() + [("archive/constants.pkl", b"", 0, None, None)]), "TorchScript"),
    (raw_zip(members() + [("archive/data/0", FLOATS, 0, None, None)]), "duplicate"),
    (raw_zip(members() + [("archive/byteorder", b"x" * 1000, 0, None, None)]), "byteorder record has 1000 bytes"),
    (raw_zip(members() + [("archive/version", b"three", 0, None, None)]), "version record"),
    (raw_zip([]), "empty zip archive"),
    (b"", "neither"),
    (b"\x00" * 100, "neither"),
    (np.random.default_rng(0).bytes(5000), "neither"),
    (b"PK\x03\x04" + np.random.default_rng(1).bytes(300), "corrupt or truncated"),
    (b"#!/bin/sh\ntouch pwned\n", "neither"),
])
def test_broken_archives(tmp_path, refuse, memory_cap, data, match):
    if match is None:
        (tmp_path / "ok.pt").write_bytes(data)
        np.testing.assert_array_equal(ember.load(tmp_path / "ok.pt").numpy(), np.arange(4))
        return
    refuse(data, match, memory_cap)


def test_a_hostile_file_object_is_refused_the_same_way(refuse):
    obj, _ = payloads(refuse.marker)["os.system"]
    with pytest.raises(SerializationError, match=r"<file object>.*global (posix|nt|os)\.system"):
        ember.load(io.BytesIO(archive(pickle.dumps(obj, protocol=2))))
    assert not refuse.marker.exists()
