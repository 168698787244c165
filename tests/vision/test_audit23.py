"""Audit of issue #23's ember.vision list: each deterministic transform class of the issue on
PIL images (L and RGB), uint8 and float tensors and NumPy arrays against torchvision 0.28; Normalize given
the wrong channel count; a checksum mismatch naming the URL and both checksums (local HTTP
server); a torchvision state_dict saved with safetensors loading into ember.vision.models."""
import hashlib
import http.server
import threading

import numpy as np
import pytest

import ember
import ember.vision.transforms as T
from ember.vision import models
from ember.vision.datasets import CIFAR10
from ember.vision.datasets.utils import download_url

PIL = pytest.importorskip("PIL.Image")


def _np(x):
    if isinstance(x, (PIL.Image, np.ndarray)):
        return np.asarray(x)
    return x.numpy()


def _same(got, want, atol):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, atol)
        return
    assert isinstance(got, (PIL.Image, ember.Tensor, np.ndarray))
    assert isinstance(got, PIL.Image) == isinstance(want, PIL.Image)
    g, w = _np(got), _np(want)
    assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape, g.dtype, w.dtype)
    np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), atol=atol, rtol=0)


def _transform_cases(tvT, IM):
    """(ember transform, torchvision transform), same arguments; the random ones with
    degenerate ranges or p=1, so that both sides draw the same parameters."""
    B = IM.BILINEAR if hasattr(IM, "BILINEAR") else None
    return [
        (T.Resize((7, 9)), tvT.Resize((7, 9))),
        (T.Resize(8, interpolation=T.InterpolationMode.BICUBIC), tvT.Resize(8, interpolation=IM.BICUBIC)),
        (T.Resize(6, interpolation=T.InterpolationMode.NEAREST, max_size=9),
         tvT.Resize(6, interpolation=IM.NEAREST, max_size=9)),
        (T.CenterCrop((9, 20)), tvT.CenterCrop((9, 20))),
        (T.Pad((1, 2, 3, 4), fill=7), tvT.Pad((1, 2, 3, 4), fill=7)),
        (T.Pad(3, padding_mode="reflect"), tvT.Pad(3, padding_mode="reflect")),
        (T.Pad((2, 1), padding_mode="edge"), tvT.Pad((2, 1), padding_mode="edge")),
        (T.Pad(2, padding_mode="symmetric"), tvT.Pad(2, padding_mode="symmetric")),
        (T.Grayscale(3), tvT.Grayscale(3)),
        (T.RandomGrayscale(p=1.0), tvT.RandomGrayscale(p=1.0)),
        (T.GaussianBlur(5, sigma=(0.9, 0.9)), tvT.GaussianBlur(5, sigma=(0.9, 0.9))),
        (T.FiveCrop(6), tvT.FiveCrop(6)),
        (T.TenCrop((5, 7), vertical_flip=True), tvT.TenCrop((5, 7), vertical_flip=True)),
        (T.RandomHorizontalFlip(p=1.0), tvT.RandomHorizontalFlip(p=1.0)),
        (T.RandomVerticalFlip(p=1.0), tvT.RandomVerticalFlip(p=1.0)),
        (T.RandomRotation((33, 33), expand=True, fill=5), tvT.RandomRotation((33, 33), expand=True, fill=5)),
        (T.RandomRotation((-20, -20), interpolation=T.InterpolationMode.BILINEAR, center=(3, 4)),
         tvT.RandomRotation((-20, -20), interpolation=B, center=(3, 4))),
        (T.RandomAffine((15, 15), scale=(1.2, 1.2), shear=(8, 8, -5, -5)),
         tvT.RandomAffine((15, 15), scale=(1.2, 1.2), shear=(8, 8, -5, -5))),
        (T.ColorJitter(brightness=(1.4, 1.4)), tvT.ColorJitter(brightness=(1.4, 1.4))),
        (T.ColorJitter(contrast=(0.6, 0.6)), tvT.ColorJitter(contrast=(0.6, 0.6))),
        (T.ColorJitter(saturation=(1.8, 1.8)), tvT.ColorJitter(saturation=(1.8, 1.8))),
        (T.ColorJitter(hue=(0.2, 0.2)), tvT.ColorJitter(hue=(0.2, 0.2))),
    ]


N_CASES = 22


@pytest.mark.parametrize("kind", ["RGB", "L", "u8", "f32", "ndarray_u8", "ndarray_f32"])
@pytest.mark.parametrize("i", range(N_CASES))
def test_transform_matches_torchvision(torchvision, torch, rng, kind, i):
    tvT = torchvision.transforms
    cases = _transform_cases(tvT, tvT.InterpolationMode)
    assert len(cases) == N_CASES
    e_tr, t_tr = cases[i]
    hwc = rng.integers(0, 256, size=(13, 17, 3), dtype=np.uint8)
    if kind == "RGB":
        e_in = t_in = PIL.fromarray(hwc, "RGB")
    elif kind == "L":
        e_in = t_in = PIL.fromarray(hwc[..., 0], "L")
    else:
        chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
        if kind.endswith("f32"):
            chw = (chw / 255.0).astype(np.float32)
        e_in, t_in = ember.from_numpy(chw.copy()), torch.from_numpy(chw.copy())
        if kind.startswith("ndarray"):  # a NumPy array in, NumPy arrays out
            e_in = chw.copy()
    atol = {"RGB": 0, "L": 0, "u8": 1, "f32": 2e-5, "ndarray_u8": 1, "ndarray_f32": 2e-5}[kind]
    if kind in ("RGB", "L") and "GaussianBlur" in repr(e_tr):
        atol = 1  # torchvision blurs PIL images through tensors with rounding
    got = e_tr(e_in)
    if kind.startswith("ndarray"):
        assert all(isinstance(g, np.ndarray) for g in (got if isinstance(got, (tuple, list)) else [got]))
    _same(got, t_tr(t_in), atol)


def test_random_crop_pad_if_needed_seeded(rng):
    img = ember.from_numpy(rng.integers(0, 256, size=(3, 13, 17), dtype=np.uint8))
    tr = T.RandomCrop(20, padding=2, pad_if_needed=True, fill=3)
    ember.manual_seed(4)
    a = tr(img)
    ember.manual_seed(4)
    b = tr(img)
    assert tuple(a.shape) == (3, 20, 20)
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # seeded through ember's generator
    pil = T.RandomCrop((20, 25), pad_if_needed=True, padding_mode="reflect")(PIL.fromarray(img.numpy()[0]))
    assert pil.size == (25, 20)


def test_conversions_match_torchvision(torchvision, torch, rng):
    tvT = torchvision.transforms
    for mode, arr in (("RGB", rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)),
                      ("L", rng.integers(0, 256, (5, 6), dtype=np.uint8)),
                      ("RGBA", rng.integers(0, 256, (5, 6, 4), dtype=np.uint8))):
        im = PIL.fromarray(arr, mode)
        _same(T.ToTensor()(im), tvT.ToTensor()(im), 0)
        _same(T.PILToTensor()(im), tvT.PILToTensor()(im), 0)
    u8 = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    for dt, tdt in ((ember.float32, torch.float32), (ember.float64, torch.float64), (ember.int32, torch.int32)):
        _same(T.ConvertImageDtype(dt)(ember.from_numpy(u8)), tvT.ConvertImageDtype(tdt)(torch.from_numpy(u8)), 0)
    f = rng.random((2, 3, 4, 5)).astype(np.float32)
    e = T.Compose([T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)), T.Lambda(lambda x: x * 2)])
    t = tvT.Compose([tvT.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)), tvT.Lambda(lambda x: x * 2)])
    _same(e(ember.from_numpy(f)), t(torch.from_numpy(f)), 1e-6)


def test_normalize_wrong_channel_count_is_named(torchvision, torch):
    x = np.zeros((4, 5, 5), np.float32)
    with pytest.raises(RuntimeError, match=r"normalize: mean has 3 values, one per channel, but the image has "
                                           r"4 channels \(shape \(4, 5, 5\)\)"):
        T.Normalize((0.5,) * 3, (0.5,) * 3)(ember.from_numpy(x))
    with pytest.raises(RuntimeError, match=r"std has 2 values"):
        T.Normalize((0.5,), (0.5, 0.5))(ember.from_numpy(x))
    with pytest.raises(RuntimeError):  # torchvision refuses it too
        torchvision.transforms.Normalize((0.5,) * 3, (0.5,) * 3)(torch.from_numpy(x))
    one = T.Normalize((0.5,), (0.25,))(ember.from_numpy(x))  # one value serves every channel, as in torchvision
    np.testing.assert_array_equal(one.numpy(), np.full((4, 5, 5), -2.0, np.float32))


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def test_checksum_mismatch_names_url_and_both_checksums(server, tmp_path, monkeypatch):
    _Handler.body = b"not a cifar archive"
    got = hashlib.md5(_Handler.body).hexdigest()
    url = server + "cifar-10-binary.tar.gz"
    with pytest.raises(RuntimeError, match=rf"^File not found or corrupted\. {url}: expected MD5 {'0' * 32}, "
                                           rf"got {got}$"):
        download_url(url, tmp_path, md5="0" * 32, quiet=True)
    sha = hashlib.sha256(_Handler.body).hexdigest()
    with pytest.raises(RuntimeError, match=rf"expected SHA-256 {'a' * 64}, got {sha}$"):
        download_url(url, tmp_path, sha256="A" * 64, quiet=True)
    assert list(tmp_path.iterdir()) == []  # nothing unverified is left
    monkeypatch.setattr(CIFAR10, "url", url)
    with pytest.raises(RuntimeError, match=rf"{url}: expected MD5 {CIFAR10.tgz_md5}, got {got}"):
        CIFAR10(tmp_path / "root", download=True)


def test_safetensors_state_dict_loads_with_same_outputs(torchvision, torch, tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tv = torchvision.models.mobilenet_v3_small(weights=None, num_classes=10).eval()
    with torch.no_grad():
        for name, b in tv.named_buffers():
            if name.endswith("running_var"):
                b.uniform_(0.5, 1.5)
            elif name.endswith("running_mean"):
                b.normal_(0, 0.1)
    path = tmp_path / "mnv3.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in tv.state_dict().items()}, str(path))
    em = models.mobilenet_v3_small(num_classes=10).eval()
    em.load_state_dict(ember.load(path))
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        want = tv(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
