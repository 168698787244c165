"""The Tensor's everyday surface against PyTorch: ``size()``/``ember.Size``, dims and memory
queries (stride, storage_offset, data_ptr, contiguity), the view/copy methods (view, t, mT, H,
movedim, unflatten, narrow, squeeze/flatten with PyTorch's arguments, contiguous...) with their
gradients, ``__format__``, ``numpy(force=)`` and DLPack both ways."""
import pickle

import numpy as np
import pytest

import ember
from ember.gradcheck import gradgradcheck

# name, fn(m, x) (m is the ember or the torch module), input shape
MOVES = [
    ("view", lambda m, x: x.view(3, 4), (2, 6)),
    ("view_infer", lambda m, x: x.view(-1), (2, 3, 2)),
    ("view_tuple", lambda m, x: x.view((4, -1)), (2, 6)),
    ("view_as", lambda m, x: x.view_as(m.ones(6, 2)), (3, 4)),
    ("reshape_as", lambda m, x: x.t().reshape_as(m.ones(6, 2)), (3, 4)),
    ("expand_as", lambda m, x: x.expand_as(m.ones(2, 3, 4)), (3, 1)),
    ("t_2d", lambda m, x: x.t(), (2, 3)),
    ("t_1d", lambda m, x: x.t(), (4,)),
    ("t_fn", lambda m, x: m.t(x), (3, 2)),
    ("mT", lambda m, x: x.mT, (2, 3, 4)),
    ("mH", lambda m, x: x.mH, (2, 3, 4)),
    ("H", lambda m, x: x.H, (3, 4)),
    ("adjoint", lambda m, x: m.adjoint(x), (2, 4, 3)),
    ("movedim", lambda m, x: x.movedim(0, -1), (2, 3, 4)),
    ("movedim_tuple", lambda m, x: m.movedim(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("moveaxis", lambda m, x: x.moveaxis(2, 0), (2, 3, 4)),
    ("swapaxes", lambda m, x: x.swapaxes(0, 2), (2, 3, 4)),
    ("swapdims", lambda m, x: x.swapdims(1, -1), (2, 3, 4)),
    ("swapdims_fn", lambda m, x: m.swapdims(x, 0, 1), (2, 3)),
    ("unflatten", lambda m, x: x.unflatten(1, (2, 3)), (4, 6)),
    ("unflatten_infer", lambda m, x: m.unflatten(x, -1, (-1, 2)), (3, 4)),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), (3, 4)),
    ("narrow_neg_start", lambda m, x: m.narrow(x, 0, -2, 2), (3, 4)),
    ("narrow_tensor_start", lambda m, x: x.narrow(-1, m.tensor(1), 3), (3, 4)),
    ("squeeze_tuple", lambda m, x: x.squeeze((0, 2)), (1, 3, 1, 2)),
    ("squeeze_dim_kw", lambda m, x: x.squeeze(dim=-1), (3, 1)),
    ("squeeze_not_one", lambda m, x: x.squeeze(0), (3, 1)),
    ("flatten_range", lambda m, x: x.flatten(1, 2), (2, 3, 4, 2)),
    ("flatten_kw", lambda m, x: x.flatten(start_dim=-2), (2, 3, 4)),
    ("flatten_0d", lambda m, x: x.flatten(), ()),
    ("contiguous", lambda m, x: x.t().contiguous() * 2, (3, 4)),
    ("contiguous_already", lambda m, x: x.contiguous(), (3, 4)),
    ("contiguous_channels_last", lambda m, x: x.contiguous(memory_format=m.channels_last) * 2, (2, 3, 2, 2)),
]


def _array(shape, dtype, seed):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("case", MOVES, ids=[c[0] for c in MOVES])
def test_gradcheck(case):
    name, fn, shape = case
    x = ember.tensor(_array(shape, np.float64, 0), requires_grad=True)
    assert ember.gradcheck(lambda t: fn(ember, t), [x])
    assert gradgradcheck(lambda t: fn(ember, t), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MOVES, ids=[c[0] for c in MOVES])
def test_against_torch(case, dtype, torch):
    name, fn, shape = case
    a = _array(shape, dtype, 1)
    ex, tx = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ey, ty = fn(ember, ex), fn(torch, tx)
    assert ey.shape == tuple(ty.shape) and isinstance(ey.shape, ember.Size)
    assert ey.detach().numpy().dtype == ty.detach().numpy().dtype == dtype
    np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
    assert ey.is_contiguous() == ty.is_contiguous(), "contiguity differs from PyTorch's"
    g = _array(tuple(ty.shape), dtype, 2)
    ey.backward(ember.tensor(g))
    ty.backward(torch.tensor(g))
    assert ex.grad.numpy().dtype == dtype
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_size_is_a_torch_size(torch):
    x, tx = ember.ones(2, 3, 4), torch.ones(2, 3, 4)
    s = x.size()
    assert isinstance(s, ember.Size) and isinstance(s, tuple) and isinstance(x.shape, ember.Size)
    assert s == (2, 3, 4) == tuple(tx.size()) and x.shape == s
    assert repr(s) == "ember.Size([2, 3, 4])" == repr(tx.size()).replace("torch", "ember") == str(s)
    assert s.numel() == 24 == tx.size().numel() and ember.Size([]).numel() == 1 == torch.Size([]).numel()
    assert ember.Size([]).numel() == torch.Size([]).numel()
    for k in (0, 1, 2, -1, -3):
        assert x.size(k) == tx.size(k) and x.size(dim=k) == tx.size(dim=k)
    assert isinstance(s[1:], ember.Size) and isinstance(tx.size()[1:], torch.Size) and s[1:] == (3, 4)
    assert isinstance(s + (5,), ember.Size) == isinstance(tx.size() + (5,), torch.Size)
    assert s + (5,) == (2, 3, 4, 5) and (1,) + s == (1, 2, 3, 4)
    assert ember.Size((2, 3)) == torch.Size((2, 3)) and ember.Size(np.array([2, 3])) == (2, 3)
    assert pickle.loads(pickle.dumps(s)) == s and isinstance(pickle.loads(pickle.dumps(s)), ember.Size)
    assert x.numel() == x.nelement() == tx.nelement() == 24
    assert x.dim() == x.ndimension() == x.ndim == tx.ndimension() == 3
    assert ember.ones(()).size() == () and ember.ones(()).numel() == 1
    with pytest.raises(TypeError):
        torch.Size([2.0])
    with pytest.raises(TypeError, match="int"):
        ember.Size([2.0])


@pytest.mark.parametrize("call", [lambda x: x.size(3), lambda x: x.size(-4), lambda x: x[0, 0, 0].size(0),
                                  lambda x: x.stride(3), lambda x: x[0, 0, 0].stride(0)])
def test_size_out_of_range_is_an_index_error(call, torch):
    with pytest.raises(IndexError):
        call(torch.ones(2, 3, 4))
    with pytest.raises(IndexError, match="Dimension"):
        call(ember.ones(2, 3, 4))


MEMORY = [
    ("contiguous", lambda x: x),
    ("transposed", lambda x: x.t()),
    ("sliced_rows", lambda x: x[1:]),
    ("sliced_cols", lambda x: x[:, 2:]),
    ("stepped", lambda x: x[::2, 1::2]),
    ("row", lambda x: x[2]),
    ("narrowed", lambda x: x.narrow(1, 3, 2)),
    ("expanded", lambda x: x[:, :1].expand(6, 3)),
    ("unsqueezed_view", lambda x: x[1:].reshape(5, 1, 6)),
    ("element", lambda x: x[3, 4]),
    ("channels_last", lambda x: x.reshape(1, 6, 3, 2).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)),
]


@pytest.mark.parametrize("case", MEMORY, ids=[c[0] for c in MEMORY])
def test_memory_queries_match_torch(case, torch):
    name, fn = case
    a = np.arange(36, dtype=np.float32).reshape(6, 6)
    x, tx = ember.tensor(a), torch.tensor(a)
    v, tv = fn(x), fn(tx)
    assert v.is_contiguous() == tv.is_contiguous()
    assert v.storage_offset() == tv.storage_offset()
    if name not in ("expanded", "unsqueezed_view", "channels_last"):  # size-1 and 0-stride dims: any stride is right
        assert v.stride() == tv.stride()
    assert v.element_size() == tv.element_size() == 4 and v.itemsize == tv.itemsize
    assert v.nbytes == tv.nbytes
    if name != "channels_last":  # a copy: its address is its own
        assert v.data_ptr() - x.data_ptr() == tv.data_ptr() - tx.data_ptr()
    c = v.contiguous()
    assert c.is_contiguous() and (c is v) == (tv.contiguous() is tv)
    np.testing.assert_array_equal(c.numpy(), tv.contiguous().numpy())


def test_channels_last_contiguity(torch):
    a = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    x, tx = ember.tensor(a), torch.tensor(a)
    for fmt_e, fmt_t in [("channels_last", torch.channels_last), (ember.channels_last, torch.channels_last)]:
        cl, tcl = x.contiguous(memory_format=fmt_e), tx.contiguous(memory_format=fmt_t)
        assert cl.is_contiguous(memory_format=fmt_e) == tcl.is_contiguous(memory_format=fmt_t) is True
        assert cl.is_contiguous() == tcl.is_contiguous() is False
        assert cl.stride() == tcl.stride()
        np.testing.assert_array_equal(cl.numpy(), tcl.numpy())


def test_is_leaf_and_strides_of_int_and_double(torch):
    w = ember.ones(2, 3, requires_grad=True)
    assert w.is_leaf and not (w * 2).is_leaf and ember.ones(2).is_leaf
    for dt, tdt in ((np.int64, torch.int64), (np.float64, torch.float64), (np.int8, torch.int8)):
        e, t = ember.zeros(3, 4, dtype=dt), torch.zeros(3, 4, dtype=tdt)
        assert e.stride() == t.stride() and e.element_size() == t.element_size() and e.nbytes == t.nbytes


def test_format_as_torch(torch):
    for v in (0.123456, -2.5, 3.0):
        e, t = ember.tensor(v), torch.tensor(v)
        for spec in (".4f", ".2e", "", "10.3f", "g"):
            assert format(e, spec) == format(t, spec) == format(t.item(), spec)
        assert f"{e:.4f}" == f"{t:.4f}"
    e, t = ember.tensor(np.int64(7)), torch.tensor(7)
    assert f"{e:03d}" == f"{t:03d}" == "007"
    loss = (ember.ones(3, requires_grad=True) * 0.5).sum()
    assert f"loss {loss:.3f}" == "loss 1.500"
    x = ember.tensor([1.5, 2.5])
    assert format(x) == str(x) and f"{x}" == str(x)
    with pytest.raises(TypeError):
        format(torch.tensor([1.5]), ".2f")
    with pytest.raises(TypeError):
        format(ember.tensor([1.5]), ".2f")


def test_numpy_refuses_a_tensor_that_requires_grad(torch):
    msg = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
    for m in (torch, ember):
        w = m.ones(2, requires_grad=True)
        for t in (w, w * 2):
            with pytest.raises(RuntimeError) as e:
                t.numpy()
            assert str(e.value) == msg
            assert np.array_equal(t.numpy(force=True), [1, 1] if t is w else [2, 2])
            assert np.array_equal(t.detach().numpy(), t.numpy(force=True))
    w = ember.ones(3, requires_grad=True)
    assert w.numpy(force=True) is w._data and w.detach().numpy() is w._data  # shared, not copied
    with ember.no_grad():
        assert (w * 2).numpy().tolist() == [2, 2, 2]
    with pytest.raises(TypeError):
        w.numpy(True)  # force is keyword-only, as in PyTorch


def test_dlpack_both_ways(torch):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = ember.tensor(a)
    # ember -> torch and NumPy: the same memory
    t = torch.from_dlpack(x)
    assert tuple(t.shape) == (3, 4) and t.dtype == torch.float32 and t.data_ptr() == x.data_ptr()
    n = np.from_dlpack(x)
    assert np.shares_memory(n, x.numpy())
    t[0, 0] = 100.0
    assert x[0, 0].item() == 100.0 and n[0, 0] == 100.0
    assert x.__dlpack_device__() == (1, 0) == tuple(int(v) for v in torch.ones(1).__dlpack_device__())
    # torch / NumPy -> ember
    tt = torch.arange(6, dtype=torch.int64).reshape(2, 3)
    e = ember.from_dlpack(tt)
    assert isinstance(e, ember.Tensor) and e.shape == (2, 3) and e.numpy().dtype == np.int64
    assert e.data_ptr() == tt.data_ptr()
    tt[1, 2] = -1
    assert e[1, 2].item() == -1
    e2 = ember.from_dlpack(torch.ones(2, 2, dtype=torch.float64).t())
    assert e2.stride() == (1, 2) and e2.numpy().dtype == np.float64
    e3 = ember.from_dlpack(a)
    assert np.shares_memory(e3.numpy(), a)
    e4 = ember.from_dlpack(torch.ones(3).__dlpack__())  # a bare capsule, as torch.utils.dlpack.to_dlpack gives
    assert e4.numpy().tolist() == [1.0, 1.0, 1.0]
    # a tensor that requires grad is refused, as PyTorch refuses it
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="require"):
        torch.from_dlpack(w)
    with pytest.raises((RuntimeError, BufferError)):
        np.from_dlpack(torch.ones(2, requires_grad=True))


# fn(m, x) for x a (2, 3, 4) float tensor; ember must raise PyTorch's exception type
ERRORS = [
    ("view_incompatible", lambda m, x: x.transpose(0, 2).view(-1), "view size is not compatible"),
    ("view_bad_size", lambda m, x: x.view(5, 5), "shape '[5, 5]' is invalid for input of size 24"),
    ("view_two_infer", lambda m, x: x.view(-1, -1), "only one dimension can be inferred"),
    ("reshape_bad_size", lambda m, x: x.reshape(7), "shape '[7]' is invalid for input of size 24"),
    ("t_3d", lambda m, x: x.t(), "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    ("mT_1d", lambda m, x: x[0, 0].mT, "tensor.mT is only supported on matrices or batches of matrices"),
    ("H_3d", lambda m, x: x.H, "tensor.H is only supported on matrices (2-D tensors)"),
    ("movedim_lengths", lambda m, x: x.movedim((0, 1), (1,)), "movedim: Invalid source or destination dims"),
    ("movedim_repeat", lambda m, x: x.movedim((0, 0), (1, 2)), "repeated dim in `source`"),
    ("movedim_range", lambda m, x: x.movedim(3, 0), "Dimension out of range"),
    ("unflatten_sizes", lambda m, x: x.unflatten(1, (2, 2)), "don't multiply up to the size of dim 1 (3)"),
    ("narrow_long", lambda m, x: x.narrow(2, 2, 3), "start (2) + length (3) exceeds dimension size (4)."),
    ("narrow_start", lambda m, x: x.narrow(2, 5, 0), "start out of range"),
    ("squeeze_range", lambda m, x: x.squeeze(3), "Dimension out of range"),
    ("flatten_order", lambda m, x: x.flatten(2, 1), "start_dim cannot come after end_dim"),
    ("flatten_range", lambda m, x: x.flatten(0, 3), "Dimension out of range"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case, torch):
    name, fn, match = case
    a = np.ones((2, 3, 4), np.float32)
    with pytest.raises(Exception) as te:
        fn(torch, torch.tensor(a))
    with pytest.raises(Exception) as ee:
        fn(ember, ember.tensor(a))
    assert type(te.value) in type(ee.value).__mro__, (te.value, ee.value)
    assert match in str(ee.value), str(ee.value)


def test_views_share_memory_and_version(torch):
    x = ember.zeros(3, 4)
    for v in (x.view(12), x.t(), x.mT, x.movedim(0, 1), x.narrow(0, 1, 2), x.unflatten(1, (2, 2)), x.view_as(x)):
        assert np.shares_memory(v.numpy(), x.numpy())
        before = v._version
        x.add_(1)
        assert v._version == before + 1


def test_view_keywords_and_dtype(torch):
    a = np.arange(8, dtype=np.float32).reshape(2, 4)
    x, tx = ember.tensor(a), torch.tensor(a)
    assert x.view(size=(8,)).shape == tuple(tx.view(size=(8,)).shape)
    for e_dt, t_dt in ((np.int32, torch.int32), (np.float16, torch.float16), (np.float64, torch.float64)):
        ev, tv = x.view(e_dt), tx.view(t_dt)
        assert ev.shape == tuple(tv.shape) and ev.numpy().dtype == tv.numpy().dtype
        np.testing.assert_array_equal(ev.numpy(), tv.numpy())
        assert np.shares_memory(ev.numpy(), x.numpy())
    np.testing.assert_array_equal(x.view(dtype=np.int32).numpy(), tx.view(dtype=torch.int32).numpy())
