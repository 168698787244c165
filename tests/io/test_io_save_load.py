"""ember.save / ember.load round trips, interop with files other writers made, and atomic_write."""
import json
import os
import stat
import struct

import numpy as np
import pytest

import ember
from ember.io import SerializationError, atomic_write

FORMATS = [".npz", ".safetensors"]


def optimizer_like_state(rng):
    return {
        "state": {
            0: {"step": 7, "exp_avg": rng.standard_normal((3, 4)).astype(np.float32),
                "exp_avg_sq": rng.random((3, 4)).astype(np.float32)},
            1: {"step": 7, "momentum_buffer": None},
        },
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "params": [0, 1], "name": "backbone"}],
    }


def assert_same(a, b):
    """Equal values and types all the way down; arrays equal in dtype, shape and content."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_nested_keeps_types(tmp_path, rng, ext):
    obj = optimizer_like_state(rng)
    obj["extras"] = {"scalar": np.array(2.5), "empty": np.zeros((0, 3), np.float32), "flags": np.array([True, False]),
                     "ints": np.arange(5, dtype=np.int64), "half": np.ones(3, np.float16), "big": 2**70,
                     "nan": float("nan"), "text": "é ∑", "nested": [[1, 2.0], ("a", None)]}
    path = tmp_path / f"s{ext}"
    ember.save(obj, path)
    assert_same(ember.load(path), obj)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("ext", FORMATS)
def test_flat_state_dict_keys_are_the_file_keys(tmp_path, rng, ext):
    sd = {"0.weight": rng.standard_normal((4, 3)).astype(np.float32), "0.bias": np.zeros(4, np.float32)}
    path = tmp_path / f"m{ext}"
    ember.save(sd, path)
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as z:
            stored = {k: z[k] for k in z.files if not k.startswith("__ember")}
    else:
        from safetensors.numpy import load_file

        stored = load_file(path)
    assert sorted(stored) == sorted(sd)
    for k in sd:
        np.testing.assert_array_equal(stored[k], sd[k])


@pytest.mark.parametrize("ext", FORMATS)
def test_tensors_views_and_scalars_are_saved_as_arrays(tmp_path, ext):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    obj = {"t": ember.tensor([1.0, 2.0]), "p": ember.nn.Parameter(np.ones((2, 2), np.float32)),
           "view": base[:, ::2], "fortran": np.asfortranarray(base), "np_scalar": np.float64(3.5)}
    ember.save(obj, tmp_path / f"a{ext}")
    out = ember.load(tmp_path / f"a{ext}")
    np.testing.assert_array_equal(out["t"], [1.0, 2.0])
    assert type(out["p"]) is np.ndarray and out["p"].shape == (2, 2)
    np.testing.assert_array_equal(out["view"], base[:, ::2])
    np.testing.assert_array_equal(out["fortran"], base)
    assert out["np_scalar"].shape == () and out["np_scalar"] == 3.5


@pytest.mark.parametrize("ext", FORMATS)
def test_model_state_dict_user_path(tmp_path, ext):
    a, b = ember.nn.Linear(5, 3), ember.nn.Linear(5, 3)
    ember.save(a.state_dict(), tmp_path / f"m{ext}")
    b.load_state_dict(ember.load(tmp_path / f"m{ext}"))
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_unknown_extension_lists_the_formats(tmp_path):
    ember.save({"a": np.ones(2)}, tmp_path / "m.h5")  # any other name: PyTorch's format (issue #20)
    assert (tmp_path / "m.h5").read_bytes()[:4] == b"PK\x03\x04"
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(SerializationError, match=r"\.npz.*\.safetensors"):
        ember.load(tmp_path / "m.h5")
    assert not (tmp_path / "m.h5.npz").exists()


@pytest.mark.parametrize("bad, match", [
    ({"a": np.array([object()], dtype=object)}, "dtype object"),
    ({"a": np.array(["x"])}, "dtype <U1"),
    ({"a": {1, 2}}, "type set"),
    ({(1, 2): 3}, "dict key"),
    ({"a": b"bytes"}, "type bytes"),
])
def test_save_refuses_what_it_cannot_load(tmp_path, bad, match):
    with pytest.raises(TypeError, match=match):
        ember.save(bad, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_safetensors_refuses_complex128(tmp_path):
    with pytest.raises(TypeError, match="complex128.*npz"):
        ember.save({"z": np.ones(2, np.complex128)}, tmp_path / "x.safetensors")
    ember.save({"z": np.ones(2, np.complex128)}, tmp_path / "x.npz")


def test_key_collisions_do_not_lose_arrays(tmp_path):
    obj = {"a.b": np.ones(1), "a": {"b": np.zeros(1)}, "__ember_structure__.json": np.ones(2)}
    for ext in FORMATS:
        ember.save(obj, tmp_path / f"c{ext}")
        assert_same(ember.load(tmp_path / f"c{ext}"), obj)


def test_loads_files_from_numpy_and_safetensors(tmp_path, rng):
    arrays = {"w": rng.standard_normal((3, 2)), "i": np.arange(4, dtype=np.int32)}
    np.savez(tmp_path / "plain.npz", **arrays)
    np.savez_compressed(tmp_path / "packed.npz", **arrays)
    from safetensors.numpy import save_file

    save_file(arrays, str(tmp_path / "hf.safetensors"), metadata={"format": "np"})
    for name in ("plain.npz", "packed.npz", "hf.safetensors"):
        assert_same(dict(sorted(ember.load(tmp_path / name).items())), dict(sorted(arrays.items())))


def test_bfloat16_loads_as_float32(tmp_path, torch):
    from safetensors.torch import save_file

    t = torch.tensor([1.0, -2.5, 3.140625, 1e-3]).to(torch.bfloat16)
    save_file({"w": t}, str(tmp_path / "bf.safetensors"))
    out = ember.load(tmp_path / "bf.safetensors")["w"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, t.float().numpy())


# ----- atomic_write -----

def test_atomic_write_text_and_binary(tmp_path):
    with atomic_write(tmp_path / "log.csv", "w") as f:
        f.write("epoch,loss\n1,0.5\n")
    assert (tmp_path / "log.csv").read_text(encoding="utf-8") == "epoch,loss\n1,0.5\n"
    with atomic_write(str(tmp_path / "b.bin")) as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "log.csv"]


def test_atomic_write_failure_keeps_old_file(tmp_path):
    target = tmp_path / "ckpt.npz"
    ember.save({"v": np.ones(3)}, target)
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write(b"partial")
            raise RuntimeError("boom")
    np.testing.assert_array_equal(ember.load(target)["v"], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_atomic_write_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="'ab'"):
        with atomic_write(tmp_path / "x", "ab"):
            pass
    with pytest.raises(ValueError, match="text mode"):
        with atomic_write(tmp_path / "x", "wb", encoding="utf-8"):
            pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_atomic_write_keeps_permissions(tmp_path):
    target = tmp_path / "m.safetensors"
    ember.save({"a": np.ones(1)}, target)
    os.chmod(target, 0o640)
    ember.save({"a": np.zeros(1)}, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="stale temporary files are removed on POSIX only")
def test_stale_temps_of_dead_writers_are_removed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".m.npz.tmp-{pid}-deadbeef"
    live = tmp_path / f".m.npz.tmp-{os.getppid()}-cafecafe"  # our parent is alive
    other = tmp_path / f".n.npz.tmp-{pid}-deadbeef"  # another target's: not ours to touch
    for p in (stale, live, other):
        p.write_bytes(b"half a checkpoint")
    ember.save({"a": np.ones(1)}, tmp_path / "m.npz")
    assert not stale.exists() and live.exists() and other.exists()


def test_structure_is_json_in_the_file(tmp_path):
    ember.save({"lr": 0.1, "w": np.ones(2)}, tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as z:
        structure = json.loads(z["__ember_structure__.json"].tobytes())
    assert structure == {"dict": [["lr", 0.1], ["w", {"array": "w"}]]}


def test_safetensors_header_length_128_is_not_mistaken_for_pickle(tmp_path):
    # the length field's first byte is 0x80, pickle's first byte: still a valid file
    raw = b'{"w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}'
    raw += b" " * (128 - len(raw))
    (tmp_path / "h.safetensors").write_bytes(struct.pack("<Q", 128) + raw + b"\x01\x02")
    from safetensors.numpy import load_file

    np.testing.assert_array_equal(load_file(str(tmp_path / "h.safetensors"))["w"], [1, 2])
    np.testing.assert_array_equal(ember.load(tmp_path / "h.safetensors")["w"], [1, 2])


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_save_writes_through_a_symlink_like_open(tmp_path):
    (tmp_path / "real.npz").write_bytes(b"")
    os.symlink(tmp_path / "real.npz", tmp_path / "latest.npz")
    ember.save({"a": 1}, tmp_path / "latest.npz")
    assert os.path.islink(tmp_path / "latest.npz")
    assert ember.load(tmp_path / "real.npz") == {"a": 1}


@pytest.mark.parametrize("ext", FORMATS)
def test_checkpoint_resume_continues_identically(tmp_path, ext):
    """Model and Adam state saved mid-training and loaded into fresh objects: the next steps match."""
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)

    def step(model, opt):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    model = ember.nn.Linear(3, 2)
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        step(model, opt)
    ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / f"c{ext}")
    ckpt = ember.load(tmp_path / f"c{ext}")
    model2 = ember.nn.Linear(3, 2)
    model2.load_state_dict(ckpt["model"])
    opt2 = ember.optim.Adam(model2.parameters(), lr=0.01)
    opt2.load_state_dict(ckpt["optimizer"])
    assert ckpt["epoch"] == 3
    for _ in range(2):
        step(model, opt)
        step(model2, opt2)
    np.testing.assert_array_equal(model2.weight.data, model.weight.data)
