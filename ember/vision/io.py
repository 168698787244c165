"""``torchvision.io``'s image reading, through Pillow: PNG and JPEG (and whatever else Pillow
decodes) to a uint8 Tensor (C, H, W) (uint16 for 16-bit PNGs read UNCHANGED)."""
import io as _io
import os
import re
from enum import Enum

import numpy as np

import ember

__all__ = ["ImageReadMode", "decode_image", "read_file", "read_image"]


class ImageReadMode(Enum):
    """Colour conversion while decoding (torchvision's values; strings such as "RGB" work too)."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
             ImageReadMode.RGB_ALPHA: "RGBA"}


def _mode(mode):
    if isinstance(mode, str):
        try:
            return ImageReadMode[mode.upper()]
        except KeyError:
            raise ValueError(f"decode_image: unknown mode {mode!r}; expected one of "
                             f"{[m.name for m in ImageReadMode]}") from None
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"decode_image: mode should be an ImageReadMode or a string, got {type(mode).__name__}")
    return mode


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        raise ImportError("ember.vision.io needs Pillow: pip install pillow") from None
    return Image


def read_file(path):
    """The bytes of a file as a 1-D uint8 Tensor."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    return ember.from_numpy(np.frombuffer(data, np.uint8).copy())


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"))


def _decode_error(data, name, e, fmt):
    """The RuntimeError for undecodable bytes: the source, what was expected, and Pillow's reason
    (without the repr of the BytesIO it was given)."""
    fmt = fmt or next((f for magic, f in _MAGIC if data.startswith(magic)), None)
    if not data:
        what = "it is empty (0 bytes); expected an encoded image (PNG, JPEG, ...)"
    elif fmt is not None:
        what = f"expected a complete {fmt} image, but its {len(data):,} bytes are truncated or corrupt"
    else:
        what = (f"expected an encoded image (PNG, JPEG or another format Pillow reads), but its "
                f"{len(data):,} bytes start with {data[:8]!r}")
    reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-fA-F]+>", "", str(e))
    return RuntimeError(f"decode_image: could not decode {name}: {what} (Pillow: {type(e).__name__}: {reason})")


def _decode(data, mode, apply_exif_orientation, name):
    Image = _pil()
    mode = _mode(mode)
    im = None
    try:
        im = Image.open(_io.BytesIO(data))
        im.load()
    except Exception as e:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ValueError...
        raise _decode_error(data, name, e, getattr(im, "format", None)) from e
    if apply_exif_orientation:
        from PIL import ImageOps
        im = ImageOps.exif_transpose(im)
    if mode == ImageReadMode.UNCHANGED:
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "PA":
            im = im.convert("RGBA")
        elif im.mode == "1":
            im = im.convert("L")
        elif im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im).astype(np.uint16)
            return ember.from_numpy(np.ascontiguousarray(arr[None]))
        elif im.mode == "CMYK":
            im = im.convert("RGB")
    else:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
            im = Image.fromarray(arr, "L")
        im = im.convert(_PIL_MODE[mode])
    arr = np.asarray(im)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Decode an encoded image (1-D uint8 Tensor / array of the file's bytes, bytes, or a path)
    to a uint8 Tensor (C, H, W); raises RuntimeError naming the source when it cannot."""
    if isinstance(input, (str, os.PathLike)):
        return read_image(input, mode, apply_exif_orientation)
    if isinstance(input, (bytes, bytearray, memoryview)):
        data = bytes(input)
    elif isinstance(input, (ember.Tensor, np.ndarray)):
        arr = input.numpy() if isinstance(input, ember.Tensor) else input
        if arr.dtype != np.uint8 or arr.ndim != 1:
            raise RuntimeError(f"decode_image: input should be a 1-D uint8 tensor of encoded bytes, "
                               f"got dtype {arr.dtype} and shape {tuple(arr.shape)}")
        data = arr.tobytes()
    else:
        raise TypeError(f"decode_image: input should be a Tensor of bytes, bytes or a path, got {type(input).__name__}")
    return _decode(data, mode, apply_exif_orientation, "the input data")


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """Read a PNG or JPEG file to a uint8 Tensor (C, H, W)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    return _decode(data, mode, apply_exif_orientation, repr(path))
