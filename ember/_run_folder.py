"""Run folders (``ember train --out RUN``): written as a whole, read with every field checked.

Writing. The run's files go into a fresh sibling folder, ``.RUN.tmp-<pid>-<host>-<random>``, each
fsynced, and that folder then takes RUN's place:

- RUN absent (or an empty folder): ``rename(tmp, RUN)``, one atomic step in POSIX.
- RUN holds a run: on Linux ``renameat2(RENAME_EXCHANGE)`` swaps the two names in one atomic
  step, and the old run, now at the temporary name, is removed. Where the exchange is not
  available (another OS, a file system without it), RUN is renamed to ``.RUN.old-<pid>-...``
  and the new folder renamed to RUN: a crash between these two renames leaves the old run,
  complete, at the ``.old`` name, and the next command that reads or writes RUN renames it
  back (its writer being dead).

So a process killed at any moment leaves RUN holding the old run or the new one, complete,
never a mix. What dead writers on this machine left is cleaned by the next command on RUN;
a folder is overwritten only with ``--overwrite``, and only if it holds nothing but a run's
own files.

Reading. ``read_config`` checks config.json's form, version and weights path; the image and
text checks each field a command uses; ``load_weights`` compares the weights' shapes with
those the config implies (``ember.models.parameter_shapes``) before the model is built, so a
config cannot make ``predict`` allocate more than the weights file holds.
"""
import contextlib
import ctypes
import errno
import json
import math
import os
import shutil
import socket
import stat
import sys

import numpy as np

from .cli import RUN_FORMAT, CLIError

__all__ = ["RunWriter", "check_out", "recover", "read_config", "check_image_run", "check_text_run", "load_weights"]

VERSION = 1  # of config.json; a reader refuses others
RUN_FILES = ("config.json", "history.json", "curves.png", "model.safetensors", "model.npz")
WEIGHT_FORMATS = (".safetensors", ".npz")
_MAX_CONFIG = 64 << 20  # bytes of config.json read at most (the vocabulary is the largest part)


# ----- writing -----
def _prefixes(target):
    name = os.path.basename(target)[:120]  # stay under the 255-byte name limit
    return f".{name}.tmp-", f".{name}.old-"


def _host():
    return socket.gethostname().replace("/", "_") or "host"


def _unique(prefix):
    """``<prefix><pid>-<host>-<random>``: the writer's pid and machine, for ``_dead``."""
    return f"{prefix}{os.getpid()}-{_host()}-{os.urandom(4).hex()}"


def _dead(entry_name, prefix):
    """Whether the writer named in ``entry_name`` (after ``prefix``) is gone: only a writer on
    this machine can be known dead (a shared file system shows other machines' folders)."""
    pid, _, rest = entry_name[len(prefix):].partition("-")
    host = rest.rpartition("-")[0]
    if os.name != "posix" or not pid.isdigit() or int(pid) == os.getpid() or host != _host():
        return False  # os.kill(pid, 0) would kill the process on Windows
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass  # alive, another user's
    return False


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def recover(run_dir):
    """Finish what a dead writer of ``run_dir`` left: restore its old run if RUN is missing
    (a crash between the two renames), and remove its temporary folders."""
    target = os.path.realpath(run_dir)
    parent = os.path.dirname(target)
    tmp, old = _prefixes(target)
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith((tmp, old))]
    except OSError:
        return
    olds = sorted((e for e in entries if e.name.startswith(old) and _dead(e.name, old)), key=_mtime)
    if olds and not os.path.lexists(target):
        with contextlib.suppress(OSError):
            os.rename(olds.pop().path, target)
    for e in olds + [e for e in entries if e.name.startswith(tmp) and _dead(e.name, tmp)]:
        _remove(e.path)


def _mtime(entry):
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except OSError:  # removed meanwhile
        return 0.0


def check_out(out, overwrite, clean=True):
    """Refuse ``--out`` if it is a file, or a folder that holds anything unless ``overwrite``
    is given and it holds a run's files only (nothing else is lost when it is replaced).

    ``clean``: first finish what dead writers left (``recover``). Only the process that
    writes the run may: on another machine, its pid would look dead.
    """
    if not str(out).strip():
        raise CLIError("--out must name a folder for the run, got an empty string")
    if clean:
        recover(out)
    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise CLIError(f"--out {out} is a file, not a folder for the run")
    entries = sorted(os.listdir(out))
    if not entries:
        return
    foreign = [e for e in entries if e not in RUN_FILES]
    if not overwrite:
        what = "a run" if "config.json" in entries and not foreign else "files"
        raise CLIError(f"--out {out} already holds {what} ({', '.join(entries[:4])}"
                       f"{', ...' if len(entries) > 4 else ''}); pass --overwrite to replace it, "
                       "or choose another --out")
    if foreign:
        raise CLIError(f"--out {out} holds files that are not part of an ember run "
                       f"({', '.join(foreign[:4])}{', ...' if len(foreign) > 4 else ''}); --overwrite replaces "
                       "a run folder as a whole: move them, or choose another --out")


def _fsync(path, directory=False):
    if os.name != "posix" and directory:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a, b):
    """Swap paths ``a`` and ``b`` in one atomic step (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # glibc < 2.28, musl
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # a file system without exchange (NFS, some FUSE): the two renames instead
    raise OSError(err, os.strerror(err), b)


class RunWriter:
    """A run folder being written: files go into ``path(name)``, ``commit()`` puts them at RUN.

    Made at the start of training, so that an existing run (without ``overwrite``) or an
    unwritable parent fails before the work; ``discard()`` (or leaving a ``with`` block
    without committing) removes the temporary folder.
    """

    def __init__(self, out, overwrite=False):
        check_out(out, overwrite)
        self.out = out
        self.target = os.path.realpath(out)  # through a symlink to its folder
        parent = os.path.dirname(self.target)
        self._tmp_prefix, self._old_prefix = _prefixes(self.target)
        try:
            os.makedirs(parent, exist_ok=True)
            while True:
                self.tmp = os.path.join(parent, _unique(self._tmp_prefix))
                with contextlib.suppress(FileExistsError):
                    os.mkdir(self.tmp)
                    break
        except OSError as e:
            raise CLIError(f"cannot write the run folder {out}: {e.strerror or e} ({parent})") from None
        self.committed = False

    def path(self, name):
        return os.path.join(self.tmp, name)

    def commit(self):
        """Make the written files the run at RUN, in one atomic step (see the module's docstring)."""
        for entry in os.scandir(self.tmp):
            _fsync(entry.path)
        _fsync(self.tmp, directory=True)
        target, parent = self.target, os.path.dirname(self.target)
        if os.path.isdir(target) and not os.listdir(target) or not os.path.lexists(target):
            os.rename(self.tmp, target)  # POSIX: a rename may replace an empty folder
        elif _exchange(self.tmp, target):
            _remove(self.tmp)  # the old run, now at the temporary name
        else:
            old = os.path.join(parent, _unique(self._old_prefix))
            os.rename(target, old)
            os.rename(self.tmp, target)  # a crash before this: `recover` puts the old run back
            _remove(old)
        with contextlib.suppress(OSError):
            _fsync(parent, directory=True)
        self.committed = True

    def discard(self):
        if not self.committed:
            _remove(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()


# ----- reading -----
def _bad(path, key, expected, got):
    return CLIError(f"{path}: {key} must be {expected}, got {_show(got)}")


def _show(v):
    text = json.dumps(v) if isinstance(v, (dict, list, str, int, float, bool, type(None))) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _get(config, path, key, check, expected, within=""):
    """``config[key]`` after ``check``; a missing key or a failed check names the file and the
    key (``within`` is the dotted path of ``config`` in the file: ``"input."``)."""
    if key not in config:
        raise CLIError(f"{path}: missing key {within}{key} (expected {expected})")
    v = config[key]
    if not check(v):
        raise _bad(path, within + key, expected, v)
    return v


def read_config(run_dir):
    """config.json of ``run_dir``, its form, version, model and weights path checked."""
    recover(run_dir)  # a writer killed mid-swap leaves the old run beside RUN
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        what = "does not exist" if not os.path.exists(run_dir) else "has no config.json"
        raise CLIError(f"run directory {str(run_dir)!r} {what}; make one with `ember train ... --out {run_dir}`")
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > _MAX_CONFIG:  # read(n) would allocate n bytes up front
                raise CLIError(f"{path} is larger than {_MAX_CONFIG >> 20} MiB; a run's config is a few KiB")
            raw = f.read()
        config = json.loads(raw.decode("utf-8"))
    except OSError as e:
        raise CLIError(f"cannot read {path}: {e.strerror or e}") from None
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CLIError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise CLIError(f"{path} must hold a JSON object, got {type(config).__name__} {_show(config)}")
    if config.get("format") != RUN_FORMAT:
        raise CLIError(f"{path} is not an ember run config (format {_show(config.get('format'))}, "
                       f"expected {RUN_FORMAT!r})")
    version = config.get("version")
    if version != VERSION or not _is_int(version):
        raise CLIError(f"{path}: version {_show(version)} is not one this ember reads (version {VERSION}); "
                       "a newer ember wrote it?")
    from .models import check_config

    try:
        config["model"] = check_config(config.get("model"), f"{path}: model")
    except ValueError as e:
        raise CLIError(str(e)) from None
    weights = config.get("weights")
    if not isinstance(weights, str) or not weights.lower().endswith(WEIGHT_FORMATS):
        raise _bad(path, "weights", "a .safetensors or .npz file name in the run folder", weights)
    inside = os.path.realpath(os.path.join(run_dir, weights))
    if (os.path.isabs(weights) or os.path.normpath(weights).split(os.sep)[0] == os.pardir
            or os.path.commonpath([inside, os.path.realpath(run_dir)]) != os.path.realpath(run_dir)):
        raise _bad(path, "weights", "a file inside the run folder", weights)
    return config


def check_image_run(config, run_dir):
    """The fields ``predict``, ``evaluate`` and ``export`` use: input (shape, mean, std) and classes."""
    path, model = os.path.join(run_dir, "config.json"), config["model"]
    inp = _get(config, path, "input", lambda v: isinstance(v, dict), "an object with shape, mean and std")
    shape = _get(inp, path, "shape", lambda v: isinstance(v, list) and len(v) == 3 and all(
        _is_int(d) and d >= 1 for d in v), "[channels, height, width] of ints >= 1", "input.")
    _get(inp, path, "mean", _is_number, "a finite number", "input.")
    _get(inp, path, "std", lambda v: _is_number(v) and v > 0, "a positive finite number", "input.")
    c, h, w = shape
    if model["name"] == "mlp" and c * h * w != model["in_features"]:
        raise CLIError(f"{path}: input.shape {shape} has {c * h * w} values, but model.in_features is "
                       f"{model['in_features']}")
    if model["name"] == "cnn" and shape != [model["in_channels"], model["image_size"], model["image_size"]]:
        raise CLIError(f"{path}: input.shape {shape} does not match the cnn's in_channels {model['in_channels']} "
                       f"and image_size {model['image_size']}")
    if "num_classes" not in model:
        raise CLIError(f"{path}: model.name {model['name']!r} is not an image classifier")
    n = model["num_classes"]
    _get(config, path, "classes", lambda v: isinstance(v, list) and len(v) == n and all(
        isinstance(s, str) for s in v), f"a list of {n} class names (model.num_classes)")
    _get(config, path, "dataset", lambda v: isinstance(v, str), "a dataset name")
    return config


def check_text_run(config, run_dir):
    """The fields ``generate`` and ``evaluate`` of a language model run use: vocab and train."""
    path, model = os.path.join(run_dir, "config.json"), config["model"]
    if "vocab_size" not in model:
        raise CLIError(f"{path}: model.name {model['name']!r} is not a language model, yet the run has a vocab")
    n = model["vocab_size"]
    _get(config, path, "vocab", lambda v: isinstance(v, str) and len(v) == n and len(set(v)) == n,
         f"a string of {n} distinct characters (model.vocab_size)")
    _get(config, path, "dataset", lambda v: isinstance(v, str), "a dataset name")
    if "data_dir" in config:
        _get(config, path, "data_dir", lambda v: v is None or isinstance(v, str), "a folder or null")
    train = _get(config, path, "train", lambda v: isinstance(v, dict), "an object with the training options")
    for key in ("block_size", "eval_batches", "batch_size"):
        _get(train, path, key, lambda v: _is_int(v) and v >= 1, "an int >= 1", "train.")
    _get(train, path, "seed", lambda v: _is_int(v) and v >= 0, "an int >= 0", "train.")
    if model["name"] == "gpt" and train["block_size"] > model["block_size"]:
        raise CLIError(f"{path}: train.block_size {train['block_size']} is longer than model.block_size "
                       f"{model['block_size']}")
    return config


def _shape_text(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def load_weights(run_dir, config):
    """The run's state dict, checked against the shapes ``config['model']`` implies (before any
    model is built) and for non-finite values."""
    import ember
    from .models import STRUCTURE, parameter_shapes

    path = os.path.join(run_dir, config["weights"])
    cfg_path, name = os.path.join(run_dir, "config.json"), config["weights"]
    try:
        st = os.stat(path)
    except OSError as e:
        raise CLIError(f"{cfg_path}: weights {name!r}: {e.strerror} ({path})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CLIError(f"{cfg_path}: weights {name!r} is not a regular file ({path})")
    state = ember.load(path)  # bounded by the file's size; a bad file raises SerializationError naming it
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise CLIError(f"{path}: expected a flat state dict of arrays (parameter name -> array), got "
                       f"{type(state).__name__}")
    model = config["model"]
    expected = parameter_shapes(model)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        opts = ", ".join(f"{k} {_show(model[k])}" for k in STRUCTURE[model["name"]])
        parts = []
        if missing:
            parts.append(f"{name} lacks {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"{name} holds {', '.join(unexpected[:3])}{', ...' if len(unexpected) > 3 else ''}, "
                         "which the config has no place for")
        raise CLIError(f"{cfg_path}: model {model['name']}{' (' + opts + ')' if opts else ''} does not match "
                       f"its weights: {'; '.join(parts)}")
    for k, dims in expected.items():
        got = state[k].shape
        want = tuple(size for size, _ in dims)
        if got == want:
            continue
        if len(got) == len(want):
            for (size, option), g in zip(dims, got):
                if size != g and option is not None:
                    key = option.partition("[")[0]
                    raise CLIError(f"{cfg_path}: model.{option} is {model[key] if key == option else size}, but "
                                   f"{name}'s {k} has shape {_shape_text(got)} where the config implies "
                                   f"{_shape_text(want)}")
        raise CLIError(f"{path}: {k} has shape {_shape_text(got)}; model {model['name']} expects "
                       f"{_shape_text(want)}")
    for k, a in state.items():
        if a.dtype.kind != "f":
            raise CLIError(f"{path}: {k} has dtype {a.dtype}; parameters are floating point")
        if not np.isfinite(a).all():
            raise CLIError(f"{path}: {k} holds NaN or infinite values (did the training diverge?)")
    return state
