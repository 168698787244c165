"""Save and load state dicts without running code, and write any file atomically.

``ember.save(obj, f)`` writes a state dict, flat or nested (dicts, lists and tuples of
arrays, numbers, strings, bools and None, as an optimizer's ``state_dict`` is), to ``.npz``
(NumPy's zip of ``.npy`` members; the nesting kept in a JSON member), ``.safetensors``
(through the ``safetensors`` package; the nesting kept in its header's ``__metadata__``), or,
for any other path and for file objects, PyTorch's own format (``torch.save``'s zip archive,
``ember/serialization/``). ``ember.load(f)`` gives it back: plain ndarrays from ``.npz`` and
``.safetensors``, ember Tensors from PyTorch's format.

Loading never runs code and trusts no header: every size a file claims is checked against
the file's own size before anything is allocated, PyTorch's pickle is read by an unpickler
that knows a fixed list of globals, and anything that is wrong raises ``SerializationError``
naming the file and the fault. Files written by ``np.savez``, ``torch.save`` or
``safetensors.torch.save_file`` load too.

Every write goes through ``atomic_write``: a temporary file beside the target, flushed and
fsynced, then renamed over it, so a process killed at any moment leaves the old file or the
new one. A writer killed mid-save leaves its temporary file behind, named
``.<name>.tmp-<pid>-<random>``; these are safe to delete, and the next save to the same path
removes those whose process is gone.
"""
import contextlib
import errno
import gc
import io
import json
import math
import operator
import os
import stat
import struct
import zlib
from itertools import chain

import numpy as np

from ._tensor_base import _KINDS  # what a tensor holds: nothing that can hold objects
from .atomic import atomic_write  # noqa: E402  (public here too: ember.io.atomic_write)

__all__ = ["SerializationError", "atomic_write", "load", "save"]

FORMATS = (".npz", ".safetensors")
_STRUCTURE = "__ember_structure__.json"  # npz member holding the nesting, as uint8 JSON bytes
_META_KEY = "ember.structure"  # the same JSON in the safetensors header's __metadata__
_MAX_DEFLATE_RATIO = 1032  # deflate cannot expand data more than this; a larger claim is a lie
_CHUNK = 1 << 22
# a deflated member is inflated into its array this much at a time: the only second copy held
_INFLATE_CHUNK = 1 << 18
# a deflated member claiming at most this ratio is allocated at once; one claiming more (up to
# _MAX_DEFLATE_RATIO, e.g. zeros) is first inflated without keeping anything, to prove it
_TRUSTED_RATIO = 16
_MAX_ST_HEADER = 100_000_000  # the safetensors library's own limit on the header's length
# safetensors dtype names; BF16 has no NumPy type and loads widened to float32
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
              "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
              "BOOL": "?", "C64": "<c8"}
_ST_SAVABLE = {np.dtype(v) for k, v in _ST_DTYPES.items() if k != "BF16"}
_ST_NUMPY = {k: np.dtype(v) for k, v in _ST_DTYPES.items()}
_MAX_NPY_HEADER = 10000  # NumPy's own limit on a .npy header's length
_STORED, _DEFLATED = 0, 8  # zip compression methods (zipfile is imported when needed)


class SerializationError(ValueError):
    """A file that cannot be loaded safely: truncated, corrupt, or not what it claims to be."""


class _Bad(Exception):
    """Raised inside the parsers with what is wrong; ``load`` adds the file's name."""


# ----- atomic writes -----

def _flatten(obj):
    """Split ``obj`` into ``{key: contiguous ndarray}`` and a JSON-able description of its nesting.

    Containers become ``{"dict": [[k, v], ...]}``, ``{"list": [...]}``, ``{"tuple": [...]}``,
    arrays ``{"array": key}``; numbers, strings, bools and None stay as they are.
    """
    from ._tensor import Tensor

    arrays = {}

    def visit(x, parts):
        where = ".".join(parts) or "the object"
        if x is None or isinstance(x, (bool, str)) or isinstance(x, (int, float)) and not isinstance(x, np.generic):
            return x  # JSON keeps these exactly; NumPy scalars become 0-d arrays, keeping their dtype
        if isinstance(x, Tensor):
            x = x._data
        elif hasattr(x, "detach") and hasattr(x, "numpy") and not isinstance(x, np.ndarray):
            x = x.detach().cpu().numpy()  # a torch tensor, without importing torch
        if isinstance(x, (np.ndarray, np.generic)):
            a = np.asarray(x, order="C")  # np.ascontiguousarray would make 0-d arrays 1-d
            if a.dtype.kind not in _KINDS or a.dtype.fields is not None:
                raise TypeError(f"ember.save: {where} has dtype {a.dtype}; only bool, integer, "
                                "floating and complex arrays can be saved")
            key = ".".join(parts) or "array"
            base, n = key, 1
            while key in arrays or key == _STRUCTURE:
                key, n = f"{base}#{n}", n + 1
            if "\x00" in key:
                raise TypeError(f"ember.save: key {key!r} contains a NUL character")
            arrays[key] = a
            return {"array": key}
        if isinstance(x, dict):
            for k in x:
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(f"ember.save: dict key {k!r} in {where} is a {type(k).__name__}; "
                                    "keys must be str, int, float, bool or None")
            return {"dict": [[k, visit(v, parts + [str(k)])] for k, v in x.items()]}
        if isinstance(x, (list, tuple)):
            tag = "list" if isinstance(x, list) else "tuple"
            return {tag: [visit(v, parts + [str(i)]) for i, v in enumerate(x)]}
        raise TypeError(f"ember.save: cannot save {where} of type {type(x).__name__}; expected "
                        "arrays, Tensors, dicts, lists, tuples, numbers, strings, bools or None")

    return arrays, visit(obj, [])


def _unflatten(node, arrays):
    """Rebuild the object that ``_flatten`` described, checking every node of the JSON."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (tag, val), = node.items()
        if tag == "array" and isinstance(val, str):
            if val not in arrays:
                raise _Bad(f"its structure refers to a missing array {val!r}")
            return arrays[val]
        if tag in ("list", "tuple") and isinstance(val, list):
            items = [_unflatten(v, arrays) for v in val]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and isinstance(val, list):
            out = {}
            for pair in val:
                if not (isinstance(pair, list) and len(pair) == 2 and not isinstance(pair[0], (list, dict))):
                    raise _Bad(f"its structure has a malformed dict entry {str(pair)[:80]}")
                out[pair[0]] = _unflatten(pair[1], arrays)
            return out
    raise _Bad(f"its structure has an unknown node {str(node)[:80]}")


def _structure(text, arrays):
    try:
        return _unflatten(json.loads(text), arrays)
    except RecursionError:
        raise _Bad("its structure is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise _Bad(f"its structure is not valid JSON ({e})") from None


# ----- format dispatch -----

def _format_of(path):
    """``.npz`` or ``.safetensors`` from the extension; None for anything else (PyTorch's format)."""
    low = path.lower()
    for ext in FORMATS:
        if low.endswith(ext):
            return ext
    return None


def _is_file(f, method):
    return hasattr(f, method) and not isinstance(f, (str, bytes, os.PathLike))


def _path(f, verb):
    try:
        return os.fsdecode(os.fspath(f))
    except TypeError:
        raise TypeError(f"ember.{verb}: f must be a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}") from None


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write a (possibly nested) state dict to ``f``; a path is written atomically.

    Args:
        obj: a Tensor or array, or dicts (OrderedDicts kept), lists, tuples and sets of them and
            of numbers, strings, bools and None; e.g. ``model.state_dict()`` or
            ``optimizer.state_dict()``. Parameters stay Parameters in PyTorch's format.
        f: a path or a binary file object. A path ending in ``.npz`` (NumPy) or
            ``.safetensors`` (needs the ``safetensors`` package) is written in that format;
            any other path (``.pt``, ``.pth``...) and any file object get PyTorch's own zip
            archive, which ``torch.load(f, weights_only=True)`` reads.
        pickle_module, pickle_protocol: accepted as torch.save takes them; ember writes its own
            protocol-2 pickle (torch.save's default) whatever they say.
    """
    from .serialization import _args

    if not _use_new_zipfile_serialization:
        raise ValueError("ember.save writes PyTorch's zip format only (torch.save's default since 1.6), "
                         "not the legacy format")
    _args.check_pickle_module(pickle_module, "save")
    if _is_file(f, "write"):
        from .serialization import save_pt

        save_pt(obj, f, "archive", byteorder=not _disable_byteorder_record)
        return
    path = _path(f, "save")
    fmt = _format_of(path)
    if fmt is None:
        from .serialization import prepare_pt, write_pt

        payload = prepare_pt(obj)  # the errors of an unsavable object come before any file is made
        with atomic_write(path, "wb") as out:
            write_pt(payload, out, _args.archive_name(path), byteorder=not _disable_byteorder_record)
        return
    arrays, structure = _flatten(obj)
    text = json.dumps(structure, separators=(",", ":"))
    if fmt == ".npz":
        _save_npz(arrays, text, path)
    else:
        _save_safetensors(arrays, text, path)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **pickle_load_args):
    """Read what ``save`` (or ``torch.save``, ``np.savez``, safetensors) wrote, without running any code.

    Args:
        f: a path or a binary file object. ``.npz`` and ``.safetensors`` paths are read in that
            format; anything else is recognised by its first bytes (PyTorch's zip archive, an
            ``.npz`` zip, or safetensors).
        map_location: as in torch.load: None, a device or its name, a dict from saved
            locations to devices, or a callable ``(storage, location)``; ember's tensors live
            on the CPU, so storages saved on a GPU need ``map_location='cpu'`` (or a GPU that
            ember can use).
        weights_only: ember always loads as ``torch.load(weights_only=True)`` does, whatever
            this says: it never unpickles arbitrary objects, so False cannot unlock them.
        mmap: accepted; the data is read into memory.

    Returns:
        The saved object. From PyTorch's format, ember Tensors (Parameters where PyTorch
        rebuilds parameters), viewing their storages as torch's do. From ``.npz`` and
        ``.safetensors``: plain ndarrays, and a flat ``{name: ndarray}`` dict for files that
        ember did not write.

    Raises:
        SerializationError: the file is truncated, corrupt, not in one of these formats, or its
            pickle asks for anything but tensors, containers, numbers and strings (the error
            names the global or opcode); or the path is a FIFO or a device, which could block
            the read forever (only regular files are opened).
    """
    from .serialization import _args

    _args.check_pickle_module(pickle_module, "load")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    if pickle_load_args:
        raise TypeError(f"ember.load: unexpected keyword arguments {sorted(pickle_load_args)}")
    _args.check_map_location(map_location)
    if _is_file(f, "read"):
        name = getattr(f, "name", None)
        label = name if isinstance(name, str) else "<file object>"
        try:
            src = f if f.seekable() and f.tell() == 0 else None
        except (AttributeError, OSError, ValueError):
            src = None
        if src is None:
            src = io.BytesIO(f.read())
        size = src.seek(0, 2)
        src.seek(0)
        return _load_from(src, size, label, None, map_location, encoding)
    path = _path(f, "load")
    with open_regular(path, "load") as fh:
        return _load_from(fh, os.fstat(fh.fileno()).st_size, path, _format_of(path), map_location, encoding)


_NOT_REGULAR = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                (stat.S_ISBLK, "a block device"))


def open_regular(path, verb="load"):
    """Open ``path`` for binary reading, refusing anything but a regular file.

    Reading a FIFO (or a terminal) would block until some other process writes to it, so the
    file is opened without blocking and checked before a byte is read.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        SerializationError: ``path`` is a FIFO, socket or device.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            kind = next((k for test, k in _NOT_REGULAR if test(mode)), "a special file")
            raise SerializationError(f"cannot {verb} {path!r}: it is {kind}, not a regular file")
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _load_from(f, size, label, fmt, map_location, encoding):
    from .serialization import _args
    from .serialization._pt_unpickle import DeviceUnavailable

    try:
        if fmt is None:
            fmt = _args.sniff(f, size)
        if fmt == ".npz":
            return _load_npz(f, size)
        if fmt == ".safetensors":
            return _load_safetensors(f, size)
        return _load_zip(f, size, map_location, encoding)
    except (MemoryError, DeviceUnavailable):
        raise  # the checks exist so that MemoryError cannot happen; do not hide it
    except _Bad as e:
        raise SerializationError(f"cannot load {label!r}: {e}") from None
    except Exception as e:  # zipfile, zlib and numpy's parsers raise many kinds
        kind = fmt if fmt in FORMATS else "PyTorch (zip)"
        raise SerializationError(f"cannot load {label!r}: corrupt or truncated {kind} file "
                                 f"({type(e).__name__}: {e})") from None


def _load_zip(f, size, map_location, encoding):
    import zipfile

    from .serialization import load_pt, looks_like_pt

    with zipfile.ZipFile(f) as zf:
        names = zf.namelist()
        if looks_like_pt(zf) or not names or not all(n.endswith(".npy") for n in names):
            return load_pt(zf, f, size, map_location, encoding)
    f.seek(0)
    return _load_npz(f, size)


# ----- .npz -----

def _save_npz(arrays, text, path):
    import zipfile

    arrays = dict(arrays)
    arrays[_STRUCTURE] = np.frombuffer(text.encode("utf-8"), np.uint8)
    with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w", _STORED, allowZip64=True) as zf:
        for key, a in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, a, allow_pickle=False)


def _load_npz(f, size):
    import zipfile

    head = f.read(4)
    f.seek(0)
    if head[:1] == b"\x80":
        raise _Bad("it is a pickle file, not a zip of .npy arrays; ember never unpickles")
    if head != b"PK\x03\x04" and head != b"PK\x05\x06":
        raise _Bad(f"it is not a zip file (starts with {head!r}); an .npz file is a zip of .npy arrays")
    arrays, text = {}, None
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if any(n.endswith(".pkl") or n.endswith("/data.pkl") for n in names):
            raise _Bad("it is a torch.save archive (a zip holding pickled data), not an .npz file: "
                       "give it a .pt name to load it as one")
        if len(set(names)) != len(names):
            raise _Bad("it has duplicate member names")
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise _Bad(f"member {info.filename!r} is not a .npy array")
            _check_member_sizes(info, size)
        for info in infos:
            a = _read_npy_member(zf, f, info)
            key = info.filename[:-4]
            if key == _STRUCTURE:
                if a.dtype != np.uint8 or a.ndim != 1:
                    raise _Bad(f"member {info.filename!r} should be a 1-d uint8 array")
                text = a.tobytes().decode("utf-8")
            else:
                arrays[key] = a
    return arrays if text is None else _structure(text, arrays)


def _check_member_sizes(info, size):
    name = info.filename
    if info.header_offset + info.compress_size > size:
        raise _Bad(f"member {name!r} claims {info.compress_size} bytes at offset {info.header_offset}, "
                   f"past the end of the {size}-byte file (truncated?)")
    if info.compress_type == _STORED:
        if info.compress_size != info.file_size:
            raise _Bad(f"stored member {name!r} claims {info.file_size} bytes but holds {info.compress_size}")
    elif info.compress_type == _DEFLATED:
        if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
            raise _Bad(f"deflated member {name!r} claims {info.file_size} bytes from {info.compress_size}, "
                       "more than deflate can produce (a zip bomb?)")
    else:
        raise _Bad(f"member {name!r} uses zip compression method {info.compress_type}; "
                   "only stored and deflated (np.savez, np.savez_compressed) are read")


def _read_npy_member(zf, f, info):
    name = info.filename
    with zf.open(info) as m:  # checks the local header against the directory
        head, shape, fortran, dtype = _npy_header(m, name)
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        if len(head) + nbytes != info.file_size:
            raise _Bad(f"member {name!r} claims shape {shape} of {dtype} ({nbytes} bytes) but holds "
                       f"{info.file_size - len(head)} bytes of data")
        if info.compress_type == _STORED:
            # the size is proven by the file's size: allocate, then read straight into the array
            f.seek(info.header_offset + 26)
            skip = sum(struct.unpack("<HH", f.read(4)))  # the local header's name and extra fields
            f.seek(info.header_offset + 30 + skip + len(head))
            a = np.empty(count, dtype)
            _read_into(f, a.view(np.uint8), name)
            if zlib.crc32(a.view(np.uint8), zlib.crc32(head)) != info.CRC:
                raise _Bad(f"member {name!r} fails its CRC check (corrupt)")
        else:
            # a deflated member's size is a claim until the data inflates to it; a claim that
            # only a high ratio can meet (up to deflate's ~1032:1, checked before) is proven by
            # inflating it once, keeping nothing, before its array is allocated
            if nbytes > _TRUSTED_RATIO * info.compress_size + (1 << 20):
                with zf.open(info) as probe:
                    probe.read(len(head))
                    _inflate_into(probe, None, nbytes, name)
            a = np.empty(count, dtype)
            _inflate_into(m, a.view(np.uint8), nbytes, name)
    return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)


def _inflate_into(m, buf, nbytes, name):
    """Read exactly ``nbytes`` from the zip member ``m`` into the uint8 array ``buf`` (None: count
    them only), a chunk at a time, and check that the member ends there (and its CRC)."""
    view = None if buf is None else memoryview(buf)
    got = 0
    while got < nbytes:
        chunk = m.read(min(_INFLATE_CHUNK, nbytes - got))
        if not chunk:
            raise _Bad(f"member {name!r} ends after {got} of its {nbytes} data bytes (truncated)")
        if view is not None:
            view[got:got + len(chunk)] = chunk
        got += len(chunk)
    if m.read(1):  # reading to the end also makes zipfile check the CRC
        raise _Bad(f"member {name!r} holds more data than its header says")


def _npy_header(m, name):
    """Parse a .npy header with bounded reads; return (its bytes, shape, fortran_order, dtype)."""
    prefix = _read_exact(m, 8, name)
    if prefix[:6] != b"\x93NUMPY":
        raise _Bad(f"member {name!r} is not a .npy array (starts with {prefix[:6]!r})")
    if prefix[6:] not in (b"\x01\x00", b"\x02\x00"):
        raise _Bad(f"member {name!r} has .npy version {tuple(prefix[6:])}; only 1.0 and 2.0 are read")
    v1 = prefix[6] == 1
    length = _read_exact(m, 2 if v1 else 4, name)
    n = int.from_bytes(length, "little")
    if n > _MAX_NPY_HEADER:
        raise _Bad(f"member {name!r} claims a {n}-byte .npy header; at most {_MAX_NPY_HEADER} are read")
    text = _read_exact(m, n, name)
    read = np.lib.format.read_array_header_1_0 if v1 else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(io.BytesIO(length + text))  # ast.literal_eval: runs no code
    if dtype.hasobject:
        raise _Bad(f"member {name!r} is an object array (pickled Python objects); ember never unpickles")
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise _Bad(f"member {name!r} has dtype {dtype}; only bool, integer, floating and complex are read")
    if any(d < 0 for d in shape):
        raise _Bad(f"member {name!r} has a negative dimension in shape {shape}")
    return prefix + length + text, shape, fortran, dtype


def _read_exact(f, n, name):
    data = f.read(n)
    if len(data) != n:
        raise _Bad(f"{name!r} ends inside its header (truncated)")
    return data


def _read_into(f, buf, name):
    """Fill the uint8 array ``buf`` from ``f`` in chunks (no second copy of the data)."""
    done = 0
    while done < buf.size:
        n = f.readinto(buf[done:done + _CHUNK])
        if not n:
            raise _Bad(f"{name!r} ends after {done} of its {buf.size} data bytes (truncated)")
        done += n


# ----- .safetensors -----

def _save_safetensors(arrays, text, path):
    try:
        from safetensors.numpy import save as to_bytes
    except ImportError:
        raise ImportError("ember.save to .safetensors needs the safetensors package: "
                          "pip install safetensors (or save to .npz)") from None
    for key, a in arrays.items():
        if a.dtype.newbyteorder("<") not in _ST_SAVABLE:
            raise TypeError(f"ember.save: {key} has dtype {a.dtype}, which safetensors cannot store; "
                            "use .npz, or convert it")
    # save_file would write through its own temporary file, outside our atomic scheme
    data = to_bytes(arrays, metadata={_META_KEY: text})
    with atomic_write(path, "wb") as f:
        f.write(data)


def _load_safetensors(f, size):
    head = f.read(8)
    if len(head) < 8:
        raise _Bad(f"it has {size} bytes, fewer than the 8-byte header length (truncated)")
    (n,) = struct.unpack("<Q", head)
    if n > size - 8:  # only now can the first bytes be something else's magic number
        if head[:1] == b"\x80":
            raise _Bad("it is a pickle file, not safetensors; ember never unpickles")
        if head[:4] == b"PK\x03\x04":
            raise _Bad("it is a zip file (torch.save's pickle archive, or an .npz?), not safetensors: "
                       "give it a .pt or .npz name to load it as one")
        raise _Bad(f"its header claims {n} bytes but the file has only {size - 8} after the "
                   "length field (truncated or corrupt)")
    if n > _MAX_ST_HEADER:
        raise _Bad(f"its header claims {n} bytes; the safetensors format allows at most {_MAX_ST_HEADER}")
    with _gc_paused():
        return _read_safetensors(f, n, size)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector within the block: a header of many tensors parses
    into millions of containers, none of them garbage, and the collections that their
    allocation triggers would take more time than the parse itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_safetensors(f, n, size):
    raw = f.read(n)
    if len(raw) != n:
        raise _Bad("it ended while reading the header (truncated)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _Bad(f"its header is not valid JSON ({e})") from None
    del raw
    if not isinstance(header, dict):
        raise _Bad("its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise _Bad("its __metadata__ is not a JSON object")
    specs = _tensor_specs(header, size - 8 - n)
    del header
    # the ranges tile the data section, so it is read front to back, and what is allocated
    # is the file's size (twice a bfloat16 tensor's, widened to float32)
    f.seek(8 + n)
    readinto, arrays = f.readinto, {}
    for _, _, key, name, shape in specs:
        a = np.empty(shape, _ST_NUMPY[name])
        got = readinto(a)  # a C-contiguous array is a writable buffer of a.nbytes bytes
        if got != a.nbytes:
            _read_into(f, a.reshape(-1).view(np.uint8)[got or 0:], key)
        if name == "BF16":  # bfloat16 is the top half of a float32
            a = (a.astype(np.uint32) << 16).view(np.float32)
        arrays[key] = a
    text = meta.get(_META_KEY)
    if text is None:
        return arrays
    if not isinstance(text, str):
        raise _Bad(f"its __metadata__[{_META_KEY!r}] is not a string")
    return _structure(text, arrays)


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Bad("its header repeats a key")
    return d


def _tensor_specs(header, data_len):
    """Check the header's tensor entries: their dtypes and shapes, that each byte range is as
    long as its shape needs, and that the ranges tile the data section (``_check_tiling``).

    Returns ``[(begin, end, key, dtype name, shape)]`` sorted by offset. A header may hold
    hundreds of thousands of tensors, so the checks run over whole columns with builtins;
    only when one fails are the entries checked one by one, for a message naming the tensor.
    """
    try:
        entries = list(header.values())
        names = [e["dtype"] for e in entries]
        shapes = [e["shape"] for e in entries]
        offsets = [e["data_offsets"] for e in entries]
        sizes = [_ST_NUMPY[name].itemsize for name in names]
        dims, flat = list(chain.from_iterable(shapes)), list(chain.from_iterable(offsets))
        begins, ends = flat[0::2], flat[1::2]
        # type(...) is int, not isinstance: JSON's true and false are bools, which are ints
        ok = (set(map(type, entries)) <= {dict} and set(map(type, shapes)) <= {list}
              and set(map(type, offsets)) <= {list} and set(map(len, offsets)) <= {2}
              and set(map(type, dims)) <= {int} and set(map(type, flat)) <= {int}
              and min(dims, default=0) >= 0 and min(begins, default=0) >= 0
              and max(ends, default=0) <= data_len and all(map(operator.le, begins, ends))
              and list(map(operator.mul, map(math.prod, shapes), sizes)) == list(map(operator.sub, ends, begins)))
    except (KeyError, TypeError):  # a missing field, an unknown or unhashable dtype, a non-list
        ok = False
    if not ok:
        for key, spec in header.items():
            _check_spec(key, spec, data_len)  # raises, naming the first bad tensor
        raise AssertionError("unreachable: a column check failed but no entry did")
    specs = sorted(zip(begins, ends, header, names, map(tuple, shapes)))  # keys are unique: no ties
    _check_tiling(specs, data_len)
    return specs


def _check_spec(key, spec, data_len):
    """Check one header entry against the data's size; raise naming the tensor if it is wrong."""
    if not (type(spec) is dict and "dtype" in spec and "shape" in spec and "data_offsets" in spec):
        raise _Bad(f"tensor {key!r} needs dtype, shape and data_offsets in the header")
    name, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    dtype = _ST_NUMPY.get(name) if type(name) is str else None
    if dtype is None:
        raise _Bad(f"tensor {key!r} has dtype {str(name)[:20]!r}; ember reads {', '.join(_ST_DTYPES)}")
    # type(...) is int: JSON's true and false are bools, which Python counts as ints
    if not (type(shape) is list and all(type(d) is int and d >= 0 for d in shape)):
        raise _Bad(f"tensor {key!r} has an invalid shape {str(shape)[:80]}")
    if not (type(offsets) is list and len(offsets) == 2 and type(offsets[0]) is int
            and type(offsets[1]) is int and 0 <= offsets[0] <= offsets[1] <= data_len):
        raise _Bad(f"tensor {key!r} has data_offsets {str(offsets)[:80]} outside the "
                   f"{data_len} data bytes of the file (truncated or corrupt)")
    begin, end = offsets
    need = math.prod(shape) * dtype.itemsize
    if need != end - begin:
        raise _Bad(f"tensor {key!r} of shape {shape} and dtype {name} needs {need} "
                   f"bytes but its data_offsets span {end - begin}")


def _check_tiling(specs, data_len):
    """The format's rule, as the safetensors library applies it: sorted by offset, the tensors'
    byte ranges cover the data section exactly, with no overlap, no hole and nothing after."""
    begins, ends = list(map(operator.itemgetter(0), specs)), list(map(operator.itemgetter(1), specs))
    if not specs and data_len == 0 or specs and [0] + ends[:-1] == begins and ends[-1] == data_len:
        return
    pos, prev = 0, None
    for begin, end, key, *_ in specs:
        if begin != pos:
            if begin < pos:
                raise _Bad(f"tensor {key!r} has data_offsets [{begin}, {end}], which overlap tensor "
                           f"{prev[2]!r} at [{prev[0]}, {prev[1]}]; each byte belongs to one tensor")
            where = f"tensor {prev[2]!r} ends at {pos}" if prev else "the data section starts at 0"
            raise _Bad(f"tensor {key!r} starts at data offset {begin} but {where}: a hole of "
                       f"{begin - pos} unused bytes (corrupt)")
        pos, prev = end, (begin, end, key)
    if pos != data_len:
        last = f"after the last tensor {prev[2]!r} (which ends at {pos})" if prev else "but no tensors"
        raise _Bad(f"its data section has {data_len - pos} bytes {last}; "
                   "the tensors must account for all of it")
