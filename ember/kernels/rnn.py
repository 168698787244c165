"""LSTM kernel: one layer and direction of ``ember.nn.rnn.lstm_step``'s loop in one op, on arrays.

The reference runs ``lstm_step`` once per time step with ember ops: about a dozen graph nodes
a step, each keeping its own small array, and a backward that walks them all and makes the
(4H, H) gradient of ``weight_hh`` once per step, summed T times. ``LSTMSequence`` runs the
same math with NumPy on preallocated per-sequence buffers.

It works feature-major: a step's gates are one (4H, n) block, gate by gate (H, n) blocks that
are each contiguous, and the states are (H, B). Measured at the recipe's size (hidden 256,
batch 32, 2 threads): OpenBLAS runs ``W_hh @ h.T`` into a (4H, n) result faster than
``h @ W_hh.T`` into (n, 4H) (103-113 vs 140-180 us), and NumPy's elementwise ops run 1.5-3x
faster on a contiguous (H, n) block than on the same numbers as a column slice of (n, 4H)
rows (1.6 vs 3.6 us for a negation). Rows meet blocks where the module passes them in and
out: the output rows are copied from each step's block, the fast direction of a transpose
(6 us; the output stays (N, P) rows so that the ops after the module see contiguous rows),
while the input rows are read by the GEMMs in place.

* forward, per step: the input projection and the bias, ``[W_ih | b] @ [x | 1].T``, one GEMM
  straight into the step's gate block, then ``W_hh @ h`` added by a GEMM with beta = 1
  (``_blas.gemm``); the gate activations in place (sigmoid on i, f, o; tanh on g);
  ``c = f * c + i * g`` and ``h = o * tanh(c)`` into the state buffers. (An earlier version
  made the projection of CHUNK steps in one GEMM and added the bias to each step's columns of
  it: that strided, broadcast add cost about as much as the step's own GEMM; forward of the
  benchmark's 2-layer LSTM 28.9 -> 26.7 ms, median of 6 alternating runs.)
* backward, per step: the gate gradients into one (4H, n) block, one GEMM ``W_hh.T @ dgates``
  (with ``W_hh.T`` stored: 119 against 179 us) for the previous hidden state; the block goes
  into a CHUNK-step buffer, and per chunk one GEMM each for ``dW_ih``, ``dW_hh``, the bias and
  the input's gradient (``dW_hr``, with a projection, is summed step by step).

2-layer LSTM step of the benchmark (input 64, hidden 256, sequence 64, batch 32, Adam), 2
threads, quiet machine: 87-90 ms against PyTorch's 59 (oneDNN's fused LSTM), 1.48-1.53x; the
earlier row-major kernel took 92-94 (1.57-1.62x). GEMMs are two thirds of ember's step.

Rows are packed time-major as in ``RNNBase._direction``: step t owns rows
``[offset_t, offset_t + batch_sizes[t])``, and the state buffers keep all B columns, so sequences
that ended (forward) or have not started (reverse) simply keep their state. The backward runs
on arrays; with ``create_graph=True`` it differentiates the reference loop instead.
"""
import numpy as np

from ..autograd.function import Function, is_grad_enabled
from .._tensor_base import from_op
from ..ops.elementwise import sigmoid_into
from ._blas import gemm

__all__ = ["LSTMSequence"]

CHUNK = 16  # steps whose gate gradients (backward) share one GEMM per weight gradient


def _with_bias(w, x, b):
    """(W, X) with W @ X.T = w @ x.T + b: the bias as one more column of w against a column of
    ones beside x's rows, so that a step's input projection and bias are one GEMM's output."""
    if b is None:
        return w, x
    wx = np.empty((w.shape[0], w.shape[1] + 1), w.dtype)
    wx[:, :-1], wx[:, -1] = w, b
    xa = np.empty((x.shape[0], x.shape[1] + 1), w.dtype)
    xa[:, :-1], xa[:, -1] = x, 1
    return wx, xa


def _chunk_rows(steps, offsets, k):
    """The rows [r0, r1) of the CHUNK steps run from position ``k`` of ``steps``: one range,
    since they are consecutive in time."""
    ts = [steps[j] for j in range(k, min(k + CHUNK, len(steps)))]
    return offsets[min(ts)], offsets[max(ts) + 1]


class LSTMSequence(Function):
    """(output rows (N, P), h_n (B, P), c_n (B, H)) from the input rows ``x`` (N, F), ``w_ih``
    (4H, F), the summed biases ``bias`` (4H,) or None, the initial state ``h0`` (B, P), ``c0``
    (B, H), ``w_hh`` (4H, P) and ``w_hr`` (P, H) or None; P is proj_size or H. The input's
    gradient is the transpose of a feature-major (F, N) array, which the layer below reads as
    it is."""

    @staticmethod
    def forward(ctx, x, w_ih, bias, h0, c0, w_hh, w_hr, batch_sizes, reverse):
        xd, wih, whh = x._data, w_ih._data, w_hh._data
        whr = None if w_hr is None else w_hr._data
        H, P, dt = c0.shape[1], h0.shape[1], whh.dtype
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        N = offsets[-1]
        wx, xa = _with_bias(wih, xd, None if bias is None else bias._data)
        # per step t, feature-major blocks of n_t columns: the activated gates (4H, n), the cell
        # state before the step and tanh of the one after (H, n), o * tanh(c) if projected
        gates, c_prev, tanh_c = np.empty(4 * H * N, dt), np.empty(H * N, dt), np.empty(H * N, dt)
        m_all = None if whr is None else np.empty(H * N, dt)
        h_prevT = np.empty((P, N), dt)  # column block t: step t's h before the step, for dW_hh's one GEMM
        out = np.empty((N, P), dt)
        hT, cT = h0._data.T.copy(), c0._data.T.copy()  # (P, B), (H, B); updated in place
        ig = np.empty(H * hT.shape[1], dt)
        steps = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        with np.errstate(over="ignore", under="ignore"):
            for k, t in enumerate(steps):
                a, b = offsets[t], offsets[t + 1]
                n = b - a
                g = gates[4 * H * a:4 * H * b].reshape(4 * H, n)
                hp, cp = hT[:, :n], cT[:, :n]
                np.copyto(h_prevT[:, a:b], hp)
                np.copyto(c_prev[H * a:H * b].reshape(H, n), cp)
                gemm(wx, xa[a:b].T, g)  # W_ih @ x.T + bias, straight into the step's gate block
                gemm(whh, hp, g, accumulate=True)  # + W_hh @ h, in the GEMM's own pass
                i, f, gg, o = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
                sigmoid_into(g[:2 * H], g[:2 * H])
                np.tanh(gg, out=gg)
                sigmoid_into(o, o)
                igv = ig[:H * n].reshape(H, n)
                np.multiply(i, gg, out=igv)  # c = f * c + i * g
                cp *= f
                cp += igv
                tc = tanh_c[H * a:H * b].reshape(H, n)
                np.tanh(cp, out=tc)
                if whr is None:
                    np.multiply(o, tc, out=hp)  # h = o * tanh(c)
                else:
                    mv = m_all[H * a:H * b].reshape(H, n)
                    np.multiply(o, tc, out=mv)
                    gemm(whr, mv, hp)  # h = W_hr @ (o * tanh(c))
                np.copyto(out[a:b], hp.T)  # the fast direction of a transpose
        ctx.save_for_backward(x, w_ih, bias, h0, c0, w_hh, w_hr)
        ctx.arrays = gates, c_prev, tanh_c, m_all, h_prevT
        ctx.batch_sizes, ctx.offsets, ctx.reverse = batch_sizes, offsets, reverse
        return (from_op(out, None), from_op(np.ascontiguousarray(hT.T), None),
                from_op(np.ascontiguousarray(cT.T), None))

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if is_grad_enabled():  # create_graph=True: the reference loop, differentiated
            return _reference_grads(ctx, (g_out, g_h, g_c))
        x, w_ih, bias, h0, c0, w_hh, w_hr = ctx.saved_tensors
        gates, c_prev, tanh_c, m_all, h_prevT = ctx.arrays
        offsets, whh = ctx.offsets, w_hh._data
        whh_t = np.ascontiguousarray(whh.T)  # W_hh.T @ d runs 1.5x faster with W_hh.T stored (119 vs 179 us)
        whr = None if w_hr is None else w_hr._data
        H, dt = c0.shape[1], gates.dtype
        B, N = h0.shape[0], offsets[-1]
        doutT = np.ascontiguousarray(g_out._data.T)  # no copy when it came from the layer above
        need = ctx.needs_input_grad
        wih, xd = w_ih._data, x._data
        F = wih.shape[1]
        # the weights' and the input's gradients, summed over chunks of CHUNK steps: a chunk's
        # gate gradients are the columns of one (4H, rows) array, one GEMM each per chunk
        g_xT = np.empty((F, N), dt) if need[0] else None
        g_wih = np.zeros(wih.shape, dt) if need[1] else None
        g_b = np.zeros((4 * H, 1), dt) if need[2] else None
        g_whh = np.zeros(whh.shape, dt) if need[5] else None
        chunk, ones = np.empty((4 * H, CHUNK * B), dt), np.ones((CHUNK * B, 1), dt)

        def flush(r0, r1):
            D = chunk[:, :r1 - r0]
            if g_xT is not None:
                gemm(wih.T, D, g_xT[:, r0:r1])
            if g_wih is not None:
                gemm(D, xd[r0:r1], g_wih, accumulate=True)
            if g_b is not None:
                gemm(D, ones[:r1 - r0], g_b, accumulate=True)
            if g_whh is not None:
                gemm(D, h_prevT[:, r0:r1].T, g_whh, accumulate=True)
        dhT, dcT = g_h._data.T.copy(), g_c._data.T.copy()  # (P, B), (H, B); updated in place
        dblock, s2 = np.empty(4 * H * B, dt), np.empty(2 * H * B, dt)  # one step's (4H, n), (2H, n)
        s, dm_buf = np.empty(H * B, dt), None if whr is None else np.empty(H * B, dt)
        g_whr = None if whr is None else np.zeros(whr.shape, dt)
        T = len(ctx.batch_sizes)
        steps = range(T) if ctx.reverse else range(T - 1, -1, -1)
        for k, t in enumerate(steps):
            a, b = offsets[t], offsets[t + 1]
            n = b - a
            if k % CHUNK == 0:
                r0, r1 = _chunk_rows(steps, offsets, k)
            g = gates[4 * H * a:4 * H * b].reshape(4 * H, n)
            tc = tanh_c[H * a:H * b].reshape(H, n)
            d, sv, s2v = dblock[:4 * H * n].reshape(4 * H, n), s[:H * n].reshape(H, n), s2[:2 * H * n].reshape(2 * H, n)
            dhp, dcp = dhT[:, :n], dcT[:, :n]
            dhp += doutT[:, a:b]  # the whole gradient of this step's h
            if whr is None:
                dm = dhp
            else:
                mv = m_all[H * a:H * b].reshape(H, n)
                gemm(dhp, mv.T, g_whr, accumulate=True)
                dm = gemm(whr.T, dhp, dm_buf[:H * n].reshape(H, n))
            i, f, gg, o = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
            np.multiply(dm, tc, out=d[3 * H:])  # d o
            np.multiply(tc, tc, out=sv)  # dc += dm * o * (1 - tanh(c)^2)
            np.subtract(1, sv, out=sv)
            sv *= o
            sv *= dm
            dcp += sv
            np.multiply(dcp, gg, out=d[:H])  # d i
            np.multiply(dcp, c_prev[H * a:H * b].reshape(H, n), out=d[H:2 * H])  # d f
            np.multiply(dcp, i, out=d[2 * H:3 * H])  # d g
            dcp *= f  # the gradient of the previous c
            np.subtract(1, g[:2 * H], out=s2v)  # through the activations: sigmoid' = y (1 - y), tanh' = 1 - y^2
            s2v *= g[:2 * H]
            d[:2 * H] *= s2v
            np.subtract(1, o, out=sv)
            sv *= o
            d[3 * H:] *= sv
            np.multiply(gg, gg, out=sv)
            np.subtract(1, sv, out=sv)
            d[2 * H:3 * H] *= sv
            gemm(whh_t, d, dhp)  # the gradient of the previous h
            np.copyto(chunk[:, a - r0:b - r0], d)
            if k % CHUNK == CHUNK - 1 or k == T - 1:
                flush(r0, r1)
        g_x = None if g_xT is None else g_xT.T
        g_b = None if g_b is None else g_b[:, 0]
        dh, dc = np.ascontiguousarray(dhT.T), np.ascontiguousarray(dcT.T)
        return (g_x, g_wih, g_b, dh if need[3] else None, dc if need[4] else None, g_whh,
                g_whr if need[6] else None, None, None)


def _reference_grads(ctx, grads):
    """The gradients with a graph: the reference loop run again on the inputs, differentiated."""
    from ..autograd import grad
    from ..nn.rnn import lstm_reference
    from ..ops.layers import linear

    inputs = ctx.saved_tensors
    x, w_ih, bias, h0, c0, w_hh, w_hr = inputs
    outs = lstm_reference(linear(x, w_ih, bias), h0, c0, w_hh, w_hr, ctx.batch_sizes, ctx.reverse)
    want = [k for k, t in enumerate(inputs) if t is not None and t.requires_grad]
    gs = grad(list(outs), [inputs[k] for k in want], list(grads), create_graph=True, allow_unused=True)
    res = [None] * 9
    for k, g in zip(want, gs):
        res[k] = g
    return tuple(res)
