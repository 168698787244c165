"""Attention kernel: ``ember.ops.attention.sdpa_reference`` in one op, on arrays.

The reference is six graph nodes (two matmuls, a scale, the mask, softmax, dropout), each
keeping its own (..., L, S) array. ``SDPA`` makes one scores array and turns it into the
probabilities in place (mask written as -inf, max subtracted, exp, normalised), keeps it for
backward, and there makes one more array of that size, the gradient of the probabilities,
turned into the gradient of the scores in place:
    ds = p * (dp - rowsum),  rowsum_i = sum_j p_ij dp_ij = gy_i . out_i
(the second form reads (L, Ev) arrays, not (L, S)). A row masked everywhere gives zeros.
The backward works on arrays only (``dual = False``); ``reference`` recomputes the output
with the reference ops, which higher-order gradients differentiate.
The GPT step of issue #22 (4 heads, context 64) runs attention in every block, forward and back.
"""
import numpy as np

from ..autograd import Function
from ..ops import attention as _attention  # (a module: it imports this one)
from ..ops._parallel import num_threads
from . import _blas
from ..ops._util import unbroadcast

__all__ = ["SDPA"]


class SDPA(Function):
    """softmax(q @ k^T * scale + mask) @ v (then dropout on the weights), fused.

    When q, k and v share the first batch axis (the batch of (N, H, L, E) attention), the
    work is split along it into one part per thread, each doing the whole chain on its heads
    with BLAS on its own thread. Forward + backward, causal, float32, 2 cores, split against
    one call: (12, 4, 64, 32) (the GPT recipe's) 1.8 against 1.8 ms, (12, 4, 128, 32) 4.5
    against 7.1, (16, 8, 256, 64) 67 against 87; split with BLAS also threaded was slower
    than one call at every size (2.6, 7.9, 102 ms).
    """

    def forward(self, q, k, v, mask, scale, drop):
        self.mask, self.scale, self.drop = mask, scale, drop
        bshape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        sshape = bshape + (q.shape[-2], k.shape[-2])
        if mask is not None:
            sshape = np.broadcast_shapes(sshape, mask.shape)
        n = sshape[0] if len(sshape) > 2 else 1
        self.split = n > 1 and q.ndim == k.ndim == v.ndim == len(sshape) and q.shape[0] == k.shape[0] == v.shape[0] == n
        p = np.empty(sshape, q.dtype)
        y = np.empty(sshape[:-1] + (v.shape[-1],), q.dtype)
        qs = q * q.dtype.type(scale)  # the scale on q (L x E) rather than on the scores (L x S)
        part = self._parts(len(sshape))

        def run(a, b):
            qa, ka, va, pa, ma, da = part(a, b, qs, k, v, p, mask, drop)
            if qa.shape[:-2] == ka.shape[:-2] == pa.shape[:-2]:
                np.matmul(qa, np.swapaxes(ka, -1, -2), out=pa)
            else:
                pa[...] = np.matmul(qa, np.swapaxes(ka, -1, -2))
            if ma is not None:
                if ma.dtype == np.bool_:
                    np.copyto(pa, pa.dtype.type(-np.inf), where=ma)
                else:
                    pa += ma
            m = pa.max(axis=-1, keepdims=True)
            m[np.isneginf(m)] = 0  # a row masked everywhere: exp gives 0, the sum is set to 1
            with np.errstate(invalid="ignore"):
                pa -= m
            np.exp(pa, out=pa)
            z = pa.sum(axis=-1, keepdims=True)
            z[z == 0] = 1
            pa *= np.reciprocal(z, out=z)
            np.matmul(pa if da is None else pa * da, va, out=y[a:b] if self.split else y)

        self._run(run, n)
        self.p, self.qs = p, qs
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
        thread (``_blas.parallel_for``), else one call."""
        if self.split:
            _blas.parallel_for(fn, n, parts=num_threads())
        else:
            fn(0, n)

    def backward(self, gy):
        q, k, v, y = self.saved_tensors
        p, drop, qs = self.p, self.drop, self.qs
        if 0 in gy.strides and gy.size > 1:
            gy = np.ascontiguousarray(gy)  # a broadcast gradient (from .sum()): BLAS is slow on it
        need = self.needs_grad(0), self.needs_grad(1), self.needs_grad(2)
        gq, gk, gv = (np.empty_like(x) if w else None for x, w in zip((q, k, v), need))
        sc = p.dtype.type(self.scale)
        part = self._parts(p.ndim)
        split = self.split

        def put(out, g, shape, a, b):
            g = unbroadcast(g, shape)
            if split:
                out[a:b] = g
            else:
                out[...] = g

        def run(a, b):
            qa, ka, va, pa, da, gya, ya = part(a, b, qs, k, v, p, drop, gy, y)
            if need[2]:
                pd = pa if da is None else pa * da
                put(gv, np.matmul(np.swapaxes(pd, -1, -2), gya), va.shape, a, b)
            if need[0] or need[1]:
                ds = np.matmul(gya, np.swapaxes(va, -1, -2))  # the gradient of the weights, then of the scores
                if ds.shape != pa.shape:
                    ds = np.array(np.broadcast_to(ds, np.broadcast_shapes(ds.shape, pa.shape)))
                if da is not None:
                    ds *= da
                ds -= (gya * ya).sum(axis=-1, keepdims=True)
                ds *= pa  # the gradient of the scaled scores q k^T * scale:
                if need[0]:  # gq = ds k * scale
                    gqa = np.matmul(ds, ka)
                    gqa *= sc
                    put(gq, gqa, qa.shape, a, b)
                if need[1]:  # gk = ds^T (q * scale)
                    put(gk, np.matmul(np.swapaxes(ds, -1, -2), qa), ka.shape, a, b)

        self._run(run, p.shape[0] if split else 1)
        return gq, gk, gv

    def reference(self, q, k, v):
        """The output recomputed with the reference ops (for create_graph=True)."""
        mask = self.mask
        if mask is not None and mask.dtype != np.bool_:
            mask = _attention.from_op(mask, None)
        return _attention.sdpa_reference(q, k, v, mask, self.scale, self.drop)
