"""``torchvision.transforms.functional`` on PIL images, ember Tensors and NumPy arrays.

PIL images go through the same Pillow calls torchvision makes (so the pixels are identical).
Tensors and arrays are images of shape (..., C, H, W) with torchvision's tensor semantics
(uint8 in [0, 255], floats in [0, 1]); the arithmetic is NumPy in the input's dtype (float32
for integer images, as torchvision casts them), and the result is of the input's kind (an ember
Tensor for a Tensor, an ndarray for an ndarray). These functions are not differentiable.
"""
import math
import numbers
import warnings
from enum import Enum

import numpy as np

import ember

try:  # Pillow is an optional extra
    from PIL import Image, ImageEnhance, ImageOps
except ImportError:  # pragma: no cover
    Image = ImageEnhance = ImageOps = None

__all__ = [
    "InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
    "affine", "center_crop", "convert_image_dtype", "crop", "erase", "five_crop", "gaussian_blur",
    "get_dimensions", "get_image_num_channels", "get_image_size", "hflip", "normalize", "pad",
    "pil_to_tensor", "resize", "resized_crop", "rgb_to_grayscale", "rotate", "ten_crop",
    "to_grayscale", "to_pil_image", "to_tensor", "vflip",
]


class InterpolationMode(Enum):
    """Interpolation modes (torchvision's names and string values)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_CODES = {"nearest": 0, "nearest-exact": 0, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5,
              "lanczos": 1}
_FROM_INT = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR, 3: InterpolationMode.BICUBIC,
             4: InterpolationMode.BOX, 5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interp(interpolation, name="interpolation"):
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, int) and not isinstance(interpolation, bool) and interpolation in _FROM_INT:
        return _FROM_INT[interpolation]
    raise TypeError(f"Argument {name} should be a InterpolationMode or a corresponding Pillow integer "
                    f"constant, got {interpolation!r}")


# ----- image kinds -----

def _is_pil_image(img):
    return Image is not None and isinstance(img, Image.Image)


def _is_tensor(img):
    return isinstance(img, (ember.Tensor, np.ndarray))


def _arr(img):
    """(ndarray view of an image tensor, wrap-back function)."""
    if isinstance(img, ember.Tensor):
        return img.detach().numpy(), lambda a: ember.from_numpy(np.ascontiguousarray(a))
    return img, lambda a: np.ascontiguousarray(a)


def _check(img, fname):
    if _is_pil_image(img):
        return "pil"
    if _is_tensor(img):
        if img.ndim < 2:
            raise TypeError(f"{fname}: a tensor image should have at least 2 dimensions (..., H, W), "
                            f"got shape {tuple(img.shape)}")
        return "tensor"
    raise TypeError(f"{fname}: img should be a PIL Image, an ember Tensor or a NumPy array. Got {type(img)}")


def _max_value(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        return int(np.iinfo(dtype).max)
    return 1


def get_dimensions(img):
    """[channels, height, width]."""
    if _check(img, "get_dimensions") == "pil":
        return [len(img.getbands()), img.size[1], img.size[0]]
    shape = tuple(img.shape)
    return [1 if len(shape) == 2 else shape[-3], shape[-2], shape[-1]]


def get_image_size(img):
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# ----- conversions -----

def to_tensor(pic):
    """PIL Image or ndarray (H, W, C) in [0, 255] to a float32 Tensor (C, H, W) in [0, 1]."""
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"to_tensor: pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        img = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if img.dtype == np.uint8:
            return ember.from_numpy((img.astype(np.float32) / 255).astype(np.float32))
        return ember.from_numpy(img)
    mode_to_dtype = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    if pic.mode in mode_to_dtype:
        arr = np.array(pic, mode_to_dtype[pic.mode], copy=True)
    else:
        arr = np.array(pic, np.uint8, copy=True)
    if pic.mode == "1":
        arr = 255 * arr
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands())).transpose(2, 0, 1)
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.uint8:
        return ember.from_numpy(arr.astype(np.float32) / np.float32(255))
    return ember.from_numpy(arr)


def pil_to_tensor(pic):
    """PIL Image to a Tensor (C, H, W) of the image's own dtype, values unscaled."""
    if not _is_pil_image(pic):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands())).transpose(2, 0, 1)
    return ember.from_numpy(np.ascontiguousarray(arr))


def convert_image_dtype(image, dtype=None):
    """Convert a tensor image to ``dtype``, rescaling values (torchvision's rules)."""
    if not _is_tensor(image):
        raise TypeError(f"convert_image_dtype: input img should be a Tensor. Got {type(image)}")
    dtype = ember.float32 if dtype is None else dtype
    a, wrap = _arr(image)
    nd = _np_dtype(dtype)
    if a.dtype == nd:
        return image
    if a.dtype.kind == "f":
        if nd.kind == "f":
            return wrap(a.astype(nd))
        if (a.dtype == np.float32 and nd in (np.int32, np.int64)) or (a.dtype == np.float64 and nd == np.int64):
            raise RuntimeError(f"The cast from {_ember_dtype(a.dtype)} to {dtype} cannot be performed safely.")
        eps = 1e-3
        max_val = float(_max_value(nd))
        return wrap((a * a.dtype.type(max_val + 1.0 - eps)).astype(nd))
    input_max = float(_max_value(a.dtype))
    if nd.kind == "f":
        return wrap(a.astype(nd) / nd.type(input_max))
    output_max = float(_max_value(nd))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return wrap(np.floor_divide(a, factor).astype(nd))
    factor = int((output_max + 1) // (input_max + 1))
    return wrap(a.astype(nd) * nd.type(factor))


def _np_dtype(dtype):
    if isinstance(dtype, ember.dtype):
        return np.dtype(ember.zeros(0, dtype=dtype).numpy().dtype)
    return np.dtype(dtype)


def _ember_dtype(npdtype):
    return ember.from_numpy(np.zeros(0, npdtype)).dtype


def to_pil_image(pic, mode=None):
    """Tensor (C, H, W) or ndarray (H, W, C) to a PIL Image (floats are scaled by 255)."""
    if Image is None:  # pragma: no cover
        raise ImportError("to_pil_image needs Pillow: pip install pillow")
    if isinstance(pic, ember.Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = pic.unsqueeze(0)
        if pic.shape[-3] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-3]} channels.")
        npimg = pic.detach().numpy()
        if npimg.dtype.kind == "f" and mode != "F":
            npimg = (npimg * 255).astype(np.uint8)
        npimg = np.transpose(npimg, (1, 2, 0))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        if pic.ndim == 2:
            pic = np.expand_dims(pic, 2)
        if pic.shape[-1] > 4:
            raise ValueError(f"pic should not have > 4 channels. Got {pic.shape[-1]} channels.")
        npimg = pic
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray. Got {type(pic)}.")
    if npimg.shape[2] == 1:
        expected_mode = None
        npimg = npimg[:, :, 0]
        if npimg.dtype == np.uint8:
            expected_mode = "L"
        elif npimg.dtype == np.int16:
            expected_mode = "I;16"
        elif npimg.dtype == np.int32:
            expected_mode = "I"
        elif npimg.dtype == np.float32:
            expected_mode = "F"
        if mode is not None and mode != expected_mode:
            raise ValueError(f"Incorrect mode ({mode}) supplied for input type {np.dtype}. Should be {expected_mode}")
        mode = expected_mode
    elif npimg.shape[2] == 2:
        if mode is not None and mode != "LA":
            raise ValueError(f"Only modes ['LA'] are supported for 2D inputs")
        mode = "LA"
        if npimg.dtype != np.uint8:
            raise TypeError(f"Input type {npimg.dtype} is not supported")
    elif npimg.shape[2] == 4:
        permitted = ["RGBA", "CMYK", "RGBX"]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for 4D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGBA"
    else:
        permitted = ["RGB", "YCbCr", "HSV"]
        if mode is not None and mode not in permitted:
            raise ValueError(f"Only modes {permitted} are supported for 3D inputs")
        if mode is None and npimg.dtype == np.uint8:
            mode = "RGB"
    if mode is None:
        raise TypeError(f"Input type {npimg.dtype} is not supported")
    npimg = np.ascontiguousarray(npimg)
    return Image.frombuffer(mode, (npimg.shape[1], npimg.shape[0]), npimg.tobytes(), "raw", mode, 0, 1)


def normalize(tensor, mean, std, inplace=False):
    """(tensor - mean) / std per channel of a float tensor image (..., C, H, W)."""
    if not _is_tensor(tensor):
        raise TypeError(f"normalize: img should be a Tensor image. Got {type(tensor)}")
    a, wrap = _arr(tensor)
    if a.dtype.kind != "f":
        raise TypeError(f"Input tensor should be a float tensor. Got {_ember_dtype(a.dtype)}.")
    if a.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tuple(a.shape)}")
    mean = np.asarray(mean.numpy() if isinstance(mean, ember.Tensor) else mean, dtype=a.dtype)
    std = np.asarray(std.numpy() if isinstance(std, ember.Tensor) else std, dtype=a.dtype)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {_ember_dtype(a.dtype)}, "
                         "leading to division by zero.")
    if mean.ndim == 1:
        mean = mean.reshape(-1, 1, 1)
    if std.ndim == 1:
        std = std.reshape(-1, 1, 1)
    channels = a.shape[-3]
    for name, v in (("mean", mean), ("std", std)):
        if v.ndim == 3 and v.shape[0] not in (1, channels):
            raise RuntimeError(f"normalize: {name} has {v.shape[0]} values, one per channel, but the "
                               f"image has {channels} channels (shape {tuple(a.shape)})")
    out = (a - mean) / std
    if inplace:
        if isinstance(tensor, ember.Tensor):
            tensor.copy_(ember.from_numpy(np.ascontiguousarray(out)))
        else:
            tensor[...] = out
        return tensor
    return wrap(out)


# ----- geometry -----

def _compute_resized_output_size(image_size, size, max_size=None, allow_size_none=False):
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if size is None:
        if not allow_size_none:
            raise ValueError("This should never happen!!")
        if not isinstance(max_size, int):
            raise ValueError(f"max_size must be an integer when size is None, but got {max_size} instead.")
        new_short, new_long = int(max_size * short / long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    elif len(size) == 1:
        requested_new_short = size if isinstance(size, int) else size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                                 f"size for the smaller edge size = {size}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def _aa_weights(in_size, out_size, mode, dtype):
    """Antialiased (PIL-style) resampling matrix (out_size, in_size), as torch's _aa kernels."""
    scale = in_size / out_size
    if mode == "bilinear":
        support, filt = 1.0, lambda x: np.clip(1.0 - np.abs(x), 0.0, None)
    else:
        a = -0.5

        def filt(x):
            x = np.abs(x)
            return np.where(x < 1.0, ((a + 2.0) * x - (a + 3.0)) * x * x + 1,
                            np.where(x < 2.0, (((x - 5) * x + 8) * x - 4) * a, 0.0))
        support = 2.0
    s = support * scale if scale >= 1.0 else support
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    W = np.zeros((out_size, in_size), np.float64)
    for i in range(out_size):
        center = scale * (i + 0.5)
        xmin = max(int(center - s + 0.5), 0)
        xmax = min(int(center + s + 0.5), in_size)
        j = np.arange(xmin, xmax)
        w = filt((j - center + 0.5) * invscale)
        total = w.sum()
        W[i, xmin:xmax] = w / total if total != 0 else w
    return W.astype(dtype)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size`` ((h, w), or the smaller edge's length) as torchvision's ``resize``."""
    kind = _check(img, "resize")
    interpolation = _interp(interpolation)
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"Size must be an int or a 1 or 2 element tuple/list, not a {len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge, "
                             "i.e. size should be an int or a sequence of length 1 in torchscript mode.")
    elif isinstance(size, int):
        size = [size]
    elif size is not None:
        raise TypeError(f"Size should be int or sequence. Got {type(size)}")
    _, h, w = get_dimensions(img)
    output_size = _compute_resized_output_size((h, w), size, max_size, allow_size_none=True)
    if [h, w] == output_size:
        return img
    if kind == "pil":
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return img.resize(tuple(output_size[::-1]), _PIL_CODES[interpolation.value])
    mode = interpolation.value
    if mode not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode '{mode}' is unsupported with Tensor input")
    a, wrap = _arr(img)
    out_dtype = a.dtype
    lead = a.shape[:-2]
    x = a.reshape((-1, 1) + a.shape[-2:])
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if antialias and mode in ("bilinear", "bicubic"):  # torch's _aa kernels, also when upsampling
        Wy = _aa_weights(h, output_size[0], mode, x.dtype)
        Wx = _aa_weights(w, output_size[1], mode, x.dtype)
        y = np.einsum("oh,nchw->ncow", Wy, x)
        y = np.einsum("pw,ncow->ncop", Wx, y)
    else:
        y = ember.nn.functional.interpolate(
            ember.from_numpy(np.ascontiguousarray(x)), size=list(output_size), mode=mode,
            align_corners=False if mode in ("bilinear", "bicubic") else None).numpy()
    if mode == "bicubic" and out_dtype == np.uint8:
        y = np.clip(y, 0, 255)
    if out_dtype.kind in "ui":
        y = np.round(y).astype(out_dtype)
    return wrap(y.reshape(lead + tuple(output_size)))


def crop(img, top, left, height, width):
    """The region (top, left, height, width); outside the image is zero-padded."""
    if _check(img, "crop") == "pil":
        return img.crop((left, top, left + width, top + height))
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                        max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _crop_size(output_size):
    if isinstance(output_size, numbers.Number):
        return (int(output_size), int(output_size))
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        return (output_size[0], output_size[0])
    return output_size


def center_crop(img, output_size):
    """Crop the centre (padding with zeros where the crop is larger than the image)."""
    _check(img, "center_crop")
    output_size = _crop_size(output_size)
    _, h, w = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > w or crop_height > h:
        padding_ltrb = [(crop_width - w) // 2 if crop_width > w else 0,
                        (crop_height - h) // 2 if crop_height > h else 0,
                        (crop_width - w + 1) // 2 if crop_width > w else 0,
                        (crop_height - h + 1) // 2 if crop_height > h else 0]
        img = pad(img, padding_ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if crop_width == w and crop_height == h:
            return img
    crop_top = int(round((h - crop_height) / 2.0))
    crop_left = int(round((w - crop_width) / 2.0))
    return crop(img, crop_top, crop_left, crop_height, crop_width)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True):
    """crop then resize."""
    _check(img, "resized_crop")
    img = crop(img, top, left, height, width)
    return resize(img, size, interpolation, antialias=antialias)


def hflip(img):
    if _check(img, "hflip") == "pil":
        return img.transpose(Image.FLIP_LEFT_RIGHT)
    return img.flip(-1) if isinstance(img, ember.Tensor) else np.ascontiguousarray(img[..., ::-1])


def vflip(img):
    if _check(img, "vflip") == "pil":
        return img.transpose(Image.FLIP_TOP_BOTTOM)
    return img.flip(-2) if isinstance(img, ember.Tensor) else np.ascontiguousarray(img[..., ::-1, :])


def five_crop(img, size):
    """(top-left, top-right, bottom-left, bottom-right, centre) crops."""
    _check(img, "five_crop")
    if isinstance(size, numbers.Number):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (size[0], size[0])
    if len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        msg = "Requested crop size {} is bigger than input size {}"
        raise ValueError(msg.format(size, (image_height, image_width)))
    tl = crop(img, 0, 0, crop_height, crop_width)
    tr = crop(img, 0, image_width - crop_width, crop_height, crop_width)
    bl = crop(img, image_height - crop_height, 0, crop_height, crop_width)
    br = crop(img, image_height - crop_height, image_width - crop_width, crop_height, crop_width)
    center = center_crop(img, [crop_height, crop_width])
    return tl, tr, bl, br, center


def ten_crop(img, size, vertical_flip=False):
    """five_crop of the image and of its flip."""
    _check(img, "ten_crop")
    first_five = five_crop(img, size)  # (which checks and normalises size)
    img = vflip(img) if vertical_flip else hflip(img)
    return first_five + five_crop(img, size)


def _parse_fill(fill, img, name="fillcolor"):
    num_channels = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and num_channels > 1:
        fill = tuple([fill] * num_channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = fill * num_channels
        elif len(fill) != num_channels:
            msg = "The number of elements in 'fill' does not match the number of channels of the image ({} != {})"
            raise ValueError(msg.format(len(fill), num_channels))
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, (list, tuple)) else int(fill)
    return {name: fill}


def pad(img, padding, fill=0, padding_mode="constant"):
    """Pad the borders: padding is an int, (lr, tb) or (left, top, right, bottom); negative crops."""
    kind = _check(img, "pad")
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, list):
        padding = tuple(padding)
    if isinstance(padding, tuple) and len(padding) not in [1, 2, 4]:
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} element tuple")
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding[0]
    if padding_mode not in ["constant", "edge", "reflect", "symmetric"]:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if isinstance(padding, numbers.Number):
        p = [int(padding)] * 4
    elif len(padding) == 2:
        p = [padding[0], padding[1], padding[0], padding[1]]
    else:
        p = list(padding)
    if kind == "pil":
        if padding_mode == "constant":
            opts = _parse_fill(fill, img, name="fill")
            border = padding if isinstance(padding, numbers.Number) else padding
            if img.mode == "P":
                palette = img.getpalette()
                image = ImageOps.expand(img, border=border, **opts)
                image.putpalette(palette)
                return image
            return ImageOps.expand(img, border=border, **opts)
        cropping = -np.minimum(p, 0)
        if cropping.any():
            cl, ct, cr, cb = cropping
            img = img.crop((cl, ct, img.width - cr, img.height - cb))
        pl, pt, pr, pb = np.maximum(p, 0)
        palette = img.getpalette() if img.mode == "P" else None
        arr = np.asarray(img)
        widths = ((pt, pb), (pl, pr)) + (((0, 0),) if arr.ndim == 3 else ())
        out = Image.fromarray(np.pad(arr, widths, mode=padding_mode))
        if palette is not None:
            out.putpalette(palette)
        return out
    if fill is None:
        fill = 0
    if not isinstance(fill, (int, float)):
        raise TypeError("Got inappropriate fill arg")
    a, wrap = _arr(img)
    left, top, right, bottom = p
    # negative padding crops first
    a = a[..., max(-top, 0):a.shape[-2] - max(-bottom, 0), max(-left, 0):a.shape[-1] - max(-right, 0)]
    left, top, right, bottom = (max(v, 0) for v in (left, top, right, bottom))
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        out = np.pad(a, widths, mode="constant", constant_values=a.dtype.type(fill) if a.dtype.kind != "b" else fill)
    else:
        if padding_mode == "reflect" and (top >= a.shape[-2] or bottom >= a.shape[-2]
                                          or left >= a.shape[-1] or right >= a.shape[-1]):
            raise RuntimeError("pad: padding size should be less than the corresponding input dimension "
                               f"for reflect padding, got padding {list(p)} for a {tuple(a.shape[-2:])} image")
        out = np.pad(a, widths, mode=padding_mode)
    return wrap(out)


def _get_inverse_affine_matrix(center, angle, translate, scale, shear, inverted=True):
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # rotation-scale-shear matrix RSS = [[a, b], [c, d]] (torchvision's convention)
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    if inverted:
        m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
        m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
        m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    else:
        m = [x * scale for x in (a, b, 0.0, c, d, 0.0)]
        m[2] += m[0] * (-cx) + m[1] * (-cy) + cx + tx
        m[5] += m[3] * (-cx) + m[4] * (-cy) + cy + ty
    return m


def _grid_sample(x, gx, gy, mode):
    """grid_sample(x (N, C, H, W), grid (oh, ow) normalized coords, align_corners=False, zeros)."""
    n, c, h, w = x.shape
    ix = ((gx + 1) * w - 1) / 2
    iy = ((gy + 1) * h - 1) / 2
    out = np.zeros((n, c) + gx.shape, x.dtype)
    if mode == "nearest":
        xi, yi = np.rint(ix).astype(np.int64), np.rint(iy).astype(np.int64)
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out[..., ok] = x[..., yi[ok], xi[ok]]
        return out
    x0, y0 = np.floor(ix).astype(np.int64), np.floor(iy).astype(np.int64)
    fx, fy = (ix - x0).astype(x.dtype), (iy - y0).astype(x.dtype)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xs, ys = x0 + dx, y0 + dy
            ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
            wgt = np.where(ok, wx * wy, 0).astype(x.dtype)
            out += x[..., np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)] * wgt
    return out


def _tensor_affine(img, matrix, interpolation, fill, ow=None, oh=None):
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")
    num_channels = get_dimensions(img)[0]
    if fill is not None and isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != num_channels:
        raise ValueError("The number of elements in 'fill' cannot broadcast to match the number of "
                         f"channels of the image ({len(fill)} != {num_channels})")
    a, wrap = _arr(img)
    out_dtype = a.dtype
    dt = a.dtype if a.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    h, w = a.shape[-2:]
    ow = w if ow is None else ow
    oh = h if oh is None else oh
    theta = np.asarray(matrix, dt).reshape(2, 3)
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 + 0.5 - 1, ow).astype(dt)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 + 0.5 - 1, oh).astype(dt)
    X, Y = np.meshgrid(xs, ys)
    sc = np.asarray([0.5 * w, 0.5 * h], dt)
    gx = (X * theta[0, 0] + Y * theta[0, 1] + theta[0, 2]) / sc[0]
    gy = (X * theta[1, 0] + Y * theta[1, 1] + theta[1, 2]) / sc[1]
    lead = a.shape[:-3] if a.ndim >= 3 else ()
    x = a.reshape((-1, num_channels, h, w)).astype(dt)
    if fill is not None:
        x = np.concatenate([x, np.ones((x.shape[0], 1, h, w), dt)], axis=1)
    y = _grid_sample(x, gx.astype(dt), gy.astype(dt), interpolation)
    if fill is not None:
        mask, y = y[:, -1:], y[:, :-1]
        mask = np.broadcast_to(mask, y.shape)
        fl = np.asarray(fill if isinstance(fill, (tuple, list)) else [float(fill)], dt).reshape(1, -1, 1, 1)
        fill_img = np.broadcast_to(fl, y.shape)
        if interpolation == "nearest":
            y = np.where(mask < 0.5, fill_img, y)
        else:
            y = y * mask + (1.0 - mask) * fill_img
    if out_dtype != dt:
        if out_dtype.kind in "uib":
            y = np.round(y)
        y = y.astype(out_dtype)
    shape = (lead + (num_channels, oh, ow)) if a.ndim >= 3 else (oh, ow)
    return wrap(y.reshape(shape))


def _compute_affine_output_size(matrix, w, h):
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], np.float32)
    theta = np.asarray(matrix, np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    min_vals = new_pts.min(axis=0) + np.float32([w * 0.5, h * 0.5])
    max_vals = new_pts.max(axis=0) + np.float32([w * 0.5, h * 0.5])
    tol = np.float32(1e-4)
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    """Rotate by ``angle`` degrees counter-clockwise."""
    kind = _check(img, "rotate")
    interpolation = _interp(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if kind == "pil":
        opts = _parse_fill(fill, img)
        return img.rotate(angle, _PIL_CODES[interpolation.value], expand, center, **opts)
    center_f = [0.0, 0.0]
    _, height, width = get_dimensions(img)
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    matrix = _get_inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = _compute_affine_output_size(matrix, width, height) if expand else (width, height)
    return _tensor_affine(img, matrix, interpolation.value, fill, ow, oh)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotation, translation, scale and shear about the centre (torchvision's affine)."""
    kind = _check(img, "affine")
    interpolation = _interp(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if not isinstance(translate, (list, tuple)):
        raise TypeError("Argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    if not isinstance(shear, (numbers.Number, (list, tuple))):
        raise TypeError("Shear should be either a single value or a sequence of two values")
    angle = float(angle)
    translate = list(translate)
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    _, height, width = get_dimensions(img)
    if kind == "pil":
        if center is None:
            center = [width * 0.5, height * 0.5]
        matrix = _get_inverse_affine_matrix(center, angle, translate, scale, shear)
        opts = _parse_fill(fill, img)
        return img.transform(img.size, Image.AFFINE, matrix, _PIL_CODES[interpolation.value], **opts)
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (c - s * 0.5) for c, s in zip(center, [width, height])]
    translate_f = [1.0 * t for t in translate]
    matrix = _get_inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
    return _tensor_affine(img, matrix, interpolation.value, fill)


# ----- colour -----

def _blend(a, b, ratio):
    ratio = float(ratio)
    bound = _max_value(a.dtype)
    dt = a.dtype if a.dtype.kind == "f" else np.float32
    r = np.asarray(ratio, dt)
    out = r * a.astype(dt) + (np.asarray(1.0 - ratio, dt)) * np.asarray(b, dt)
    return np.clip(out, 0, bound).astype(a.dtype)


def _gray(a):
    if a.shape[-3] == 3:
        dt = a.dtype.type if a.dtype.kind == "f" else np.float32
        r, g, b = (a[..., i, :, :].astype(dt) for i in range(3))
        l_img = (dt(0.2989) * r + dt(0.587) * g + dt(0.114) * b).astype(a.dtype)
        return l_img[..., None, :, :]
    return a.copy()


def rgb_to_grayscale(img, num_output_channels=1):
    """Luma (ITU-R 601-2: 0.2989 R + 0.587 G + 0.114 B), 1 or 3 channels."""
    kind = _check(img, "rgb_to_grayscale")
    if kind == "pil":
        return to_grayscale(img, num_output_channels)
    if img.ndim < 3:
        raise TypeError(f"Input image tensor should have at least 3 dimensions, but found {img.ndim}")
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    c = img.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"Input image tensor permitted channel values are [1, 3], but found {c}")
    a, wrap = _arr(img)
    l_img = _gray(a)
    if num_output_channels == 3:
        l_img = np.broadcast_to(l_img, a.shape)
    return wrap(l_img)


def to_grayscale(img, num_output_channels=1):
    """PIL Image to grayscale ("L", or "RGB" with three equal channels)."""
    if not _is_pil_image(img):
        if _is_tensor(img):
            return rgb_to_grayscale(img, num_output_channels)
        raise TypeError(f"to_grayscale: img should be PIL Image. Got {type(img)}")
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        np_img = np.array(img.convert("L"), dtype=np.uint8)
        return Image.fromarray(np.dstack([np_img, np_img, np_img]), "RGB")
    raise ValueError("num_output_channels should be either 1 or 3")


def _color_tensor(img, fname, permitted=(1, 3)):
    c = get_dimensions(img)[0]
    if img.ndim < 3 and c != 1 or c not in permitted:
        raise TypeError(f"Input image tensor permitted channel values are {list(permitted)}, but found {c}")
    return _arr(img)


def adjust_brightness(img, brightness_factor):
    if _check(img, "adjust_brightness") == "pil":
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    a, wrap = _color_tensor(img, "adjust_brightness")
    return wrap(_blend(a, np.zeros_like(a), brightness_factor))


def adjust_contrast(img, contrast_factor):
    if _check(img, "adjust_contrast") == "pil":
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    a, wrap = _color_tensor(img, "adjust_contrast")
    dt = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
    src = _gray(a) if a.shape[-3] == 3 else a
    mean = src.astype(dt).mean(axis=(-3, -2, -1), keepdims=True, dtype=dt)
    return wrap(_blend(a, mean, contrast_factor))


def adjust_saturation(img, saturation_factor):
    if _check(img, "adjust_saturation") == "pil":
        return ImageEnhance.Color(img).enhance(saturation_factor)
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    a, wrap = _color_tensor(img, "adjust_saturation")
    if a.shape[-3] == 1:
        return img
    return wrap(_blend(a, _gray(a), saturation_factor))


def _rgb2hsv(img):
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_divisor = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_divisor, (maxc - g) / cr_divisor, (maxc - b) / cr_divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = (hr + hg + hb).astype(img.dtype)
    h = np.fmod(h / img.dtype.type(6.0) + img.dtype.type(1.0), img.dtype.type(1.0))
    return h, s, maxc


def _hsv2rgb(h, s, v):
    one = h.dtype.type(1.0)
    i = np.floor(h * h.dtype.type(6.0))
    f = h * h.dtype.type(6.0) - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (one - s), 0.0, 1.0)
    q = np.clip(v * (one - s * f), 0.0, 1.0)
    t = np.clip(v * (one - s * (one - f)), 0.0, 1.0)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [np.select([i == k for k in range(6)], [ch[c] for ch in choices]) for c in range(3)]
    return np.stack(out, axis=-3).astype(h.dtype)


def adjust_hue(img, hue_factor):
    """Shift the hue by ``hue_factor`` (in [-0.5, 0.5]) of a full turn."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _check(img, "adjust_hue") == "pil":
        input_mode = img.mode
        if input_mode in {"L", "1", "I", "F"}:
            return img
        h, s, v = img.convert("HSV").split()
        np_h = np.array(h, dtype=np.uint8)
        np_h += np.int32(hue_factor * 255).astype(np.uint8)
        h = Image.fromarray(np_h, "L")
        return Image.merge("HSV", (h, s, v)).convert(input_mode)
    a, wrap = _color_tensor(img, "adjust_hue")
    if a.shape[-3] == 1:
        return img
    orig = a.dtype
    x = _arr(convert_image_dtype(a, np.float32))[0]
    h, s, v = _rgb2hsv(x)
    h = np.mod(h + np.float32(hue_factor), np.float32(1.0))
    out = _hsv2rgb(h, s, v)
    return wrap(convert_image_dtype(out, orig))


def _gaussian_kernel1d(kernel_size, sigma, dtype):
    half = (kernel_size - 1) * 0.5
    x = np.linspace(-half, half, kernel_size).astype(dtype)
    pdf = np.exp(dtype(-0.5) * (x / dtype(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian kernel (odd positive sizes); reflect-padded for tensors."""
    kind = _check(img, "gaussian_blur")
    if not isinstance(kernel_size, (int, list, tuple)):
        raise TypeError(f"kernel_size should be int or a sequence of integers. Got {type(kernel_size)}")
    if isinstance(kernel_size, int):
        kernel_size = [kernel_size, kernel_size]
    if len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for ksize in kernel_size:
        if ksize % 2 == 0 or ksize < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [ksize * 0.15 + 0.35 for ksize in kernel_size]
    if sigma is not None and not isinstance(sigma, (int, float, list, tuple)):
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    if isinstance(sigma, (int, float)):
        sigma = [float(sigma), float(sigma)]
    if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
        sigma = [sigma[0], sigma[0]]
    if len(sigma) != 2:
        raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    if kind == "pil":  # torchvision blurs PIL images as tensors
        t = pil_to_tensor(img)
        return to_pil_image(gaussian_blur(t, kernel_size, sigma), mode=img.mode)
    a, wrap = _arr(img)
    dt = a.dtype.type if a.dtype.kind == "f" else np.float32
    kx = _gaussian_kernel1d(kernel_size[0], sigma[0], dt)
    ky = _gaussian_kernel1d(kernel_size[1], sigma[1], dt)
    k2 = (ky[:, None] * kx[None, :]).astype(dt)
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    x = a.astype(dt)
    if py >= x.shape[-2] or px >= x.shape[-1]:
        raise RuntimeError("gaussian_blur: padding size should be less than the corresponding input dimension "
                           f"(kernel_size {kernel_size} for a {tuple(x.shape[-2:])} image)")
    x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(py, py), (px, px)], mode="reflect")
    h, w = a.shape[-2:]
    out = np.zeros(a.shape, dt)
    for i in range(kernel_size[1]):
        for j in range(kernel_size[0]):
            out += k2[i, j] * x[..., i:i + h, j:j + w]
    if a.dtype.kind in "uib":
        out = np.round(out).astype(a.dtype)
    return wrap(out)


def erase(img, i, j, h, w, v, inplace=False):
    """Replace the region (i, j, h, w) of a tensor image with ``v``."""
    if not _is_tensor(img):
        raise TypeError(f"erase: img should be Tensor Image. Got {type(img)}")
    a, wrap = _arr(img)
    vv = v.detach().numpy() if isinstance(v, ember.Tensor) else np.asarray(v)
    if inplace:
        if isinstance(img, ember.Tensor):
            out = a.copy()
            out[..., i:i + h, j:j + w] = vv
            img.copy_(ember.from_numpy(out))
        else:
            img[..., i:i + h, j:j + w] = vv
        return img
    out = a.copy()
    out[..., i:i + h, j:j + w] = vv
    return wrap(out)
