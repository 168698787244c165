"""dtypes and devices as PyTorch has them: ``ember.float32`` & co., ``ember.device``, ``.to``,
the conversion methods, ``finfo/iinfo``, ``ember.cuda``/``accelerator``/``backends``, and the
``device=``/``dtype=`` keywords of the layers. Each table is checked against torch 2.13."""
import copy
import importlib.util
import inspect
import pickle

import numpy as np
import pytest

import ember
from ember import nn
from ember.gradcheck import gradcheck, gradgradcheck

HAVE_CUPY = importlib.util.find_spec("cupy") is not None
no_cupy = pytest.mark.skipif(HAVE_CUPY, reason="CuPy is installed: the no-GPU error path is not reachable")

# PyTorch's dtype names (aliases included) and the NumPy dtype each is
DTYPES = [
    ("float32", np.float32), ("float", np.float32), ("float64", np.float64), ("double", np.float64),
    ("float16", np.float16), ("half", np.float16), ("int64", np.int64), ("long", np.int64),
    ("int32", np.int32), ("int", np.int32), ("int16", np.int16), ("short", np.int16), ("int8", np.int8),
    ("uint8", np.uint8), ("bool", np.bool_), ("complex64", np.complex64), ("cfloat", np.complex64),
    ("complex128", np.complex128), ("cdouble", np.complex128),
]
NAMES = [n for n, _ in DTYPES]


# ----- ember.dtype -----

@pytest.mark.parametrize("name,np_type", DTYPES, ids=NAMES)
def test_dtype_prints_and_answers_as_torch(name, np_type, torch):
    e, t = getattr(ember, name), getattr(torch, name)
    assert isinstance(e, ember.dtype)
    assert repr(e) == repr(t).replace("torch.", "ember.") and str(e) == str(t).replace("torch.", "ember.")
    for attr in ("is_floating_point", "is_complex", "is_signed", "itemsize"):
        assert getattr(e, attr) == getattr(t, attr), attr


@pytest.mark.parametrize("name,np_type", DTYPES, ids=NAMES)
def test_dtype_is_the_numpy_dtype_to_numpy(name, np_type):
    e, d = getattr(ember, name), np.dtype(np_type)
    assert e == d and d == e and e == np_type and np_type == e and e == d.name and not (e != d)
    assert hash(e) == hash(d) and {d: 1}[e] == 1 and {e: 1}[d] == 1
    assert e.dtype is d and np.dtype(e) == d
    assert (e.kind, e.type, e.name, e.char, e.str) == (d.kind, d.type, d.name, d.char, d.str)
    assert np.zeros(2, dtype=e).dtype == d and np.ones(2).astype(e).dtype == d
    assert np.asarray([1, 0], dtype=e).dtype == d and np.empty(3, e).dtype == d
    assert ember.dtype(np_type) is e and ember.dtype(d) is e
    assert pickle.loads(pickle.dumps(e)) is e and copy.deepcopy(e) is e and copy.copy(e) is e


def test_dtype_inequalities_and_numpy_functions():
    assert ember.float32 != ember.float64 and ember.float32 != np.float64 and ember.int64 != "float32"
    assert ember.float32 != None and ember.float32 != "cpu" and ember.float32 != 3  # noqa: E711
    assert ember.float is ember.float32 and ember.long is ember.int64 and ember.half is ember.float16
    assert np.result_type(ember.float16, ember.float32) == np.float32
    assert np.promote_types(ember.int32, ember.float32) == np.float64
    assert np.issubdtype(ember.float32, np.floating) and not np.issubdtype(ember.int8, np.floating)
    assert np.finfo(ember.float16).eps == np.finfo(np.float16).eps
    assert np.can_cast(ember.int8, ember.int64)
    assert ember.float32.to_complex() is ember.complex64 and ember.complex128.to_real() is ember.float64


@pytest.mark.parametrize("name,np_type", DTYPES, ids=NAMES)
def test_tensor_dtype_is_the_ember_dtype(name, np_type, torch):
    e, t = getattr(ember, name), getattr(torch, name)
    x, tx = ember.zeros(2, dtype=e), torch.zeros(2, dtype=t)
    assert x.dtype is e and tx.dtype is t
    assert x.dtype == np_type and x._data.dtype == np_type and str(x.dtype) == str(tx.dtype).replace("torch", "ember")
    assert ember.zeros(2, dtype=np_type).dtype is e  # NumPy's spelling still works


@pytest.mark.skipif(not hasattr(ember, "bfloat16"), reason="ml_dtypes is not installed")
def test_bfloat16_through_ml_dtypes(torch):
    assert repr(ember.bfloat16) == "ember.bfloat16" and ember.bfloat16.is_floating_point
    assert ember.bfloat16.itemsize == torch.bfloat16.itemsize == 2
    x = ember.tensor([1.0, 2.5, 1 / 3])
    b = x.to(ember.bfloat16)
    assert b.dtype is ember.bfloat16 and b.type() == "ember.BFloat16Tensor"
    want = torch.tensor([1.0, 2.5, 1 / 3]).to(torch.bfloat16).float().numpy()
    np.testing.assert_array_equal(b.float().numpy(), want)
    f = ember.finfo(ember.bfloat16)
    tf = torch.finfo(torch.bfloat16)
    assert (f.bits, f.eps, f.max, f.tiny, f.resolution) == (tf.bits, tf.eps, tf.max, tf.tiny, tf.resolution)


# (ember function, torch function): each takes dtype= and must accept an ember.dtype
DTYPE_KW = [
    ("zeros", lambda m, d: m.zeros(2, 3, dtype=d)),
    ("ones", lambda m, d: m.ones(2, dtype=d)),
    ("full", lambda m, d: m.full((2,), 3, dtype=d)),
    ("eye", lambda m, d: m.eye(3, dtype=d)),
    ("arange", lambda m, d: m.arange(0, 4, dtype=d)),
    ("rand", lambda m, d: m.rand(3, dtype=d)),
    ("randn", lambda m, d: m.randn(3, dtype=d)),
    ("tensor", lambda m, d: m.tensor([1, 2], dtype=d)),
    ("zeros_like", lambda m, d: m.zeros_like(m.ones(2), dtype=d)),
    ("ones_like", lambda m, d: m.ones_like(m.ones(2), dtype=d)),
    ("to", lambda m, d: m.ones(2).to(d)),
    ("to_kw", lambda m, d: m.ones(2).to(dtype=d)),
    ("type", lambda m, d: m.ones(2).type(d)),
    ("softmax", lambda m, d: m.softmax(m.ones(2), dim=0, dtype=d)),
    ("log_softmax", lambda m, d: m.ones(3).log_softmax(dim=0, dtype=d)),
]


@pytest.mark.parametrize("name,fn", DTYPE_KW, ids=[n for n, _ in DTYPE_KW])
@pytest.mark.parametrize("dname", ["float64", "float32"])
def test_dtype_keyword_takes_ember_dtypes(name, fn, dname, torch):
    got, want = fn(ember, getattr(ember, dname)), fn(torch, getattr(torch, dname))
    assert got.dtype is getattr(ember, dname) and str(got.dtype) == str(want.dtype).replace("torch", "ember")
    assert tuple(got.shape) == tuple(want.shape)


def test_default_dtype():
    assert ember.get_default_dtype() is ember.float32 and ember.get_default_dtype() == np.float32
    try:
        for d in (ember.float64, np.float64, "float64"):
            ember.set_default_dtype(d)
            assert ember.get_default_dtype() is ember.float64
            assert ember.tensor([1.0]).dtype is ember.float64 and nn.Linear(2, 2).weight.dtype is ember.float64
        with pytest.raises(TypeError, match="floating"):
            ember.set_default_dtype(ember.int64)
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.0]).dtype is ember.float32


def test_is_tensor_is_floating_point_is_complex(torch):
    values = [([1.0], None), ([1, 2], None), ([True], None), ([1.0], "float16"), ([1.0], "float64"),
              ([1.0], "complex64"), ([1], "int8")]
    for data, d in values:
        e = ember.tensor(data, dtype=None if d is None else getattr(ember, d))
        t = torch.tensor(data, dtype=None if d is None else getattr(torch, d))
        assert ember.is_tensor(e) and ember.is_floating_point(e) == torch.is_floating_point(t)
        assert e.is_floating_point() == t.is_floating_point() and ember.is_complex(e) == torch.is_complex(t)
    assert ember.is_tensor(nn.Parameter(ember.ones(1))) and not ember.is_tensor(np.ones(1))
    assert not ember.is_tensor([1.0]) and not torch.is_tensor([1.0])
    for fn in ("is_floating_point", "is_complex"):
        with pytest.raises(TypeError):
            getattr(torch, fn)(1.0)
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(ember, fn)(1.0)


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "complex64"])
def test_finfo(name, torch):
    f, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(f, attr) == getattr(t, attr), attr
    assert ember.finfo(np.dtype(name)).eps == t.eps


def test_finfo_default_and_errors(torch):
    assert ember.finfo().eps == torch.finfo().eps and ember.finfo().dtype == "float32"
    with pytest.raises(TypeError):
        torch.finfo(torch.int32)
    with pytest.raises(TypeError, match="floating"):
        ember.finfo(ember.int32)
    with pytest.raises(TypeError):
        torch.iinfo(torch.float32)
    with pytest.raises(TypeError, match="integer"):
        ember.iinfo(ember.float32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo(name, torch):
    i, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    assert (i.bits, i.max, i.min, i.dtype) == (t.bits, t.max, t.min, t.dtype)


def test_iinfo_refuses_bool(torch):
    with pytest.raises(TypeError):
        torch.iinfo(torch.bool)
    with pytest.raises(TypeError, match="integer"):
        ember.iinfo(ember.bool)


# ----- ember.device -----

DEVICES = [("cpu",), ("cpu", 0), ("cpu:0",), ("cpu", 1), ("cuda",), ("cuda:0",), ("cuda", 1), ("cuda:3",), ("mps",), ("meta",)]


@pytest.mark.parametrize("args", DEVICES, ids=[":".join(map(str, a)) for a in DEVICES])
def test_device_objects_as_torch(args, torch):
    e, t = ember.device(*args), torch.device(*args)
    assert (e.type, e.index, str(e), repr(e)) == (t.type, t.index, str(t), repr(t))
    assert e == ember.device(*args) and ember.device(e) == e and hash(e) == hash(ember.device(*args))
    assert (e == str(t)) and (e != "xpu") and pickle.loads(pickle.dumps(e)) == e


def test_device_equality(torch):
    pairs = [(("cpu",), ("cpu", 0)), (("cuda",), ("cuda:0",)), (("cuda:0",), ("cuda", 0)), (("cpu",), ("cuda",))]
    for a, b in pairs:
        assert (ember.device(*a) == ember.device(*b)) == (torch.device(*a) == torch.device(*b)), (a, b)
    assert ember.device("cpu") == "cpu" and ember.device("cpu") != "cuda" and ember.device("cpu") != 0


@pytest.mark.parametrize("args", [("tpu",), ("cuda:0", 1), ("cuda", -1), ("cuda:x",), (0,)])
def test_bad_device_raises_runtime_error(args, torch):
    with pytest.raises(RuntimeError):
        torch.device(*args)
    with pytest.raises(RuntimeError):
        ember.device(*args)


def test_tensor_device(torch):
    x = ember.ones(2)
    assert x.device == ember.device("cpu") and x.device == "cpu" and repr(x.device) == repr(torch.ones(2).device)
    assert x.device.type == "cpu" and x.device.index is None and not x.is_cuda and not torch.ones(2).is_cuda


# ----- Tensor.to -----

def test_to_returns_self_when_nothing_changes(torch):
    x = ember.ones(2, requires_grad=True)
    tx = torch.ones(2, requires_grad=True)
    same = [lambda t, m: t.to("cpu"), lambda t, m: t.to(m.device("cpu")), lambda t, m: t.cpu(),
            lambda t, m: t.to(t), lambda t, m: t.to(m.float32), lambda t, m: t.to("cpu", m.float32),
            lambda t, m: t.to(device="cpu", dtype=m.float32, non_blocking=True, copy=False),
            lambda t, m: t.to("cpu", non_blocking=True), lambda t, m: t.type(m.float32),
            lambda t, m: t.type_as(t), lambda t, m: t.float(), lambda t, m: t.pin_memory() if t is x else t,
            lambda t, m: t.to(memory_format=m.preserve_format)]
    for i, fn in enumerate(same):
        assert fn(x, ember) is x, i
        assert fn(tx, torch) is tx, i


def test_to_copy_and_dtype_stay_in_the_graph(torch):
    for fn in (lambda t, m: t.to(m.float64), lambda t, m: t.to("cpu", m.float64), lambda t, m: t.to(copy=True),
               lambda t, m: t.to(m.zeros(1, dtype=m.float64)), lambda t, m: t.double(), lambda t, m: t.half(),
               lambda t, m: t.type(m.float64), lambda t, m: t.type_as(m.zeros(1, dtype=m.float64)),
               lambda t, m: t.to(dtype=m.float16, copy=True)):
        x = ember.tensor([1.0, -2.0, 3.0], requires_grad=True)
        tx = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y, ty = fn(x, ember), fn(tx, torch)
        assert y is not x and str(y.dtype) == str(ty.dtype).replace("torch", "ember")
        assert y.requires_grad and y.grad_fn is not None and ty.grad_fn is not None
        (y * y).sum().backward()
        (ty * ty).sum().backward()
        assert x.grad.dtype is ember.float32
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-3)


def test_cpu_in_the_loss_keeps_the_gradients(torch):
    """The defect of issue #20: ``loss(model(x).cpu(), y).backward()`` must reach the weights."""
    x, y = ember.randn(4, 3), ember.randn(4, 2)
    for move in (lambda t: t.cpu(), lambda t: t.to("cpu"), lambda t: t.to(ember.device("cpu")),
                 lambda t: t.to(x), lambda t: t.to("cpu", non_blocking=True)):
        model = nn.Linear(3, 2)
        tm = torch.nn.Linear(3, 2)
        with torch.no_grad():
            tm.weight.copy_(torch.from_numpy(model.weight.detach().numpy()))
            tm.bias.copy_(torch.from_numpy(model.bias.detach().numpy()))
        nn.functional.mse_loss(move(model(x)), y).backward()
        tx, ty = torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())
        torch.nn.functional.mse_loss(tm(tx).cpu(), ty).backward()
        assert model.weight.grad is not None and model.bias.grad is not None
        np.testing.assert_allclose(model.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_to_argument_errors(torch):
    x = ember.ones(2)
    with pytest.raises(TypeError):
        x.to(bogus=1)
    with pytest.raises(TypeError):
        torch.ones(2).to(bogus=1)


def test_float_casts_are_differentiable_to_second_order():
    x = ember.tensor([0.5, -1.5, 2.0], dtype=ember.float64, requires_grad=True)
    for fn in (lambda t: t.to(copy=True) ** 3, lambda t: t.type(ember.float64) * t.double()):
        assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


# ----- the conversion methods -----

METHODS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("src", ["float32", "float64", "int64", "bool"])
def test_conversion_methods_as_torch(method, src, torch):
    data = [True, False, True] if src == "bool" else [-1.7, 0.0, 2.6] if "float" in src else [-3, 0, 7]
    if method == "byte":
        data = [abs(v) if not isinstance(v, bool) else v for v in data]  # negative to uint8 is undefined
    x, tx = ember.tensor(data, dtype=getattr(ember, src)), torch.tensor(data, dtype=getattr(torch, src))
    y, ty = getattr(x, method)(), getattr(tx, method)()
    assert str(y.dtype) == str(ty.dtype).replace("torch", "ember")
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    assert (y is x) == (ty is tx)


@pytest.mark.parametrize("method", METHODS)
def test_conversion_methods_grad(method, torch):
    x = ember.tensor([1.5, -2.0], requires_grad=True)
    tx = torch.tensor([1.5, -2.0], requires_grad=True)
    y, ty = getattr(x, method)(), getattr(tx, method)()
    assert y.requires_grad == ty.requires_grad and (y.grad_fn is None) == (ty.grad_fn is None)


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8",
                                  "bool", "complex64", "complex128"])
def test_type_names(name, torch):
    x, tx = ember.zeros(2, dtype=getattr(ember, name)), torch.zeros(2, dtype=getattr(torch, name))
    assert x.type() == tx.type().replace("torch.", "ember.")
    back = x.type(x.type())
    assert back is x
    for spelled in (tx.type(), tx.type().replace("torch.", "ember.")):
        y = ember.ones(2, dtype=ember.float64).type(spelled)
        assert y.dtype is getattr(ember, name) and torch.ones(2, dtype=torch.float64).type(tx.type()).dtype == tx.dtype
    with pytest.raises(ValueError):
        x.type("ember.NoSuchTensor")


def test_type_as():
    x, y = ember.ones(2), ember.zeros(1, dtype=ember.int64)
    assert x.type_as(y).dtype is ember.int64 and x.type_as(x) is x


# ----- no GPU here -----

@no_cupy
@pytest.mark.parametrize("call", [
    lambda: ember.ones(2).to("cuda"), lambda: ember.ones(2).cuda(), lambda: ember.ones(2).cuda(0),
    lambda: ember.ones(2).to(ember.device("cuda", 0)), lambda: ember.ones(2).to("cuda:0", ember.float64),
    lambda: nn.Linear(2, 2).cuda(), lambda: nn.Linear(2, 2).to("cuda"), lambda: nn.Linear(2, 2, device="cuda"),
    lambda: nn.Conv2d(1, 1, 3, device=ember.device("cuda")), lambda: ember.set_default_device("cuda"),
    lambda: ember.zeros(2, device=ember.device("cuda")), lambda: ember.tensor([1.0], device="cuda:0"),
], ids=["to", "cuda", "cuda0", "to_device", "to_dtype", "m_cuda", "m_to", "linear", "conv", "default", "zeros",
        "tensor"])
def test_asking_for_a_missing_gpu_says_what_is_missing(call):
    with pytest.raises(RuntimeError, match="CuPy.*NVIDIA GPU"):
        call()
    assert ember.get_default_device() == "cpu"


@pytest.mark.parametrize("dev", ["mps", "xpu", "meta"])
def test_other_device_types_are_refused(dev):
    with pytest.raises(RuntimeError, match="ember runs on 'cpu'"):
        ember.ones(2).to(dev)
    with pytest.raises(RuntimeError, match="ember runs on 'cpu'"):
        nn.Linear(2, 2).to(dev)


@no_cupy
def test_cuda_accelerator_backends_answer_no_gpu(torch):
    assert ember.cuda.is_available() is False and ember.cuda.device_count() == 0
    assert ember.cuda.is_available() == torch.cuda.is_available() and ember.cuda.device_count() == torch.cuda.device_count()
    for fn in (ember.cuda.manual_seed, ember.cuda.manual_seed_all):
        assert fn(0) is None
        torch_fn = getattr(torch.cuda, fn.__name__)
        torch_fn(0)  # harmless in PyTorch too
    ember.cuda.synchronize()
    ember.cuda.empty_cache()
    assert ember.accelerator.is_available() is False and ember.accelerator.current_accelerator() is None
    assert torch.accelerator.is_available() is False and torch.accelerator.current_accelerator() is None
    assert ember.backends.mps.is_available() is False and ember.backends.mps.is_built() is False
    assert ember.backends.mps.is_available() == torch.backends.mps.is_available()
    with pytest.raises(RuntimeError, match="CuPy"):
        ember.cuda.current_device()


def test_backend_flags_are_accepted():
    cudnn = ember.backends.cudnn
    before = (cudnn.benchmark, cudnn.deterministic)
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert cudnn.benchmark is True and cudnn.deterministic is True
        ember.backends.cuda.matmul.allow_tf32 = True
        m = nn.Linear(2, 1)
        assert m(ember.ones(1, 2)).shape == (1, 1)
    finally:
        cudnn.benchmark, cudnn.deterministic = before
        ember.backends.cuda.matmul.allow_tf32 = False


def test_device_context_sets_the_default_device():
    with ember.device("cpu") as d:
        assert ember.get_default_device() == d
    assert ember.get_default_device() == "cpu"


# ----- layers: device= and dtype= -----

LAYERS = [
    ("Linear", (3, 2)), ("Conv1d", (2, 3, 3)), ("Conv2d", (2, 3, 3)), ("BatchNorm1d", (3,)),
    ("BatchNorm2d", (3,)), ("BatchNorm3d", (3,)), ("LayerNorm", (4,)), ("GroupNorm", (2, 4)), ("Embedding", (5, 3)),
]


@pytest.mark.parametrize("name,args", LAYERS, ids=[n for n, _ in LAYERS])
def test_layers_take_device_and_dtype(name, args, torch):
    cls, tcls = getattr(nn, name), getattr(torch.nn, name)
    ours = list(inspect.signature(cls.__init__).parameters)
    theirs = list(inspect.signature(tcls.__init__).parameters)
    assert "device" in ours and ours.index("dtype") == ours.index("device") + 1
    if name != "Embedding":  # ember's Embedding lacks max_norm...: device/dtype are keyword-only there
        assert ours.index("device") == theirs.index("device"), (ours, theirs)
    for dev in ("cpu", ember.device("cpu"), None):
        m = cls(*args, device=dev, dtype=ember.float64)
        tm = tcls(*args, device=None if dev is None else str(dev), dtype=torch.float64)
        for (k, p), (tk, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert k == tk and p.dtype is ember.float64 and p.device == "cpu" and p.shape == tuple(tp.shape)
        for (k, b), (tk, tb) in zip(m.named_buffers(), tm.named_buffers()):
            assert k == tk and str(b.dtype) == str(tb.dtype).replace("torch", "ember")


def _bn_pair(torch):
    m, tm = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    m.weight.grad = ember.ones(3)
    tm.weight.grad = torch.ones(3)
    return m, tm


def _dtypes(m):
    return {k: str(v.dtype).split(".")[-1] for k, v in list(m.named_parameters()) + list(m.named_buffers())}


MODULE_TO = [
    ("to_dtype", lambda m, t: m.to(t.float64)),
    ("to_dtype_kw", lambda m, t: m.to(dtype=t.float64)),
    ("to_device", lambda m, t: m.to("cpu")),
    ("to_device_obj", lambda m, t: m.to(t.device("cpu"))),
    ("to_both", lambda m, t: m.to("cpu", t.float16)),
    ("to_tensor", lambda m, t: m.to(t.zeros(1, dtype=t.float64))),
    ("to_nb", lambda m, t: m.to("cpu", non_blocking=True)),
    ("cpu", lambda m, t: m.cpu()),
    ("double", lambda m, t: m.double()),
    ("half", lambda m, t: m.half()),
    ("float", lambda m, t: m.double().float()),
    ("type", lambda m, t: m.type(t.float64)),
    ("type_str", lambda m, t: m.type("torch.DoubleTensor")),
] + ([("bfloat16", lambda m, t: m.bfloat16()), ("to_bfloat16", lambda m, t: m.to(t.bfloat16).float())]
     if hasattr(ember, "bfloat16") else [])


@pytest.mark.parametrize("name,fn", MODULE_TO, ids=[n for n, _ in MODULE_TO])
def test_module_to_as_torch(name, fn, torch):
    m, tm = _bn_pair(torch)
    w, tw = m.weight, tm.weight
    assert fn(m, ember) is m and fn(tm, torch) is tm
    assert _dtypes(m) == _dtypes(tm)
    assert m.weight is w and tm.weight is tw  # the Parameters are kept, their data converted
    assert str(m.weight.grad.dtype).split(".")[-1] == str(tm.weight.grad.dtype).split(".")[-1]


def test_module_to_integer_dtype_raises(torch):
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)
    with pytest.raises(TypeError, match="floating point or complex"):
        nn.Linear(2, 2).to(ember.int64)


def test_module_double_then_runs_in_float64(torch):
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    x = ember.randn(2, 3, dtype=ember.float64)
    out = m(x)
    assert out.dtype is ember.float64
    out.sum().backward()
    assert all(p.grad.dtype is ember.float64 for p in m.parameters())


# ----- the CuPy path, with a stand-in for CuPy (CI has no GPU) -----

class _FakeGpuArray(np.ndarray):
    """An ndarray that says it is CuPy's, as ember tells device arrays apart."""

    __module__ = "cupy._fake"

    @property
    def device(self):
        return type("Dev", (), {"id": 0})()

    def get(self):
        return np.array(self.view(np.ndarray))


@pytest.fixture
def fake_cupy(monkeypatch):
    import contextlib
    import sys
    import types

    mod = types.ModuleType("cupy")
    mod.asarray = lambda a: np.array(a).view(_FakeGpuArray)
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0)
    mod.cuda = types.SimpleNamespace(runtime=runtime, Device=lambda i=0: contextlib.nullcontext())
    monkeypatch.setitem(sys.modules, "cupy", mod)
    return mod


def test_cupy_path_moves_tensors_and_gradients(fake_cupy):
    assert ember.cuda.is_available() and ember.cuda.device_count() == 1
    assert ember.accelerator.current_accelerator() == ember.device("cuda")
    x = ember.tensor([1.0, -2.0, 3.0], requires_grad=True)
    g = x.to("cuda")
    assert g.is_cuda and g.device == ember.device("cuda", 0) and g.type() == "ember.cuda.FloatTensor"
    assert g.to("cuda") is g and g.cuda() is g and g.to("cuda:0") is g and g.grad_fn is not None
    c = (g * g).cpu()
    assert not c.is_cuda and type(c._data) is np.ndarray
    c.sum().backward()
    assert type(x.grad._data) is np.ndarray
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])
    assert x.type("ember.cuda.DoubleTensor").is_cuda


def test_cupy_path_moves_modules(fake_cupy):
    m = nn.Linear(2, 1).cuda()
    assert m.weight.is_cuda and m.bias.is_cuda
    assert not m.cpu().weight.is_cuda and type(m.weight._data) is np.ndarray
    assert nn.Linear(2, 1, device="cuda").weight.is_cuda
    assert nn.BatchNorm1d(2, device=ember.device("cuda", 0)).running_mean.is_cuda


PROMOTE = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
           "complex128"] + (["bfloat16"] if hasattr(ember, "bfloat16") else [])


@pytest.mark.parametrize("a", PROMOTE)
def test_promote_types_and_can_cast(a, torch):
    for b in PROMOTE:
        got = ember.promote_types(getattr(ember, a), getattr(ember, b))
        want = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert str(got) == str(want).replace("torch", "ember"), (a, b)
        assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)
    assert ember.promote_types(np.float32, np.int64) is ember.float32  # NumPy's spelling, PyTorch's rule


def test_device_and_layout_flags_are_torchs_for_a_dense_cpu_tensor(torch):
    """Scripts test these (PyTorch's DCGAN example: ``if input.is_cuda or input.is_xpu``)."""
    t, e = torch.ones(2, 3), ember.ones(2, 3)
    for name in ("is_cpu", "is_cuda", "is_xpu", "is_mps", "is_meta", "is_ipu", "is_xla", "is_maia", "is_mtia",
                 "is_vulkan", "is_mkldnn", "is_sparse", "is_sparse_csr", "is_quantized", "is_nested"):
        assert getattr(e, name) is getattr(t, name), name
    assert e.is_same_size(ember.zeros(2, 3)) and not e.is_same_size(ember.zeros(3, 2))
    assert e.is_shared() is t.is_shared() is False and e.is_distributed() is t.is_distributed() is False
    v = e.view(3, 2)
    assert e.is_set_to(e) and not e.is_set_to(v) and not e.is_set_to(e.clone())
    assert t.is_set_to(t) and not t.is_set_to(t.view(3, 2))
