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
from ..ops._parallel import parallel_for
from ..ops._util import unbroadcast

__all__ = ["SDPA"]


class SDPA(Function):
    """softmax(q @ k^T * scale + mask) @ v (then dropout on the weights), fused.

    When q, k and v share the first batch axis (the batch of (N, H, L, E) attention), the
    work is split along it over ember's threads, each part doing the whole chain on its
    heads while they are in cache. Forward + backward of the GPT recipe's attention
    ((12, 4, 64, 32), causal, float32, 2 busy cores): about 6 ms against the reference's 9.
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
        sc = q.dtype.type(scale)
        part = self._parts(len(sshape))

        def run(a, b):
            qa, ka, va, pa, ma, da = part(a, b, q, k, v, p, mask, drop)
            if qa.shape[:-2] == ka.shape[:-2] == pa.shape[:-2]:
                np.matmul(qa, np.swapaxes(ka, -1, -2), out=pa)
            else:
                pa[...] = np.matmul(qa, np.swapaxes(ka, -1, -2))
            pa *= sc
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
            pa /= z
            np.matmul(pa if da is None else pa * da, va, out=y[a:b] if self.split else y)

        self._run(run, n, p.size * (q.shape[-1] + v.shape[-1]))
        self.p = p
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

    def _run(self, fn, n, work):
        if self.split:
            parallel_for(fn, n, work=work)
        else:
            fn(0, n)

    def backward(self, gy):
        q, k, v, y = self.saved_tensors
        p, drop = self.p, self.drop
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
            qa, ka, va, pa, da, gya, ya = part(a, b, q, k, v, p, drop, gy, y)
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
                ds *= pa
                ds *= sc
                if need[0]:
                    put(gq, np.matmul(ds, ka), qa.shape, a, b)
                if need[1]:
                    put(gk, np.matmul(np.swapaxes(ds, -1, -2), qa), ka.shape, a, b)

        self._run(run, p.shape[0] if split else 1, p.size * (q.shape[-1] + v.shape[-1]))
        return gq, gk, gv

    def reference(self, q, k, v):
        """The output recomputed with the reference ops (for create_graph=True)."""
        mask = self.mask
        if mask is not None and mask.dtype != np.bool_:
            mask = _attention.from_op(mask, None)
        return _attention.sdpa_reference(q, k, v, mask, self.scale, self.drop)
