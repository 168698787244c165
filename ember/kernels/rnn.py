"""LSTM kernel: one layer and direction of ``ember.nn.rnn.lstm_step``'s loop in one op, on arrays.

The reference runs ``lstm_step`` once per time step with ember ops: about a dozen graph nodes
a step, each keeping its own small array, and a backward that walks them all and makes the
(4H, H) gradient of ``weight_hh`` once per step, summed T times. ``LSTMSequence`` runs the
same math with NumPy on preallocated per-sequence buffers:

* forward, per step: one GEMM ``h @ W_hh.T`` written into the step's rows of the gate buffer,
  the input projection added, the gate activations in place (sigmoid on i, f, o; tanh on g),
  then ``c = f * c + i * g`` and ``h = o * tanh(c)`` into the state buffers;
* backward, per step: the gate gradients into one (N, 4H) buffer and one GEMM
  ``dgates @ W_hh`` for the previous hidden state; after the loop, ONE GEMM over all steps
  for ``dW_hh = dgates.T @ h_prev`` (and one for ``dW_hr``).

Rows are packed time-major as in ``RNNBase._direction``: step t owns rows
``[offset_t, offset_t + batch_sizes[t])``, and the state buffers keep all B rows, so sequences
that ended (forward) or have not started (reverse) simply keep their state. The backward runs
on arrays; with ``create_graph=True`` it differentiates the reference loop instead.
"""
import numpy as np

from ..autograd.function import Function, is_grad_enabled
from .._tensor_base import from_op
from ..ops.elementwise import sigmoid_array

__all__ = ["LSTMSequence"]


class LSTMSequence(Function):
    """(output rows (N, P), h_n (B, P), c_n (B, H)) from the input projection ``gi`` (N, 4H)
    (biases included), the initial state ``h0`` (B, P), ``c0`` (B, H), ``w_hh`` (4H, P) and
    ``w_hr`` (P, H) or None; P is proj_size or H."""

    @staticmethod
    def forward(ctx, gi, h0, c0, w_hh, w_hr, batch_sizes, reverse):
        x, whh = gi._data, w_hh._data
        whr = None if w_hr is None else w_hr._data
        H = c0.shape[1]
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        N = offsets[-1]
        gates = np.empty_like(x)  # the activated gates i, f, g, o of every row
        c_prev = np.empty((N, H), x.dtype)
        tanh_c = np.empty((N, H), x.dtype)
        m = np.empty((N, H), x.dtype)  # o * tanh(c): the output before the projection
        h_prev = np.empty((N, h0.shape[1]), x.dtype)
        out = m if whr is None else np.empty((N, whr.shape[0]), x.dtype)
        h, c = h0._data.copy(), c0._data.copy()
        hh = np.empty((whh.shape[0], h.shape[0]), x.dtype)  # W_hh @ h.T: (4H, B)
        steps = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        for t in steps:
            a, b = offsets[t], offsets[t + 1]
            n = b - a
            g, hp, cp = gates[a:b], h[:n], c[:n]
            h_prev[a:b] = hp
            c_prev[a:b] = cp
            # h @ W_hh.T, computed as (W_hh @ h.T).T: OpenBLAS runs the (4H, P) @ (P, n) shape
            # 1.6x faster than (n, P) @ (P, 4H) at the recipe's n = 32, and the copy back is cheap
            np.matmul(whh, hp.T, out=hh[:, :n])
            np.add(hh[:, :n].T, x[a:b], out=g)
            sigmoid_array(g[:, :2 * H], out=g[:, :2 * H])
            np.tanh(g[:, 2 * H:3 * H], out=g[:, 2 * H:3 * H])
            sigmoid_array(g[:, 3 * H:], out=g[:, 3 * H:])
            ig = g[:, :H] * g[:, 2 * H:3 * H]
            cp *= g[:, H:2 * H]  # c = f * c + i * g
            cp += ig
            tc = tanh_c[a:b]
            np.tanh(cp, out=tc)
            np.multiply(g[:, 3 * H:], tc, out=m[a:b])  # h = o * tanh(c)
            if whr is not None:
                np.matmul(m[a:b], whr.T, out=out[a:b])
            hp[...] = out[a:b]
        ctx.save_for_backward(gi, h0, c0, w_hh, w_hr)
        ctx.arrays = gates, c_prev, tanh_c, m, h_prev
        ctx.batch_sizes, ctx.offsets, ctx.reverse = batch_sizes, offsets, reverse
        return from_op(out, None), from_op(h, None), from_op(c, None)

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if is_grad_enabled():  # create_graph=True: the reference loop, differentiated
            return _reference_grads(ctx, (g_out, g_h, g_c))
        gi, h0, c0, w_hh, w_hr = ctx.saved_tensors
        gates, c_prev, tanh_c, m, h_prev = ctx.arrays
        offsets, whh = ctx.offsets, w_hh._data
        whr = None if w_hr is None else w_hr._data
        H = c0.shape[1]
        dgates = np.empty_like(gates)
        dout = g_out._data
        dh, dc = g_h._data.copy(), g_c._data.copy()
        dh_all = None if whr is None else np.empty_like(dout)
        T = len(ctx.batch_sizes)
        steps = range(T) if ctx.reverse else range(T - 1, -1, -1)
        for t in steps:
            a, b = offsets[t], offsets[t + 1]
            n = b - a
            g, d, tc, dhp, dcp = gates[a:b], dgates[a:b], tanh_c[a:b], dh[:n], dc[:n]
            dhp += dout[a:b]  # the whole gradient of this step's h
            if whr is None:
                dm = dhp
            else:
                dh_all[a:b] = dhp
                dm = dhp @ whr
            i, f, gg, o = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            np.multiply(dm, tc, out=d[:, 3 * H:])  # d o
            s = tc * tc  # dc += dm * o * (1 - tanh(c)^2)
            np.subtract(1, s, out=s)
            s *= o
            s *= dm
            dcp += s
            np.multiply(dcp, gg, out=d[:, :H])  # d i
            np.multiply(dcp, c_prev[a:b], out=d[:, H:2 * H])  # d f
            np.multiply(dcp, i, out=d[:, 2 * H:3 * H])  # d g
            dcp *= f  # the gradient of the previous c
            s = 1 - g[:, :2 * H]  # through the activations: sigmoid' = y (1 - y), tanh' = 1 - y^2
            s *= g[:, :2 * H]
            d[:, :2 * H] *= s
            s = 1 - o
            s *= o
            d[:, 3 * H:] *= s
            s = gg * gg
            np.subtract(1, s, out=s)
            d[:, 2 * H:3 * H] *= s
            np.matmul(d, whh, out=dhp)  # the gradient of the previous h
        need = ctx.needs_input_grad
        g_whh = dgates.T @ h_prev if need[3] else None  # every step's share in one GEMM
        g_whr = dh_all.T @ m if whr is not None and need[4] else None
        return (dgates if need[0] else None, dh if need[1] else None, dc if need[2] else None,
                g_whh, g_whr, None, None)


def _reference_grads(ctx, grads):
    """The gradients with a graph: the reference loop run again on the inputs, differentiated."""
    from ..autograd import grad
    from ..nn.rnn import lstm_reference

    inputs = ctx.saved_tensors
    gi, h0, c0, w_hh, w_hr = inputs
    outs = lstm_reference(gi, h0, c0, w_hh, w_hr, ctx.batch_sizes, ctx.reverse)
    want = [k for k, t in enumerate(inputs) if t is not None and t.requires_grad]
    gs = grad(list(outs), [inputs[k] for k in want], list(grads), create_graph=True, allow_unused=True)
    res = [None] * 7
    for k, g in zip(want, gs):
        res[k] = g
    return tuple(res)
