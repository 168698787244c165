"""Bad hyper-parameters and bad params fail in __init__, naming the optimizer and the value."""
import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.nn import Parameter


def _p(n=3):
    return Parameter(np.zeros(n, np.float32))


@pytest.mark.parametrize("name,kw,match", [
    ("SGD", dict(lr=-0.1), r"SGD: invalid lr=-0.1, expected lr >= 0"),
    ("SGD", dict(momentum=-0.5), r"SGD: invalid momentum=-0.5"),
    ("SGD", dict(lr=0.1, nesterov=True), r"nesterov=True.*momentum > 0 and dampening == 0.*momentum=0"),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"nesterov.*dampening=0.1"),
    ("SGD", dict(lr=0.1, weight_decay=-1e-4), r"invalid weight_decay=-0.0001"),
    ("Adam", dict(betas=(1.0, 0.999)), r"Adam: invalid betas\[0\]=1.0, expected 0 <= betas\[0\] < 1"),
    ("Adam", dict(betas=(0.9, -0.1)), r"invalid betas\[1\]=-0.1"),
    ("Adam", dict(betas=0.9), r"invalid betas=0.9, expected a pair"),
    ("Adam", dict(eps=-1e-8), r"invalid eps=-1e-08"),
    ("Adam", dict(lr=float("nan")), r"invalid lr=nan"),
    ("AdamW", dict(lr="0.1"), r"AdamW: invalid lr='0.1'"),
    ("AdamW", dict(weight_decay=-0.01), r"AdamW: invalid weight_decay=-0.01"),
    ("RMSprop", dict(alpha=1.5), r"RMSprop: invalid alpha=1.5, expected 0 <= alpha <= 1"),
    ("RMSprop", dict(momentum=-0.1), r"invalid momentum=-0.1"),
    ("Adagrad", dict(lr_decay=-1), r"Adagrad: invalid lr_decay=-1"),
    ("Adagrad", dict(initial_accumulator_value=-1), r"invalid initial_accumulator_value=-1"),
    ("Adadelta", dict(rho=1.1), r"Adadelta: invalid rho=1.1"),
    ("Adamax", dict(betas=(0.9, 1.0)), r"Adamax: invalid betas\[1\]=1.0"),
    ("NAdam", dict(momentum_decay=-1), r"NAdam: invalid momentum_decay=-1"),
    ("RAdam", dict(eps=-1), r"RAdam: invalid eps=-1"),
    ("Lion", dict(betas=(0.9,)), r"Lion: invalid betas=\(0.9,\)"),
    ("Lion", dict(lr=-1e-4), r"Lion: invalid lr=-0.0001"),
])
def test_bad_hyperparameters_fail_in_init_with_the_value(name, kw, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([_p()], **kw)


def test_bad_group_hyperparameter_fails_in_add_param_group():
    opt = optim.Adam([_p()], lr=1e-3)
    with pytest.raises(ValueError, match=r"Adam: invalid lr=-1"):
        opt.add_param_group({"params": [_p()], "lr": -1})
    with pytest.raises(ValueError, match=r"Adam: invalid betas\[0\]=2"):
        optim.Adam([{"params": [_p()], "betas": (2, 0.9)}])


def test_bad_params():
    p = _p()
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor of shape \\(3,\\)"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        optim.SGD({"params": {p}}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors.*ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="same parameter more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([(p * 2)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point.*int64"):
        optim.SGD([ember.Tensor(np.zeros(2, np.int64))], lr=0.1)


def test_grad_of_the_wrong_shape_is_reported():
    p = _p()
    opt = optim.Adam([p])
    with pytest.raises(RuntimeError, match=r"assigned grad has data of a different size: \(4,\)"):
        p.grad = ember.zeros(4)  # PyTorch refuses it at the assignment
    assert p.grad is None
    p._grad = ember.zeros(4)  # past the setter's check (as a buggy backward could): step still names it
    with pytest.raises(ValueError, match=r"Adam: a parameter of shape \(3,\) has a gradient of shape \(4,\)"):
        opt.step()
