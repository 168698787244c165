"""Convolution kernel: ``ember.ops.conv.conv2d_reference`` rearranged for speed, on arrays.

The reference unfolds the input into C-order columns (N, C kh kw, OH OW) and multiplies; its
gradients come back through the same ops. This kernel computes the same numbers with a
hand-written backward that

- works channels-last for ungrouped convolutions: the columns are (N OH OW, kh kw C), one row
  per output pixel, the forward one GEMM whose result *is* y stored as (N, OH, OW, O), returned
  as an (N, O, OH, OW) view (ReLU and 2x2 pooling after it then read channels contiguously);
- copies the columns, transposes and folds on several threads (``ember.ops._parallel``);
- skips the input gradient of a first layer, frees the columns before that gradient is made,
  and folds it back with one GEMM per kernel offset (or, stride 1, widened rows) instead of a
  col2im over the whole column matrix.

Justified by the CNN lines of ``python -m benchmarks --only cnn cnnsteps cifar --quick``
(``cnnsteps`` "ember manual loop", ``cifar`` "ember"), whose steps are mostly convolutions.
Measured on 2 cores, forward + backward, float32, this kernel against the reference: the
CNN's first layer (128x1x28x28 -> 32) 12 ms against 32 ms, its second (128x32x13x13 -> 64)
37 ms against 94 ms, CIFAR's third (64x64x16x16 -> 128, padding 1) 129 ms against 198 ms.
"""
import math
import os

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..autograd.function import is_grad_enabled
from ..ops._parallel import num_threads, parallel_for
from ..ops.conv import conv2d_reference, conv_output_size
from . import _blas, winograd

__all__ = ["Conv2dFunction", "conv2d"]

_PARTS_PER_THREAD = 2  # blocks of samples per thread where a kernel multiplies block by block
_BLOCK_PIXELS = 2048  # output pixels of a block that a kernel multiplies on its own
_BLOCK_ROWS = 2048  # output pixels of a forward's columns made and multiplied at a time (no weight gradient)

def _windows(xp, kernel, stride, dilation, out):
    """Read-only view (C, kh, kw, N, OH, OW) of every window of the padded input xp."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    n, c = xp.shape[:2]
    s = xp.strides
    return as_strided(xp, (c, kh, kw, n, oh, ow), (s[1], dh * s[2], dw * s[3], s[0], sh * s[2], sw * s[3]),
                      writeable=False)


def _pad(x, pads):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + pt + pb, w + pl + pr), x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    return xp


def _blocks(n, rows):
    """Blocks of whole samples to cut a batch of ``n`` samples of ``rows`` output pixels into,
    for a kernel that multiplies block by block on ember's threads: about ``_BLOCK_PIXELS``
    pixels each (smaller blocks pay more Python per pixel, and their single-threaded GEMMs
    pack the whole weight for a few rows; one block runs on this thread, with BLAS's threads).
    The cut depends on the shape alone, not on the thread count, so that the weight gradient
    summed over blocks is the same number on any number of threads."""
    return max(1, min(n, n * rows // _BLOCK_PIXELS))


def _rows(shape, dtype):
    """An uninitialized array of ``shape`` whose rows (all but the first axis, flattened) sit at a
    padded stride: a row length that is a multiple of a large power of two maps every row to the
    same cache sets, and a GEMM reading such a matrix runs up to 1.4x slower."""
    n = math.prod(shape[1:])
    ld = -(-n // 16) * 16
    if ld // 16 % 2 == 0:
        ld += 16
    return np.empty((shape[0], ld), dtype)[:, :n].reshape(shape)


def _permute(dst, src):
    """dst[...] = src for a weight's (O, C, kh kw) <-> (O, kh kw, C) reordering, split over the
    output channels on ember's threads: a transposing copy that runs below memory speed."""
    parallel_for(lambda s, e: np.copyto(dst[s:e], src[s:e]), dst.shape[0], work=dst.size)


class Conv2dFunction(Function):
    """y = conv(x, w) + b on (N, C, H, W); ``pads`` is ((top, bottom), (left, right)).

    Ungrouped convolutions run channels-last: the columns are (N OH OW, kh kw C), one row per
    output pixel, so that

    - the forward is one GEMM, cols @ W.T, whose (N OH OW, O) result *is* y stored as
      (N, OH, OW, O): y is returned as an (N, O, OH, OW) view of it, with no transpose pass;
    - every copy into the columns moves runs of kw * C contiguous values (a window row), or,
      when that run is short (few channels), the columns are stored transposed and the copy
      moves runs of OW;
    - ReLU and 2x2 max-pooling after it read each pixel's channels contiguously, and hand
      back gradients in the same layout, so gy is (N OH OW, O) rows without a copy;
    - the input gradient is one GEMM per kernel offset, gy @ W[:, :, i, j], each added to
      a shifted window of the (N, H, W, C) gradient as runs of OW * C values (a col2im over
      the whole column matrix adds runs of only C: measured 2x slower).

    The bias rides in the GEMM as a column of ones (no pass over y), which then also yields
    the bias gradient. Grouped convolutions use
    channel-major columns (C kh kw, N OH OW), one GEMM per group.

    The backward works on arrays only (``dual = False``); ``reference`` recomputes y with
    ``conv2d_reference``, which higher-order gradients differentiate.
    """

    def forward(self, x, w, b=None, *, stride, pads, dilation, groups):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        oh = conv_output_size(h, kh, stride[0], pads[0], dilation[0])
        ow = conv_output_size(wd, kw, stride[1], pads[1], dilation[1])
        self.w, self.xshape, self.geometry, self.out_hw = w, x.shape, (pads, stride, dilation), (oh, ow)
        self.params = stride, pads, dilation, groups
        self.channels_last = groups == 1
        if self.channels_last:
            return self._forward_channels_last(x, w, b, (oh, ow))
        k = cg * kh * kw
        win = _windows(_pad(x, pads), (kh, kw), stride, dilation, (oh, ow))  # (C, kh, kw, N, OH, OW)
        cols = _rows((c * kh * kw, n, oh, ow), x.dtype)
        dst = cols.reshape(c, kh, kw, n, oh, ow)
        parallel_for(lambda s, e: np.copyto(dst[s:e], win[s:e]), c, work=dst.size)
        self.cols = cols = cols.reshape(groups, k, n * oh * ow)
        yt = np.matmul(w.reshape(groups, o // groups, k), cols).reshape(o, n, oh, ow).transpose(1, 0, 2, 3)
        y = np.empty((n, o, oh, ow), x.dtype)
        if b is None:
            parallel_for(lambda s, e: np.copyto(y[s:e], yt[s:e]), n, work=y.size)
        else:  # the transpose's pass adds the bias
            bb = b.reshape(o, 1, 1)
            parallel_for(lambda s, e: np.add(yt[s:e], bb, out=y[s:e]), n, work=y.size)
        return y

    def _forward_channels_last(self, x, w, b, out):
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        (oh, ow), ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = out, *self.geometry
        xl = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a free view when x is channels-last
        if pt or pb or pl or pr:
            xp = np.zeros((n, h + pt + pb, wd + pl + pr, c), x.dtype)
            xp[:, pt:pt + h, pl:pl + wd] = xl
            xl = xp
        s0, s1, s2, s3 = xl.strides
        win = as_strided(xl, (n, oh, ow, kh, kw, c), (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3), writeable=False)
        k = kh * kw * c
        kb = k + (b is not None)  # the bias rides as a column of ones
        # W as (kh kw C [+ bias], O), the columns' order: made as (O, kh kw C [+ bias]) rows,
        # W's own order with each output channel's (C, kh kw) block transposed (a third of the
        # cost of permuting all four axes: 1.4 against 5.0 ms for 512x512x3x3), that BLAS reads
        # transposed in place
        w2 = np.empty((o, kb), x.dtype)
        _permute(w2[:, :k].reshape(o, kh * kw, c), w.reshape(o, c, kh * kw).transpose(0, 2, 1))
        if b is not None:
            w2[:, k] = b
        wt = w2.T
        rows = oh * ow
        keep = is_grad_enabled() and (self.needs_grad(1) or (b is not None and self.needs_grad(2)))
        if kw * c >= 16 and not keep:  # no weight gradient to come: the columns only in blocks
            self.cols, self.wt = None, wt
            return self._forward_blocks(win, wt, b is not None, (n, oh, ow, o))
        if kw * c >= 16:
            cols = np.empty((n * rows, kb), x.dtype)
            dst, src = cols[:, :k].reshape(n, oh, ow, kh, kw, c), win  # samples on axis 0
        else:
            # few channels (a first layer): a window row is too short a run to copy, so the
            # columns are stored transposed, (kh kw C, N OH OW), copied in runs of OW; BLAS
            # reads cols = that.T as it is (3x faster on MNIST's first layer)
            cols_t = np.empty((kb, n * rows), x.dtype)
            cols = cols_t.T
            # the same copy seen with samples on axis 0: (N, kh, kw, C, OH, OW) views
            dst = cols_t[:k].reshape(kh, kw, c, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
            src = win.transpose(0, 3, 4, 5, 1, 2)
        y = np.empty((n * rows, o), x.dtype)

        def block(s, e):  # a block of samples' columns, multiplied while they are in cache
            np.copyto(dst[s:e], src[s:e])
            if b is not None:
                cols[s * rows:e * rows, k] = 1
            np.matmul(cols[s * rows:e * rows], wt, out=y[s * rows:e * rows])

        _blas.parallel_for(block, n, work=dst.size, parts=_blocks(n, rows))
        self.cols, self.wt = cols, wt
        return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)

    def _forward_blocks(self, win, wt, bias, shape):
        """y = cols @ wt with the columns made and multiplied block by block of ``_BLOCK_ROWS``
        output pixels, each block's in a scratch array (a whole column matrix of a large image
        is written to memory and read back: 116 MB at ResNet-18's 16x64x56x56). Forward alone,
        2 threads: 16x64x56x56 -> 64 39.4 against 22.5 ms, ResNet-18's first layer (16x3x224x224,
        7x7, stride 2) 44.0 against 30.2 ms; smaller blocks lose at the deep layers, where each
        block's GEMM packs the whole weight (16x256x14x14 -> 256: 20.8 ms with blocks of 128
        pixels, 17.4 with the whole matrix, 16.0 with 2048)."""
        n, oh, ow, o = shape
        kb = wt.shape[0]
        k = kb - bias
        y = np.empty((n, oh, ow, o), wt.dtype)
        rows = -(-_BLOCK_ROWS // ow)  # output rows of a block
        if rows >= oh:  # whole samples
            per = min(rows // oh, -(-n // (_PARTS_PER_THREAD * num_threads())))
            blocks = [(s, min(s + per, n), 0, oh) for s in range(0, n, per)]
        else:
            blocks = [(i, i + 1, r, min(r + rows, oh)) for i in range(n) for r in range(0, oh, rows)]

        def run(p, q):
            for s, e, r0, r1 in blocks[p:q]:
                m = (e - s) * (r1 - r0) * ow
                scratch = np.empty((m, kb), wt.dtype)
                np.copyto(scratch[:, :k].reshape(e - s, r1 - r0, *win.shape[2:]), win[s:e, r0:r1])
                if bias:
                    scratch[:, k] = 1
                np.matmul(scratch, wt, out=y[s:e, r0:r1].reshape(m, o))

        _blas.parallel_for(run, len(blocks), work=win.size)
        return y.transpose(0, 3, 1, 2)

    def backward(self, gy):
        if self.channels_last:
            return self._backward_channels_last(gy)
        w, cols = self.w, self.cols
        o, cg, kh, kw = w.shape
        n, _, oh, ow = gy.shape
        k = cg * kh * kw
        has_bias = len(self.inputs) > 2
        gx = gw = gb = None
        g = cols.shape[0]
        gyt = _rows((o, n, oh, ow), gy.dtype)
        gyT = gy.transpose(1, 0, 2, 3)
        parallel_for(lambda s, e: np.copyto(gyt[s:e], gyT[s:e]), o, work=gyt.size)
        if has_bias and self.needs_grad(2):
            gb = gyt.reshape(o, -1).sum(axis=1)
        if self.needs_grad(1):
            # cols @ gy.T, the transposed product, runs faster than gy @ cols.T on OpenBLAS
            gwt = np.matmul(cols, gyt.reshape(g, o // g, -1).transpose(0, 2, 1))  # (g, k, O / g)
            gw = np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w.shape)
        self.cols = cols = None  # free the columns before the input gradient allocates its own
        if self.needs_grad(0):
            wt = w.reshape(g, o // g, k).transpose(0, 2, 1)
            if self.geometry[1] == (1, 1):
                gx = self._input_grad_wide(gyt, wt)
            else:
                gc = np.matmul(wt, gyt.reshape(g, o // g, -1))
                gx = self._col2im(gc.reshape(g * cg, kh, kw, n, oh, ow))
        return (gx, gw, gb) if has_bias else (gx, gw)

    def _backward_channels_last(self, gy):
        w, cols, wt = self.w, self.cols, self.wt
        o, c, kh, kw = w.shape
        n, _, oh, ow = gy.shape
        k, rows = kh * kw * c, oh * ow
        has_bias = len(self.inputs) > 2
        # (no columns: the weight needed no gradient when the forward ran, and gets none)
        want_w = cols is not None and (self.needs_grad(1) or (has_bias and self.needs_grad(2)))
        gx = gw = gb = None
        gyl = gy.transpose(0, 2, 3, 1)  # (N, OH, OW, O)
        dense = gyl.reshape(n * rows, o) if gyl.flags.c_contiguous else None
        # The backward runs block by block of samples on ember's threads (BLAS single-threaded,
        # so that no BLAS thread spins beside them): a block's gy rows, copied dense if they are
        # not, serve its share of the weight gradient and its input gradient while in cache.
        # The weight gradient is summed over the blocks' products when each block has enough
        # rows for its GEMM to run at speed, else it is one GEMM before them.
        nblocks = _blocks(n, rows)
        split = want_w and nblocks > 1
        if want_w and not split:
            if dense is None:
                dense = np.empty((n * rows, o), gy.dtype)
                d4 = dense.reshape(gyl.shape)
                parallel_for(lambda s, e: np.copyto(d4[s:e], gyl[s:e]), n, work=dense.size)
            gwt = self._weight_grad(cols, dense)
        if split or self.needs_grad(0):
            bounds = [n * i // nblocks for i in range(nblocks + 1)]
            gxl = np.empty((n, *self.xshape[2:], c), gy.dtype) if self.needs_grad(0) else None
            wt4 = wt[:k].reshape(kh, kw, c, o)
            acc = np.empty((nblocks, cols.shape[1], o), gy.dtype) if split else None

            def blocks(p, q):
                for i in range(p, q):
                    s, e = bounds[i], bounds[i + 1]
                    gy_rows = dense[s * rows:e * rows] if dense is not None else (
                        np.ascontiguousarray(gyl[s:e]).reshape((e - s) * rows, o))
                    if split:
                        np.matmul(cols[s * rows:e * rows].T, gy_rows, out=acc[i])
                    if gxl is not None:
                        self._input_grad_channels_last(gy_rows, wt4, gxl[s:e])

            _blas.parallel_for(blocks, nblocks, work=n * rows * (o + c) * kh * kw)
            if split:
                gwt = acc.sum(axis=0).T
            if gxl is not None:
                gx = gxl.transpose(0, 3, 1, 2)
        if want_w:
            if self.needs_grad(1):
                gw = np.empty(w.shape, gy.dtype)
                _permute(gw.reshape(o, c, kh * kw), gwt[:, :k].reshape(o, kh * kw, c).transpose(0, 2, 1))
            if has_bias and self.needs_grad(2):
                gb = gwt[:, k].copy()
        self.cols = None
        return (gx, gw, gb) if has_bias else (gx, gw)

    @staticmethod
    def _weight_grad(cols, g):
        """(O, kh kw C [+ 1]) = g.T @ cols, then each output channel's (kh kw, C) block is
        transposed back to W's (C, kh, kw) by the caller: with permuting (kh kw C, O) = cols.T @
        g's four axes instead, the same gradient cost 17.3 against 8.5 ms at ResNet-18's
        512-channel shape (32x64x64 input), and no less at any shape of ResNet-18 or the MNIST
        CNN."""
        if cols.flags.f_contiguous and not cols.flags.c_contiguous:
            # a first layer's transposed columns (kh kw C [+ 1], N OH OW): the plain product
            # of the two row-major arrays, (cols.T @ g).T, runs 1.6x faster than g.T @ cols
            # there (CIFAR's 64x3x32x32 -> 32: 1.6 against 2.6 ms; MNIST's 128x1x28x28 -> 32:
            # 1.1 against 1.7 ms)
            return (cols.T @ g).T
        return g.T @ cols

    def _input_grad_channels_last(self, g, wt4, gxl):
        """One block of samples' input gradient into ``gxl`` (n, H, W, C): the sum over kernel
        offsets of (gy @ W[:, :, i, j]) added to the input pixels it came from."""
        n, h, wd, c = gxl.shape
        ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = self.geometry
        kh, kw = wt4.shape[:2]
        oh, ow = self.out_hw
        if pt or pb or pl or pr:
            gxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), g.dtype)
        else:
            gxp = gxl
            gxp[...] = 0
        part = np.empty((len(g), c), g.dtype)
        part4 = part.reshape(n, oh, ow, c)
        for i in range(kh):
            for j in range(kw):
                np.matmul(g, wt4[i, j].T, out=part)
                r, q = i * dh, j * dw
                gxp[:, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] += part4
        if gxp is not gxl:
            np.copyto(gxl, gxp[:, pt:pt + h, pl:pl + wd])

    def _col2im(self, gc):
        """Fold columns (C, kh, kw, N, OH, OW) back onto the input: one strided add per kernel offset."""
        n, c, h, wd = self.xshape
        ((pt, pb), (pl, pr)), (sh, sw), (dh, dw) = self.geometry
        _, kh, kw, _, oh, ow = gc.shape
        # accumulate in the columns' own order (C, N), so that the adds run along rows
        gxp = np.zeros((c, n, h + pt + pb, wd + pl + pr), gc.dtype)
        acc = gxp.transpose(1, 0, 2, 3)  # indexed (N, C, H, W)
        for i in range(kh):
            for j in range(kw):
                r, q = i * dh, j * dw
                acc[:, :, r:r + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw] += gc[:, i, j].transpose(1, 0, 2, 3)
        gx = np.empty((n, c, h, wd), gc.dtype)
        np.copyto(gx, acc[:, :, pt:pt + h, pl:pl + wd])
        return gx

    def _input_grad_wide(self, gyt, wt):
        """Input gradient of a stride-1 conv, with rows as long as a whole window row.

        gy is widened with zero columns to the padded input's width, so that every kernel
        offset's contribution is one contiguous run per (channel, sample) plane instead of OH
        runs of OW: the adds stop paying NumPy's per-row overhead. The zero columns spill only
        zeros onto the next row (or into a few slack elements at the end).
        """
        n, c, h, wd = self.xshape
        ((pt, pb), (pl, pr)), _, (dh, dw) = self.geometry
        o, _, oh, ow = gyt.shape
        g, k, _ = wt.shape
        kh, kw = self.w.shape[2:]
        hp, wp = h + pt + pb, wd + pl + pr
        gyw = _rows((o, n, oh, wp), gyt.dtype)

        def widen(s, e):
            gyw[s:e, ..., ow:] = 0
            gyw[s:e, ..., :ow] = gyt[s:e]

        parallel_for(widen, o, work=gyw.size)
        gcw = np.matmul(wt, gyw.reshape(g, o // g, -1)).reshape(c, kh, kw, n, oh * wp)
        plane = hp * wp
        # each channel's planes get their own slack, so that the zeros spilled past a channel's
        # last plane never land on the next channel, which another thread may be adding into
        slack = (kw - 1) * dw
        cstride = n * plane + slack
        flat = np.zeros(c * cstride, gyt.dtype)
        item = flat.itemsize

        def fold(s, e):  # channels [s, e)
            for i in range(kh):
                for j in range(kw):
                    start = s * cstride + i * dh * wp + j * dw
                    dst = as_strided(flat[start:], (e - s, n, oh * wp), (cstride * item, plane * item, item))
                    dst += gcw[s:e, i, j]

        parallel_for(fold, c, work=gcw.size)
        gxp = flat.reshape(c, cstride)[:, :n * plane].reshape(c, n, hp, wp)
        gx = np.empty((n, c, h, wd), gyt.dtype)
        src = gxp[:, :, pt:pt + h, pl:pl + wd].transpose(1, 0, 2, 3)
        parallel_for(lambda s, e: np.copyto(gx[s:e], src[s:e]), n, work=gx.size)
        return gx


    def reference(self, x, w, b=None):
        """The output recomputed with the reference ops (for create_graph=True)."""
        stride, pads, dilation, groups = self.params
        return conv2d_reference(x, w, b, stride, pads, dilation, groups)


def winograd_pays(xshape, wshape, stride, pads, dilation, groups, training=True):
    """Whether ``ember.kernels.winograd`` takes this convolution: 3x3, stride 1, dilation 1, one
    group, and channel counts for which its GEMMs save more than its transforms cost, in a
    training step (``training``: a backward follows) or in inference.
    ``EMBER_WINOGRAD=0`` turns it off (im2col for every shape), ``=1`` on for every shape it
    can take (tests)."""
    if tuple(wshape[2:]) != (3, 3) or stride != (1, 1) or dilation != (1, 1) or groups != 1:
        return False
    if _WINOGRAD != "auto":
        return _WINOGRAD == "1"
    # Measured on 2 cores (Xeon with AVX-512), Winograd / im2col, the two alternating in one
    # process (best of 5 rounds), with im2col's blocked forward and backward (above). It pays
    # once each of its 16 GEMMs, (tiles, C) @ (C, O), is large and has at least as many tile
    # rows as channels; where, depends on whether a backward follows:
    #   forward + backward: 0.80-0.91x at 2**25.6 (16x64x56x56, 16x128x28x28, 16x256x14x14),
    #   0.85x at 32x64x32x32 (2**25), 0.86x at 2**24 with 64 channels (64x64x16x16, 16x64x32x32);
    #   even at 2**24 with 32 channels (1.03x, 64x32x32x32) or 128 at 16x16 (1.04x); losses of
    #   1.16-1.26x at 2**23 (64x32x16x16->64, 64x64x8x8->128, 32x64x16x16, 32x128x8x8), 1.58x
    #   at 128x32x13x13->64 (an 11x11 output computed as 12x12), 1.8-2x with fewer tiles than
    #   channels (32x256x4x4, 16x512x7x7);
    #   forward alone (no gradient: im2col makes its columns block by block in cache): 0.89x
    #   at 16x128x28x28, 0.92x at 16x256x14x14, even at 16x64x56x56 (0.98x) and at 2**25 or
    #   2**24 (1.01-1.07x with 64 channels), losses below and with 32 channels (1.3-2.5x).
    # (On an AMD EPYC, against the im2col kernel before its blocking, it won from 2**22.)
    # Each thread takes whole samples, so a batch must give every thread one.
    geo = winograd._Geometry(xshape, wshape[0], pads)
    tiles = geo.n * geo.th * geo.tw
    waste = 4 * geo.th * geo.tw / max(geo.oh * geo.ow, 1)  # pixels computed (whole 2x2 tiles) per pixel kept
    if training:
        large = geo.c >= 64 and geo.o >= 64 and tiles * geo.c * geo.o >= 1 << 24
    else:
        large = geo.c >= 32 and geo.o >= 32 and tiles * geo.c * geo.o >= 3 << 24
    return large and waste <= 1.15 and tiles >= max(geo.c, geo.o) and geo.n >= num_threads()


_WINOGRAD = os.environ.get("EMBER_WINOGRAD", "auto").strip().lower()
_WINOGRAD = {"0": "0", "off": "0", "false": "0", "1": "1", "on": "1", "true": "1"}.get(_WINOGRAD, "auto")


def conv2d(x, weight, bias, stride, pads, dilation, groups):
    """The kernel on checked Tensors, arguments as ``conv2d_reference``: x (N, C, H, W), pads
    ((top, bottom), (left, right)). 3x3 stride-1 convolutions go to the Winograd kernel where
    ``winograd_pays``."""
    training = is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias))
    if winograd_pays(x.shape, weight.shape, stride, pads, dilation, groups, training):
        return winograd.winograd_conv2d(x, weight, bias, pads)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2dFunction.apply(*inputs, stride=stride, pads=pads, dilation=dilation, groups=groups)
