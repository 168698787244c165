"""``weight_norm`` and ``spectral_norm`` as parametrizations (``torch.nn.utils.parametrizations``).

``weight_norm(m)``: ``m.weight = g * v / ||v||`` with the norm over every dim but ``dim``;
``g`` and ``v`` are ``m.parametrizations.weight.original0`` and ``original1``.
``spectral_norm(m)``: ``m.weight = W / sigma(W)``, sigma the largest singular value of W
(reshaped to a matrix with ``dim`` first), estimated by power iteration on the buffers ``_u``
and ``_v`` (one step per read in training, none in eval); W is
``m.parametrizations.weight.original``. The values are compositions of ember ops, so
gradients flow to the originals; the power iteration runs outside the graph, as PyTorch's.
"""
import functools

import numpy as np

from ... import backend
from ...autograd import no_grad
from ..._tensor import Tensor
from ...ops import elementwise as _ew
from ...ops import movement as _mv
from ...ops import reduce as _rd
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm"]


def _norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every dim but ``dim`` (keepdim); over all of v when dim is -1
    (PyTorch's ``norm_except_dim`` convention)."""
    if dim == -1:
        return _ew.sqrt(_rd.sum(v * v))
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return _ew.sqrt(_rd.sum(v * v, dim=dims, keepdim=True)) if dims else _ew.abs(v)


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as g * v / ||v|| (Salimans & Kingma, 2016), the norm
    over every dim but ``dim`` (over all with ``dim=None``). g starts as the current norm and
    v as the current weight, so the layer's output is unchanged. Returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    module.register_load_state_dict_pre_hook(functools.partial(_weight_norm_compat, name=name))
    return module


def _weight_norm_compat(module, state_dict, prefix, local_metadata, strict, missing, unexpected, errors, *, name):
    """Load a state_dict saved with the old ``nn.utils.weight_norm`` (``<name>_g`` and
    ``<name>_v``) into the parametrization's ``parametrizations.<name>.original0`` and
    ``original1``, as PyTorch's own hook does."""
    g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
    if g in state_dict and v in state_dict:
        state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g)
        state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v)


def _normalize(a, eps):
    """a / max(||a||, eps), a 1-D array."""
    return a / max(float(np.sqrt(np.dot(a, a))), eps)


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            wm = self._matrix_array(weight._data)
            h, w = wm.shape
            g = backend.rng()
            self.register_buffer("_u", Tensor(_normalize(g.standard_normal(h).astype(wm.dtype), eps)))
            self.register_buffer("_v", Tensor(_normalize(g.standard_normal(w).astype(wm.dtype), eps)))
            self._power_method(wm, 15)

    def _matrix_array(self, w):
        if self.dim != 0:
            w = np.moveaxis(w, self.dim, 0)
        return w.reshape(w.shape[0], -1)

    def _power_method(self, wm, n):
        u, v = self._u._data, self._v._data
        for _ in range(n):
            u[...] = _normalize(wm @ v, self.eps)
            v[...] = _normalize(wm.conj().T @ u, self.eps)

    def forward(self, weight):
        if weight.ndim == 1:
            n = _ew.sqrt(_rd.sum(weight * weight))
            return weight / _clamp_min(n, self.eps)
        if self.training:
            self._power_method(self._matrix_array(weight._data), self.n_power_iterations)
        u, v = np.array(self._u._data), np.array(self._v._data)
        w = weight if self.dim == 0 else _mv.movedim(weight, self.dim, 0)
        wm = _mv.reshape(w, (w.shape[0], -1))
        sigma = _rd.sum(Tensor(u) * _mv.reshape(wm @ Tensor(v[:, None]), (-1,)))
        return weight / sigma

    def right_inverse(self, value):
        return value


def _clamp_min(x, m):
    from ...ops.pointwise import clamp_min

    return clamp_min(x, m)


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize ``module.<name>`` as W / sigma(W) (Miyato et al., 2018), sigma estimated by
    ``n_power_iterations`` steps of power iteration per read in training mode. ``dim``: the
    dim of the output features (1 for ConvTranspose layers, 0 otherwise). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    with no_grad():
        sn = _SpectralNorm(weight, n_power_iterations, dim, eps)
    parametrize.register_parametrization(module, name, sn)
    return module
