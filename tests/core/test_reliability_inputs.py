"""Issue #24, layers and tensors: inputs ember cannot represent are refused where they become
tensors (and layers name themselves), norms take empty batches, and only floating tensors
require grad (integer results of ops are not differentiable). PyTorch is the oracle."""
import numpy as np
import pytest

import ember
from ember import nn

# ----- conversion: what a tensor cannot hold -----

_BAD = {
    "object_none": lambda: np.array([[None] * 4] * 3, dtype=object),
    "object_numbers": lambda: np.ones((3, 4)).astype(object),
    "str": lambda: np.array([["a"] * 4] * 3),
    "bytes": lambda: np.array([[b"a"] * 4] * 3),
    "datetime": lambda: np.ones((3, 4), "datetime64[s]"),
    "void": lambda: np.zeros((3, 4), "V4"),
}


@pytest.mark.parametrize("kind", sorted(_BAD))
@pytest.mark.parametrize("make", ["tensor", "Tensor", "as_tensor", "asarray", "from_numpy"])
def test_conversion_refuses_non_numeric_arrays(torch, kind, make):
    a = _BAD[kind]()
    with pytest.raises(TypeError) as want:
        getattr(torch, make if make != "Tensor" else "tensor")(a)
    with pytest.raises(TypeError) as got:
        getattr(ember, make)(a)
    # PyTorch's words: "can't convert np.ndarray of type numpy.object_. The only supported types are: ..."
    head = str(want.value).split(". The only")[0]
    assert str(got.value).startswith(head), (str(got.value), head)


def test_conversion_keeps_numbers_and_complex(torch):
    for a in (np.ones(3, np.complex128), np.ones(3, np.int8), np.ones(3, bool), np.ones(3, np.float16)):
        assert str(ember.tensor(a).dtype).split(".")[1] == str(torch.tensor(a).dtype).split(".")[1]
        assert ember.Tensor(a).dtype == ember.tensor(a).dtype


# ----- Linear: non-real and non-numeric inputs name the layer -----

_LAYER = "Linear(in_features=4, out_features=2)"


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("wrap", [False, True])
def test_linear_refuses_complex_naming_the_layer(torch, dtype, wrap):
    a = np.ones((3, 4), dtype) * (1 + 2j)
    with pytest.raises(RuntimeError):
        torch.nn.Linear(4, 2)(torch.as_tensor(a))
    x = ember.tensor(a) if wrap else a
    with pytest.raises(RuntimeError, match=rf"^{_LAYER.replace('(', '[(]').replace(')', '[)]')}: expected a real "
                       rf"floating-point input, got {np.dtype(dtype).name}"):
        nn.Linear(4, 2)(x)


@pytest.mark.parametrize("kind", ["object_none", "object_numbers", "str", "bytes", "datetime"])
def test_linear_refuses_non_numeric_naming_the_layer(kind):
    with pytest.raises(TypeError, match=r"^Linear\(in_features=4, out_features=2\): can't convert np.ndarray"):
        nn.Linear(4, 2)(_BAD[kind]())


def test_linear_refuses_a_list_of_none_naming_the_layer():
    with pytest.raises(TypeError, match=r"^Linear\(in_features=4, out_features=2\)"):
        nn.Linear(4, 2)([[None] * 4] * 3)


def test_linear_in_a_fused_chain_refuses_complex():
    net = nn.utils.fuse(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    assert type(net).__name__ == "LinearChain"
    name = r"^FusedLinearReLU\(in_features=4, out_features=3\): "
    for grad in (False, True):
        with ember.set_grad_enabled(grad):
            with pytest.raises(RuntimeError, match=name + "expected a real floating-point input, got complex128"):
                net(np.ones((3, 4), np.complex128))
            with pytest.raises(TypeError, match=name + "can't convert np.ndarray of type numpy.object_"):
                net(_BAD["object_none"]())


def test_bilinear_refuses_complex():
    with pytest.raises(RuntimeError, match=r"^Bilinear\(in1_features=4, in2_features=3, out_features=2\)"):
        nn.Bilinear(4, 3, 2)(np.ones((2, 4), np.complex64), np.ones((2, 3), np.float32))


@pytest.mark.parametrize("make,shape,name", [
    (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5), "Conv2d(2, 3, kernel_size=(3, 3)"),
    (lambda: nn.BatchNorm1d(4), (3, 4), "BatchNorm1d(4"),
    (lambda: nn.LayerNorm(4), (3, 4), "LayerNorm((4,)"),
    (lambda: nn.LSTM(4, 5), (2, 3, 4), "LSTM(4, 5"),
    (lambda: nn.MultiheadAttention(4, 2), (2, 3, 4), "MultiheadAttention("),
    (lambda: nn.PReLU(), (3, 4), "PReLU("),
])
def test_layers_with_real_weights_refuse_complex_naming_themselves(make, shape, name):
    layer = make()
    x = (np.ones(shape) + 1j).astype(np.complex64)
    with pytest.raises(RuntimeError, match="expected a real floating-point input, got complex64") as e:
        layer(x, x, x) if isinstance(layer, nn.MultiheadAttention) else layer(x)
    assert str(e.value).startswith(name), str(e.value)
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.object_") as e:
        bad = np.ones(shape).astype(object)
        layer(bad, bad, bad) if isinstance(layer, nn.MultiheadAttention) else layer(bad)
    assert str(e.value).startswith(name), str(e.value)


def test_linear_real_inputs_still_work():
    lin = nn.Linear(4, 2)
    for a in (np.ones((3, 4), np.float32), np.ones((3, 4), np.float64), [[1.0] * 4] * 3):
        assert lin(a).shape == (3, 2) and lin(a).dtype == ember.float32


# ----- empty batches through the norms -----

_NORMS = [
    ("BatchNorm1d", (3,), (0, 3)),
    ("BatchNorm1d", (3,), (0, 3, 5)),
    ("BatchNorm1d", (3,), (2, 3, 0)),
    ("BatchNorm2d", (3,), (0, 3, 4, 4)),
    ("BatchNorm2d", (3,), (2, 3, 0, 4)),
    ("BatchNorm3d", (3,), (0, 3, 2, 2, 2)),
    ("LayerNorm", (3,), (0, 3)),
    ("GroupNorm", (2, 4), (0, 4, 5)),
    ("GroupNorm", (2, 4), (2, 4, 0)),
    ("InstanceNorm1d", (3,), (0, 3, 5)),
    ("RMSNorm", (3,), (0, 3)),
]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name,args,shape", _NORMS)
def test_norms_take_an_empty_batch(torch, name, args, shape, training):
    outs = []
    for lib in (torch, ember):
        m = getattr(lib.nn, name)(*args).train(training)
        x = lib.zeros(*shape, requires_grad=True)
        y = m(x)
        y.sum().backward()
        stats = {}
        for k in ("running_mean", "running_var", "num_batches_tracked"):
            v = getattr(m, k, None)
            if v is not None:
                stats[k] = np.asarray(v.detach().numpy() if lib is torch else v).tolist()
        w = getattr(m, "weight", None)
        outs.append((tuple(y.shape), y.requires_grad, tuple(x.grad.shape), stats,
                     None if w is None else np.asarray(w.grad.detach().numpy() if lib is torch else w.grad.numpy()).tolist()))
    t, e = outs
    assert e[:4] == t[:4]
    if t[4] is not None:
        # the weight's gradient is a sum over no elements: zeros (PyTorch's GroupNorm over no
        # positions gives NaN there, from 0/0 in its backward; ember keeps the zeros)
        np.testing.assert_array_equal(np.asarray(e[4]), np.zeros(len(t[4])))
        assert name == "GroupNorm" and shape[2] == 0 or np.array_equal(t[4], e[4])


def test_batchnorm_one_value_per_channel_is_still_refused(torch):
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="(?i)expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(ember.zeros(1, 3))


def test_batchnorm_momentum_none_on_an_empty_batch(torch):
    got = []
    for lib in (torch, ember):
        m = lib.nn.BatchNorm1d(3, momentum=None)
        m(lib.ones(4, 3) * lib.arange(4.0).reshape(4, 1))
        m(lib.zeros(0, 3))
        got.append(np.asarray(m.running_var.detach().numpy() if lib is torch else m.running_var).tolist()
                   + [int(m.num_batches_tracked)])
    np.testing.assert_allclose(got[1], got[0], rtol=1e-6)


def test_instance_norm_empty_batch_leaves_running_stats():
    m = nn.InstanceNorm2d(3, track_running_stats=True)
    m(ember.zeros(0, 3, 4, 4))
    np.testing.assert_array_equal(m.running_mean, np.zeros(3))
    np.testing.assert_array_equal(m.running_var, np.ones(3))


# ----- requires_grad: floating tensors only -----

@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_setting_requires_grad_on_a_non_floating_tensor_raises(torch, dtype):
    for lib in (torch, ember):
        x = lib.zeros(3, dtype=getattr(lib, dtype))
        with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
            x.requires_grad = True
        with pytest.raises(RuntimeError, match="only Tensors of floating point"):
            x.requires_grad_()
        x.requires_grad = False  # always allowed
        x.requires_grad_(False)
        assert not x.requires_grad


def test_setting_requires_grad_on_floating_tensors():
    for dt in (ember.float16, ember.float32, ember.float64):
        x = ember.zeros(3, dtype=dt)
        x.requires_grad = True
        assert x.requires_grad and x.is_leaf
        (x * 2).sum().backward()
        assert x.grad.dtype == dt
    z = ember.tensor(np.ones(2, np.complex64))
    z.requires_grad = True
    assert z.requires_grad


def test_parameter_of_integers_cannot_require_grad(torch):
    with pytest.raises(RuntimeError):
        torch.nn.Parameter(torch.ones(2, dtype=torch.long))
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(np.ones(2, np.int64))
    p = nn.Parameter(np.ones(2, np.int64), requires_grad=False)
    assert not p.requires_grad


def _ops(lib):
    x = lib.tensor([1.2, -0.7, 3.1, 2.5], requires_grad=True)
    m = lib.tensor([[1.2, -0.7], [3.1, 2.5]], requires_grad=True)
    cast = (lambda d: x.to(d)) if lib is not ember else (lambda d: x.astype(d))
    return x, {
        "long": lambda: x.long(), "int": lambda: x.int(), "bool": lambda: x.bool(), "to_int64": lambda: x.to(lib.int64),
        "to_dtype_kw": lambda: x.to(dtype=lib.int32), "type": lambda: x.type(lib.int64), "cast_uint8": lambda: cast(lib.uint8),
        "cast_bool": lambda: cast(lib.bool), "cast_f64": lambda: cast(lib.float64), "half": lambda: x.half(),
        "double": lambda: x.double(), "argmax": lambda: x.argmax(), "argmin_dim": lambda: m.argmin(dim=1),
        "eq": lambda: x == 1.2, "gt": lambda: x > 0, "ne_t": lambda: x.ne(x), "isnan": lambda: lib.isnan(x),
        "isfinite": lambda: lib.isfinite(x), "signbit": lambda: lib.signbit(x), "logical_not": lambda: lib.logical_not(x),
        "isclose": lambda: lib.isclose(x, x), "floor": lambda: x.floor(), "ceil": lambda: x.ceil(),
        "round": lambda: x.round(), "trunc": lambda: x.trunc(), "sign": lambda: x.sign(),
        "sort_values": lambda: x.sort()[0], "sort_indices": lambda: x.sort()[1], "argsort": lambda: x.argsort(),
        "topk_values": lambda: x.topk(2)[0], "topk_indices": lambda: x.topk(2)[1],
        "max_dim_values": lambda: m.max(1)[0], "max_dim_indices": lambda: m.max(1)[1],
        "min_dim_indices": lambda: m.min(dim=0).indices, "kthvalue_indices": lambda: x.kthvalue(2)[1],
        "median_indices": lambda: m.median(0)[1], "cummax_indices": lambda: lib.cummax(x, 0)[1],
        "nonzero": lambda: x.nonzero(), "argwhere": lambda: lib.argwhere(x), "count_nonzero": lambda: lib.count_nonzero(x),
        "bucketize": lambda: lib.bucketize(x, lib.tensor([0.0, 2.0])),
        "searchsorted": lambda: lib.searchsorted(lib.tensor([0.0, 2.0]), x),
        "unique_inverse": lambda: lib.unique(x, return_inverse=True)[1], "any": lambda: (x > 0).any(),
        "where": lambda: lib.where(x > 0, x, 0.0), "long_then_add": lambda: x.long() + 1,
        "long_times_x": lambda: x.long() * x, "long_view": lambda: x.long().view(2, 2), "long_sum": lambda: x.long().sum(),
        "index_by_argsort": lambda: x[x.argsort()], "remainder": lambda: x % 1,
    }


def test_integer_results_are_not_differentiable(torch):
    _, tops = _ops(torch)
    _, eops = _ops(ember)
    bad = []
    for k in tops:
        t, e = tops[k](), eops[k]()
        want = (str(t.dtype).split(".")[1], t.requires_grad, t.grad_fn is None)
        got = (str(e.dtype).split(".")[1], e.requires_grad, e.grad_fn is None)
        if got != want:
            bad.append((k, want, got))
    assert not bad, bad


def test_cast_to_integer_keeps_no_graph():
    x = ember.tensor([1.5, 2.5], requires_grad=True)
    for y in (x.astype(ember.int64), ember.ops.cast(x, np.int32), x.astype(np.bool_)):
        assert not y.requires_grad and y.grad_fn is None and y.is_leaf
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_custom_function_integer_output_is_not_differentiable(torch):
    got = []
    for lib in (torch, ember):
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a.argmax(), a * 2

            @staticmethod
            def backward(ctx, gi, gy):
                return gy * 2

        a = lib.ones(3, requires_grad=True)
        i, y = F.apply(a)
        y.sum().backward()
        got.append((i.requires_grad, i.grad_fn is None, y.requires_grad, a.grad.tolist()))
    assert got[1] == got[0]


def test_float_ops_still_differentiable_and_gradcheck():
    x = ember.tensor(np.random.default_rng(0).normal(size=(3, 4)), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: (t.floor() + t * t.double()).sum(), (x,))
    assert ember.autograd.gradcheck(lambda t: t.sort(dim=1)[0] * t.max(1, keepdim=True)[0], (x,))
    y = x.float()
    assert y.requires_grad and y.grad_fn is not None


def test_writing_a_graph_value_into_an_integer_tensor_keeps_it_out_of_the_graph(torch):
    for lib in (torch, ember):
        x = lib.tensor([1.5, 2.5], requires_grad=True)
        i = lib.zeros(2, dtype=lib.int64)
        i.copy_(x)
        i[0] = x[1]
        assert not i.requires_grad and i.grad_fn is None and i.tolist() == [2, 2]
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            i.add_(x)
