"""Pooling kernels: ``ember.ops.pool``'s max and average pooling rearranged for speed, on arrays.

The references unfold or index every window; these kernels

- take the common 2x2, stride-2 window in two passes: pairs of rows (long contiguous runs),
  then pairs of columns of the half-size result, split over samples on several threads, and
  keep a channels-last input's layout (a convolution's output) in the output, the masks and
  the input gradient; NaN windows are re-routed to PyTorch's pick after the fast comparisons;
- loop over the kh * kw kernel offsets for other windows, each a strided view of the whole
  input, never over pixels, keeping which offset won in a uint8 array;
- run a ReLU before a max-pool inside the pooling's passes, over the 4x smaller output
  (``relu_max_pool2d``): relu(max_pool(x)) equals max_pool(relu(x)) in values and gradients.

Justified by ``python -m benchmarks --only cnn cnnsteps cifar --quick`` (``cnnsteps`` "ember
manual loop", ``cifar`` "ember"), where every pooling is a 2x2 max-pool after a ReLU: see
``MaxPool2dFunction``.
"""
import numpy as np

from ..autograd import Function, is_grad_enabled
from ..ops._parallel import parallel_for
from ..ops._util import all_finite, empty_as, is_channels_last, keep_grad

__all__ = ["AvgPool2dFunction", "MaxPool2dFunction", "avg_pool2d", "max_pool2d", "relu_max_pool2d"]


def _offsets(kernel, stride, dilation, out, nhwc=False):
    """(i * kw + j, slices) for each kernel offset: the strided view of every window's (i, j)
    element, of an (N, C, H, W) array or, ``nhwc``, of an (N, H, W, C) one."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            hw = (slice(r, r + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw))
            yield i * kw + j, ((slice(None),) + hw + (slice(None),) if nhwc else (...,) + hw)


def _padded(x, pads, size, value, nhwc=False):
    """x in a (N, C, *size) array ((N, *size, C) with ``nhwc``) filled with ``value``, x
    placed after the leading pads."""
    (pt, _), (pl, _) = pads
    h, w = x.shape[1:3] if nhwc else x.shape[2:]
    if (pt, pl) == (0, 0) and size[0] <= h and size[1] <= w:
        return x  # the windows read only the first size[0] x size[1] elements
    if nhwc:
        xp = np.full((x.shape[0],) + size + (x.shape[3],), value, x.dtype)
        xp[:, pt:pt + h, pl:pl + w] = x[:, :size[0] - pt, :size[1] - pl]
        return xp
    xp = np.full(x.shape[:2] + size, value, x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x[:, :, :size[0] - pt, :size[1] - pl]
    return xp


def _padded_size(kernel, stride, dilation, out):
    # every window lies inside this size; with ceil_mode the last one may overhang the padding
    return tuple((o - 1) * s + d * (k - 1) + 1 for o, k, s, d in zip(out, kernel, stride, dilation))


def _unpad(gxp, xshape, pads, nhwc=False):
    """The input gradient (N, C, H, W) from the padded one: crop the padding (and the unread
    border). With ``nhwc`` the padded gradient is (N, H', W', C) and the result its view."""
    (pt, _), (pl, _) = pads
    n, c, h, w = xshape
    if nhwc:
        gx = np.zeros((n, h, w, c), gxp.dtype)
        hh, ww = min(h, gxp.shape[1] - pt), min(w, gxp.shape[2] - pl)
        gx[:, :hh, :ww] = gxp[:, pt:pt + hh, pl:pl + ww]
        return gx.transpose(0, 3, 1, 2)
    gx = np.zeros(xshape, gxp.dtype)
    hh, ww = min(h, gxp.shape[2] - pt), min(w, gxp.shape[3] - pl)
    gx[:, :, :hh, :ww] = gxp[:, :, pt:pt + hh, pl:pl + ww]
    return gx


def _max_with_offsets(x, xv, kernel, stride, pads, dilation, out, nhwc):
    """The max-pool of xv (x, or its (N, H, W, C) view with ``nhwc``) over -inf padding, and
    which kernel offset won each window, as PyTorch routes the gradient: the first maximum, a
    window's last NaN, an all -inf window's first element inside the input."""
    xp = _padded(xv, pads, _padded_size(kernel, stride, dilation, out), -np.inf, nhwc)
    offsets = list(_offsets(kernel, stride, dilation, out, nhwc))
    y = xp[offsets[0][1]].copy()
    arg = np.zeros(y.shape, np.uint8 if kernel[0] * kernel[1] <= 256 else np.int32)
    for k, sl in offsets[1:]:
        v = xp[sl]
        # offsets come in increasing order, so "arg = k where v > y" is a maximum;
        # strictly greater keeps the first maximum on ties
        np.maximum(arg, np.multiply(np.greater(v, y), k, dtype=arg.dtype), out=arg)
        np.maximum(y, v, out=y)  # propagates NaN, as PyTorch does
    if np.isnan(np.max(y)):  # a window holds a NaN: PyTorch routes to its last NaN
        for k, sl in offsets:
            np.copyto(arg, k, where=np.isnan(xp[sl]))
    if xp is not xv and np.isneginf(y).any():
        # a window of -inf only: PyTorch routes to its first element inside the input,
        # where the strict > above left the first offset, which may be padding
        (pt, _), (pl, _) = pads
        hw = xp.shape[1:3] if nhwc else xp.shape[2:]
        inside = np.zeros(hw, bool)
        inside[pt:pt + x.shape[2], pl:pl + x.shape[3]] = True
        first = np.zeros(y.shape[1:3] if nhwc else y.shape[2:], arg.dtype)
        for k, sl in reversed(list(_offsets(kernel, stride, dilation, out))):
            first[inside[sl[-2:]]] = k
        np.copyto(arg, first[..., None] if nhwc else first, where=np.isneginf(y))
    return y, arg


def _max_rows_then_columns(x, kernel, stride, pads, dilation, out, nhwc):
    """``_max_separable`` split over samples on several threads."""
    shape = (x.shape[0],) + (out + x.shape[3:] if nhwc else x.shape[1:2] + out)
    y = np.empty(shape, x.dtype)
    parallel_for(lambda s, e: _max_separable(x[s:e], kernel, stride, pads, dilation, out, nhwc, y[s:e]), x.shape[0],
                 work=x.size)
    return y


def _max_separable(x, kernel, stride, pads, dilation, out, nhwc, y):
    """The max-pool of x (N, C, H, W), or (N, H, W, C) with ``nhwc``, without the winners'
    offsets (no gradient to come): the max over each window's kh rows of the input, then over
    its kw columns of that, with no padded copy (each offset reads the output rows or columns
    it reaches inside the input; a window wholly in the padding stays -inf, as over -inf
    padding). The same values as the max over all kh kw offsets (max is exact; NaN
    propagates either way), in fewer passes along short runs: channels-last, a column offset
    moves C-long runs, a row offset whole rows. ResNet-18's 3x3, stride-2, padded stem pool
    of 16x64x112x112 (no gradient), 2 threads: 23.4 -> 5.4 ms. The result goes into ``y``."""
    a = x
    for last, (axis, k, s, (lo, _), d, o) in enumerate(zip((1, 2) if nhwc else (2, 3), kernel, stride, pads, dilation,
                                                            out)):
        n = a.shape[axis]
        ranges = []
        for i in range(k):  # output positions q whose input position q s - lo + i d is inside
            q0 = max(0, -(-(lo - i * d) // s))
            q1 = min(o, (n - 1 + lo - i * d) // s + 1)
            if q0 < q1:
                ranges.append((q0, q1, slice(q0 * s - lo + i * d, (q1 - 1) * s - lo + i * d + 1, s)))
        shape = a.shape[:axis] + (o,) + a.shape[axis + 1:]
        full = next((r for r in ranges if r[1] - r[0] == o), None)
        lead = (slice(None),) * axis
        b = y if last else np.empty(shape, a.dtype)
        if full is None:
            b.fill(-np.inf)
        else:
            np.copyto(b, a[lead + (full[2],)])
        for r in ranges:
            if r is not full:
                dst = b[lead + (slice(r[0], r[1]),)]
                np.maximum(dst, a[lead + (r[2],)], out=dst)
        a = b


def _route_nan_2x2(top, bottom, low, to_right):
    """Point the masks of the 2x2 windows that hold a NaN at the NaN PyTorch picks.

    PyTorch scans a window in row-major order and takes a NaN over any number, and a later NaN
    over an earlier one: the last NaN wins. The comparisons of the fast path are false for NaN,
    so they route such a window elsewhere (the output, NaN, is right either way)."""
    nt, nb = np.isnan(top), np.isnan(bottom)
    in_bottom = nb[..., 0::2] | nb[..., 1::2]
    nan = in_bottom | nt[..., 0::2] | nt[..., 1::2]
    right = np.where(in_bottom, nb[..., 1::2], nt[..., 1::2])  # the last NaN's column
    to_right[nan] = right[nan]
    for col, pick in ((low[..., 0::2], nan & ~right), (low[..., 1::2], nan & right)):
        col[pick] = in_bottom[pick]  # its row: the bottom one if that holds a NaN


def max_2x2(x, y, low, to_right):
    """y = the 2x2, stride-2 max-pool of x (N, C, H, W), any odd last row or column dropped, and
    the masks its backward routes by: ``low`` (N, C, OH, 2 OW), whether the bottom row won
    its column, and ``to_right`` (N, C, OH, OW), whether the right column won. Ties go where
    PyTorch's row-major scan sends them, the first maximum; NaN windows are not routed here
    (see ``_route_nan_2x2``). Returns the top and bottom rows (views of x)."""
    oh, ow = y.shape[2:]
    xs = x[:, :, :2 * oh, :2 * ow]
    top, bottom = xs[:, :, 0::2], xs[:, :, 1::2]
    # rows first: the passes over the whole input read whole rows
    rows = np.maximum(top, bottom)
    np.greater(bottom, top, out=low)  # on a tie the top row (first in row-major order) wins
    left, right = rows[..., 0::2], rows[..., 1::2]
    np.maximum(left, right, out=y)
    np.greater(right, left, out=to_right)
    # Rows first breaks one tie unlike PyTorch's row-major scan: the bottom-left won its
    # column and the top-right holds the same maximum; PyTorch picks the top-right.
    tie = np.equal(left, right)
    if tie.any():
        tie &= low[..., 0::2]
        tie &= ~low[..., 1::2]
        to_right |= tie
    return top, bottom


def route_2x2(g, to_right, low, out, add=False, finite=True):
    """The backward of ``max_2x2``: each window's gradient g (N, C, OH, OW) to its winner in
    ``out`` (N, C, H, W), which it overwrites (the windows' four elements; any odd last row or
    column is left alone) or, ``add``, adds to. The masks multiply while g is ``finite``; else
    they select (``keep_grad``: inf * 0 would be NaN)."""
    oh, ow = g.shape[2:]
    grows = empty_as(low, dtype=g.dtype)  # the winning column's row pair, per window
    odd, even = out[:, :, 1:2 * oh:2, :2 * ow], out[:, :, 0:2 * oh:2, :2 * ow]
    if not finite:
        grows[..., 1::2], grows[..., 0::2] = keep_grad(g, to_right), keep_grad(g, ~to_right)
        if add:
            odd += keep_grad(grows, low)
            even += keep_grad(grows, ~low)
        else:
            odd[...], even[...] = keep_grad(grows, low), keep_grad(grows, ~low)
        return
    np.multiply(g, to_right, out=grows[..., 1::2])
    np.subtract(g, grows[..., 1::2], out=grows[..., 0::2])
    if not add:
        np.multiply(grows, low, out=odd)
        np.subtract(grows, odd, out=even)
        return
    lower = grows * low
    odd += lower
    grows -= lower
    even += grows


class MaxPool2dFunction(Function):
    """Max pooling of (N, C, H, W), accelerating ``ember.ops.pool.max_pool2d_reference``; with
    ``relu=True``, ReLU of it in the same op, accelerating max_pool2d_reference(relu(x)).

    ``fast`` (a 2x2, stride-2 window) takes two passes split over samples; other windows a
    loop over kernel offsets. The gradient goes to one element per window, as PyTorch routes
    it: the first maximum, a window's last NaN, an all -inf window's first input element.
    The backward works on arrays only (``dual = False``); ``reference`` recomputes y with the
    reference ops, which higher-order gradients differentiate.

    Benchmark lines: ``cnnsteps`` "ember manual loop" and ``cifar`` "ember", where every
    pooling is ReLU + 2x2 max-pool. Measured on 2 cores, forward + backward, float32: the
    CNN's first pooling (128x32x26x26) 11 ms with this kernel against 91 ms with the
    reference (ReLU, window winners, a gather and its scatter-add), its second
    (128x64x11x11) 5 ms against 22 ms; a whole CNN step 0.051 s with the kernels against
    0.196 s with the references. No line uses other windows, whose loop over offsets is only
    somewhat faster than the reference: 105 ms against 128 ms for a 3x3, stride-2, padded
    window on 64x64x32x32.
    """

    def forward(self, x, *, kernel, stride, pads, dilation, out, fast, relu=False):
        self.xshape = x.shape
        self.window = kernel, stride, pads, dilation, out
        if fast:
            y = self._forward_2x2(x, out, relu)
            self.relu_out = y if relu else None  # the ReLU's mask is y != 0
            return y
        self.params = kernel, stride, pads, dilation, out
        # a channels-last input (a convolution's output) is pooled in its memory order, (N, H,
        # W, C), so that every pass below runs over contiguous channels; the result keeps it
        nhwc = is_channels_last(x)
        xv = x.transpose(0, 2, 3, 1) if nhwc else x
        # which offset won, for the backward; not kept when no gradient will be asked for
        track = is_grad_enabled() and self.needs_grad(0)
        if track:
            y, arg = _max_with_offsets(x, xv, kernel, stride, pads, dilation, out, nhwc)
        else:  # the max over each window's rows, then over its columns
            y, arg = _max_rows_then_columns(xv, kernel, stride, pads, dilation, out, nhwc), None
        self.relu, self.nhwc = relu, nhwc
        if relu:
            np.maximum(y, 0, out=y)
        if nhwc:
            y, arg = y.transpose(0, 3, 1, 2), None if arg is None else arg.transpose(0, 3, 1, 2)
        self.arg, self.relu_out = arg, (y if relu else None)
        return y

    def _forward_2x2(self, x, out, relu):
        oh, ow = out
        n, c = x.shape[:2]
        # outputs and masks in x's layout: channels-last after a convolution, where every
        # pass below then runs over contiguous channels
        y = empty_as(x, (n, c, oh, ow))
        lower = empty_as(x, (n, c, oh, 2 * ow), bool)
        to_right = empty_as(x, (n, c, oh, ow), bool)

        def part(s, e):  # samples [s, e): a part's row maxima stay in cache for the column pass
            top, bottom = max_2x2(x[s:e], y[s:e], lower[s:e], to_right[s:e])
            if np.isnan(np.max(y[s:e])):  # one reduction; NaN windows are rare
                _route_nan_2x2(top, bottom, lower[s:e], to_right[s:e])
            if relu:  # while this part's maxima are in cache
                np.maximum(y[s:e], 0, out=y[s:e])

        parallel_for(part, n, work=x.size)
        self.lower, self.to_right, self.relu = lower, to_right, relu
        return y

    def backward(self, gy):
        if "arg" not in self.__dict__:
            return self._backward_2x2(gy)
        kernel, stride, pads, dilation, out = self.params
        arg = self.arg
        if arg is None:
            raise RuntimeError("max_pool2d: the forward ran without recording (no gradient was needed then)")
        # Masks multiply the gradient: exact while it is finite; an inf or NaN one takes the
        # select (keep_grad), so that it reaches only the winner, as PyTorch scatters it.
        route = np.multiply if all_finite(gy) else keep_grad
        if self.relu_out is not None:
            gy = route(gy, self.relu_out != 0)  # y >= 0 or NaN: see ReLU.backward
        size = _padded_size(kernel, stride, dilation, out)
        if self.nhwc:  # in the forward's memory order: every pass over contiguous channels
            n, c = self.xshape[:2]
            gyl, argl = gy.transpose(0, 2, 3, 1), arg.transpose(0, 2, 3, 1)
            gxp = np.zeros((n,) + size + (c,), gy.dtype)
            for k, sl in _offsets(kernel, stride, dilation, out, True):
                gxp[sl] += route(gyl, np.equal(argl, k))
            return _unpad(gxp, self.xshape, pads, nhwc=True)
        gxp = np.zeros(self.xshape[:2] + size, gy.dtype)
        for k, sl in _offsets(kernel, stride, dilation, out):
            gxp[sl] += route(gy, np.equal(arg, k))
        return _unpad(gxp, self.xshape, pads)

    def _backward_2x2(self, gy):
        n, c, h, w = self.xshape
        oh, ow = gy.shape[2:]
        even = (h, w) == (2 * oh, 2 * ow)
        like = self.lower  # in the forward input's layout, as gx is
        gx = empty_as(like, self.xshape, gy.dtype, zero=not even)
        if is_channels_last(like) and not is_channels_last(gy):
            # gy in C order (from a Flatten) and masks channels-last: mixed strides in every
            # pass below cost 4x; one copy of the (small) pooled gradient lines them up
            g_cl = empty_as(like, gy.shape, gy.dtype)
            np.copyto(g_cl, gy)
            gy = g_cl

        relu_out = self.relu_out
        finite = all_finite(gy)  # else each mask selects (keep_grad): inf * 0 would be NaN

        def part(s, e):
            # route to the winning column (g * mask and g - g * mask), then to the winning row
            g = gy[s:e]
            if relu_out is not None:  # ReLU's gradient first, on this part's (cached) rows
                g = g * (relu_out[s:e] != 0) if finite else keep_grad(g, relu_out[s:e] != 0)
            route_2x2(g, self.to_right[s:e], self.lower[s:e], gx[s:e], finite=finite)

        parallel_for(part, n, work=gx.size)
        return gx

    def reference(self, x):
        """The output recomputed with the reference ops (for create_graph=True)."""
        from ..ops.elementwise import relu
        from ..ops.pool import max_pool2d_reference

        return max_pool2d_reference(relu(x) if self.relu else x, *self.window)


class AvgPool2dFunction(Function):
    """Average pooling of (N, C, H, W), accelerating ``ember.ops.pool.avg_pool2d_reference``:
    a 2x2, stride-2 window (``fast``) as two passes of pairwise adds, others as a loop of
    adds over kernel offsets; array-only backward (``dual = False``), ``reference`` for
    higher-order gradients. ``divisor`` is a number or an (OH, OW) array.

    No benchmark line pools by averaging; measured on 2 cores, forward + backward of
    64x64x32x32 float32: a 2x2 window 18 ms against the reference's 103 ms, a 3x3 stride-2
    padded one 86 ms against 158 ms (the reference copies every window into columns).
    """

    def forward(self, x, *, kernel, stride, pads, out, divisor, fast):
        self.xshape, self.params = x.shape, (kernel, stride, pads, out, fast)
        self.window = kernel, stride, pads, out, divisor
        if fast:
            oh, ow = out
            x = x[:, :, :2 * oh, :2 * ow]
            rows = np.add(x[:, :, 0::2], x[:, :, 1::2])
            y = np.add(rows[..., 0::2], rows[..., 1::2])
        else:
            size = _padded_size(kernel, stride, (1, 1), out)
            xp = _padded(x, pads, size, 0)
            offsets = _offsets(kernel, stride, (1, 1), out)
            y = xp[next(offsets)[1]].copy()
            for _, sl in offsets:
                y += xp[sl]
        self.scale = np.asarray(1 / divisor, x.dtype)  # divisor: a number or an (OH, OW) array
        y *= self.scale
        return y

    def backward(self, gy):
        kernel, stride, pads, out, fast = self.params
        g = gy * self.scale
        if fast:
            n, c, h, w = self.xshape
            oh, ow = out
            even = (h, w) == (2 * oh, 2 * ow)
            gx = np.empty(self.xshape, gy.dtype) if even else np.zeros(self.xshape, gy.dtype)
            # every element of a window gets the same share: widen the rows, copy to both rows
            grow = np.repeat(g, 2, axis=3)
            gx[:, :, 0:2 * oh:2, :2 * ow] = grow
            gx[:, :, 1:2 * oh:2, :2 * ow] = grow
            return gx
        gxp = np.zeros(self.xshape[:2] + _padded_size(kernel, stride, (1, 1), out), gy.dtype)
        for _, sl in _offsets(kernel, stride, (1, 1), out):
            gxp[sl] += g
        return _unpad(gxp, self.xshape, pads)

    def reference(self, x):
        """The output recomputed with the reference ops (for create_graph=True)."""
        from ..ops.pool import avg_pool2d_reference

        return avg_pool2d_reference(x, *self.window)


def max_pool2d(x, kernel, stride, pads, dilation, out, fast, relu=False):
    """The kernel on a checked (N, C, H, W) Tensor, arguments as ``max_pool2d_reference``."""
    return MaxPool2dFunction.apply(x, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=out, fast=fast,
                                   relu=relu)


def avg_pool2d(x, kernel, stride, pads, out, divisor, fast):
    """The kernel on a checked (N, C, H, W) Tensor, arguments as ``avg_pool2d_reference``."""
    return AvgPool2dFunction.apply(x, kernel=kernel, stride=stride, pads=pads, out=out, divisor=divisor, fast=fast)


def relu_max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``max_pool2d(relu(x), ...)`` as one op: the pooling kernel applies the ReLU to its 4x
    smaller output, inside its own passes, and keeps no array for it (the ReLU's mask is
    y != 0). The same values and gradients as the two ops (ReLU is monotone: a window's
    maximum wins in either order, and where the output is 0 the gradient is 0 both ways; NaN
    passes as PyTorch's ReLU passes it). For nn.Sequential's ReLU -> MaxPool2d.

    Arguments and shapes as ``ember.nn.functional.max_pool2d``. With kernels disabled it
    runs the reference, max_pool2d(relu(x)).
    """
    from ..ops.pool import max_pool

    return max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d", 2, relu=True)
