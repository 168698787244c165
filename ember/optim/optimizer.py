"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad`` and state dicts.

The base class follows ``torch.optim.Optimizer``: ``param_groups`` is a list of dicts (each
with ``'params'`` and every hyper-parameter), ``state`` maps a parameter to its dict of
arrays, and ``state_dict()`` keys that state by the parameter's index across the groups, so a
saved state loads into a freshly built optimizer over the same parameters.

An algorithm subclasses it with ``_validate(group)`` (its hyper-parameter checks) and
``_update(x, g, state, group)`` (one parameter's in-place update). Updates run over each
parameter in pieces of ``_PIECE_BYTES`` (see ``_pieces``), with scratch buffers allocated once
per optimizer, so a step allocates nothing after the first.
"""
import numbers
from collections import defaultdict

import numpy as np

from ..autograd.function import bump

from ..autograd import enable_grad
from .._tensor import Tensor

__all__ = ["Optimizer"]

# An update makes ~12 in-place passes over a parameter and its state; on pieces of 256 KiB per
# array they all run in L2 cache instead of streaming the whole arrays from memory 12 times
# (1.5-2x faster steps on a 1M-parameter MLP; 64 KiB to 512 KiB pieces all do about as well).
_PIECE_BYTES = 1 << 18

# float32 subnormals make NumPy arithmetic ~30x slower and NumPy cannot set flush-to-zero.
# Decaying state (Adam's moments, momentum buffers) of weights that get no gradient sinks
# into that range within a few hundred steps, so every FLUSH_EVERY steps the optimizers zero
# state entries below flush_threshold(dtype) (about 1e-30 in float32, 26 binades above the
# subnormal range: at any decay rate above 1/3 no entry gets that far between two flushes,
# and a flush costs three cheap passes over pieces already in cache). Such entries move a
# parameter by at most ~lr * 1e-30 / eps, far below float32 resolution, so results stay
# those of PyTorch. float16 is never flushed (its subnormals start at 6e-5).
FLUSH_EVERY = 16


def flush_threshold(dtype):
    """The magnitude below which decaying optimizer state of ``dtype`` is flushed to zero (0: never)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        return 0.0
    return float(np.finfo(dtype).tiny) * 2.0**26


def _flush(a, thr, t):
    """Zero the entries of ``a`` with ``|a| < thr`` in place; ``t`` is scratch of ``a``'s size."""
    np.abs(a, out=t)
    np.greater_equal(t, thr, out=t)  # 1.0 where kept, 0.0 where flushed
    a *= t


def _grad_term(x, g, out, weight_decay=0.0, maximize=False):
    """The gradient the algorithm sees: ``-g`` when maximizing, plus ``weight_decay * x`` (L2).

    Writes into ``out`` only when it differs from ``g``, which is never written.
    """
    if weight_decay == 0:
        return np.negative(g, out=out) if maximize else g
    np.multiply(x, weight_decay, out=out)
    if maximize:
        out -= g
    else:
        out += g
    return out


def _check(opt, name, value, ok, expected):
    """Raise ValueError naming the optimizer, the hyper-parameter and its bad value unless ``ok``."""
    if not ok:
        raise ValueError(f"{opt}: invalid {name}={value!r}, expected {expected}")


def _check_number(opt, name, value, lo=0.0, hi=None, hi_open=False):
    """Check that ``value`` is a real number in [lo, hi] (or [lo, hi) with ``hi_open``)."""
    is_num = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hi is None:
        ok, expected = is_num and value >= lo, f"{name} >= {lo:g}"
    else:
        inside = (value < hi) if hi_open else (value <= hi)
        ok = is_num and value >= lo and inside
        expected = f"{lo:g} <= {name} {'<' if hi_open else '<='} {hi:g}"
    _check(opt, name, value, ok, expected)


def _check_betas(opt, betas):
    """Check a pair of betas, each in [0, 1), naming the bad index and its value."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{opt}: invalid betas={betas!r}, expected a pair (beta1, beta2)")
    for i, b in enumerate(betas):
        _check_number(opt, f"betas[{i}]", b, 0.0, 1.0, hi_open=True)


class Optimizer:
    """Base class of the optimizers: holds parameter groups and per-parameter state.

    Args:
        params: an iterable of parameters (Tensors), of ``(name, parameter)`` pairs, or of
            dicts each with ``'params'`` and per-group hyper-parameters overriding ``defaults``.
        defaults: the hyper-parameters of every group that does not set its own.

    Attributes:
        param_groups: list of dicts, each with ``'params'`` (a list) and every hyper-parameter.
        state: dict from parameter to its dict of state (arrays shaped like it, ``'step'``...).
        defaults: the hyper-parameters given at construction.
    """

    # per-parameter state entries that are numbers, not arrays shaped like the parameter
    _scalar_state = ("step",)

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._validate(self.defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_count = 0
        self._scratch = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name} expects an iterable of Tensors or dicts as params, got a single "
                            f"Tensor of shape {tuple(params.shape)}: pass [tensor] or model.parameters()")
        if isinstance(params, dict):
            params = [params]
        params = list(params)
        if not params:
            raise ValueError(f"{self._name} got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    @property
    def _name(self):
        return type(self).__name__

    def _validate(self, group):
        """Raise ValueError, with the value, for a bad hyper-parameter in ``group`` (subclasses)."""

    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyper-parameters (defaults fill the rest).

        Useful to train layers unfrozen later, with their own learning rate.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}.add_param_group expects a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self._name}: parameters must be an ordered collection (their order decides "
                            "state_dict indices); sets change order between runs: use a list")
        else:
            params = list(params)
        names = None
        if params and isinstance(params[0], tuple):
            names = [n for n, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name} can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name} can't optimize a non-leaf Tensor (shape {tuple(p.shape)}): "
                                 "optimize the leaf it was computed from")
            if p._data.dtype.kind != "f":
                raise TypeError(f"{self._name} can only optimize floating-point Tensors, got dtype {p._data.dtype}")
        group = {"params": params}
        if names is not None:
            group["param_names"] = names
        for k, v in param_group.items():
            if k not in ("params", "param_names"):
                group[k] = v
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self._name}: a parameter group contains the same parameter more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{self._name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if set_to_none or g is None:
                    p._grad = None
                    continue
                # PyTorch: a gradient recorded with create_graph is detached in place, then
                # zeroed in place (same Tensor, version bumped)
                g._fn = None
                g.requires_grad = False
                if g._data.flags.writeable:
                    g._data[...] = 0
                    bump(g)
                else:  # read-only memory (a broadcast view): give it fresh zeros
                    p._grad = Tensor._from_op(np.zeros_like(g._data), None)

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; returns ``closure()``'s loss if given.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss
                (it runs with gradients enabled, before the update).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step_count += 1
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if isinstance(g, Tensor):
                    g = g._data
                if g.shape != p._data.shape:
                    raise ValueError(f"{self._name}: a parameter of shape {p._data.shape} has a gradient of "
                                     f"shape {tuple(g.shape)}")
                self._update(p._data, g, self.state[p], group)
                bump(p)  # a graph that saved p before this step can no longer backward
        return loss

    def _update(self, x, g, state, group):
        """Update parameter array ``x`` in place from its gradient ``g`` (subclasses)."""
        raise NotImplementedError

    def _flush_now(self):
        """Whether this step flushes tiny state entries (see FLUSH_EVERY)."""
        return self._step_count % FLUSH_EVERY == 0

    def _workspace(self, dtype, k, n):
        """``k`` scratch vectors of ``dtype`` with at least ``n`` elements, reused across steps."""
        key = np.dtype(dtype)
        ws = self._scratch.get(key)
        if ws is None or len(ws) < k or ws[0].size < n:
            size = max(n, ws[0].size if ws else 0)
            ws = [np.empty(size, key) for _ in range(max(k, len(ws) if ws else 0))]
            self._scratch[key] = ws
        return ws[:k]

    def _pieces(self, arrays, nscratch):
        """Yield aligned pieces of ``arrays`` (x, g, state arrays or None) plus ``nscratch`` scratch arrays.

        ``arrays[0]`` is the parameter and the others but ``arrays[1]`` (the gradient, only
        read) are written in place, so they are cut as views of their flat form. A parameter
        that is not C-contiguous is processed whole, with scratch allocated for it.
        """
        x = arrays[0]
        written = [a for i, a in enumerate(arrays) if i != 1 and a is not None]
        if not all(a.flags.c_contiguous for a in written):
            yield list(arrays) + [np.empty(x.shape, x.dtype) for _ in range(nscratch)]
            return
        flat = [None if a is None else a.reshape(-1) for a in arrays]
        n = x.size
        step = max(1, _PIECE_BYTES // x.itemsize)
        ws = self._workspace(x.dtype, nscratch, min(n, step))
        if n <= step:
            yield flat + [w[:n] for w in ws]
            return
        for s in range(0, n, step):
            e = min(n, s + step)
            yield [None if a is None else a[s:e] for a in flat] + [w[: e - s] for w in ws]

    # ----- state dicts -----
    def state_dict(self):
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``, like PyTorch.

        Parameters are replaced by their index across all groups; arrays are copies.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()`` (or PyTorch's, converted to arrays) exactly.

        The groups must hold the same numbers of parameters as when it was saved; array state
        is copied and cast to each parameter's dtype; hyper-parameters come from the saved groups.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        id_map = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{self._name}.load_state_dict: parameter group {i} holds {len(saved['params'])} "
                                 f"parameters in the state dict, {len(group['params'])} in this optimizer")
            for idx, p in zip(saved["params"], group["params"]):
                id_map[int(_scalar(idx))] = p
        state = defaultdict(dict)
        for idx, s in state_dict["state"].items():
            idx = int(idx)  # keys may come back from a file as strings
            if idx not in id_map:
                raise ValueError(f"{self._name}.load_state_dict: state for parameter index {idx}, but the "
                                 f"groups hold {len(id_map)} parameters")
            p = id_map[idx]
            state[p] = {k: self._load_state_value(p, k, v) for k, v in s.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {"params": group["params"]}
            if "param_names" in group:
                new["param_names"] = group["param_names"]
            for k, v in saved.items():
                if k in ("params", "param_names") or (v is None and k not in group):
                    continue  # PyTorch's foreach=None and the like mean nothing here
                new[k] = _plain_value(v, group.get(k))
            for k, v in group.items():
                new.setdefault(k, v)
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    def _load_state_value(self, p, key, v):
        if key in self._scalar_state:
            v = _scalar(v)
            return int(v) if key == "step" and float(v).is_integer() else v
        if v is None:
            return None
        a = np.asarray(v._data if isinstance(v, Tensor) else v)
        if a.shape != p._data.shape:
            raise ValueError(f"{self._name}.load_state_dict: state {key!r} has shape {tuple(a.shape)}, its parameter "
                             f"has shape {p._data.shape}")
        dtype = p._data.dtype if a.dtype.kind == "f" else a.dtype
        return np.array(a, dtype=dtype, order="C", copy=True)

    def __repr__(self):
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def _scalar(v):
    """A Python number from a number, a 0-d array or a one-element Tensor (as files return them)."""
    if isinstance(v, Tensor):
        v = v._data
    if isinstance(v, (np.ndarray, np.generic)):
        return v.item()
    return v


def _plain_value(v, like):
    """A saved hyper-parameter as the optimizer holds it: numbers as numbers, pairs as tuples."""
    if isinstance(v, (np.ndarray, np.generic)) and np.ndim(v) == 0:
        v = v.item()
    elif isinstance(v, (list, tuple, np.ndarray)) and isinstance(like, tuple):
        v = tuple(_scalar(e) for e in v)
    if isinstance(like, bool) and not isinstance(v, bool) and isinstance(v, numbers.Integral):
        v = bool(v)
    return v
