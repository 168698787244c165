"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

The reference is a composition of ember ops, differentiable to any order:
``softmax(q @ k^T * scale + mask) @ v``, a masked score being -inf and a row masked
everywhere giving zeros (PyTorch's "safe" softmax). With ``ember.kernels.enabled()`` the
fused ``ember.kernels.attention.SDPA`` runs the same math in one op: the scores array becomes
the probabilities in place, and its backward reuses one array of that size.

``is_causal=True`` builds no float mask: one cached boolean (L, S) array (True above the
diagonal) is written into the scores as -inf. Dropout masks come from ember's generator.
"""
import functools
import math

import numpy as np

from .. import backend, kernels
from .._tensor_base import TensorBase, from_op
from ._util import as_tensor
from .activation import softmax
from .elementwise import cast, where
from .layers import dropout as _dropout, linear
from .matmul import matmul
from .movement import reshape, transpose

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int",
          "bool": "bool"}


def _dn(dtype):
    return _NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


@functools.lru_cache(maxsize=16)
def causal_block(L, S):
    """The read-only boolean (L, S) array that is True above the diagonal: the positions a
    causal (top-left aligned) mask leaves out. Cached: one per sequence-length pair."""
    a = np.triu(np.ones((L, S), bool), 1)
    a.flags.writeable = False
    return a


def sdpa_reference(q, k, v, mask, scale, drop):
    """Attention on checked Tensors with ember ops. ``mask``: None, a boolean array (True:
    left out) or a float Tensor (added); ``drop``: None or the scaled dropout mask array."""
    s = matmul(q, transpose(k, -2, -1)) * scale
    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:
        s = where(mask, float("-inf"), s)
    elif mask is not None:
        s = s + mask
    dead = np.isneginf(s._data).all(axis=-1, keepdims=True)  # rows that attend to nothing
    if dead.any():
        s = where(dead, 0.0, s)
    p = softmax(s, dim=-1)
    if dead.any():
        p = where(dead, 0.0, p)
    if drop is not None:
        p = p * from_op(drop, None)
    return matmul(p, v)


def _broadcast(shapes, what):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the shapes {', '.join(map(str, shapes))} of {what} "
                           "do not broadcast") from None


def _group(t, hk, g, axis_size):
    """(..., H, X, Y) -> (..., hk, g, X, Y) when H == hk * g, or (..., 1, 1, X, Y) when H == 1."""
    s = tuple(t.shape)
    mid = (hk, g) if axis_size != 1 else (1, 1)
    if isinstance(t, np.ndarray):
        return t.reshape(s[:-3] + mid + s[-2:])
    return reshape(t, s[:-3] + mid + s[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, over (..., L, E), (..., S, E), (..., S, Ev).

    ``attn_mask``: boolean (True: the position takes part) or float (added to the scores),
    broadcastable to (..., L, S). ``is_causal``: query i attends to keys j <= i (no mask
    allowed with it). ``scale``: default 1 / sqrt(E). ``dropout_p``: dropout on the
    attention weights (ember's generator). ``enable_gqa``: key and value have fewer heads
    (dim -3), each serving query_heads / key_heads consecutive query heads.
    A row of scores masked everywhere gives zeros, as PyTorch.
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead.")
    dt = q._data.dtype
    if not (dt == k._data.dtype == v._data.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_dn(dt)} key.dtype: {_dn(k.dtype)} and value.dtype: {_dn(v.dtype)} instead.")
    if dt.kind != "f":
        raise RuntimeError(f"scaled_dot_product_attention: expected floating point query, key and value, got {_dn(dt)}")
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if k.shape[-1] != E:
        raise RuntimeError(f"scaled_dot_product_attention: query has {E} features and key {k.shape[-1]}: they must match")
    if v.shape[-2] != S:
        raise RuntimeError(f"scaled_dot_product_attention: key has {S} positions and value {v.shape[-2]}: they must match")
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)) or not 0 <= dropout_p <= 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    mask = None
    if attn_mask is not None:
        m = attn_mask if isinstance(attn_mask, TensorBase) else as_tensor(np.asarray(attn_mask))
        if m.dtype == np.bool_:
            mask = ~m._data  # True: left out
        elif m._data.dtype in (np.float32, dt):
            mask = m if m._data.dtype == dt else cast(m, dt)
        else:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                               f"attn_mask.dtype: {_dn(m.dtype)} and  query.dtype: {_dn(dt)} instead.")
    elif is_causal:
        mask = causal_block(L, S)
    hq = q.shape[-3] if q.ndim >= 3 else 1
    hk = k.shape[-3] if k.ndim >= 3 else 1
    grouped = bool(enable_gqa) and q.ndim >= 3 and k.ndim >= 3 and hq != hk
    if grouped:
        hv = v.shape[-3] if v.ndim >= 3 else 1
        if hq % hk or hq % hv or hk != hv:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        g = hq // hk
        q = reshape(q, tuple(q.shape[:-3]) + (hk, g) + tuple(q.shape[-2:]))
        k = reshape(k, tuple(k.shape[:-3]) + (hk, 1) + tuple(k.shape[-2:]))
        v = reshape(v, tuple(v.shape[:-3]) + (hk, 1) + tuple(v.shape[-2:]))
        if mask is not None and mask.ndim >= 3:
            mh = mask.shape[-3]
            if mh not in (1, hq):
                raise RuntimeError(f"scaled_dot_product_attention: attn_mask has {mh} heads, query {hq}")
            mask = _group(mask, hk, g, mh)
    bshape = _broadcast([tuple(q.shape[:-2]), tuple(k.shape[:-2]), tuple(v.shape[:-2])], "query, key and value batches")
    sshape = bshape + (L, S)
    if mask is not None:
        sshape = _broadcast([sshape, tuple(mask.shape)], "the scores and attn_mask")
    drop = None
    if dropout_p > 0:
        if dropout_p == 1:
            drop = np.zeros(sshape, dt)
        else:
            u = backend.rng().random(sshape, dtype=np.float32 if dt == np.float32 else np.float64)
            drop = np.multiply(u >= dropout_p, dt.type(1.0 / (1.0 - dropout_p)), dtype=dt)
    mask_grad = isinstance(mask, TensorBase) and mask.requires_grad
    if kernels.enabled() and not mask_grad:
        m = mask._data if isinstance(mask, TensorBase) else mask
        y = _kernels.SDPA.apply(q, k, v, mask=m, scale=scale, drop=drop)
    else:
        y = sdpa_reference(q, k, v, mask, scale, drop)
    if grouped:
        y = reshape(y, tuple(y.shape[:-4]) + (hq,) + tuple(y.shape[-2:]))
    return y



# ----- multi-head attention -----


def _dtype_or_none(m):
    return None if m is None else np.dtype(m.dtype)


def check_mask_dtype(mask, name):
    """PyTorch's AssertionError for a mask neither bool nor float, under the caller's ``name``
    for it (None passes)."""
    if mask is None:
        return
    dtype = mask.dtype if hasattr(mask, "dtype") else np.asarray(mask).dtype
    if np.dtype(dtype).kind not in "bf":
        raise AssertionError(f"only bool and floating types of {name} are supported")


def canonical_mask(mask, name, other_dtype, other_name, dtype, check_other=True):
    """A bool mask (True: left out) as a float mask of ``dtype`` (-inf where True); a float
    mask as it is; None stays None. Other dtypes raise PyTorch's AssertionError."""
    if mask is None:
        return None
    m = mask if isinstance(mask, TensorBase) else as_tensor(np.asarray(mask))
    check_mask_dtype(m, name)
    kind = m._data.dtype.kind
    if check_other and other_dtype is not None and m._data.dtype != other_dtype:
        import warnings

        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
                      stacklevel=3)
    if kind != "f":
        return from_op(np.where(m._data, dtype.type(-np.inf), dtype.type(0)).astype(dtype), None)
    return m


def _check_shapes(query, key, value, kpm, attn_mask, num_heads):
    """Whether the inputs are batched (3-D), with PyTorch's AssertionErrors for wrong ranks."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if kpm is not None and kpm.ndim != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                                 f"found {kpm.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                 f"found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if kpm is not None and kpm.ndim != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                                 f"found {kpm.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                                     f"but found {attn_mask.ndim}-D tensor instead")
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != want:
                raise AssertionError(f"Expected `attn_mask` shape to be {want} but got {tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")


def _pad_last(m):
    """A mask with one more column of zeros (False for bool, 0 for float) at the end."""
    if m is None:
        return None
    from .movement import cat

    return cat([m, from_op(np.zeros(tuple(m.shape[:-1]) + (1,), m.dtype), None)], dim=-1)


def _project(query, key, value, w, b, separate):
    """The input projections: one GEMM for self-attention with the packed weight."""
    from .movement import chunk

    if separate is not None:
        wq, wk, wv = separate
        bq, bk, bv = (None, None, None) if b is None else chunk(b, 3)
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    if query is key and key is value:
        return chunk(linear(query, w, b), 3, dim=-1)
    wq, wk, wv = chunk(w, 3)
    bq, bk, bv = (None, None, None) if b is None else chunk(b, 3)
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention on (L, N, E) query and (S, N, E) key / value (or unbatched (L, E)),
    as ``nn.MultiheadAttention`` runs it. Masks: bool (True: left out) or float (added);
    ``key_padding_mask`` (N, S), ``attn_mask`` (L, S) or (N * num_heads, L, S).
    Returns (output (L, N, E), weights (N, L, S) averaged over heads, (N, H, L, S) if not
    ``average_attn_weights``, or None without ``need_weights``)."""
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    kpm = None if key_padding_mask is None else as_tensor(key_padding_mask)
    attn_mask = None if attn_mask is None else as_tensor(attn_mask)
    batched = _check_shapes(query, key, value, kpm, attn_mask, num_heads)
    if not batched:
        query, key, value = (x if x is None else x.unsqueeze(1) for x in (query, key, value))
        kpm = None if kpm is None else kpm.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    dt = query._data.dtype
    kpm = canonical_mask(kpm, "key_padding_mask", _dtype_or_none(attn_mask), "attn_mask", dt)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and kpm is None and not need_weights:
        attn_mask = None  # the mask is the causal one: SDPA applies it without a float mask
    else:
        attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", dt, check_other=False)
        if kpm is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
        q, k, v = _project(query, key, value, None, in_proj_bias, (q_proj_weight, k_proj_weight, v_proj_weight))
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias, None)
    src_len = key.shape[0]
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    from .movement import cat

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask, kpm = _pad_last(attn_mask), _pad_last(kpm)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else "bias_v is set but bias_k is None")
    q = transpose(reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    k = transpose(reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1) if static_k is None else as_tensor(static_k)
    v = transpose(reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1) if static_v is None else as_tensor(static_v)
    for name, t in (("static_k", static_k), ("static_v", static_v)):
        if t is not None and (t.shape[0] != bsz * num_heads or t.shape[2] != head_dim):
            raise AssertionError(f"expecting {name} of shape ({bsz * num_heads}, S, {head_dim}), got {tuple(t.shape)}")
    if add_zero_attn:
        z = from_op(np.zeros((bsz * num_heads, 1, head_dim), dt), None)
        k, v = cat([k, z], dim=1), cat([v, z], dim=1)
        attn_mask, kpm = _pad_last(attn_mask), _pad_last(kpm)
    src_len = k.shape[1]
    if kpm is not None:
        if kpm.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {kpm.shape[0]}")
        if kpm.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got {kpm.shape[1]}")
        kpm = reshape(kpm.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1), (bsz * num_heads, 1, src_len))
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        w = matmul(q * math.sqrt(1.0 / head_dim), transpose(k, -2, -1))
        if attn_mask is not None:
            w = w + attn_mask
        w = softmax(w, dim=-1)  # the plain softmax: a row masked everywhere is NaN, as PyTorch's
        if dropout_p > 0.0:
            w = _dropout(w, p=dropout_p)
        out = reshape(transpose(matmul(w, v), 0, 1), (tgt_len * bsz, embed_dim))
        out = reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))
        w = reshape(w, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            w = w.mean(dim=1)
        if not batched:
            out, w = out.squeeze(1), w.squeeze(0)
        return out, w
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = reshape(attn_mask, (bsz, num_heads, -1, src_len))
    q = reshape(q, (bsz, num_heads, tgt_len, head_dim))
    k = reshape(k, (bsz, num_heads, src_len, head_dim))
    v = reshape(v, (bsz, num_heads, src_len, head_dim))
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = reshape(out.permute(2, 0, 1, 3), (bsz * tgt_len, embed_dim))
    out = reshape(linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))
    if not batched:
        out = out.squeeze(1)
    return out, None


from ..kernels import attention as _kernels  # noqa: E402  (the kernel imports this module's reference)
