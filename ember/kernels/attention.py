"""Attention kernel: ``ember.ops.attention.sdpa_reference`` in one op, on arrays.

The reference is six graph nodes (two matmuls, a scale, the mask, softmax, dropout), each
keeping its own (..., L, S) array. ``SDPA`` makes one scores array and turns it into
unnormalised weights e in place (exp, masked scores zeroed; see ``_softmax_rows``) with each
row's 1 / sum, which scales the (L, Ev) output instead of the weights. It keeps e for
backward, and there makes one more array of that size, the gradient of the weights, turned
into the gradient of the scores in place:
    ds = p * (dp - rowsum),  rowsum_i = sum_j p_ij dp_ij = gy_i . out_i
(the second form reads (L, Ev) arrays, not (L, S)). A row masked everywhere gives zeros.
The backward works on arrays only (``dual = False``); ``reference`` recomputes the output
with the reference ops, which higher-order gradients differentiate.
The GPT step of issue #22 (4 heads, context 64) runs attention in every block, forward and back.
"""
import numpy as np

from ..autograd import Function
from ..ops import attention as _attention  # (a module: it imports this one)
from ..ops._parallel import big, num_threads
from . import _blas
from ..ops._util import unbroadcast

__all__ = ["SDPA"]


class SDPA(Function):
    """softmax(q @ k^T * scale + mask) @ v (then dropout on the weights), fused.

    The softmax is kept unnormalised: ``e = exp(s - c)`` and each row's ``1 / sum(e)``; the
    division is applied to the (L, Ev) output rather than to the (L, S) weights, and the
    backward folds it into gy the same way (``_softmax_rows``). The shift ``c`` is 0 where the
    scores of a batch entry all lie within ``_SAFE`` of 0 (exp neither overflows nor
    underflows there), else each row's maximum as usual: NumPy's maximum along a short last
    axis costs more than the two products (300 us at the GPT recipe's (12, 4, 64, 64)).

    When q, k and v share the first batch axis (the batch of (N, H, L, E) attention) and the
    scores have at least ``ember.ops._parallel.MIN_ELEMENTS`` values, the work is split along
    that axis into one part per thread, each doing the whole chain on its heads with BLAS on
    its own thread. Forward + backward, causal, float32, 2 cores, split against one call:
    (12, 4, 64, 32) (the GPT recipe's) 1.8 against 1.8 ms, (12, 4, 128, 32) 4.5 against 7.1,
    (16, 8, 256, 64) 67 against 87; split with BLAS also threaded was slower than one call at
    every size (2.6, 7.9, 102 ms). On a 2-vCPU Xeon VM, where each GIL hand-off between the
    two threads costs a wake-up (30-60 us), one call wins below 2**18 scores: (4, 4, 64, 32)
    0.47 against 0.92 ms split, (12, 4, 64, 32) 1.27 against 1.44 (the GPT step 37.6 against
    38.5 ms, medians); the split wins from (24, 4, 64, 32) (2.11 against 2.57 ms) up.
    """

    def forward(self, q, k, v, mask, scale, drop):
        self.mask, self.scale, self.drop = mask, scale, drop
        bshape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        sshape = bshape + (q.shape[-2], k.shape[-2])
        if mask is not None:
            sshape = np.broadcast_shapes(sshape, mask.shape)
        n = sshape[0] if len(sshape) > 2 else 1
        self.split = n > 1 and q.ndim == k.ndim == v.ndim == len(sshape) and q.shape[0] == k.shape[0] == v.shape[0] == n
        e = np.empty(sshape, q.dtype)
        self.threaded = self.split and big(e.size)  # (split decides the numbers, this only where they run)
        rz = np.empty(sshape[:-1] + (1,), q.dtype)
        y = np.empty(sshape[:-1] + (v.shape[-1],), q.dtype)
        qs = q * q.dtype.type(scale)  # the scale on q (L x E) rather than on the scores (L x S)
        part = self._parts(len(sshape))
        bounds = _mask_bounds(mask)
        keep = None if mask is None or mask.dtype != np.bool_ else np.logical_not(mask).astype(q.dtype)

        def run(a, b):
            qa, ka, va, ea, ma, keepa, da, za = part(a, b, qs, k, v, e, mask, keep, drop, rz)
            kt = np.ascontiguousarray(np.swapaxes(ka, -1, -2))  # OpenBLAS: q @ kt 1.8x q @ k.T
            if qa.shape[:-2] == ka.shape[:-2] == ea.shape[:-2]:
                np.matmul(qa, kt, out=ea)
            else:
                ea[...] = np.matmul(qa, kt)
            _softmax_rows(ea, ma, keepa, bounds, za, len(sshape) > 2 and self.split)
            ya = y[a:b] if self.split else y
            np.matmul(ea if da is None else ea * da, va, out=ya)
            ya *= za

        self._run(run, n)
        self.e, self.rz, self.qs = e, rz, qs
        self.save_for_backward(q, k, v, y)
        return y

    def _parts(self, nd):
        """``part(a, b, *arrays)``: each array's slice [a:b] along the split axis (whole where it
        is broadcast along it: fewer than ``nd`` dims, or size 1), or the arrays as they are
        when the op is not split."""
        if not self.split:
            return lambda a, b, *xs: xs

        def part(a, b, *xs):
            return tuple(x if x is None or x.ndim < nd or x.shape[0] == 1 else x[a:b] for x in xs)

        return part

    def _run(self, fn, n):
        """``fn(a, b)`` over the split axis: one part per thread, each calling BLAS on its own
        thread (``_blas.parallel_for``), where the scores array is big enough (``big``), else
        one call."""
        if self.threaded:
            _blas.parallel_for(fn, n, parts=num_threads())
        else:
            fn(0, n)

    def backward(self, gy):
        q, k, v, y = self.saved_tensors
        e, rz, drop, qs = self.e, self.rz, self.drop, self.qs
        if 0 in gy.strides and gy.size > 1:
            gy = np.ascontiguousarray(gy)  # a broadcast gradient (from .sum()): BLAS is slow on it
        need = self.needs_grad(0), self.needs_grad(1), self.needs_grad(2)
        gq, gk, gv = (np.empty_like(x) if w else None for x, w in zip((q, k, v), need))
        sc = e.dtype.type(self.scale)
        part = self._parts(e.ndim)
        split = self.split

        def put(out, g, shape, a, b):
            g = unbroadcast(g, shape)
            if split:
                out[a:b] = g
            else:
                out[...] = g

        def run(a, b):
            # with p = e * rz (rows): gv = p^T gy = e^T (gy * rz), and the gradient of the
            # scores ds = p * (dp - rowsum(p * dp)), dp = gy v^T, is e * (gz v^T - gz . y),
            # gz = gy * rz, since rowsum(p * dp)_i = gy_i . y_i
            qa, ka, va, ea, da, gya, ya, za = part(a, b, qs, k, v, e, drop, gy, y, rz)
            gz = gya * za
            if need[2]:
                ed = ea if da is None else ea * da
                put(gv, np.matmul(np.swapaxes(ed, -1, -2), gz), va.shape, a, b)
            if need[0] or need[1]:
                ds = np.matmul(gz, np.ascontiguousarray(np.swapaxes(va, -1, -2)))
                if ds.shape != ea.shape:
                    ds = np.array(np.broadcast_to(ds, np.broadcast_shapes(ds.shape, ea.shape)))
                if da is not None:
                    ds *= da
                ds -= np.einsum("...i,...i->...", gz, ya)[..., None]
                ds *= ea  # the gradient of the scaled scores q k^T * scale:
                if need[0]:  # gq = ds k * scale
                    gqa = np.matmul(ds, ka)
                    gqa *= sc
                    put(gq, gqa, qa.shape, a, b)
                if need[1]:  # gk = ds^T (q * scale)
                    put(gk, np.matmul(np.swapaxes(ds, -1, -2), qa), ka.shape, a, b)

        self._run(run, e.shape[0] if split else 1)
        return gq, gk, gv

    def reference(self, q, k, v):
        """The output recomputed with the reference ops (for create_graph=True)."""
        mask = self.mask
        if mask is not None and mask.dtype != np.bool_:
            mask = _attention.from_op(mask, None)
        return _attention.sdpa_reference(q, k, v, mask, self.scale, self.drop)


# |scores| within which exp needs no shift: exp(60) * 1e12 terms stays below float32's
# largest value, exp(-60) above its smallest normal one (float64: 600)
_SAFE = {np.dtype(np.float32): 60.0, np.dtype(np.float64): 600.0}


def _mask_bounds(mask):
    """(lowest, highest) finite value of a float mask ((0, 0) for none or a boolean one), or
    None where a float mask holds +inf or NaN (then every row takes its maximum)."""
    if mask is None or mask.dtype == np.bool_:
        return 0.0, 0.0
    if np.isnan(mask).any() or np.isposinf(mask).any():
        return None
    finite = mask[np.isfinite(mask)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def _softmax_rows(s, mask, keep, bounds, rz, per_entry):
    """Scores ``s`` (..., L, S) to unnormalised weights in place, and 1 / each row's sum into
    ``rz`` (..., L, 1): masked scores (a boolean ``mask`` True, where ``keep``, its negation
    in s's dtype, is 0; or -inf in a float mask) get weight 0, and a row
    masked everywhere is all zeros (its sum counts as 1). ``per_entry``: decide the shift per
    entry of the first axis (the split one, so that any thread count gives the same numbers),
    else once for all of ``s``."""
    if s.size == 0:
        rz[...] = 1
        return
    safe = _SAFE.get(s.dtype, 60.0)
    blocks = s.reshape(s.shape[0] if per_entry else 1, -1)
    if bounds is None:
        shifted = np.ones(len(blocks), bool)
    else:  # the range of the scores before the mask, widened by the mask's finite range; a NaN
        # score (compares false) takes the shifted path too, where a masked one is dropped
        shifted = ~((blocks.max(axis=1) + bounds[1] <= safe) & (blocks.min(axis=1) + bounds[0] >= -safe))
    if mask is not None and mask.dtype != np.bool_:
        s += mask
    for i in np.flatnonzero(shifted):
        si, mi = (s[i], _entry(mask, i, s.ndim)) if per_entry else (s, mask)
        if mi is not None and mi.dtype == np.bool_:
            np.copyto(si, si.dtype.type(-np.inf), where=mi)
        m = si.max(axis=-1, keepdims=True)
        m[np.isneginf(m)] = 0  # a row masked everywhere: exp gives 0, the sum is set to 1
        with np.errstate(invalid="ignore"):
            si -= m
    np.exp(s, out=s)
    if keep is not None:  # 2x np.copyto(s, 0, where=mask); the scores are finite or -inf here
        s *= keep
    z = rz.reshape(-1)
    z[...] = _blas.row_sums(s.reshape(-1, s.shape[-1]))
    z[z == 0] = 1
    np.reciprocal(z, out=z)


def _entry(mask, i, nd):
    """Entry ``i`` of a mask broadcast against (n, ...) scores of ``nd`` dims."""
    if mask is None or mask.ndim < nd:
        return mask
    return mask[i if mask.shape[0] > 1 else 0]
