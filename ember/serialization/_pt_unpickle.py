"""A restricted unpickler for ``data.pkl``: a fixed list of globals, a fixed list of opcodes.

It is ``pickle._Unpickler`` (the pure-Python one: its memo is a dict, so a hostile
``LONG_BINPUT 4294967295`` allocates nothing, and its opcode table can be replaced) with
``find_class`` answering only the names below, each mapped to ember's own function; every
other global is refused. ``REDUCE`` and ``NEWOBJ`` call only those functions, ``BUILD`` only
sets attributes of an OrderedDict (the ``_metadata`` of a state dict), ``APPEND``/``SETITEM``
only fill lists/dicts, and the opcodes that reach other code (``INST``, ``OBJ``,
``NEWOBJ_EX``, ``EXT*``, text ``PERSID``, out-of-band buffers) are refused.
"""
import _compat_pickle
import io
import pickle
import struct
from collections import OrderedDict

import numpy as np

from ..io import _Bad
from . import _names
from .._dtype import _is_bf16 as _dtype_is_bf16

_MAX_DIMS = 32  # NumPy's limit on dimensions


class Refused(_Bad):
    """The pickle asks for something ember never does (a global outside the list, an opcode)."""


class DeviceUnavailable(RuntimeError):
    """A tensor saved on a device that ember cannot use (and no map_location to the CPU)."""


_WHY = ("ember never runs code from a file: it rebuilds only tensors, parameters, containers, numbers "
        "and strings (weights_only=False does not change this)")


class Storage:
    """One storage record, loaded: its elements as a 1-d array and the device it goes to."""

    __slots__ = ("array", "key", "device", "swap", "stype", "_views")

    def __init__(self, array, key, swap=False):
        self.array, self.key, self.device, self.swap, self.stype, self._views = array, key, "cpu", swap, None, {}

    def as_dtype(self, dtype):
        """A byte storage (``UntypedStorage``) seen as ``dtype`` (``_rebuild_tensor_v3``)."""
        dtype = np.dtype(dtype)
        v = self._views.get(dtype)
        if v is None:
            if self.array.dtype != np.uint8:
                raise _Bad(f"storage {self.key!r} is typed ({self.array.dtype}) but used as raw bytes")
            if self.array.size % dtype.itemsize:
                raise _Bad(f"storage {self.key!r} has {self.array.size} bytes, not a whole number of {dtype}")
            v = self.array.view(dtype)
            if self.swap and dtype.itemsize > 1:
                v = v.byteswap()
            self._views[dtype] = v
        return v

    # what a map_location callable may call on the storage it is given
    def cpu(self):
        return self

    def nbytes(self):
        return self.array.nbytes

    def size(self):
        return self.array.size

    def cuda(self, *args, **kwargs):
        raise DeviceUnavailable("ember loads storages on the CPU (map_location's storage.cuda() is not available)")

    def __repr__(self):
        return f"<ember storage {self.key!r}: {self.array.size} x {self.array.dtype}>"


class StorageType:
    """A torch storage class named by the pickle (``torch.FloatStorage``...): its element dtype."""

    def __init__(self, name):
        self.name = name
        self._resolved = None

    def _resolve(self):
        # on first use: BFloat16Storage needs ml_dtypes, which takes a second to import
        if self._resolved is None:
            dtype = _names.numpy_dtype("uint8" if self.name == _names.UNTYPED else _names.STORAGES[self.name])
            # bfloat16 without ml_dtypes: read as uint16, widened to float32
            self._resolved = (np.dtype(np.uint16), True) if dtype is None else (dtype, False)
        return self._resolved

    @property
    def dtype(self):
        return self._resolve()[0]

    @property
    def widened(self):
        return self._resolve()[1]

    def __repr__(self):
        return f"torch.{self.name}"


class _Call:
    """An allowed callable global: ``REDUCE``/``NEWOBJ`` call nothing else."""

    def __init__(self, name, fn, newobj=False):
        self.name, self.fn, self.newobj = name, fn, newobj

    def __call__(self, *args):
        return self.fn(*args)

    def __repr__(self):
        return self.name


class _Type:
    """``torch.Tensor`` / ``torch.nn.Parameter``, as ``_rebuild_from_type_v2`` names them."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


_TENSOR, _PARAMETER = _Type("torch.Tensor"), _Type("torch.nn.parameter.Parameter")


# ----- the rebuild functions -----

def _rebuild_tensor(storage, offset, size, stride):
    return rebuild(storage, offset, size, stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, backward_hooks, metadata=None):
    return rebuild(storage, offset, size, stride, requires_grad, metadata=metadata)


def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    from .._dtype import dtype as ember_dtype

    if not isinstance(dtype, ember_dtype):
        raise _Bad(f"a tensor's dtype is {_short(dtype)}, not a torch dtype")
    if type(storage) is not Storage:
        raise _Bad(f"a tensor is rebuilt from a {type(storage).__name__}, not a storage")
    return rebuild(storage, offset, size, stride, requires_grad, storage.as_dtype(dtype.dtype), metadata)


def _parameter(data, requires_grad=True):
    from .._tensor import Tensor
    from ..nn import Parameter

    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise _Bad(f"a Parameter is rebuilt from {_short(data)} and requires_grad={_short(requires_grad)}")
    return Parameter(data, requires_grad=requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return _parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise Refused(f"a Parameter carries Python attributes {_short(state)}, which ember does not restore")
    return _parameter(data, requires_grad)


def _rebuild_from_type_v2(func, new_type, args, state):
    if type(func) is not _Call or func.fn not in _REBUILDERS or new_type not in (_TENSOR, _PARAMETER):
        raise Refused(f"_rebuild_from_type_v2 of {_short(func)} as {_short(new_type)}; only tensors and "
                      "parameters are rebuilt")
    if state:
        raise Refused(f"a tensor carries Python attributes {_short(state)}, which ember does not restore")
    if type(args) is not tuple:
        raise _Bad(f"_rebuild_from_type_v2 got arguments {_short(args)}")
    t = func.fn(*args)
    return _parameter(t, t.requires_grad) if new_type is _PARAMETER else t


_REBUILDERS = {_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
               _rebuild_parameter_with_state}


def rebuild(storage, offset, size, stride, requires_grad=False, array=None, metadata=None):
    """An ember Tensor viewing ``storage`` (no copy), after checking the view against it."""
    from .._tensor import Tensor

    if type(storage) is not Storage:
        raise _Bad(f"a tensor is rebuilt from a {type(storage).__name__}, not a storage")
    arr = storage.array if array is None else array
    offset = _index(offset, "storage offset")
    size, stride = _dims(size, "size"), _dims(stride, "stride")
    if len(size) != len(stride):
        raise _Bad(f"a tensor has size {list(size)} but stride {list(stride)} (different lengths)")
    if len(size) > _MAX_DIMS:
        raise _Bad(f"a tensor has {len(size)} dimensions; at most {_MAX_DIMS} are read")
    if metadata and any(metadata.values() if isinstance(metadata, dict) else [True]):
        raise Refused(f"a tensor has metadata {_short(metadata)} (a conjugate or negative view); resolve it "
                      "before saving: t.resolve_conj().resolve_neg()")
    if type(requires_grad) is not bool:
        raise _Bad(f"a tensor's requires_grad is {_short(requires_grad)}, not a bool")
    numel = 1
    for d in size:
        numel *= d
    if numel == 0:
        out = np.empty(size, arr.dtype)
    else:
        last = offset + sum((d - 1) * s for d, s in zip(size, stride))
        if last >= arr.size:
            raise _Bad(f"a tensor of size {list(size)}, stride {list(stride)} and offset {offset} reaches "
                       f"element {last} of storage {storage.key!r}, which has {arr.size}")
        item = arr.itemsize
        out = np.lib.stride_tricks.as_strided(arr[offset:], shape=size, strides=[s * item for s in stride],
                                              writeable=not _overlaps(size, stride))
    if requires_grad and out.dtype.kind not in "fc" and not _dtype_is_bf16(out.dtype):
        raise _Bad(f"a tensor of dtype {out.dtype} claims requires_grad=True")
    t = Tensor(out, requires_grad=requires_grad)
    if storage.device.partition(":")[0] != "cpu":
        try:
            t = t.to(storage.device)
        except Exception as e:
            raise DeviceUnavailable(f"a tensor was saved on {storage.device!r}, which ember cannot use here "
                                    f"({e}); pass map_location='cpu' to load it on the CPU") from None
    return t


def _overlaps(size, stride):
    """Whether two elements of the view may share memory (such a view is made read-only)."""
    span = 0
    for s, d in sorted((s, d) for d, s in zip(size, stride) if d > 1):
        if s <= span:
            return True
        span += (d - 1) * s
    return False


def _index(v, what):
    if type(v) is not int or v < 0:
        raise _Bad(f"a tensor's {what} is {_short(v)}, not a non-negative int")
    return v


def _dims(v, what):
    if not isinstance(v, (tuple, list)):
        raise _Bad(f"a tensor's {what} is {_short(v)}, not a tuple of ints")
    return tuple(_index(d, what) for d in v)


def _short(v):
    r = repr(v) if not isinstance(v, (dict, list, tuple)) or len(v) < 20 else f"<{type(v).__name__} of {len(v)}>"
    return r if len(r) <= 80 else r[:77] + "..."


# ----- the other allowed callables -----

def _ordered_dict(*args):
    if len(args) > 1 or args and type(args[0]) not in (list, tuple, dict, OrderedDict):
        raise _Bad(f"OrderedDict called with {_short(args)}")
    return OrderedDict(*args)


def _size(dims=()):
    from ..ops.movement import Size

    return Size(_dims(dims, "torch.Size"))


def _device(kind, index=None):
    from .._device import device

    if type(kind) is not str or index is not None and type(index) is not int:
        raise _Bad(f"torch.device called with {_short((kind, index))}")
    return device(kind, index)


def _encode(text, encoding="utf-8"):
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _Bad(f"_codecs.encode called with {_short((text, encoding))}; only (str, 'latin1') is read")
    return text.encode("latin-1")


def _hashables(items, what):
    if type(items) not in (list, tuple):
        raise _Bad(f"{what} called with {_short(items)}")
    return items


def _complex(real=0.0, imag=0.0):
    if not all(type(v) in (int, float) for v in (real, imag)):
        raise _Bad(f"complex called with {_short((real, imag))}")
    return complex(real, imag)


def _bytearray(data=b"", encoding=None):
    if type(data) is str and encoding in ("latin1", "latin-1"):
        return bytearray(data.encode("latin-1"))
    if type(data) is bytes and encoding is None:
        return bytearray(data)
    raise _Bad(f"bytearray called with {_short((data, encoding))}")


def _globals():
    from .._dtype import dtype

    g = {
        ("collections", "OrderedDict"): _Call("collections.OrderedDict", _ordered_dict, newobj=True),
        ("torch", "Size"): _Call("torch.Size", _size),
        ("torch", "device"): _Call("torch.device", _device),
        ("torch", "Tensor"): _TENSOR,
        ("torch.nn.parameter", "Parameter"): _PARAMETER,
        ("torch._tensor", "_rebuild_from_type_v2"): _Call("torch._tensor._rebuild_from_type_v2",
                                                           _rebuild_from_type_v2),
        ("_codecs", "encode"): _Call("_codecs.encode", _encode),
        ("builtins", "set"): _Call("builtins.set", lambda items=(): set(_hashables(items, "set"))),
        ("builtins", "complex"): _Call("builtins.complex", _complex),
        ("builtins", "bytearray"): _Call("builtins.bytearray", _bytearray),
    }
    for fn in _REBUILDERS:
        g[("torch._utils", fn.__name__)] = _Call(f"torch._utils.{fn.__name__}", fn)
    for name in list(_names.STORAGES) + [_names.UNTYPED]:
        for module in ("torch", "torch.cuda", "torch.storage"):
            g[(module, name)] = StorageType(name)
    for torch_name, name in _names.DTYPES.items():
        if name != "bfloat16":  # resolved when a file names it: ml_dtypes takes a second to import
            g[("torch", torch_name)] = dtype(_names.numpy_dtype(name))
    return g


def _lazy_global(module, name):
    """A global resolved on first use: torch.bfloat16 (and its alias), which needs ml_dtypes."""
    if module == "torch" and _names.DTYPES.get(name) == "bfloat16":
        np_dtype = _names.numpy_dtype("bfloat16")
        if np_dtype is not None:
            from .._dtype import dtype

            _GLOBALS[(module, name)] = dtype(np_dtype)
            return _GLOBALS[(module, name)]
    return None


_GLOBALS = None
_MODULE_ALIASES = {"torch.tensor": "torch._tensor"}


# ----- the unpickler -----

class _Unpickler(pickle._Unpickler):
    def __init__(self, data, loader, encoding):
        super().__init__(io.BytesIO(data), encoding=encoding)
        self._loader = loader

    def find_class(self, module, name):
        global _GLOBALS
        if _GLOBALS is None:
            _GLOBALS = _globals()
        if self.proto < 3:  # Python 2's names, as protocols 0-2 write some of them
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        module = _MODULE_ALIASES.get(module, module)
        found = _GLOBALS.get((module, name))
        if found is None:
            found = _lazy_global(module, name)
        if found is None:
            raise Refused(f"its pickle asks for the global {module}.{name}, which is not allowed: {_WHY}")
        return found

    def persistent_load(self, pid):
        return self._loader.storage(pid)

    # the opcodes that call, build or fill, restricted
    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        if type(func) is not _Call:
            raise Refused(f"its pickle calls {_short(func)}, which is not an allowed function: {_WHY}")
        if type(args) is not tuple:
            raise _Bad(f"its pickle calls {func.name} with {_short(args)}, not a tuple")
        self.stack[-1] = func(*args)

    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        if type(args) is not tuple:
            raise _Bad(f"its pickle makes an object with arguments {_short(args)}, not a tuple")
        if cls is _PARAMETER:
            self.append(_parameter(*args))
        elif type(cls) is _Call and cls.newobj and not args:
            self.append(cls())
        else:
            raise Refused(f"its pickle makes an object of {_short(cls)}, which is not allowed: {_WHY}")

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is OrderedDict and type(state) is dict and all(
                type(k) is str and not k.startswith("__") for k in state):
            inst.__dict__.update(state)  # a state dict's _metadata
            return
        raise Refused(f"its pickle sets the state of a {type(inst).__name__} to {_short(state)}; only an "
                      f"OrderedDict's attributes are set: {_WHY}")

    def _target(self, types, op):
        if type(self.stack[-1]) not in types:
            raise _Bad(f"its pickle applies {op} to a {type(self.stack[-1]).__name__}")
        return self.stack[-1]

    def load_append(self):
        item = self.stack.pop()
        self._target((list,), "APPEND").append(item)

    def load_appends(self):
        items = self.pop_mark()
        self._target((list,), "APPENDS").extend(items)

    def load_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self._target((dict, OrderedDict), "SETITEM")[key] = value

    def load_setitems(self):
        items = self.pop_mark()
        d = self._target((dict, OrderedDict), "SETITEMS")
        if len(items) % 2:
            raise _Bad("its pickle has a SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            d[items[i]] = items[i + 1]

    def load_bytearray8(self):  # pickle's own allocates the claimed length before reading
        (n,) = struct.unpack("<Q", self.read(8))
        data = self.read(n)
        if len(data) != n:
            raise _Bad(f"its pickle ends inside a {n}-byte BYTEARRAY8 (truncated or lying)")
        self.append(bytearray(data))

    def load_additems(self):
        items = self.pop_mark()
        self._target((set,), "ADDITEMS").update(items)


class _Dispatch(dict):
    def __missing__(self, code):
        name = _OPNAMES.get(code, f"0x{code:02x}")
        raise Refused(f"its pickle uses the opcode {name}, which ember does not read: {_WHY}")


_OPNAMES = {op.code.encode("latin-1")[0]: op.name for op in __import__("pickletools").opcodes}
_SAFE = ("PROTO FRAME STOP MARK POP POP_MARK DUP NONE NEWTRUE NEWFALSE INT BININT BININT1 BININT2 LONG LONG1 "
         "LONG4 FLOAT BINFLOAT STRING BINSTRING SHORT_BINSTRING UNICODE BINUNICODE SHORT_BINUNICODE BINUNICODE8 "
         "BINBYTES SHORT_BINBYTES BINBYTES8 EMPTY_TUPLE TUPLE TUPLE1 TUPLE2 TUPLE3 EMPTY_LIST LIST "
         "EMPTY_DICT DICT EMPTY_SET FROZENSET GET BINGET LONG_BINGET PUT BINPUT LONG_BINPUT MEMOIZE BINPERSID "
         "GLOBAL STACK_GLOBAL").split()
_OWN = {"REDUCE": _Unpickler.load_reduce, "NEWOBJ": _Unpickler.load_newobj, "BUILD": _Unpickler.load_build,
        "APPEND": _Unpickler.load_append, "APPENDS": _Unpickler.load_appends, "SETITEM": _Unpickler.load_setitem,
        "SETITEMS": _Unpickler.load_setitems, "ADDITEMS": _Unpickler.load_additems,
        "BYTEARRAY8": _Unpickler.load_bytearray8}
_Unpickler.dispatch = _Dispatch(
    {getattr(pickle, n)[0]: pickle._Unpickler.dispatch[getattr(pickle, n)[0]] for n in _SAFE}
    | {getattr(pickle, n)[0]: fn for n, fn in _OWN.items()})


def unpickle(data, loader, encoding="utf-8"):
    """The object pickled in ``data``; storages come from ``loader.storage(persistent_id)``."""
    try:
        return _Unpickler(data, loader, encoding).load()
    except (_Bad, DeviceUnavailable, MemoryError):
        raise
    except Exception as e:  # malformed pickles raise many kinds: all are the file's fault
        raise _Bad(f"its data.pkl is not a valid pickle ({type(e).__name__}: {str(e)[:200]})") from None
