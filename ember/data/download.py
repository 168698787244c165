"""Fetch a file from a list of mirrors, verify its SHA-256, and only then put it in place.

The bytes go to a temp file in the destination folder, are fsynced and checked, and the temp
file is renamed over the destination (atomic on POSIX and Windows). A dropped connection, a
wrong hash or an interrupt deletes the temp file, so nothing corrupt ever lands in the cache.
"""
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request

__all__ = ["DownloadError", "download_url"]


class DownloadError(OSError):
    """Every mirror failed: the message lists each URL tried and why it failed."""


class IntegrityError(OSError):
    """A download finished, but its bytes are not the expected ones."""


def download_url(filename, folder, mirrors, sha256=(), content_sha256=None, content_size=None,
             max_bytes=None, timeout=60, quiet=False):
    """Download ``filename`` from the first mirror that serves it intact into ``folder``.

    A file is intact if the SHA-256 of its bytes is one of ``sha256``, or, for a ``.gz`` file,
    if the SHA-256 of its decompressed bytes is ``content_sha256`` (mirrors recompress files,
    which changes the ``.gz`` bytes but not their content).

    Args:
        filename: the name on the mirror and in ``folder``.
        folder: destination folder, created if missing.
        mirrors: base URLs, tried in order; ``filename`` is appended to each.
        sha256: accepted hex digests of the file itself.
        content_sha256: hex digest of the decompressed content of a gzip file.
        content_size: the decompressed size in bytes (bounds the decompression).
        max_bytes: give up on a mirror that sends more than this.
        timeout: seconds to wait on the network per operation.
        quiet: do not print the URLs being fetched to stderr.

    Returns:
        the path of the verified file.

    Raises:
        DownloadError: no mirror gave an intact file; lists every attempt.
    """
    if not sha256 and content_sha256 is None:
        raise ValueError(f"download_url({filename!r}): give sha256 or content_sha256: an unverified file is not cached")
    if not mirrors:
        raise ValueError(f"download_url({filename!r}): no mirrors given")
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, filename)
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        if not quiet:
            print(f"ember: downloading {url}", file=sys.stderr)
        try:
            _fetch(url, dest, set(sha256), content_sha256, content_size, max_bytes, timeout)
            return dest
        except (OSError, http.client.HTTPException, ValueError) as e:
            # ValueError: a malformed URL; HTTPException: IncompleteRead on a dropped connection
            failures.append(f"  {url}: {type(e).__name__}: {e}")
    raise DownloadError(
        f"could not download {filename} from any mirror; nothing was written:\n" + "\n".join(failures)
    )


def _fetch(url, dest, sha256, content_sha256, content_size, max_bytes, timeout):
    folder, name = os.path.split(dest)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
            length = r.headers.get("Content-Length")
            length = None if length is None else int(length)
            if length is not None and max_bytes is not None and length > max_bytes:
                raise IntegrityError(f"the server announces {length:,} bytes, more than the {max_bytes:,} expected")
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise IntegrityError(f"the server sent more than the {max_bytes:,} bytes expected")
                digest.update(chunk)
                out.write(chunk)
            if length is not None and received != length:
                raise IntegrityError(f"connection ended after {received:,} of {length:,} bytes")
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got not in sha256:
            if content_sha256 is None:
                raise IntegrityError(f"SHA-256 mismatch: got {got}, expected {' or '.join(sorted(sha256))}")
            _check_content(tmp, name, content_sha256, content_size)
        os.replace(tmp, dest)
        _fsync_dir(folder)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _check_content(path, name, content_sha256, content_size):
    """Check the decompressed content of a gzip file, never inflating more than ``content_size`` + 1."""
    from ..io import SerializationError
    from .idx import GzipStream

    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            raise IntegrityError("SHA-256 mismatch, and the file is not gzip-compressed")
        f.seek(0)
        stream = GzipStream(f, name)
        digest, size = hashlib.sha256(), 0
        limit = content_size + 1 if content_size is not None else None
        try:
            while limit is None or size < limit:
                parts = stream.read(1 << 22 if limit is None else min(1 << 22, limit - size))
                if not parts:
                    break
                for p in parts:
                    digest.update(p)
                    size += len(p)
        except SerializationError as e:
            raise IntegrityError(f"SHA-256 mismatch, and the gzip content is unreadable: {e}") from None
    if content_size is not None and size != content_size:
        raise IntegrityError(f"SHA-256 mismatch: decompressed size {size:,} is not the expected {content_size:,}")
    if digest.hexdigest() != content_sha256:
        raise IntegrityError(
            f"SHA-256 mismatch: decompressed content has {digest.hexdigest()}, expected {content_sha256}"
        )


def _fsync_dir(folder):
    # makes the rename itself durable; not possible (nor needed) on Windows
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
