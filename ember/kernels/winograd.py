"""Winograd F(2x2, 3x3): a 3x3, stride-1 convolution with 2.25x fewer multiplies.

``ember.ops.conv.conv2d_reference`` computes every output pixel as a dot product of a 3x3xC
window with the kernel: 9 C multiplies per output and channel. Winograd's minimal filtering
computes a 2x2 block of outputs from the 4x4 input tile under it with 16 C multiplies
instead of 36 C, by moving the tile and the kernel into a basis where convolution is an
elementwise product (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
2015):

    U = G w G^T           (4x4 per output/input channel pair; G is 4x3)
    V = B^T d B           (4x4 per tile and input channel; B^T is 4x4 of 0 and +-1)
    M = sum over C of U * V   -- 16 GEMMs (tiles, C) @ (C, O), one per position in the 4x4
    y = A^T M A           (the 2x2 outputs; A^T is 2x4 of 0 and +-1)

Each transform is linear in its tile: on the tile flattened to 16 values it is one small
matrix, V = (B^T kron B^T) d and y = (A^T kron A^T) M. As the matrices' entries are 0 and
+-1, they run here as a few adds of whole slabs of tiles (``_bt``, ``_at`` and their
adjoints), tested against ``_BT`` and ``_AT`` below.

The backward is the same algebra transposed. With gM = (A^T kron A^T)^T gy (each 2x2 output
gradient spread over its 16 positions):

    gU = sum over tiles of gM^T V      -- 16 GEMMs (O, tiles) @ (tiles, C);  gw = G^T gU G
    gV = gM U^T                        -- 16 GEMMs (tiles, O) @ (O, C);  gd = B gV B^T,
                                          added back onto the overlapping 4x4 input tiles

Speed comes from doing all of it in blocks of up to ``TILES_PER_BLOCK`` tiles, so that the
tile arrays (16 values per tile and channel, 4x the input or output) are small enough to stay
in the caches: the transforms are memory passes and would otherwise cost more than the
multiplies saved. The
blocks run on ember's threads with BLAS single-threaded inside them (``_blas``).
``Conv2dFunction`` (im2col) takes the shapes this does not pay for; ``ember.kernels.conv``
chooses per shape. Float64 results equal the reference's to ~1e-14; float32 errors are the
im2col kernel's size or smaller (measured in ``tests/nn/test_kernels_winograd.py``).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..ops._parallel import num_threads
from ..ops.conv import conv2d_reference
from . import _blas

__all__ = ["WinogradConv2dFunction", "winograd_conv2d"]

# the F(2x2, 3x3) matrices (Lavin and Gray, section 4.1); G is applied as it is, B^T and A^T as
# the slab adds below
_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64)
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float64)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64)

TILES_PER_BLOCK = 512  # tiles transformed and multiplied together (fewer: more Python per tile)


# The tile transforms, each applied along one axis of a (4 or 2, 4 or 2, ...) stack of
# contiguous slabs, then along the other: B^T d B is _bt along the tile's rows, then along its
# columns. Their entries are 0 and +-1, so each output slab is one or two adds of input slabs
# (single-threaded, 2.5-3x faster than the same map as a GEMM with the 16x16 Kronecker
# product). ``src`` and ``dst`` are sequences of slabs (arrays or views along the axis).


def _bt(src, dst):
    """dst[a] = sum_i B^T[a, i] src[i]: 4 slabs to 4."""
    np.subtract(src[0], src[2], out=dst[0])
    np.add(src[1], src[2], out=dst[1])
    np.subtract(src[2], src[1], out=dst[2])
    np.subtract(src[1], src[3], out=dst[3])


def _b(src, dst):
    """dst[i] = sum_a B^T[a, i] src[a], the adjoint of ``_bt``: 4 slabs to 4."""
    np.copyto(dst[0], src[0])
    np.subtract(src[1], src[2], out=dst[1])
    dst[1] += src[3]
    np.add(src[1], src[2], out=dst[2])
    dst[2] -= src[0]
    np.negative(src[3], out=dst[3])


def _at(src, dst):
    """dst[p] = sum_a A^T[p, a] src[a]: 4 slabs to 2."""
    np.add(src[0], src[1], out=dst[0])
    dst[0] += src[2]
    np.subtract(src[1], src[2], out=dst[1])
    dst[1] -= src[3]


def _a(src, dst):
    """dst[a] = sum_p A^T[p, a] src[p], the adjoint of ``_at``: 2 slabs to 4."""
    np.copyto(dst[0], src[0])
    np.add(src[0], src[1], out=dst[1])
    np.subtract(src[0], src[1], out=dst[2])
    np.negative(src[1], out=dst[3])


def _both_axes(step, src, rows, cols):
    """``step`` along axis 0 of src (r, c, ...), then along axis 1: a (rows, cols, ...) array."""
    t = np.empty((rows,) + src.shape[1:], src.dtype)
    step(src, t)
    out = np.empty((rows, cols) + src.shape[2:], src.dtype)
    step(t.swapaxes(0, 1), out.swapaxes(0, 1))
    return out


def input_transform(d):
    """V = B^T d B of every tile: (4, 4, ...) -> (4, 4, ...)."""
    return _both_axes(_bt, d, 4, 4)


def input_transform_adjoint(gv):
    """gd = B gV B^T: (4, 4, ...) -> (4, 4, ...), the gradient of ``input_transform``."""
    return _both_axes(_b, gv, 4, 4)


def output_transform(m):
    """y = A^T M A of every tile: (4, 4, ...) -> (2, 2, ...)."""
    return _both_axes(_at, m, 2, 2)


def output_transform_adjoint(gy):
    """gM = A gy A^T: (2, 2, ...) -> (4, 4, ...), the gradient of ``output_transform``."""
    return _both_axes(_a, gy, 4, 4)


def weight_transform(w):
    """U = G w G^T for every (O, C) pair: (O, C, 3, 3) -> (16, C, O), the GEMMs' right side."""
    g = _G.astype(w.dtype)
    t = np.tensordot(g, w, axes=(1, 2))  # (4, O, C, 3): G along the kernel's rows
    u = np.tensordot(t, g, axes=(3, 1))  # (4, O, C, 4): and along its columns
    o, c = w.shape[:2]
    return np.ascontiguousarray(u.transpose(0, 3, 2, 1)).reshape(16, c, o)


def weight_transform_adjoint(gu):
    """gw = G^T gU G: (16, O, C) -> (O, C, 3, 3), the gradient of ``weight_transform``."""
    g = _G.astype(gu.dtype)
    _, o, c = gu.shape
    t = np.tensordot(g, gu.reshape(4, 4, o, c), axes=(0, 0))  # (3, 4, O, C)
    gw = np.tensordot(t, g, axes=(1, 0))  # (3, O, C, 3)
    return np.ascontiguousarray(gw.transpose(1, 2, 0, 3))


class _Geometry:
    """Tile counts and padded sizes of one convolution: outputs in 2x2 tiles (the last row or
    column of tiles may reach past the output; those values are computed and dropped)."""

    def __init__(self, xshape, o, pads):
        self.n, self.c, self.h, self.w = xshape
        self.o = o
        (self.pt, pb), (self.pl, pr) = pads
        self.oh, self.ow = self.h + self.pt + pb - 2, self.w + self.pl + pr - 2
        self.th, self.tw = -(-self.oh // 2), -(-self.ow // 2)
        self.hp, self.wp = 2 * self.th + 2, 2 * self.tw + 2  # the input the tiles read
        self.per_block = max(1, TILES_PER_BLOCK // max(1, self.th * self.tw))  # samples per block

    def blocks(self, s, e):
        """Samples [s, e) in blocks of at most ``per_block``, as even as they can be (16
        samples as 8 + 8, not 14 + 2: a small block pays the per-block calls for little)."""
        nb = -(-(e - s) // self.per_block)
        bounds = [s + (e - s) * i // nb for i in range(nb + 1)]
        return zip(bounds[:-1], bounds[1:])

    def input_tiles(self, xl, s0, e0):
        """V for samples [s0, e0) of xl (N, H, W, C): (16, tiles, C)."""
        k, c = e0 - s0, self.c
        xp = np.zeros((k, self.hp, self.wp, c), xl.dtype)
        xp[:, self.pt:self.pt + self.h, self.pl:self.pl + self.w] = xl[s0:e0]
        s = xp.strides
        win = as_strided(xp, (4, 4, k, self.th, self.tw, c), (s[1], s[2], s[0], 2 * s[1], 2 * s[2], s[3]),
                         writeable=False)
        d = np.empty(win.shape, xl.dtype)
        np.copyto(d, win)
        return input_transform(d).reshape(16, -1, c)

    def output_slots(self, y, s0, e0):
        """The four (k, rows, cols, O) strided views of y (N, OH, OW, O) that tile position
        (a, b) of every 2x2 output tile fills."""
        return [[y[s0:e0, a::2, b::2] for b in (0, 1)] for a in (0, 1)]


class WinogradConv2dFunction(Function):
    """y = conv(x, w) + b for 3x3 kernels, stride 1, dilation 1, one group; ``pads`` is
    ((top, bottom), (left, right)). x may be in either memory layout; y and the input
    gradient come back as (N, C, H, W) views of channels-last memory, as ``Conv2dFunction``'s.

    The backward works on arrays (``dual = False``); ``reference`` recomputes y with
    ``conv2d_reference``, which higher-order gradients differentiate."""

    def forward(self, x, w, b=None, *, pads):
        geo = _Geometry(x.shape, w.shape[0], pads)
        self.geo, self.pads = geo, pads
        self.u = u = weight_transform(w)
        xl = x.transpose(0, 2, 3, 1)
        y = np.empty((geo.n, geo.oh, geo.ow, geo.o), x.dtype)
        tiles = geo.th * geo.tw

        def part(s, e):
            for s0, e0 in geo.blocks(s, e):
                m = np.matmul(geo.input_tiles(xl, s0, e0), u)  # (16, tiles, O)
                yt = output_transform(m.reshape(4, 4, e0 - s0, geo.th, geo.tw, geo.o))
                for a, row in enumerate(geo.output_slots(y, s0, e0)):
                    for bb, dst in enumerate(row):
                        src = yt[a, bb, :, :dst.shape[1], :dst.shape[2]]
                        if b is None:
                            np.copyto(dst, src)
                        else:
                            np.add(src, b, out=dst)

        _blas.parallel_for(part, geo.n, work=geo.n * tiles * 16 * (geo.c + geo.o))
        return y.transpose(0, 3, 1, 2)

    def backward(self, gy):
        geo, u = self.geo, self.u
        x = self.inputs[0]._data
        has_bias = len(self.inputs) > 2
        need_x, need_w = self.needs_grad(0), self.needs_grad(1)
        xl = x.transpose(0, 2, 3, 1)
        gyl = gy.transpose(0, 2, 3, 1)  # (N, OH, OW, O)
        gx = np.empty((geo.n, geo.h, geo.w, geo.c), gy.dtype) if need_x else None
        gus = []

        ut = np.ascontiguousarray(u.transpose(0, 2, 1)) if need_x else None  # (16, O, C): 1.7x faster GEMMs than the view

        def part(s, e):
            gu = None
            for s0, e0 in geo.blocks(s, e):
                k = e0 - s0
                gyt = np.zeros((2, 2, k, geo.th, geo.tw, geo.o), gy.dtype)
                for a, row in enumerate(geo.output_slots(gyl, s0, e0)):
                    for bb, src in enumerate(row):
                        gyt[a, bb, :, :src.shape[1], :src.shape[2]] = src
                gm = output_transform_adjoint(gyt).reshape(16, -1, geo.o)  # (16, tiles, O)
                if need_w:
                    part_gu = np.matmul(gm.transpose(0, 2, 1), geo.input_tiles(xl, s0, e0))  # (16, O, C)
                    if gu is None:
                        gu = part_gu
                    else:
                        gu += part_gu
                if need_x:
                    gv = np.matmul(gm, ut)  # (16, tiles, C)
                    gd = input_transform_adjoint(gv.reshape(4, 4, k, geo.th, geo.tw, geo.c))
                    gxp = np.zeros((k, geo.hp, geo.wp, geo.c), gy.dtype)
                    for i in range(4):  # each tile's 16 values back onto the (overlapping) tiles
                        for j in range(4):
                            dst = gxp[:, i:i + 2 * geo.th:2, j:j + 2 * geo.tw:2]
                            dst += gd[i, j]
                    gx[s0:e0] = gxp[:, geo.pt:geo.pt + geo.h, geo.pl:geo.pl + geo.w]
            if need_w:
                gus.append((s, gu))

        if need_x or need_w:
            # each part sums its own (16, O, C) weight gradient: where that is large against the
            # part's tiles, one part per thread
            work = geo.n * geo.th * geo.tw * 16 * (geo.c + geo.o)
            few = need_w and 16 * geo.o * geo.c * 4 * num_threads() > work // 4
            _blas.parallel_for(part, geo.n, work=work, parts=min(geo.n, num_threads()) if few else None)
        gw = None
        if need_w:  # the parts' sums added in sample order: the same bits run after run
            gus = [g for _, g in sorted(gus, key=lambda p: p[0])]
            gw = weight_transform_adjoint(sum(gus[1:], gus[0]))
        gx = gx.transpose(0, 3, 1, 2) if need_x else None
        if not has_bias:
            return gx, gw
        gb = gyl.sum(axis=(0, 1, 2)) if self.needs_grad(2) else None
        return gx, gw, gb

    def reference(self, x, w, b=None):
        """The output recomputed with the reference ops (for create_graph=True)."""
        return conv2d_reference(x, w, b, (1, 1), self.pads, (1, 1), 1)


def winograd_conv2d(x, weight, bias, pads):
    """The kernel on checked Tensors: x (N, C, H, W), weight (O, C, 3, 3), pads ((top,
    bottom), (left, right))."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return WinogradConv2dFunction.apply(*inputs, pads=pads)
