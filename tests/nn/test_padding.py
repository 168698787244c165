"""F.pad and the padding layers against PyTorch: constant (negative pads crop), reflect,
replicate and circular in 1-3 dimensions, values and gradients to second order, finite
differences, PyTorch's errors, and the layers' stored padding, reprs and unbatched input."""
import re

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradgradcheck
from ember.nn import functional as F

from higher_order_helpers import against_torch

CASES = [  # (shape, pad, mode)
    ((2, 3, 5), (2, 1), "reflect"),
    ((3, 5), (-1, 3), "reflect"),
    ((2, 3, 4, 5), (1, 2, 3, 0), "reflect"),
    ((2, 2, 3, 4, 5), (1, 2, 2, 1, 1, 2), "reflect"),
    ((2, 3, 5), (4, 7), "replicate"),  # replicate pads may exceed the size
    ((3, 4, 5), (1, -2, 3, 1), "replicate"),
    ((2, 3, 3, 4, 5), (1, 2, 2, 1, 7, -1), "replicate"),
    ((2, 3, 5), (3, -2), "circular"),  # circular crops first, then wraps what is left
    ((2, 3, 4, 5), (1, 2, -1, 2), "circular"),
    ((3, 3, 4, 5), (1, 2, 2, 1, 3, 2), "circular"),
    ((2, 2, 3, 4, 5), (-1, 2, 1, -1, 2, -1), "circular"),
    ((2, 3, 4, 5), (1, -2, 3, 1), "constant"),
    ((2, 3, 4, 5), (1, -2, 3, 1, 0, 2, -1, 1), "constant"),
    ((4,), (2, 3), "constant"),
]


def _ids(cases):
    return [f"{m}-{len(s)}d-{p}" for s, p, m in cases]


@pytest.mark.parametrize("shape,pad,mode", CASES, ids=_ids(CASES))
def test_pad_matches_torch_to_second_order(torch, rng, shape, pad, mode):
    x = rng.standard_normal(shape)
    kw = dict(mode=mode) if mode != "constant" else dict(mode=mode, value=1.5)
    against_torch(torch, lambda a: F.pad(a, pad, **kw), lambda a: torch.nn.functional.pad(a, pad, **kw),
                  [x], [True], rng)


@pytest.mark.parametrize("shape,pad,mode", CASES[::3], ids=_ids(CASES[::3]))
def test_pad_float32_matches_torch(torch, rng, shape, pad, mode):
    x = rng.standard_normal(shape).astype(np.float32)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = F.pad(e, pad, mode=mode), torch.nn.functional.pad(t, pad, mode=mode)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert y.dtype == np.float32 and e.grad.dtype == np.float32
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,pad,mode", [((1, 2, 4), (2, -1), "reflect"), ((2, 3, 3), (1, 2, -1, 1), "replicate"),
                                            ((1, 2, 2, 3), (1, 1, 2, 0, 1, 1), "circular"),
                                            ((2, 3, 2), (1, -1, 2, 1), "constant")])
def test_pad_gradcheck_and_gradgradcheck(rng, shape, pad, mode):
    x = ember.tensor(rng.standard_normal(shape), requires_grad=True)
    fn = lambda a: F.pad(a, pad, mode=mode)  # noqa: E731
    assert ember.gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


def test_constant_pad_keeps_integer_dtype_and_casts_the_value(torch):
    a = np.arange(6).reshape(2, 3)
    y = F.pad(ember.tensor(a), (1, 1), value=2.5)
    ty = torch.nn.functional.pad(torch.tensor(a), (1, 1), value=2.5)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(F.pad(ember.tensor(a), (1, 1), mode="circular").numpy(),
                                  torch.nn.functional.pad(torch.tensor(a)[None], (1, 1), mode="circular")[0].numpy())
    z = F.pad(ember.tensor(a), [])  # nothing to pad: a copy
    np.testing.assert_array_equal(z.numpy(), a)


ERRORS = [  # (shape, pad, mode, value): torch raises
    ((1, 3, 4), (1, 2, 3), "constant", None),
    ((1, 3, 4), (1, 1, 1, 1, 1, 1, 1, 1), "constant", None),
    ((1, 3, 4), (-5, 1), "constant", None),
    ((1, 3, 4), (1, 1, 1), "foo", None),
    ((1, 3, 4), (4, 1), "reflect", None),
    ((1, 3, 4), (1, 1, 3, 1), "reflect", None),
    ((2, 3, 4, 5), (1, 1, 1, 1, 4, 1), "reflect", None),
    ((1, 2, 3, 4), (1, 1), "reflect", None),
    ((3,), (1, 1), "replicate", None),
    ((2, 3, 4), (1, 1, 1, 1, 1, 1), "circular", None),
    ((1, 3, 4), (1, 1), "reflect", 2.0),
    ((1, 3, 4), (1, 1), "replicate", 1),
    ((2, 3, 0), (1, 1), "reflect", None),
    ((0, 2, 4), (1, 1, 1, 1), "replicate", None),
    ((1, 3, 4), (5, 1), "circular", None),
    ((1, 3, 4), (-3, -2), "circular", None),
    ((1, 3, 4), (-3, -2), "replicate", None),
    ((2, 3, 4, 5), (-1, -1, -3, -2, 0, 0), "replicate", None),
    ((1, 3, 4), (1.5, 1), "constant", None),
    ((1, 3, 4), 2, "constant", None),
]


def assert_same_error(torch, fe, ft):
    with pytest.raises(Exception) as te:
        ft()
    expected = str(te.value).replace("torch.", "ember.")
    with pytest.raises(type(te.value), match=re.escape(expected)) as ee:
        fe()
    assert type(ee.value) is type(te.value)


@pytest.mark.parametrize("shape,pad,mode,value", ERRORS)
def test_pad_errors_match_torch(torch, shape, pad, mode, value):
    x = np.zeros(shape)
    assert_same_error(torch, lambda: F.pad(ember.tensor(x), pad, mode=mode, value=value),
                      lambda: torch.nn.functional.pad(torch.tensor(x), pad, mode=mode, value=value))


LAYERS = [  # (name, args, input shapes)
    ("ZeroPad1d", (2,), [(2, 3, 4), (3, 4)]),
    ("ZeroPad2d", ((1, 2, 0, 3),), [(2, 3, 4, 5), (3, 4, 5)]),
    ("ZeroPad3d", (1,), [(1, 2, 3, 4, 5), (2, 3, 4, 5)]),
    ("ConstantPad1d", ((2, -1), 3.5), [(2, 3, 4), (3, 4)]),
    ("ConstantPad2d", (1, 0), [(2, 3, 4, 5), (3, 4, 5)]),
    ("ConstantPad3d", ((1, 2, 0, 1, 2, 0), -1.0), [(1, 2, 3, 4, 5), (2, 3, 4, 5)]),
    ("ReflectionPad1d", (2,), [(2, 3, 4), (3, 4)]),
    ("ReflectionPad2d", ((1, 2, 2, 0),), [(2, 3, 4, 5), (3, 4, 5)]),
    ("ReflectionPad3d", (1,), [(1, 2, 3, 4, 5), (2, 3, 4, 5)]),
    ("ReplicationPad1d", ((3, 5),), [(2, 3, 4), (3, 4)]),
    ("ReplicationPad2d", (2,), [(2, 3, 4, 5), (3, 4, 5)]),
    ("ReplicationPad3d", ((1, 0, 2, 1, 0, 3),), [(1, 2, 3, 4, 5), (2, 3, 4, 5)]),
    ("CircularPad1d", (2,), [(2, 3, 4), (3, 4)]),
    ("CircularPad2d", ((1, 2, 3, 0),), [(2, 3, 4, 5), (3, 4, 5)]),
    ("CircularPad3d", (1,), [(1, 2, 3, 4, 5), (2, 3, 4, 5)]),
]


@pytest.mark.parametrize("name,args,shapes", LAYERS, ids=[c[0] for c in LAYERS])
def test_padding_layers_match_torch(torch, rng, name, args, shapes):
    m, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(m) == repr(tm)
    assert m.padding == tm.padding and type(m.padding) is tuple
    if hasattr(tm, "value"):
        assert m.value == tm.value
    assert dict(m.state_dict()) == {} and list(m.parameters()) == []
    for shape in shapes:  # batched and unbatched
        x = rng.standard_normal(shape)
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = m(e), tm(t)
        assert y.shape == tuple(ty.shape)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,shape", [("CircularPad1d", (1, 2, 3, 4)), ("CircularPad2d", (4, 5)),
                                        ("CircularPad3d", (2, 3, 4)), ("ReflectionPad1d", (1, 3, 4, 5)),
                                        ("ReplicationPad2d", (4, 5))])
def test_padding_layers_reject_wrong_dims_as_torch(torch, name, shape):
    x = np.zeros(shape)
    assert_same_error(torch, lambda: getattr(nn, name)(1)(ember.tensor(x)),
                      lambda: getattr(torch.nn, name)(1)(torch.tensor(x)))
