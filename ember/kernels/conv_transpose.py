"""Transposed-convolution kernel: ``ember.ops.conv.conv_transpose_reference`` in 2-D (and 1-D
as 2-D with a height of 1), rearranged for speed, on arrays.

The reference multiplies cols = W^T x, one column per input pixel, then folds the columns onto
the output with one strided add per kernel offset, each over the whole output (for a 4x4
kernel, sixteen passes over an output larger than the cache); its backward unfolds gy and
multiplies twice. This kernel computes the same sums as *sub-pixel* convolutions:

Along an axis with stride s and dilation d, kernel offset i adds input pixel m onto (padded)
output position i d + s m = s (o_i + m) + a_i, with phase a_i = (i d) mod s and shift
o_i = (i d) // s. So the outputs of one phase a (every s-th position) form an ordinary
stride-1 correlation of the input with the taps of that phase, reversed:

    P_a[u] = sum over taps i of phase a of x[u - o_i] w_i = sum_j xpad[u + j] W'[a, j],
    W'[a, j] = w_i where o_i = L - j (zero where no tap), L = max o_i, xpad = x shifted by L,

and y is the s phases woven together (position s u + a), cropped by the padding. In 2-D the
s_h s_w phases and all output channels are the rows of one matrix W' (s_h s_w C_out, J_h J_w
C_in), and the columns are the J_h J_w shifted copies of the input (J = L + 1): one GEMM per
block of samples gives every phase plane at once, with no adds at all (for a 4x4 kernel with
stride 2, the common upsampling layer, every slot of W' is a tap: the same multiplies as the
reference). The backward is the same products transposed: gP = gy unwoven into phase planes,
gW' = gP cols^T, gcols = W'^T gP folded back onto the input with J_h J_w shifted adds.

Blocks of whole samples run on ember's threads (BLAS single-threaded on each), their columns
made and consumed in cache. ``reference`` recomputes y with the reference ops, which
higher-order gradients differentiate. Justified by the ``upsampling`` workload of
``python -m benchmarks``; the figures are in ``ConvTranspose2dFunction``'s docstring.
"""
import functools

import numpy as np

from ..autograd import Function
from ..ops._parallel import parallel_for
from ..ops.conv import conv_transpose_reference
from . import _blas

__all__ = ["ConvTranspose2dFunction", "conv_transpose2d", "pays", "takes"]

_BLOCK_PIXELS = 4096  # phase-plane pixels of a block of samples: its GEMMs' long side


class _Axis:
    """One spatial axis of the sub-pixel form: taps by phase, the planes' extent, the weave.
    Equal axes (the same arguments) compare and hash equal."""

    def __init__(self, k, s, d, p, n_in, n_out):
        self.key = k, s, d, p, n_in, n_out
        self.s = s
        shifts = [i * d // s for i in range(k)]
        self.span = span = max(shifts) + 1  # J: W''s window along this axis
        # (phase, column of W') of every tap
        self.taps = [(i * d % s, span - 1 - o) for i, o in zip(range(k), shifts)]
        # the plane positions u that reach the output, s u + a - p in [0, n_out)
        self.u_lo = p // s
        self.length = -(-(n_out + p) // s) - self.u_lo  # U
        # xpad: x placed at ``off`` in a zero buffer of length U + J - 1 (negative: x cropped)
        self.off = span - 1 - self.u_lo
        self.padded = self.length + span - 1
        self.src = slice(max(0, -self.off), min(n_in, self.padded - self.off))
        self.dst = slice(self.src.start + self.off, self.src.stop + self.off)
        # (phase, output positions, plane positions) for the weave
        self.picks = []
        for a in range(s):
            r0 = (a - p) % s
            count = len(range(r0, n_out, s))
            if count:
                u0 = (r0 + p - a) // s - self.u_lo
                self.picks.append((a, slice(r0, None, s), slice(u0, u0 + count)))

    def __eq__(self, other):
        return isinstance(other, _Axis) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


@functools.lru_cache(maxsize=64)
def _weight_positions(shape, groups, rows, cols):
    """Where each element of w (C_in, C_out/G, kh, kw), flattened, sits in W' (G, sh, sw,
    C_out/G, Jh, Jw, C_in/G), flattened: W'.flat[pos] = w.flat and gw.flat = gW'.flat[pos]."""
    cin, cout_g, kh, kw = shape
    cin_g = cin // groups
    ci, co, i, j = np.meshgrid(np.arange(cin), np.arange(cout_g), np.arange(kh), np.arange(kw), indexing="ij")
    a, jh = (np.array(t)[i] for t in zip(*rows.taps))
    e, jw = (np.array(t)[j] for t in zip(*cols.taps))
    g, c = ci // cin_g, ci % cin_g
    dims = (groups, rows.s, cols.s, cout_g, rows.span, cols.span, cin_g)
    pos = np.ravel_multi_index((g, a, e, co, jh, jw, c), dims).ravel()
    pos.flags.writeable = False
    return pos, dims


class ConvTranspose2dFunction(Function):
    """y = conv_transpose(x, w) + b on (N, C_in, H, W) with w (C_in, C_out / G, kh, kw), as
    sub-pixel convolutions (see the module's docstring); ``pads`` ((top, bottom), (left,
    right)) as the reference's, ``output_padding`` a pair.

    Measured on 2 cores against the reference, ``ConvTranspose2d(64, 32, 4, stride=2,
    padding=1)`` on (16, 64, 32, 32), forward + backward: see the ``upsampling`` benchmark.
    """

    def forward(self, x, w, b=None, *, stride, pads, output_padding, dilation, groups):
        n, cin, h, wd = x.shape
        _, cout_g, kh, kw = w.shape
        (sh, sw), (dh, dw), ((pt, _), (pl, _)) = stride, dilation, pads
        oh = (h - 1) * sh - 2 * pt + dh * (kh - 1) + output_padding[0] + 1
        ow = (wd - 1) * sw - 2 * pl + dw * (kw - 1) + output_padding[1] + 1
        self.params = stride, pads, output_padding, dilation, groups
        self.rows = rows = _Axis(kh, sh, dh, pt, h, oh)
        self.cols = cols = _Axis(kw, sw, dw, pl, wd, ow)
        self.w, self.xshape = w, x.shape
        self.pos, dims = _weight_positions(tuple(w.shape), groups, rows, cols)
        wp = np.zeros(dims, w.dtype)
        wp.ravel()[self.pos] = w.ravel()
        self.wp = wp = wp.reshape(groups, sh * sw * cout_g, -1)  # W' per group
        # x as (C_in, N, rows, cols), shifted and zero-padded to the columns' source
        xpad = np.empty((cin, n, rows.padded, cols.padded), x.dtype)
        xc = x.transpose(1, 0, 2, 3)

        def place(s, e):
            xpad[s:e] = 0
            xpad[s:e, :, rows.dst, cols.dst] = xc[s:e, :, rows.src, cols.src]

        parallel_for(place, cin, work=xpad.size)
        self.xpad = xpad
        y = np.empty((n, cout_g * groups, oh, ow), x.dtype)
        bias = None if b is None else b.reshape(groups, cout_g, 1, 1)
        samples = self._samples(n)

        def run(p, q):
            for s0, s1 in samples[p:q]:
                cm = self._columns(s0, s1)  # (G, Jh Jw C_in/G, nb U V)
                planes = np.matmul(wp, cm).reshape(groups, sh, sw, cout_g, s1 - s0, rows.length, cols.length)
                self._weave(y[s0:s1], planes, bias)

        _blas.parallel_for(run, len(samples), work=wp.size * n)
        return y

    def _samples(self, n):
        """Blocks of whole samples, about ``_BLOCK_PIXELS`` plane pixels each: a cut that depends
        on the shape alone, so that the weight gradient summed over blocks is the same number
        on any number of threads."""
        nb = max(1, min(n, _BLOCK_PIXELS // (self.rows.length * self.cols.length)))
        return [(s, min(n, s + nb)) for s in range(0, n, nb)]

    def _columns(self, s0, s1):
        """The Jh Jw shifted copies of samples [s0, s1) of the padded input, (G, Jh Jw C_in/G,
        nb U V): row (jh, jw, c) of group g at plane position (u, v) is xpad[c, u + jh, v + jw]."""
        rows, cols, groups = self.rows, self.cols, self.params[4]
        cin = self.xpad.shape[0]
        nb, (u, v) = s1 - s0, (rows.length, cols.length)
        src = self.xpad[:, s0:s1].reshape(groups, cin // groups, nb, rows.padded, cols.padded)
        cm = np.empty((groups, rows.span, cols.span, cin // groups, nb, u, v), self.xpad.dtype)
        for jh in range(rows.span):
            for jw in range(cols.span):
                np.copyto(cm[:, jh, jw], src[..., jh:jh + u, jw:jw + v])
        return cm.reshape(groups, -1, nb * u * v)

    def _weave(self, y, planes, bias):
        """y (nb, C_out, OH, OW) from phase planes (G, sh, sw, C_out/G, nb, U, V), cropped, + bias."""
        g, _, _, cout_g = planes.shape[:4]
        out = y.reshape(y.shape[0], g, cout_g, *y.shape[2:])
        for a, ry, ru in self.rows.picks:
            for e, cy, cu in self.cols.picks:
                src = planes[:, a, e, :, :, ru, cu].transpose(2, 0, 1, 3, 4)  # (nb, G, C_out/G, ...)
                dst = out[:, :, :, ry, cy]
                if bias is None:
                    np.copyto(dst, src)
                else:
                    np.add(src, bias, out=dst)

    def backward(self, gy):
        w, wp, xpad, rows, cols = self.w, self.wp, self.xpad, self.rows, self.cols
        (sh, sw), groups = self.params[0], self.params[4]
        cin, cout_g = w.shape[:2]
        n = gy.shape[0]
        u, v = rows.length, cols.length
        has_bias = len(self.inputs) > 2
        want_x, want_w = self.needs_grad(0), self.needs_grad(1)
        gx = gw = gb = None
        if has_bias and self.needs_grad(2):
            gb = gy.sum(axis=(0, 2, 3))
        if want_x or want_w:
            samples = self._samples(n)
            gx = np.empty((n, cin, *self.xshape[2:]), gy.dtype) if want_x else None
            # one weight-gradient accumulator per block of samples, summed in order after
            # (as gW'^T: cols @ gP^T runs 1.1x faster than gP @ cols^T on OpenBLAS)
            gws = np.empty((len(samples), groups, wp.shape[2], wp.shape[1]), gy.dtype) if want_w else None
            gyv = gy.reshape(n, groups, cout_g, *gy.shape[2:])

            def run(p, q):
                for k in range(p, q):
                    s0, s1 = samples[k]
                    nb = s1 - s0
                    gp = np.zeros((groups, sh, sw, cout_g, nb, u, v), gy.dtype)
                    for a, ry, ru in rows.picks:
                        for e, cy, cu in cols.picks:
                            np.copyto(gp[:, a, e, :, :, ru, cu], gyv[s0:s1, :, :, ry, cy].transpose(1, 2, 0, 3, 4))
                    gp = gp.reshape(groups, sh * sw * cout_g, nb * u * v)
                    if want_w:
                        cm = self._columns(s0, s1)
                        np.matmul(cm, gp.transpose(0, 2, 1), out=gws[k])
                    if want_x:
                        gc = np.matmul(wp.transpose(0, 2, 1), gp)  # (G, Jh Jw C_in/G, nb U V)
                        self._fold(gc, gx[s0:s1])

            _blas.parallel_for(run, len(samples), work=wp.size * n)
            if want_w:
                gwp = (gws[0] if len(gws) == 1 else gws.sum(axis=0)).transpose(0, 2, 1)
                gw = np.ascontiguousarray(gwp).ravel()[self.pos].reshape(w.shape)
        self.xpad = None
        return (gx, gw, gb) if has_bias else (gx, gw)

    def _fold(self, gc, gx):
        """gx (nb, C_in, H, W) = the adjoint of ``_columns``: each shifted copy added back onto
        the padded input, then cropped (input positions outside the buffer, where the padding
        exceeds the kernel, reached no output: their gradient is zero)."""
        rows, cols, groups = self.rows, self.cols, self.params[4]
        nb, cin = gx.shape[:2]
        u, v = rows.length, cols.length
        gc = gc.reshape(groups, rows.span, cols.span, cin // groups, nb, u, v)
        acc = np.zeros((cin, nb, rows.padded, cols.padded), gx.dtype)
        accg = acc.reshape(groups, cin // groups, nb, rows.padded, cols.padded)
        for jh in range(rows.span):
            for jw in range(cols.span):
                accg[..., jh:jh + u, jw:jw + v] += gc[:, jh, jw]
        if (rows.src.stop - rows.src.start, cols.src.stop - cols.src.start) != gx.shape[2:]:
            gx[...] = 0
        np.copyto(gx[:, :, rows.src, cols.src], acc[:, :, rows.dst, cols.dst].transpose(1, 0, 2, 3))

    def reference(self, x, w, b=None):
        """The output recomputed with the reference ops (for create_graph=True)."""
        stride, pads, output_padding, dilation, groups = self.params
        return conv_transpose_reference(x, w, b, stride, pads, output_padding, dilation, groups)


def takes(kernel, stride, dilation):
    """Whether every slot of W' is a tap along every axis (kernel = stride x J, dilation 1; or
    stride 1, dilation 1), so that the kernel makes exactly the reference's products: with an
    empty slot (a 3x3 kernel with stride 2, a dilated one), a zero weight would meet a NaN or
    inf of x where the reference multiplies nothing, and those geometries run the reference."""
    for k, s, d in zip(kernel, stride, dilation):
        slots = {(i * d % s, i * d // s) for i in range(k)}
        span = max(o for _, o in slots) + 1
        if len(slots) != k or k != s * span:
            return False
    return True


def pays(xshape, wshape, stride, pads, output_padding, dilation, groups):
    """Whether the kernel takes this transposed convolution (2-D shapes): it ``takes`` the
    geometry, its planes cover the input with little waste, and W' has rows enough for a
    GEMM that outruns the copies of its columns.

    The planes hold every phase position that reaches the output, U x V of them per phase
    against the input's H x W: the products grow by UV / HW, all of it multiplies of the zero
    padding (a 1x1 input under a 4x4 kernel: 16x, a 4x4 input 1.56x, 32x32 1.06x). Measured
    on 2 cores, forward + backward, kernel against reference (``EMBER_KERNELS=0``):
    (16, 64, 32, 32) -> 32 with 4x4, stride 2 (UV / HW 1.06): 19.9 against 29.2 ms; (64, 128,
    16, 16) -> 64 (1.13): 66 against 107 ms; (64, 256, 8, 8) -> 128 (1.27): 91 against 67 ms;
    (64, 512, 4, 4) -> 256 (1.56): 116 against 68 ms; (8, 128, 32, 32) -> 64 with 2x2,
    stride 2: 9.7 against 12.1 ms; (16, 64, 32, 32) -> 64 with 3x3, stride 1: 20.5 against
    25.6 ms; but (64, 64, 32, 32) -> 3 (4 x 3 rows of W'): 46 against 17 ms."""
    if not takes(wshape[2:], stride, dilation):
        return False
    rows, cols = (_Axis(k, s, d, p, n, (n - 1) * s - 2 * p + d * (k - 1) + op + 1)
                  for k, s, d, (p, _), n, op in zip(wshape[2:], stride, dilation, pads, xshape[2:], output_padding))
    waste = rows.length * cols.length / (xshape[2] * xshape[3])
    return waste <= 1.15 and stride[0] * stride[1] * wshape[1] >= 64


def conv_transpose2d(x, weight, bias, stride, pads, output_padding, dilation, groups):
    """The kernel on checked Tensors, arguments as ``conv_transpose_reference`` in 2-D, for the
    geometries it ``takes`` (``pays`` says where it is faster)."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2dFunction.apply(*inputs, stride=stride, pads=pads, output_padding=output_padding,
                                         dilation=dilation, groups=groups)
