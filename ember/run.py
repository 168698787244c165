"""``ember run script.py [args...]``: run an unmodified PyTorch script on ember.

    ember run train.py --epochs 3          # or: python -m ember.run train.py --epochs 3
    ember run -m mypackage.train --lr 0.1  # a module, as python -m runs it

``torch`` and its submodules resolve to ember (see ``ember._torch_shim``), even where PyTorch
is installed. The script runs as ``__main__`` with ``sys.argv`` set to it and its arguments
and its folder first on ``sys.path``, as ``python script.py`` runs it. The exit status is the
script's: 0, its ``sys.exit`` code, or 1 after an uncaught exception (whose traceback starts
at the script). A torch name ember lacks raises ``NotInEmberError``: "ember run: torch.X is
not implemented in ember (used at script.py:LINE)".
"""
import os
import runpy
import sys
import traceback

from . import _torch_shim

__all__ = ["run_path", "run_module", "main"]

USAGE = "usage: ember run SCRIPT.py [ARGS...]  |  ember run -m MODULE [ARGS...]"


def _run(target, args, module):
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved = _torch_shim.install()
    try:
        if module:
            sys.argv = [target] + list(args)  # runpy puts the module's file in argv[0]
            sys.path.insert(0, os.getcwd())
            return runpy.run_module(target, run_name="__main__", alter_sys=True)
        sys.argv = [target] + list(args)
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        return runpy.run_path(target, run_name="__main__")
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        _torch_shim.uninstall(saved)


def run_path(path, args=()):
    """Run the script at ``path`` as ``__main__`` with ``torch`` resolved to ember; returns its
    globals. Exceptions (``SystemExit`` too) propagate; ``sys.argv``, ``sys.path`` and any
    real ``torch`` in ``sys.modules`` are restored afterwards."""
    return _run(path, args, module=False)


def run_module(name, args=()):
    """``run_path`` for a module name (``python -m name``)."""
    return _run(name, args, module=True)


def _hint(exc, tb):
    """A note for an AttributeError on an ember Tensor: the torch method it stands for."""
    from ._tensor import Tensor

    obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
    if isinstance(obj, Tensor) and name and not hasattr(type(obj), name):
        where = None
        for frame, line in traceback.walk_tb(tb):
            fn = frame.f_code.co_filename
            if not os.path.abspath(fn).startswith(_torch_shim._EMBER_DIR) and not fn.startswith("<frozen"):
                where = f"{_torch_shim._show(fn)}:{line}"
        if where:
            exc.add_note(f"ember run: torch.Tensor.{name} is not implemented in ember (used at {where})")


def _is_user_frame(frame):
    fn = frame.f_code.co_filename
    return not (fn.startswith("<frozen") or os.path.abspath(fn).startswith(_torch_shim._EMBER_DIR)
                or os.path.abspath(fn) in _torch_shim._SKIP_FILES)


def _cut_after_user_code(tb):
    last = None
    t = tb
    while t is not None:
        if _is_user_frame(t.tb_frame):
            last = t
        t = t.tb_next
    if last is not None:
        last.tb_next = None


def _print_exception(exc, start):
    tb = exc.__traceback__
    t = tb
    while t is not None and os.path.abspath(t.tb_frame.f_code.co_filename) != start:
        t = t.tb_next
    tb = t or tb  # the traceback from the script's own frame on
    if isinstance(exc, (_torch_shim.NotInEmberError, _torch_shim.NotInEmberModuleError, _torch_shim.NoGPUError)):
        _cut_after_user_code(tb)  # end at the user's line: the shim's own frames say nothing
    if isinstance(exc, AttributeError):
        try:
            _hint(exc, tb)
        except Exception:  # a hint must never hide the error
            pass
    traceback.print_exception(type(exc), exc, tb)


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"), as Python does
    return 1


def main(argv=None):
    """``ember run``: returns the script's exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + __doc__.split("\n\n", 2)[2].strip(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    module = argv[0] == "-m"
    if module:
        if len(argv) < 2:
            print(f"ember run: -m needs a module name\n{USAGE}", file=sys.stderr)
            return 2
        target, args = argv[1], argv[2:]
    else:
        target, args = argv[0], argv[1:]
        if not os.path.exists(target):
            print(f"ember run: can't open file {target!r}: no such file", file=sys.stderr)
            return 2
    try:
        (run_module if module else run_path)(target, args)
    except SystemExit as e:
        return _exit_code(e.code)
    except KeyboardInterrupt as e:
        _print_exception(e, None)
        return 130
    except BaseException as e:  # noqa: B902 - the script's error, printed as Python prints it
        start = None if module else os.path.abspath(target)
        _print_exception(e, start)
        return 1
    finally:
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
