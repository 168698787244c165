"""``ember.dtype``: PyTorch's dtype objects (``ember.float32``, ``ember.long``...) over NumPy's.

An ``ember.dtype`` wraps one ``numpy.dtype``: it prints as PyTorch prints (``ember.float32``),
equals and hashes like the NumPy dtype (``x.dtype == np.float32`` and ``x.dtype ==
ember.float32`` both hold), and its ``.dtype`` attribute is the ``numpy.dtype``, so NumPy takes
it wherever a dtype goes (``np.zeros(3, dtype=ember.float32)``, ``a.astype(ember.int64)``).
NumPy's attributes (``kind``, ``type``, ``name``, ``char``, ``str``, ...) are the NumPy dtype's.
There is one object per dtype, so ``x.dtype is ember.float32`` holds as in PyTorch.
"""
import sys

import numpy as np

__all__ = ["dtype", "finfo", "iinfo", "is_tensor", "is_floating_point", "is_complex", "promote_types", "can_cast",
           "as_dtype", "wrap"]

# PyTorch's name for each NumPy dtype, and the aliases PyTorch also exports
_NAMES = {
    "float32": "float32", "float64": "float64", "float16": "float16",
    "int64": "int64", "int32": "int32", "int16": "int16", "int8": "int8",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "bool": "bool", "complex64": "complex64", "complex128": "complex128",
}
ALIASES = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
           "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}

# the legacy tensor-type names, x.type() -> 'ember.FloatTensor'
_TENSOR_TYPES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "bfloat16": "BFloat16Tensor",
    "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
    "uint8": "ByteTensor", "bool": "BoolTensor", "complex64": "ComplexFloatTensor",
    "complex128": "ComplexDoubleTensor",
}


def _bf16(load=False):
    """bfloat16's NumPy dtype, or None. bfloat16 is not NumPy's; ml_dtypes (optional) provides
    it, and takes about a second to import, so ember imports it only when bfloat16 is asked for
    by name (``load``). A bfloat16 array can only exist once ml_dtypes is loaded."""
    ml = sys.modules.get("ml_dtypes")
    if ml is None and load:
        try:
            import ml_dtypes as ml
        except ImportError:  # pragma: no cover - depends on the environment
            return None
    return None if ml is None else np.dtype(ml.bfloat16)


def _is_bf16(d):
    """Whether NumPy dtype ``d`` is bfloat16 (careful: ``np.dtype(...) == None`` compares with
    float64, NumPy's default)."""
    bf = _bf16()
    return bf is not None and d == bf

_CACHE = {}  # numpy dtype -> ember.dtype
_BY_TYPE = {}  # numpy scalar type -> ember.dtype, the fast path of wrap()


class dtype:
    """A tensor element type, as ``torch.dtype``: ``ember.float32``, ``ember.int64``, ...

    ``ember.dtype(np.float32)`` (any NumPy dtype spec) gives the one object for that dtype.
    """

    # the NumPy dtype, PyTorch's name, and NumPy's most read attributes copied (fast to read)
    __slots__ = ("dtype", "_name", "kind", "type", "name", "char", "str", "num")

    def __new__(cls, spec):
        if isinstance(spec, dtype):
            return spec
        d = np.dtype(spec)
        w = _CACHE.get(d)
        if w is None:
            w = object.__new__(cls)
            w.dtype = d
            w.kind, w.type, w.name, w.char, w.str, w.num = d.kind, d.type, d.name, d.char, d.str, d.num
            w._name = "bfloat16" if _is_bf16(d) else _NAMES.get(d.name, d.name)
            _CACHE[d] = w
            _BY_TYPE.setdefault(d.type, w)
        return w

    # ----- PyTorch's attributes -----
    @property
    def is_floating_point(self):
        return self.dtype.kind == "f" or _is_bf16(self.dtype)

    @property
    def is_complex(self):
        return self.dtype.kind == "c"

    @property
    def is_signed(self):
        return self.dtype.kind in "fic" or _is_bf16(self.dtype)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def to_real(self):
        """The real dtype of a complex one (itself when not complex)."""
        return dtype(np.empty(0, self.dtype).real.dtype) if self.is_complex else self

    def to_complex(self):
        """The complex dtype with this float dtype's precision."""
        if self.is_complex:
            return self
        return dtype({2: np.complex64, 4: np.complex64, 8: np.complex128}[self.dtype.itemsize])

    # NumPy's other attributes. (Not a __getattr__: NumPy probes attributes of what it is
    # given as a dtype, and a Python __getattr__ makes each probe 10x slower.)
    byteorder = property(lambda self: self.dtype.byteorder)
    alignment = property(lambda self: self.dtype.alignment)
    isnative = property(lambda self: self.dtype.isnative)
    isbuiltin = property(lambda self: self.dtype.isbuiltin)
    hasobject = property(lambda self: self.dtype.hasobject)
    names = property(lambda self: self.dtype.names)
    fields = property(lambda self: self.dtype.fields)
    subdtype = property(lambda self: self.dtype.subdtype)
    shape = property(lambda self: self.dtype.shape)
    ndim = property(lambda self: self.dtype.ndim)
    base = property(lambda self: self.dtype.base)
    descr = property(lambda self: self.dtype.descr)
    flags = property(lambda self: self.dtype.flags)
    metadata = property(lambda self: self.dtype.metadata)

    def newbyteorder(self, new_order="S"):
        return self.dtype.newbyteorder(new_order)

    # ----- equal to itself, to the NumPy dtype and to what np.dtype() reads as it -----
    def __eq__(self, other):
        if other is self or other is self.type or other is self.dtype:
            return True
        if isinstance(other, dtype):
            return self.dtype == other.dtype
        if isinstance(other, (np.dtype, type, str)):
            try:
                return self.dtype == np.dtype(other)
            except TypeError:
                return False
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return f"ember.{self._name}"

    __str__ = __repr__

    def __reduce__(self):
        return (dtype, (self.dtype,))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def wrap(d):
    """The ``ember.dtype`` of a ``numpy.dtype`` (what ``Tensor.dtype`` returns)."""
    w = _BY_TYPE.get(d.type)
    if w is not None and (w.dtype is d or w.dtype == d):
        return w
    return dtype(d)


def differentiable(d):
    """Whether a NumPy dtype carries gradients (floating or complex, bfloat16 included)."""
    return d.kind in "fc" or _is_bf16(d)


def as_dtype(spec):
    """The ``numpy.dtype`` for an ember dtype, a NumPy dtype, or anything ``np.dtype`` takes."""
    return spec.dtype if isinstance(spec, dtype) else np.dtype(spec)


def tensor_type_name(d, cuda=False):
    """``'ember.FloatTensor'`` for float32 (``'ember.cuda.FloatTensor'`` on a GPU)."""
    w = dtype(d)
    return f"ember.{'cuda.' if cuda else ''}{_TENSOR_TYPES.get(w._name, w._name)}"


def from_tensor_type_name(name):
    """The ``ember.dtype`` named by ``'ember.FloatTensor'`` / ``'torch.cuda.LongTensor'``; the
    second value says whether the name is a CUDA one."""
    parts = name.split(".")
    cuda = len(parts) == 3 and parts[1] == "cuda"
    if len(parts) not in (2, 3) or parts[0] not in ("ember", "torch") or (len(parts) == 3 and not cuda):
        raise ValueError(f"invalid type: {name!r}")
    for np_name, tt in _TENSOR_TYPES.items():
        if tt == parts[-1]:
            if np_name == "bfloat16":
                if _bf16(load=True) is None:
                    break
                return dtype(_bf16()), cuda
            return dtype(np_name), cuda
    raise ValueError(f"invalid type: {name!r}")


def _np_dtype_or_default(d):
    if d is None:
        from . import backend

        return as_dtype(backend.get_default_dtype())
    if hasattr(d, "_data") and hasattr(d, "requires_grad"):  # a Tensor: torch.finfo takes dtypes only
        raise TypeError(f"finfo()/iinfo() expect a dtype, got {type(d).__name__}")
    return as_dtype(d)


def is_tensor(obj):
    """Whether ``obj`` is an ember Tensor (a Parameter is one)."""
    from ._tensor_base import TensorBase

    return isinstance(obj, TensorBase)


def _tensor_arg(fn, t):
    if not is_tensor(t):
        raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not {type(t).__name__}")
    return t._data.dtype


def is_floating_point(input):  # noqa: A002 - PyTorch's parameter name
    """Whether the tensor's dtype is a floating one (float16/32/64, bfloat16)."""
    return wrap(_tensor_arg("is_floating_point", input)).is_floating_point


def is_complex(input):  # noqa: A002
    """Whether the tensor's dtype is complex."""
    return _tensor_arg("is_complex", input).kind == "c"


def _category(d):
    return 0 if d.kind == "b" else 1 if d.kind in "iu" else 3 if d.kind == "c" else 2


def promote_types(type1, type2):
    """PyTorch's promotion of two dtypes: the higher category (bool < integer < floating <
    complex) wins; within one, the wider type (uint8 with int8 gives int16, float16 with
    bfloat16 float32); complex with a wider float widens the complex."""
    a, b = as_dtype(type1), as_dtype(type2)
    ca, cb = _category(a), _category(b)
    bf = _bf16() is not None and _bf16() in (a, b)
    if ca != cb:
        lo, hi = (a, b) if ca < cb else (b, a)
        if (ca, cb) in ((2, 3), (3, 2)):  # float with complex: the precision of the wider
            return dtype(np.complex128 if max(lo.itemsize, hi.itemsize // 2) > 4 else np.complex64)
        return dtype(hi)
    if bf:
        other = b if _is_bf16(a) else a
        return dtype(_bf16()) if _is_bf16(other) else dtype(np.float32) if other.itemsize <= 4 else dtype(other)
    return dtype(np.promote_types(a, b))


def can_cast(from_, to):
    """PyTorch's rule: a cast is allowed unless it lowers the category (floating to integer,
    complex to real, anything but bool to bool)."""
    return _category(as_dtype(from_)) <= _category(as_dtype(to))


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``: ``bits, eps, max, min, tiny``
    (``smallest_normal``), ``resolution``, ``dtype`` (its name, e.g. ``'float32'``)."""

    def __init__(self, type=None):
        d = _np_dtype_or_default(type)
        if d.kind not in "fc" and not _is_bf16(d):
            raise TypeError(f"finfo() requires a floating point input type, got {dtype(d)}")
        info = __import__("ml_dtypes").finfo(d) if _is_bf16(d) else np.finfo(d)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dtype(d).to_real()._name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.__dict__ == other.__dict__

    __hash__ = None

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer (or bool) dtype, as ``torch.iinfo``: ``bits, max, min, dtype``."""

    def __init__(self, type):
        d = _np_dtype_or_default(type)
        if d.kind in "iu":
            info = np.iinfo(d)
            self.bits, self.min, self.max = int(info.bits), int(info.min), int(info.max)
        else:
            raise TypeError(f"iinfo() requires an integer input type, got {dtype(d)}")
        self.dtype = dtype(d)._name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.__dict__ == other.__dict__

    __hash__ = None

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# the dtypes PyTorch names, made once, natives first (so _BY_TYPE holds the native ones);
# kept in a dict, not as module globals, so that ``bool``/``int`` stay Python's here
PUBLIC = {n: dtype(n) for n in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                "uint16", "uint32", "uint64", "bool", "complex64", "complex128")}
PUBLIC.update({a: PUBLIC[n] for a, n in ALIASES.items()})


def bfloat16():
    """``ember.bfloat16`` (made on first use: see _bf16), or None without ml_dtypes."""
    d = _bf16(load=True)
    return None if d is None else dtype(d)
