"""PyTorch's checkpoint format: ember.save writes what torch.load(weights_only=True) reads, and
ember.load reads what torch.save writes, with real torch on the other side."""
import io
import os
import pickletools
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember.io import SerializationError

DTYPES = ["float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool",
          "complex64", "complex128", "uint16", "uint32", "uint64"]


def name(dtype):
    return str(dtype).rpartition(".")[2]


def as_f64(t):
    """A torch tensor's values, as a NumPy array (bfloat16 and unsigned types through float64/int64)."""
    import torch

    if t.dtype == torch.bfloat16:
        t = t.double()
    if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
        t = t.to(torch.int64) if t.dtype != torch.uint64 else t
    return t.numpy()


def sample(torch, dtype):
    dt = getattr(torch, dtype)
    base = torch.tensor([[0, 1, 2], [3, 250, 7]], dtype=torch.int64)
    if dtype == "bool":
        return base % 2 == 1
    if dtype.startswith(("float", "bfloat", "complex")):
        t = torch.tensor([[0.5, -1.25, 3.0], [1e-3, float("inf"), -0.0]], dtype=torch.float64).to(dt)
        return t * (1 + 1j) if dtype.startswith("complex") else t
    if dtype == "int8":
        return torch.tensor([[0, -1, 2], [-128, 127, 7]], dtype=dt)
    if dtype.startswith("uint") and dtype != "uint8":
        return torch.tensor([[0, 1, 2], [3, 2**15, 7]], dtype=torch.int64).to(dt)
    return base.to(dt)


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_to_ember_every_dtype(tmp_path, torch, dtype):
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")  # without it, bfloat16 loads as float32 (tested below)
    t = sample(torch, dtype)
    torch.save({"t": t, "scalar": t[1, 2].clone()}, tmp_path / "t.pt")
    out = ember.load(tmp_path / "t.pt")
    e = out["t"]
    assert type(e) is ember.Tensor and name(e.dtype) == dtype and tuple(e.shape) == (2, 3)
    np.testing.assert_array_equal(e.numpy().astype(as_f64(t).dtype), as_f64(t))
    assert out["scalar"].shape == () and name(out["scalar"].dtype) == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_ember_to_torch_every_dtype(tmp_path, torch, dtype):
    t = sample(torch, dtype)
    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        arr = t.double().numpy().astype(ml_dtypes.bfloat16)
    else:
        arr = as_f64(t).astype(dtype)
    e = ember.tensor(arr)
    assert name(e.dtype) == dtype
    ember.save({"t": e, "a": arr, "s": e[1, 2]}, tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt", weights_only=True)
    for k in ("t", "a"):
        assert back[k].dtype == t.dtype and back[k].shape == t.shape, k
        np.testing.assert_array_equal(as_f64(back[k]), as_f64(t))
    assert back["s"].shape == () and back["s"].dtype == t.dtype


@pytest.mark.parametrize("array", [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.arange(12, dtype=np.float64).reshape(3, 4)[:, 1::2],  # a non-contiguous view
    np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
    np.arange(4, dtype=">f4"),  # big-endian
    np.zeros((0, 3), np.float32),
    np.array(2.5),
    np.float64(3.5),  # a NumPy scalar becomes a 0-d tensor
    np.array([True, False]),
])
def test_ember_arrays_load_in_torch(tmp_path, torch, array):
    ember.save({"a": array, "t": ember.tensor(np.asarray(array))}, tmp_path / "a.pt")
    back = torch.load(tmp_path / "a.pt", weights_only=True)
    for v in back.values():
        assert isinstance(v, torch.Tensor) and tuple(v.shape) == np.shape(array)
        np.testing.assert_array_equal(v.numpy(), np.asarray(array))
        assert v.numpy().dtype == np.asarray(array).dtype.newbyteorder("=")


def test_views_saved_by_torch_load_correctly(tmp_path, torch):
    base = torch.arange(24.0).reshape(4, 6)
    views = {"t": base.t(), "slice": base[1:, 2:5], "step": base[::2, 1::3], "row": base[2], "elem": base[3, 4],
             "expand": torch.arange(3.0).expand(4, 3), "perm": base.reshape(2, 3, 4).permute(2, 0, 1),
             "base": base}
    torch.save(views, tmp_path / "v.pt")
    out = ember.load(tmp_path / "v.pt")
    for k, v in views.items():
        np.testing.assert_array_equal(out[k].numpy(), v.numpy(), err_msg=k)
    # they view one storage, as in torch: a write through one shows in the others
    out["base"].numpy()[1, 2] = -1.0
    assert out["slice"].numpy()[0, 0] == -1.0 and out["t"].numpy()[2, 1] == -1.0
    # an expanded view repeats memory: read-only (an in-place op on it fails, as it would in torch)
    assert not out["expand"].numpy().flags.writeable
    with pytest.raises((RuntimeError, ValueError), match="read-only"):
        out["expand"].add_(1)


def test_shared_storage_from_ember_is_shared_in_torch(tmp_path, torch):
    w = np.ones((2, 2), np.float32)
    ember.save({"a": w, "b": w, "c": w.copy()}, tmp_path / "s.pt")
    back = torch.load(tmp_path / "s.pt", weights_only=True)
    assert back["a"].data_ptr() == back["b"].data_ptr() != back["c"].data_ptr()
    with zipfile.ZipFile(tmp_path / "s.pt") as zf:
        assert sorted(n for n in zf.namelist() if "/data/" in n) == ["s/data/0", "s/data/1"]


def test_nested_values_both_ways(tmp_path, torch):
    obj = {
        "ints": [0, 1, 255, 256, 65535, 65536, -1, -(2**31), 2**31, 2**70, -(2**70)],
        "floats": (0.1, -2.5, float("inf")), "nan": float("nan"), "text": "é ∑ \U0001f600", "empty": "",
        "none": None, "flags": [True, False], "bytes": b"\x00\xffab", "complex": 1 + 2j,
        "set": {1, 2, 3}, "tuple_key": {(1, "a"): 3, 4: "four", 2.5: None},
        "nested": {"a": [[], (), {}, [1, [2, (3,)]]], "od": OrderedDict([("z", 1), ("a", 2)])},
        "long_tuple": tuple(range(7)),
    }
    ember.save(obj, tmp_path / "e.pt")
    from_ember = torch.load(tmp_path / "e.pt", weights_only=True)
    torch.save(obj, tmp_path / "t.pt")
    from_torch = ember.load(tmp_path / "t.pt")
    for got in (from_ember, from_torch):
        assert_same(got, obj)


def assert_same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_torch_values_map_to_ember(tmp_path, torch):
    torch.save({"size": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu"),
                "p": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
                "g": torch.ones(2, requires_grad=True)}, tmp_path / "m.pt")
    out = ember.load(tmp_path / "m.pt")
    assert out["size"] == (2, 3) and type(out["size"]).__name__ == "Size"
    assert out["dtype"] is ember.float16 and out["device"] == ember.device("cpu")
    assert type(out["p"]) is ember.nn.Parameter and out["p"].requires_grad
    assert type(out["frozen"]) is ember.nn.Parameter and not out["frozen"].requires_grad
    assert type(out["g"]) is ember.Tensor and out["g"].requires_grad
    ember.save(out, tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert back["size"] == torch.Size([2, 3]) and type(back["size"]) is torch.Size
    assert back["dtype"] is torch.float16 and back["device"] == torch.device("cpu")
    assert type(back["p"]) is torch.nn.Parameter and back["p"].requires_grad
    assert type(back["frozen"]) is torch.nn.Parameter and not back["frozen"].requires_grad
    assert type(back["g"]) is torch.Tensor and back["g"].requires_grad


def test_bfloat16_without_ml_dtypes_widens_to_float32(tmp_path, torch, monkeypatch):
    from ember import _dtype
    from ember.serialization import _pt_unpickle

    t = torch.tensor([1.0, -2.5, 3.140625, 1e-3]).to(torch.bfloat16)
    torch.save({"w": t, "view": t[1:3]}, tmp_path / "bf.pt")
    monkeypatch.setattr(_dtype, "_bf16", lambda load=False: None)
    monkeypatch.setattr(_pt_unpickle, "_GLOBALS", None)  # rebuilt without bfloat16
    out = ember.load(tmp_path / "bf.pt")
    assert out["w"].dtype == ember.float32  # as the safetensors loader reads BF16
    np.testing.assert_array_equal(out["w"].numpy(), t.float().numpy())
    np.testing.assert_array_equal(out["view"].numpy(), t[1:3].float().numpy())


def test_torch_tensors_given_to_ember_save(tmp_path, torch):
    ember.save({"t": torch.arange(3), "p": torch.nn.Parameter(torch.ones(2))}, tmp_path / "m.pt")
    back = torch.load(tmp_path / "m.pt", weights_only=True)
    assert torch.equal(back["t"], torch.arange(3)) and type(back["p"]) is torch.nn.Parameter


def test_state_dict_metadata_is_kept(tmp_path, torch):
    torch.save(torch.nn.BatchNorm1d(3).state_dict(), tmp_path / "bn.pt")
    sd = ember.load(tmp_path / "bn.pt")
    assert type(sd) is OrderedDict and sd._metadata[""]["version"] == 2
    assert name(sd["num_batches_tracked"].dtype) == "int64"


# ----- models and optimizers, both ways -----

def ember_cnn():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


X = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)


def test_torch_model_to_ember(torch, tmp_path):
    torch.manual_seed(0)
    tm = torch_cnn(torch)
    with torch.no_grad():
        tm(torch.randn(8, 3, 8, 8) * 2 + 1)
    tm.eval()
    torch.save(tm.state_dict(), tmp_path / "model.pth")
    em = ember_cnn()
    em.load_state_dict(ember.load(tmp_path / "model.pth"))
    em.eval()
    with torch.no_grad():
        expected = tm(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(em(X).data, expected, atol=1e-5, rtol=0)


def test_ember_model_to_torch(torch, tmp_path):
    em = ember_cnn()
    em(np.random.default_rng(2).standard_normal((8, 3, 8, 8)).astype(np.float32) * 2 + 1)  # running statistics
    em.eval()
    ember.save(em.state_dict(), tmp_path / "model.pt")
    tm = torch_cnn(torch)
    tm.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))  # strict
    tm.eval()
    assert float(tm[1].running_var.sum()) != 4.0
    with torch.no_grad():
        expected = tm(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(em(X).data, expected, atol=1e-5, rtol=0)
    # and the whole state survives torch -> ember -> torch exactly
    torch.save(tm.state_dict(), tmp_path / "again.pt")
    ember.save(ember.load(tmp_path / "again.pt"), tmp_path / "again2.pt")
    for k, v in torch.load(tmp_path / "again2.pt", weights_only=True).items():
        assert v.dtype == tm.state_dict()[k].dtype and torch.equal(v, tm.state_dict()[k]), k


def _steps(model, opt, x, n):
    for _ in range(n):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("kind", ["Adam", "SGD", "AdamW"])
def test_optimizer_state_ember_to_torch(torch, tmp_path, kind):
    kwargs = {"Adam": dict(lr=0.01), "SGD": dict(lr=0.05, momentum=0.9), "AdamW": dict(lr=0.01)}[kind]
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    em = ember.nn.Linear(3, 2)
    eo = getattr(ember.optim, kind)(em.parameters(), **kwargs)
    _steps(em, eo, x, 3)
    ember.save({"model": em.state_dict(), "optimizer": eo.state_dict()}, tmp_path / "ckpt.pt")
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    tm = torch.nn.Linear(3, 2)
    tm.load_state_dict(ckpt["model"])
    to = getattr(torch.optim, kind)(tm.parameters(), **kwargs)
    to.load_state_dict(ckpt["optimizer"])
    _steps(em, eo, x, 2)
    _steps(tm, to, torch.from_numpy(x), 2)
    np.testing.assert_allclose(em.weight.data, tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["Adam", "SGD"])
def test_optimizer_state_torch_to_ember(torch, tmp_path, kind):
    kwargs = {"Adam": dict(lr=0.01), "SGD": dict(lr=0.05, momentum=0.9)}[kind]
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    tm = torch.nn.Linear(3, 2)
    to = getattr(torch.optim, kind)(tm.parameters(), **kwargs)
    _steps(tm, to, torch.from_numpy(x), 3)
    torch.save({"model": tm.state_dict(), "optimizer": to.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    ckpt = ember.load(tmp_path / "ckpt.pt")
    assert ckpt["epoch"] == 3
    em = ember.nn.Linear(3, 2)
    em.load_state_dict(ckpt["model"])
    eo = getattr(ember.optim, kind)(em.parameters(), **kwargs)
    eo.load_state_dict(ckpt["optimizer"])
    _steps(tm, to, torch.from_numpy(x), 2)
    _steps(em, eo, x, 2)
    np.testing.assert_allclose(em.weight.data, tm.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


# ----- paths, file objects, arguments -----

@pytest.mark.parametrize("fname", ["m.pt", "m.pth", "m.ckpt", "noext", "m.PT"])
def test_any_other_path_is_pytorch_format(tmp_path, torch, fname):
    ember.save({"w": np.ones(2, np.float32)}, str(tmp_path / fname))
    assert torch.equal(torch.load(tmp_path / fname, weights_only=True)["w"], torch.ones(2))
    torch.save({"w": torch.zeros(2)}, tmp_path / fname)
    np.testing.assert_array_equal(ember.load(tmp_path / fname)["w"].numpy(), np.zeros(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [fname]  # no temporary file left


def test_archive_folder_is_named_after_the_file(tmp_path, torch):
    ember.save({"w": np.ones(1)}, tmp_path / "my_model.pt")
    with zipfile.ZipFile(tmp_path / "my_model.pt") as zf:
        names = zf.namelist()
    torch.save({"w": torch.ones(1)}, tmp_path / "ref.pt")
    with zipfile.ZipFile(tmp_path / "ref.pt") as zf:
        ref = [n.replace("ref/", "my_model/") for n in zf.namelist()]
    assert names == ref  # the same records, in the same order


def test_storages_are_aligned_and_mmap_loads(tmp_path, torch):
    ember.save({f"w{i}": np.arange(i + 1, dtype=np.float32) for i in range(5)}, tmp_path / "a.pt")
    with zipfile.ZipFile(tmp_path / "a.pt") as zf, open(tmp_path / "a.pt", "rb") as f:
        for info in zf.infolist():
            f.seek(info.header_offset + 26)
            n, m = np.frombuffer(f.read(4), "<u2")
            assert (info.header_offset + 30 + n + m) % 64 == 0, info.filename
    back = torch.load(tmp_path / "a.pt", weights_only=True, mmap=True)
    assert torch.equal(back["w4"], torch.arange(5.0))


def test_file_objects_both_ways(torch):
    buf = io.BytesIO()
    ember.save({"w": np.arange(3.0)}, buf)
    buf.seek(0)
    assert torch.equal(torch.load(buf, weights_only=True)["w"], torch.arange(3.0, dtype=torch.float64))
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(ember.load(buf)["w"].numpy(), np.arange(4))
    # a stream that is not at its start, or cannot seek, is read from where it is
    data = buf.getvalue()
    shifted = io.BytesIO(b"junk" + data)
    shifted.read(4)
    np.testing.assert_array_equal(ember.load(shifted)["w"].numpy(), np.arange(4))

    class Stream(io.RawIOBase):
        def __init__(self):
            self.src = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self.src.read(len(b))
            b[:len(chunk)] = chunk
            return len(chunk)

    np.testing.assert_array_equal(ember.load(Stream())["w"].numpy(), np.arange(4))


def test_other_formats_are_recognised_by_content(tmp_path):
    ember.save({"w": np.ones(2)}, tmp_path / "m.npz")
    ember.save({"w": np.ones(2)}, tmp_path / "m.safetensors")
    for src in ("m.npz", "m.safetensors"):
        os.replace(tmp_path / src, tmp_path / "m.bin")
        np.testing.assert_array_equal(ember.load(tmp_path / "m.bin")["w"], np.ones(2))
        with open(tmp_path / "m.bin", "rb") as f:
            np.testing.assert_array_equal(ember.load(f)["w"], np.ones(2))


def test_map_location_forms(tmp_path, torch):
    torch.save({"w": torch.ones(2)}, tmp_path / "m.pt")
    seen = []
    for ml in (None, "cpu", ember.device("cpu"), torch.device("cpu"), {"cpu": "cpu"},
               lambda storage, loc: seen.append(loc) or storage, lambda storage, loc: None):
        np.testing.assert_array_equal(ember.load(tmp_path / "m.pt", map_location=ml)["w"].numpy(), np.ones(2))
    assert seen == ["cpu"]
    with pytest.raises(TypeError, match="map_location"):
        ember.load(tmp_path / "m.pt", map_location=3.5)
    with pytest.raises(RuntimeError, match="device"):
        ember.load(tmp_path / "m.pt", map_location="nowhere")


def _relocated(src, dst, location):
    """A copy of the archive ``src`` whose storages say they were saved on ``location``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("/data.pkl"):
                old, new = b"X\x03\x00\x00\x00cpu", b"X" + len(location).to_bytes(4, "little") + location.encode()
                assert old in data
                data = data.replace(old, new)
            zout.writestr(info.filename, data)


def test_gpu_checkpoint_needs_map_location(tmp_path, torch):
    torch.save({"w": torch.ones(2)}, tmp_path / "cpu.pt")
    _relocated(tmp_path / "cpu.pt", tmp_path / "gpu.pt", "cuda:0")
    assert ("BINUNICODE", "cuda:0") in [(op.name, a) for op, a, _ in pickletools.genops(
        zipfile.ZipFile(tmp_path / "gpu.pt").read("cpu/data.pkl"))]
    if not _has_cupy():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            ember.load(tmp_path / "gpu.pt")
    for ml in ("cpu", {"cuda:0": "cpu"}, lambda s, loc: s):
        out = ember.load(tmp_path / "gpu.pt", map_location=ml)["w"]
        assert out.device == ember.device("cpu")
        np.testing.assert_array_equal(out.numpy(), np.ones(2))


def _has_cupy():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def test_weights_only_false_is_the_same_safe_load(tmp_path, torch):
    torch.save({"w": torch.ones(2)}, tmp_path / "m.pt")
    for wo in (True, False, None):
        np.testing.assert_array_equal(ember.load(tmp_path / "m.pt", weights_only=wo)["w"].numpy(), np.ones(2))
    import pickle

    assert ember.load(tmp_path / "m.pt", pickle_module=pickle, mmap=False)["w"].shape == (2,)
    with pytest.raises(ValueError, match="pickle_module"):
        ember.load(tmp_path / "m.pt", pickle_module=np)
    with pytest.raises(TypeError, match="unexpected"):
        ember.load(tmp_path / "m.pt", bogus=1)


def test_save_arguments_and_refusals(tmp_path, torch):
    ember.save({"w": np.ones(1)}, tmp_path / "p.pt", pickle_protocol=4)
    assert torch.load(tmp_path / "p.pt", weights_only=True)["w"].shape == (1,)
    with pytest.raises(ValueError, match="legacy"):
        ember.save({"w": np.ones(1)}, tmp_path / "l.pt", _use_new_zipfile_serialization=False)
    for bad, match in [({"a": object()}, "type object"), ({"a": np.array(["x"])}, "dtype <U1"),
                       ({"a": np.zeros(2, dtype=object)}, "dtype object"), ({b"k": 3}, "dict key"), ({"f": frozenset()}, "frozenset")]:
        with pytest.raises(TypeError, match=match):
            ember.save(bad, tmp_path / "bad.pt")
    cyc = []
    cyc.append(cyc)
    with pytest.raises(TypeError, match="cycle"):
        ember.save(cyc, tmp_path / "bad.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pt"]  # nothing half-written


def test_no_torch_at_run_time(tmp_path, torch):
    torch.save({"w": torch.ones(3), "p": torch.nn.Parameter(torch.zeros(2))}, tmp_path / "t.pt")
    code = ("import sys, ember; d = ember.load(sys.argv[1]); ember.save(d, sys.argv[2]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; print(float(d['w'].sum()))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.pt"), str(tmp_path / "e.pt")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3.0"
    assert torch.equal(torch.load(tmp_path / "e.pt", weights_only=True)["p"], torch.zeros(2))


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path"):
        ember.save({"w": np.ones(1)}, 5)
    with pytest.raises(TypeError, match="path"):
        ember.load(5)
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "missing.pt")
    (tmp_path / "x.pt").write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(SerializationError, match=r"x\.pt.*neither PyTorch's zip archive"):
        ember.load(tmp_path / "x.pt")
