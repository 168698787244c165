"""``torchvision.utils``' ``make_grid`` and ``save_image`` (through Pillow, written atomically)."""
import math
import os

import numpy as np

import ember
from ember.atomic import atomic_write

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Tile a batch (B, C, H, W) or list of (C, H, W) images into one (C, H', W') grid of
    ``nrow`` images a row, ``padding`` pixels of ``pad_value`` between them; ``normalize``
    maps ``value_range`` (default: min..max, per image with ``scale_each``) onto [0, 1]."""
    if not isinstance(tensor, ember.Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, ember.Tensor):
                    raise TypeError(f"tensor or list of tensors expected, got a list containing {type(t)}")
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if isinstance(tensor, list):
        a = np.stack([t.detach().numpy() for t in tensor], axis=0)
    else:
        a = tensor.detach().numpy()
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        if a.shape[0] == 1:
            a = np.concatenate((a, a, a), 0)
        a = a[None]
    if a.ndim == 4 and a.shape[1] == 1:
        a = np.concatenate((a, a, a), 1)
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected images of shape (B, C, H, W), (C, H, W) or (H, W), got {a.shape}")
    if normalize is True:
        a = a.copy()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are numbers")

        def norm_range(t):
            low, high = (value_range if value_range is not None else (float(t.min()), float(t.max())))
            np.clip(t, low, high, out=t, casting="unsafe")
            t -= np.asarray(low).astype(t.dtype)
            t /= np.asarray(max(high - low, 1e-5)).astype(t.dtype)

        if scale_each is True:
            for t in a:
                norm_range(t)
        else:
            norm_range(a)
    if a.shape[0] == 1:
        return ember.from_numpy(np.ascontiguousarray(a[0]))
    nmaps = a.shape[0]
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(a.shape[2] + padding), int(a.shape[3] + padding)
    num_channels = a.shape[1]
    grid = np.full((num_channels, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=a.dtype)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = a[k]
            k += 1
    return ember.from_numpy(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """Save a tensor (or a grid of a batch, ``make_grid``'s keywords) in [0, 1] as an image file;
    a path is written atomically."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        raise ImportError("save_image needs Pillow: pip install pillow") from None
    grid = make_grid(tensor, **kwargs).numpy()
    ndarr = np.clip(grid * grid.dtype.type(255) + grid.dtype.type(0.5), 0, 255)
    ndarr = np.ascontiguousarray(ndarr.transpose(1, 2, 0)).astype(np.uint8)
    im = Image.fromarray(ndarr)
    if isinstance(fp, (str, os.PathLike)):
        fmt = format
        if fmt is None:  # Pillow picks the format from the extension; a temp file has none
            ext = os.path.splitext(os.fspath(fp))[1].lower()
            Image.init()
            if ext not in Image.EXTENSION:
                raise ValueError(f"save_image: unknown file extension {ext!r} for {os.fspath(fp)!r}; pass format=")
            fmt = Image.EXTENSION[ext]
        with atomic_write(fp, "wb") as f:
            im.save(f, format=fmt)
    else:
        im.save(fp, format=format)
