"""Creation functions against PyTorch 2.13: values, dtypes and shapes (one table, each row a
call written once for both libraries, ``m`` being ``ember`` or ``torch``), the error types, and
memory sharing (``from_numpy``, ``as_tensor``, ``asarray``)."""
import numpy as np
import pytest

import ember

# name, call(m): every row runs with m=ember and m=torch; values, dtype and shape must agree
CASES = [
    ("tensor_ints", lambda m: m.tensor([1, 2, 3])),
    ("tensor_floats", lambda m: m.tensor([[1.5, 2.0], [3.0, 4.0]])),
    ("tensor_bool", lambda m: m.tensor([True])),
    ("tensor_bool_int", lambda m: m.tensor([True, 1])),
    ("tensor_empty", lambda m: m.tensor([])),
    ("tensor_int_scalar", lambda m: m.tensor(3)),
    ("tensor_float_scalar", lambda m: m.tensor(3.0)),
    ("tensor_np_float64", lambda m: m.tensor(np.float64(1.5))),
    ("tensor_np_array", lambda m: m.tensor(np.arange(4, dtype=np.int32))),
    ("tensor_dtype", lambda m: m.tensor([1, 2], dtype=m.float64)),
    ("tensor_complex", lambda m: m.tensor([1j, 2])),
    ("tensor_of_tensors", lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)])),
    ("scalar_tensor", lambda m: m.scalar_tensor(3)),
    ("zeros_varargs", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3))),
    ("zeros_list", lambda m: m.zeros([2, 3], dtype=m.int64)),
    ("zeros_size", lambda m: m.zeros(m.Size([2, 3]))),
    ("zeros_size_kw", lambda m: m.zeros(size=(2, 3))),
    ("zeros_0d", lambda m: m.zeros(())),
    ("zeros_empty_dim", lambda m: m.zeros(0, 3)),
    ("ones_varargs", lambda m: m.ones(4, dtype=m.int32)),
    ("ones_tuple", lambda m: m.ones((1, 2), dtype=m.float64)),
    ("ones_bool", lambda m: m.ones(3, dtype=m.bool)),
    ("empty_shape", lambda m: m.empty(2, 3).fill_(0)),
    ("empty_tuple", lambda m: m.empty((2, 3), dtype=m.int64).fill_(1)),
    ("full_float", lambda m: m.full((2, 2), 7.5)),
    ("full_int", lambda m: m.full((2,), 7)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("full_complex", lambda m: m.full((2,), 1 + 2j)),
    ("full_dtype", lambda m: m.full([3], 2, dtype=m.float64)),
    ("full_like_int", lambda m: m.full_like(m.zeros(2, dtype=m.int32), 2.7)),
    ("full_like_dtype", lambda m: m.full_like(m.zeros(2, 3), 4, dtype=m.int64)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64))),
    ("zeros_like_dtype", lambda m: m.zeros_like(m.ones(2), dtype=m.int8)),
    ("ones_like", lambda m: m.ones_like(m.zeros(3, dtype=m.int32))),
    ("empty_like", lambda m: m.empty_like(m.zeros(2, 2, dtype=m.int16)).fill_(3)),
    ("eye_n", lambda m: m.eye(3)),
    ("eye_nm", lambda m: m.eye(2, 3)),
    ("eye_mn", lambda m: m.eye(4, 2, dtype=m.int64)),
    ("eye_0", lambda m: m.eye(0)),
    ("arange_int", lambda m: m.arange(5)),
    ("arange_start_end", lambda m: m.arange(2, 9, 3)),
    ("arange_negative_step", lambda m: m.arange(5, 0, -2)),
    ("arange_empty", lambda m: m.arange(5, 5)),
    ("arange_float_step", lambda m: m.arange(0, 1, 0.1)),
    ("arange_float_bounds", lambda m: m.arange(1, 2.5, 0.5)),
    ("arange_float_count", lambda m: m.arange(-3.3, 2.1, 0.7)),
    ("arange_thirds", lambda m: m.arange(0, 0.3, 0.1)),
    ("arange_float_end", lambda m: m.arange(4.5)),
    ("arange_float64", lambda m: m.arange(5, dtype=m.float64)),
    ("arange_int_dtype_float_step", lambda m: m.arange(0, 5, 1.5, dtype=m.int64)),
    ("arange_int_dtype_float_start", lambda m: m.arange(0.5, 5, 1, dtype=m.int64)),
    ("arange_float16", lambda m: m.arange(0, 1, 0.3, dtype=m.float16)),
    ("arange_int_tensor", lambda m: m.arange(m.tensor(3))),
    ("arange_float_tensor", lambda m: m.arange(m.tensor(3.0))),
    ("arange_large", lambda m: m.arange(0, 10, 0.01, dtype=m.float64)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace_many", lambda m: m.linspace(-1, 3, 101, dtype=m.float64)),
    ("linspace_f32", lambda m: m.linspace(-2.5, 7.25, 33)),
    ("linspace_int", lambda m: m.linspace(0, 10, 4, dtype=m.int64)),
    ("linspace_int_negative", lambda m: m.linspace(-7, 10, 6, dtype=m.int64)),
    ("linspace_one", lambda m: m.linspace(3, 10, 1)),
    ("linspace_zero", lambda m: m.linspace(3, 10, 0)),
    ("linspace_descending", lambda m: m.linspace(5, -5, 6)),
    ("logspace", lambda m: m.logspace(0, 2, 3)),
    ("logspace_base2", lambda m: m.logspace(0, 3, 4, base=2)),
    ("logspace_f64", lambda m: m.logspace(-2, 2, 9, dtype=m.float64)),
    ("logspace_int", lambda m: m.logspace(0, 2, 5, dtype=m.int64)),
    ("new_zeros_varargs", lambda m: m.zeros(2, dtype=m.int32).new_zeros(2, 3)),
    ("new_zeros_tuple", lambda m: m.zeros(2, dtype=m.float64).new_zeros((2, 3))),
    ("new_ones_dtype", lambda m: m.zeros(2, dtype=m.float64).new_ones(3, dtype=m.int8)),
    ("new_full", lambda m: m.zeros(2, dtype=m.int32).new_full((2,), 3.7)),
    ("new_full_float", lambda m: m.zeros(1, dtype=m.float64).new_full([2, 2], 1)),
    ("new_empty", lambda m: m.zeros(2, dtype=m.float64).new_empty(3).fill_(2)),
    ("new_tensor", lambda m: m.zeros(2, dtype=m.int32).new_tensor([1.5, 2])),
    ("new_tensor_dtype", lambda m: m.zeros(2, dtype=m.int32).new_tensor([1, 2], dtype=m.float32)),
]


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


@pytest.mark.parametrize("name,call", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_creation_matches_torch(torch, name, call, default):
    ember.set_default_dtype(getattr(np, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        e, t = call(ember), call(torch)
    finally:
        ember.set_default_dtype(np.float32)
        torch.set_default_dtype(torch.float32)
    assert isinstance(e, ember.Tensor)
    ev, tv = _np(e), _np(t)
    assert ev.dtype == tv.dtype, (ev.dtype, tv.dtype)
    assert ev.shape == tv.shape
    if ev.dtype.kind in "fc":
        # PyTorch's kernels may fuse a multiply-add (one rounding less): a few ulps of the range
        eps = np.finfo(ev.dtype).eps
        scale = float(np.abs(tv).max()) if tv.size else 0.0
        np.testing.assert_allclose(ev, tv, rtol=2 * eps, atol=4 * eps * scale)
    else:
        np.testing.assert_array_equal(ev, tv)
    assert e.requires_grad is False


ERRORS = [
    ("negative_dim", lambda m: m.zeros(-1, 2)),
    ("negative_dim_tuple", lambda m: m.ones((2, -3))),
    ("float_size", lambda m: m.zeros(2.0)),
    ("full_negative", lambda m: m.full((-1,), 2.0)),
    ("eye_negative", lambda m: m.eye(-1)),
    ("eye_negative_m", lambda m: m.eye(2, -1)),
    ("arange_step_zero", lambda m: m.arange(0, 5, 0)),
    ("arange_wrong_sign", lambda m: m.arange(0, 5, -1)),
    ("arange_infinite", lambda m: m.arange(0, float("inf"))),
    ("arange_int_dtype_step_truncated_to_0", lambda m: m.arange(0, 2.5, 0.5, dtype=m.int64)),
    ("full_int_size", lambda m: m.full(2, 3.0)),
    ("new_full_int_size", lambda m: m.zeros(1).new_full(2, 3.0)),
    ("zeros_no_size", lambda m: m.zeros()),
    ("eye_float", lambda m: m.eye(2.0)),
    ("linspace_float_steps", lambda m: m.linspace(3, 10, 2.0)),
    ("tensor_ragged", lambda m: m.tensor([[1, 2], [3]])),
    ("tensor_str", lambda m: m.tensor("a")),
    ("asarray_buffer_not_a_multiple", lambda m: m.asarray(b"abc")),
    ("linspace_negative_steps", lambda m: m.linspace(3, 10, -1)),
    ("linspace_no_steps", lambda m: m.linspace(3, 10)),
    ("from_numpy_list", lambda m: m.from_numpy([1, 2])),
    ("from_numpy_object", lambda m: m.from_numpy(np.array(["a"], object))),
    ("int_requires_grad", lambda m: m.zeros(2, dtype=m.int64, requires_grad=True)),
    ("tensor_int_requires_grad", lambda m: m.tensor([1, 2], requires_grad=True)),
    ("arange_int_requires_grad", lambda m: m.arange(3, requires_grad=True)),
]


@pytest.mark.parametrize("name,call", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(torch, name, call):
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(Exception) as ee:
        call(ember)
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value)


def test_requires_grad_dtype_and_device_keywords():
    for t in (ember.zeros(2, requires_grad=True), ember.ones((2,), dtype=ember.float64, requires_grad=True),
              ember.full((2,), 1.0, requires_grad=True), ember.tensor([1.0], requires_grad=True),
              ember.arange(0.0, 3.0, requires_grad=True), ember.linspace(0, 1, 3, requires_grad=True),
              ember.eye(2, requires_grad=True), ember.empty(2, requires_grad=True),
              ember.zeros(2).new_zeros(3, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
    for dt in (ember.float64, np.float64, "float64", np.dtype("float64")):
        assert ember.zeros(2, dtype=dt).dtype == np.float64
    for f in (lambda **k: ember.zeros(2, **k), lambda **k: ember.tensor([1.0], **k),
              lambda **k: ember.arange(3, **k), lambda **k: ember.eye(2, **k),
              lambda **k: ember.zeros_like(ember.ones(2), **k)):
        assert f(device="cpu").shape[0] >= 1
        assert f(device=ember.device("cpu")).shape[0] >= 1


def test_out_is_filled_and_returned(torch):
    out = ember.ones(2, 2)
    assert ember.zeros(2, 2, out=out) is out and float(out.sum()) == 0
    v = out._version
    assert ember.arange(4, out=out) is out and out.dtype == np.float32
    assert out._version > v
    t = torch.arange(4, out=torch.ones(2, 2))  # the element count is right: out keeps its shape
    np.testing.assert_array_equal(out.numpy(), t.numpy())
    e, t = ember.zeros(3, out=ember.ones(2, 2)), torch.zeros(3, out=torch.ones(2, 2))  # else it is resized
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    r = ember.empty(5)
    assert ember.rand(2, 3, out=r) is r and r.shape == (2, 3)


def test_from_numpy_shares_memory_and_keeps_dtype():
    for dt in (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.uint8, np.bool_, np.complex64):
        a = np.zeros(3, dtype=dt)
        t = ember.from_numpy(a)
        assert t.dtype == dt and t.shape == (3,)
        a[1] = 1
        assert t.numpy()[1] == 1  # a write to the array shows in the tensor
        t[2] = 1
        assert a[2] == 1  # and one to the tensor in the array


def test_as_tensor_shares_when_it_can():
    a = np.arange(3.0)
    t = ember.as_tensor(a)
    assert t.dtype == np.float64 and np.shares_memory(t.numpy(), a)
    assert not np.shares_memory(ember.as_tensor(a, dtype=ember.float32).numpy(), a)
    x = ember.ones(2)
    assert ember.as_tensor(x) is x and ember.as_tensor(x, dtype=ember.float32) is x
    assert ember.as_tensor(x, dtype=ember.float64).dtype == np.float64
    assert ember.as_tensor([1, 2]).dtype == np.int64 and ember.as_tensor([1.5]).dtype == np.float32


def test_asarray_shares_copies_and_refuses(torch):
    a = np.arange(3.0)
    t = ember.asarray(a)
    assert np.shares_memory(t.numpy(), a) and t.dtype == np.float64
    assert not np.shares_memory(ember.asarray(a, copy=True).numpy(), a)
    x = ember.ones(2)
    assert ember.asarray(x) is x
    y = ember.asarray(x, requires_grad=True)
    assert y.requires_grad and np.shares_memory(y.detach().numpy(), x.numpy())
    assert ember.asarray([1.5]).dtype == torch.asarray([1.5]).numpy().dtype
    for buf, dt in ((b"abc", "uint8"), (b"abcdefgh", "float32"), (b"abcdefgh", "int16"), (b"abcd", None)):
        e = ember.asarray(buf, dtype=None if dt is None else getattr(ember, dt))
        t = torch.asarray(buf, dtype=None if dt is None else getattr(torch, dt))
        np.testing.assert_array_equal(e.numpy(), t.numpy())
        assert e.numpy().dtype == t.numpy().dtype
    ba = bytearray(b"abc")
    ember.asarray(ba, dtype=ember.uint8)[0] = 5  # a writable buffer is shared
    assert ba == bytearray(b"\x05bc")
    with pytest.raises(type(_exc(lambda: torch.asarray(np.zeros(2), dtype=torch.float32, copy=False)))):
        ember.asarray(np.zeros(2), dtype=ember.float32, copy=False)


def _exc(f):
    try:
        f()
    except Exception as e:
        return e
    raise AssertionError("expected an error")


def test_tensor_copies_its_data():
    a = np.zeros(3)
    t = ember.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 0
    x = ember.ones(2)
    y = ember.tensor(x)
    x.add_(1)
    assert float(y.sum()) == 2.0


def test_new_methods_follow_self():
    x = ember.ones(2, 3, dtype=ember.float64)
    for t in (x.new_zeros(4), x.new_ones((1, 2)), x.new_empty(ember.Size([2])), x.new_full((2,), 3),
              x.new_tensor([1, 2])):
        assert t.dtype == np.float64 and t.device == x.device and not t.requires_grad
    assert x.new_zeros(2, 2).shape == (2, 2) and x.new_ones(3, dtype=ember.int32).dtype == np.int32
    src = ember.ones(2)
    n = x.new_tensor(src)
    src.add_(1)
    assert float(n.sum()) == 2.0  # new_tensor copies


def test_default_dtype_rules():
    assert ember.zeros(2).dtype == ember.get_default_dtype()
    assert ember.arange(3).dtype == np.int64 and ember.arange(3.0).dtype == np.float32
    assert ember.randperm(3).dtype == np.int64
    assert ember.tensor([True]).dtype == np.bool_
    ember.set_default_dtype(np.float64)
    try:
        for t in (ember.zeros(2), ember.ones(1), ember.empty(1), ember.full((1,), 2.0), ember.eye(2),
                  ember.arange(0.5), ember.linspace(0, 1, 3), ember.logspace(0, 1, 2), ember.tensor([1.0]),
                  ember.rand(2), ember.randn(2), ember.normal(0.0, 1.0, (2,))):
            assert t.dtype == np.float64, t
        assert ember.full((1,), 2).dtype == np.int64 and ember.arange(2).dtype == np.int64
    finally:
        ember.set_default_dtype(np.float32)
