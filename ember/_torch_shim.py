"""``torch`` resolved to ember, for ``ember run``: an import hook and module wrappers.

``install()`` puts a finder first on ``sys.meta_path``: ``import torch``, ``torch.nn``,
``torch.nn.functional``, ``torch.optim.lr_scheduler``, ``torch.utils.data`` ... become wrappers
around the ember module of the same name (``torch.utils.data`` is ``ember.utils.data``, or
``ember.data`` where that is absent). A wrapper hands out the ember module's attributes; a
name ember lacks raises ``NotInEmberError`` naming the torch API and the file:line of the
user's code that asked for it. ember's own namespaces are not touched.

Where ember has no module for it, a few stand-ins answer what a CPU-only PyTorch answers:
``torch.cuda`` (no GPU: ``is_available()`` is False, device calls raise ``NoGPUError``),
``torch.backends`` (flags accepted), ``torch.jit`` (``script``/``trace`` return their
argument), ``torch.compile`` (returns its argument), ``torch.amp``/``autocast``/``GradScaler``
(disabled on CUDA as PyTorch disables them without a GPU), ``torch.distributed`` and
``torch.nn.parallel`` (importable; calling them is an error). ``torch.__version__`` is
``"2.13.0+ember"``: the PyTorch release whose API ember follows, marked as ember.
``torchvision`` resolves to ``ember.vision`` when that exists; otherwise, like ``torchaudio``
and ``torchtext``, importing it is an error.
"""
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
import warnings

TORCH_VERSION = "2.13.0+ember"

_EMBER_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKIP_FILES = {os.path.abspath(f) for f in (importlib.__file__, getattr(contextlib, "__file__", ""),
                                              getattr(functools, "__file__", ""))}
try:
    import runpy as _runpy

    _SKIP_FILES.add(os.path.abspath(_runpy.__file__))
except ImportError:  # pragma: no cover
    pass


class NotInEmberError(AttributeError, NotImplementedError):
    """A torch name that ember does not have (an ``AttributeError``, so ``hasattr`` and
    ``getattr(torch, name, default)`` keep working, and a ``NotImplementedError``)."""


class NotInEmberModuleError(ModuleNotFoundError):
    """A torch module that ember does not have (``import`` of it fails with this)."""


class NoGPUError(RuntimeError):
    """A CUDA-only call: ember runs on the CPU, there is no GPU."""


def where():
    """``file:line`` of the innermost caller outside ember and the import machinery."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not (fn.startswith("<frozen") or os.path.abspath(fn).startswith(_EMBER_DIR)
                or os.path.abspath(fn) in _SKIP_FILES):
            return f"{_show(fn)}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _show(fn):
    if os.path.isabs(fn):
        try:
            rel = os.path.relpath(fn)
        except ValueError:
            return fn
        return fn if rel.startswith("..") else rel
    return fn


def _missing(api):
    return NotInEmberError(f"ember run: {api} is not implemented in ember (used at {where()})")


def _no_gpu(api):
    return NoGPUError(f"ember run: {api} needs a GPU; ember runs on the CPU only, there is no GPU "
                      f"(torch.cuda.is_available() is False) (used at {where()})")


def _deferred(api):
    """A name a script may import unconditionally (``from torch.distributed import ...``):
    importing it works, using it raises ``NotInEmberError``."""

    def new(cls, *args, **kwargs):
        raise _missing(api)

    return type(api.rsplit(".", 1)[1], (), {"__new__": new, "__doc__": f"{api}: not in ember"})


# ----- stand-ins: what a CPU-only PyTorch answers -----
def _ns(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def _gpu_only(api):
    def f(*args, **kwargs):
        raise _no_gpu(api)

    f.__name__ = api.rsplit(".", 1)[1]
    return f


def _noop(*args, **kwargs):
    return None


def _compile(model=None, **kwargs):
    """``torch.compile``: the function or module unchanged (as a decorator too)."""
    if model is None:
        return lambda m: m
    return model


def _passthrough(obj=None, *args, **kwargs):
    """``torch.jit.script``/``trace``/``ignore``: the argument unchanged."""
    if obj is None:
        return lambda o: o
    return obj


def _set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or 'medium'")


class autocast:
    """``torch.autocast``/``torch.amp.autocast``: on CUDA it is disabled with a warning, as a
    CPU-only PyTorch does; an enabled CPU autocast (bfloat16) is not in ember."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        if enabled and device_type == "cuda":
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling", stacklevel=2)
            enabled = False
        if enabled:
            raise _missing(f"torch.autocast(device_type={device_type!r})")
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def _cuda_autocast(enabled=True, dtype=None, cache_enabled=True):
    return autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler:
    """``torch.amp.GradScaler``: without a GPU PyTorch disables it (with a warning); disabled,
    ``scale`` returns its argument and ``step`` calls ``optimizer.step()``."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        if enabled and device == "cuda":
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          stacklevel=2)
            enabled = False
        if enabled:
            raise _missing(f"torch.amp.GradScaler(device={device!r})")
        self._enabled = False

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer):
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        return None

    def get_scale(self):
        return 1.0

    def is_enabled(self):
        return False

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        return None


def _cuda_grad_scaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                      enabled=True):
    return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


def _standins():
    cuda_only = ("current_device", "set_device", "get_device_name", "get_device_properties", "get_device_capability",
                 "synchronize", "memory_allocated", "max_memory_allocated", "memory_reserved",
                 "max_memory_reserved", "reset_peak_memory_stats", "mem_get_info", "memory_summary", "Event",
                 "Stream", "stream", "current_stream", "device", "get_rng_state", "set_rng_state")
    cuda = _ns("torch.cuda", is_available=lambda: False, device_count=lambda: 0, is_initialized=lambda: False,
               is_bf16_supported=lambda *a, **k: False, manual_seed=_noop, manual_seed_all=_noop, seed=_noop,
               seed_all=_noop, empty_cache=_noop, init=_gpu_only("torch.cuda.init"),
               **{n: _gpu_only(f"torch.cuda.{n}") for n in cuda_only})
    matmul = _ns("torch.backends.cuda.matmul", allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                 allow_bf16_reduced_precision_reduction=True)
    return {
        "torch": _ns("torch", __version__=TORCH_VERSION, compile=_compile, autocast=autocast,
                     set_float32_matmul_precision=_set_float32_matmul_precision,
                     get_float32_matmul_precision=lambda: "highest",
                     use_deterministic_algorithms=_noop, are_deterministic_algorithms_enabled=lambda: False),
        "torch.version": _ns("torch.version", __version__=TORCH_VERSION, cuda=None, hip=None, debug=False,
                             git_version="ember"),
        "torch.cuda": cuda,
        "torch.cuda.amp": _ns("torch.cuda.amp", autocast=_cuda_autocast, GradScaler=_cuda_grad_scaler),
        "torch.amp": _ns("torch.amp", autocast=autocast, GradScaler=GradScaler),
        "torch.accelerator": _ns("torch.accelerator", is_available=lambda: False, current_accelerator=lambda *a: None,
                                 device_count=lambda: 0),
        "torch.backends": _ns("torch.backends"),
        "torch.backends.cudnn": _ns("torch.backends.cudnn", enabled=True, benchmark=False, deterministic=False,
                                    allow_tf32=True, is_available=lambda: False, version=lambda: None),
        "torch.backends.mps": _ns("torch.backends.mps", is_available=lambda: False, is_built=lambda: False),
        "torch.backends.cuda": _ns("torch.backends.cuda", matmul=matmul, is_built=lambda: False),
        "torch.jit": _ns("torch.jit", script=_passthrough, trace=_passthrough, ignore=_passthrough,
                         unused=_passthrough, export=_passthrough, is_scripting=lambda: False,
                         is_tracing=lambda: False),
        "torch.distributed": _ns("torch.distributed", is_available=lambda: False, is_initialized=lambda: False,
                                 **{n: _deferred(f"torch.distributed.{n}") for n in (
                                     "init_process_group", "destroy_process_group", "barrier", "all_reduce",
                                     "get_rank", "get_world_size", "ReduceOp")}),
        "torch.nn.parallel": _ns("torch.nn.parallel", **{n: _deferred(f"torch.nn.parallel.{n}") for n in (
            "DistributedDataParallel", "DataParallel")}),
    }


_STANDINS = _standins()

# torch modules whose ember counterpart has another name (first existing one wins)
_RENAMED = {
    "torch.utils.data": ("ember.utils.data", "ember.data"),
    "torch.nn.modules": ("ember.nn",),
    "torch.nn.parameter": ("ember.nn",),
    "torch.nn.modules.module": ("ember.nn",),
}
# the second name of ``torch.X...`` whose ``ember.X...`` follows PyTorch; ember's other modules
# (data, datasets, train, distributed, io, ...) have their own APIs and are not torch's
_TORCH_LIKE = {"nn", "optim", "autograd", "utils", "func", "linalg", "fft", "special", "cuda", "backends", "amp",
               "accelerator", "distributions", "testing", "random", "jit", "version", "mps", "hub", "overrides",
               "onnx"}
_BLOCKED = {"torchvision": "ember.vision", "torchaudio": None, "torchtext": None}


def _candidates(torch_name):
    parts = torch_name.split(".")
    if parts[0] in _BLOCKED:
        target = _BLOCKED[parts[0]]
        return (".".join([target] + parts[1:]),) if target else ()
    if torch_name == "torch":
        return ("ember",)
    if torch_name in _RENAMED:
        return _RENAMED[torch_name]
    if parts[1] not in _TORCH_LIKE:
        return ()
    if torch_name.startswith("torch.nn.modules."):
        return ("ember.nn." + ".".join(parts[3:]), "ember.nn")
    if torch_name.startswith("torch.utils.data."):
        rest = ".".join(parts[3:])
        return (f"ember.utils.data.{rest}", f"ember.data.{rest}")
    return ("ember." + ".".join(parts[1:]),)


def _import_ember(name):
    """The ember module (or module-like attribute) called ``name``, or None."""
    if name in sys.modules:
        return sys.modules[name]
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        spec = None
    if spec is not None:
        return importlib.import_module(name)
    parent, _, child = name.rpartition(".")
    if parent:
        mod = _import_ember(parent)
        obj = getattr(mod, child, None) if mod is not None else None
        if isinstance(obj, types.ModuleType):  # a module bound under another name
            return obj
    return None


_resolved = {}  # torch name -> (ember object or None, stand-in or None), or None: no such module


def resolve(torch_name):
    """(ember target, stand-in) behind a torch module name, or None when ember has neither."""
    if torch_name not in _resolved:
        target = None
        for cand in _candidates(torch_name):
            target = _import_ember(cand)
            if target is not None:
                break
        standin = _STANDINS.get(torch_name)
        _resolved[torch_name] = (target, standin) if target is not None or standin is not None else None
    return _resolved[torch_name]


class TorchModule(types.ModuleType):
    """``torch.<name>`` as seen by the script: the attributes of an ember module, then of a
    stand-in, else ``NotInEmberError`` naming the torch API and where the script used it."""

    def __init__(self, torch_name, target, standin):
        super().__init__(torch_name)
        self.__dict__["_ember_target"] = target
        self.__dict__["_ember_standin"] = standin
        doc = getattr(target, "__doc__", None) or getattr(standin, "__doc__", None)
        self.__doc__ = doc
        self.__path__ = []  # a package, so that `import torch.x.y` asks the finder for the rest
        file = getattr(target, "__file__", None)
        if file:
            self.__file__ = file
        if torch_name == "torch":
            self.__version__ = TORCH_VERSION

    def __getattr__(self, name):
        own = self.__dict__
        torch_name = own["__name__"]
        if name.startswith("__") and name.endswith("__"):
            if name == "__all__":
                return self._public()
            raise AttributeError(f"module {torch_name!r} has no attribute {name!r}")
        full = f"{torch_name}.{name}"
        if resolve(full) is not None:
            return importlib.import_module(full)  # a submodule: its own wrapper
        target, standin = own["_ember_target"], own["_ember_standin"]
        for source in (target, standin):
            if source is None:
                continue
            try:
                value = getattr(source, name)
            except AttributeError:
                continue
            if isinstance(value, types.ModuleType):
                continue  # one of ember's own modules, not a torch API
            return value
        raise _missing(full)

    def __dir__(self):
        names = set(self.__dict__)
        for source in (self.__dict__["_ember_target"], self.__dict__["_ember_standin"]):
            if source is not None:
                names.update(dir(source))
        return sorted(names)

    def _public(self):
        target = self.__dict__["_ember_target"]
        names = getattr(target, "__all__", None)
        if names is None:  # ember's own submodules are not torch names
            names = [n for n in dir(target) if not n.startswith("_")
                     and not isinstance(getattr(target, n, None), types.ModuleType)] if target is not None else []
        standin = self.__dict__["_ember_standin"]
        if standin is not None:
            names = list(names) + [n for n in vars(standin) if not n.startswith("_") and n not in names]
        return list(names)

    def __repr__(self):
        target = self.__dict__["_ember_target"]
        what = getattr(target, "__name__", None) or "ember stand-in"
        return f"<module {self.__name__!r} (ember run: {what})>"


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        target, standin = resolve(spec.name)
        return TorchModule(spec.name, target, standin)

    def exec_module(self, module):
        return None


class TorchFinder(importlib.abc.MetaPathFinder):
    """Finds ``torch`` and ``torch.*`` (and ``torchvision``...) in ember, never on disk."""

    loader = _Loader()

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top != "torch" and top not in _BLOCKED:
            return None
        if resolve(fullname) is None:
            # no ``name=``: ``from torch.x import y`` would then swallow this error and raise a
            # bare "cannot import name 'y'" instead
            raise NotInEmberModuleError(f"ember run: {fullname} is not implemented in ember (used at {where()})")
        return importlib.machinery.ModuleSpec(fullname, self.loader, is_package=True)


_FINDER = TorchFinder()


def _is_torch(name):
    top = name.partition(".")[0]
    return top == "torch" or top in _BLOCKED


def install():
    """Resolve ``torch`` to ember from now on; returns the ``torch*`` modules it set aside
    (a real torch already imported), for ``uninstall``."""
    saved = {k: sys.modules.pop(k) for k in [k for k in sys.modules if _is_torch(k)]}
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return saved


def uninstall(saved=None):
    """Undo ``install``: drop the wrappers, put back what was set aside."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for k in [k for k in sys.modules if _is_torch(k) and isinstance(sys.modules[k], TorchModule)]:
        del sys.modules[k]
    sys.modules.update(saved or {})
    importlib.invalidate_caches()


@contextlib.contextmanager
def installed():
    """``with installed(): import torch`` gives ember."""
    saved = install()
    try:
        yield
    finally:
        uninstall(saved)
