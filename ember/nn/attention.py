"""``MultiheadAttention``: PyTorch's module, parameter names and layouts, so state_dicts move both ways."""
import numbers

import numpy as np

from .. import backend
from ..ops.attention import canonical_mask, multi_head_attention_forward
from . import init
from .linear import Linear
from .module import Module, Parameter, _as_float_input

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for the output projection of attention (same repr)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each.

    Args:
        embed_dim: features of the query (and of the output).
        num_heads: heads; must divide ``embed_dim``.
        dropout: dropout on the attention weights in training.
        bias: learn ``in_proj_bias`` and ``out_proj.bias``.
        add_bias_kv: learn ``bias_k`` and ``bias_v`` (1, 1, embed_dim), appended to key and value.
        add_zero_attn: append a zero position to key and value.
        kdim, vdim: features of key and value (default ``embed_dim``); when either differs the
            projections are ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of
            the packed ``in_proj_weight`` (3 * embed_dim, embed_dim).
        batch_first: inputs and output are (N, L, E) rather than (L, N, E).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights or None)``.
    Masks are bool (True: left out) or float (added to the scores).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"MultiheadAttention: {name} must be an int, got {n!r}")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        dt = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        E = self.embed_dim
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(np.empty((E, E), dt))
            self.k_proj_weight = Parameter(np.empty((E, self.kdim), dt))
            self.v_proj_weight = Parameter(np.empty((E, self.vdim), dt))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(np.empty((3 * E, E), dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * E, dt)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, E), dt))
            self.bias_v = Parameter(np.empty((1, 1, E), dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if device is not None:
            self.to(device)

    def _reset_parameters(self):
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k / bias_v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        dt = self.out_proj.weight._data.dtype
        same_qk, same_kv = query is key, key is value
        query = _as_float_input(query, dt, self)
        key = query if same_qk else _as_float_input(key, dt, self)
        value = key if same_kv else _as_float_input(value, dt, self)
        self._check_shapes(query, key, value)
        batched = query.ndim == 3
        kpm = canonical_mask(key_padding_mask, "key_padding_mask",
                             None if attn_mask is None else np.dtype(attn_mask.dtype), "attn_mask", np.dtype(dt))
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", np.dtype(dt), check_other=False)
        if need_weights:  # PyTorch's baddbmm refuses a float mask of another dtype (its SDPA path, too)
            masks = [np.dtype(m.dtype) for m in (kpm, attn_mask) if m is not None]
            merged = np.result_type(*masks) if masks else np.dtype(dt)
            if merged != np.dtype(dt):
                c = {"float64": "double", "float32": "float", "float16": "c10::Half"}  # PyTorch's C++ names
                m, q = c.get(merged.name, merged.name), c.get(np.dtype(dt).name, np.dtype(dt).name)
                raise RuntimeError(f"Input dtypes must be the same, got: input {m}, batch1: {q}, batch2: {q}")
        if self.batch_first and batched:
            query, key, value = (t.transpose(1, 0) for t in (query, key, value))
            if same_kv:
                value = key
            if same_qk:
                key = query
                if same_kv:
                    value = query
        kw = dict(training=self.training, key_padding_mask=kpm, need_weights=need_weights, attn_mask=attn_mask,
                  average_attn_weights=average_attn_weights, is_causal=is_causal)
        if not self._qkv_same_embed_dim:
            kw.update(use_separate_proj_weight=True, q_proj_weight=self.q_proj_weight,
                      k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight)
        out, w = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            **kw)
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, w

    def _check_shapes(self, query, key, value):
        """Feature sizes and batch sizes, the module and the shapes named (PyTorch's exception
        types and, for the query, its words; PyTorch itself fails later, in a reshape or a matmul)."""
        who = f"{type(self).__name__}(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
        if query.ndim not in (2, 3):
            raise AssertionError(f"{who}: query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.ndim}-D query tensor (query of shape {tuple(query.shape)})")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"{who}: was expecting embedding dimension of {self.embed_dim}, but got "
                                 f"{query.shape[-1]} (query of shape {tuple(query.shape)})")
        for name, t, want in (("key", key, self.kdim), ("value", value, self.vdim)):
            if t.ndim == query.ndim and t.shape[-1] != want:
                exc = RuntimeError if self._qkv_same_embed_dim else AssertionError
                raise exc(f"{who}: expected {name} with {want} features ({name[0]}dim), got {name} of shape "
                          f"{tuple(t.shape)}")
            b = 0 if self.batch_first else 1
            if t.ndim == 3 == query.ndim and t.shape[b] != query.shape[b]:
                raise RuntimeError(f"{who}: {name} of shape {tuple(t.shape)} has batch size {t.shape[b]}, query of "
                                   f"shape {tuple(query.shape)} has {query.shape[b]}")
