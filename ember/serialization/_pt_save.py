"""Write ``torch.save``'s zip archive: a protocol-2 pickle written opcode by opcode, and the storages.

The pickle names only globals that ``torch.load(weights_only=True)`` allows:
``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor_v3`` / ``_rebuild_parameter``, the
storage classes (``torch.FloatStorage``...), ``collections.OrderedDict``, ``torch.Size``,
``torch.device``, dtypes, ``_codecs.encode`` (bytes), ``builtins.set`` and ``builtins.complex``.
"""
import struct
import sys
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from . import _names

_ALIGN = 64  # torch's storage alignment: each record's data starts at a multiple of it
_PAD_ID = 0x4246  # the extra-field id torch's writer pads with ("FB")
_FORMAT_VERSION = b"1"
_ARCHIVE_VERSION = b"3\n"
_KINDS = "biufc"


class _Pickler:
    """A protocol-2 pickle of state-dict-like objects; arrays become persistent storage ids."""

    def __init__(self):
        self.parts = [b"\x80\x02"]  # PROTO 2
        self.memo = {}  # (module, name) -> memo index: each global is written once
        self.storages = []  # [(key, contiguous native-order array)]
        self._keys = {}  # id(array) -> key: the same array object twice is one storage
        self._keep = []  # the arrays behind _keys, kept alive so their ids stay unique
        self._active = set()  # ids of the containers being written (a cycle is an error)

    def dump(self, obj):
        self.save(obj, [])
        self.parts.append(b".")  # STOP
        return b"".join(self.parts)

    # ----- opcodes -----
    def w(self, b):
        self.parts.append(b)

    def glob(self, module, name):
        idx = self.memo.get((module, name))
        if idx is not None:
            self.w(b"h" + bytes([idx]) if idx < 256 else b"j" + struct.pack("<I", idx))  # BINGET
            return
        self.w(b"c" + f"{module}\n{name}\n".encode("ascii"))  # GLOBAL
        idx = self.memo[(module, name)] = len(self.memo)
        self.w(b"q" + bytes([idx]) if idx < 256 else b"r" + struct.pack("<I", idx))  # BINPUT

    def int_(self, x, where):
        if 0 <= x < 256:
            self.w(b"K" + bytes([x]))  # BININT1
        elif 0 <= x < 65536:
            self.w(b"M" + struct.pack("<H", x))  # BININT2
        elif -(2**31) <= x < 2**31:
            self.w(b"J" + struct.pack("<i", x))  # BININT
        else:
            n = (x.bit_length() + 8) // 8  # two's complement with room for the sign bit
            if n > 255:
                raise TypeError(f"ember.save: the integer at {where} has {n} bytes; at most 255 are written")
            self.w(b"\x8a" + bytes([n]) + x.to_bytes(n, "little", signed=True))  # LONG1

    def str_(self, s):
        b = s.encode("utf-8", "surrogatepass")
        self.w(b"X" + struct.pack("<I", len(b)) + b)  # BINUNICODE

    def tuple_(self, items, where):
        if not items:
            self.w(b")")
            return
        if len(items) > 3:
            self.w(b"(")
        for i, v in enumerate(items):
            self.save(v, where + [str(i)])
        self.w(b"t" if len(items) > 3 else b"\x84\x85\x86\x87"[len(items):len(items) + 1])

    def call(self, module, name, args, where):
        self.glob(module, name)
        self.tuple_(args, where)
        self.w(b"R")  # REDUCE

    def ordered_dict(self):
        self.call("collections", "OrderedDict", (), [])

    # ----- values -----
    def save(self, x, where):
        from .._tensor import Tensor
        from ..ops.movement import Size

        if x is None:
            self.w(b"N")
        elif x is True or x is False:
            self.w(b"\x88" if x else b"\x89")
        elif isinstance(x, (int, float, complex, str, bytes)) and not isinstance(x, np.generic):
            self.scalar(x, where)
        elif isinstance(x, (Tensor, np.ndarray, np.generic)) or _is_torch_tensor(x):
            self.tensor(x, where)
        elif isinstance(x, _dtype_type()):
            name = _names.name_of(x.dtype)
            if name is None:
                raise TypeError(f"ember.save: the dtype at {_where(where)} ({x}) has no PyTorch equivalent")
            self.glob("torch", name)
        elif type(x).__name__ == "device" and type(x).__module__ == "ember._device":
            self.call("torch", "device", (str(x),), where)
        elif id(x) in self._active:
            raise TypeError(f"ember.save: {_where(where)} contains itself; a cycle cannot be saved")
        elif isinstance(x, frozenset):
            raise TypeError(f"ember.save: {_where(where)} is a frozenset, which torch.load(weights_only=True) "
                            "does not read; save a set or a tuple")
        elif isinstance(x, (dict, list, tuple, set)):
            self._active.add(id(x))
            try:
                self.container(x, where, Size)
            finally:
                self._active.discard(id(x))
        else:
            raise TypeError(f"ember.save: cannot save {_where(where)} of type {type(x).__name__}; expected "
                            "Tensors, arrays, dicts, lists, tuples, sets, numbers, strings, bytes, bools or None")

    def scalar(self, x, where):
        if isinstance(x, int):
            self.int_(int(x), _where(where))
        elif isinstance(x, float):
            self.w(b"G" + struct.pack(">d", x))  # BINFLOAT
        elif isinstance(x, complex):
            self.call("__builtin__", "complex", (x.real, x.imag), where)
        elif isinstance(x, str):
            self.str_(str(x))
        else:  # bytes, as protocol 2 pickles them: _codecs.encode(text, 'latin1')
            self.call("_codecs", "encode", (bytes(x).decode("latin-1"), "latin1"), where)

    def container(self, x, where, size_type):
        if isinstance(x, dict):
            if isinstance(x, OrderedDict):
                self.ordered_dict()
            else:
                self.w(b"}")  # EMPTY_DICT
            if x:
                self.w(b"(")
                for k, v in x.items():
                    if not _key_ok(k):
                        raise TypeError(f"ember.save: dict key {k!r} in {_where(where)} is a {type(k).__name__}; "
                                        "keys must be str, int, float, bool, None or tuples of them")
                    self.save(k, where)
                    self.save(v, where + [str(k)])
                self.w(b"u")  # SETITEMS
        elif isinstance(x, list):
            self.w(b"]")
            if x:
                self.w(b"(")
                for i, v in enumerate(x):
                    self.save(v, where + [str(i)])
                self.w(b"e")  # APPENDS
        elif isinstance(x, size_type):
            self.call("torch", "Size", (tuple(int(d) for d in x),), where)
        elif isinstance(x, tuple):
            self.tuple_(tuple(x), where)
        else:
            for v in x:
                if not _key_ok(v):
                    raise TypeError(f"ember.save: {_where(where)} is a set holding a {type(v).__name__}")
            self.call("__builtin__", "set", (list(x),), where)

    def tensor(self, x, where):
        from .._tensor import Tensor
        from ..nn import Parameter

        param = isinstance(x, Parameter) or _is_torch_tensor(x) and type(x).__name__ == "Parameter"
        requires_grad = bool(getattr(x, "requires_grad", False))
        if isinstance(x, Tensor):
            a = x._data
        elif _is_torch_tensor(x):
            a = x.detach().cpu().numpy()
        else:
            a = x
        if not isinstance(a, np.ndarray):
            a = a.get() if hasattr(a, "get") and not isinstance(a, np.generic) else np.asarray(a)  # CuPy
        name = _names.name_of(a.dtype) if a.dtype.kind in _KINDS or a.dtype.kind == "V" else None
        if name is None:
            raise TypeError(f"ember.save: {_where(where)} has dtype {a.dtype}, which PyTorch does not have")
        key = self._keys.get(id(a))
        if key is None:
            key = str(len(self.storages))
            self._keys[id(a)] = key
            self._keep.append(a)
            flat = np.ascontiguousarray(a).reshape(-1)
            if not flat.dtype.isnative:
                flat = flat.astype(flat.dtype.newbyteorder("="))
            self.storages.append((key, flat))
        stride, n = [], 1
        for d in reversed(a.shape):
            stride.append(n)
            n *= max(int(d), 1)
        v3 = name not in _names.STORAGE_OF
        if param:
            self.glob("torch._utils", "_rebuild_parameter")
            self.w(b"(")
            requires_grad, param_grad = False, requires_grad
        self.glob("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.w(b"(")
        # the persistent id: ('storage', storage type, key, location, numel)
        self.w(b"(")
        self.str_("storage")
        self.glob("torch.storage", _names.UNTYPED) if v3 else self.glob("torch", _names.STORAGE_OF[name])
        self.str_(key)
        self.str_("cpu")
        self.int_(a.size * (a.itemsize if v3 else 1), where)
        self.w(b"tQ")  # TUPLE, BINPERSID
        self.int_(0, where)  # storage offset
        self.tuple_(tuple(int(d) for d in a.shape), where)
        self.tuple_(tuple(reversed(stride)), where)
        self.w(b"\x88" if requires_grad else b"\x89")
        self.ordered_dict()  # backward hooks: always empty
        if v3:
            self.glob("torch", name)
        self.w(b"tR")  # TUPLE, REDUCE
        if param:
            self.w(b"\x88" if param_grad else b"\x89")
            self.ordered_dict()
            self.w(b"tR")


def _key_ok(k):
    if k is None or isinstance(k, (bool, int, float, str)):
        return not isinstance(k, np.generic)
    return isinstance(k, tuple) and all(_key_ok(e) for e in k)


def _where(parts):
    return ".".join(parts) or "the object"


def _is_torch_tensor(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "numpy")


def _dtype_type():
    from .._dtype import dtype

    return dtype


def prepare_pt(obj):
    """Pickle ``obj``: (the data.pkl bytes, [(key, storage array)]). Raises TypeError for what
    PyTorch's format cannot hold, before any file is written."""
    p = _Pickler()
    return p.dump(obj), p.storages


def save_pt(obj, f, archive="archive", byteorder=True):
    """Write ``obj`` to the binary file ``f`` as ``torch.save`` would."""
    write_pt(prepare_pt(obj), f, archive, byteorder)


def write_pt(payload, f, archive="archive", byteorder=True):
    """Write a ``prepare_pt`` result as torch.save's archive, its records in the folder ``archive``."""
    data, storages = payload
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        crcs = []
        _record(zf, f"{archive}/data.pkl", data, crcs)
        _record(zf, f"{archive}/.format_version", _FORMAT_VERSION, crcs)
        _record(zf, f"{archive}/.storage_alignment", str(_ALIGN).encode(), crcs)
        if byteorder:
            _record(zf, f"{archive}/byteorder", sys.byteorder.encode(), crcs)
        for key, a in storages:
            _record(zf, f"{archive}/data/{key}", a.view(np.uint8), crcs)
        _record(zf, f"{archive}/version", _ARCHIVE_VERSION, crcs)
        sid = zlib.crc32(b"".join(struct.pack("<I", c) for c in crcs))
        _record(zf, f"{archive}/.data/serialization_id", f"{sid:020d}".encode(), crcs)


def _record(zf, name, data, crcs):
    """One stored record whose data starts at a multiple of _ALIGN in the file."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(view)
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule for the local header
    start = zf.start_dir + 30 + len(name.encode("ascii")) + (20 if zip64 else 0)
    pad = -start % _ALIGN
    if pad and pad < 4:
        pad += _ALIGN
    if pad:
        info.extra = struct.pack("<HH", _PAD_ID, pad - 4) + b"Z" * (pad - 4)
    with zf.open(info, "w", force_zip64=zip64) as m:
        for i in range(0, len(view), 1 << 24):
            m.write(view[i:i + (1 << 24)])
    crcs.append(info.CRC)
