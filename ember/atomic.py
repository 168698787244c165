"""Atomic file writes: a temporary file beside the target, flushed and fsynced, then renamed
over it. A process killed at any moment leaves either the old file or the new one.

Every file ember writes (models, checkpoints, logs, downloads, ONNX) goes through here.
"""
import codecs
import contextlib
import errno
import os
import stat

__all__ = ["atomic_write"]


def _fsync_dir(folder):
    # the rename is durable only once the folder's entry is on disk (POSIX; not on Windows)
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temps(folder, prefix):
    """Delete temporary files of earlier writers to the same path whose process has died."""
    if os.name != "posix":  # os.kill(pid, 0) would kill the process on Windows
        return
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not entry.name.startswith(prefix):
                continue
            pid = entry.name[len(prefix):].partition("-")[0]
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            except OSError:
                pass  # alive, owned by another user


def _refuse_read_only(path):
    """Raise PermissionError if ``path`` is a file that may not be written, as ``open(path, "w")``
    (and so torch.save and np.savez) would.

    The rename over it needs only the folder to be writable, so it has to be asked first.
    Root passes every permission check, so the owner's write bit is looked at too: a file
    made read-only with ``chmod 444`` is kept whoever saves over it.
    """
    try:
        st = os.stat(path)
    except OSError:
        return  # a new file, or one that open() will fail on with its own error
    if stat.S_ISREG(st.st_mode) and (not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None, newline=None):
    """Open a file for writing that replaces ``path`` atomically when the block ends.

    The data goes to a temporary file in the same folder (``.<name>.tmp-<pid>-<random>``),
    which is flushed, fsynced and renamed over ``path``; the folder is then fsynced. A crash
    at any moment leaves either the old file or the complete new one. If the block raises,
    ``path`` is untouched and the temporary file is removed. An existing file's permission
    bits are kept; a read-only one is refused with ``PermissionError``, as ``open`` would.

    Args:
        path: the file to write (str or os.PathLike).
        mode: ``"wb"`` (binary) or ``"w"`` (text).
        encoding: text mode only; defaults to UTF-8.
        newline: text mode only, as in ``open()``.

    Example::

        with ember.io.atomic_write("log.csv", "w") as f:
            f.write("epoch,loss\\n")
    """
    if mode not in ("wb", "w", "wt"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    if mode == "wb" and (encoding is not None or newline is not None):
        raise ValueError("atomic_write: encoding and newline apply to text mode ('w') only")
    encoding = None if mode == "wb" else codecs.lookup(encoding or "utf-8").name
    _refuse_read_only(os.fspath(path))  # as open() would: the rename needs only the folder
    path = os.path.realpath(path)  # through a symlink to its target, as open() would write
    folder, name = os.path.split(path)
    prefix = f".{name[:120]}.tmp-"  # stay under the 255-byte name limit
    _remove_stale_temps(folder, prefix)
    while True:
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{os.urandom(4).hex()}")
        try:
            # 0o666 lets the umask decide the mode, as open() would for a new file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)  # replacing a file keeps its mode
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


# ----- nesting <-> flat arrays + JSON structure -----
