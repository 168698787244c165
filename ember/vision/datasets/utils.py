"""Helpers shared by the datasets: MD5 checks, verified downloads, safe extraction.

Downloads go to a temp file in the destination folder, are checked (MD5 as torchvision
publishes it, and SHA-256 where we know one) and only then renamed into place, so an
interrupted or corrupt download never leaves a file behind (nor, once its process is gone, a
killed one). The transfer is ``ember.data.download``'s: a wall-clock deadline, a size limit,
one-line redirect loops. Archives are extracted without trusting their member names: tar
with ``filter='data'``, zip and gzip member by member.
"""
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import zipfile

from ...atomic import _remove_stale_temps, atomic_write
from ...data import download as _download
from ...data.download import (IntegrityError, _create_temp, _deadline_setting, _fsync_dir, _RedirectHandler,
                              _transfer)
from ...data.idx import GzipStream

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url", "extract_archive",
           "download_and_extract_archive", "verify_str_arg", "pil_image"]


def calculate_md5(fpath, chunk_size=1024 * 1024):
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath, md5, **kwargs):
    return md5 == calculate_md5(fpath, **kwargs)


def check_integrity(fpath, md5=None):
    """``fpath`` is a file and, if ``md5`` is given, has that MD5 (torchvision's helper)."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def download_url(url, root, filename=None, md5=None, max_redirect_hops=3, *, sha256=None, timeout=60,
                 quiet=False, accept=None, max_bytes=None, deadline=None):
    """Download ``url`` to ``root/filename`` unless a file with the right MD5 is already there.

    torchvision's function, on ``ember.data.download``'s transfer: the bytes go to a temp file
    ``.<filename>.<pid>-<random>.part`` (those of dead processes are removed by the next
    download), are checked against ``md5`` (and ``sha256`` if given), and only then renamed into
    place. Raises RuntimeError("File not found or corrupted.") on a checksum mismatch, as
    torchvision does, followed by the URL and the expected and received checksums; and
    ``urllib.error.URLError``/OSError when the server fails.

    Args:
        url, root, filename, md5: as in torchvision.
        max_redirect_hops: more redirects than this raise RecursionError (torchvision's); a
            redirect back to a URL already visited raises a one-line OSError naming the loop.
        sha256: hex digest also checked, where one is known.
        timeout: seconds to wait on the network per operation.
        quiet: do not print what is downloaded to stderr.
        accept: ``accept(path)``, if given, is asked about a file whose checksum differs (e.g. a
            mirror's recompressed ``.gz`` whose content is known): True keeps it.
        max_bytes: give up on a server that announces or sends more than this. Default:
            ``ember.data.download.MAX_BYTES_DEFAULT`` (1 GiB); ``math.inf``: no limit.
        deadline: seconds the whole file may take (TimeoutError past it). Default:
            ``$EMBER_DOWNLOAD_DEADLINE`` if set, else ``max(60, size / 50 kB/s)`` for the size
            the server announces (or ``max_bytes``); ``math.inf``: none.

    Returns:
        the path of the file.
    """
    deadline = _deadline_setting(deadline)
    if max_bytes is None:
        max_bytes = _download.MAX_BYTES_DEFAULT
    root = os.path.expanduser(os.fspath(root))
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5) and (md5 is not None or sha256 is None):
        if not quiet:
            print(f"Using downloaded and verified file: {fpath}", file=sys.stderr)
        return fpath
    if not quiet:
        print(f"Downloading {url} to {fpath}", file=sys.stderr)
    folder, name = os.path.split(fpath)  # filename may hold a subfolder
    prefix = f".{name[:120]}."  # stay under the 255-byte name limit
    _remove_stale_temps(folder, prefix)
    fd, tmp = _create_temp(folder, prefix)
    try:
        h_md5, h_sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                _transfer(url, out, (h_md5, h_sha), max_bytes, timeout, deadline, _HopLimit(max_redirect_hops))
            except IntegrityError as e:  # too large, or cut short
                raise RuntimeError(f"{url}: {e}") from None
            except http.client.HTTPException as e:  # IncompleteRead on a dropped connection
                raise RuntimeError(f"{url}: {type(e).__name__}: {e}") from None
            except TimeoutError as e:
                raise TimeoutError(f"{url}: {e}") from None
            out.flush()
            os.fsync(out.fileno())
        if (md5 is not None and h_md5.hexdigest() != md5) or \
                (sha256 is not None and h_sha.hexdigest() != sha256.lower()):
            if accept is None or not accept(tmp):
                if md5 is not None and h_md5.hexdigest() != md5:
                    what = f"expected MD5 {md5}, got {h_md5.hexdigest()}"
                else:
                    what = f"expected SHA-256 {sha256.lower()}, got {h_sha.hexdigest()}"
                # torchvision's sentence first, then the file and the checksums
                raise RuntimeError(f"File not found or corrupted. {url}: {what}")
        os.replace(tmp, fpath)
        _fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return fpath


class _HopLimit(_RedirectHandler):
    """ember's redirect handler (a loop fails naming it) with torchvision's ``max_redirect_hops``."""

    def __init__(self, max_hops):
        super().__init__()
        self.max_redirections = max_hops

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        chain = getattr(req, "_ember_chain", [req.full_url])
        if newurl not in chain and len(chain) > self.max_redirections:
            fp.close()
            raise RecursionError(f"Request to {chain[0]} exceeded {self.max_redirections} redirects. "
                                 f"The last redirect points to {newurl}.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _atomic_write_from(stream_parts, dest):
    """Write the byte chunks yielded by ``stream_parts`` to ``dest`` through ``atomic_write``."""
    with atomic_write(dest, "wb") as out:
        for chunk in stream_parts:
            out.write(chunk)


def _gunzip_chunks(f, name):
    stream = GzipStream(f, name)
    while True:
        parts = stream.read(1 << 22)
        if not parts:
            return
        yield from parts


def _safe_member_name(name, archive):
    norm = os.path.normpath(name)
    if os.path.isabs(name) or norm == ".." or norm.startswith(".." + os.sep) or "\0" in name:
        raise RuntimeError(f"{archive}: refusing to extract member {name!r}: it points outside the folder")
    return norm


def extract_archive(from_path, to_path=None, remove_finished=False):
    """Extract a ``.tar[.gz|.bz2|.xz]``/``.tgz``, ``.zip`` or ``.gz`` file into ``to_path``.

    Tar members go through ``filter='data'`` (no absolute paths, no ``..``, no links out,
    no device files); zip members are checked by name and each written atomically; a ``.gz``
    becomes the file without ``.gz`` next to it (in ``to_path``). Returns ``to_path``.
    """
    from_path = os.fspath(from_path)
    to_path = os.path.dirname(from_path) if to_path is None else os.fspath(to_path)
    os.makedirs(to_path, exist_ok=True)
    lower = from_path.lower()
    if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz")):
        with tarfile.open(from_path, "r:*") as tar:
            tar.extractall(to_path, filter="data")
    elif lower.endswith(".zip"):
        with zipfile.ZipFile(from_path) as z:
            for info in z.infolist():
                rel = _safe_member_name(info.filename, from_path)
                dest = os.path.join(to_path, rel)
                if info.is_dir():
                    os.makedirs(dest, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(dest) or to_path, exist_ok=True)
                with z.open(info) as src, atomic_write(dest, "wb") as out:  # a torn member never shows
                    shutil.copyfileobj(src, out, 1 << 20)
    elif lower.endswith(".gz"):
        dest = os.path.join(to_path, os.path.basename(from_path)[:-3])
        with open(from_path, "rb") as f:
            _atomic_write_from(_gunzip_chunks(f, from_path), dest)
    else:
        raise RuntimeError(f"{from_path}: unsupported archive type (expected .tar*, .tgz, .zip or .gz)")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url, download_root, extract_root=None, filename=None, md5=None,
                                 remove_finished=False, *, sha256=None, quiet=False, max_bytes=None,
                                 deadline=None):
    """``download_url`` then ``extract_archive`` (torchvision's signature; the keywords are ember's)."""
    download_root = os.path.expanduser(os.fspath(download_root))
    extract_root = download_root if extract_root is None else extract_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5, sha256=sha256, quiet=quiet, max_bytes=max_bytes,
                 deadline=deadline)
    archive = os.path.join(download_root, filename)
    if not quiet:
        print(f"Extracting {archive} to {extract_root}", file=sys.stderr)
    extract_archive(archive, extract_root, remove_finished)


def iterable_to_str(iterable):
    return "'" + "', '".join([str(item) for item in iterable]) + "'"


def verify_str_arg(value, arg=None, valid_values=None, custom_msg=None):
    """torchvision's argument check: a str among ``valid_values``, else ValueError."""
    if not isinstance(value, str):
        msg = "Expected type str, but got type {type}." if arg is None else \
            "Expected type str for argument {arg}, but got type {type}."
        raise ValueError(msg.format(type=type(value), arg=arg))
    if valid_values is None:
        return value
    if value not in valid_values:
        if custom_msg is not None:
            raise ValueError(custom_msg)
        raise ValueError(f"Unknown value '{value}' for argument {arg}. "
                         f"Valid values are {{{iterable_to_str(valid_values)}}}.")
    return value


def pil_image(array):
    """A uint8 array (H, W) or (H, W, C) as a PIL image ('L', 'RGB', 'RGBA'), or the array
    itself when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return array
    return Image.fromarray(array)
