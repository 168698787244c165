"""Gaps in the ember.vision tests: ViT-B/16 and small VisionTransformers against torchvision 0.28
on the same state_dict; corrupt JPEGs given to read_image / decode_image; the CIFAR-100 download
from a local HTTP server; to_grayscale, five_crop, ten_crop and get_image_size against
torchvision.transforms.functional; the error for an image of the wrong channel count."""
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

import ember
import ember.vision.transforms.functional as F
from ember.vision import io as vio
from ember.vision import models
from ember.vision.datasets import CIFAR100

PIL = pytest.importorskip("PIL.Image")


def _to_np(x):
    if isinstance(x, PIL.Image):
        return np.asarray(x)
    if isinstance(x, np.ndarray):
        return x
    return x.detach().numpy()  # ember or torch


def _assert_same_image(got, want, atol=0.0):
    assert isinstance(got, PIL.Image) == isinstance(want, PIL.Image), (type(got), type(want))
    if isinstance(got, PIL.Image):
        assert got.mode == want.mode and got.size == want.size, (got.mode, want.mode, got.size, want.size)
    g, w = _to_np(got), _to_np(want)
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=0)


# ----- Vision Transformer -----

def _randomize_zero_init(torch, tv_model):
    """torchvision zero-initialises the class token and the head (and BatchNorm's running
    statistics are 0 / 1): give them values so that the comparison sees them."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in tv_model.state_dict().items():
            if name == "class_token" or name.startswith("heads."):
                t.copy_(torch.randn(t.shape, generator=g) * 0.05)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)


def _load_and_compare_keys(em_model, tv_model):
    tv_sd, em_sd = tv_model.state_dict(), em_model.state_dict()
    assert list(em_sd) == list(tv_sd)
    for k in tv_sd:
        assert tuple(em_sd[k].shape) == tuple(tv_sd[k].shape), k
    result = em_model.load_state_dict(tv_sd, strict=True)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    for k, v in em_model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), tv_sd[k].numpy(), err_msg=k)


def _eval_outputs(torch, em_model, tv_model, x):
    em_model.eval()
    tv_model.eval()
    with torch.no_grad():
        want = tv_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em_model(ember.from_numpy(x)).numpy()
    return got, want


def _assert_close_f32(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    scale = float(np.abs(want).max())
    assert scale > 1e-2  # the outputs are not all zero (a zero head would hide everything)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale)


def test_vit_b_16_state_dict_is_torchvisions_and_outputs_match(torchvision, torch):
    torch.manual_seed(0)
    tv = torchvision.models.vit_b_16(weights=None)
    _randomize_zero_init(torch, tv)
    em = models.vit_b_16()
    _load_and_compare_keys(em, tv)
    assert sum(p.numel() for p in em.parameters()) == sum(p.numel() for p in tv.parameters()) == 86_567_656
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    got, want = _eval_outputs(torch, em, tv, x)
    assert got.shape == (1, 1000)
    _assert_close_f32(got, want)


SMALL_VIT = dict(image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=32, mlp_dim=48)


@pytest.mark.parametrize("extra", [dict(num_classes=10), dict(num_classes=7, representation_size=24),
                                   "conv_stem"], ids=["plain", "representation", "conv_stem"])
def test_small_vision_transformer_matches_torchvision(torchvision, torch, extra):
    if extra == "conv_stem":
        tv_cfg = torchvision.models.vision_transformer.ConvStemConfig
        kw_tv = dict(num_classes=5, conv_stem_configs=[tv_cfg(8, 3, 2), tv_cfg(16, 3, 2), tv_cfg(16, 3, 2)])
        kw_em = dict(num_classes=5, conv_stem_configs=[models.ConvStemConfig(8, 3, 2), models.ConvStemConfig(16, 3, 2),
                                                       models.ConvStemConfig(16, 3, 2)])
    else:
        kw_tv = kw_em = extra
    torch.manual_seed(1)
    tv = torchvision.models.VisionTransformer(**SMALL_VIT, **kw_tv)
    _randomize_zero_init(torch, tv)
    em = models.VisionTransformer(**SMALL_VIT, **kw_em)
    _load_and_compare_keys(em, tv)
    x = np.random.default_rng(2).standard_normal((3, 3, 32, 32)).astype(np.float32)
    got, want = _eval_outputs(torch, em, tv, x)
    _assert_close_f32(got, want)


def test_small_vision_transformer_train_mode_gradients_match_torchvision(torchvision, torch):
    """Training mode with dropout 0: the same outputs, and the same gradients of every parameter."""
    torch.manual_seed(3)
    tv = torchvision.models.VisionTransformer(**SMALL_VIT, num_classes=6, representation_size=16).train()
    _randomize_zero_init(torch, tv)
    em = models.VisionTransformer(**SMALL_VIT, num_classes=6, representation_size=16).train()
    em.load_state_dict(tv.state_dict())
    x = np.random.default_rng(4).standard_normal((2, 3, 32, 32)).astype(np.float32)
    w = np.random.default_rng(5).standard_normal((2, 6)).astype(np.float32)
    out_t = tv(torch.from_numpy(x))
    (out_t * torch.from_numpy(w)).sum().backward()
    out_e = em(ember.from_numpy(x))
    (out_e * ember.from_numpy(w)).sum().backward()
    _assert_close_f32(out_e.detach().numpy(), out_t.detach().numpy())
    tv_params = dict(tv.named_parameters())
    em_params = dict(em.named_parameters())
    assert list(em_params) == list(tv_params)
    for name, p in tv_params.items():
        g_t = p.grad.numpy()
        g_e = em_params[name].grad
        assert g_e is not None, name
        np.testing.assert_allclose(g_e.numpy(), g_t, rtol=1e-3, atol=1e-4 * max(float(np.abs(g_t).max()), 1e-3),
                                   err_msg=name)


def test_vision_transformer_wrong_input_size_message_is_torchvisions(torchvision, torch):
    """The same message; ember raises ValueError where torchvision's torch._assert raises AssertionError."""
    tv = torchvision.models.VisionTransformer(**SMALL_VIT)
    em = models.VisionTransformer(**SMALL_VIT)
    for shape in ((1, 3, 24, 32), (1, 3, 32, 40)):
        with pytest.raises(AssertionError) as te:
            tv(torch.zeros(shape))
        with pytest.raises(ValueError) as ee:
            em(ember.zeros(*shape))
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Input shape indivisible by patch size!"):
        models.VisionTransformer(**{**SMALL_VIT, "image_size": 30})


# ----- corrupt JPEG -----

def _jpeg_bytes(rng, h=32, w=48):
    buf = io.BytesIO()
    PIL.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _corrupt_jpegs(good, rng):
    return {
        "header_only.jpg": good[:20],
        "cut_in_header.jpg": good[:200],
        "cut_in_scan.jpg": good[:len(good) // 2],
        "no_end_marker.jpg": good[:-2],
        "jpeg_marker_then_garbage.jpg": good[:3] + rng.integers(0, 256, 600, dtype=np.uint8).tobytes(),
    }


def test_corrupt_jpeg_read_image_names_file_and_expected_format(tmp_path, rng):
    good = _jpeg_bytes(rng)
    ok = tmp_path / "ok.jpg"
    ok.write_bytes(good)
    assert tuple(vio.read_image(ok).shape) == (3, 32, 48)  # the uncorrupted original decodes
    for name, data in _corrupt_jpegs(good, rng).items():
        path = tmp_path / name
        path.write_bytes(data)
        for mode in (vio.ImageReadMode.UNCHANGED, vio.ImageReadMode.RGB, vio.ImageReadMode.GRAY):
            with pytest.raises(RuntimeError) as ei:
                vio.read_image(path, mode)
            msg = str(ei.value)
            assert "\n" not in msg
            assert msg.startswith(f"decode_image: could not decode {str(path)!r}: expected a complete JPEG "
                                  f"image, but its {len(data):,} bytes are truncated or corrupt (Pillow: "), msg
            assert "BytesIO" not in msg
            assert ei.value.__cause__ is not None  # Pillow's own error is chained
        with pytest.raises(RuntimeError, match=name):
            vio.decode_image(str(path))  # a path goes through read_image


def test_corrupt_jpeg_decode_image_says_what_was_expected(rng):
    good = _jpeg_bytes(rng)
    for name, data in _corrupt_jpegs(good, rng).items():
        for source in (data, ember.from_numpy(np.frombuffer(data, np.uint8).copy()), np.frombuffer(data, np.uint8)):
            with pytest.raises(RuntimeError, match=r"^decode_image: could not decode the input data: expected a "
                                                   r"complete JPEG image, but its [\d,]+ bytes are truncated or "
                                                   r"corrupt \(Pillow: \w+: .+\)$"):
                vio.decode_image(source)


def test_unrecognised_and_empty_data_say_what_was_expected(tmp_path, rng):
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"GARBAGE!" + rng.integers(0, 256, 100, dtype=np.uint8).tobytes())
    with pytest.raises(RuntimeError) as ei:
        vio.read_image(garbage)
    msg = str(ei.value)
    assert msg.startswith(f"decode_image: could not decode {str(garbage)!r}: expected an encoded image (PNG, JPEG "
                          f"or another format Pillow reads), but its 108 bytes start with b'GARBAGE!' (Pillow: "), msg
    assert "BytesIO" not in msg  # the repr of Pillow's file object says nothing to the caller
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(RuntimeError, match=r"empty\.jpg': it is empty \(0 bytes\); expected an encoded image"):
        vio.read_image(empty)
    with pytest.raises(RuntimeError, match=r"^decode_image: could not decode the input data: it is empty"):
        vio.decode_image(b"")


def test_corrupt_png_says_the_same_as_corrupt_jpeg(tmp_path):
    buf = io.BytesIO()
    PIL.new("RGB", (6, 5), (10, 20, 30)).save(buf, format="PNG")
    good = buf.getvalue()
    for name, data in (("cut.png", good[:40]), ("broken.png", good[:8] + b" this is not a png")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(RuntimeError) as ei:
            vio.read_image(path)
        assert str(ei.value).startswith(f"decode_image: could not decode {str(path)!r}: expected a complete PNG "
                                        f"image, but its {len(data):,} bytes are truncated or corrupt (Pillow: ")
    # the format comes from the content, not the file name
    misnamed = tmp_path / "really_a_png.jpg"
    misnamed.write_bytes(good[:40])
    with pytest.raises(RuntimeError, match="expected a complete PNG image"):
        vio.read_image(misnamed)


# ----- CIFAR-100 download from a local HTTP server -----

class _Files(http.server.BaseHTTPRequestHandler):
    files = {}
    requests = []

    def do_GET(self):
        type(self).requests.append(self.path)
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=srv.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    _Files.files, _Files.requests = {}, []
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def _cifar100_records(n, seed):
    """n binary records: coarse label byte, fine label byte, 1,024 red, 1,024 green, 1,024 blue
    bytes (rows of 32); returns (bytes, images (n, 32, 32, 3), coarse, fine)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 20, n).astype(np.uint8)
    fine = rng.integers(0, 100, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    planes = images.transpose(0, 3, 1, 2).reshape(n, 3072)  # channel-major, as the files store them
    records = np.concatenate([coarse[:, None], fine[:, None], planes], axis=1)
    return records.tobytes(), images, coarse, fine


def _cifar100_archive():
    train, train_x, train_c, train_f = _cifar100_records(7, seed=11)
    test, test_x, test_c, test_f = _cifar100_records(3, seed=12)
    members = {
        "cifar-100-binary/coarse_label_names.txt": "".join(f"coarse_{i}\n" for i in range(20)).encode(),
        "cifar-100-binary/fine_label_names.txt": "".join(f"fine_{i}\n" for i in range(100)).encode(),
        "cifar-100-binary/train.bin": train,
        "cifar-100-binary/test.bin": test,
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue(), {"train": (train_x, train_c, train_f), "test": (test_x, test_c, test_f)}


def test_cifar100_download_archive(server, tmp_path, monkeypatch):
    archive, expected = _cifar100_archive()
    assert CIFAR100.filename == "cifar-100-binary.tar.gz" and CIFAR100.url.endswith("/cifar-100-binary.tar.gz")
    _Files.files = {"cifar-100-binary.tar.gz": archive}
    monkeypatch.setattr(CIFAR100, "url", server + "cifar-100-binary.tar.gz")
    monkeypatch.setattr(CIFAR100, "tgz_md5", hashlib.md5(archive).hexdigest())
    root = tmp_path / "root"
    train = CIFAR100(root, download=True)
    assert _Files.requests == ["/cifar-100-binary.tar.gz"]
    assert (root / "cifar-100-binary.tar.gz").read_bytes() == archive
    assert sorted(p.name for p in (root / "cifar-100-binary").iterdir()) == [
        "coarse_label_names.txt", "fine_label_names.txt", "test.bin", "train.bin"]
    test = CIFAR100(root, train=False, download=True)  # already there: nothing fetched
    assert _Files.requests == ["/cifar-100-binary.tar.gz"]
    for ds, (x, coarse, fine) in ((train, expected["train"]), (test, expected["test"])):
        assert len(ds) == len(x)
        assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == x.shape
        np.testing.assert_array_equal(ds.data, x)
        assert ds.targets == fine.tolist() and all(type(t) is int for t in ds.targets)
        assert ds.coarse_targets == coarse.tolist()
        assert ds.classes == [f"fine_{i}" for i in range(100)] and ds.class_to_idx["fine_42"] == 42
        assert ds.coarse_classes == [f"coarse_{i}" for i in range(20)]
        img, label = ds[len(ds) - 1]
        assert img.mode == "RGB" and img.size == (32, 32) and label == int(fine[-1])
        np.testing.assert_array_equal(np.asarray(img), x[-1])


def test_cifar100_download_wrong_checksum_names_url_and_checksums(server, tmp_path, monkeypatch):
    archive, _ = _cifar100_archive()
    _Files.files = {"cifar-100-binary.tar.gz": archive}
    url = server + "cifar-100-binary.tar.gz"
    monkeypatch.setattr(CIFAR100, "url", url)
    published = CIFAR100.tgz_md5  # the real archive's MD5, which the synthetic one does not have
    assert published == "03b5dce01913d631647c71ecec9e9cb8"
    got = hashlib.md5(archive).hexdigest()
    root = tmp_path / "root"
    with pytest.raises(RuntimeError) as ei:
        CIFAR100(root, download=True)
    assert str(ei.value) == f"File not found or corrupted. {url}: expected MD5 {published}, got {got}"
    assert not (root / "cifar-100-binary.tar.gz").exists() and not (root / "cifar-100-binary").exists()
    assert [p for p in root.rglob("*") if p.is_file()] == []  # nothing unverified is left
    monkeypatch.setattr(CIFAR100, "tgz_md5", "f" * 32)
    with pytest.raises(RuntimeError, match=rf"^File not found or corrupted\. {url}: expected MD5 {'f' * 32}, "
                                           rf"got {got}$"):
        CIFAR100(root, download=True)


# ----- to_grayscale, five_crop, ten_crop, get_image_size -----

def _pil_images(rng):
    rgb = rng.integers(0, 256, (11, 14, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (11, 14, 4), dtype=np.uint8)
    return {"RGB": PIL.fromarray(rgb, "RGB"), "L": PIL.fromarray(rgb[..., 0], "L"),
            "RGBA": PIL.fromarray(rgba, "RGBA"), "P": PIL.fromarray(rgb, "RGB").convert("P")}


@pytest.mark.parametrize("n", [1, 3])
def test_to_grayscale_pil_matches_torchvision(torchvision, rng, n):
    tvF = torchvision.transforms.functional
    for mode, im in _pil_images(rng).items():
        got, want = F.to_grayscale(im, n), tvF.to_grayscale(im, n)
        assert got.mode == want.mode == ("L" if n == 1 else "RGB"), mode
        _assert_same_image(got, want)
        if n == 3:
            a = np.asarray(got)
            assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
    im = _pil_images(rng)["RGB"]
    for fn in (F.to_grayscale, tvF.to_grayscale):
        with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
            fn(im, 2)


@pytest.mark.parametrize("n", [1, 3])
def test_to_grayscale_tensor_matches_torchvisions_rgb_to_grayscale(torchvision, torch, rng, n):
    """torchvision's to_grayscale takes PIL images only; ember's also takes tensors and
    arrays, as its rgb_to_grayscale (the torchvision function for tensors)."""
    tvF = torchvision.transforms.functional
    u8 = rng.integers(0, 256, (3, 11, 14), dtype=np.uint8)
    f32 = rng.random((2, 3, 11, 14)).astype(np.float32)  # batched
    for a, atol in ((u8, 1), (f32, 1e-6), (u8[:1], 0)):
        want = tvF.rgb_to_grayscale(torch.from_numpy(a.copy()), n)
        got_tensor = F.to_grayscale(ember.from_numpy(a.copy()), n)
        got_array = F.to_grayscale(a.copy(), n)
        assert isinstance(got_tensor, ember.Tensor) and isinstance(got_array, np.ndarray)
        for got in (got_tensor, got_array):
            _assert_same_image(got, want, atol)
    with pytest.raises(TypeError, match="Input should be PIL Image"):
        tvF.to_grayscale(torch.from_numpy(u8))
    with pytest.raises(TypeError, match="to_grayscale"):
        F.to_grayscale([[1, 2], [3, 4]])


def _crop_inputs(torch, rng):
    """(name, ember input, torchvision input): PIL RGB and L, uint8 CHW, batched float NCHW, HW."""
    hwc = rng.integers(0, 256, (13, 16, 3), dtype=np.uint8)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    nchw = rng.random((2, 3, 13, 16)).astype(np.float32)
    hw = hwc[..., 1].copy()
    rgb, gray = PIL.fromarray(hwc, "RGB"), PIL.fromarray(hwc[..., 0], "L")
    return [("RGB", rgb, rgb), ("L", gray, gray),
            ("u8", ember.from_numpy(chw.copy()), torch.from_numpy(chw.copy())),
            ("f32_batched", ember.from_numpy(nchw.copy()), torch.from_numpy(nchw.copy())),
            ("hw", ember.from_numpy(hw.copy()), torch.from_numpy(hw.copy())),
            ("ndarray", chw.copy(), torch.from_numpy(chw.copy()))]


# odd and even margins: the centre crop rounds as torchvision does
CROP_SIZES = [4, 13, (5, 16), (6, 7), [3], (13, 16)]


@pytest.mark.parametrize("size", CROP_SIZES, ids=str)
def test_five_crop_matches_torchvision(torchvision, torch, rng, size):
    tvF = torchvision.transforms.functional
    for name, e_in, t_in in _crop_inputs(torch, rng):
        got, want = F.five_crop(e_in, size), tvF.five_crop(t_in, size)
        assert isinstance(got, tuple) and len(got) == len(want) == 5, name
        for g, w in zip(got, want):
            _assert_same_image(g, w)
            if name == "ndarray":
                assert isinstance(g, np.ndarray)


@pytest.mark.parametrize("vertical_flip", [False, True])
@pytest.mark.parametrize("size", CROP_SIZES, ids=str)
def test_ten_crop_matches_torchvision(torchvision, torch, rng, size, vertical_flip):
    tvF = torchvision.transforms.functional
    for name, e_in, t_in in _crop_inputs(torch, rng):
        got = F.ten_crop(e_in, size, vertical_flip=True) if vertical_flip else F.ten_crop(e_in, size)  # the default
        want = tvF.ten_crop(t_in, size, vertical_flip=vertical_flip)
        assert isinstance(got, tuple) and len(got) == len(want) == 10, name
        for g, w in zip(got, want):
            _assert_same_image(g, w)
        # the last five are the first five of the flipped image
        flip = F.vflip if vertical_flip else F.hflip
        for g, w in zip(got[5:], F.five_crop(flip(e_in), size)):
            _assert_same_image(g, w)


def test_five_and_ten_crop_errors_match_torchvision(torchvision, torch, rng):
    tvF = torchvision.transforms.functional
    for name, e_in, t_in in _crop_inputs(torch, rng):
        for bad in (14, (5, 17), (3, 4, 5)):
            for ours, ref in ((F.five_crop, tvF.five_crop), (F.ten_crop, tvF.ten_crop)):
                with pytest.raises(ValueError) as te:
                    ref(t_in, bad)
                with pytest.raises(ValueError) as ee:
                    ours(e_in, bad)
                assert str(ee.value) == str(te.value), (name, bad)


def test_get_image_size_matches_torchvision(torchvision, torch, rng):
    tvF = torchvision.transforms.functional
    for im in _pil_images(rng).values():
        assert F.get_image_size(im) == tvF.get_image_size(im) == [14, 11]
        assert F.get_dimensions(im) == tvF.get_dimensions(im)
        assert F.get_image_num_channels(im) == tvF.get_image_num_channels(im)
    for shape in ((7, 5), (1, 7, 5), (3, 7, 5), (4, 2, 7, 5), (2, 2, 3, 9, 1)):
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        t = torch.from_numpy(a.copy())
        want = tvF.get_image_size(t)
        for e in (ember.from_numpy(a.copy()), a):
            got = F.get_image_size(e)
            assert type(got) is list and got == want == [shape[-1], shape[-2]], shape
            assert all(type(v) is int for v in got)
            assert F.get_dimensions(e) == tvF.get_dimensions(t)
            assert F.get_image_num_channels(e) == tvF.get_image_num_channels(t)
    for bad_e, bad_t in ((ember.zeros(5), torch.zeros(5)), ("img.png", "img.png")):
        with pytest.raises(TypeError):
            tvF.get_image_size(bad_t)
        with pytest.raises(TypeError):
            F.get_image_size(bad_e)


# ----- an image of the wrong channel count given to a model -----

def test_wrong_channel_count_names_the_layer(torchvision, torch):
    """The error names the layer (its type and channels) and the input's shape; like PyTorch's it
    does not name the layer's path in the model (``conv1``): modules do not know their names."""
    em = models.resnet18(num_classes=10).eval()
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3 -> 64\) expected input with 3 channels, got shape "
                                           r"\(1, 1, 32, 32\)$"):
        with ember.no_grad():
            em(ember.zeros(1, 1, 32, 32))
    with pytest.raises(RuntimeError, match="expected input.* to have 3 channels, but got 1 channels"):
        with torch.no_grad():
            torchvision.models.resnet18(num_classes=10).eval()(torch.zeros(1, 1, 32, 32))
    vit = models.VisionTransformer(**SMALL_VIT)
    with pytest.raises(RuntimeError, match=r"^Conv2d\(3 -> 32\) expected input with 3 channels, got shape "
                                           r"\(2, 4, 32, 32\)$"):
        vit(ember.zeros(2, 4, 32, 32))
