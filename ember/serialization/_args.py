"""The arguments of ember.save/ember.load as torch.save/torch.load take them, and telling a
file's format from its first bytes."""
import os
import struct

from ..io import _Bad


def archive_name(path):
    """The folder torch.save puts its records in: the file's name without its extension."""
    stem = os.path.splitext(os.path.basename(path))[0]
    ok = stem and stem.isascii() and all(c.isalnum() or c in "._-" for c in stem)
    return stem if ok else "archive"


_LEGACY_TORCH = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"  # pickle of torch's legacy magic number


def sniff(f, size):
    """The format of a file without a telling extension, from its first bytes."""
    head = f.read(16)
    f.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] <= size - 8:
        return ".safetensors"
    if head.startswith(_LEGACY_TORCH):
        raise _Bad("it is in PyTorch's legacy format (torch.save with _use_new_zipfile_serialization=False, "
                   "or PyTorch before 1.6), a raw pickle stream; ember never unpickles such streams: "
                   "re-save it with torch.save in a current PyTorch")
    if head[:1] == b"\x80":
        raise _Bad("it is a raw pickle stream (pickle.dump), not PyTorch's zip archive; ember never unpickles "
                   "such streams")
    raise _Bad(f"it is neither PyTorch's zip archive (torch.save) nor an .npz or .safetensors file "
               f"(it starts with {head[:8]!r})")


def check_pickle_module(module, verb):
    if module is not None and getattr(module, "__name__", None) != "pickle":
        raise ValueError(f"ember.{verb}: pickle_module={getattr(module, '__name__', module)!r} is not used: "
                         "ember reads and writes PyTorch's format with its own restricted pickler")


def check_map_location(ml):
    from .._device import device

    def check(d):
        if isinstance(d, str):
            device(d)  # a DeviceError for a name that is no device
        elif not isinstance(d, device) and not (hasattr(d, "type") and hasattr(d, "index")):
            raise TypeError(f"ember.load: map_location holds {type(d).__name__}; expected a device or its name")

    if ml is None or callable(ml) and not isinstance(ml, device) and not hasattr(ml, "index"):
        return
    if isinstance(ml, dict):
        for k, v in ml.items():
            check(k)
            check(v)
    else:
        check(ml)
