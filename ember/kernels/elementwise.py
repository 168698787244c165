"""Fast paths for the pointwise ops of ``ember/ops/elementwise.py``, on arrays only.

Each function returns exactly what its reference returns (the same values, bit for bit) and
is called by the op only when ``ember.kernels.enabled()``; tests/core/test_kernels_elementwise.py
checks every one against its reference.
"""
import numpy as np

from ..ops._parallel import big, parallel_for
from ..ops._util import all_finite, empty_as, flat, keep_grad


def relu(a):
    """``np.maximum(a, 0)``, ``ReLU.forward``'s reference.

    A large dense float array (C order or channels-last) is split over the cores by its flat
    view, and the result keeps the input's layout. Justified by the conv-net steps of
    ``python -m benchmarks`` (``cnnsteps``, ``cifar``: the ReLU after each convolution runs
    over millions of channels-last elements); commit 6edd7c1 measured it.
    """
    af = flat(a) if a.dtype.kind == "f" and big(a.size) else None
    if af is None:
        return np.maximum(a, 0)
    y = empty_as(a)
    yf = flat(y)
    parallel_for(lambda s, e: np.maximum(af[s:e], 0, out=yf[s:e]), af.size)
    return y


def relu_backward(gy, y):
    """``keep_grad(gy, y != 0)``, ``ReLU.backward``'s reference, split over the cores like
    ``relu``: each part checks its gradient for inf and NaN as it masks it.

    When ``gy`` comes in another layout than ``y`` (C order from a Flatten, ``y``
    channels-last from the pooling before), a pass over mixed strides runs in short inner
    loops, 3-5x slower than copying ``gy`` into ``y``'s layout and masking that in place; the
    gradient then has ``y``'s layout, the one pooling's backward reads fastest. Justified by
    ReLU -> MaxPool2d -> Flatten forward+backward at (128, 64, 11, 11): 7.94-8.41 ms ->
    6.41-6.91 ms (commit 2e96924; the ``cnnsteps`` line of ``python -m benchmarks``).
    """
    yf = flat(y) if gy.dtype == y.dtype and gy.shape == y.shape else None
    if yf is None:
        return keep_grad(gy, y != 0)
    if gy.strides == y.strides:
        gx = empty_as(gy)
        gf = flat(gy)
    else:
        gx = empty_as(y)
        np.copyto(gx, gy)
        gf = flat(gx)
    xf = flat(gx)
    bad = []  # parts whose gradient holds inf or NaN: then the whole takes keep_grad's select

    def part(s, e):
        if all_finite(gf[s:e]):
            np.multiply(gf[s:e], yf[s:e] != 0, out=xf[s:e])
        else:
            bad.append(s)

    parallel_for(part, yf.size)
    if bad:
        return keep_grad(gy, y != 0)
    return gx
