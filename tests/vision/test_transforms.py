"""ember.vision.transforms against torchvision 0.28 on the same PIL images and tensors."""
import numpy as np
import pytest

import ember
import ember.vision.transforms as T
import ember.vision.transforms.functional as F

PIL = pytest.importorskip("PIL.Image")


def _img_np(rng, h=13, w=17, c=3):
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)


@pytest.fixture
def pil_rgb(rng):
    return PIL.fromarray(_img_np(rng), "RGB")


@pytest.fixture
def chw_u8(rng):
    return np.ascontiguousarray(_img_np(rng).transpose(2, 0, 1))


def _np(x):
    if isinstance(x, PIL.Image):
        return np.asarray(x)
    if isinstance(x, ember.Tensor):
        return x.numpy()
    if isinstance(x, np.ndarray):
        return x
    return x.numpy()  # torch


def _same(a, b, atol=0):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if atol == 0:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), atol=atol,
                                   rtol=1e-5 if atol < 1 else 0)


def _pair(torch, a):
    """(ember Tensor, torch tensor) of the same array."""
    return ember.from_numpy(a.copy()), torch.from_numpy(a.copy())


def _tvmode(torchvision, mode):
    return getattr(torchvision.transforms.InterpolationMode, mode.name)


# ----- conversions -----

@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "1", "I", "F", "I;16"])
def test_to_tensor_pil_modes(torchvision, torch, rng, mode):
    im = PIL.fromarray(_img_np(rng)).convert(mode)
    tv = torchvision.transforms.functional
    _same(F.to_tensor(im), tv.to_tensor(im))
    _same(T.ToTensor()(im), torchvision.transforms.ToTensor()(im))
    if mode not in ("1",):
        _same(F.pil_to_tensor(im), tv.pil_to_tensor(im))


def test_to_tensor_ndarray(torchvision, torch, rng):
    a = _img_np(rng)
    _same(F.to_tensor(a), torchvision.transforms.functional.to_tensor(a))
    f = rng.random((5, 6, 2)).astype(np.float64)
    _same(F.to_tensor(f), torchvision.transforms.functional.to_tensor(f))


@pytest.mark.parametrize("src,dst", [("uint8", "float32"), ("float32", "uint8"), ("uint8", "int32"),
                                     ("int32", "uint8"), ("float64", "int16"), ("float32", "float64")])
def test_convert_image_dtype(torchvision, torch, rng, src, dst):
    a = (rng.random((3, 4, 5)) * 255).astype(src) if src.startswith("uint") else None
    if a is None:
        a = (rng.random((3, 4, 5))).astype(src) if src.startswith("float") else \
            rng.integers(0, 2**31 - 1, (3, 4, 5)).astype(src)
    e, t = _pair(torch, a)
    _same(F.convert_image_dtype(e, getattr(ember, dst)),
          torchvision.transforms.functional.convert_image_dtype(t, getattr(torch, dst)))
    _same(T.ConvertImageDtype(getattr(ember, dst))(e),
          torchvision.transforms.ConvertImageDtype(getattr(torch, dst))(t))


def test_convert_image_dtype_unsafe(torch):
    with pytest.raises(RuntimeError, match="cannot be performed safely"):
        F.convert_image_dtype(ember.zeros(3, 2, 2), ember.int64)


def test_to_pil_image_roundtrip(torchvision, torch, rng):
    tv = torchvision.transforms.functional
    for c in (1, 3, 4):
        a = rng.random((c, 5, 6)).astype(np.float32)
        e, t = _pair(torch, a)
        _same(F.to_pil_image(e), tv.to_pil_image(t))
        u = _img_np(rng, 5, 6, c)
        assert F.to_pil_image(u).mode == tv.to_pil_image(u).mode
        _same(F.to_pil_image(u), tv.to_pil_image(u))


def test_normalize(torchvision, torch, rng):
    a = rng.random((2, 3, 4, 5)).astype(np.float32)
    e, t = _pair(torch, a)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    _same(T.Normalize(mean, std)(e), torchvision.transforms.Normalize(mean, std)(t), atol=1e-6)
    out = F.normalize(e, mean, std, inplace=True)
    assert out is e
    np.testing.assert_allclose(e.numpy(), torchvision.transforms.functional.normalize(t, mean, std).numpy(), atol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        F.normalize(ember.zeros(3, 2, 2, dtype=ember.uint8), mean, std)
    with pytest.raises(ValueError, match="division by zero"):
        F.normalize(ember.zeros(3, 2, 2), mean, [1, 0, 1])
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        F.normalize(ember.zeros(2, 2), [0], [1])


def test_compose_lambda(torchvision, pil_rgb):
    tr = T.Compose([T.CenterCrop(8), T.Lambda(lambda x: F.hflip(x)), T.ToTensor()])
    ref = torchvision.transforms.Compose([torchvision.transforms.CenterCrop(8),
                                          torchvision.transforms.Lambda(lambda x: x.transpose(0)),
                                          torchvision.transforms.ToTensor()])
    _same(tr(pil_rgb), ref(pil_rgb))
    assert "CenterCrop" in repr(tr)
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


# ----- geometry -----

RESIZE_CASES = [(8, "BILINEAR"), ((7, 20), "BILINEAR"), (9, "NEAREST"), ((20, 9), "BICUBIC"),
                ([6], "NEAREST_EXACT"), (5, "BICUBIC")]


@pytest.mark.parametrize("size,mode", RESIZE_CASES)
def test_resize_pil(torchvision, pil_rgb, size, mode):
    m = getattr(T.InterpolationMode, mode)
    _same(T.Resize(size, m)(pil_rgb), torchvision.transforms.Resize(size, _tvmode(torchvision, m))(pil_rgb))


@pytest.mark.parametrize("size,mode", RESIZE_CASES)
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_tensor(torchvision, torch, rng, size, mode, antialias):
    m = getattr(T.InterpolationMode, mode)
    for a, atol in ((_img_np(rng).transpose(2, 0, 1), 1), (rng.random((2, 3, 13, 17)).astype(np.float32), 1e-5)):
        e, t = _pair(torch, np.ascontiguousarray(a))
        got = T.Resize(size, m, antialias=antialias)(e)
        ref = torchvision.transforms.Resize(size, _tvmode(torchvision, m), antialias=antialias)(t)
        _same(got, ref, atol=atol)
        if a.dtype == np.uint8:  # off by one only on rare rounding ties
            assert (np.abs(_np(got).astype(int) - _np(ref).astype(int)) > 0).mean() < 0.02


def test_resize_max_size_and_errors(torchvision, pil_rgb):
    _same(F.resize(pil_rgb, 8, max_size=12), torchvision.transforms.functional.resize(pil_rgb, 8, max_size=12))
    with pytest.raises(ValueError, match="max_size"):
        F.resize(pil_rgb, 8, max_size=8)
    with pytest.raises(ValueError, match="max_size should only be passed"):
        F.resize(pil_rgb, [8, 9], max_size=12)
    with pytest.raises(TypeError, match="Size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize([1, 2, 3])


@pytest.mark.parametrize("size", [8, (5, 9), (20, 11), [15]])
def test_center_crop(torchvision, torch, pil_rgb, chw_u8, size):
    _same(T.CenterCrop(size)(pil_rgb), torchvision.transforms.CenterCrop(size)(pil_rgb))
    e, t = _pair(torch, chw_u8)
    _same(T.CenterCrop(size)(e), torchvision.transforms.CenterCrop(size)(t))


def test_crop_outside(torchvision, torch, pil_rgb, chw_u8):
    tv = torchvision.transforms.functional
    e, t = _pair(torch, chw_u8)
    for args in [(2, 3, 5, 6), (-2, -3, 8, 9), (10, 12, 8, 9)]:
        _same(F.crop(pil_rgb, *args), tv.crop(pil_rgb, *args))
        _same(F.crop(e, *args), tv.crop(t, *args))


PAD_CASES = [(2, 0, "constant"), ((1, 3), 7, "constant"), ((1, 2, 3, 4), (10, 20, 30), "constant"),
             (3, 0, "edge"), ((1, 2, 3, 4), 0, "reflect"), ((2, 1), 0, "symmetric"), ((-1, 2, 1, -2), 0, "reflect"),
             ((-1, 2, 1, -2), 0, "symmetric")]


@pytest.mark.parametrize("padding,fill,mode", PAD_CASES)
def test_pad(torchvision, torch, pil_rgb, chw_u8, padding, fill, mode):
    _same(T.Pad(padding, fill, mode)(pil_rgb), torchvision.transforms.Pad(padding, fill, mode)(pil_rgb))
    if isinstance(fill, tuple):
        return  # torchvision's tensor pad takes a number only
    e, t = _pair(torch, chw_u8)
    _same(T.Pad(padding, fill, mode)(e), torchvision.transforms.Pad(padding, fill, mode)(t))
    f = chw_u8.astype(np.float32)[None] / 255
    e, t = _pair(torch, f)
    _same(F.pad(e, list(padding) if isinstance(padding, tuple) else padding, fill, mode),
          torchvision.transforms.functional.pad(t, list(padding) if isinstance(padding, tuple) else padding,
                                                fill, mode))


def test_pad_errors(pil_rgb):
    with pytest.raises(ValueError, match="Padding must be an int or a 1, 2, or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="Padding mode"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="inappropriate padding"):
        T.Pad("a")


def test_flips(torchvision, torch, pil_rgb, chw_u8):
    tv = torchvision.transforms.functional
    e, t = _pair(torch, chw_u8)
    for f, g in ((F.hflip, tv.hflip), (F.vflip, tv.vflip)):
        _same(f(pil_rgb), g(pil_rgb))
        _same(f(e), g(t))
        _same(f(chw_u8), g(t))
    _same(T.RandomHorizontalFlip(p=1.0)(e), tv.hflip(t))
    _same(T.RandomVerticalFlip(p=1.0)(pil_rgb), tv.vflip(pil_rgb))
    assert T.RandomHorizontalFlip(p=0.0)(e) is e
    ember.manual_seed(3)
    flips = sum(bool((T.RandomHorizontalFlip(0.3)(e).numpy() != chw_u8).any()) for _ in range(200))
    assert 35 < flips < 85


@pytest.mark.parametrize("size", [5, (4, 6)])
def test_five_ten_crop(torchvision, torch, pil_rgb, chw_u8, size):
    e, t = _pair(torch, chw_u8)
    for ours, ref in ((T.FiveCrop(size), torchvision.transforms.FiveCrop(size)),
                      (T.TenCrop(size), torchvision.transforms.TenCrop(size)),
                      (T.TenCrop(size, vertical_flip=True), torchvision.transforms.TenCrop(size, vertical_flip=True))):
        for x, y in ((pil_rgb, pil_rgb), (e, t)):
            got, exp = ours(x), ref(y)
            assert len(got) == len(exp)
            for g, r in zip(got, exp):
                _same(g, r)
    with pytest.raises(ValueError, match="bigger than input size"):
        F.five_crop(e, 20)


ROT_CASES = [(30.0, "NEAREST", False, None, None), (-47.5, "BILINEAR", True, None, 0),
             (90, "NEAREST", True, None, 0), (15.0, "BILINEAR", False, [3, 4], [10, 20, 30])]


@pytest.mark.parametrize("angle,mode,expand,center,fill", ROT_CASES)
def test_rotate(torchvision, torch, pil_rgb, chw_u8, angle, mode, expand, center, fill):
    tv = torchvision.transforms.functional
    m = getattr(T.InterpolationMode, mode)
    kw = dict(expand=expand, center=center, fill=fill)
    _same(F.rotate(pil_rgb, angle, m, **kw), tv.rotate(pil_rgb, angle, _tvmode(torchvision, m), **kw))
    for a, atol in ((chw_u8, 1), (chw_u8[None].astype(np.float32) / 255, 1e-5)):
        e, t = _pair(torch, a)
        got, ref = F.rotate(e, angle, m, **kw), tv.rotate(t, angle, _tvmode(torchvision, m), **kw)
        _same(got, ref, atol=atol)


AFF_CASES = [(20.0, (2, -3), 1.1, (5.0, 0.0), "NEAREST", None, None),
             (-35.0, (0, 1), 0.8, 12.0, "BILINEAR", 0, None),
             (10, [1, 1], 1.0, [3.0, -7.0], "BILINEAR", [5, 6, 7], [4, 5])]


@pytest.mark.parametrize("angle,translate,scale,shear,mode,fill,center", AFF_CASES)
def test_affine(torchvision, torch, pil_rgb, chw_u8, angle, translate, scale, shear, mode, fill, center):
    tv = torchvision.transforms.functional
    m = getattr(T.InterpolationMode, mode)
    args = (angle, translate, scale, shear)
    kw = dict(fill=fill, center=center)
    _same(F.affine(pil_rgb, *args, m, **kw), tv.affine(pil_rgb, *args, _tvmode(torchvision, m), **kw))
    for a, atol in ((chw_u8, 1), (chw_u8[None].astype(np.float32) / 255, 1e-5)):
        e, t = _pair(torch, a)
        _same(F.affine(e, *args, m, **kw), tv.affine(t, *args, _tvmode(torchvision, m), **kw), atol=atol)


# ----- colour -----

@pytest.mark.parametrize("name,factor", [("brightness", 0.6), ("brightness", 1.7), ("contrast", 0.4),
                                         ("contrast", 1.9), ("saturation", 0.0), ("saturation", 2.3),
                                         ("hue", 0.23), ("hue", -0.4)])
def test_adjust(torchvision, torch, rng, pil_rgb, chw_u8, name, factor):
    ours = getattr(F, f"adjust_{name}")
    ref = getattr(torchvision.transforms.functional, f"adjust_{name}")
    _same(ours(pil_rgb, factor), ref(pil_rgb, factor))
    e, t = _pair(torch, chw_u8)
    _same(ours(e, factor), ref(t, factor), atol=1)
    f = rng.random((2, 3, 6, 7)).astype(np.float32)
    e, t = _pair(torch, f)
    _same(ours(e, factor), ref(t, factor), atol=1e-5)
    g = rng.random((1, 6, 7)).astype(np.float32)
    e, t = _pair(torch, g)
    _same(ours(e, factor), ref(t, factor), atol=1e-5)


def test_adjust_errors(chw_u8):
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(chw_u8, 0.7)
    with pytest.raises(ValueError, match="non-negative"):
        F.adjust_brightness(chw_u8, -1)


@pytest.mark.parametrize("n", [1, 3])
def test_grayscale(torchvision, torch, rng, pil_rgb, chw_u8, n):
    _same(T.Grayscale(n)(pil_rgb), torchvision.transforms.Grayscale(n)(pil_rgb))
    e, t = _pair(torch, chw_u8)
    _same(T.Grayscale(n)(e), torchvision.transforms.Grayscale(n)(t), atol=1)
    f = rng.random((3, 4, 5)).astype(np.float32)
    e, t = _pair(torch, f)
    _same(F.rgb_to_grayscale(e, n), torchvision.transforms.functional.rgb_to_grayscale(t, n), atol=1e-6)
    _same(T.RandomGrayscale(p=1.0)(pil_rgb), torchvision.transforms.RandomGrayscale(p=1.0)(pil_rgb))
    assert T.RandomGrayscale(p=0.0)(pil_rgb) is pil_rgb


@pytest.mark.parametrize("ks,sigma", [(3, 1.0), ((5, 3), (0.8, 1.6))])
def test_gaussian_blur(torchvision, torch, rng, pil_rgb, chw_u8, ks, sigma):
    tv = torchvision.transforms.functional
    _same(F.gaussian_blur(pil_rgb, ks, sigma), tv.gaussian_blur(pil_rgb, ks, sigma), atol=1)
    e, t = _pair(torch, chw_u8)
    _same(F.gaussian_blur(e, ks, sigma), tv.gaussian_blur(t, ks, sigma), atol=1)
    f = rng.random((2, 3, 9, 8)).astype(np.float32)
    e, t = _pair(torch, f)
    _same(F.gaussian_blur(e, ks, sigma), tv.gaussian_blur(t, ks, sigma), atol=1e-5)
    with pytest.raises(ValueError, match="odd and positive"):
        F.gaussian_blur(e, 4)
    with pytest.raises(ValueError, match="odd and positive"):
        T.GaussianBlur(4)


def test_erase(torchvision, torch, chw_u8):
    e, t = _pair(torch, chw_u8)
    _same(F.erase(e, 1, 2, 3, 4, ember.tensor(7, dtype=ember.uint8)),
          torchvision.transforms.functional.erase(t, 1, 2, 3, 4, torch.tensor(7, dtype=torch.uint8)))
    with pytest.raises(TypeError, match="Tensor"):
        F.erase(PIL.fromarray(chw_u8.transpose(1, 2, 0)), 0, 0, 1, 1, 0)


# ----- random transforms: get_params logic, then the same parameters give torchvision's output -----

def test_random_crop(torchvision, torch, pil_rgb, chw_u8):
    e, t = _pair(torch, chw_u8)
    seen = set()
    for _ in range(50):
        i, j, h, w = T.RandomCrop.get_params(e, (5, 6))
        assert (h, w) == (5, 6) and 0 <= i <= 13 - 5 and 0 <= j <= 17 - 6
        seen.add((i, j))
    assert len(seen) > 20
    assert T.RandomCrop.get_params(e, (13, 17)) == (0, 0, 13, 17)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop.get_params(e, (14, 3))
    # padding / pad_if_needed / fill / padding_mode: torchvision's output for the crop ember drew
    for kw in [dict(padding=2, fill=9), dict(padding=(1, 2), padding_mode="reflect"),
               dict(pad_if_needed=True, padding_mode="edge"), dict(pad_if_needed=True, fill=(1, 2, 3)),
               dict(padding=[1, 0, 2, 3], pad_if_needed=True, padding_mode="symmetric")]:
        size = (15, 20) if kw.get("pad_if_needed") else (6, 7)
        for x, y in ((pil_rgb, pil_rgb), (e, t)):
            if isinstance(kw.get("fill"), tuple) and x is e:
                continue  # torchvision's tensor pad takes a number fill only
            drawn = []
            ours = T.RandomCrop(size, **kw)
            ours.get_params = lambda img, output_size: drawn.append(
                T.RandomCrop.get_params(img, output_size)) or drawn[-1]
            got = ours(x)
            ref = torchvision.transforms.RandomCrop(size, **kw)
            ref.get_params = lambda img, output_size: drawn[-1]
            _same(got, ref(y))


def test_random_resized_crop(torchvision, torch, pil_rgb, chw_u8):
    e, t = _pair(torch, chw_u8)
    img = ember.zeros(3, 40, 50)
    for _ in range(50):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 < h <= 40 and 0 < w <= 50 and 0 <= i <= 40 - h and 0 <= j <= 50 - w
        assert 0.08 * 2000 * 0.8 <= h * w <= 2000
    # the fallback (no draw fits in 10 tries): a centre crop with the ratio clamped
    assert T.RandomResizedCrop.get_params(ember.zeros(3, 10, 100), (1.0, 1.0), (1.0, 1.0)) == (0, 45, 10, 10)
    assert T.RandomResizedCrop.get_params(ember.zeros(3, 100, 10), (1.0, 1.0), (2.0, 3.0)) == (47, 0, 5, 10)
    ember.manual_seed(1)
    got = T.RandomResizedCrop(8, antialias=True)(pil_rgb)
    ember.manual_seed(1)
    p = T.RandomResizedCrop.get_params(pil_rgb, (0.08, 1.0), (3 / 4, 4 / 3))
    _same(got, torchvision.transforms.functional.resized_crop(pil_rgb, *p, [8, 8]))
    ember.manual_seed(2)
    got = T.RandomResizedCrop((6, 7), interpolation=T.InterpolationMode.NEAREST)(e)
    ember.manual_seed(2)
    p = T.RandomResizedCrop.get_params(e, (0.08, 1.0), (3 / 4, 4 / 3))
    _same(got, torchvision.transforms.functional.resized_crop(
        t, *p, [6, 7], torchvision.transforms.InterpolationMode.NEAREST))
    with pytest.raises(TypeError, match="Scale should be a sequence"):
        T.RandomResizedCrop(8, scale=0.5)


def test_random_rotation(torchvision, torch, pil_rgb, chw_u8):
    angles = [T.RandomRotation.get_params([-10.0, 25.0]) for _ in range(100)]
    assert all(-10 <= a <= 25 for a in angles) and max(angles) - min(angles) > 25
    tr = T.RandomRotation(30, interpolation=T.InterpolationMode.BILINEAR, expand=True, fill=3)
    assert tr.degrees == [-30.0, 30.0]
    e, t = _pair(torch, chw_u8)
    for x, y in ((pil_rgb, pil_rgb), (e, t)):
        ember.manual_seed(4)
        got = tr(x)
        ember.manual_seed(4)
        angle = T.RandomRotation.get_params(tr.degrees)
        fill = 3 if x is pil_rgb else [3.0] * 3
        ref = torchvision.transforms.functional.rotate(
            y, angle, torchvision.transforms.InterpolationMode.BILINEAR, True, None, fill)
        _same(got, ref, atol=0 if x is pil_rgb else 1)
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match="sequence of length 2"):
        T.RandomRotation([1, 2, 3])


def test_random_affine(torchvision, torch, pil_rgb, chw_u8):
    for _ in range(30):
        angle, (tx, ty), scale, (sx, sy) = T.RandomAffine.get_params(
            [-10.0, 10.0], (0.2, 0.1), (0.9, 1.2), [-5.0, 5.0, 1.0, 3.0], [50, 40])
        assert -10 <= angle <= 10 and abs(tx) <= 10 and abs(ty) <= 4 and 0.9 <= scale <= 1.2
        assert -5 <= sx <= 5 and 1 <= sy <= 3
        assert isinstance(tx, int) and isinstance(ty, int)
    assert T.RandomAffine.get_params([0.0, 0.0], None, None, None, [5, 5]) == (0.0, (0, 0), 1.0, (0.0, 0.0))
    tr = T.RandomAffine(15, translate=(0.1, 0.2), scale=(0.8, 1.1), shear=8, fill=5)
    assert tr.shear == [-8.0, 8.0]
    e, t = _pair(torch, chw_u8)
    for x, y in ((pil_rgb, pil_rgb), (e, t)):
        ember.manual_seed(6)
        got = tr(x)
        ember.manual_seed(6)
        _, hh, ww = F.get_dimensions(x)
        p = T.RandomAffine.get_params(tr.degrees, tr.translate, tr.scale, tr.shear, [ww, hh])
        fill = 5 if x is pil_rgb else [5.0] * 3
        ref = torchvision.transforms.functional.affine(y, *p, fill=fill)
        _same(got, ref, atol=0 if x is pil_rgb else 1)
    with pytest.raises(ValueError, match="translation values"):
        T.RandomAffine(0, translate=(0.5, 1.5))
    with pytest.raises(ValueError, match="scale values should be positive"):
        T.RandomAffine(0, scale=(0, 1))


def test_color_jitter(torchvision, torch, pil_rgb, chw_u8):
    cj = T.ColorJitter(brightness=0.4, contrast=(0.5, 1.5), saturation=0.3, hue=0.1)
    ref = torchvision.transforms.ColorJitter(brightness=0.4, contrast=(0.5, 1.5), saturation=0.3, hue=0.1)
    assert (cj.brightness, cj.contrast, cj.saturation, cj.hue) == (ref.brightness, ref.contrast,
                                                                     ref.saturation, ref.hue)
    assert T.ColorJitter().brightness is None and T.ColorJitter(hue=0).hue is None
    for _ in range(20):
        idx, b, c, s, h = T.ColorJitter.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
        assert sorted(idx.tolist()) == [0, 1, 2, 3]
        assert 0.6 <= b <= 1.4 and 0.5 <= c <= 1.5 and 0.7 <= s <= 1.3 and -0.1 <= h <= 0.1
    assert T.ColorJitter.get_params(None, None, None, None)[1:] == (None, None, None, None)
    tv = torchvision.transforms.functional
    e, t = _pair(torch, chw_u8)
    for x, y in ((pil_rgb, pil_rgb), (e, t)):
        ember.manual_seed(8)
        got = cj(x)
        ember.manual_seed(8)
        idx, b, c, s, h = T.ColorJitter.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
        out = y
        for k in idx.tolist():
            out = [lambda z: tv.adjust_brightness(z, b), lambda z: tv.adjust_contrast(z, c),
                   lambda z: tv.adjust_saturation(z, s), lambda z: tv.adjust_hue(z, h)][k](out)
        _same(got, out, atol=0 if x is pil_rgb else 2)
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(TypeError, match="single number or a list/tuple"):
        T.ColorJitter(contrast=(1, 2, 3))


def test_gaussian_blur_transform(torchvision, torch, chw_u8):
    sig = [T.GaussianBlur.get_params(0.1, 2.0) for _ in range(50)]
    assert all(0.1 <= s <= 2.0 for s in sig)
    e, t = _pair(torch, chw_u8)
    ember.manual_seed(9)
    got = T.GaussianBlur(3, (0.5, 1.5))(e)
    ember.manual_seed(9)
    s = T.GaussianBlur.get_params(0.5, 1.5)
    _same(got, torchvision.transforms.functional.gaussian_blur(t, [3, 3], [s, s]), atol=1)
    with pytest.raises(ValueError, match="positive and of the form"):
        T.GaussianBlur(3, (2.0, 1.0))


def test_random_erasing(torchvision, torch, rng):
    img = ember.from_numpy(rng.random((3, 20, 30)).astype(np.float32))
    for _ in range(30):
        i, j, h, w, v = T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value=[0.0])
        assert 0 < h < 20 and 0 < w < 30 and 0 <= i <= 20 - h and 0 <= j <= 30 - w
        assert tuple(v.shape) == (1, 1, 1)
    i, j, h, w, v = T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value=None)
    assert tuple(v.shape) == (3, h, w)
    # nothing fits: the whole image, erased by itself
    i, j, h, w, v = T.RandomErasing.get_params(img, (1.0, 1.0), (1.0, 1.0), value=[0.0])
    assert (i, j, h, w) == (0, 0, 20, 30) and v is img
    ember.manual_seed(10)
    got = T.RandomErasing(p=1.0, value=(1, 2, 3))(img)
    ember.manual_seed(10)
    ember.rand(1)
    i, j, h, w, v = T.RandomErasing.get_params(img, (0.02, 0.33), (0.3, 3.3), value=[1, 2, 3])
    t = torch.from_numpy(img.numpy().copy())
    _same(got, torchvision.transforms.functional.erase(t, i, j, h, w, torch.from_numpy(v.numpy())))
    assert T.RandomErasing(p=0.0)(img) is img
    with pytest.raises(ValueError, match="either a single value or 3"):
        T.RandomErasing(p=1.0, value=(1, 2))(img)
    with pytest.raises(ValueError, match="probability"):
        T.RandomErasing(p=2)
    with pytest.raises(TypeError, match="RandomErasing: expected a tensor image"):
        T.RandomErasing()(PIL.new("RGB", (4, 4)))


# ----- wrong input types -----

@pytest.mark.parametrize("tr", [T.Resize(4), T.CenterCrop(3), T.RandomCrop(3), T.RandomResizedCrop(3),
                                T.RandomHorizontalFlip(), T.RandomRotation(5), T.RandomAffine(5),
                                T.ColorJitter(0.1), T.Grayscale(), T.Pad(1), T.GaussianBlur(3), T.FiveCrop(2),
                                T.Normalize([0], [1]), T.PILToTensor(), T.ToTensor()])
def test_wrong_input_type(tr):
    name = type(tr).__name__
    with pytest.raises(TypeError, match=name):
        tr([[1, 2], [3, 4]])


def test_functional_wrong_input_type():
    with pytest.raises(TypeError, match="resize"):
        F.resize("img", 4)
    with pytest.raises(TypeError, match="list"):
        F.hflip([1, 2])


def test_ndarray_in_ndarray_out(chw_u8):
    out = F.resize(chw_u8, 6)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert isinstance(F.rotate(chw_u8, 10.0), np.ndarray)
    assert isinstance(F.center_crop(ember.from_numpy(chw_u8), 4), ember.Tensor)


def test_reprs_and_modules(torchvision, torch):
    tv = torchvision.transforms
    for make in [lambda m: m.Resize(8), lambda m: m.RandomCrop(5, padding=2), lambda m: m.RandomResizedCrop(8),
                 lambda m: m.RandomRotation(10), lambda m: m.RandomAffine(10, translate=(0.1, 0.1)),
                 lambda m: m.ColorJitter(0.2, 0.3), lambda m: m.Pad(2), lambda m: m.GaussianBlur(3),
                 lambda m: m.RandomErasing(), lambda m: m.TenCrop(3), lambda m: m.Normalize([0.5], [0.5]),
                 lambda m: m.ToTensor()]:
        assert repr(make(T)) == repr(make(tv))
        assert isinstance(make(T), ember.nn.Module) == isinstance(make(tv), torch.nn.Module)
    seq = ember.nn.Sequential(T.CenterCrop(4), T.Normalize([0.5], [0.5]))
    out = seq(ember.ones(1, 6, 6))
    assert tuple(out.shape) == (1, 4, 4) and float(out.sum()) == 16.0


def test_random_apply_choice_order(torchvision, torch, chw_u8):
    import random
    e = ember.from_numpy(chw_u8)
    flip = T.RandomHorizontalFlip(p=1.0)
    _same(T.RandomApply([flip, T.CenterCrop(5)], p=1.0)(e), F.center_crop(F.hflip(e), 5))
    assert T.RandomApply([flip], p=0.0)(e) is e
    tv = torchvision.transforms
    assert repr(T.RandomApply([T.CenterCrop(5)], p=0.3)) == repr(tv.RandomApply([tv.CenterCrop(5)], p=0.3))
    assert repr(T.RandomChoice([T.CenterCrop(5)], p=[1.0])) == repr(tv.RandomChoice([tv.CenterCrop(5)], p=[1.0]))
    random.seed(0)
    got = T.RandomChoice([T.CenterCrop(5), T.CenterCrop(3)], p=[0.0, 1.0])(e)
    assert tuple(got.shape) == (3, 3, 3)
    random.seed(1)
    a = T.RandomOrder([T.CenterCrop(5), T.Pad(1)])(e)
    assert tuple(a.shape) in ((3, 7, 7), (3, 5, 5))
    with pytest.raises(TypeError, match="sequence"):
        T.RandomChoice([flip], p=0.5)


def test_imagenet_pipeline(torchvision, torch, rng):
    """The everyday eval pipeline, PIL in, normalized tensor out, as torchvision's."""
    im = PIL.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8), "RGB")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    tv = torchvision.transforms
    ours = T.Compose([T.Resize(40), T.CenterCrop(32), T.ToTensor(), T.Normalize(mean, std)])
    ref = tv.Compose([tv.Resize(40), tv.CenterCrop(32), tv.ToTensor(), tv.Normalize(mean, std)])
    _same(ours(im), ref(im), atol=1e-6)
    # the same on a uint8 tensor (antialiased resize)
    ours = T.Compose([T.PILToTensor(), T.Resize(40), T.CenterCrop(32), T.ConvertImageDtype(ember.float32)])
    ref = tv.Compose([tv.PILToTensor(), tv.Resize(40), tv.CenterCrop(32), tv.ConvertImageDtype(torch.float32)])
    _same(ours(im), ref(im), atol=1 / 255 + 1e-6)
