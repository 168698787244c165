"""What a custom Function's backward may return, as PyTorch's engine takes it: a broadcast
gradient is summed down to its input's shape, another dtype is cast to the input's, anything
else is an error naming the index; leaves' AccumulateGrad nodes keep their identity."""
import numpy as np
import pytest

import ember
from ember.autograd import Function


class AddBias(Function):
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g  # b's gradient comes back in x's shape


class Twice(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * 2 + y

    @staticmethod
    def backward(ctx, g):
        return g * 2, g.double()  # the second input is float32


class Wrong(Function):
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g[:, :2]


def test_a_broadcast_gradient_is_summed_to_the_input_shape(torch):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    b = np.arange(3, dtype=np.float32)
    xe, be = ember.tensor(x, requires_grad=True), ember.tensor(b, requires_grad=True)
    (AddBias.apply(xe, be) * ember.tensor(x)).sum().backward()

    class TAddBias(torch.autograd.Function):
        forward = staticmethod(lambda ctx, x, b: x + b)
        backward = staticmethod(lambda ctx, g: (g, g))

    xt, bt = torch.tensor(x, requires_grad=True), torch.tensor(b, requires_grad=True)
    (TAddBias.apply(xt, bt) * torch.tensor(x)).sum().backward()
    assert be.grad.shape == (3,)
    np.testing.assert_allclose(be.grad.numpy(), bt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_a_broadcast_gradient_is_summed_under_create_graph():
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    b = ember.randn(1, 3, dtype=ember.float64, requires_grad=True)
    (gb,) = ember.autograd.grad((AddBias.apply(x, b) ** 2).sum(), [b], create_graph=True)
    assert gb.shape == (1, 3) and gb.requires_grad
    np.testing.assert_allclose(gb.detach().numpy(), (2 * (x + b)).sum(0, keepdim=True).detach().numpy())


def test_a_gradient_of_another_dtype_takes_its_inputs():
    x, y = ember.randn(3, requires_grad=True), ember.randn(3, requires_grad=True)
    Twice.apply(x, y).sum().backward()
    assert y.grad.dtype == ember.float32 and x.grad.dtype == ember.float32
    np.testing.assert_array_equal(y.grad.numpy(), np.ones(3, np.float32))


def test_a_gradient_that_does_not_broadcast_is_an_error_naming_the_index():
    x, b = ember.randn(4, 3, requires_grad=True), ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 1 - got \[4, 2\] but expected shape compatible with \[3\]"):
        Wrong.apply(x, b).sum().backward()


def test_a_leaf_has_one_accumulate_grad_node():
    w = ember.randn(3, requires_grad=True)
    y = (w * 2 + w).sum()
    add = y.grad_fn.next_functions[0][0]
    a, b = add.next_functions[0][0].next_functions[0][0], add.next_functions[1][0]
    assert a is b and a.variable is w
    assert len({id(a), id(b)}) == 1


def test_gradcheck_error_is_a_runtime_error_as_in_pytorch():
    class Bad(Function):
        forward = staticmethod(lambda ctx, x: x ** 3)
        backward = staticmethod(lambda ctx, g: g)

    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    with pytest.raises(RuntimeError):
        ember.autograd.gradcheck(Bad.apply, (x,))
    assert issubclass(ember.GradcheckError, AssertionError)
