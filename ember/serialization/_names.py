"""The names torch's pickles use for dtypes and storages, and their NumPy dtypes."""
import numpy as np

from .. import _dtype

# legacy typed storages (what torch.save writes for these dtypes) -> ember's dtype name
STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexDoubleStorage": "complex128", "ComplexFloatStorage": "complex64",
}
STORAGE_OF = {v: k for k, v in STORAGES.items()}
UNTYPED = "UntypedStorage"  # bytes; torch pairs it with a dtype (_rebuild_tensor_v3) for uint16/32/64

# torch.<name> dtype globals -> ember's dtype name (torch pickles a dtype as the global torch.<name>)
DTYPES = {
    "float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "bool": "bool", "complex64": "complex64", "cfloat": "complex64", "complex128": "complex128",
    "cdouble": "complex128",
}


def numpy_dtype(name):
    """The NumPy dtype for ember's dtype ``name``; bfloat16 is ml_dtypes' (None without it)."""
    if name == "bfloat16":
        return _dtype._bf16(load=True)
    return np.dtype(name)


def name_of(dtype):
    """ember's (= torch's) name for a NumPy dtype, or None when torch has no such dtype."""
    dtype = np.dtype(dtype)
    if _dtype._bf16() is not None and dtype == _dtype._bf16():
        return "bfloat16"
    if dtype.fields is not None or dtype.subdtype is not None:
        return None
    name = dtype.newbyteorder("=").name
    return name if name in STORAGE_OF or name in ("uint16", "uint32", "uint64") else None
