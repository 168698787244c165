"""The comparison the op-table tests share: an op run on ember and on torch from the same
arrays, values, dtype and shape, then the gradients of one random upstream gradient."""
import numpy as np

import ember


def compare_with_torch(torch, fn, arrays, dtype, name, tol32=dict(rtol=1e-5, atol=1e-6)):
    """``fn(module, *tensors)`` with ``module`` ember, then torch, on ``arrays`` (of ``dtype``)."""
    ex = [ember.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    ey, ty = fn(ember, *ex), fn(torch, *tx)
    assert ey.dtype == dtype, f"{name} changed dtype to {ey.dtype}"
    assert tuple(ey.shape) == tuple(ty.shape), name
    tol = tol32 if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **tol)
    g = np.random.default_rng(2).standard_normal(tuple(ey.shape)).astype(dtype)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    for e, t in zip(ex, tx):
        assert e.grad.dtype == dtype and e.grad.shape == e.shape
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)
