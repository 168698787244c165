"""ember.vision.io (read_image / decode_image through Pillow) and ember.vision.utils
(make_grid, save_image) against torchvision 0.28 and Pillow."""
import io
import os

import numpy as np
import pytest

import ember
from ember.vision import io as vio
from ember.vision import utils as vutils

PIL = pytest.importorskip("PIL.Image")


def _write(tmp_path, arr, mode, fmt, **kw):
    path = tmp_path / f"img.{fmt.lower()}"
    PIL.fromarray(arr, mode).save(path, format=fmt, **kw)
    return path


@pytest.mark.parametrize("mode,c", [("RGB", 3), ("L", 1), ("RGBA", 4), ("LA", 2)])
def test_read_png_unchanged(tmp_path, rng, mode, c):
    arr = rng.integers(0, 256, (7, 9, c), dtype=np.uint8)
    path = _write(tmp_path, arr[..., 0] if c == 1 else arr, mode, "PNG")
    img = vio.read_image(str(path))
    assert isinstance(img, ember.Tensor) and img.dtype == ember.uint8 and tuple(img.shape) == (c, 7, 9)
    np.testing.assert_array_equal(img.numpy(), arr.transpose(2, 0, 1))
    np.testing.assert_array_equal(vio.read_image(path).numpy(), img.numpy())  # pathlib too


def test_read_modes(tmp_path, rng):
    arr = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    path = _write(tmp_path, arr, "RGBA", "PNG")
    im = PIL.open(path)
    for mode, pil_mode, c in [(vio.ImageReadMode.RGB, "RGB", 3), ("RGB", "RGB", 3), (vio.ImageReadMode.GRAY, "L", 1),
                              (vio.ImageReadMode.GRAY_ALPHA, "LA", 2), (vio.ImageReadMode.RGBA, "RGBA", 4)]:
        got = vio.read_image(str(path), mode)
        exp = np.asarray(im.convert(pil_mode)).reshape(6, 5, c).transpose(2, 0, 1)
        np.testing.assert_array_equal(got.numpy(), exp)
    assert vio.ImageReadMode.RGBA is vio.ImageReadMode.RGB_ALPHA and vio.ImageReadMode.RGB.value == 3
    with pytest.raises(ValueError, match="unknown mode"):
        vio.read_image(str(path), "CMYK2")


def test_palette_and_16bit(tmp_path, rng):
    arr = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    p = tmp_path / "p.png"
    PIL.fromarray(arr).convert("P").save(p)
    np.testing.assert_array_equal(vio.read_image(str(p)).numpy(),
                                  np.asarray(PIL.open(p).convert("RGB")).transpose(2, 0, 1))
    a16 = rng.integers(0, 65536, (4, 3), dtype=np.uint16)
    q = tmp_path / "q.png"
    PIL.fromarray(a16).save(q)
    got = vio.read_image(str(q))
    assert got.dtype == ember.uint16 and tuple(got.shape) == (1, 4, 3)
    np.testing.assert_array_equal(got.numpy()[0], a16)


def test_jpeg_and_decode_image(tmp_path, rng):
    arr = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    path = _write(tmp_path, arr, "RGB", "JPEG", quality=90)
    got = vio.read_image(str(path))
    exp = np.asarray(PIL.open(path).convert("RGB")).transpose(2, 0, 1)
    np.testing.assert_array_equal(got.numpy(), exp)
    data = vio.read_file(str(path))
    assert data.dtype == ember.uint8 and data.ndim == 1
    np.testing.assert_array_equal(vio.decode_image(data).numpy(), exp)
    np.testing.assert_array_equal(vio.decode_image(path.read_bytes(), mode="GRAY").numpy()[0],
                                  np.asarray(PIL.open(path).convert("L")))
    np.testing.assert_array_equal(vio.decode_image(str(path)).numpy(), exp)


def test_corrupt_file_names_it(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(RuntimeError, match="broken.png"):
        vio.read_image(str(bad))
    good = io.BytesIO()
    PIL.new("RGB", (4, 4)).save(good, format="PNG")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.getvalue()[:40])
    with pytest.raises(RuntimeError, match="cut.png"):
        vio.read_image(truncated)
    with pytest.raises(RuntimeError, match="could not decode"):
        vio.decode_image(ember.from_numpy(np.frombuffer(b"garbage", np.uint8).copy()))
    with pytest.raises(RuntimeError, match="1-D uint8"):
        vio.decode_image(ember.zeros(3, 4))
    with pytest.raises(TypeError, match="decode_image"):
        vio.decode_image(3.5)
    with pytest.raises(FileNotFoundError):
        vio.read_image(str(tmp_path / "missing.png"))


# ----- utils -----

GRID_CASES = [dict(), dict(nrow=3, padding=1, pad_value=0.5), dict(normalize=True),
              dict(normalize=True, value_range=(-1.0, 1.0)), dict(normalize=True, scale_each=True, nrow=2),
              dict(padding=0, nrow=10)]


@pytest.mark.parametrize("kw", GRID_CASES)
def test_make_grid(torchvision, torch, rng, kw):
    a = (rng.standard_normal((5, 3, 4, 6)) * 2).astype(np.float32)
    got = vutils.make_grid(ember.from_numpy(a.copy()), **kw)
    ref = torchvision.utils.make_grid(torch.from_numpy(a.copy()), **kw)
    assert tuple(got.shape) == tuple(ref.shape)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


def test_make_grid_shapes(torchvision, torch, rng):
    for shape in [(1, 4, 5), (4, 5), (2, 1, 4, 5), (1, 3, 4, 5)]:
        a = rng.random(shape).astype(np.float32)
        got = vutils.make_grid(ember.from_numpy(a.copy()))
        ref = torchvision.utils.make_grid(torch.from_numpy(a.copy()))
        np.testing.assert_allclose(got.numpy(), ref.numpy())
    lst = [ember.from_numpy(rng.random((3, 4, 5)).astype(np.float32)) for _ in range(3)]
    got = vutils.make_grid(lst, nrow=2)
    ref = torchvision.utils.make_grid([torch.from_numpy(t.numpy().copy()) for t in lst], nrow=2)
    np.testing.assert_allclose(got.numpy(), ref.numpy())
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        vutils.make_grid(np.zeros((3, 4, 4)))
    with pytest.raises(TypeError, match="list containing"):
        vutils.make_grid([ember.zeros(3, 2, 2), 5])
    with pytest.raises(TypeError, match="value_range"):
        vutils.make_grid(ember.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1])


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_save_image(torchvision, torch, rng, tmp_path, ext):
    a = rng.random((4, 3, 5, 6)).astype(np.float32) * 1.2 - 0.1
    path = tmp_path / f"grid.{ext}"
    vutils.save_image(ember.from_numpy(a.copy()), str(path), nrow=2, padding=1)
    ref = tmp_path / f"ref.{ext}"
    torchvision.utils.save_image(torch.from_numpy(a.copy()), str(ref), nrow=2, padding=1)
    np.testing.assert_array_equal(np.asarray(PIL.open(path)), np.asarray(PIL.open(ref)))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    buf = io.BytesIO()
    vutils.save_image(ember.from_numpy(a[0].copy()), buf, format="PNG")
    tbuf = io.BytesIO()
    torchvision.utils.save_image(torch.from_numpy(a[0].copy()), tbuf, format="PNG")
    np.testing.assert_array_equal(np.asarray(PIL.open(buf)), np.asarray(PIL.open(tbuf)))


def test_save_image_atomic(tmp_path, monkeypatch):
    path = tmp_path / "keep.png"
    path.write_bytes(b"old")
    from PIL import Image

    def boom(self, fp, format=None, **kw):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        vutils.save_image(ember.zeros(3, 2, 2), str(path))
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["keep.png"]


def test_save_image_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match="unknown file extension"):
        vutils.save_image(ember.zeros(3, 2, 2), str(tmp_path / "x.notanimage"))


def test_vision_namespace():
    import ember.vision as v
    assert v.transforms.Resize and v.io.read_image and v.utils.make_grid
