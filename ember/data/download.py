"""Fetch a file from a list of mirrors, verify its SHA-256, and only then put it in place.

The bytes go to a temp file in the destination folder, are fsynced and checked, and the temp
file is renamed over the destination (atomic on POSIX and Windows). A dropped connection, a
wrong hash or an interrupt deletes the temp file, so nothing corrupt ever lands in the cache;
the temp file of a killed download (``.<name>.<pid>-<random>.part``) is removed by the next
download of that name, once its process is gone, as ``atomic_write`` does.

No server can hold a download forever or fill the disk: each attempt has a wall-clock
deadline as well as the per-read ``timeout``, and a size limit.
"""
import functools
import hashlib
import http.client
import math
import os
import socket
import sys
import threading
import time
import urllib.request

from ..atomic import _remove_stale_temps

__all__ = ["DownloadError", "download_url"]

MAX_BYTES_DEFAULT = 1 << 30  # the size limit when nothing is known of the file's size
MIN_RATE = 50_000  # bytes/s: the slowest transfer the default deadline allows
MIN_DEADLINE_S = 60
DEADLINE_ENV = "EMBER_DOWNLOAD_DEADLINE"


class DownloadError(OSError):
    """Every mirror failed: the message lists each URL tried and why it failed."""


class IntegrityError(OSError):
    """A download finished, but its bytes are not the expected ones."""


class RedirectError(OSError):
    """A server's redirects come back to a URL already visited, or do not end."""


def download_url(filename, folder, mirrors, sha256=(), content_sha256=None, content_size=None,
                 max_bytes=None, timeout=60, quiet=False, deadline=None):
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
        max_bytes: give up on a mirror that announces or sends more than this. Default: the
            most a gzip file of ``content_size`` bytes can take, else ``MAX_BYTES_DEFAULT`` (1 GiB).
        timeout: seconds to wait on the network per operation.
        quiet: do not print the URLs being fetched to stderr.
        deadline: seconds one mirror may take for the whole file before the next is tried.
            Default: ``$EMBER_DOWNLOAD_DEADLINE`` if set, else ``max(60, size / 50 kB/s)``
            for the size the server announces (or ``max_bytes``); ``math.inf``: none.

    Returns:
        the path of the verified file.

    Raises:
        DownloadError: no mirror gave an intact file; lists every attempt.
    """
    if not sha256 and content_sha256 is None:
        raise ValueError(f"download_url({filename!r}): give sha256 or content_sha256: an unverified file is not cached")
    if not mirrors:
        raise ValueError(f"download_url({filename!r}): no mirrors given")
    deadline = _deadline_setting(deadline)
    if max_bytes is None:
        max_bytes = MAX_BYTES_DEFAULT if content_size is None else _expected_max_bytes(content_size)
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, filename)
    failures = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        if not quiet:
            print(f"ember: downloading {url}", file=sys.stderr)
        try:
            _fetch(url, dest, set(sha256), content_sha256, content_size, max_bytes, timeout, deadline)
            return dest
        except (OSError, http.client.HTTPException, ValueError) as e:
            # ValueError: a malformed URL; HTTPException: IncompleteRead on a dropped connection.
            # One line per mirror: urllib's own messages can span several.
            failures.append(f"{url}: " + " ".join(f"{type(e).__name__}: {e}".split()))
    if len(failures) == 1:
        raise DownloadError(f"could not download {filename}; nothing was written: {failures[0]}")
    raise DownloadError(f"could not download {filename} from any mirror; nothing was written:\n"
                        + "\n".join("  " + f for f in failures))


def _deadline_setting(deadline):
    """The deadline asked for, by keyword or else by ``$EMBER_DOWNLOAD_DEADLINE``; None: the default."""
    source = "deadline"
    if deadline is None:
        text = os.environ.get(DEADLINE_ENV, "").strip()
        if not text:
            return None
        source = f"${DEADLINE_ENV}"
        try:
            deadline = float(text)
        except ValueError:
            deadline = text
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0:
        raise ValueError(f"download_url: {source} must be a positive number of seconds, got {deadline!r}")
    return float(deadline)


def _default_deadline(nbytes):
    """Seconds allowed for ``nbytes``: a transfer at ``MIN_RATE``, and never under a minute."""
    return max(MIN_DEADLINE_S, nbytes / MIN_RATE)


def _expected_max_bytes(content_size):
    """The most a gzip file of ``content_size`` decompressed bytes takes: incompressible data
    grows by deflate's stored-block headers (zlib's deflateBound: about 0.03%), plus room for
    the gzip header's file name and comment."""
    return content_size + (content_size >> 10) + 4096


def _fetch(url, dest, sha256, content_sha256, content_size, max_bytes, timeout, deadline):
    folder, name = os.path.split(dest)
    prefix = f".{name[:120]}."  # stay under the 255-byte name limit
    _remove_stale_temps(folder, prefix)  # those of killed downloads: <prefix><pid>-<random>.part
    fd, tmp = _create_temp(folder, prefix)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            # --- G begin --- (the transfer moved to _transfer, shared with ember.vision's download_url)
            _transfer(url, out, (digest,), max_bytes, timeout, deadline)
            # --- G end ---
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


# --- G begin --- (the transfer of _fetch as a helper, so that ember.vision's download_url shares it)
def _transfer(url, out, hashes, max_bytes, timeout, deadline, redirect=None):
    """Copy ``url``'s body into the open file ``out``, feeding it to each of ``hashes``.

    Raises IntegrityError when the body is, or is announced as, over ``max_bytes``, or ends
    short of its Content-Length; TimeoutError past the deadline (``deadline`` seconds; None:
    ``_default_deadline`` of the announced size, else of ``max_bytes``). ``redirect``: the
    redirect handler (default: ``_RedirectHandler``, which fails on a loop).
    """
    received, length = 0, None
    with _Deadline(deadline if deadline is not None else _default_deadline(max_bytes)) as watch:
        try:
            with _opener(watch, redirect).open(url, timeout=timeout) as r:
                length = r.headers.get("Content-Length")
                length = None if length is None else int(length)
                if length is not None and length > max_bytes:
                    raise IntegrityError(f"the server announces {length:,} bytes, more than the "
                                         f"{max_bytes:,} expected")
                if length is not None and deadline is None:
                    watch.reset(_default_deadline(length))
                while chunk := r.read(1 << 20):
                    received += len(chunk)
                    if received > max_bytes:
                        raise IntegrityError(f"the server sent more than the {max_bytes:,} bytes expected")
                    for h in hashes:
                        h.update(chunk)
                    out.write(chunk)
                if not watch.expired and length is not None and received != length:
                    raise IntegrityError(f"connection ended after {received:,} of {length:,} bytes")
        except (OSError, http.client.HTTPException, ValueError):
            if not watch.expired:
                raise
        # the deadline ends a transfer by shutting its socket: whatever that raised, or the
        # early end of a body without a length, is the deadline's doing
        if watch.expired:
            raise _deadline_error(watch.seconds, deadline, received, length) from None
# --- G end ---


def _create_temp(folder, prefix):
    """A new ``<prefix><pid>-<random>.part`` in ``folder``: the pid lets a later download see that
    its writer is gone (``atomic._remove_stale_temps``)."""
    while True:
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{os.urandom(4).hex()}.part")
        try:
            # 0o666 lets the umask decide the mode, as open() would for a new file
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue


def _deadline_error(seconds, deadline, received, length):
    got = f"{received:,} of {length:,} bytes" if length is not None else \
        f"{received:,} bytes" if received else "no response"
    why = "as set by deadline= or $" + DEADLINE_ENV if deadline is not None else \
        (f"the default, max({MIN_DEADLINE_S} s, size / {MIN_RATE // 1000} kB/s); pass deadline= or set "
         f"${DEADLINE_ENV} to wait longer")
    return TimeoutError(f"deadline of {seconds:g} s exceeded with {got} received ({why})")


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


# ----- the deadline: a timer that shuts the transfer's sockets, ending any read blocked on them -----
class _Deadline:
    """``with _Deadline(seconds) as watch:`` sockets passed to ``watch.add`` are shut down once
    ``seconds`` have passed since the block began (``watch.expired`` then says so)."""

    def __init__(self, seconds):
        self.seconds, self.expired = seconds, False
        self._socks, self._lock, self._timer, self._generation = [], threading.Lock(), None, 0

    def __enter__(self):
        self.start = time.monotonic()
        self._arm()
        return self

    def __exit__(self, *exc):
        self.cancel()

    def _arm(self):
        if self._timer is not None:
            self._timer.cancel()
        if math.isinf(self.seconds):
            return
        self._generation += 1
        left = max(0.0, self.start + self.seconds - time.monotonic())
        self._timer = threading.Timer(left, self._expire, (self._generation,))
        self._timer.daemon = True
        self._timer.start()

    def reset(self, seconds):
        with self._lock:
            if not self.expired:
                self.seconds = seconds
                self._arm()

    def cancel(self):
        with self._lock:
            self._generation += 1  # a timer already firing does nothing
            if self._timer is not None:
                self._timer.cancel()

    def add(self, sock):
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self, generation):
        with self._lock:
            if generation != self._generation:
                return
            self.expired = True
            for sock in self._socks:
                _shut(sock)


def _shut(sock):
    # the plain socket's shutdown, also for an SSLSocket: the OS call is safe from another
    # thread, SSLSocket.shutdown (which unwraps) is not
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watched:
    """An HTTP(S) connection whose sockets the deadline can shut: the TCP socket as soon as it
    is connected, and the TLS socket wrapped around it (during the TLS handshake, between the
    two, only the per-read timeout applies)."""

    def __init__(self, *args, watch, **kwargs):
        super().__init__(*args, **kwargs)
        self._watch = watch
        create = self._create_connection
        self._create_connection = lambda *a, **k: watch.add(create(*a, **k))

    def connect(self):
        super().connect()
        self._watch.add(self.sock)


class _HTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch):
        super().__init__()
        self._watch = watch

    def http_open(self, req):
        return self.do_open(functools.partial(_HTTPConnection, watch=self._watch), req)


class _HTTPSConnection(_Watched, getattr(http.client, "HTTPSConnection", http.client.HTTPConnection)):
    pass


class _HTTPSHandler(getattr(urllib.request, "HTTPSHandler", urllib.request.BaseHandler)):
    def __init__(self, watch):
        super().__init__()
        self._watch = watch

    def https_open(self, req):
        kw = {"context": self._context}
        if getattr(self, "_check_hostname", None) is not None:  # Python < 3.12
            kw["check_hostname"] = self._check_hostname
        return self.do_open(functools.partial(_HTTPSConnection, watch=self._watch), req, **kw)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but fails on the first one back to a URL already visited, naming the chain."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        chain = getattr(req, "_ember_chain", [req.full_url])
        if newurl in chain or len(chain) > self.max_redirections:
            fp.close()
            what = "redirect loop" if newurl in chain else f"more than {self.max_redirections} redirects"
            raise RedirectError(f"{what}: {' -> '.join(chain + [newurl])} ({code} {msg})")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new._ember_chain = chain + [newurl]
        return new


# --- G begin --- (redirect: another handler, e.g. ember.vision's with torchvision's hop limit)
def _opener(watch, redirect=None):
    handlers = [_HTTPHandler(watch), _RedirectHandler() if redirect is None else redirect]
    # --- G end ---
    if hasattr(urllib.request, "HTTPSHandler"):  # Python built with ssl
        handlers.append(_HTTPSHandler(watch))
    return urllib.request.build_opener(*handlers)
