"""Tensor construction, dtype rules, graph semantics (accumulation, no_grad, freeing),
creation helpers and seeding."""
import numpy as np
import pytest

import ember


def test_tensor_dtype_rules():
    assert ember.tensor([1.0, 2.0]).dtype == np.float32
    assert ember.tensor(3.0).dtype == np.float32
    assert ember.tensor([1, 2]).dtype == np.int64
    assert ember.tensor(np.zeros(3)).dtype == np.float64  # arrays keep their dtype
    assert ember.tensor(np.zeros(3, np.float16)).dtype == np.float16
    assert ember.tensor([1, 2], dtype=np.float64).dtype == np.float64
    a = np.ones(3, np.float32)
    t = ember.tensor(a)
    a[0] = 5
    assert t.data[0] == 1  # tensor() copies


def test_attributes_and_repr():
    t = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.size() == (2, 2) and t.numel() == 4 and t.dtype == np.float32
    assert t.T.shape == (2, 2) and t.T.data[0, 1] == 3
    assert isinstance(t.detach().numpy(), np.ndarray) and t.grad is None
    assert "requires_grad=True" in repr(t) and repr(t).startswith("tensor(")
    assert "grad_fn=<MulBackward0>" in repr(t * 2)  # PyTorch's repr
    assert "float64" in repr(ember.tensor(np.zeros(2)))
    assert ember.tensor([2.5]).item() == 2.5
    with pytest.raises(ValueError, match="one element"):
        t.item()
    d = (t * 2).detach()
    assert not d.requires_grad and d.grad_fn is None


def test_int_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_float32_stays_float32_with_python_scalars():
    x = ember.randn(3, requires_grad=True)
    y = ((x * 2.5 + 1) / 3.0 - 0.5) ** 2
    y = (2.0 * y).exp().log().sqrt().mean() * 0.1 + 1e-3
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    s = x.sum() * 0.5  # a 0-d result times a Python float
    assert s.dtype == np.float32


def test_float64_end_to_end():
    x = ember.tensor(np.random.randn(4, 3), requires_grad=True)
    w = ember.tensor(np.random.randn(3, 2), requires_grad=True)
    loss = ((x @ w).tanh() ** 2).mean()
    loss.backward()
    assert loss.dtype == x.grad.dtype == w.grad.dtype == np.float64


def test_gradients_accumulate_across_backward_calls_and_reuse():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()  # 2x
    (x * 3).sum().backward()  # + 3
    np.testing.assert_allclose(x.grad, [5.0, 7.0])
    y = ember.tensor([1.0, -1.0], requires_grad=True)
    z = y * 2
    (z + z * z).sum().backward()  # z used twice: d/dy = 2 + 8y
    np.testing.assert_allclose(y.grad, [10.0, -6.0])


def test_shared_gradient_is_not_aliased_between_leaves():
    a = ember.zeros(3, requires_grad=True)
    b = ember.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10  # scaling one leaf's grad in place must not touch the other's
    np.testing.assert_allclose(b.grad, [1, 1, 1])
    g = np.ones(3, np.float32)
    c = ember.zeros(3, requires_grad=True)
    c.backward(g)
    c.grad += 1
    np.testing.assert_allclose(g, 1)  # the caller's array is untouched


def test_no_grad_context_and_decorator():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
    assert not y.requires_grad and ember.is_grad_enabled()

    @ember.no_grad()
    def f(t):
        assert not ember.is_grad_enabled()
        return t * 2

    assert not f(x).requires_grad
    with ember.no_grad():
        with ember.enable_grad():
            assert (x * 2).requires_grad


def test_backward_non_scalar_needs_grad():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_allclose(x.grad, [2, 4, 6])


def test_second_backward_raises_unless_retained():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_ten_thousand_chained_ops():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000, rel=1e-3)


def test_backward_with_wrong_grad_shape_names_the_op():
    class Broken(ember.Function):
        def forward(self, a):
            return a.sum(axis=0)

        def backward(self, gy):
            return gy  # wrong shape

    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken\w* returned a gradient of shape \(3,\).* which has shape \(2, 3\)"):
        Broken.apply(x).sum().backward()


def test_retain_grad_on_intermediate():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])


def test_ndarray_operands_and_reflected_ops():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0], np.float32)
    y = a * x + a - x / a
    assert isinstance(y, ember.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, a - 1 / a, rtol=1e-6)


def test_creation_helpers():
    assert ember.zeros(2, 3).shape == (2, 3) and ember.zeros((2, 3)).dtype == np.float32
    assert ember.ones(4).data.sum() == 4
    assert ember.full((2, 2), 7.0).data[1, 1] == 7
    assert ember.eye(3).numpy().trace() == 3
    assert ember.arange(5).dtype == np.int64 and ember.arange(0, 1, 0.25).dtype == np.float32
    assert ember.zeros_like(ember.ones(3, dtype=np.float64)).dtype == np.float64
    assert ember.ones_like(np.zeros((2, 2))).shape == (2, 2)
    r = ember.rand(1000)
    assert r.dtype == np.float32 and 0 <= r.data.min() and r.data.max() < 1
    assert abs(ember.randn(10000).data.std() - 1) < 0.05


def test_manual_seed_and_generators_reproduce():
    ember.manual_seed(7)
    a = ember.randn(5).data
    ember.manual_seed(7)
    assert np.array_equal(a, ember.randn(5).data)
    g1, g2 = ember.Generator(3), ember.Generator(3)
    assert np.array_equal(ember.rand(4, generator=g1).data, ember.rand(4, generator=g2).data)
    state = g1.get_state()
    x = ember.rand(3, generator=g1).data
    g1.set_state(state)
    assert np.array_equal(x, ember.rand(3, generator=g1).data)
    with pytest.raises(ValueError):
        ember.manual_seed(2 ** 64)  # PyTorch takes -2**63 <= seed < 2**64


def test_inplace_on_requires_grad_is_refused_outside_no_grad():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w += 1
    with ember.no_grad():
        w -= 0.5
    np.testing.assert_allclose(w.data, 0.5)


def test_integer_operands_take_the_float_dtype():
    x = ember.ones(2)
    assert (x + [1, 1]).dtype == np.float32
    assert (x * np.array([2, 3])).dtype == np.float32
    assert (np.array([1, 2]) - x).dtype == np.float32
    assert (x + np.array([True, False])).dtype == np.float32


def test_views_of_one_gradient_are_not_shared_between_leaves():
    a = ember.zeros(2, 3, requires_grad=True)
    b = ember.zeros(3, 2, requires_grad=True)
    (a.reshape(6) + b.reshape(6)).sum().backward()
    a.grad *= 5
    np.testing.assert_allclose(b.grad, 1)
    np.testing.assert_allclose(a.grad, 5)


def test_the_ops_do_not_import_the_tensor_class():
    # Imports run one way: ember._tensor -> ember.ops / ember.autograd -> ember._tensor_base.
    import ast
    import pathlib

    root = pathlib.Path(ember.__file__).parent
    offenders = []
    for sub in ("ops", "autograd", "kernels"):
        for path in sorted((root / sub).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("_tensor"):
                    offenders.append(f"{sub}/{path.name}:{node.lineno}")
                if isinstance(node, ast.ImportFrom) and any(a.name == "_tensor" for a in node.names):
                    offenders.append(f"{sub}/{path.name}:{node.lineno}")
    assert offenders == []
    # and every tensor an op makes is the public class, with its methods
    y = ember.ops.exp(ember.tensor([1.0]))
    assert type(y) is ember.Tensor and y.sum().item() > 2
