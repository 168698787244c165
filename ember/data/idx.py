"""The IDX file format (MNIST's), raw or gzip-compressed, read without trusting the header.

An IDX file is a big-endian header, then the array in row-major order:

    0x00 0x00 <type code> <ndim>   then ndim uint32 dimensions   then the data

Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""
import gzip
import math
import os
import struct
import zlib

import numpy as np

from ..atomic import atomic_write
from ..io import SerializationError, open_regular

__all__ = ["read_idx", "write_idx"]

_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODE_OF = {np.dtype(v).newbyteorder("="): k for k, v in _CODES.items()}
_CHUNK = 1 << 18  # compressed bytes read, and decompressed bytes held, at a time
# deflate cannot expand data by more than about 1032:1, so a gzip file of n bytes holds at most
# this many times n: a header that claims more is lying, and we can say so before inflating
_MAX_RATIO = 1100
# a header claiming at most this ratio gets its array at once; one claiming more is inflated
# first without keeping anything, so that a lie costs time, not memory
_TRUSTED_RATIO = 16


class GzipStream:
    """Reads the decompressed bytes of a gzip file in bounded pieces (members concatenated).

    ``read(n)`` never holds more than ``n`` decompressed bytes, however much the file
    would inflate to: the guard against gzip bombs and lying headers.
    """

    def __init__(self, f, name):
        self._f, self._name = f, name
        self._in = b""
        self._d = None  # the decompressor of the member being read, None between members

    def read(self, n):
        """Up to ``n`` decompressed bytes as a list of bytes objects; fewer only at the end."""
        parts, want = [], n
        while want > 0:
            out = self._piece(want)
            if not out:
                break
            parts.append(out)
            want -= len(out)
        return parts

    def readinto(self, view):
        """Fill the writable byte buffer ``view`` a piece at a time (no second copy of it);
        return how many bytes it got, fewer than ``len(view)`` only at the end."""
        return self._fill(view, len(view))

    def skip(self, n):
        """Inflate and discard up to ``n`` bytes, a piece at a time; return how many there were."""
        return self._fill(None, n)

    def _fill(self, view, n):
        got = 0
        while got < n:
            out = self._piece(min(n - got, _CHUNK))
            if not out:
                break
            if view is not None:
                view[got : got + len(out)] = out
            got += len(out)
        return got

    def _piece(self, want):
        """The next at most ``want`` decompressed bytes; b"" at the end of the stream."""
        while True:
            if not self._in:
                self._in = self._f.read(_CHUNK)
                if not self._in:
                    if self._d is not None:
                        raise SerializationError(f"{self._name}: truncated gzip stream")
                    return b""
            if self._d is None:
                if self._in[0] == 0x1F:  # a gzip member (zlib checks the rest of its header)
                    self._d = zlib.decompressobj(31)
                elif not self._in.strip(b"\0"):  # zero padding after the last member
                    self._in = b""
                    continue
                else:
                    raise SerializationError(f"{self._name}: garbage after the end of the gzip stream")
            try:
                out = self._d.decompress(self._in, want)
            except zlib.error as e:
                raise SerializationError(f"{self._name}: corrupt gzip data ({e})") from None
            if self._d.eof:  # everything past the member's end is in unused_data (not unconsumed_tail)
                self._in = self._d.unused_data
                self._d = None
            else:
                self._in = self._d.unconsumed_tail
            if out:
                return out


def _read_exact(stream, n, gz):
    """``n`` bytes from ``stream`` (a raw file or a GzipStream), or fewer at the end."""
    if gz:
        return b"".join(stream.read(n))
    return stream.read(n)


def _check_length(stream, got, nbytes, name, claim, header):
    if got < nbytes:
        raise SerializationError(f"{name}: {claim} decompressed), but it holds {header + got:,}")
    if stream.read(1):
        raise SerializationError(f"{name}: {claim} decompressed), but it holds more")


def read_idx(path):
    """Read an IDX file (raw or gzip) into a NumPy array of native byte order.

    The header is checked before anything is allocated: the magic number, the type code, and
    that the dimensions account for the file's size exactly (for gzip, the stream is inflated
    in bounded pieces and reading stops as soon as it holds more than the header claims).

    Args:
        path: the file; gzip is detected from its first bytes, not its name.

    Returns:
        ndarray of the header's shape and dtype (uint8 for MNIST).

    Raises:
        ember.SerializationError: naming the file and what is wrong with it.
    """
    name = os.fspath(path)
    with open_regular(name, "read") as f:
        gz = f.read(2) == b"\x1f\x8b"
        f.seek(0)
        size = os.fstat(f.fileno()).st_size
        stream = GzipStream(f, name) if gz else f

        head = _read_exact(stream, 4, gz)
        if len(head) < 4:
            raise SerializationError(f"{name}: not an IDX file: {len(head)} bytes, shorter than the 4-byte magic")
        if head[:2] != b"\0\0":
            raise SerializationError(
                f"{name}: not an IDX file: magic number 0x{head.hex()} does not start with 0x0000"
            )
        code, ndim = head[2], head[3]
        if code not in _CODES:
            known = ", ".join(f"0x{c:02X} {np.dtype(d).name}" for c, d in _CODES.items())
            raise SerializationError(f"{name}: unknown IDX type code 0x{code:02X} (known: {known})")
        if ndim < 1:
            raise SerializationError(f"{name}: IDX header has 0 dimensions")
        raw_dims = _read_exact(stream, 4 * ndim, gz)
        if len(raw_dims) < 4 * ndim:
            raise SerializationError(f"{name}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes")
        dims = struct.unpack(f">{ndim}I", raw_dims)
        dtype = np.dtype(_CODES[code])
        nbytes = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
        header = 4 + 4 * ndim
        claim = f"header claims shape {dims} of {dtype.newbyteorder('=').name} ({header + nbytes:,} bytes"

        if not gz:
            if size != header + nbytes:
                raise SerializationError(f"{name}: {claim}), but the file has {size:,} bytes")
            buf = np.empty(nbytes, np.uint8)
            if f.readinto(memoryview(buf)) != nbytes:  # the file shrank while we read it
                raise SerializationError(f"{name}: file changed size while being read")
        else:
            if nbytes > size * _MAX_RATIO:
                raise SerializationError(
                    f"{name}: {claim} decompressed), but a gzip file of {size:,} bytes cannot hold that much"
                )
            if nbytes > _TRUSTED_RATIO * size + (1 << 20):
                # a claim that only a high ratio can meet (zeros) is proven by inflating it
                # once, keeping nothing, before its array is allocated
                _check_length(stream, stream.skip(nbytes), nbytes, name, claim, header)
                f.seek(0)
                stream = GzipStream(f, name)
                _read_exact(stream, header, gz)
            buf = np.empty(nbytes, np.uint8)
            _check_length(stream, stream.readinto(memoryview(buf)), nbytes, name, claim, header)
    arr = buf.view(dtype).reshape(dims)
    return arr if dtype.itemsize == 1 else arr.astype(dtype.newbyteorder("="))


def write_idx(path, array, compress=None):
    """Write ``array`` as an IDX file, atomically (``ember.atomic.atomic_write``).

    Args:
        path: destination.
        array: array of dtype uint8, int8, int16, int32, float32 or float64, at least 1-D.
        compress: gzip the file; None means "if ``path`` ends with .gz".
    """
    arr = np.asarray(array)
    dt = arr.dtype.newbyteorder("=")
    if dt not in _CODE_OF or arr.ndim < 1 or arr.ndim > 255:
        raise ValueError(
            f"write_idx: expected a 1-D to 255-D array of uint8, int8, int16, int32, float32 or float64, "
            f"got {arr.dtype} with shape {tuple(arr.shape)}"
        )
    code = _CODE_OF[dt]
    data = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data += np.ascontiguousarray(arr, dtype=_CODES[code]).tobytes()
    name = os.fspath(path)
    if compress is None:
        compress = name.endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)
    with atomic_write(name) as out:  # a killed writer's temporary is cleaned by the next
        out.write(data)
