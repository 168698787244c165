"""Read ``torch.save``'s zip archive without torch and without running anything from the file.

The pickle is read by ``_Unpickler`` (``_pt_unpickle.py``), whose globals are a fixed list;
this module checks the archive, loads each storage once (its size proven by its record, the
record's by the file's size), and rebuilds tensors as views of their storage after checking
their offset, shape and strides against it.
"""
import struct
import sys
import zlib

import numpy as np

from ..io import _Bad, _read_into
from . import _names
from ._pt_unpickle import DeviceUnavailable, Refused, Storage, StorageType, unpickle

_MAX_SMALL = 64  # byteorder, version, ... records are a few bytes


def looks_like_pt(zf):
    """Whether the open ``zipfile.ZipFile`` holds a torch.save archive (a ``<name>/data.pkl``)."""
    return any(n.count("/") == 1 and n.endswith("/data.pkl") for n in zf.namelist())


def load_pt(zf, f, size, map_location, encoding="utf-8"):
    """The object in the torch.save archive ``zf`` (read from the binary file ``f`` of ``size`` bytes)."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise _Bad("its zip archive has duplicate record names")
    if not names:
        raise _Bad("it is an empty zip archive, not a torch.save file")
    first = names[0]
    prefix = first.partition("/")[0] + "/"
    if "/" not in first:
        raise _Bad(f"its first record {first[:80]!r} is not inside a folder; torch.save puts every record "
                   "in one folder (<name>/data.pkl, <name>/data/0, ...)")
    records = {i.filename[len(prefix):]: i for i in infos if i.filename.startswith(prefix)}
    if "constants.pkl" in records or any(k.startswith("code/") for k in records):
        raise _Bad("it is a TorchScript archive (torch.jit.save), which holds code; ember reads only "
                   "torch.save files")
    if "data.pkl" not in records:
        raise _Bad(f"it is a zip archive without {prefix}data.pkl, so not a torch.save file")
    for info in infos:
        _check_record(info, size)
    order = _small(zf, f, records, "byteorder") or b"little"
    if order not in (b"little", b"big"):
        raise _Bad(f"its byteorder record says {order[:20]!r}; expected 'little' or 'big'")
    version = _small(zf, f, records, "version") or _small(zf, f, records, ".data/version")
    if version is not None and not version.strip().isdigit():
        raise _Bad(f"its version record says {version[:20]!r}; expected a number")
    data = _read_record(zf, f, records["data.pkl"]).tobytes()
    loader = _StorageLoader(zf, f, records, order.decode(), map_location)
    return unpickle(data, loader, encoding)


def _check_record(info, size):
    name = info.filename
    if info.compress_type != 0:
        raise _Bad(f"record {name!r} is compressed (zip method {info.compress_type}); torch.save writes "
                   "stored records only")
    if info.compress_size != info.file_size:
        raise _Bad(f"stored record {name!r} claims {info.file_size} bytes but holds {info.compress_size}")
    if info.header_offset + 30 + info.file_size > size:
        raise _Bad(f"record {name!r} claims {info.file_size} bytes at offset {info.header_offset}, past the "
                   f"end of the {size}-byte file (truncated?)")


def _small(zf, f, records, key):
    info = records.get(key)
    if info is None:
        return None
    if info.file_size > _MAX_SMALL:
        raise _Bad(f"its {key} record has {info.file_size} bytes; at most {_MAX_SMALL} expected")
    return _read_record(zf, f, info).tobytes()


def _read_record(zf, f, info):
    """A stored record's bytes as a uint8 array, read straight from the file, CRC checked."""
    name = info.filename
    with zf.open(info):  # checks the local header against the directory
        pass
    f.seek(info.header_offset + 26)
    skip = sum(struct.unpack("<HH", f.read(4)))  # the local header's name and extra fields
    f.seek(info.header_offset + 30 + skip)
    a = np.empty(info.file_size, np.uint8)
    _read_into(f, a, name)
    if zlib.crc32(a) != info.CRC:
        raise _Bad(f"record {name!r} fails its CRC check (corrupt)")
    return a


class _StorageLoader:
    """Loads each storage once, on its first use in the pickle, and places it per map_location."""

    def __init__(self, zf, f, records, byteorder, map_location):
        self.zf, self.f, self.records = zf, f, records
        self.swap = byteorder != sys.byteorder
        self.map_location = map_location
        self.loaded = {}  # key -> Storage

    def storage(self, pid):
        """The Storage a persistent id ``('storage', type, key, location, numel)`` names."""
        if type(pid) is not tuple or len(pid) != 5:
            raise Refused(f"its pickle has a persistent id {_short(pid)}; only ('storage', type, key, location, "
                          "numel) is read")
        kind, stype, key, location, numel = (_ascii(v) for v in pid)
        if kind != "storage" or type(stype) is not StorageType:
            raise Refused(f"its pickle has a persistent id {_short(pid)}; only ('storage', <a torch storage "
                          "class>, ...) is read")
        if type(key) is not str or type(location) is not str or type(numel) is not int or numel < 0:
            raise _Bad(f"its storage id {_short(pid)} is malformed (expected a str key and location, an int numel)")
        dtype = stype.dtype
        nbytes = numel * dtype.itemsize
        info = self.records.get(f"data/{key}")
        if info is None:
            raise _Bad(f"its pickle names storage {key!r}, which has no record data/{key}")
        if nbytes != info.file_size:
            raise _Bad(f"storage {key!r} claims {numel} elements of {stype.name} ({nbytes} bytes) but its record "
                       f"data/{key} holds {info.file_size} bytes")
        st = self.loaded.get(key)
        if st is not None:
            if st.stype.dtype != dtype:
                raise _Bad(f"storage {key!r} is used with two element types ({st.stype} and {stype})")
            return st
        a = _read_record(self.zf, self.f, info).view(dtype)
        if self.swap and dtype.itemsize > 1:
            a.byteswap(inplace=True)  # a file from a machine of the other byte order
        if stype.widened:  # bfloat16 without ml_dtypes: the top half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        st = Storage(a, key, swap=self.swap and stype.name == _names.UNTYPED)
        st.stype = stype
        st.device = self._place(st, location)
        self.loaded[key] = st
        return st

    def _place(self, storage, location):
        """The device a storage saved at ``location`` goes to, after map_location."""
        ml = self.map_location
        if ml is None:
            return location
        if isinstance(ml, dict):
            return str(ml.get(location, location))
        if isinstance(ml, str) or not callable(ml):  # a device (ember's or torch's)
            return str(ml)
        moved = ml(storage, location)
        if moved is None:
            return location
        if moved is not storage:
            raise DeviceUnavailable(f"map_location returned {type(moved).__name__}; ember loads storages on the CPU, so "
                            "it may return the storage it is given (or None)")
        return "cpu"


def _ascii(v):
    return v.decode("ascii") if isinstance(v, bytes) else v


def _short(v):
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."
